"""Replace a file atomically, durably, keeping its permission bits."""

from __future__ import annotations

import os
import re
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


def replace_atomically(target: Path, write: Callable[[BinaryIO], None], like: Path | None = None) -> str | None:
    """Write via ``write`` into a temp file beside ``target``, fsync, then rename over it.

    A crash at any moment leaves either the old file or the new one, never a
    half-written report; the temp file lives in the same folder so the rename
    stays on one filesystem. The permission bits, owner and group of the old
    file are kept (a report in a shared folder stays the group's); returns a
    one-line warning when the process may not keep the owner or group.
    ``like`` takes them from another file (a new backup gets the report's).
    """
    if target.is_symlink():  # a linked report: replace the shared target, never the link by a copy
        target = target.resolve()
    model = like or target
    info = model.stat() if model.exists() else None
    mode = stat.S_IMODE(info.st_mode) if info else 0o644
    fd, temp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=TEMP_SUFFIX, dir=target.parent)
    temp = Path(temp_name)
    warning = None
    try:
        with os.fdopen(fd, "w+b") as handle:  # readable too: the caller may hash what it wrote
            write(handle)
            handle.flush()
            if info is not None:
                warning = _keep_owner(handle.fileno(), info, target.name)
            os.fchmod(handle.fileno(), mode)
            os.fsync(handle.fileno())
        os.replace(temp, target)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    fsync_dir(target.parent)
    return warning


TEMP_SUFFIX = ".tmp"
# mkstemp's names: ".<target name>." + 8 random characters from [a-z0-9_] + ".tmp"
_TEMP_TAIL = re.compile(r"[a-z0-9_]{8}\.tmp")


def _keep_owner(fd: int, info: os.stat_result, name: str) -> str | None:
    if (info.st_uid, info.st_gid) == (os.geteuid(), os.getegid()):
        return None
    try:
        os.fchown(fd, info.st_uid, info.st_gid)
        return None
    except PermissionError:
        pass
    try:  # an unprivileged member of the group can still keep the group
        os.fchown(fd, -1, info.st_gid)
        lost = "owner"
    except PermissionError:
        lost = "owner and group"
    return f"{name} now belongs to you: its {lost} could not be kept (not permitted)"


def backup_once(target: Path) -> Path:
    """Keep the untouched original beside the report as ``<stem>.orig<suffix>`` (first save only).

    Written atomically like the report itself: a full disk leaves no backup,
    never a torn one that would then be kept forever because it exists.
    """
    if target.is_symlink():
        target = target.resolve()
    backup = target.with_name(f"{target.stem}.orig{target.suffix}")
    if not backup.exists():
        with open(target, "rb") as source:
            replace_atomically(backup, lambda handle: shutil.copyfileobj(source, handle, 1 << 20), like=target)
        shutil.copystat(target, backup)
    return backup


def remove_stale_temps(target: Path) -> int:
    """Remove temp copies of ``target`` a killed save left behind; returns how many.

    Call only while holding the report's lock: then no save of ours is running.
    """
    removed = 0
    for folder_target in (target, target.with_name(f"{target.stem}.orig{target.suffix}")):
        prefix = f".{folder_target.name}."
        try:
            entries = list(os.scandir(target.parent))
        except OSError:
            return removed
        for entry in entries:
            name = entry.name
            if name.startswith(prefix) and _TEMP_TAIL.fullmatch(name[len(prefix):]):
                try:
                    if entry.is_file(follow_symlinks=False):
                        os.unlink(entry.path)
                        removed += 1
                except OSError:
                    pass
    return removed
