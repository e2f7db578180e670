"""`phi-review ocr FILE --details TEXT` reads the frame the validator's finding names, besides first/middle/last."""

from __future__ import annotations

import json

from phi_review.sample_reports.make_dicom import multiframe_file
from phi_review.tui.cli import main


def test_ocr_reads_the_frame_the_details_name(tmp_path, capsys):
    path = multiframe_file(tmp_path / "cine.dcm", frames=30)
    details = "MRN:7212121, Detected with pattern MRN_like at frame index 3"
    assert main(["ocr", str(path), "--details", details, "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["frames_read"] == [1, 16, 22, 30]  # 3 * (30 // 4) = 21, shown 1-based


def test_ocr_without_details_reads_first_middle_last(tmp_path, capsys):
    path = multiframe_file(tmp_path / "cine.dcm", frames=30)
    assert main(["ocr", str(path), "--json"]) == 0
    assert 22 not in json.loads(capsys.readouterr().out)["frames_read"]
