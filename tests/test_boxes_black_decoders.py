"""Other decoders show the JPEG box black too: DCMTK's dcmdjpeg (IJG) and Pillow, not only pydicom's pylibjpeg.

The dark patch may need DC differences an optimised Huffman table lacks; the
table is then defined again before the scan with the missing sizes added as new
codes. A decoder that ignored the redefinition, or choked on it, would show a
broken image: these tests decode with two independent decoders.
"""

from __future__ import annotations

import io
import shutil
import subprocess
import warnings
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.data import get_testdata_file
from pydicom.encaps import generate_frames

from phi_review.core.remedy.output import write_copy
from phi_review.core.remedy.redact import Box, Redaction

BOX = Box(16, 16, 48, 48)


def _dcmtk_pixels(path: Path, tmp: Path) -> np.ndarray:
    out = tmp / f"{path.stem}.raw.dcm"
    run = subprocess.run(["dcmdjpeg", str(path), str(out)], capture_output=True, timeout=60)
    assert run.returncode == 0, run.stderr[-300:]
    ds = pydicom.dcmread(out)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return ds.pixel_array


@pytest.mark.skipif(shutil.which("dcmdjpeg") is None, reason="DCMTK is not installed")
@pytest.mark.parametrize("name", ["JPGExtended.dcm", "SC_rgb_jpeg_dcmtk.dcm", "SC_rgb_dcmtk_+eb+cy+np.dcm"])
def test_dcmtk_decodes_a_dark_box_and_the_rest_unchanged(tmp_path: Path, name: str) -> None:
    src = Path(get_testdata_file(name))
    result = write_copy(src, tmp_path / "c.dcm", pixel_edit=Redaction([BOX], secret=b"t"))
    before, after = _dcmtk_pixels(src, tmp_path), _dcmtk_pixels(result.copy, tmp_path)
    inside = after[BOX.y0 + 2:BOX.y1 - 2, BOX.x0 + 2:BOX.x1 - 2].astype(float)
    darkest = before.astype(float) if before.ndim == 2 else before.astype(float) @ [0.299, 0.587, 0.114]
    assert inside.max() <= darkest.min() + 8, (inside.max(), darkest.min())
    mw, mh = result.pixels["mcu"]
    outside = np.ones(before.shape[:2], dtype=bool)
    outside[max(0, BOX.y0 - mh):BOX.y1 + mh, max(0, BOX.x0 - mw):BOX.x1 + mw] = False
    assert np.array_equal(before[outside], after[outside])


@pytest.mark.parametrize("name", ["SC_rgb_jpeg_dcmtk.dcm", "SC_rgb_dcmtk_+eb+cy+np.dcm", "examples_ybr_color.dcm"])
def test_pillow_decodes_a_dark_box(tmp_path: Path, name: str) -> None:
    from PIL import Image

    src = Path(get_testdata_file(name))
    result = write_copy(src, tmp_path / "c.dcm", pixel_edit=Redaction([BOX], [0], secret=b"t"))
    ds = pydicom.dcmread(result.copy)
    count = int(ds.get("NumberOfFrames", 1) or 1)
    fragment = next(generate_frames(ds.PixelData, number_of_frames=count))
    image = np.asarray(Image.open(io.BytesIO(fragment)).convert("L")).astype(float)
    inside = image[BOX.y0 + 2:BOX.y1 - 2, BOX.x0 + 2:BOX.x1 - 2]
    assert inside.max() <= image.min() + 8, (inside.max(), image.min())
