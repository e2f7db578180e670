"""The pixel claim (BurnedInAnnotation NO) holds only when OCR of every frame of the copy finds nothing likely PHI."""

from __future__ import annotations

import json

import pydicom
import pytest

from phi_review.core.ocr.engine import ocr_available
from phi_review.core.remedy.claims import ResidualError
from phi_review.core.remedy.redact import Box, Redaction, confirm_clean, redact_file
from phi_review.sample_reports.make_dicom import burned_in_text_image
from phi_review.tui.cli import main

pytestmark = pytest.mark.skipif(not ocr_available(), reason="needs the ocr extra")

WHO = {"PatientName": "VANTRELL^OSKAR", "PatientID": "VO4471902"}


def _cine(tmp_path):
    """Three frames; the name is burned into the last one only (frames the validator never samples)."""
    path = burned_in_text_image(tmp_path / "in" / "cine.dcm", ["HEART 4CH"], frames=3, patient=WHO,
                                size=(320, 240), font_size=18)
    ds = pydicom.dcmread(path)
    marked = burned_in_text_image(tmp_path / "marked.dcm", ["VANTRELL OSKAR", "VO4471902"], size=(320, 240),
                                  font_size=18, position=(20, 150), patient=WHO)
    frames = bytearray(ds.PixelData)
    frame_bytes = len(frames) // 3
    frames[2 * frame_bytes:] = pydicom.dcmread(marked).PixelData[:frame_bytes]
    ds.PixelData = bytes(frames)
    ds.save_as(path)
    return path


def test_confirm_clean_with_a_box_that_misses_the_text_is_refused_and_put_aside(tmp_path):
    original = _cine(tmp_path)
    out = tmp_path / "out"
    redaction = Redaction([Box(0, 0, 120, 40)], None, confirm_clean=True)  # covers the top, not the name
    with pytest.raises(ResidualError) as caught:
        redact_file(original, out / "cine.dcm", redaction, manifest_dir=out)
    assert not (out / "cine.dcm").exists()
    aside = pydicom.dcmread(out / "residual" / "cine.dcm")
    assert str(aside.BurnedInAnnotation) == "YES"
    assert any(r.where.startswith("frame 3 ") for r in caught.value.proof.residuals), caught.value.proof.summary()
    record = json.loads((out / "manifest.jsonl").read_text(encoding="utf-8").splitlines()[-1])
    assert record["proof"]["status"] == "residual" and record["confirmed_clean"] is False
    assert "VANTRELL" not in (out / "manifest.jsonl").read_text(encoding="utf-8").upper()


def test_the_cli_exits_non_zero_and_says_where_not_what(tmp_path, capsys):
    original = _cine(tmp_path)
    code = main(["redact", str(original), "--box", "0,0,120,40", "--confirm-clean", "--out", str(tmp_path / "o")])
    said = capsys.readouterr()
    assert code != 0
    text = said.out + said.err
    assert "frame 3" in text and "VANTRELL" not in text.upper()


def test_confirm_clean_on_an_existing_copy_refuses_then_accepts_with_a_reason(tmp_path):
    original = _cine(tmp_path)
    out = tmp_path / "out"
    redact_file(original, out / "cine.dcm", Redaction([Box(0, 0, 120, 40)], None), manifest_dir=out)
    before = (out / "cine.dcm").read_bytes()
    with pytest.raises(ResidualError):
        confirm_clean(out / "cine.dcm", original=original, reviewer="r1", manifest_dir=out)
    assert (out / "cine.dcm").read_bytes() == before  # no claim written
    confirm_clean(out / "cine.dcm", original=original, reviewer="r1", manifest_dir=out,
                  accept_residual="name is the sonographer's initials on a phantom")
    assert str(pydicom.dcmread(out / "cine.dcm").BurnedInAnnotation) == "NO"
    record = json.loads((out / "manifest.jsonl").read_text(encoding="utf-8").splitlines()[-1])
    assert record["accepted_residual"]["reviewer"] == "r1"
    assert record["proof"]["status"] == "residual-accepted"
