"""Workers that cannot start (or die between files) stop the scan with one clear line and a failure status.

Before, the parent's write to a dead worker raised BrokenPipeError, which the CLI takes for a closed stdout
(`phi-review ... | head`): the scan exited 0, printed nothing and wrote no CSV.
"""

from __future__ import annotations

import multiprocessing.spawn
import os
from pathlib import Path

import pytest

from phi_review.sample_reports.make_dicom import burned_in_text_image
from phi_review.tui.cli import main


def test_workers_that_cannot_start_fail_the_scan_in_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    coll = tmp_path / "Collection"
    burned_in_text_image(coll / "Images_Site_X" / "1234567" / "a.dcm", [], size=(64, 64), modality="OT")
    out = tmp_path / "out"
    with monkeypatch.context() as patch:
        patch.setattr(multiprocessing.spawn, "_python_exe", os.fsencode(str(tmp_path / "no-such-python")))
        code = main(["scan", str(coll), "--out", str(out), "--no-ocr", "--quiet", "--workers", "1"])
    said = capsys.readouterr()
    assert code == 2
    assert "Traceback" not in said.err + said.out
    lines = [line for line in said.err.splitlines() if line.strip()]
    assert len(lines) == 1 and "worker" in lines[0] and "run the same command again" in lines[0], said.err
    assert not list(out.glob("*.csv"))
    assert main(["scan", str(coll), "--out", str(out), "--no-ocr", "--quiet", "--workers", "1"]) == 0
    assert list(out.glob("*.csv"))
