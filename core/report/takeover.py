"""Who holds a report's lock, and asking that session to let go.

An SSH link that drops without closing leaves the old session running and
holding the report. The reconnecting reviewer must see who holds it (pid,
user, terminal, since when, last keypress) and be able to take over: the
holder handles SIGTERM like ``q`` (journal durable, save, exit), so its
decisions come back in the new session through the journal.
"""

from __future__ import annotations

import fcntl
import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path

from phi_review.core.report.lock import lock_path


@dataclass(frozen=True)
class Holder:
    """What the lock file says about the session that holds it."""

    pid: int
    user: str
    terminal: str
    since: float  # epoch seconds the lock was taken
    last_key: float  # epoch seconds of the holder's last keypress (the lock file's mtime)

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
    user = lines[1].strip() if len(lines) > 1 else ""
    terminal = lines[2].strip() if len(lines) > 2 else ""
    try:
        since = float(lines[3]) if len(lines) > 3 else 0.0
    except ValueError:
        since = 0.0
    return Holder(pid, user, terminal, since, mtime)


def holder_of(report_path: Path) -> Holder | None:
    """The session holding ``report_path``'s lock, or None when nobody holds it."""
    path = lock_path(Path(report_path))
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK)
    except OSError:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            data = os.pread(fd, 1024, 0)
            return parse_record(data, os.fstat(fd).st_mtime)
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)


def request_release(report_path: Path, timeout: float = 10.0) -> tuple[bool, str]:
    """Ask the holder to journal, save and exit (SIGTERM), and wait until the lock is free.

    Returns (released, one line saying what happened).
    """
    holder = holder_of(report_path)
    if holder is None:
        return True, "the report is not held by another session"
    try:
        os.kill(holder.pid, signal.SIGTERM)
    except ProcessLookupError:
        pass  # gone already; the kernel frees its lock
    except PermissionError:
        return False, f"not allowed to stop pid {holder.pid} (another user's session)"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if holder_of(report_path) is None:
            return True, f"pid {holder.pid} saved and let go of the report"
        time.sleep(0.05)
    return False, f"pid {holder.pid} did not let go within {timeout:.0f} s"
