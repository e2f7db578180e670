"""`phi-review scan`'s progress: files, frames, rate and time left; one line rewritten in place on a terminal,
plain lines (no carriage return, no escape sequence) when stderr is a file or a pipe."""

from __future__ import annotations

import fcntl
import functools
import os
import pty
import re
import struct
import subprocess
import sys
import termios
from pathlib import Path

import pytest

from phi_review.core.scan import run
from phi_review.sample_reports.make_dicom import burned_in_text_image
from phi_review.tui.cli import main

from scan_tree import PATIENT

LINE = re.compile(r"^scan: (\d+)/(\d+) files, (\d+) frames, \d+\.\d files/s \(\d+\.\d frames/s\)"
                  r"(, about \d+(s|m \d\ds|h \d\dm) left)?$")  # time left once a file is done


def _tree(root: Path, files: int = 6) -> Path:
    coll = root / "Collection"
    for n in range(files):
        burned_in_text_image(coll / "Images_Site_A" / "1234567" / f"f{n}.dcm", [], size=(32, 24), modality="OT",
                             frames=1 + n % 3, patient=PATIENT)
    return coll


def test_plain_lines_when_not_a_terminal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    coll = _tree(tmp_path)
    monkeypatch.setattr(run, "Progress", functools.partial(run.Progress, every=0.0))  # a line at every file
    assert main(["scan", str(coll), "--out", str(tmp_path / "out"), "--no-ocr", "--workers", "1"]) == 0
    err = capsys.readouterr().err
    assert "\r" not in err and "\x1b" not in err
    lines = err.splitlines()
    assert len(lines) >= 6 and all(LINE.match(line) for line in lines), err
    done = [int(LINE.match(line).group(1)) for line in lines]  # type: ignore[union-attr]
    assert done == sorted(done) and done[-1] == 6
    last = LINE.match(lines[-1])
    assert last is not None and last.group(2) == "6" and last.group(3) == str(sum(1 + n % 3 for n in range(6)))
    assert last.group(4)  # the time left


def _on_a_terminal(coll: Path, out: Path, columns: int) -> str:
    """What the scan writes to stderr when stderr is a terminal ``columns`` wide."""
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, columns, 0, 0))
    try:
        process = subprocess.Popen([sys.executable, "-m", "phi_review.tui.cli", "scan", str(coll), "--out", str(out),
                                    "--no-ocr", "--workers", "1"],
                                   stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=follower)
    finally:
        os.close(follower)  # read while it runs: a full terminal buffer would block its writes
    err = b""
    try:
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # EIO: the scan (the terminal's only other side) has exited
                break
            if not chunk:
                break
            err += chunk
    finally:
        os.close(leader)
        process.wait(120)
    assert process.returncode == 0
    return err.decode()


def test_one_line_rewritten_on_a_terminal(tmp_path: Path) -> None:
    text = _on_a_terminal(_tree(tmp_path, files=3), tmp_path / "out", columns=200)
    assert text.startswith("\r\x1b[K") and text.endswith("\n") and text.count("\n") == 1, text
    last = text.rstrip("\r\n").rsplit("\r\x1b[K", 1)[-1]
    shown = LINE.match(last)
    assert shown and shown.group(4) and last.startswith("scan: 3/3 files, 6 frames"), last


def test_the_line_fits_a_narrow_terminal(tmp_path: Path) -> None:
    """A line wider than the terminal wraps, and the carriage return then rewrites only its last row: the screen
    fills with stale halves. A large scan's line (`scan: 12345/200000 files, 54321 frames, 17.3 files/s (43.2
    frames/s), about 3h 12m left, 12 unreadable`, about 100 characters) did not fit in 80 columns."""
    for columns in (80, 40):
        text = _on_a_terminal(_tree(tmp_path, files=3), tmp_path / f"out{columns}", columns=columns)
        shown = text.rstrip("\r\n").split("\r\x1b[K")[1:]
        assert shown and all(len(line) < columns for line in shown), (columns, shown)
        assert shown[-1].startswith("scan: 3/3 files, 6 frames"), shown[-1]
