"""Smoke: the installed `phi-review fix --report`, then `diff` and `values`, on the demo data (a real process each)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pydicom

from phi_review.sample_reports.build_demo import build_demo

EXE = Path(sys.executable).parent / "phi-review"


def cli(*argv: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PHI_REVIEW_FIX_SECRET": "demo-secret"}
    return subprocess.run([str(EXE), *argv], capture_output=True, text=True, cwd=cwd, env=env, timeout=120)


def test_fix_then_diff_on_the_demo(tmp_path: Path) -> None:
    report = build_demo(tmp_path / "demo")
    done = cli("fix", "--report", str(report), "--out", "out", cwd=tmp_path)
    # the demo's truncated file is named and skipped; every other file gets a copy
    assert done.returncode == 1, done.stderr
    assert "skipped" in done.stderr and "cut short" in done.stderr
    copies = sorted((tmp_path / "out").rglob("*.dcm"))
    assert len(copies) == done.stdout.count("wrote ") >= 15
    for copy in copies:
        ds = pydicom.dcmread(copy, stop_before_pixels=True)
        assert ds.PatientIdentityRemoved == "YES" and str(ds.get("PatientName", "")) == ""
    hostile = [c for c in copies if "\x1b" in str(pydicom.dcmread(tmp_path / "demo" / c.relative_to(tmp_path / "out"),
                                                                      stop_before_pixels=True).get("StudyDescription", ""))]
    assert hostile
    for copy in copies[:2] + hostile:
        original = tmp_path / "demo" / copy.relative_to(tmp_path / "out")
        shown = cli("diff", str(original), str(copy), cwd=tmp_path)
        assert shown.returncode == 0 and "modified" in shown.stdout
        assert "\x1b" not in shown.stdout and "\x07" not in shown.stdout  # the hostile header stays inert
    values = cli("values", str(report), "--free-text", "--json", cwd=tmp_path)
    payload = json.loads(values.stdout)
    assert values.returncode == 0 and payload["files"] >= 15
    assert "\x1b" not in values.stdout
    after = cli("values", "out", "--identifying", "--json", cwd=tmp_path)
    names = [a for a in json.loads(after.stdout)["attributes"] if a["keyword"] == "PatientName"]
    assert all(v["value"] == "" for a in names for v in a["values"])
