"""Synthesize a folder tree laid out the way the EDRN validator expects, with known findings planted.

``validate-dicom-files`` (jpl-labcas-validation) walks
``<collection>/<site>/<7-digit event>/<series>/*.dcm`` and takes the site and
event from the path (``_files.py``: the folder before the first 7-digit
folder is the site). It only reports files whose SOP class gives a profile
(CT, MR, PET, secondary capture, segmentation); ultrasound, MG, DX... are
silently skipped, so every file here is CT or secondary capture.

Everything is invented ("DOE^JANE", "MRN: 7212121"); no real patient data.
The manifest says what the validator should report for each file, so a test
can compare the CSV rows against it.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import warnings

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

from PIL import Image, ImageDraw

from phi_review.sample_reports.make_dicom import font

COLLECTION = "SYNTH_Collection"
SITE = "Images_Site_SYNTHa1"
SITE_B = "Images_Site_SYNTHb2"
CT_IMAGE = "1.2.840.10008.5.1.4.1.1.2"
SC_IMAGE = "1.2.840.10008.5.1.4.1.1.7"
SC_MULTIFRAME_BYTE = "1.2.840.10008.5.1.4.1.1.7.2"

# The validator's frame sampling (phi_pii_recognizers/_simple_scoring.py, _extract_frames):
# more than 8 frames -> frames 0, n//4, 2*(n//4), 3*(n//4); 8 or fewer -> frames 0..3 only.
LONG_FRAMES = 30
LONG_SAMPLED_FRAME = 21      # 3 * (30 // 4): sampled, reported as frame index 3
LONG_UNSAMPLED_FRAME = 15    # never looked at by the validator
SHORT_FRAMES = 6
SHORT_SAMPLED_FRAME = 2      # reported as frame index 2
SHORT_UNSAMPLED_FRAME = 5    # past the first four: never looked at


def _uid(*parts: str) -> str:
    """Deterministic UIDs, so two runs of the synthesizer give the same files."""
    return generate_uid(entropy_srcs=["phi-review-validator-tree", *parts])


def _base(name: str, sop_class: str, modality: str = "CT", frames: list[np.ndarray] | None = None,
          size: int = 128) -> Dataset:
    """A dataset that passes every required-tag check of the validator's CT and SC profiles."""
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = sop_class
    meta.MediaStorageSOPInstanceUID = _uid(name, "sop")
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.StudyInstanceUID = _uid(name, "study")
    ds.SeriesInstanceUID = _uid(name, "series")
    ds.FrameOfReferenceUID = _uid(name, "for")
    ds.Modality = modality
    ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]
    ds.SeriesDescription = "SYNTHETIC SERIES"
    ds.SeriesNumber = 1
    ds.InstanceNumber = 1
    ds.Manufacturer = "SYNTHETIC VENDOR"
    ds.ManufacturerModelName = "MODEL X"
    ds.SoftwareVersions = "1.0"
    ds.StudyDate = ds.ContentDate = ds.AcquisitionDate = "20240131"
    ds.AcquisitionTime = ds.ContentTime = "104200"
    ds.SliceThickness = "1.5"
    ds.PixelSpacing = ["0.5", "0.5"]
    ds.ImagePositionPatient = ["0", "0", "0"]
    ds.ImageOrientationPatient = ["1", "0", "0", "0", "1", "0"]
    ds.PatientName = "ANONYMOUS"
    ds.PatientID = "ANON0001"
    if frames is None:
        rng = np.random.default_rng(len(name))
        frames = [rng.integers(0, 4000, size=(size, size), dtype=np.uint16)]
        ds.BitsAllocated, ds.BitsStored, ds.HighBit = 16, 12, 11
        stack = np.stack(frames).astype(np.uint16)
    else:
        ds.BitsAllocated, ds.BitsStored, ds.HighBit = 8, 8, 7
        stack = np.stack(frames).astype(np.uint8)
    ds.WindowCenter, ds.WindowWidth = "128", "256"
    ds.Rows, ds.Columns = frames[0].shape
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.PixelRepresentation = 0
    if len(frames) > 1:
        ds.NumberOfFrames = len(frames)
    ds.PixelData = stack.tobytes()
    return ds


def _text_frames(count: int, texts: Mapping[int, str], size: int = 384) -> list[np.ndarray]:
    """``count`` dark frames; frame k carries ``texts[k]`` as large white text tesseract can read."""
    frames = []
    for k in range(count):
        # A flat dark background: tesseract (what the validator runs) reads nothing on speckle.
        image = Image.new("L", (size, size), 16 + k % 8)
        if k in texts:
            ImageDraw.Draw(image).text((24, size // 2 - 20), texts[k], font=font(32, bold=True), fill=240)
        frames.append(np.asarray(image))
    return frames


def _save(ds: Dataset, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    ds.save_as(path, enforce_file_format=True)
    return path


def make_validator_tree(root: Path) -> dict[str, Any]:
    """Write the tree under ``root`` and return its manifest.

    Manifest: ``{"collection": Path, "files": {relative path: entry}}``; an
    entry has ``site``, ``event``, ``name``, ``frames`` and the expected rows:
    ``header`` / ``missing`` / ``warning`` (lists of "(gggg,eeee)" tags),
    ``pixels`` (list of {"frame", "text", "sampled"}: file frame, text drawn,
    whether the validator looks at that frame), ``error`` (bool),
    ``by_release`` (``--version`` -> {kind: tags} replacing the lists above where
    a release differs; "0.0.0" is the pre-1.0 source snapshot, which has no
    optional tags, so no warnings but for letter case) and ``not_reported``
    (planted problems the validator is known to miss). ``expected(entry,
    version, kind)`` reads it.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pydicom warns on the badly formatted values: they are the point
        return _build(Path(root))


def _build(root: Path) -> dict[str, Any]:
    collection = Path(root) / COLLECTION
    files: dict[str, dict[str, Any]] = {}

    def add(ds: Dataset, site: str, event: str, series: str, name: str, **expect: Any) -> None:
        rel = Path(site) / event / series / name
        _save(ds, collection / rel)
        entry = {"site": site, "event": event, "name": name,
                 "frames": int(getattr(ds, "NumberOfFrames", 1) or 1),
                 "header": [], "missing": [], "warning": [], "pixels": [], "error": False, "by_release": {},
                 "not_reported": []}
        entry.update(expect)
        files[rel.as_posix()] = entry

    # 1. Header PHI: names, an SSN-shaped ID, a date of birth in free text (with a comma in the value).
    ds = _base("header1", CT_IMAGE)
    ds.PatientName = "DOE^JANE"
    ds.PatientID = "000-12-3456"
    ds.PatientComments = "DOB: 02/03/1971, seen by Dr Roe"
    ds.ReferringPhysicianName = "ROE^RICHARD"
    ds.InstitutionName = "SYNTHETIC GENERAL HOSPITAL"  # suppressed by the validator, never reported
    add(ds, SITE, "1000001", "series1", "header_phi.dcm",
        header=["(0010,0010)", "(0010,0020)", "(0010,4000)", "(0008,0090)"])

    # 2. The same file name in another event, other PHI.
    ds = _base("header2", CT_IMAGE)
    ds.PatientName = "POE^MARY"
    ds.OperatorsName = "LOE^ALEX"
    add(ds, SITE, "1000003", "series1", "header_phi.dcm", header=["(0010,0010)", "(0008,1070)"])

    # 3. Required tags missing, empty, badly formatted; wrong letter case (warnings).
    ds = _base("badtags", CT_IMAGE)
    del ds.FrameOfReferenceUID                   # tag missing
    ds.Manufacturer = ""                         # value missing
    ds.StudyDate = "2024-01-31"                  # bad format
    ds.InstanceNumber = "0"                      # not a positive integer
    ds.Modality = "ct"                           # right code, wrong case -> warning
    ds.ImageType = ["original", "PRIMARY"]       # lowercase: the validator's warning branch is dead code
    add(ds, SITE, "1000001", "series2", "bad_tags.dcm",
        missing=["(0020,0052)", "(0008,0070)", "(0008,0020)", "(0020,0013)"],
        warning=["(0008,0060)"], not_reported=["(0008,0008)"])

    # 4. Long cine (30 frames): text on a sampled late frame and on a frame the validator skips.
    frames = _text_frames(LONG_FRAMES, {LONG_SAMPLED_FRAME: "MRN: 7212121", LONG_UNSAMPLED_FRAME: "MRN: 7151515"})
    ds = _base("longcine", SC_MULTIFRAME_BYTE, modality="OT", frames=frames)
    add(ds, SITE, "1000002", "series1", "long_cine.dcm", pixels=[
        {"frame": LONG_SAMPLED_FRAME, "text": "MRN: 7212121", "sampled": True},
        {"frame": LONG_UNSAMPLED_FRAME, "text": "MRN: 7151515", "sampled": False},
    ])

    # 5. Short cine (6 frames): only frames 0..3 are looked at.
    frames = _text_frames(SHORT_FRAMES, {SHORT_SAMPLED_FRAME: "MRN: 7020202", SHORT_UNSAMPLED_FRAME: "MRN: 7050505"})
    ds = _base("shortcine", SC_MULTIFRAME_BYTE, modality="OT", frames=frames)
    add(ds, SITE, "1000002", "series1", "short_cine.dcm", pixels=[
        {"frame": SHORT_SAMPLED_FRAME, "text": "MRN: 7020202", "sampled": True},
        {"frame": SHORT_UNSAMPLED_FRAME, "text": "MRN: 7050505", "sampled": False},
    ])

    # 6. Single-frame secondary capture with a burned-in date of birth (frame 0, printed -1 by the
    #    default multi-process mode). FrameOfReferenceUID is optional for SC -> a warning, not missing.
    #    WindowWidth absent: a required SC tag only since release 1.0.1.
    frames = _text_frames(1, {0: "DOB: 03/04/1969"}, size=512)
    ds = _base("single", SC_IMAGE, modality="OT", frames=frames)
    #    ImageType absent: optional for SC, so a warning whose text wrongly names ImageOrientationPatient.
    del ds.FrameOfReferenceUID
    del ds.WindowWidth
    del ds.ImageType
    add(ds, SITE_B, "2000001", "series1", "single_burned.dcm",
        pixels=[{"frame": 0, "text": "DOB: 03/04/1969", "sampled": True}],
        warning=["(0020,0052)", "(0008,0008)"],
        by_release={"1.0.1": {"missing": ["(0028,1051)"]},
                    "0.0.0": {"missing": ["(0028,1051)", "(0020,0052)", "(0008,0008)"], "warning": []}})

    # 7. A CT localizer: spatial tags are optional there, so their problems are warnings whose
    #    default-mode text names the tag by keyword only ("PixelSpacing tag is missing").
    ds = _base("localizer", CT_IMAGE)
    ds.ImageType = ["ORIGINAL", "PRIMARY", "LOCALIZER"]
    del ds.PixelSpacing
    del ds.ImageOrientationPatient
    ds.SliceThickness = "-1.5"
    ds.SoftwareVersions = ""
    add(ds, SITE_B, "2000002", "series1", "localizer.dcm",
        warning=["(0028,0030)", "(0020,0037)", "(0018,0050)", "(0018,1020)"],
        by_release={"0.0.0": {"missing": ["(0028,0030)", "(0020,0037)", "(0018,0050)", "(0018,1020)"],
                              "warning": []}})

    # 8. A CT too small to be real (< 15 KiB): the validator writes an error row.
    ds = _base("tiny", CT_IMAGE, size=16)
    add(ds, SITE_B, "2000001", "series2", "tiny.dcm", error=True,
        by_release={"0.0.0": {"error": False}})  # the size check came with 1.0

    return {"collection": collection, "files": files}


def expected(entry: Mapping[str, Any], version: str, kind: str) -> set[str]:
    """The tags of ``kind`` ("header", "missing", "warning") the validator ``version`` reports for a file."""
    return set(entry["by_release"].get(version, {}).get(kind, entry[kind]))


if __name__ == "__main__":
    import json
    import sys

    out = make_validator_tree(Path(sys.argv[1] if len(sys.argv) > 1 else "validator_tree"))
    print(json.dumps({**out, "collection": str(out["collection"])}, indent=1))
