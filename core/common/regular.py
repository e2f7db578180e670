"""Open only regular files: a FIFO, a device or a directory named like a report or a DICOM file
must give one line, never block forever (opening a FIFO for reading waits for a writer).

The file is opened non-blocking and checked with ``fstat`` on the opened descriptor, so
there is no window between the check and the open; then the descriptor is made blocking
again for ordinary reads.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import BinaryIO

from phi_review.core.common.errors import PhiReviewError
from phi_review.core.common.inert import inert


class NotRegularFileError(PhiReviewError):
    """The path names a FIFO, socket, device or directory, not a file."""


_KINDS = ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISSOCK, "a socket"),
          (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"))


def _kind(mode: int) -> str:
    for test, name in _KINDS:
        if test(mode):
            return name
    return "not a regular file"


def open_regular(path: str | os.PathLike[str]) -> BinaryIO:
    """Open ``path`` for binary reading if it is a regular file (symlinks followed); else raise
    ``NotRegularFileError`` (FileNotFoundError/PermissionError pass through as OSError)."""
    def opener(name: str, flags: int) -> int:
        fd = os.open(name, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
        try:
            mode = os.fstat(fd).st_mode
            if not stat.S_ISREG(mode):
                raise NotRegularFileError(
                    f"{inert(Path(name).name)} is {_kind(mode)}, not a file: only regular files are read")
            os.set_blocking(fd, True)
        except BaseException:
            os.close(fd)
            raise
        return fd

    return open(os.fspath(path), "rb", opener=opener)  # noqa: SIM115 - the caller closes it


def require_regular(path: str | os.PathLike[str]) -> None:
    """Raise ``NotRegularFileError`` unless ``path`` is a regular file (for libraries that open by name).

    Checked with ``stat`` (which never blocks on a FIFO); a missing file raises FileNotFoundError.
    """
    mode = os.stat(path).st_mode
    if not stat.S_ISREG(mode):
        raise NotRegularFileError(f"{inert(Path(path).name)} is {_kind(mode)}, not a file: only regular files are read")
