"""The manifest (``manifest.jsonl``): one whole line per corrected copy, and the recovery of a killed run.

A copy is renamed into place and then recorded; ``kill -9`` between the two
leaves a copy without a record, and one mid-write leaves a temp file. Every
run starts with ``recover_output``: temp files go, and a copy without a record
(or whose bytes are not the ones its last record names) is either recorded as
recovered, unverified unless a check says more, or removed. A record is
written with one ``os.write`` of the whole line on an ``O_APPEND|O_NOFOLLOW``
descriptor; a short write is undone and reported, and a torn last line left by
a crash is closed with a newline first, so records never glue.
"""

from __future__ import annotations

import datetime as _dt
import fcntl
import hashlib
import json
import os
import stat
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from phi_review import __version__
from phi_review.core.common.atomic_file import fsync_dir
from phi_review.core.common.inert import inert
from phi_review.core.remedy.errors import RemedyError
from phi_review.core.remedy.outdir import is_temp_name

MANIFEST_NAME = "manifest.jsonl"
CHUNK = 1 << 20
OnOrphan = Callable[[Path], "dict[str, Any] | None"]


def utc_now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


def sha256_file(path: Path) -> str:
    """SHA-256 of a file, read in 1 MB chunks so large files cost no memory."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _open_manifest(out_dir: Path, flags: int) -> int:
    try:
        return os.open(Path(out_dir) / MANIFEST_NAME, flags | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    except OSError as error:
        if os.path.islink(Path(out_dir) / MANIFEST_NAME):
            raise RemedyError(f"{MANIFEST_NAME} in {inert(out_dir)} is a symlink; nothing is written through a link"
                              ) from None
        if isinstance(error, FileNotFoundError):
            raise
        raise RemedyError(f"{MANIFEST_NAME}: cannot open it ({inert(error.strerror)})") from None


def copy_rel(out_dir: Path, copy: object) -> str | None:
    """Where a record's copy sits below the output folder (posix), or None when it is elsewhere."""
    if not copy:
        return None
    rel = os.path.relpath(os.path.abspath(str(copy)), os.path.abspath(out_dir))
    if rel == "." or rel.startswith(".." + os.sep) or rel == "..":
        return None
    return Path(rel).as_posix()


def _with_copy_facts(out_dir: Path, record: dict[str, Any]) -> dict[str, Any]:
    """Add where the copy sits below the output folder, its size and mtime: the next start matches copies by them."""
    rel = copy_rel(out_dir, record.get("copy"))
    if rel is None:
        return record
    record = dict(record)
    record.setdefault("copy_rel", rel)
    try:
        info = os.lstat(Path(out_dir) / rel)
    except OSError:
        return record
    record.setdefault("copy_size", info.st_size)
    record.setdefault("copy_mtime_ns", info.st_mtime_ns)
    return record


def append_manifest(out_dir: Path, record: dict[str, Any]) -> Path:
    """Append one JSON line to ``out_dir/manifest.jsonl`` and fsync it; the line is written whole or not at all.

    The manifest names files by the paths the site gave (a file name is the
    site's own; a tree whose file names carry a patient's name is already a
    finding) plus hashes, actions, boxes, reviewer and time; callers must never
    put header values or OCR text in a record.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    line = (json.dumps(_with_copy_facts(out_dir, record), ensure_ascii=True, sort_keys=True, default=str)
            + "\n").encode("ascii")
    fd = _open_manifest(out_dir, os.O_RDWR | os.O_APPEND | os.O_CREAT)
    try:
        # Writers in several processes (fix --jobs): the look at the last byte, the write and any undo are one
        # step under a POSIX record lock (independent of the folder's flock hold), so two records never share
        # the newline a torn line needs, nor does an undo cut another process's record.
        fcntl.lockf(fd, fcntl.LOCK_EX)
        size = os.fstat(fd).st_size
        if size and os.pread(fd, 1, size - 1) != b"\n":
            line = b"\n" + line  # a crash tore the last line: it stays apart, unread, and this record is whole
        try:
            written = os.write(fd, line)
        except OSError as error:
            _undo(fd, size, 0)
            raise RemedyError(f"{MANIFEST_NAME}: the record could not be written ({inert(error.strerror)}); "
                              "nothing was recorded") from None
        if written != len(line):
            _undo(fd, size, written)
            raise RemedyError(f"{MANIFEST_NAME}: the disk took only {written} of {len(line)} bytes of the record "
                              "(full?); nothing was recorded")
        fcntl.lockf(fd, fcntl.LOCK_UN)
        try:
            os.fsync(fd)
            if size == 0:
                fsync_dir(out_dir)  # a new manifest: its name is durable too
        except OSError as error:
            raise RemedyError(f"{MANIFEST_NAME}: the record may not be on disk ({inert(error.strerror)})") from None
    finally:
        os.close(fd)
    return out_dir / MANIFEST_NAME


def _undo(fd: int, size: int, written: int) -> None:
    """Cut a partial record off again, unless another writer appended since (then the next append closes it)."""
    try:
        if os.fstat(fd).st_size == size + written:
            os.ftruncate(fd, size)
    except OSError:
        pass


def read_manifest_lines(out_dir: Path) -> tuple[list[dict[str, Any]], int]:
    """Every whole record, oldest first, and how many lines were torn or unreadable (skipped)."""
    try:
        fd = _open_manifest(Path(out_dir), os.O_RDONLY)
    except FileNotFoundError:
        return [], 0
    with os.fdopen(fd, "rb") as handle:
        data = handle.read()
    records, torn = [], 0
    for line in data.splitlines():
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except (json.JSONDecodeError, UnicodeDecodeError):
            torn += 1
            continue
        if isinstance(value, dict):
            records.append(value)
        else:
            torn += 1
    return records, torn


def read_manifest(out_dir: Path) -> list[dict[str, Any]]:
    """Every record of the manifest, oldest first (a torn line from a crash is skipped)."""
    return read_manifest_lines(out_dir)[0]


def latest_records(out_dir: Path, records: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The last record of each copy, by its place below the output folder."""
    latest: dict[str, dict[str, Any]] = {}
    for record in records:
        rel = record.get("copy_rel") or copy_rel(out_dir, record.get("copy")) or _older_rel(out_dir, record)
        if isinstance(rel, str):
            latest[rel] = record
    return latest


def _older_rel(out_dir: Path, record: dict[str, Any]) -> str | None:
    """A record from before ``copy_rel``, with a path relative to another working folder: after the folder's name."""
    copy = record.get("copy")
    if not isinstance(copy, str) or os.path.isabs(copy):
        return None
    parts = Path(copy).parts
    name = Path(os.path.abspath(out_dir)).name
    if name not in parts[:-1]:
        return None
    last = len(parts) - 1 - parts[::-1].index(name)
    return Path(*parts[last + 1:]).as_posix()


def matches_record(path: Path, record: dict[str, Any]) -> bool:
    """Whether the file holds the bytes its record names: size and mtime first, the hash when they differ."""
    try:
        info = os.lstat(path)
    except OSError:
        return False
    if "copy_size" not in record:
        return True  # an older record: the path alone says it was recorded
    if info.st_size == record.get("copy_size") and info.st_mtime_ns == record.get("copy_mtime_ns"):
        return True
    return info.st_size == record.get("copy_size") and sha256_file(path) == record.get("copy_sha256")


@dataclass
class Recovery:
    """What the start of a run found in the output folder and did about it."""

    temps_removed: list[Path] = field(default_factory=list)
    recorded: list[Path] = field(default_factory=list)
    removed: list[Path] = field(default_factory=list)
    torn_lines: int = 0
    busy: bool = False  # another process writes in the folder: its temp files are not leftovers

    def summary(self) -> str:
        """One line for the user, empty when nothing was found."""
        parts = ["another phi-review process is writing here; leftovers not checked"] if self.busy else []
        if self.temps_removed:
            parts.append(f"{len(self.temps_removed)} temp file(s) of an interrupted run removed")
        if self.recorded:
            parts.append(f"{len(self.recorded)} unrecorded copy(ies) recorded as recovered")
        if self.removed:
            parts.append(f"{len(self.removed)} unrecorded copy(ies) removed")
        if self.torn_lines:
            parts.append(f"{self.torn_lines} torn manifest line(s) skipped")
        return "; ".join(parts)


class OutputHold:
    """A shared ``flock`` on the manifest while this process writes in the folder (``kill -9`` releases it).

    Recovery needs the lock alone: a temp file or an unrecorded copy another
    live process is about to rename or record is not a leftover.
    """

    fd = -1

    def __init__(self, out_dir: Path) -> None:
        self.fd = _open_manifest(Path(out_dir), os.O_RDWR | os.O_CREAT)
        fcntl.flock(self.fd, fcntl.LOCK_SH)

    def alone(self) -> bool:
        """Take the lock alone when no other process holds it (else keep the shared hold and say so)."""
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            fcntl.flock(self.fd, fcntl.LOCK_SH)
            return False

    def share(self) -> None:
        fcntl.flock(self.fd, fcntl.LOCK_SH)

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def __del__(self) -> None:
        self.close()


def recover_output(out_dir: Path, *, on_orphan: OnOrphan | None = None, hold: OutputHold | None = None) -> Recovery:
    """Tidy what a killed run left in ``out_dir``: remove temp files; record or remove copies without a record.

    ``on_orphan(copy)`` is asked about each copy without a record (or whose bytes
    differ from its last record): it returns extra fields for its "recovered"
    record (a proof may add ``"verified": True``), or raises to have the copy
    removed. Without it the copy is recorded as recovered and unverified. Links
    are never followed; files that are not DICOM copies are left alone.
    ``hold``: this process's own hold on the folder (kept, shared, afterwards);
    while another process holds one, nothing is touched (``busy``).
    """
    out_dir = Path(out_dir)
    found = Recovery()
    if not os.path.isdir(out_dir):
        return found
    own = hold if hold is not None else OutputHold(out_dir)
    try:
        if not own.alone():
            found.busy = True
            return found
        _recover(out_dir, on_orphan, found)
    finally:
        if hold is None:
            own.close()
        else:
            own.share()
    return found


def _recover(out_dir: Path, on_orphan: OnOrphan | None, found: Recovery) -> None:
    records, found.torn_lines = read_manifest_lines(out_dir)
    latest = latest_records(out_dir, records)
    orphans: list[Path] = []
    top = os.open(out_dir, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)  # the folder itself may be reached by a link
    try:
        for folder, _dirs, names, dir_fd in os.fwalk(".", follow_symlinks=False, dir_fd=top):
            _visit(out_dir, Path(os.path.normpath(folder)), names, dir_fd, latest, found, orphans)
    finally:
        os.close(top)
    for path in orphans:
        rel = path.relative_to(out_dir).as_posix()
        try:
            extra = dict((on_orphan(path) if on_orphan is not None else None) or {})
        except Exception as error:  # noqa: BLE001 - the hook refuses the copy by raising
            path.unlink(missing_ok=True)
            found.removed.append(path)
            if rel in latest:  # earlier records name this path: say the copy is gone
                append_manifest(out_dir, {"action": "removed", "copy": str(path), "reason": type(error).__name__,
                                          "version": __version__, "time": utc_now()})
            continue
        record: dict[str, Any] = {
            "action": "recovered",
            "verified": False,
            "copy": str(path),
            "copy_sha256": sha256_file(path),
            "original": None,
            "reason": "content differs from its last record" if rel in latest else "no record",
            "version": __version__,
            "time": utc_now(),
        }
        record.update(extra)
        append_manifest(out_dir, record)
        found.recorded.append(path)


def _visit(out_dir: Path, folder: Path, names: list[str], dir_fd: int, latest: dict[str, dict[str, Any]],
           found: Recovery, orphans: list[Path]) -> None:
    """One folder of the walk: temp files go, copies whose bytes no record names are collected."""
    for name in sorted(names):
        rel = (folder / name).as_posix()
        path = out_dir / rel
        try:
            info = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
        except OSError:
            continue
        if not stat.S_ISREG(info.st_mode) or rel == MANIFEST_NAME:
            continue
        if is_temp_name(name):
            os.unlink(name, dir_fd=dir_fd)
            found.temps_removed.append(path)
            continue
        record = latest.get(rel)
        if record is not None and matches_record(path, record):
            continue
        if _is_dicom(name, dir_fd):
            orphans.append(path)


def _is_dicom(name: str, dir_fd: int) -> bool:
    """Our copies all carry the DICOM preamble: anything else in the folder is the user's, left alone."""
    try:
        fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=dir_fd)
    except OSError:
        return False
    try:
        return os.pread(fd, 4, 128) == b"DICM"
    finally:
        os.close(fd)


def recovery_note(out_dir: Path, *, on_orphan: OnOrphan | None = None) -> str:
    """``recover_output`` for a screen opening its output folder: one line to show, empty when nothing was found.

    A refusal (a symlinked manifest, an unreadable folder) becomes the line
    itself: the screen still opens, and writing there will be refused the same way.
    """
    try:
        summary = recover_output(out_dir, on_orphan=on_orphan).summary()
    except (RemedyError, OSError) as error:
        return f"output folder not checked: {inert(error)}"
    return f"{inert(out_dir)}: {summary}" if summary else ""
