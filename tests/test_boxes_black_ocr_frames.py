"""`redact --from-ocr` blacks out each frame's own text on that frame, not every frame's on all.

Before, the boxes OCR found on any frame were applied to every frame: a caption
moving through a cine loop left a trail of black boxes over anatomy. The union
stays available as ``--boxes-union``. OCR is replaced by a stub here, so the
test says exactly which frame holds which text.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, JPEGBaseline8Bit, generate_uid

from phi_review.core.ocr import engine as ocr_engine
from phi_review.core.ocr.engine import OcrResult, TextLine
from phi_review.core.remedy.output import read_manifest
from phi_review.tui.cli import main

A = (10, 10, 30, 20)  # text on frame 1
B = (40, 40, 60, 52)  # text on frame 2; frame 3 has none


def _cine(path: Path, frames: int = 3, value: int = 200) -> Path:
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.7.2"
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = meta.MediaStorageSOPClassUID
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.StudyInstanceUID, ds.SeriesInstanceUID = generate_uid(), generate_uid()
    ds.Modality = "OT"
    ds.Rows = ds.Columns = 64
    ds.NumberOfFrames = frames
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated = ds.BitsStored = 8
    ds.HighBit, ds.PixelRepresentation = 7, 0
    ds.PixelData = np.full((frames, 64, 64), value, dtype=np.uint8).tobytes()
    ds.save_as(path, enforce_file_format=True)
    return path


@pytest.fixture
def stub_ocr(monkeypatch: pytest.MonkeyPatch) -> None:
    def fake(path: object, frames: object = None, detected_value: str = "", engine: object = None) -> OcrResult:
        found = {0: [TextLine("DOE JANE", 0.9, A, likely_phi=True)],
                 1: [TextLine("MRN 0042", 0.9, B, likely_phi=True)], 2: []}
        return OcrResult(frames={f: found[f] for f in (frames or [0, 1, 2])}, frame_count=3)

    monkeypatch.setattr(ocr_engine, "ocr_file", fake)


def _dark(frame: np.ndarray, box: tuple[int, int, int, int]) -> bool:
    x0, y0, x1, y1 = box
    return bool((frame[y0:y1, x0:x1] == 0).all())


def _untouched(frame: np.ndarray, box: tuple[int, int, int, int]) -> bool:
    x0, y0, x1, y1 = box
    return bool((frame[y0 - 3:y1 + 3, x0 - 3:x1 + 3] == 200).all())  # padding included


def test_each_frame_gets_its_own_boxes(tmp_path: Path, stub_ocr: None, capsys: pytest.CaptureFixture[str]) -> None:
    src = _cine(tmp_path / "cine.dcm")
    out = tmp_path / "out"
    assert main(["redact", str(src), "--from-ocr", "likely", "--out", str(out), "--reviewer", "t"]) == 0
    frames = pydicom.dcmread(out / "cine.dcm").pixel_array
    assert _dark(frames[0], A) and _untouched(frames[0], B)
    assert _dark(frames[1], B) and _untouched(frames[1], A)
    assert (frames[2] == 200).all()  # no text read there: left alone
    record = read_manifest(out)[-1]
    assert record["pixels"]["frames"] == [1, 2]
    assert set(record["pixels"]["frame_boxes"]) == {"1", "2"}


def test_boxes_union_puts_every_box_on_every_frame(tmp_path: Path, stub_ocr: None,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    src = _cine(tmp_path / "cine.dcm")
    out = tmp_path / "out"
    assert main(["redact", str(src), "--from-ocr", "likely", "--boxes-union", "--out", str(out),
                 "--reviewer", "t"]) == 0
    frames = pydicom.dcmread(out / "cine.dcm").pixel_array
    for frame in frames:
        assert _dark(frame, A) and _dark(frame, B)


def test_boxes_union_needs_from_ocr(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = _cine(tmp_path / "cine.dcm")
    code = main(["redact", str(src), "--box", "0,0,4,4", "--boxes-union", "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert code != 0 and "--boxes-union" in err and "Traceback" not in err


def test_per_frame_boxes_on_jpeg_cine(tmp_path: Path) -> None:
    """The DCT path honours per-frame boxes too: a frame with no box keeps its bytes."""
    from pydicom.data import get_testdata_file
    from pydicom.encaps import generate_frames

    from phi_review.core.remedy.output import write_copy
    from phi_review.core.remedy.redact import Box, Redaction

    src = Path(get_testdata_file("examples_ybr_color.dcm"))
    assert pydicom.dcmread(src, stop_before_pixels=True).file_meta.TransferSyntaxUID == JPEGBaseline8Bit
    per_frame = {0: [Box(16, 16, 48, 48)], 3: [Box(160, 96, 208, 128)]}
    result = write_copy(src, tmp_path / "c.dcm", pixel_edit=Redaction([], frame_boxes=per_frame, secret=b"t"))
    assert result.pixels["frames"] == [1, 4]
    before = list(generate_frames(pydicom.dcmread(src).PixelData, number_of_frames=30))
    after = list(generate_frames(pydicom.dcmread(result.copy).PixelData, number_of_frames=30))
    changed = [i for i, (a, b) in enumerate(zip(before, after)) if a.rstrip(b"\0") != b.rstrip(b"\0")]
    assert changed == [0, 3]
    shown = pydicom.dcmread(result.copy).pixel_array
    original = pydicom.dcmread(src).pixel_array
    assert int(shown[0][18:46, 18:46].max()) <= 12  # frame 1: its own box is dark
    assert np.array_equal(shown[3][:64, :64], original[3][:64, :64])  # frame 4: frame 1's box is not applied
    assert int(shown[3][98:126, 162:206].max()) <= 12  # frame 4: its own box is dark
