"""A blacked-out box is black: in the copy's stored values AND once decoded for display.

Native YBR_FULL_422 used to be relabelled RGB with the box filled (0,128,128)
(teal). JPEG boxes were blanked to DC 0, a flat mid-grey (2048 on a 12-bit
file whose pixels reach 264). Now a YBR box is Y = 0, Cb = Cr = 128 in the
original's own colour space, and a JPEG box's DC decodes to the frame's
darkest level (the brightest for MONOCHROME1), with every AC coefficient zero.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.data import get_testdata_file
from pydicom.encaps import generate_frames

from phi_review.core.remedy.jpeg_dct import dct_coefficients
from phi_review.core.remedy.output import write_copy
from phi_review.core.remedy.redact import Box, Redaction

SECRET = b"boxes-black-test"


def _pixels(path: Path) -> np.ndarray:
    ds = pydicom.dcmread(path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        array = ds.pixel_array
    return array if int(ds.get("NumberOfFrames", 1) or 1) > 1 else array[None]


@pytest.mark.parametrize("box", [Box(10, 12, 30, 40), Box(11, 12, 31, 40)], ids=["even-edges", "odd-edges"])
def test_native_ybr_full_422_box_is_black_and_stays_ybr(tmp_path: Path, box: Box) -> None:
    src = Path(get_testdata_file("SC_ybr_full_422_uncompressed.dcm"))
    result = write_copy(src, tmp_path / "c.dcm", pixel_edit=Redaction([box], secret=SECRET))
    copy = pydicom.dcmread(result.copy)
    assert copy.PhotometricInterpretation == "YBR_FULL_422"  # its own colour space, no second conversion
    rows, cols = int(copy.Rows), int(copy.Columns)
    pairs = np.frombuffer(copy.PixelData, dtype=np.uint8)[: rows * cols * 2].reshape(rows, cols // 2, 4)
    x0, x1 = box.x0 // 2, -(-box.x1 // 2)  # the pixel pairs the box touches share their chroma
    inside = pairs[box.y0:box.y1, x0:x1]
    assert (inside[..., 0:2] == 0).all()  # Y0, Y1 at the darkest
    assert (inside[..., 2:4] == 128).all()  # Cb, Cr neutral
    shown = _pixels(result.copy)[0]  # as a viewer shows it (pydicom converts to RGB)
    assert int(shown[box.y0:box.y1, box.x0:box.x1].max()) <= 1  # black, not teal
    before = _pixels(src)[0]
    outside = np.ones((rows, cols), dtype=bool)
    outside[box.y0:box.y1, 2 * x0: 2 * x1] = False
    assert np.array_equal(before[outside], shown[outside])
    raw_before = np.frombuffer(pydicom.dcmread(src).PixelData, dtype=np.uint8)[: rows * cols * 2].reshape(rows, cols // 2, 4)
    keep = np.ones((rows, cols // 2), dtype=bool)
    keep[box.y0:box.y1, x0:x1] = False
    assert np.array_equal(raw_before[keep], pairs[keep])  # every other stored byte as it was


def test_jpeg_12bit_box_is_the_darkest_level_not_mid_grey(tmp_path: Path) -> None:
    src = Path(get_testdata_file("JPGExtended.dcm"))
    before = _pixels(src)[0]
    box = Box(40, 300, 120, 420)
    result = write_copy(src, tmp_path / "c.dcm", pixel_edit=Redaction([box], secret=SECRET))
    after = _pixels(result.copy)[0]
    inside = after[box.y0:box.y1, box.x0:box.x1].astype(int)
    assert int(inside.max()) <= int(before.min()) + 2, (int(inside.max()), int(before.min()))
    assert int(inside.max()) < int(before.max())  # never brighter than the image (the tester saw 2048 > 264)
    frame = next(generate_frames(pydicom.dcmread(result.copy).PixelData, number_of_frames=1))
    first = next(generate_frames(pydicom.dcmread(src).PixelData, number_of_frames=1))
    changed = [b for a, b in zip(dct_coefficients(first), dct_coefficients(frame)) if a != b]
    assert changed and all(block[1:] == (0,) * 63 for block in changed)  # AC zero: flat


def test_jpeg_monochrome1_box_is_the_brightest_stored_level(tmp_path: Path) -> None:
    """MONOCHROME1 shows its highest value as black: the box's DC goes up, not down."""
    ds = pydicom.dcmread(get_testdata_file("JPGExtended.dcm"))
    ds.PhotometricInterpretation = "MONOCHROME1"
    src = tmp_path / "mono1.dcm"
    ds.save_as(src)
    before = _pixels(src)[0]
    box = Box(40, 300, 120, 420)
    after = _pixels(write_copy(src, tmp_path / "c.dcm", pixel_edit=Redaction([box], secret=SECRET)).copy)[0]
    inside = after[box.y0:box.y1, box.x0:box.x1].astype(int)
    assert int(inside.min()) >= int(before.max()) - 2, (int(inside.min()), int(before.max()))


@pytest.mark.parametrize("name", ["SC_rgb_jpeg_dcmtk.dcm", "SC_rgb_dcmtk_+eb+cy+np.dcm", "SC_rgb_jpeg.dcm"])
def test_jpeg_colour_box_is_dark_and_neutral(tmp_path: Path, name: str) -> None:
    src = Path(get_testdata_file(name))
    before = _pixels(src)[0].astype(float)
    luma = before @ np.array([0.299, 0.587, 0.114])
    box = Box(16, 16, 48, 48)  # whole MCUs: no chroma bleeding from a neighbour
    after = _pixels(write_copy(src, tmp_path / "c.dcm", pixel_edit=Redaction([box], secret=SECRET)).copy)[0]
    inside = after[box.y0 + 2:box.y1 - 2, box.x0 + 2:box.x1 - 2].astype(int)
    assert int(inside.max()) <= float(luma.min()) + 6, (int(inside.max()), float(luma.min()))
    assert int(np.ptp(inside, axis=-1).max()) <= 6  # grey, not tinted


def test_jpeg_multiframe_each_chosen_frame_is_dark(tmp_path: Path) -> None:
    src = Path(get_testdata_file("examples_ybr_color.dcm"))
    box = Box(32, 32, 96, 64)
    after = _pixels(write_copy(src, tmp_path / "c.dcm", pixel_edit=Redaction([box], [0, 7], secret=SECRET)).copy)
    before = _pixels(src)
    for index in (0, 7):
        luma = before[index].astype(float) @ np.array([0.299, 0.587, 0.114])
        inside = after[index][box.y0 + 2:box.y1 - 2, box.x0 + 2:box.x1 - 2].astype(int)
        assert int(inside.max()) <= float(luma.min()) + 8, (index, int(inside.max()), float(luma.min()))
    assert np.array_equal(before[1], after[1])
