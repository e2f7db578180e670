"""Burned-in text is gone from the copy: redact synthesized files with --from-ocr likely, read the copy again."""

from __future__ import annotations

from pathlib import Path

import pydicom
import pytest
from pydicom.data import get_testdata_file

from phi_review.core.ocr import engine as ocr_module
from phi_review.core.ocr.engine import OcrEngine, ocr_frame
from phi_review.core.ocr.phi_match import fold
from phi_review.core.remedy.output import read_manifest, write_copy
from phi_review.core.remedy.redact import Box, Redaction
from phi_review.core.remedy.verify import verify_copy
from phi_review.sample_reports.make_dicom import DEFAULT_PATIENT, burned_in_text_image
from phi_review.tui.cli import main

PHI_WORDS = ["DOE", "JANE", "0042", "7781", "1962", "2024"]
LINES = ["DOE JANE", "MRN-0042-7781", "DOB 14-MAR-1962", "31-JAN-2024 10:42"]


from phi_review.core.ocr.models import ocr_available as ocr_module_available  # noqa: E402


@pytest.fixture(scope="module")
def engine() -> OcrEngine:
    pytest.importorskip("onnxruntime")
    if not ocr_module_available():
        pytest.skip("OCR is not installed: needs the ocr extra")
    shared = OcrEngine()
    shared.load()
    return shared


@pytest.fixture(autouse=True)
def _fresh_cache() -> None:
    ocr_module.clear_cache()


CASES = {
    "grey8": dict(font_size=16),
    "grey16-bottom-right": dict(bits=16, position="bottom-right", font_size=14),
    "colour-jpeg-baseline": dict(color=True, transfer_syntax="1.2.840.10008.1.2.4.50", font_size=18),
    "colour-rle": dict(color=True, transfer_syntax="1.2.840.10008.1.2.5", position="top-right", font_size=15),
    "cine-3-frames": dict(frames=3, frame_label=True, font_size=16),
}


def _words_left(copy: Path, engine: OcrEngine) -> list[str]:
    frames = int(pydicom.dcmread(copy, stop_before_pixels=True).get("NumberOfFrames", 1) or 1)
    text = " ".join(line.text for frame in range(frames) for line in ocr_frame(copy, frame, (), engine))
    folded = fold(text)
    return [word for word in PHI_WORDS if fold(word) in folded]


@pytest.mark.parametrize("case", list(CASES))
def test_from_ocr_likely_leaves_no_phi(tmp_path: Path, engine: OcrEngine, case: str,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    src = burned_in_text_image(tmp_path / "in" / f"{case}.dcm", LINES, patient=DEFAULT_PATIENT, **CASES[case])
    assert _words_left(src, engine), "the synthesized file must carry readable PHI to begin with"
    ocr_module.clear_cache()
    out = tmp_path / "out"
    code = main(["redact", str(src), "--from-ocr", "likely", "--out", str(out), "--reviewer", "t"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    copy = out / src.name
    ocr_module.clear_cache()
    assert _words_left(copy, engine) == []
    record = read_manifest(out)[-1]
    assert record["pixels"]["boxes"] and record["pixels"]["frames"] == list(range(1, CASES[case].get("frames", 1) + 1))
    if "jpeg" in case:
        assert pydicom.dcmread(copy).file_meta.TransferSyntaxUID == "1.2.840.10008.1.2.4.50"


def test_verify_reports_text_left_inside_a_box_that_missed(tmp_path: Path, engine: OcrEngine) -> None:
    src = burned_in_text_image(tmp_path / "us.dcm", LINES, patient=DEFAULT_PATIENT, font_size=16)
    # a box over the wrong corner leaves the text; verify says so, outside the box
    wrong = [Box(400, 400, 500, 500)]
    copy = write_copy(src, tmp_path / "c.dcm", pixel_edit=Redaction(wrong)).copy
    check = verify_copy(copy, wrong, original=src, engine=engine)
    assert check.clean and check.phi_left  # nothing inside the box, but PHI left elsewhere
    # a box whose blackout we undo in the copy: verify finds the text inside it
    lines = ocr_frame(src, 0, (), engine)
    box = Box(*lines[0].box)
    check = verify_copy(src, [box], original=src, engine=engine)
    assert not check.clean


@pytest.mark.parametrize("name", ["examples_rgb_color.dcm", "examples_ybr_color.dcm", "CT_small.dcm"])
def test_bundled_copies_have_no_text_inside_boxes(tmp_path: Path, engine: OcrEngine, name: str) -> None:
    src = Path(get_testdata_file(name))
    ds = pydicom.dcmread(src, stop_before_pixels=True)
    box = Box(0, 0, int(ds.Columns) // 2, int(ds.Rows) // 3)
    copy = write_copy(src, tmp_path / "c.dcm", pixel_edit=Redaction([box], [0])).copy
    assert verify_copy(copy, [box], [0], engine=engine).clean
