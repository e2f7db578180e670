"""The output folder, walked without following links: a symlink below it is refused, never written through.

A copy's folder is opened one component at a time from the output folder
(``O_NOFOLLOW`` at every step, made when missing) and the copy is created and
renamed relative to that folder's descriptor, so a link swapped in after the
check still cannot redirect a write. The output folder itself is the user's
choice and may be reached through links; only what lies below it is checked.
"""

from __future__ import annotations

import errno
import os
import secrets
import stat
from pathlib import Path

from phi_review.core.common.inert import inert
from phi_review.core.remedy.errors import RemedyError

TEMP_SUFFIX = ".tmp"
# temp names the copy-in-place steps use beside a copy (tag_edit, redact): leftovers of a killed run too
STEP_SUFFIXES = (".edit", ".redact", ".clean")
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC


def parts_below(out_dir: Path, path: Path) -> tuple[str, ...]:
    """The components of ``path`` below ``out_dir`` (compared as written, made absolute); outside is refused."""
    rel = os.path.relpath(os.path.abspath(path), os.path.abspath(out_dir))
    parts = Path(rel).parts
    if rel == "." or not parts or parts[0] == "..":
        raise RemedyError(f"{inert(Path(path).name)}: the copy would land outside the output folder")
    return parts


def _refuse_link(shown: str) -> RemedyError:
    return RemedyError(f"{inert(shown)}: a symlink inside the output folder; nothing is written through a link")


def check_below(out_dir: Path, path: Path) -> None:
    """Refuse ``path`` when any existing component below ``out_dir`` (the file itself included) is a symlink.

    Missing components are fine (they are made as real folders when written).
    """
    current = Path(out_dir)
    parts = parts_below(out_dir, path)
    for index, part in enumerate(parts):
        current = current / part
        try:
            info = os.lstat(current)
        except FileNotFoundError:
            return
        except OSError as error:
            raise RemedyError(f"{inert(current)}: {inert(error.strerror)}") from None
        if stat.S_ISLNK(info.st_mode):
            raise _refuse_link(os.path.join(os.path.basename(os.path.abspath(out_dir)), *parts[: index + 1]))
        if index < len(parts) - 1 and not stat.S_ISDIR(info.st_mode):
            raise RemedyError(f"{inert(current)} is not a folder")


def open_folder(out_dir: Path, parts: tuple[str, ...], *, create: bool = True) -> int:
    """A descriptor of ``out_dir/parts...``, each step opened with O_NOFOLLOW (made when missing if ``create``)."""
    out_dir = Path(out_dir)
    if create:
        out_dir.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(out_dir, _DIR_FLAGS)
    except OSError as error:
        raise RemedyError(f"{inert(out_dir)}: {inert(error.strerror)}") from None
    try:
        for index, part in enumerate(parts):
            if create:
                try:
                    os.mkdir(part, 0o777, dir_fd=fd)
                except FileExistsError:
                    pass
            try:
                inner = os.open(part, _DIR_FLAGS | os.O_NOFOLLOW, dir_fd=fd)
            except OSError as error:
                shown = os.path.join(out_dir.name, *parts[: index + 1])
                if error.errno == errno.ELOOP or _is_link(fd, part):
                    raise _refuse_link(shown) from None
                if error.errno == errno.ENOTDIR:
                    raise RemedyError(f"{inert(shown)} is not a folder") from None
                raise RemedyError(f"{inert(shown)}: {inert(error.strerror)}") from None
            os.close(fd)
            fd = inner
    except BaseException:
        os.close(fd)
        raise
    return fd


def _is_link(dir_fd: int, name: str) -> bool:
    try:
        return stat.S_ISLNK(os.stat(name, dir_fd=dir_fd, follow_symlinks=False).st_mode)
    except OSError:
        return False


def is_temp_name(name: str) -> bool:
    """A temp file of ours (``.<copy>.<random>.tmp``, or a copy-in-place step's ``.<copy>.edit`` and kin)."""
    return name.startswith(".") and (name.endswith(TEMP_SUFFIX) or name.endswith(STEP_SUFFIXES))


def create_temp(folder: int, name: str) -> tuple[int, str]:
    """A new temp file beside ``name`` in the folder ``folder`` (exclusive, never through a link), and its name."""
    while True:
        temp = f".{name[:200]}.{secrets.token_hex(4)}{TEMP_SUFFIX}"
        try:
            return os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600,
                           dir_fd=folder), temp
        except FileExistsError:
            continue


def place_temp(folder: int, temp: str, name: str, *, overwrite: bool, durable: bool = True) -> None:
    """Rename the finished temp file onto ``name`` in ``folder`` and make the rename durable.

    ``durable=False`` for a name that is itself a way station (a copy waiting for its
    proof): the folder is fsynced once, after the rename onto the final name.

    A symlink at ``name`` is refused (the rename would replace the link, and the
    user may have meant its target); an existing copy needs ``overwrite``.
    """
    try:
        info = os.stat(name, dir_fd=folder, follow_symlinks=False)
    except FileNotFoundError:
        info = None
    if info is not None and stat.S_ISLNK(info.st_mode):
        raise _refuse_link(name)
    if info is not None and not overwrite:
        raise RemedyError(f"{inert(name)}: a corrected copy already exists there (use overwrite)")
    os.replace(temp, name, src_dir_fd=folder, dst_dir_fd=folder)
    if durable:
        os.fsync(folder)


def discard_temp(folder: int, temp: str) -> None:
    try:
        os.unlink(temp, dir_fd=folder)
    except OSError:
        pass
