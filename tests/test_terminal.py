"""Terminal probing and the keyboard guard, without a real terminal."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
import time

from phi_review.tui.terminal.graphics import TerminalCaps, choose_graphics, parse_replies
from phi_review.tui.terminal.input_guard import ReplyFilter, guarded_parser


def test_parse_replies_reads_sixel_kitty_and_cell_size():
    caps = parse_replies("\x1b_Gi=31;OK\x1b\\\x1b[6;20;10t\x1b[?62;4;22c")
    assert caps.kitty and caps.sixel and caps.answered
    assert caps.cell_size == (10, 20)


def test_parse_replies_plain_vt220():
    caps = parse_replies("\x1b[?62;22c")
    assert not caps.sixel and not caps.kitty and caps.answered


def test_best_mode_falls_back():
    assert TerminalCaps().best_mode() == "none"
    assert TerminalCaps(is_tty=True, size_zero=True, sixel=True).best_mode() == "halfcell"
    assert TerminalCaps(is_tty=True, sixel=True).best_mode() == "sixel"
    assert TerminalCaps(is_tty=True).best_mode() == "halfcell"


def test_reply_filter_drops_replies_keeps_keys():
    f = ReplyFilter()
    assert f.feed("j\x1b[?62;4ck") == "jk"
    assert f.feed("\x1b[?6") == ""  # held: may be the start of a reply
    assert f.feed("2;4cn") == "n"
    assert f.feed("\x1b_Gi=31;OK\x1b\\1") == "1"
    assert f.feed("\x1b") == "\x1b"  # a lone Escape key press is never held
    assert f.dropped == 3


def test_guarded_parser_gives_only_real_keys():
    parser = guarded_parser()
    keys = [e.key for e in parser.feed("\x1b[?62;4c") if hasattr(e, "key")]
    keys += [e.key for e in parser.feed("j\x1b[A") if hasattr(e, "key")]
    assert keys == ["j", "up"]


def test_choose_graphics_without_terminal_is_none():
    choice = choose_graphics("auto", timeout=0.2)
    assert choice.mode == "none"  # pytest's stdout is not a terminal


PROBE = (
    "import sys, time\n"
    "from phi_review.tui.terminal.graphics import probe_terminal\n"
    "caps = probe_terminal(timeout=float(sys.argv[1]))\n"
    "print('CAPS', caps.sixel, caps.answered, caps.cell_size, flush=True)\n"
    "import tty, termios, select, os\n"
    "tty.setcbreak(0)\n"
    "r, _, _ = select.select([0], [], [], 1.5)\n"
    "print('LEFT', repr(os.read(0, 100) if r else b''), flush=True)\n"
)


def _run_fake_terminal(reply_delay: float, timeout: float) -> str:
    """Run the probe on a pty whose 'terminal' answers DA1 after ``reply_delay`` seconds."""
    pid, fd = pty.fork()
    if pid == 0:  # child: the program
        os.execv(sys.executable, [sys.executable, "-c", PROBE, str(timeout)])
    import fcntl
    import struct
    import termios

    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    output = b""
    answered = False
    start = time.monotonic()
    while time.monotonic() - start < 10:
        import select

        ready, _, _ = select.select([fd], [], [], 0.05)
        if ready:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                break
            if not chunk:
                break
            output += chunk
        if not answered and b"\x1b[c" in output and time.monotonic() - start >= reply_delay:
            os.write(fd, b"\x1b[?62;4c")
            answered = True
        if b"LEFT" in output and output.rstrip().endswith(b"'"):
            break
    os.waitpid(pid, 0)
    return output.decode("latin-1")


def test_probe_on_a_pty_reads_the_reply_and_leaves_nothing_behind():
    out = _run_fake_terminal(reply_delay=0.2, timeout=2.0)
    assert "CAPS True True" in out
    assert "LEFT b''" in out


def test_late_reply_is_drained_not_left_for_the_app():
    # The terminal answers after the probe's timeout, while the probe is draining.
    out = _run_fake_terminal(reply_delay=0.5, timeout=0.4)
    assert "CAPS False False" in out
    assert "LEFT b''" in out, out
