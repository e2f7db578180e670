"""kill -9 in the middle of a scan, run it again: it continues, and the output is byte for byte the output of a
run that was never interrupted. Without OCR (header, rules, every frame decoded), so it takes seconds."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from phi_review.core.scan.sink import STATE_DIR
from phi_review.tui.cli import main

from scan_tree import PATIENT
from phi_review.sample_reports.make_dicom import burned_in_text_image


def _tree(root: Path, files: int = 60) -> Path:
    coll = root / "Collection"
    for n in range(files):
        site = f"Images_Site_{'AB'[n % 2]}"
        event = f"{1000000 + n % 3}"
        burned_in_text_image(coll / site / event / f"s{n % 4}" / f"f{n:03d}.dcm", [], size=(64, 48), frames=1 + n % 3,
                             modality="US" if n % 5 == 0 else "OT", patient={**PATIENT, "PatientID": f"P{n:04d}"})
    return coll


def _done(journal: Path) -> int:
    """Files the journal holds as done (read-only, beside the running writer)."""
    if not journal.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{journal}?mode=ro", uri=True, timeout=5) as db:
            return int(db.execute("SELECT count(*) FROM files").fetchone()[0])
    except sqlite3.Error:
        return 0


def _snapshot(out: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(out.iterdir()) if p.is_file()}


def _command(coll: Path, out: Path) -> list[str]:
    return [sys.executable, "-m", "phi_review.tui.cli", "scan", str(coll), "--out", str(out), "--no-ocr",
            "--workers", "2"]


def test_kill_9_then_again_gives_the_same_output(tmp_path: Path) -> None:
    coll = _tree(tmp_path)
    whole = tmp_path / "whole" / "Collection"
    assert main(["scan", str(coll), "--out", str(whole), "--no-ocr", "--quiet"]) == 0
    expected = _snapshot(whole)
    assert expected and not list((whole / STATE_DIR).glob("journal*"))  # removed once the CSVs are written

    out = tmp_path / "killed" / "Collection"
    journal = out / STATE_DIR / "journal.sqlite"
    process = subprocess.Popen(_command(coll, out), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if _done(journal) >= 5:
            break
        time.sleep(0.02)
    os.killpg(process.pid, signal.SIGKILL)  # the scan and its workers, all at once
    process.wait(10)
    done = _done(journal)
    assert 5 <= done < 60, done
    assert not list(out.glob("*.csv"))  # nothing half-written where the summarizer looks

    again = subprocess.run(_command(coll, out), capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr[-2000:]
    assert f"from the interrupted run" in again.stdout
    assert _snapshot(out) == expected

    third = subprocess.run(_command(coll, out), capture_output=True, text=True, timeout=300)
    assert third.returncode == 0 and "already complete" in third.stdout
    assert _snapshot(out) == expected


def test_other_options_on_an_interrupted_scan_are_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    coll = _tree(tmp_path, files=3)
    out = tmp_path / "out"
    (out / STATE_DIR).mkdir(parents=True)
    (out / STATE_DIR / "state.json").write_text('{"fingerprint": {"trees": ["elsewhere"]}, "complete": false}')
    assert main(["scan", str(coll), "--out", str(out), "--no-ocr", "--quiet"]) == 2
    assert "--restart" in capsys.readouterr().err
    assert main(["scan", str(coll), "--out", str(out), "--no-ocr", "--quiet", "--restart"]) == 0


def test_a_folder_of_something_else_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    coll = _tree(tmp_path, files=1)
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "keep.csv").write_text("x")
    assert main(["scan", str(coll), "--out", str(tmp_path / "busy"), "--no-ocr", "--quiet"]) == 2
    assert "holds files of something else" in capsys.readouterr().err
    assert (tmp_path / "busy" / "keep.csv").read_text() == "x"
