"""One writer per report: an exclusive ``flock`` on a lock file beside it.

Two sessions writing the same report would each save over the other's
decisions, so the second one is refused (the caller may then open read-only).
The lock lives in ``.<report-name>.phi-review.lock`` in the report's folder (so
on the report's own file system) and holds a record saying who holds it. A
report made of several CSV files (a folder of them) also locks every member
file, so a session on one member and one on the whole folder exclude each other.

``flock`` is released by the kernel when the process ends in any way, ``kill -9``
included, so a crash never leaves a stale lock behind; the file itself stays
(removing it would race with a new owner) and is harmless.

The lock file is never a way to write somewhere else: it is opened with
``O_NOFOLLOW`` and must be a regular file of ours with one name (a planted
symlink, hard link, FIFO or another user's file is refused, never truncated).

The record carries a random nonce; the holder also listens on an abstract unix
socket named by it (the *beacon*), so a take-over can prove which process knows
the nonce (core/report/takeover.py) before it signals anyone.
"""

from __future__ import annotations

import errno
import fcntl
import os
import secrets
import socket
import stat
import time
from collections.abc import Sequence
from pathlib import Path

from phi_review.core.common.errors import LockedError, ReportError
from phi_review.core.common.inert import inert, shorten

LOCK_SUFFIX = ".phi-review.lock"
BEACON_PREFIX = "phi-review-lock-"
RECORD_LIMIT = 4096  # bytes read from a lock record; ours are far shorter


def lock_path(report_path: Path) -> Path:
    """Where the lock for ``report_path`` lives (hidden, beside the report)."""
    report_path = Path(report_path)
    if report_path.is_symlink():  # lock the shared target, so a session on the real path is locked out too
        report_path = report_path.resolve()
    return report_path.with_name(f".{report_path.name}{LOCK_SUFFIX}")


def beacon_address(nonce: str) -> bytes:
    """The abstract socket name a holder with ``nonce`` listens on (Linux; no file is made)."""
    return b"\0" + (BEACON_PREFIX + nonce).encode("ascii")


def _report_mode(report_path: Path) -> int:
    try:
        return os.stat(report_path).st_mode & 0o644  # readable like the report, writable only by us
    except OSError:
        return 0o600


def unsafe_lock_file(path: Path, st: os.stat_result) -> str | None:
    """Why an open lock file may not be used (one line), or None when it is a regular file of ours."""
    if stat.S_ISLNK(st.st_mode):
        return f"the lock file {inert(path.name)} is a symbolic link; phi-review never writes through a link"
    if not stat.S_ISREG(st.st_mode):
        return f"the lock file {inert(path.name)} is not a regular file"
    if st.st_uid != os.geteuid():
        return f"the lock file {inert(path.name)} belongs to another user (uid {st.st_uid})"
    if st.st_nlink != 1:
        return f"the lock file {inert(path.name)} has other names (a hard link); phi-review will not write to it"
    return None


def open_lock_file(path: Path, mode: int = 0o600, *, create: bool = True) -> int:
    """Open (or create) the lock file at ``path`` without following links; ReportError when it is not ours."""
    try:
        before = os.lstat(path)
    except FileNotFoundError:
        before = None
    except OSError as error:
        raise ReportError(f"cannot check the lock file {inert(path.name)} ({error.strerror})") from None
    if before is not None and not stat.S_ISREG(before.st_mode):
        raise ReportError(unsafe_lock_file(path, before) or f"the lock file {inert(path.name)} is unusable")
    flags = os.O_RDWR | os.O_CLOEXEC | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY
    if create:
        flags |= os.O_CREAT
    try:
        fd = os.open(path, flags, mode)
    except OSError as error:
        if error.errno == errno.ELOOP:
            raise ReportError(f"the lock file {inert(path.name)} is a symbolic link; "
                              "phi-review never writes through a link") from None
        raise ReportError(f"cannot create the lock file {inert(path.name)} ({error.strerror})") from None
    try:
        problem = unsafe_lock_file(path, os.fstat(fd))
    except OSError as error:
        problem = f"cannot check the lock file {inert(path.name)} ({error.strerror})"
    if problem:
        os.close(fd)
        raise ReportError(problem)
    return fd


def _same_file(path: Path, fd: int) -> bool:
    """The name still points at the inode we locked (nobody swapped the file between open and flock)."""
    try:
        named, held = os.lstat(path), os.fstat(fd)
    except OSError:
        return False
    return (named.st_dev, named.st_ino) == (held.st_dev, held.st_ino)


class Beacon:
    """A listening abstract unix socket named by a random nonce: the proof that this process holds the lock.

    A peer that connects learns the listener's pid and uid from the kernel
    (SO_PEERCRED), so a lock record naming some other pid cannot pass. It lives
    exactly as long as the locks (closed at release or by the kernel at exit).
    """

    def __init__(self) -> None:
        self.nonce = secrets.token_hex(16)
        self._sock: socket.socket | None = None
        try:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
        except (OSError, AttributeError):
            return  # no unix sockets: no proof, a take-over then needs --force
        try:
            sock.bind(beacon_address(self.nonce))
            sock.listen(128)
        except OSError:
            sock.close()
            return
        self._sock = sock

    @property
    def listening(self) -> bool:
        return self._sock is not None

    def close(self) -> None:
        if self._sock is not None:
            sock, self._sock = self._sock, None
            sock.close()


def lock_record(nonce: str = "", report_name: str = "") -> bytes:
    """The lines a new holder writes into the lock file: pid, user, terminal, since, host, nonce, report."""
    try:
        terminal = os.ttyname(0)
    except OSError:
        terminal = os.environ.get("SSH_TTY", "")
    user = os.environ.get("USER") or os.environ.get("LOGNAME") or str(os.getuid())
    fields = [str(os.getpid()), user, terminal, f"{time.time():.0f}", socket.gethostname(), nonce, report_name]
    return ("\n".join(f.replace("\n", " ") for f in fields) + "\n").encode("utf-8", "replace")


def read_record(fd: int) -> bytes:
    try:
        return os.pread(fd, RECORD_LIMIT, 0)
    except OSError:
        return b""


def _record_pid(data: bytes) -> int | None:
    text = data[:32].decode("ascii", "replace").split("\n", 1)[0].strip()
    return int(text) if text.isdigit() else None


def _record_report(data: bytes) -> str:
    lines = data.decode("utf-8", "replace").splitlines()
    return lines[6].strip() if len(lines) > 6 else ""


def _raise_nofile_limit(needed: int) -> None:
    """A folder of thousands of CSV files holds one descriptor per member lock: lift the soft limit if we can."""
    try:
        import resource

        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        want = needed + 256
        if soft != resource.RLIM_INFINITY and soft < want:
            top = want if hard == resource.RLIM_INFINITY else min(want, hard)
            resource.setrlimit(resource.RLIMIT_NOFILE, (top, hard))
    except (ImportError, ValueError, OSError):
        pass


def _take(path: Path, mode: int, what: str) -> int:
    """Open, check and flock one lock file; LockedError naming the holder, ReportError when unusable."""
    fd = open_lock_file(path, mode)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        data = read_record(fd)
        os.close(fd)
        pid, theirs = _record_pid(data), _record_report(data)
        who = f" (pid {pid})" if pid else ""
        if theirs and theirs != what:
            where = f"the phi-review session on {shorten(inert(theirs), 60)}{who}"
            raise LockedError(f"{shorten(inert(what), 80)} is held by {where}") from None
        raise LockedError(f"{shorten(inert(what), 80)} is open in another phi-review session{who}") from None
    except OSError as error:
        os.close(fd)
        raise ReportError(f"cannot lock {inert(what)} ({error.strerror})") from None
    if not _same_file(path, fd):
        os.close(fd)  # replaced while we waited: whoever swapped it may hold the new one
        raise LockedError(f"the lock file of {inert(what)} changed while it was being taken; try again")
    try:
        os.fchmod(fd, mode)  # readable like the report (a strict umask narrowed it), writable only by us
    except OSError:
        pass
    return fd


class ReportLock:
    """Exclusive locks held for as long as the session writes to the report (and its member files)."""

    def __init__(self, report_path: Path, fd: int, members: Sequence[tuple[Path, int]] = (),
                 beacon: Beacon | None = None) -> None:
        self.report_path = Path(report_path)
        self.path = lock_path(report_path)
        self._fd: int | None = fd
        self._members = list(members)  # (lock path, fd) of each member file
        self._beacon = beacon

    @property
    def nonce(self) -> str:
        return self._beacon.nonce if self._beacon is not None else ""

    @classmethod
    def acquire(cls, report_path: Path, members: Sequence[Path] = ()) -> "ReportLock":
        """Take the report's lock, then each member file's, or raise LockedError naming the holder.

        ReportError when a lock file cannot be created or is not a regular file
        of ours (a link, another user's), which also means no journal: the
        caller treats it like a lock it cannot get. All or nothing.
        """
        report_path = Path(report_path)
        mode = _report_mode(report_path)
        beacon = Beacon()
        name = report_path.name + ("/" if report_path.is_dir() else "")
        record = lock_record(beacon.nonce if beacon.listening else "", name)
        path = lock_path(report_path)
        taken: list[tuple[Path, int]] = []
        own: set[tuple[int, int]] = set()  # (dev, inode) of every lock file taken: none is taken twice
        if members:
            _raise_nofile_limit(len(members) + 1)
        try:
            fd = _take(path, mode, name)
            taken.append((path, fd))
            own.add(_inode(fd))
            for member in members:
                member_lock = lock_path(member)
                try:
                    seen = os.lstat(member_lock)
                    if (seen.st_dev, seen.st_ino) in own:
                        continue  # the report's own lock (a list of CSVs locks beside its first file)
                except OSError:
                    pass
                held = _take(member_lock, mode, Path(member).name)
                taken.append((member_lock, held))
                own.add(_inode(held))
            for _path, held in taken:
                _write_record(held, record)
        except BaseException:
            for _path, held in taken:
                os.close(held)
            beacon.close()
            raise
        return cls(report_path, fd, taken[1:], beacon)

    def touch(self) -> None:
        """Record a keypress: the lock file's mtime tells a second session how idle the holder is."""
        for fd in self._fds():
            try:
                os.utime(fd)
            except OSError:
                pass

    def _fds(self) -> list[int]:
        return ([self._fd] if self._fd is not None else []) + [fd for _p, fd in self._members]

    @property
    def held(self) -> bool:
        return self._fd is not None

    @property
    def member_locks(self) -> list[Path]:
        return [path for path, _fd in self._members]

    def release(self) -> None:
        """Give the locks up; closing the descriptor is what releases ``flock``."""
        if self._fd is None:
            return
        fds = self._fds()
        self._fd, self._members = None, []
        try:
            for fd in fds:
                try:
                    fcntl.flock(fd, fcntl.LOCK_UN)
                finally:
                    os.close(fd)
        finally:
            if self._beacon is not None:
                self._beacon.close()

    def __enter__(self) -> "ReportLock":
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def _inode(fd: int) -> tuple[int, int]:
    st = os.fstat(fd)
    return st.st_dev, st.st_ino


def _write_record(fd: int, record: bytes) -> None:
    """Overwrite in place, cutting only a longer tail: truncating to 0 makes ext4 flush (seconds for a folder)."""
    try:
        os.pwrite(fd, record, 0)
        if os.fstat(fd).st_size > len(record):
            os.ftruncate(fd, len(record))
    except OSError:
        pass  # who holds it is only for the message and the take-over's proof


def _read_pid(fd: int) -> int | None:
    return _record_pid(read_record(fd))
