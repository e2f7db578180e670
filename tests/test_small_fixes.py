"""Small things of issue 24, item 7, each where it shows: the bytes a terminal gets, or the words on screen."""

from __future__ import annotations

import os
import pty
import re
import select
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from test_terminal_pty import PHI_REVIEW, _env, reap  # noqa: E402

from tui_helpers import fresh_demo, make_app  # noqa: E402

TRUECOLOR = re.compile(rb"\x1b\[[0-9;]*[34]8;2;")


def review_on_pty(report: Path, env: dict[str, str], seconds: float = 8.0) -> bytes:
    """The review screen on a pty for ``seconds``, then q; every byte it wrote."""
    import fcntl
    import struct
    import termios

    pid, fd = pty.fork()
    if pid == 0:  # pragma: no cover - the child
        os.execvpe(PHI_REVIEW, [PHI_REVIEW, "review", str(report)], env)
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    out = b""
    start = time.monotonic()
    sent = False
    while time.monotonic() - start < seconds + 20:
        ready, _, _ = select.select([fd], [], [], 0.05)
        if ready:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
        if not sent and (time.monotonic() - start > seconds or b"Preview off" in out):
            time.sleep(0.5)
            os.write(fd, b"q")
            sent = True
    try:
        status = reap(pid, time.monotonic() + 10, out)
    finally:
        os.close(fd)
    assert sent and status == 0, (status, out[-300:])
    return out


def test_term_dumb_gets_no_24_bit_colour_and_is_not_told_of_a_flag_it_never_gave(tmp_path: Path) -> None:
    report = fresh_demo(tmp_path)
    out = review_on_pty(report, _env(TERM="dumb"))
    assert b"Preview off" in out, out[-400:]
    assert len(TRUECOLOR.findall(out)) == 0, f"{len(TRUECOLOR.findall(out))} 24-bit colour codes"
    assert b"--graphics none" not in out
    assert b"TERM=dumb" in out
    assert re.search(rb"\x1b\[[0-9;]*\b7[;m]", out), "the cursor row is shown reversed, with no colour to show it"


def test_zoom_is_shown_rounded() -> None:
    from phi_review.tui.widgets.preview_pane import zoom_text

    assert [zoom_text(z) for z in (4.551111, 1.0, 1.5, 12.0, 32.0, 2.9999)] == ["4.6", "1", "1.5", "12", "32", "3"]


async def test_the_caption_after_t_has_a_rounded_zoom(tmp_path: Path) -> None:
    from phi_review.tui.widgets.preview_pane import PreviewPane

    app = make_app(fresh_demo(tmp_path))
    async with app.run_test(size=(120, 40)):
        pane = app.query_one(PreviewPane)
        pane.zoom_to(4.551111, (0.5, 0.5))
        assert "zoom 4.6x" in pane.caption() and "4.55111" not in pane.caption()
    app.session.close()


async def test_the_palette_quit_says_it_saves(tmp_path: Path) -> None:
    app = make_app(fresh_demo(tmp_path))
    async with app.run_test(size=(120, 40)):
        commands = {c.title: c.help for c in app.get_system_commands(app.screen)}
        assert "as soon as possible" not in commands["Quit"]
        assert "Save" in commands["Quit"]
    app.session.close()


def test_a_take_over_that_fails_is_said_inside_the_screen(monkeypatch: pytest.MonkeyPatch) -> None:
    from phi_review.core.report import takeover
    from phi_review.tui.commands import take_over

    class Session:
        def __init__(self, read_only: bool) -> None:
            self.read_only, self.messages = read_only, ["report.xlsx is locked by pid 4242; opened read-only."]
            self.report = type("R", (), {"path": Path("report.xlsx"), "sources": []})()

        def close(self) -> None:
            pass

    monkeypatch.setattr(takeover, "request_release", lambda *a, **k: (False, "pid 4242 did not let go within 10 s"))
    monkeypatch.setattr(takeover, "holder_of", lambda path: None)
    reopened = take_over._release_and_reopen(Session(True), lambda: Session(True), 4242, forced=False)
    assert "did not let go within 10 s" in reopened.messages[0] and "read-only" in reopened.messages[0]
    writable = take_over._release_and_reopen(Session(True), lambda: Session(False), 4242, forced=False)
    assert not any("Take-over failed" in m for m in writable.messages)


def test_the_demo_names_its_folder_on_the_screen_at_start(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import argparse

    from phi_review.tui.commands import review

    seen: dict[str, object] = {}
    monkeypatch.setattr(review, "open_review", lambda report, **kwargs: seen.update(kwargs, report=report) or 0)
    args = argparse.Namespace(dir=tmp_path / "mydemo", no_screen=False, reviewer=None, graphics=None, mouse=False)
    assert review.run_demo(args) == 0
    assert str(tmp_path / "mydemo") in str(seen["notice"]) and "Demo folder" in str(seen["notice"])
