"""The blackout flow on the installed command in a real terminal (tmux): mask, scope, copy, verified."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import time

import pytest

from test_tmux_smoke import SCRIPT, TMUX, _tmux, _wait_for_text


@pytest.mark.skipif(TMUX is None, reason="tmux is not installed")
@pytest.mark.skipif(not SCRIPT.exists(), reason="console script not installed")
def test_black_out_from_the_review_screen_in_tmux(tmp_path):
    demo = tmp_path / "demo"
    subprocess.run([str(SCRIPT), "demo", str(demo), "--no-screen"], check=True, capture_output=True)
    report = demo / "reconciliation_report.xlsx"
    original = next(demo.rglob("US_00001.dcm"))
    before = hashlib.sha256(original.read_bytes()).hexdigest()
    env = {**os.environ, "TERM": "xterm-256color", "PHI_REVIEW_PROBE_TIMEOUT": "0.5"}
    name = f"redact-{os.getpid()}"
    subprocess.run([TMUX, "new-session", "-d", "-s", name, "-x", "140", "-y", "45",
                    f"{SCRIPT} review {report} --graphics halfcell; echo EXITED $?; sleep 30"], check=True, env=env)
    try:
        _wait_for_text(name, "IMG_00001")
        _tmux("send-keys", "-t", name, "/")
        time.sleep(0.5)
        _tmux("send-keys", "-t", name, "US_00001", "Enter")
        _wait_for_text(name, "LIKELY PHI", timeout=90)
        _tmux("send-keys", "-t", name, "M")
        _wait_for_text(name, "Masks:")
        _tmux("send-keys", "-t", name, "R")
        _wait_for_text(name, "Black out the masks on")
        _tmux("send-keys", "-t", name, "Enter")
        _wait_for_text(name, "y / Enter: yes")
        _tmux("send-keys", "-t", name, "y")
        screen = _wait_for_text(name, "Verified: no text inside the boxes", timeout=120)
        assert "Traceback" not in screen
        _tmux("send-keys", "-t", name, "q")
        _wait_for_text(name, "EXITED 0")
    finally:
        _tmux("kill-session", "-t", name)
    copy = demo / "corrected" / original.relative_to(demo)
    assert copy.exists()
    assert hashlib.sha256(original.read_bytes()).hexdigest() == before
    manifest = [json.loads(line) for line in next((demo / "corrected").glob("*manifest*")).read_text().splitlines()]
    assert manifest[-1]["original_sha256"] == before and manifest[-1]["copy_sha256"]


@pytest.mark.skipif(TMUX is None, reason="tmux is not installed")
@pytest.mark.skipif(not SCRIPT.exists(), reason="console script not installed")
def test_fix_then_diff_on_the_demo_in_tmux(tmp_path):
    demo = tmp_path / "demo"
    subprocess.run([str(SCRIPT), "demo", str(demo), "--no-screen"], check=True, capture_output=True)
    original = next(demo.rglob("US_00001.dcm"))
    before = hashlib.sha256(original.read_bytes()).hexdigest()
    out = tmp_path / "fixed"
    copy = out / original.relative_to(demo)
    env = {**os.environ, "TERM": "xterm-256color", "PHI_REVIEW_FIX_SECRET": "smoke-test-secret"}
    name = f"fixdiff-{os.getpid()}"
    command = (f"{SCRIPT} fix {original} --root {demo} --out {out} --reviewer smoke; echo FIX $?; "
               f"{SCRIPT} diff {original} {copy}; echo DIFF $?; sleep 30")
    subprocess.run([TMUX, "new-session", "-d", "-s", name, "-x", "160", "-y", "50", command], check=True, env=env)
    try:
        screen = _wait_for_text(name, "DIFF ", timeout=60)
    finally:
        _tmux("kill-session", "-t", name)
    assert "FIX 0" in screen and "DIFF 0" in screen and "Traceback" not in screen
    assert "PatientName" in screen and "modified" in screen
    assert copy.exists() and hashlib.sha256(original.read_bytes()).hexdigest() == before
