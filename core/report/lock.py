"""One writer per report: an exclusive ``flock`` on a lock file beside it.

Two sessions writing the same report would each save over the other's
decisions, so the second one is refused (the caller may then open read-only).
The lock lives in ``.<report-name>.phi-review.lock`` in the report's folder and
holds the owner's pid, only so the refusal can say who holds it. ``flock`` is
released by the kernel when the process ends in any way, ``kill -9`` included,
so a crash never leaves a stale lock behind; the file itself stays (removing
it would race with a new owner) and is harmless.
"""

from __future__ import annotations

import fcntl
import os
import time
from pathlib import Path

from phi_review.core.common.errors import LockedError, ReportError


def lock_path(report_path: Path) -> Path:
    """Where the lock for ``report_path`` lives (hidden, beside the report)."""
    report_path = Path(report_path)
    if report_path.is_symlink():  # lock the shared target, so a session on the real path is locked out too
        report_path = report_path.resolve()
    return report_path.with_name(f".{report_path.name}.phi-review.lock")


def _report_mode(report_path: Path) -> int:
    try:
        return os.stat(report_path).st_mode & 0o777
    except OSError:
        return 0o600


class ReportLock:
    """An exclusive lock held for as long as the session writes to the report."""

    def __init__(self, report_path: Path, fd: int) -> None:
        self.report_path = Path(report_path)
        self.path = lock_path(report_path)
        self._fd: int | None = fd

    @classmethod
    def acquire(cls, report_path: Path) -> "ReportLock":
        """Take the lock or raise LockedError naming the holder's pid.

        ReportError when the lock file cannot be created at all (for example a
        folder the user may not write to), which also means no journal: the
        caller treats it like a lock it cannot get.
        """
        path = lock_path(report_path)
        mode = _report_mode(report_path)
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, mode & 0o666)
        except OSError as error:
            raise ReportError(
                f"cannot create the lock file beside {Path(report_path).name} ({error.strerror})"
            ) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_pid(fd)
            os.close(fd)
            who = f" (pid {holder})" if holder else ""
            raise LockedError(f"{Path(report_path).name} is open in another phi-review session{who}") from None
        except OSError as error:
            os.close(fd)
            raise ReportError(f"cannot lock {Path(report_path).name} ({error.strerror})") from None
        try:
            os.fchmod(fd, mode & 0o666)
        except OSError:
            pass  # not our file (shared folder); the lock still works
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, lock_record(), 0)
        except OSError:
            pass  # who holds it is only for the message (core/report/takeover.py)
        return cls(report_path, fd)

    def touch(self) -> None:
        """Record a keypress: the lock file's mtime tells a second session how idle the holder is."""
        if self._fd is not None:
            try:
                os.utime(self._fd)
            except OSError:
                pass

    @property
    def held(self) -> bool:
        return self._fd is not None

    def release(self) -> None:
        """Give the lock up; closing the descriptor is what releases ``flock``."""
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        try:
            fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)

    def __enter__(self) -> "ReportLock":
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def lock_record() -> bytes:
    """The lines a new holder writes into the lock file: pid, user, terminal, since."""
    try:
        terminal = os.ttyname(0)
    except OSError:
        terminal = os.environ.get("SSH_TTY", "")
    user = os.environ.get("USER") or os.environ.get("LOGNAME") or str(os.getuid())
    fields = [str(os.getpid()), user, terminal, f"{time.time():.0f}"]
    return ("\n".join(f.replace("\n", " ") for f in fields) + "\n").encode("utf-8", "replace")


def _read_pid(fd: int) -> int | None:
    try:
        text = os.pread(fd, 32, 0).decode("ascii", "replace").split("\n", 1)[0].strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None
