"""Nothing hidden under a picture (issue 24, item 2), read from the bytes a real pty receives.

A sixel image is drawn by the terminal after the text around it, over it: a
notification painted before a sixel that covers its cells is lost (xterm
-ti vt340 showed only the toast's green left edge after ``M``). Here the app
runs on a pty with sixel forced, as a sixel terminal would answer; the test
waits for a sixel image, makes a toast appear, and reads what was written after it.
"""

from __future__ import annotations

import os
import pty
import re
import select
import sys
import time
from pathlib import Path

import pytest

from tui_helpers import fresh_demo

PHI_REVIEW = str(Path(sys.executable).with_name("phi-review"))
SIXEL_TERMINAL = b"\x1b[6;20;10t" + b"\x1b[?63;1;2;4;6;22c"  # 10x20-pixel cells, DA1 with 4: sixel
SIXEL = re.compile(rb"\x1bP[0-9;]*q")

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="needs a Linux pty")


class Terminal:
    """The master side of a pty: answers the probe like a sixel terminal and keeps every byte written."""

    def __init__(self, argv: list[str], env: dict[str, str], size: tuple[int, int]) -> None:
        import fcntl
        import struct
        import termios

        self.pid, self.fd = pty.fork()
        if self.pid == 0:  # pragma: no cover - the child
            os.execvpe(argv[0], argv, env)
        fcntl.ioctl(self.fd, termios.TIOCSWINSZ, struct.pack("HHHH", size[1], size[0], size[0] * 10, size[1] * 20))
        self.out = b""
        self.answered = False

    def read_for(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            ready, _, _ = select.select([self.fd], [], [], 0.05)
            if ready:
                try:
                    chunk = os.read(self.fd, 65536)
                except OSError:
                    return
                if not chunk:
                    return
                self.out += chunk
            if not self.answered and b"\x1b[c" in self.out:
                os.write(self.fd, SIXEL_TERMINAL)
                self.answered = True

    def read_until(self, pattern: bytes | re.Pattern[bytes], seconds: float, start: int = 0) -> int:
        """Read until ``pattern`` appears after ``start``; its position (the test fails after ``seconds``)."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            found = pattern.search(self.out, start) if isinstance(pattern, re.Pattern) else None
            at = found.start() if found else (self.out.find(pattern, start) if isinstance(pattern, bytes) else -1)
            if at >= 0:
                return at
            self.read_for(0.1)
        raise AssertionError(f"{pattern!r} never written; last output: {self.out[-400:]!r}")

    def type(self, keys: str) -> None:
        os.write(self.fd, keys.encode())

    def close(self) -> None:
        try:
            self.type("q")
            self.read_for(1.0)
        finally:
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                done, _ = os.waitpid(self.pid, os.WNOHANG)
                if done == self.pid:
                    break
                time.sleep(0.05)
            else:
                os.kill(self.pid, 9)
                os.waitpid(self.pid, 0)
            os.close(self.fd)


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("COLORTERM", "NO_COLOR", "TMUX", "TEXTUAL_COLOR_SYSTEM",
                                                            "KITTY_WINDOW_ID", "PHI_REVIEW_CONFIG")}
    env.update(TERM="xterm", PHI_REVIEW_PROBE_TIMEOUT="5", PHI_REVIEW_CONFIG="/nonexistent/phi-review.toml")
    return env


MOVE = re.compile(rb"\x1b\[(\d+);(\d+)H")
CSI = re.compile(rb"\x1b\[[0-9;?]*[A-Za-z]")
RASTER = re.compile(rb'"1;1;(\d+);(\d+)')


def sixels(out: bytes, since: int) -> list[tuple[int, tuple[int, int, int, int]]]:
    """Every sixel picture written after ``since``: (offset, (left, top, right, bottom) in cells, 0-based).

    textual-image moves the cursor to the picture's first cell right before it
    and the raster attributes give its size in pixels (10x20-pixel cells here).
    """
    found = []
    for match in SIXEL.finditer(out, since):
        moves = list(MOVE.finditer(out, max(0, match.start() - 16), match.start()))
        raster = RASTER.match(out, match.end())
        assert moves and raster, out[match.start() - 20: match.end() + 20]
        row, col = int(moves[-1].group(1)) - 1, int(moves[-1].group(2)) - 1
        width, height = -(-int(raster.group(1)) // 10), -(-int(raster.group(2)) // 20)
        found.append((match.start(), (col, row, col + width, row + height)))
    return found


def texts(out: bytes, text: bytes, since: int) -> list[tuple[int, tuple[int, int, int]]]:
    """Where ``text`` was written after ``since``: (offset, (row, first column, last column))."""
    found = []
    at = out.find(text, since)
    while at >= 0:
        moves = list(MOVE.finditer(out, max(since, at - 400), at))
        if moves:
            row, col = int(moves[-1].group(1)) - 1, int(moves[-1].group(2)) - 1
            col += len(CSI.sub(b"", out[moves[-1].end(): at]).decode("utf-8", "replace"))
            found.append((at, (row, col, col + len(text) - 1)))
        at = out.find(text, at + 1)
    return found


def painted_over(out: bytes, text: bytes, since: int) -> list[str]:
    """Each sixel written after ``text`` whose cells cover it: what a reviewer would not see."""
    over = []
    for at, (row, first, last) in texts(out, text, since):
        for start, (left, top, right, bottom) in sixels(out, at):
            if top <= row < bottom and left <= last and first < right:
                over.append(f"sixel at byte {start} covers {text!r} at row {row}, columns {first}-{last}")
    return over


def test_a_toast_is_never_painted_over_by_a_sixel_image_and_the_image_comes_back(tmp_path):
    """120x40: a toast alone, and a toast with a new picture of the same moment (u then i: undo, invert)."""
    report = fresh_demo(tmp_path)
    term = Terminal([PHI_REVIEW, "review", str(report), "--graphics", "sixel"], _env(), (120, 40))
    try:
        term.read_until(SIXEL, 40)  # the first row's image is on screen
        for keys in ("u", "ui", "iu"):
            since = len(term.out)
            term.type(keys)
            term.read_until(b"Nothing to undo", 10, since)
            term.read_for(2.0)  # the toast shows for 5 s: nothing may be drawn over it meanwhile
            assert texts(term.out, b"Nothing to undo", since)
            assert not painted_over(term.out, b"Nothing to undo", since), keys
            if "i" in keys:  # the inverted picture is drawn (beside the toast, or once it went)
                term.read_for(4.5)
                assert sixels(term.out, since), "the new picture never came"
    finally:
        term.close()


def test_toasts_reaching_over_the_picture_hold_it_until_they_go(tmp_path):
    """80x24: five toasts stack down over the picture; a new picture (i) waits, then comes whole."""
    report = fresh_demo(tmp_path)
    term = Terminal([PHI_REVIEW, "review", str(report), "--graphics", "sixel"], _env(), (80, 24))
    try:
        term.read_until(b"IMG_00001", 40)
        term.type("p")  # narrow: a header row opens on its header; p shows the image
        term.read_until(SIXEL, 20)
        term.read_for(1.0)
        since = len(term.out)
        term.type("uuuuu")
        term.read_for(0.5)
        term.type("i")
        term.read_for(2.0)
        shown = texts(term.out, b"Nothing to undo", since)
        assert shown and max(row for _, (row, _, _) in shown) >= 12  # the toasts do reach the picture's rows
        assert not painted_over(term.out, b"Nothing to undo", since)
        term.read_for(6.0)
        gone = len(term.out)
        term.read_for(1.0)
        assert sixels(term.out, since), "the picture never came back after the toasts"
        assert gone  # (read on: the picture is sent after the last toast went)
    finally:
        term.close()


def test_a_dialog_is_written_after_the_last_sixel_image(tmp_path):
    report = fresh_demo(tmp_path)
    term = Terminal([PHI_REVIEW, "review", str(report), "--graphics", "sixel"], _env(), (120, 40))
    try:
        term.read_until(SIXEL, 40)
        term.read_for(1.0)
        since = len(term.out)
        term.type("e")  # the note prompt, a modal dialog over the screen
        term.read_until(b"Enter saves the note", 10, since)
        term.read_for(2.0)
        assert not sixels(term.out, term.out.rfind(b"Enter saves the note"))
        term.type("\x1b")
        term.read_for(2.0)
        assert sixels(term.out, since), "the picture is drawn again once the dialog closes"
    finally:
        term.close()
