"""Real processes for the lock tests: a phi-review screen on a pty, a core session child, bystanders.

Every helper returns a handle the test ends itself (by pid), so no stray process
outlives a test.
"""

from __future__ import annotations

import csv
import io
import os
import pty
import re
import select
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

PHI_REVIEW = str(Path(sys.executable).with_name("phi-review"))
HEADER = ["Site ID", "Event ID", "File Name", "Profile", "Score", "Findings", "Details"]
HDR = "\U0001f648 Possible PHI/PII in Header"


def csv_report(path: Path, files: list[str]) -> Path:
    """A validator CSV (1.0.1 layout) with one header finding per file name."""
    out = io.StringIO(newline="")
    rows = [HEADER] + [["SiteA", "1000001", name, "CT", "1.0", HDR, "(0010,0010) (PatientName), «X», name"]
                       for name in files]
    csv.writer(out, lineterminator="\r\n").writerows(rows)
    path.write_text(out.getvalue(), encoding="utf-8")
    return path


def folder_report(folder: Path) -> Path:
    """A folder of two validator CSVs, reviewed as one report."""
    folder.mkdir()
    csv_report(folder / "A.csv", ["a1.dcm", "a2.dcm"])
    csv_report(folder / "B.csv", ["b1.dcm"])
    return folder


def env() -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if k not in ("TMUX", "NO_COLOR", "PHI_REVIEW_CONFIG")}
    clean.update(TERM="xterm-256color", PHI_REVIEW_PROBE_TIMEOUT="0.3", PHI_REVIEW_CONFIG="/nonexistent/x.toml")
    return clean


def cli(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """The installed console script, no terminal."""
    return subprocess.run([PHI_REVIEW, *args], capture_output=True, text=True, env=env(), timeout=60,
                          input=stdin, stdin=None if stdin is not None else subprocess.DEVNULL)


def sleeper() -> subprocess.Popen[bytes]:
    """An unrelated process of ours (stands in for anything a forged record might name)."""
    return subprocess.Popen(["sleep", "120"])


def alive(proc: subprocess.Popen[bytes]) -> bool:
    return proc.poll() is None


def end(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.kill()
    proc.wait(timeout=10)


def core_holder(report: Path) -> subprocess.Popen[str]:
    """A child process holding ``report`` writable through the core session (no screen), until its stdin closes."""
    code = ("import sys; from phi_review.core.review.session import ReviewSession\n"
            f"s = ReviewSession.open({str(report)!r}, reviewer='holder', allow_read_only_fallback=False)\n"
            "print('ready', flush=True); sys.stdin.read(); s.close()\n")
    proc = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    return proc


class PtySession:
    """``phi-review ARGS`` on a pty of its own: the real screen, read by a thread so it never blocks."""

    def __init__(self, *args: str, rows: int = 30, cols: int = 110) -> None:
        import fcntl
        import struct
        import termios

        argv = [PHI_REVIEW, *args]
        environment = env()
        self.pid, self.fd = pty.fork()
        if self.pid == 0:  # pragma: no cover - the child
            os.execvpe(argv[0], argv, environment)
        fcntl.ioctl(self.fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        self.out = bytearray()
        self.start = 0  # wait_for and seen look from here on (set it to len(out) to wait for a new screen)
        self.status: int | None = None
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        while True:
            ready, _, _ = select.select([self.fd], [], [], 0.05)
            if ready:
                try:
                    chunk = os.read(self.fd, 65536)
                except OSError:
                    return
                if not chunk:
                    return
                self.out += chunk

    def wait_for(self, text: bytes, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.out[self.start:]:
            if time.monotonic() > deadline:
                raise AssertionError(f"{text!r} never shown; last output {bytes(self.out[-400:])!r}")
            if self.exited():
                raise AssertionError(f"exited ({self.status}) before showing {text!r}: {bytes(self.out[-400:])!r}")
            time.sleep(0.05)

    def seen(self, text: str) -> bool:
        """``text`` was drawn, wrapped or not: escape sequences, spaces and borders are ignored."""
        drawn = re.sub(rb"\x1b\[[0-9;?>$]*[a-zA-Z]", b"", bytes(self.out[self.start:])).decode("utf-8", "replace")
        return _letters(text) in _letters(drawn)

    def wait_seen(self, text: str, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while not self.seen(text):
            if time.monotonic() > deadline or self.exited():
                raise AssertionError(f"{text!r} never shown; last output {bytes(self.out[-400:])!r}")
            time.sleep(0.1)

    def send(self, keys: bytes) -> None:
        os.write(self.fd, keys)

    def exited(self) -> bool:
        if self.status is None:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.status = os.waitstatus_to_exitcode(status)
        return self.status is not None

    def wait_exit(self, timeout: float = 30.0) -> int | None:
        deadline = time.monotonic() + timeout
        while not self.exited() and time.monotonic() < deadline:
            time.sleep(0.05)
        return self.status

    def close(self) -> None:
        if not self.exited():
            os.kill(self.pid, signal.SIGKILL)
            self.wait_exit(10)
        self._reader.join(timeout=2)
        try:
            os.close(self.fd)
        except OSError:
            pass


def _letters(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9()?/.-]", "", text)
