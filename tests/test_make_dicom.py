"""The synthesized demo/test DICOM files read back with pydicom, and compressed ones decode."""

from __future__ import annotations

import numpy as np
import pydicom
import pytest
from pydicom.uid import (
    JPEG2000,
    ExplicitVRLittleEndian,
    JPEG2000Lossless,
    JPEGBaseline8Bit,
    JPEGLSLossless,
    RLELossless,
)

import phi_review.sample_reports.make_dicom as make_dicom
from phi_review.core.dicom.pixels import image_info, render_frame
from phi_review.sample_reports.make_dicom import (
    DEFAULT_PATIENT,
    HOSTILE_NAME,
    POSITIONS,
    available_fonts,
    burned_in_text_image,
    can_encode,
    font,
    hostile_header_file,
    multiframe_file,
    render_text_frame,
)

LOSSLESS = (RLELossless, JPEG2000Lossless)


def _text_bbox(image: np.ndarray, seed: int = 0, **kwargs: object) -> tuple[int, int, int, int]:
    """Where drawing changed the frame: (x0, y0, x1, y1)."""
    plain = render_text_frame([], seed=seed, **kwargs)  # type: ignore[arg-type]
    diff = np.abs(image.astype(int) - plain.astype(int))
    if diff.ndim == 3:
        diff = diff.max(axis=2)
    ys, xs = np.nonzero(diff)
    return int(xs.min()), int(ys.min()), int(xs.max()), int(ys.max())


def test_header_is_realistic_and_invented(tmp_path):
    path = burned_in_text_image(tmp_path / "a.dcm", ["DOE JANE"])
    ds = pydicom.dcmread(path)
    assert str(ds.PatientName) == "DOE^JANE" == DEFAULT_PATIENT["PatientName"]
    for keyword in ("PatientID", "PatientBirthDate", "StudyDate", "AccessionNumber", "InstitutionName"):
        assert str(ds[keyword].value) == DEFAULT_PATIENT[keyword]
    assert ds.BurnedInAnnotation == "YES" and list(ds.ImageType) == ["ORIGINAL", "PRIMARY"]
    assert ds.Modality == "US" and ds.file_meta.TransferSyntaxUID == ExplicitVRLittleEndian
    assert ds.SOPInstanceUID == ds.file_meta.MediaStorageSOPInstanceUID
    assert ds.pixel_array.shape == (512, 512) and ds.pixel_array.dtype == np.uint8


def test_patient_overrides_any_keyword(tmp_path):
    path = burned_in_text_image(tmp_path / "b.dcm", ["X1"], modality="OT",
                                patient={"PatientName": "ROE^RICHARD", "RecognizableVisualFeatures": "YES"})
    ds = pydicom.dcmread(path)
    assert str(ds.PatientName) == "ROE^RICHARD" and ds.RecognizableVisualFeatures == "YES"
    assert ds.Modality == "OT" and ds.SOPClassUID.name == "Secondary Capture Image Storage"


@pytest.mark.parametrize("color", [False, True])
@pytest.mark.parametrize("bits", [8, 16])
def test_grey_colour_8_and_16_bit(tmp_path, color, bits):
    path = burned_in_text_image(tmp_path / "c.dcm", ["DOE JANE"], size=(320, 200), bits=bits, color=color)
    ds = pydicom.dcmread(path)
    array = ds.pixel_array
    if color:
        assert array.shape == (200, 320, 3) and ds.PhotometricInterpretation == "RGB"
        assert ds.BitsAllocated == 8  # colour stays 8-bit
    else:
        assert array.shape == (200, 320) and ds.PhotometricInterpretation == "MONOCHROME2"
        assert ds.BitsAllocated == bits
        if bits == 16:
            assert ds.BitsStored == 12 and array.max() <= 4095 and array.max() > 255
    image = render_frame(path, 0)
    assert image.dtype == np.uint8 and image.shape[:2] == (200, 320)


def test_multiframe_file(tmp_path):
    path = multiframe_file(tmp_path / "cine.dcm", frames=12)
    ds = pydicom.dcmread(path)
    assert ds.NumberOfFrames == 12 and ds.pixel_array.shape == (12, 512, 512)
    assert ds.SOPClassUID.name == "Ultrasound Multi-frame Image Storage"
    assert not np.array_equal(ds.pixel_array[0], ds.pixel_array[11])  # the speckle moves
    assert image_info(path).frames == 12


def test_frame_label_makes_each_frame_differ_in_text(tmp_path):
    path = burned_in_text_image(tmp_path / "l.dcm", ["A B C"], frames=3, frame_label=True)
    plain = burned_in_text_image(tmp_path / "p.dcm", ["A B C"], frames=3)
    labelled, unlabelled = pydicom.dcmread(path).pixel_array, pydicom.dcmread(plain).pixel_array
    for n in range(3):
        assert not np.array_equal(labelled[n], unlabelled[n])


@pytest.mark.parametrize("syntax", [RLELossless, JPEG2000Lossless, JPEG2000, JPEGBaseline8Bit])
@pytest.mark.parametrize("color", [False, True])
def test_compressed_files_decode(tmp_path, syntax, color):
    if not can_encode(syntax):
        pytest.skip(f"no encoder for {syntax.name} here")
    reference = burned_in_text_image(tmp_path / "raw.dcm", ["DOE JANE", "31/01/2024"], color=color, frames=2)
    path = burned_in_text_image(tmp_path / "z.dcm", ["DOE JANE", "31/01/2024"], color=color, frames=2,
                                transfer_syntax=syntax)
    ds = pydicom.dcmread(path)
    assert ds.file_meta.TransferSyntaxUID == syntax
    assert path.stat().st_size < reference.stat().st_size
    expected = pydicom.dcmread(reference).pixel_array.astype(int)
    decoded = ds.pixel_array
    if color and syntax == JPEGBaseline8Bit:
        assert ds.PhotometricInterpretation == "YBR_FULL_422"  # pydicom hands back RGB
    assert decoded.shape == expected.shape
    if syntax in LOSSLESS:
        assert np.array_equal(decoded, expected)
    else:
        assert ds.LossyImageCompression == "01"
        assert np.abs(decoded.astype(int) - expected).mean() < 8
    for frame in (0, 1):
        assert render_frame(path, frame).shape[:2] == (512, 512)


def test_sixteen_bit_compressed_lossless(tmp_path):
    reference = burned_in_text_image(tmp_path / "raw.dcm", ["DOE JANE"], bits=16)
    for syntax in LOSSLESS:
        path = burned_in_text_image(tmp_path / f"{syntax.name[:3]}.dcm", ["DOE JANE"], bits=16, transfer_syntax=syntax)
        ds = pydicom.dcmread(path)
        assert ds.file_meta.TransferSyntaxUID == syntax
        assert np.array_equal(ds.pixel_array, pydicom.dcmread(reference).pixel_array)


def test_a_syntax_without_encoder_falls_back_to_uncompressed(tmp_path):
    assert not can_encode(JPEGBaseline8Bit, bits=16)  # Baseline holds 8-bit samples only
    path = burned_in_text_image(tmp_path / "f.dcm", ["X1"], bits=16, transfer_syntax=JPEGBaseline8Bit)
    assert pydicom.dcmread(path).file_meta.TransferSyntaxUID == ExplicitVRLittleEndian
    if not can_encode(JPEGLSLossless):
        path = burned_in_text_image(tmp_path / "g.dcm", ["X1"], transfer_syntax=JPEGLSLossless)
        assert pydicom.dcmread(path).file_meta.TransferSyntaxUID == ExplicitVRLittleEndian


@pytest.mark.filterwarnings("ignore:Found unknown escape sequence")
def test_hostile_header_holds_every_escape_kind(tmp_path):
    ds = pydicom.dcmread(hostile_header_file(tmp_path / "h.dcm"))
    name = str(ds.PatientName)
    assert name == HOSTILE_NAME
    for needle in ("\x1b]52;c;ZXZpbA==\x07", "\x1b[31m", "[bold red]markup[/]", "\x00", "\r", "\x9b"):
        assert needle in name
    assert "\x1b[2J" in ds.InstitutionName and "[link=" in ds.InstitutionName
    assert "\r" in ds.StudyDescription and "\x1b]0;" in ds.StudyDescription
    assert ds.pixel_array.shape == (64, 64)


@pytest.mark.parametrize("position", POSITIONS)
def test_text_lands_where_asked(position):
    image = render_text_frame(["DOE JANE"], position=position, font_size=20)
    x0, y0, x1, y1 = _text_bbox(image)
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    horizontal = "left" if cx < 200 else "right" if cx > 312 else "center"
    vertical = "top" if cy < 200 else "bottom" if cy > 312 else "center"
    expected = position.split("-") if "-" in position else ["center", "center"]
    assert [vertical, horizontal] == expected, (position, (x0, y0, x1, y1))
    x0, y0, _x1, _y1 = _text_bbox(render_text_frame(["DOE"], position=(100, 300), font_size=20))
    assert 95 <= x0 <= 110 and 295 <= y0 <= 315


def test_dark_text_on_light_background():
    image = render_text_frame(["DOE JANE"], dark_text=True, font_size=24)
    assert image.mean() > 150  # a light page
    x0, y0, x1, y1 = _text_bbox(image, dark_text=True, font_size=24)
    assert image[y0 : y1 + 1, x0 : x1 + 1].min() < 60  # with dark ink


def test_fonts_work_with_only_pillows_bundled_font(monkeypatch, tmp_path):
    assert available_fonts()[0] == "default"
    assert font(18, name="default").size == 18
    assert font(18, name=str(tmp_path / "missing.ttf")).size == 18
    monkeypatch.setattr(make_dicom, "_FONT_DIRS", ())
    assert available_fonts() == ["default"]
    for name in (None, "mono", "sans", "serif", "default"):
        image = render_text_frame(["DOE JANE"], font_name=name, font_size=18)
        assert _text_bbox(image)[2] - _text_bbox(image)[0] > 40


def test_fonts_differ_when_installed():
    fonts = available_fonts()
    if len(fonts) < 2:
        pytest.skip("only Pillow's bundled font here")
    pictures = {name: render_text_frame(["DOE JANE 1962"], font_name=name, font_size=20).tobytes() for name in fonts}
    assert len(set(pictures.values())) == len(fonts)
