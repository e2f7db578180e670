"""Drive the installed console script in a real terminal (tmux), then check the saved report."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

TMUX = shutil.which("tmux")
SCRIPT = Path(sys.executable).with_name("phi-review")


def _tmux(*args: str) -> str:
    return subprocess.run([TMUX, *args], capture_output=True, text=True, check=False).stdout  # type: ignore[list-item]


def _wait_for_text(session: str, text: str, timeout: float = 60.0) -> str:
    deadline = time.monotonic() + timeout
    screen = ""
    while time.monotonic() < deadline:
        screen = _tmux("capture-pane", "-t", session, "-p")
        if text in screen:
            return screen
        time.sleep(0.3)
    raise AssertionError(f"{text!r} never appeared; screen was:\n{screen}")


@pytest.mark.skipif(TMUX is None, reason="tmux is not installed")
@pytest.mark.skipif(not SCRIPT.exists(), reason="console script not installed")
@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
def test_installed_app_in_tmux(tmp_path, size):
    demo = tmp_path / "demo"
    session = f"phi-review-test-{os.getpid()}-{size[0]}"
    env = {**os.environ, "TERM": "xterm-256color", "PHI_REVIEW_PROBE_TIMEOUT": "1.0"}
    command = f"{SCRIPT} demo {demo} --reviewer smoke; echo EXITED $?; sleep 30"
    subprocess.run(
        [TMUX, "new-session", "-d", "-s", session, "-x", str(size[0]), "-y", str(size[1]), command],
        check=True, env=env,
    )
    try:
        screen = _wait_for_text(session, "reviewed")
        assert "Traceback" not in screen
        _wait_for_text(session, "IMG_00001")
        _tmux("send-keys", "-t", session, "1")
        time.sleep(0.5)
        _tmux("send-keys", "-t", session, "2")
        _wait_for_text(session, "2/")
        _tmux("send-keys", "-t", session, "q")
        screen = _wait_for_text(session, "EXITED")
        assert "EXITED 0" in screen, screen
    finally:
        _tmux("kill-session", "-t", session)
    summary = subprocess.run(
        [str(SCRIPT), "summary", "--json", str(demo / "reconciliation_report.xlsx")],
        capture_output=True, text=True, check=True,
    )
    data = json.loads(summary.stdout)
    assert data["reviewed"] == 2
    assert data["unreviewed"] == data["rows"] - 2
