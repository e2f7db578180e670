"""The package is built in a hidden folder beside it and renamed into place only when complete.

``<parent>/.<name>.release-partial`` holds the files written so far and a
journal (one fsynced JSON line per file). ``kill -9`` at any point leaves
either no package (the hidden folder stays, and ``--resume`` completes the
same release from its journal) or the whole package. Nothing below the
package folder is followed through a symlink (``remedy.outdir``'s no-follow
helpers), and a second release of the same package is refused while one runs.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import shutil
import stat
from pathlib import Path
from typing import Any

from phi_review.core.common.errors import PhiReviewError
from phi_review.core.common.inert import inert
from phi_review.core.remedy.outdir import create_temp, discard_temp, is_temp_name, open_folder, place_temp

JOURNAL = ".release-journal.jsonl"
MANIFEST = "release-manifest.jsonl"
DELETIONS = "deletions.txt"
BANNER = "RELEASE.txt"
CHUNK = 1 << 20
WORK = ".validator"  # the validator's private working folder (its CSVs hold values)


class ReleaseError(PhiReviewError):
    """The release cannot go on (one line, no PHI)."""


def staging_path(pkg: Path) -> Path:
    return Path(pkg).parent / f".{Path(pkg).name}.release-partial"


def check_target(pkg: Path) -> str:
    """``"absent"``, ``"empty"`` or ``"complete"`` (a finished package); anything else is refused."""
    pkg = Path(pkg)
    try:
        info = os.lstat(pkg)
    except FileNotFoundError:
        if not pkg.parent.is_dir():
            raise ReleaseError(f"{inert(pkg.parent)} is not a folder: make it first") from None
        return "absent"
    if stat.S_ISLNK(info.st_mode):
        raise ReleaseError(f"{inert(pkg)} is a symlink; a package is never written through a link")
    if not stat.S_ISDIR(info.st_mode):
        raise ReleaseError(f"{inert(pkg)} exists and is not a folder")
    names = os.listdir(pkg)
    if not names:
        return "empty"
    if _complete(pkg / MANIFEST):
        return "complete"
    links = [n for n in names if os.path.islink(pkg / n)]
    what = f"holds a symlink ({inert(links[0])})" if links else f"is not empty ({len(names)} entries)"
    raise ReleaseError(f"{inert(pkg)} {what}: give an empty or new folder for the package")


def _complete(manifest: Path) -> bool:
    try:
        if manifest.is_symlink() or not manifest.is_file():
            return False
        lines = manifest.read_bytes().splitlines()
        return bool(lines) and json.loads(lines[-1]).get("kind") == "complete"
    except (OSError, ValueError, AttributeError):
        return False


class Staging:
    """The hidden folder a release is built in, locked while this process builds it."""

    def __init__(self, pkg: Path) -> None:
        self.pkg = Path(pkg)
        self.path = staging_path(pkg)
        self.fd = -1

    def exists(self) -> bool:
        return os.path.lexists(self.path)

    def open(self, *, create: bool) -> None:
        """Open (making it when ``create``) and lock the folder; a link or a running release is refused."""
        if create:
            try:
                os.mkdir(self.path, 0o700)
            except FileExistsError:
                raise ReleaseError(f"an interrupted release of {inert(self.pkg.name)} is at {inert(self.path)}: "
                                   "give --resume to complete it, or remove that folder") from None
        try:
            self.fd = os.open(self.path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
        except OSError as error:
            if error.errno in (errno.ELOOP, errno.ENOTDIR):
                raise ReleaseError(f"{inert(self.path)} is not a folder (a symlink?); it is never followed") from None
            raise ReleaseError(f"{inert(self.path)}: {inert(error.strerror)}") from None
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self.close()
            raise ReleaseError(f"another release of {inert(self.pkg.name)} is running") from None

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    # ------------------------------------------------------------------ journal

    def append(self, record: dict[str, Any]) -> None:
        """One whole JSON line, fsynced, never through a link (a torn last line is closed first)."""
        line = (json.dumps(record, ensure_ascii=True, sort_keys=True, default=str) + "\n").encode("ascii")
        fd = os.open(JOURNAL, os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600,
                     dir_fd=self.fd)
        try:
            size = os.fstat(fd).st_size
            if size and os.pread(fd, 1, size - 1) != b"\n":
                line = b"\n" + line
            if os.write(fd, line) != len(line):
                raise ReleaseError("the release journal could not be written whole (disk full?)")
            os.fsync(fd)
        finally:
            os.close(fd)

    def journal(self) -> list[dict[str, Any]]:
        """Every whole line of the journal, oldest first (a torn line is skipped)."""
        try:
            fd = os.open(JOURNAL, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=self.fd)
        except FileNotFoundError:
            return []
        with os.fdopen(fd, "rb") as handle:
            data = handle.read()
        records = []
        for raw in data.splitlines():
            try:
                value = json.loads(raw)
            except ValueError:
                continue
            if isinstance(value, dict):
                records.append(value)
        return records

    # ------------------------------------------------------------------ files

    def tidy(self) -> int:
        """Remove temp files a killed run left (our ``.name.xxxx.tmp``); how many."""
        removed = 0
        shutil.rmtree(self.path / WORK, ignore_errors=True)  # a killed validator run's CSVs
        for folder, _dirs, names, dir_fd in os.fwalk(".", dir_fd=self.fd, follow_symlinks=False):
            for name in names:
                if is_temp_name(name):
                    os.unlink(name, dir_fd=dir_fd)
                    removed += 1
        return removed

    def place(self, rel: str, source: Path, source_folder: Path) -> str:
        """Copy ``source`` (below ``source_folder``, no link followed) to ``rel``; its SHA-256."""
        import hashlib

        from phi_review.core.remedy.outdir import check_below

        check_below(source_folder, source)
        parts = tuple(rel.split("/"))
        folder = open_folder(self.path, parts[:-1])
        try:
            temp_fd, temp = create_temp(folder, parts[-1])
            digest = hashlib.sha256()
            try:
                # non-blocking open: a FIFO named like a copy must not hang the release
                src = os.open(source, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK)
                try:
                    if not stat.S_ISREG(os.fstat(src).st_mode):
                        raise ReleaseError(f"{inert(source.name)} is not a regular file")
                    os.set_blocking(src, True)
                    while chunk := os.read(src, CHUNK):
                        digest.update(chunk)
                        view = memoryview(chunk)
                        while view:
                            view = view[os.write(temp_fd, view):]
                finally:
                    os.close(src)
                os.fsync(temp_fd)
            except BaseException:
                os.close(temp_fd)
                discard_temp(folder, temp)
                self.prune(rel)
                raise
            os.close(temp_fd)
            place_temp(folder, temp, parts[-1], overwrite=True)
        finally:
            os.close(folder)
        return digest.hexdigest()

    def remove(self, rel: str) -> None:
        """Take a file out of the package again (its proof or the validator refused it), and its empty folders."""
        parts = tuple(rel.split("/"))
        try:
            folder = open_folder(self.path, parts[:-1], create=False)
        except PhiReviewError:
            return
        try:
            os.unlink(parts[-1], dir_fd=folder)
            os.fsync(folder)
        except FileNotFoundError:
            pass
        finally:
            os.close(folder)
        self.prune(rel)

    def prune(self, rel: str) -> None:
        """Remove the folders of ``rel`` that hold nothing (an upload tool must not meet empty series)."""
        parts = tuple(rel.split("/"))[:-1]
        while parts:
            try:
                parent = open_folder(self.path, parts[:-1], create=False)
            except PhiReviewError:
                return
            try:
                os.rmdir(parts[-1], dir_fd=parent)
            except OSError:  # not empty (or not ours): stop here
                return
            finally:
                os.close(parent)
            parts = parts[:-1]

    def write_text(self, name: str, text: str) -> None:
        """A top-level file of the package, whole and fsynced (never through a link)."""
        folder = os.dup(self.fd)
        try:
            temp_fd, temp = create_temp(folder, name)
            with os.fdopen(temp_fd, "wb") as handle:
                handle.write(text.encode("utf-8"))
                handle.flush()
                os.fsync(handle.fileno())
            place_temp(folder, temp, name, overwrite=True)
        finally:
            os.close(folder)

    def discard(self) -> None:
        """Remove the whole hidden folder (a stopped release leaves no package)."""
        self.close()
        shutil.rmtree(self.path, ignore_errors=True)

    def publish(self, state: str) -> None:
        """Rename the finished folder onto the package (absent or an empty folder) and make it durable."""
        try:
            os.unlink(JOURNAL, dir_fd=self.fd)
        except FileNotFoundError:  # a resumed release killed after this step
            pass
        os.fsync(self.fd)
        if state == "empty":
            os.rmdir(self.pkg)  # rename(2) would take an empty folder too, but a link swapped in must not be
        os.rename(self.path, self.pkg)
        parent = os.open(self.pkg.parent, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            os.fsync(parent)
        finally:
            os.close(parent)
        self.close()
