"""A dropped SSH link leaves a session holding the report: the next one sees who and takes over.

Real processes in real terminals (tmux): the first session decides rows and keeps
running; the second, with --take-over, makes it save and exit, then opens writable.
"""

from __future__ import annotations

import json
import os
import subprocess
import time

import pytest

from phi_review.core.report.takeover import holder_of
from test_tmux_smoke import SCRIPT, TMUX, _tmux, _wait_for_text


@pytest.mark.skipif(TMUX is None, reason="tmux is not installed")
@pytest.mark.skipif(not SCRIPT.exists(), reason="console script not installed")
def test_second_session_takes_over_a_live_first_session(tmp_path):
    demo = tmp_path / "demo"
    subprocess.run([str(SCRIPT), "demo", str(demo), "--no-screen"], check=True, capture_output=True)
    report = demo / "reconciliation_report.xlsx"
    env = {**os.environ, "TERM": "xterm-256color", "PHI_REVIEW_PROBE_TIMEOUT": "0.5"}
    first, second = f"take-a-{os.getpid()}", f"take-b-{os.getpid()}"
    subprocess.run([TMUX, "new-session", "-d", "-s", first, "-x", "120", "-y", "40",
                    f"{SCRIPT} review {report} --reviewer first; echo FIRST-EXITED $?; sleep 30"], check=True, env=env)
    try:
        _wait_for_text(first, "IMG_00001")
        for key in ("1", "2", "3"):
            _tmux("send-keys", "-t", first, key)
            time.sleep(0.4)
        _wait_for_text(first, "3/")
        holder = holder_of(report)
        assert holder is not None and holder.user and holder.pid > 0
        assert "pid" in holder.describe() and "last keypress" in holder.describe()

        subprocess.run([TMUX, "new-session", "-d", "-s", second, "-x", "120", "-y", "40",
                        f"{SCRIPT} review {report} --reviewer second --take-over; echo SECOND-EXITED $?; sleep 30"],
                       check=True, env=env)
        _wait_for_text(first, "FIRST-EXITED 0", timeout=30)
        screen = _wait_for_text(second, "IMG_00001", timeout=60)
        assert "READ-ONLY" not in screen
        _wait_for_text(second, "3/")  # the first session's decisions are here
        _tmux("send-keys", "-t", second, "q")
        _wait_for_text(second, "SECOND-EXITED 0")
    finally:
        _tmux("kill-session", "-t", first)
        _tmux("kill-session", "-t", second)
    summary = subprocess.run([str(SCRIPT), "summary", "--json", str(report)], capture_output=True, text=True, check=True)
    assert json.loads(summary.stdout)["reviewed"] == 3


def test_nobody_holds_a_report_without_a_session(tmp_path):
    report = tmp_path / "r.xlsx"
    report.write_bytes(b"")
    assert holder_of(report) is None
