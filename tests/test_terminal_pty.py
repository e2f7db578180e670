"""The terminal behaviour of issue 10, read from the bytes a real pty receives.

A fake terminal (this test) sits on the master side of a pty, answers the
probe like the terminal named, and records every byte phi-review writes.
"""

from __future__ import annotations

import os
import pty
import re
import select
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from pydicom.data import get_testdata_file

PHI_REVIEW = str(Path(sys.executable).with_name("phi-review"))
CT = get_testdata_file("CT_small.dcm")
XTERM_DA1 = b"\x1b[?63;1;2;6;22c"  # VT320-class, no sixel
SIXTEEN_ONLY = re.compile(rb"\x1b\[(?:[0-9;]*;)?(?:3[0-7]|4[0-7]|9[0-7]|10[0-7])(?:;[0-9;]*)?m")


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("COLORTERM", "NO_COLOR", "TMUX", "TEXTUAL_COLOR_SYSTEM",
                                                            "KITTY_WINDOW_ID", "MLTERM", "PHI_REVIEW_CONFIG")}
    env.update(PHI_REVIEW_PROBE_TIMEOUT="5", PHI_REVIEW_CONFIG="/nonexistent/phi-review.toml")
    env.update(extra)
    return env


class NeverExited(AssertionError):
    """The child was still running at the deadline: a hang is a failure, never an accepted outcome."""


def reap(pid: int, deadline: float, out: bytes = b"") -> int:
    """The child's exit code, waiting until ``deadline``; past it the child is killed and the test fails."""
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done == pid:
            return os.waitstatus_to_exitcode(status)
        if time.monotonic() >= deadline:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
            raise NeverExited(f"the child never exited (killed at the deadline); last output: {out[-300:]!r}")
        time.sleep(0.02)


def run_on_pty(argv: list[str], env: dict[str, str], reply: bytes = b"", seconds: float = 30.0,
               size: tuple[int, int] = (30, 100), expect_status: int | None = 0) -> bytes:
    """Run argv on a pty; answer the first DA1 query with ``reply``; return everything written.

    The child must exit by itself within ``seconds`` (else NeverExited) and, unless ``expect_status`` is
    None, with that status: a crash or a hang fails the test instead of passing on the output so far.
    """
    import fcntl
    import struct
    import termios

    pid, fd = pty.fork()
    if pid == 0:  # pragma: no cover - the child
        os.execvpe(argv[0], argv, env)
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", size[0], size[1], 0, 0))
    out = b""
    answered = False
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.05)
        if ready:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
        if reply and not answered and b"\x1b[c" in out:
            os.write(fd, reply)
            answered = True
    try:
        status = reap(pid, deadline, out)
    finally:
        os.close(fd)
    if expect_status is not None:
        assert status == expect_status, f"exit status {status} (wanted {expect_status}); last output: {out[-300:]!r}"
    return out


def _half_cells(out: bytes) -> list[bytes]:
    """The SGR sequences that colour half-cell blocks (▀)."""
    return re.findall(rb"(\x1b\[[0-9;]*m)\xe2\x96\x80", out)


def test_halfcell_under_term_xterm_without_colorterm_uses_256_or_true_colour():
    out = run_on_pty([PHI_REVIEW, "preview", CT, "--graphics", "halfcell"], _env(TERM="xterm"), reply=XTERM_DA1)
    cells = _half_cells(out)
    assert len(cells) > 500, out[-300:]
    assert all(b"38;5;" in sgr or b"38;2;" in sgr for sgr in cells)
    assert not any(SIXTEEN_ONLY.fullmatch(sgr) for sgr in cells)
    assert len(set(cells)) > 30  # many tones, not a 16-colour palette


def test_halfcell_under_term_xterm_on_a_silent_link_still_uses_256_colours():
    # The probe's replies never come (slow SSH): TERM=xterm alone must not mean 16 colours.
    env = _env(TERM="xterm", PHI_REVIEW_PROBE_TIMEOUT="0.3")
    cells = _half_cells(run_on_pty([PHI_REVIEW, "preview", CT, "--graphics", "halfcell"], env))
    assert cells and all(b"38;5;" in sgr or b"38;2;" in sgr for sgr in cells)


def test_term_dumb_is_sent_no_query():
    out = run_on_pty([PHI_REVIEW, "preview", CT], _env(TERM="dumb"), reply=XTERM_DA1, seconds=20)
    for query in (b"\x1b[c", b"\x1b_G", b"\x1b[>0q", b"\x1b[16t", b"\x1bP$q"):
        assert query not in out
    assert b"CT_small.dcm: 128x128" in out  # the description, no image: nothing to draw with


def test_no_color_keeps_grey_levels_in_the_image():
    out = run_on_pty([PHI_REVIEW, "preview", CT, "--graphics", "halfcell"], _env(TERM="xterm-256color", NO_COLOR="1"),
                     reply=XTERM_DA1)
    cells = _half_cells(out)
    assert len(cells) > 500
    levels = set(re.findall(rb"38;5;(\d+)", b"".join(cells)))
    assert len(levels) >= 8, levels  # grey levels, not black stripes


def test_kitty_placeholders_are_not_used_by_kitty_0_26():
    reply = b"\x1b_Gi=31;OK\x1b\\\x1bP>|kitty(0.26.5)\x1b\\\x1bP1$r0;38:2:1:2:3m\x1b\\" + b"\x1b[?62;c"
    out = run_on_pty([PHI_REVIEW, "preview", CT], _env(TERM="xterm-kitty"), reply=reply)
    assert "\U0010eeee".encode() not in out  # textual-image's Unicode placeholder
    assert b"\x1b_Ga=" not in out and b"\x1b_Gf=" not in out
    assert len(_half_cells(out)) > 500  # half-cell instead, in true colour
    assert b"38;2;" in b"".join(_half_cells(out))


def test_kitty_0_28_still_gets_kitty_graphics():
    reply = b"\x1b_Gi=31;OK\x1b\\\x1bP>|kitty(0.31.0)\x1b\\" + b"\x1b[?62;c"
    out = run_on_pty([PHI_REVIEW, "preview", CT], _env(TERM="xterm-kitty"), reply=reply)
    assert "\U0010eeee".encode() in out


def test_forced_sixel_the_terminal_did_not_confirm_warns_once():
    out = run_on_pty([PHI_REVIEW, "preview", CT, "--graphics", "sixel"], _env(TERM="xterm"), reply=XTERM_DA1)
    assert out.count(b"did not report Sixel support") == 1


@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")
def test_in_tmux_the_pane_title_is_unchanged(tmp_path):
    socket = f"phi-review-test-{os.getpid()}"
    tmux = ["tmux", "-L", socket, "-f", "/dev/null"]
    env = _env(TERM="xterm-256color", PHI_REVIEW_PROBE_TIMEOUT="1")
    env.pop("TMUX", None)
    done = tmp_path / "done"
    command = f"{PHI_REVIEW} preview {CT}; touch {done}; sleep 30"
    subprocess.run(tmux + ["new-session", "-d", "-x", "100", "-y", "30", "-s", "t", "sleep 1; " + command],
                   env=env, check=True)
    try:
        before = subprocess.run(tmux + ["display", "-p", "-t", "t", "#{pane_title}"], env=env,
                                capture_output=True, text=True, check=True).stdout
        deadline = time.monotonic() + 30
        while not done.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert done.exists()
        after = subprocess.run(tmux + ["display", "-p", "-t", "t", "#{pane_title}"], env=env,
                               capture_output=True, text=True, check=True).stdout
        screen = subprocess.run(tmux + ["capture-pane", "-p", "-t", "t"], env=env, capture_output=True,
                                text=True, check=True).stdout
    finally:
        subprocess.run(tmux + ["kill-server"], env=env, capture_output=True)
    assert after == before, (before, after)
    assert "Gi=31" not in after and "CT_small.dcm: 128x128" in screen


def test_review_screen_under_term_xterm_draws_the_image_in_256_or_true_colour(tmp_path):
    import subprocess as sp

    built = sp.run([PHI_REVIEW, "demo", str(tmp_path / "demo"), "--no-screen"], capture_output=True, text=True,
                   env=_env(), check=True)
    report = built.stdout.split("Demo report: ", 1)[1].splitlines()[0].strip()
    import fcntl
    import struct
    import termios

    pid, fd = pty.fork()
    if pid == 0:  # pragma: no cover - the child
        os.execvpe(PHI_REVIEW, [PHI_REVIEW, "review", report, "--graphics", "halfcell"], _env(TERM="xterm"))
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    out = b""
    answered = quit_sent = False
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.05)
        if ready:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
        if not answered and b"\x1b[c" in out:
            os.write(fd, XTERM_DA1)
            answered = True
        if not quit_sent and len(_half_cells(out)) > 300:
            os.write(fd, b"q")
            quit_sent = True
    try:
        status = reap(pid, deadline, out)  # q must end the app: a hang or a crash fails here
    finally:
        os.close(fd)
    assert quit_sent and status == 0, (quit_sent, status, out[-300:])
    cells = _half_cells(out)
    assert len(cells) > 300
    assert all(b"38;5;" in sgr or b"38;2;" in sgr for sgr in cells)


def test_the_pty_harness_fails_on_a_hang_and_on_a_crash():
    # The harness used to kill a child at its deadline and return the output so far: a hang passed.
    start = time.monotonic()
    with pytest.raises(NeverExited):
        run_on_pty(["/bin/sh", "-c", "echo started; sleep 60"], _env(TERM="xterm"), seconds=1.0)
    assert time.monotonic() - start < 10
    with pytest.raises(AssertionError, match="exit status 3"):
        run_on_pty(["/bin/sh", "-c", "echo boom; exit 3"], _env(TERM="xterm"), seconds=10.0)
    assert b"fine" in run_on_pty(["/bin/sh", "-c", "echo fine"], _env(TERM="xterm"), seconds=10.0)
