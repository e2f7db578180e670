"""A small LabCAS-shaped tree for the scan tests: sites, events, and every case the validator misses.

Collection/Images_Site_A/1234567/...  and  Images_Site_B/7654321/...; the same
file name in two places; an 8-frame file with text on frame 7 only (the
validator reads frames 1-4), ultrasound, multi-frame RGB, 16-bit, a small
file, a clean file, a damaged file and a loose file outside any site. All
names and dates are invented.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pydicom
from pydicom.uid import MRImageStorage

from phi_review.sample_reports.make_dicom import burned_in_text_image

PATIENT = {"PatientName": "DOE^JANE", "PatientID": "MRN-0042-7781", "PatientBirthDate": "19620314"}
SIZE = (320, 96)
TEXT_FRAME = 6  # 0-based: the seventh of eight frames, never read by the validator


def _as_mr(path: Path) -> None:
    """Make a synthesized file an MR image with ORIGINAL\\PRIMARY type: no default rule fires on it."""
    ds = pydicom.dcmread(path)
    ds.SOPClassUID = ds.file_meta.MediaStorageSOPClassUID = MRImageStorage
    ds.Modality, ds.ImageType = "MR", ["ORIGINAL", "PRIMARY"]
    ds.save_as(path, enforce_file_format=True)


def text_on_one_frame(path: Path, frames: int = 8, text_frame: int = TEXT_FRAME) -> Path:
    """An MR file of ``frames`` identical blank frames but one, which carries the patient's name."""
    burned_in_text_image(path, ["DOE JANE"], size=SIZE, font_size=28, modality="OT", patient=PATIENT)
    blank = path.with_name("blank.tmp")
    burned_in_text_image(blank, [], size=SIZE, modality="OT", patient=PATIENT)
    text, empty = pydicom.dcmread(path).pixel_array, pydicom.dcmread(blank).pixel_array
    blank.unlink()
    stack = np.stack([text if n == text_frame else empty for n in range(frames)])
    ds = pydicom.dcmread(path)
    ds.NumberOfFrames = frames
    ds.PixelData = stack.tobytes()
    ds.save_as(path, enforce_file_format=True)
    _as_mr(path)
    return path


def build_tree(root: Path) -> Path:
    """The collection folder (``root/Collection``) with every case; returns it."""
    coll = root / "Collection"
    a, b = coll / "Images_Site_A" / "1234567", coll / "Images_Site_B" / "7654321"
    text_on_one_frame(a / "series1" / "cine.dcm")
    burned_in_text_image(a / "series1" / "same.dcm", [], size=SIZE, modality="OT", patient=PATIENT)
    _as_mr(a / "series1" / "same.dcm")
    burned_in_text_image(b / "same.dcm", [], size=SIZE, modality="OT", patient=PATIENT)
    _as_mr(b / "same.dcm")
    burned_in_text_image(coll / "Images_Site_A" / "2345678" / "us.dcm", ["DOE JANE"], size=SIZE, font_size=28,
                         modality="US", patient=PATIENT)
    burned_in_text_image(b / "rgb.dcm", ["14/03/1962"], size=SIZE, font_size=28, color=True, frames=2,
                         modality="OT", patient=PATIENT)
    burned_in_text_image(b / "deep.dcm", ["DOE JANE"], size=SIZE, font_size=28, bits=16, modality="OT",
                         patient=PATIENT)
    _as_mr(b / "deep.dcm")
    small = burned_in_text_image(b / "small.dcm", [], size=(32, 32), modality="OT", patient=PATIENT)
    _as_mr(small)
    damaged = burned_in_text_image(b / "damaged.dcm", [], size=SIZE, modality="OT", patient=PATIENT)
    damaged.write_bytes(damaged.read_bytes()[:-5000])
    burned_in_text_image(coll / "loose.dcm", [], size=(32, 32), modality="OT", patient={"PatientName": "ANON"})
    (coll / "Images_Site_A" / "1234567" / "DICOMDIR").write_bytes(b"ignored as the validator ignores it")
    return coll
