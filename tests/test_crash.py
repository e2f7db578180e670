"""kill -9 at random moments loses no acknowledged decision, and frees the lock.

A child process opens a session and records decisions in a loop, printing
``ACK <row> <action#>`` only after ``decide`` returned (the point where the
screen would show the decision). The parent kills it with SIGKILL at random
moments, reopens the report, and checks that every row holds its last
acknowledged action (or the one decision in flight when the kill came, which
may or may not have reached the disk).
"""

from __future__ import annotations

import csv
import os
import random
import select
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from phi_review.core.common.errors import LockedError
from phi_review.core.report.model import DEFAULT_ACTIONS
from phi_review.core.review.session import ReviewSession

ROWS = 40

CHILD = textwrap.dedent(
    """
    import random, sys
    from phi_review.core.review.session import ReviewSession

    report, seed, save_every = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    rng = random.Random(seed)
    session = ReviewSession.open(report, reviewer="crash", allow_read_only_fallback=False)
    print("READY", session.recovered, flush=True)
    count = 0
    while True:
        index = rng.randrange(len(session.findings))
        position = rng.randrange(1, len(session.actions) + 1)
        action = session.action_by_position(position)
        row = session.findings[index].row
        print("TRY", row, position, flush=True)
        session.decide([index], action)
        print("ACK", row, position, flush=True)
        count += 1
        if save_every and count % save_every == 0:
            session.save()
            print("SAVED", flush=True)
    """
)

HOLDER = textwrap.dedent(
    """
    import sys, time
    from phi_review.core.review.session import ReviewSession

    session = ReviewSession.open(sys.argv[1], reviewer="holder", allow_read_only_fallback=False)
    print("READY", flush=True)
    time.sleep(60)
    """
)


def _write_report(path: Path) -> Path:
    header = ["File Name", "Validation Issue", "Detected Value", "Action", "Comments"]
    rows = [[f"study/img{i:03d}.dcm", "Possible PHI/PII in Header", f"NAME{i % 7}", None, None] for i in range(ROWS)]
    if path.suffix == ".csv":
        with open(path, "w", encoding="utf-8", newline="") as handle:
            csv.writer(handle).writerows([header, *rows])
    else:
        from openpyxl import Workbook

        workbook = Workbook()
        workbook.active.append(header)
        for row in rows:
            workbook.active.append(row)
        workbook.save(path)
    return path


def _start(script: str, *args: str) -> subprocess.Popen[bytes]:
    # Binary, unbuffered pipes read with os.read: a text-mode readline would
    # read ahead into a buffer that communicate() then bypasses.
    return subprocess.Popen(
        [sys.executable, "-c", script, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        bufsize=0,
    )


def _wait_for_ready(proc: subprocess.Popen[bytes], timeout: float) -> bytes:
    """Read stdout until the READY line; returns everything read so far."""
    assert proc.stdout is not None
    seen = b""
    end = time.monotonic() + timeout
    while b"READY" not in seen or b"\n" not in seen.split(b"READY", 1)[1]:
        ready, _, _ = select.select([proc.stdout], [], [], max(0.0, end - time.monotonic()))
        chunk = os.read(proc.stdout.fileno(), 65536) if ready else b""
        if not chunk:
            proc.kill()
            _, err = proc.communicate(timeout=10)
            raise AssertionError(f"child did not get ready: {err.decode(errors='replace')[-2000:]}")
        seen += chunk
    return seen


def _kill_and_collect(proc: subprocess.Popen[bytes], seen: bytes) -> str:
    """SIGKILL the child and return all it printed, from the first byte."""
    proc.send_signal(signal.SIGKILL)
    rest, _ = proc.communicate(timeout=10)
    return (seen + rest).decode()


@pytest.mark.parametrize("suffix, max_rounds", [(".csv", 25), (".xlsx", 10)])
def test_acknowledged_decisions_survive_sigkill(tmp_path: Path, suffix: str, max_rounds: int) -> None:
    """Kills land anywhere: mid-journal-write, mid-save (saves every few decisions), between."""
    report = _write_report(tmp_path / f"crash report{suffix}")
    rng = random.Random(20250101)
    expected: dict[int, set[int]] = {}  # row -> acceptable action positions after recovery
    total_acks = 0
    deadline = time.monotonic() + max_rounds + 5
    rounds = 0
    while rounds < max_rounds and time.monotonic() < deadline:
        rounds += 1
        save_every = rng.choice((0, 3, 7))
        child = _start(CHILD, str(report), str(rng.randrange(1 << 30)), str(save_every))
        seen = b""
        try:
            seen = _wait_for_ready(child, 20)
            time.sleep(rng.uniform(0.0, 0.25))
        finally:
            out = _kill_and_collect(child, seen)
        assert child.returncode == -signal.SIGKILL
        lines = out.splitlines(keepends=True)
        # Only complete lines count: a torn "ACK" was not an acknowledgement.
        for line in lines:
            if not line.endswith("\n"):
                continue
            word, *rest = line.split()
            if word == "READY":
                continue
            if word == "TRY":
                row, position = int(rest[0]), int(rest[1])
                expected.setdefault(row, {0}).add(position)  # in flight: may or may not be durable
            elif word == "ACK":
                row, position = int(rest[0]), int(rest[1])
                expected[row] = {position}
                total_acks += 1

        with ReviewSession.open(report, reviewer="check", allow_read_only_fallback=False) as session:
            for finding in session.findings:
                allowed = expected.get(finding.row, {0})
                position = DEFAULT_ACTIONS.index(finding.action) + 1 if finding.action else 0
                assert position in allowed, f"round {rounds}: row {finding.row} lost its decision"
            # The parent's state becomes the new truth: later rounds build on it.
            for finding in session.findings:
                position = DEFAULT_ACTIONS.index(finding.action) + 1 if finding.action else 0
                expected[finding.row] = {position}
            if rng.random() < 0.3:
                session.save()
    assert rounds >= max_rounds // 2
    assert total_acks > 2 * rounds, "the children must have made real progress"


def test_lock_refuses_a_second_writer_and_is_freed_by_sigkill(tmp_path: Path) -> None:
    report = _write_report(tmp_path / "locked.csv")
    holder = _start(HOLDER, str(report))
    seen = b""
    try:
        seen = _wait_for_ready(holder, 20)
        with pytest.raises(LockedError) as raised:
            ReviewSession.open(report, allow_read_only_fallback=False)
        assert f"pid {holder.pid}" in str(raised.value)
        with ReviewSession.open(report) as viewer:
            assert viewer.read_only and "another phi-review session" in viewer.messages[0]
    finally:
        _kill_and_collect(holder, seen)
    with ReviewSession.open(report, allow_read_only_fallback=False) as session:
        assert not session.read_only
