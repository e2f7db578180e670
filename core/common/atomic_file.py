"""Replace a file atomically, durably, keeping its permission bits."""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO


def fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def replace_atomically(target: Path, write: Callable[[BinaryIO], None]) -> None:
    """Write via ``write`` into a temp file beside ``target``, fsync, then rename over it.

    A crash at any moment leaves either the old file or the new one, never a
    half-written report; the temp file lives in the same folder so the rename
    stays on one filesystem.
    """
    mode = stat.S_IMODE(target.stat().st_mode) if target.exists() else 0o644
    fd, temp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    temp = Path(temp_name)
    try:
        with os.fdopen(fd, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temp, mode)
        os.replace(temp, target)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    fsync_dir(target.parent)


def backup_once(target: Path) -> Path:
    """Keep the untouched original beside the report as ``<stem>.orig<suffix>`` (first save only)."""
    backup = target.with_name(f"{target.stem}.orig{target.suffix}")
    if not backup.exists():
        shutil.copy2(target, backup)
        fsync_dir(target.parent)
    return backup
