"""What OCR reads, and from which picture: frames that the display window or a speckle blob used to hide.

Each case was a miss on frames made by the benchmark's generator, not by the
tests' corpus: a secondary capture whose small text drowned in the stretched
noise of the percentile window, an ultrasound sector detected as one big
"text" box that swallowed the lines beside it, and a line too long for one
pass of the recognizer.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from phi_review.core.ocr import detect, recognize
from phi_review.core.ocr import engine as ocr_module
from phi_review.core.ocr.engine import OcrEngine, has_own_window, ocr_frame, ocr_frame_every_view
from phi_review.core.ocr.models import ocr_available

FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
MONO = FONT.with_name("DejaVuSansMono.ttf")
CAPTURE = ["Name: OKONKWO^AIKO", "Patient ID: 116-545-78", "DOB: 10-05-1961", "Study Date: 1933-09-01"]


@pytest.fixture(scope="module")
def engine() -> OcrEngine:
    pytest.importorskip("onnxruntime")
    if not ocr_available():
        pytest.skip("OCR is not installed: needs the ocr extra")
    if not FONT.is_file():
        pytest.skip("DejaVu fonts not installed: apt-get install fonts-dejavu-core")
    shared = OcrEngine(threads=1)
    shared.load()
    return shared


@pytest.fixture(autouse=True)
def _fresh_cache():
    ocr_module.clear_cache()


def _draw(image: np.ndarray, lines: list[str], size: int, value: int, x: int = 7, y: int = 8,
          face: Path = FONT) -> np.ndarray:
    canvas = Image.fromarray(image)
    draw = ImageDraw.Draw(canvas)
    font = ImageFont.truetype(str(face), size)
    for n, line in enumerate(lines):
        draw.text((x, y + n * (int(size * 1.45) + 1)), line, font=font, fill=value)
    return np.asarray(canvas)


def _write(path: Path, image: np.ndarray, window: tuple[int, int] | None = None) -> Path:
    from pydicom import Dataset
    from pydicom.dataset import FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, SecondaryCaptureImageStorage, generate_uid

    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = SecondaryCaptureImageStorage
    ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.SOPClassUID, ds.SOPInstanceUID = SecondaryCaptureImageStorage, ds.file_meta.MediaStorageSOPInstanceUID
    ds.Modality, ds.PatientName = "OT", "SYNTHETIC^VIEWS"
    ds.Rows, ds.Columns = image.shape
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    bits = 16 if image.dtype == np.uint16 else 8
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = bits, bits, bits - 1, 0
    if window:
        ds.WindowCenter, ds.WindowWidth = window
    ds.PixelData = np.ascontiguousarray(image).tobytes()
    ds.save_as(path, enforce_file_format=True)
    return path


def _words(lines) -> list[str]:
    return [word for line in lines for word in line.text.split()]


def test_small_text_on_a_flat_noisy_capture_is_read(engine, tmp_path):
    """No window in the file: the percentile window stretched sigma-5 noise over all 256 greys and the
    text (under 0.5% of the pixels) was lost; every line of it is read from the full range."""
    rng = np.random.default_rng(34)
    background = np.clip(48 + rng.normal(0, 5, (600, 800)), 0, 255).astype(np.uint8)
    path = _write(tmp_path / "capture.dcm", _draw(background, CAPTURE, 12, 230))
    assert not has_own_window(path)
    found = _words(ocr_frame(path, 0, engine=engine))
    wanted = [word for line in CAPTURE for word in line.split()]
    assert sum(word in found for word in wanted) >= len(wanted) - 1, found
    from phi_review.core.dicom.pixels import render_frame

    shown = render_frame(path, 0, preset="file")  # the reviewer's default picture of the same frame
    assert np.std(shown[300:, 300:]) > 4 * np.std(render_frame(path, 0, preset="full")[300:, 300:])


def test_text_beside_an_ultrasound_sector_is_not_swallowed_by_it(engine):
    """Full-range speckle reads as one big text region; its box once grew over the lines beside it, and the
    lines themselves (10-px mono at half scale) show only as a haze of faint probability in a block."""
    rng = np.random.default_rng(73)
    height, width = 720, 960
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    angle = np.arctan2(xx - width / 2, yy - height * 0.12 + 1e-3)
    radius = np.hypot(xx - width / 2, yy - height * 0.12)
    sector = (np.abs(angle) < 0.6) & (radius > height * 0.05) & (radius < height * 0.85)
    speckle = rng.rayleigh(0.25, (height, width)).astype(np.float32)
    image = (np.clip(np.where(sector, speckle * 0.9, 0.0), 0, 1) * 255).astype(np.uint8)
    lines = ["VANDERMEER TOMASZ", "ID: 342366", "1941-03-15 17:17:56", "RT TRV"]
    image = _draw(image, lines, 10, 220, x=6, y=6, face=MONO)
    rgb = np.ascontiguousarray(np.stack([image] * 3, axis=-1))
    plain = detect.boxes_from_map(detect._probability(engine._load()[0], rgb, detect.det_scale(height, width)),
                                  height, width)
    assert len(plain) == 1  # the sector only: the case this test is about
    found = engine.read_text(image)
    words = _words(found)
    assert {"VANDERMEER", "TOMASZ", "342366", "1941-03-15"} <= set(words), [line.text for line in found]
    assert all(line.box[3] - line.box[1] < 60 for line in found if set(line.text.split()) & set(words[:2]))


def test_a_window_of_its_own_is_read_too_for_the_proof(engine, tmp_path):
    """Text burned in at a value meant to be seen under the file's window: a hot pixel squeezes it to a
    few greys over the full range, so the proof reads the windowed picture as well."""
    rng = np.random.default_rng(5)
    body = np.clip(1000 + rng.normal(0, 6, (512, 512)), 0, 65535).astype(np.uint16)
    body[0, 0] = 65535
    image = _draw(body.astype(np.int32), ["WINDOWED^PATIENT", "ID 55501234"], 18, 1120).astype(np.uint16)
    path = _write(tmp_path / "windowed.dcm", image, window=(1060, 200))
    assert has_own_window(path)
    full_only = _words(ocr_frame(path, 0, engine=engine))
    every = _words(ocr_frame_every_view(path, 0, engine=engine))
    assert "55501234" not in full_only  # the case is hard for the full range ...
    assert "55501234" in every and "WINDOWED^PATIENT" in every  # ... and the windowed read finds it


def test_a_small_line_inside_a_blob_box_is_not_a_repeat_of_it():
    blob = detect.Box(0, 0, 900, 700, 0.8)
    line = detect.Box(10, 10, 200, 30, 0.9)
    assert not detect._near_any(line, [blob])
    assert detect._near_any(detect.Box(12, 11, 198, 31, 0.9), [line])


def test_a_blob_grows_by_at_most_max_unclip():
    prob = np.zeros((400, 400), np.float32)
    prob[100:300, 80:330] = 0.9
    (box,) = detect.boxes_from_map(prob, 400, 400)
    assert box.x0 >= 80 - detect.MAX_UNCLIP - 1 and box.y0 >= 100 - detect.MAX_UNCLIP - 1
    assert box.x1 <= 332 + detect.MAX_UNCLIP + 1 and box.y1 <= 302 + detect.MAX_UNCLIP + 1


class _Recording:
    def __init__(self, session) -> None:
        self.session, self.widths = session, []

    def get_inputs(self):
        return self.session.get_inputs()

    def run(self, outputs, feeds):
        self.widths.append(next(iter(feeds.values())).shape[3])
        return self.session.run(outputs, feeds)


def test_a_line_too_long_for_one_pass_is_read_in_parts(engine, monkeypatch):
    monkeypatch.setattr(recognize, "MAX_WIDTH", 400)
    text = "Name: KOWALCZYK^TOMASZ ID: 58201934 DOB: 1962-04-17"
    image = _draw(np.full((60, 900), 20, np.uint8), [text], 16, 235, x=10, y=20)
    rgb = np.ascontiguousarray(np.stack([image] * 3, axis=-1))
    det, rec, characters = engine._load()
    boxes = detect.detect(det, rgb)
    recording = _Recording(rec)
    reads = recognize.recognize(recording, characters, rgb, boxes)
    assert max(recording.widths) <= 400 + recognize.MIN_WIDTH and len(recording.widths) >= 3
    from phi_review.core.ocr.words import spaced

    grey = image
    words = []
    for read in reads:
        box = read.box
        line, _ = spaced(read.chars, read.xs, read.probs, read.space_probs, grey[box.y0:box.y1, box.x0:box.x1],
                         (box.x0, box.y0))
        words += line.split()
    assert {"KOWALCZYK^TOMASZ", "58201934", "1962-04-17"} <= set(words), words


def test_two_engines_in_one_process_share_the_runtime_memory(engine):
    """The arena is registered once per process; a second engine (the scan's, the screen's) still reads."""
    other = OcrEngine(threads=1)
    image = _draw(np.full((80, 400), 10, np.uint8), ["ID 4455667788"], 20, 240)
    assert "4455667788" in _words(other.read_text(image))
    assert "4455667788" in _words(engine.read_text(image))
