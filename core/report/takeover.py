"""Who holds a report's lock, and asking that session to let go.

An SSH link that drops without closing leaves the old session running and
holding the report. The reconnecting reviewer must see who holds it (pid,
user, terminal, since when, last keypress) and be able to take over: the
holder handles SIGTERM like ``q`` (journal durable, save, exit), so its
decisions come back in the new session through the journal.

A lock file is only text in a folder: anyone could write another pid into it.
So a signal goes to a pid only after it is proven to be the phi-review session
holding this very lock on this host (``prove_holder``): the record names this
host; /proc/PID/cmdline mentions phi-review; one of /proc/PID/fd is the lock
file's inode; and the kernel says the pid listening on the abstract socket
named by the record's nonce is that pid (only the session that wrote the
nonce listens there). The pid is pinned with a pidfd before the checks, so it
cannot be reused between proof and signal. Without a proof, only an explicit
``force`` (after the user confirmed a prompt naming the pid) signals.
"""

from __future__ import annotations

import fcntl
import os
import signal
import socket
import stat
import struct
import time
from dataclasses import dataclass
from pathlib import Path

from phi_review.core.report.lock import RECORD_LIMIT, beacon_address, lock_path


@dataclass(frozen=True)
class Holder:
    """What the lock file says about the session that holds it."""

    pid: int
    user: str
    terminal: str
    since: float  # epoch seconds the lock was taken
    last_key: float  # epoch seconds of the holder's last keypress (the lock file's mtime)
    host: str = ""
    nonce: str = ""
    report: str = ""  # what that session opened (a folder session holds its member files too)

    def describe(self, now: float | None = None) -> str:
        now = time.time() if now is None else now
        since = time.strftime("%Y-%m-%d %H:%M", time.localtime(self.since)) if self.since else "unknown"
        idle = _ago(now - self.last_key) if self.last_key else "unknown"
        return (f"pid {self.pid}, user {self.user or '?'}, terminal {self.terminal or '?'}, "
                f"since {since}, last keypress {idle}")


def _ago(seconds: float) -> str:
    seconds = max(0, int(seconds))
    if seconds < 90:
        return f"{seconds} s ago"
    if seconds < 5400:
        return f"{seconds // 60} min ago"
    return f"{seconds // 3600} h ago"


def parse_record(data: bytes, mtime: float) -> Holder | None:
    lines = data.decode("utf-8", "replace").splitlines()
    if not lines or not lines[0].strip().isdigit():
        return None
    pid = int(lines[0].strip())
    field = [line.strip() for line in lines] + [""] * 7
    try:
        since = float(field[3]) if field[3] else 0.0
    except ValueError:
        since = 0.0
    return Holder(pid, field[1], field[2], since, mtime, field[4], field[5], field[6])


def _open_for_reading(path: Path) -> int | None:
    """The lock file, read-only, never through a link, and only when it is a regular file."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK | os.O_NOFOLLOW | os.O_NOCTTY)
    except OSError:
        return None
    try:
        if stat.S_ISREG(os.fstat(fd).st_mode):
            return fd
    except OSError:
        pass
    os.close(fd)
    return None


def holder_of(report_path: Path) -> Holder | None:
    """The session holding ``report_path``'s lock, or None when nobody holds it."""
    fd = _open_for_reading(lock_path(Path(report_path)))
    if fd is None:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            data = os.pread(fd, RECORD_LIMIT, 0)
            return parse_record(data, os.fstat(fd).st_mtime)
        except OSError:
            return None
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)


def process_name(pid: int) -> str:
    """The short name of a process (/proc/PID/comm), for prompts; '?' when unknown."""
    try:
        return Path(f"/proc/{pid}/comm").read_text("utf-8", "replace").strip() or "?"
    except OSError:
        return "?"


def _holds_inode(pid: int, dev: int, ino: int) -> bool | None:
    """Whether ``pid`` has the inode open; None when its descriptors cannot be read (another user's)."""
    try:
        names = os.listdir(f"/proc/{pid}/fd")
    except PermissionError:
        return None
    except OSError:
        return False
    for name in names:
        try:
            st = os.stat(f"/proc/{pid}/fd/{name}")
        except OSError:
            continue
        if (st.st_dev, st.st_ino) == (dev, ino):
            return True
    return False


def _beacon_pid(nonce: str) -> tuple[int, int] | None:
    """(pid, uid) of the process listening on the nonce's abstract socket, from the kernel; None if nobody."""
    if not nonce or not nonce.isalnum() or len(nonce) > 64:
        return None
    try:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC | socket.SOCK_NONBLOCK)
    except (OSError, AttributeError):
        return None
    try:
        sock.connect(beacon_address(nonce))
        creds = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    except OSError:
        return None
    finally:
        sock.close()
    pid, uid, _gid = struct.unpack("3i", creds)
    return pid, uid


def prove_holder(report_path: Path, holder: Holder) -> str | None:
    """None when ``holder`` is proven to be the phi-review session holding this lock here; else why not (one line)."""
    pid = holder.pid
    if pid <= 1 or pid == os.getpid():
        return f"the lock record names pid {pid}, which cannot be a phi-review session"
    if holder.host and holder.host != socket.gethostname():
        return f"pid {pid} is on another host ({holder.host}), so it cannot be checked from here"
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return f"pid {pid} is not a process of yours that can be checked here"
    if b"phi-review" not in cmdline and b"phi_review" not in cmdline:
        return f"pid {pid} ({process_name(pid)}) is not a phi-review session"
    try:
        lock = os.lstat(lock_path(Path(report_path)))
    except OSError:
        return "the lock file is gone"
    holds = _holds_inode(pid, lock.st_dev, lock.st_ino)
    if holds is None:
        return f"pid {pid} ({process_name(pid)}) is another user's process, which cannot be checked from here"
    if not holds:
        return f"pid {pid} ({process_name(pid)}) does not hold this report's lock file open"
    listener = _beacon_pid(holder.nonce)
    if listener is None:
        return f"no session answers for the lock record's nonce (pid {pid} may be an older phi-review)"
    if listener != (pid, os.getuid()):
        return f"the lock record names pid {pid}, but the session that wrote it is pid {listener[0]}"
    return None


def _pin(pid: int) -> int | None:
    """A pidfd for ``pid``: the signal then reaches this very process even if the pid number is reused."""
    try:
        return os.pidfd_open(pid)
    except (AttributeError, OSError):
        return None


def _signal(pid: int, pidfd: int | None) -> None:
    if pidfd is not None:
        signal.pidfd_send_signal(pidfd, signal.SIGTERM)
    else:
        os.kill(pid, signal.SIGTERM)


def request_release(report_path: Path, timeout: float = 10.0, *, force: bool = False,
                    pid: int | None = None) -> tuple[bool, str]:
    """Ask the holder to journal, save and exit (SIGTERM), and wait until the lock is free.

    The holder is signalled only when proven (see ``prove_holder``), or when
    ``force`` is set by a caller whose user confirmed a prompt naming the pid.
    ``pid``: the holder the user was shown; another one now is not signalled.
    Returns (released, one line saying what happened).
    """
    holder = holder_of(report_path)
    if holder is None:
        return True, "the report is not held by another session"
    if pid is not None and holder.pid != pid:
        return False, f"the report is now held by pid {holder.pid}, not pid {pid}; no signal sent"
    if holder.pid <= 1 or holder.pid == os.getpid():
        return False, f"the lock record names pid {holder.pid}; no signal sent"
    pidfd = _pin(holder.pid)
    try:
        if not force:
            reason = prove_holder(report_path, holder)
            if reason is not None:
                return False, f"{reason}; no signal sent"
        try:
            _signal(holder.pid, pidfd)
        except ProcessLookupError:
            pass  # gone already; the kernel frees its lock
        except PermissionError:
            return False, f"not allowed to stop pid {holder.pid} (another user's process)"
    finally:
        if pidfd is not None:
            os.close(pidfd)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if holder_of(report_path) is None:
            return True, f"pid {holder.pid} saved and let go of the report"
        time.sleep(0.05)
    return False, f"pid {holder.pid} did not let go within {timeout:.0f} s"
