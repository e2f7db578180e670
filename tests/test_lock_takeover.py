"""A take-over signals only the phi-review session that holds this very lock (issue 20, item 3).

Real processes: a core session child or the real screen on a pty holds the lock;
``sleep`` children stand in for the unrelated processes a rewritten lock record
could name. None of them may receive a signal unless proven to be the holder.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lock_procs import PtySession, alive, cli, core_holder, csv_report, end, sleeper
from phi_review.core.report.lock import lock_path
from phi_review.core.report.takeover import holder_of, prove_holder, request_release


def _rewrite(report: Path, pid: int | None = None, nonce: str | None = None) -> None:
    """What anyone who can write the folder can do: put another pid (or nonce) in the lock record."""
    path = lock_path(report)
    lines = path.read_text().splitlines()
    if pid is not None:
        lines[0] = str(pid)
    if nonce is not None:
        lines[5] = nonce
    with open(path, "r+") as handle:  # in place: the holder's flock stays on this inode
        handle.truncate(0)
        handle.write("\n".join(lines) + "\n")


@pytest.fixture
def report(tmp_path: Path) -> Path:
    return csv_report(tmp_path / "r.csv", ["a.dcm", "b.dcm", "c.dcm"])


@pytest.fixture
def held(report: Path):
    holder = core_holder(report)
    yield holder
    end(holder)


def test_a_record_naming_an_unrelated_process_sends_it_nothing(report: Path, held) -> None:
    bystander = sleeper()
    try:
        _rewrite(report, pid=bystander.pid)
        released, said = request_release(report, timeout=1.0)
        time.sleep(0.3)
        assert not released and "not a phi-review session" in said and "no signal sent" in said
        assert alive(bystander) and alive(held)
    finally:
        end(bystander)


def test_a_process_called_phi_review_that_does_not_hold_the_lock_is_not_signalled(report: Path, held) -> None:
    impostor = subprocess.Popen(["bash", "-c", "exec -a phi-review sleep 120"])
    try:
        time.sleep(0.2)  # let exec rename it
        _rewrite(report, pid=impostor.pid)
        released, said = request_release(report, timeout=1.0)
        time.sleep(0.3)
        assert not released and "does not hold this report's lock file" in said
        assert alive(impostor) and alive(held)
    finally:
        end(impostor)


def test_a_process_that_holds_the_lock_file_open_but_did_not_write_the_nonce_is_not_signalled(
        report: Path, held) -> None:
    code = "import os, sys, time; fd = os.open(sys.argv[1], os.O_RDONLY); print('ready', flush=True); time.sleep(120)"
    reader = subprocess.Popen([sys.executable, "-c", code, str(lock_path(report)), "phi-review"],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert reader.stdout is not None and reader.stdout.readline().strip() == "ready"
        _rewrite(report, pid=reader.pid)  # the real holder's nonce stays in the record
        released, said = request_release(report, timeout=1.0)
        time.sleep(0.3)
        assert not released and f"session that wrote it is pid {held.pid}" in said
        assert alive(reader) and alive(held)
    finally:
        end(reader)


@pytest.mark.parametrize("pid", ["0", "1"])
def test_a_record_naming_pid_0_or_1_signals_nothing(report: Path, held, pid: str) -> None:
    """os.kill(0, SIGTERM) would end our own process group: never."""
    _rewrite(report, pid=int(pid))
    released, said = request_release(report, timeout=1.0)
    assert not released and "no signal sent" in said and alive(held)
    released, said = request_release(report, timeout=1.0, force=True)
    assert not released and "no signal sent" in said and alive(held)


def test_the_core_session_holding_the_lock_is_proven(report: Path, held) -> None:
    holder = holder_of(report)
    assert holder is not None and holder.pid == held.pid and len(holder.nonce) == 32
    assert prove_holder(report, holder) is None
    released, said = request_release(report, timeout=10.0)
    assert released, said
    assert held.wait(timeout=10) != 0  # SIGTERM's default: that child had no handler


def test_the_real_screen_is_proven_saves_and_lets_go(report: Path) -> None:
    screen = PtySession("review", str(report), "--graphics", "none", "--reviewer", "first")
    try:
        screen.wait_for(b"a.dcm")
        for key in (b"1", b"1"):
            screen.send(key)
            time.sleep(0.4)
        screen.wait_for(b"2/3")
        holder = holder_of(report)
        assert holder is not None and holder.pid == screen.pid
        assert prove_holder(report, holder) is None
        released, said = request_release(report, timeout=20.0)
        assert released, said
        assert screen.wait_exit() == 0
    finally:
        screen.close()
    summary = cli("summary", "--json", str(report))
    assert json.loads(summary.stdout)["reviewed"] == 2


# ----------------------------------------------------------------------------- the command


def test_review_take_over_with_a_forged_record_says_why_and_opens_read_only(report: Path, held) -> None:
    bystander = sleeper()
    screen = PtySession("review", str(report), "--graphics", "none", "--take-over")
    try:
        _rewrite(report, pid=bystander.pid)
        screen.wait_for(b"READ-ONLY")
        assert b"Cannot take over: pid" in screen.out and b"--take-over --force" in screen.out
        screen.send(b"q")
        assert screen.wait_exit() == 0
        assert alive(bystander) and alive(held)
    finally:
        screen.close()
        end(bystander)


def test_force_asks_naming_the_pid_and_n_sends_nothing(report: Path, held) -> None:
    bystander = sleeper()
    _rewrite(report, pid=bystander.pid)
    screen = PtySession("review", str(report), "--graphics", "none", "--take-over", "--force")
    try:
        screen.wait_seen(f"Send SIGTERM to pid {bystander.pid} (sleep) anyway? If it is a phi-review session "
                         "it saves and exits; if it is any other process, that process ends.")
        assert screen.seen("READ-ONLY")  # the screen behind the dialog
        assert screen.seen("y: yes, send the signal n / Enter / Esc: no, stay read-only")
        screen.send(b"\r")  # Enter is no
        screen.wait_seen(f"No signal sent to pid {bystander.pid}")
        screen.send(b"q")
        assert screen.wait_exit() == 0
        assert alive(bystander) and alive(held)
    finally:
        screen.close()
        end(bystander)


def test_force_and_y_signal_an_unproven_holder_then_open_writable(report: Path, held) -> None:
    _rewrite(report, nonce="0" * 32)  # say an older phi-review: no nonce that answers
    screen = PtySession("review", str(report), "--graphics", "none", "--take-over", "--force")
    try:
        screen.wait_seen(f"Send SIGTERM to pid {held.pid} (python")
        assert b"Cannot prove the holder: no session answers" in screen.out
        screen.send(b"y")
        held.wait(timeout=10)
        assert not alive(held)
        screen.wait_for(b"let go of the report")
        screen.start = screen.out.index(b"let go of the report")  # the second screen, writable
        screen.wait_for(b"a.dcm")
        screen.send(b"1")
        screen.wait_seen("1/3")
        assert not screen.seen("READ-ONLY")
        screen.send(b"q")
        assert screen.wait_exit() == 0
    finally:
        screen.close()


def test_without_a_terminal_force_signals_nothing(report: Path, held, capsys, monkeypatch) -> None:
    from phi_review.core.review.session import ReviewSession
    from phi_review.tui.commands.take_over import take_over_if_wanted

    bystander = sleeper()
    try:
        _rewrite(report, pid=bystander.pid)
        monkeypatch.setattr(sys.stdin, "isatty", lambda: False, raising=False)
        session = ReviewSession.open(report, reviewer="second")
        assert session.read_only
        asked: list[str] = []
        for ask in (None, lambda q: asked.append(q) or True):
            result = take_over_if_wanted(session, lambda: ReviewSession.open(report), True, True, ask=ask)
            assert result.session is session and session.read_only and result.offer is None and not asked
        out = capsys.readouterr().out
        assert "Refused: --force needs a terminal" in out
        time.sleep(0.3)
        assert alive(bystander) and alive(held)
        session.close()
    finally:
        end(bystander)


def test_the_lock_record_never_names_a_secret_path(report: Path, held) -> None:
    """The record holds pid, user, terminal, time, host, nonce and the report's own name: nothing from the rows."""
    lines = lock_path(report).read_text().splitlines()
    assert lines[0] == str(held.pid) and lines[6] == report.name and len(lines) == 7
    assert os.getpid() != held.pid
