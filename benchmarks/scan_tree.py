"""The tree ``benchmarks/scan.py`` times: burned-in names, IDs and dates the tests do not use, and clean files.

Fonts, sizes, positions and words differ from ``tests/scan_tree.py``. Cases:
plain MR/secondary-capture frames (what the validator reads; three on a flat
background with MRN/DOB/SSN, which its patterns and tesseract can find), text on a frame
the validator never samples (it reads frames 1-4 of <= 8, or 4 spread over
more), ultrasound (it skips the SOP class), multi-frame RGB, 16-bit, dark text
on light, low contrast, and a small file (< 15 KiB: an error row for it).
All names, IDs and dates are invented.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pydicom
from pydicom.uid import MRImageStorage

from PIL import Image, ImageDraw

from phi_review.sample_reports.make_dicom import burned_in_text_image, font

SC_MULTIFRAME_TRUE_COLOR = "1.2.840.10008.5.1.4.1.1.7.4"
SIZE = (384, 128)


def _patient(n: int) -> dict[str, str]:
    """Header PHI differing per file: both tools should flag it."""
    names = ["SMITH^JOHN", "ROE^RICHARD", "GARCIA^MARIA", "LEE^KIM", "NGUYEN^ANH", "OKAFOR^ADA"]
    return {"PatientName": names[n % len(names)], "PatientID": f"MRN{7310000 + 37 * n}",
            "PatientBirthDate": f"19{50 + n % 40:02d}{1 + n % 12:02d}{10 + n % 18:02d}"}


def _retype(path: Path, sop: str = MRImageStorage, modality: str = "MR") -> None:
    """Give a synthesized file a SOP class the validator has a profile for, ORIGINAL\\PRIMARY (no rule fires)."""
    ds = pydicom.dcmread(path)
    ds.SOPClassUID = ds.file_meta.MediaStorageSOPClassUID = sop
    ds.Modality, ds.ImageType = modality, ["ORIGINAL", "PRIMARY"]
    ds.save_as(path, enforce_file_format=True)


def _flat(path: Path, line: str, face: str, patient: dict[str, str]) -> None:
    """An MR frame of white text on a flat dark background (tesseract reads nothing on speckle)."""
    burned_in_text_image(path, [], size=SIZE, modality="OT", patient=patient)
    image = Image.new("L", SIZE, 16)
    ImageDraw.Draw(image).text((20, SIZE[1] // 2 - 18), line, font=font(30, bold=True, name=face), fill=235)
    ds = pydicom.dcmread(path)
    ds.PixelData = np.asarray(image).tobytes()
    ds.save_as(path, enforce_file_format=True)
    _retype(path)


def _one_frame_text(path: Path, frames: int, text_frame: int, lines: list[str], **kw: Any) -> None:
    """An MR cine of identical blank frames but ``text_frame``, which carries ``lines``."""
    burned_in_text_image(path, lines, **kw)
    blank = path.with_name(path.name + ".blank")
    plain = {k: v for k, v in kw.items() if k not in ("font_size", "font_name", "position")}
    burned_in_text_image(blank, [], **plain)
    text, empty = pydicom.dcmread(path).pixel_array, pydicom.dcmread(blank).pixel_array
    blank.unlink()
    ds = pydicom.dcmread(path)
    ds.NumberOfFrames = frames
    ds.PixelData = np.stack([text if n == text_frame else empty for n in range(frames)]).tobytes()
    ds.save_as(path, enforce_file_format=True)
    _retype(path)


def build(root: Path) -> dict[str, Any]:
    """Write ``root/Collection``; returns {"collection": Path, "files": {name: entry}} (names are unique).

    An entry: ``words`` (planted words, [] for a clean file), ``frames``,
    ``sampled`` (whether the validator looks at a frame with the text and at
    the file at all), ``why`` (the case).
    """
    coll = Path(root) / "Collection"
    a, b, c = (coll / "Images_Site_BenchA" / "3141592" / "s1", coll / "Images_Site_BenchB" / "2718281" / "s2",
               coll / "Images_Site_BenchA" / "1618033" / "s3")
    files: dict[str, dict[str, Any]] = {}

    def add(name: str, words: list[str], why: str, frames: int = 1, sampled: bool = True) -> None:
        files[name] = {"words": words, "why": why, "frames": frames, "sampled": sampled}

    n = iter(range(100))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # Single frames the validator reads (MR), fonts and places the tests do not use.
        for name, lines, kw in [
            ("name_sans.dcm", ["SMITH JOHN"], dict(font_name="sans", font_size=24, position="top-left")),
            ("id_serif.dcm", ["MRN 55123987"], dict(font_name="serif", font_size=30, position="bottom-right")),
            ("date_mono.dcm", ["1971-08-22"], dict(font_name="mono", font_size=20, position="top-right")),
            ("two_lines.dcm", ["ROE RICHARD", "DOB 02/11/1958"], dict(font_name="sans", font_size=22,
                                                                       position="center")),
            ("dark_text.dcm", ["PATIENT OKAFOR"], dict(font_name="serif", font_size=26, dark_text=True)),
            ("low_contrast.dcm", ["ACC 99812 NGUYEN"], dict(font_name="mono", font_size=24, contrast=0.55,
                                                             position="bottom-left")),
        ]:
            burned_in_text_image(a / name, lines, size=SIZE, modality="OT", patient=_patient(next(n)), **kw)
            _retype(a / name)
            add(name, " ".join(lines).split(), "single MR frame")
        # Flat dark background, the words the validator's patterns know (MRN, DOB, SSN): what it can find.
        for name, line, face in [("flat_mrn.dcm", "MRN 88120456", "sans"), ("flat_dob.dcm", "DOB 11/30/1961", "mono"),
                                 ("flat_ssn.dcm", "SSN 123-45-6789", "serif")]:
            _flat(a / name, line, face, _patient(next(n)))
            add(name, line.split(), "flat background, validator pattern")
        # Cines: text on a frame the validator skips (two) and on one it samples.
        _one_frame_text(b / "cine10_f8.dcm", 10, 7, ["LEE KIM"], size=SIZE, font_size=26, font_name="sans",
                        modality="OT", patient=_patient(next(n)))
        add("cine10_f8.dcm", ["LEE", "KIM"], "frame 8 of 10 (validator: 1,3,5,7)", 10, False)
        _one_frame_text(b / "cine6_f6.dcm", 6, 5, ["1983.04.17"], size=SIZE, font_size=28, font_name="serif",
                        modality="OT", patient=_patient(next(n)))
        add("cine6_f6.dcm", ["1983.04.17"], "frame 6 of 6 (validator: 1-4)", 6, False)
        _one_frame_text(b / "cine12_f4.dcm", 12, 3, ["GARCIA MARIA"], size=SIZE, font_size=26, font_name="mono",
                        modality="OT", patient=_patient(next(n)))
        add("cine12_f4.dcm", ["GARCIA", "MARIA"], "frame 4 of 12 (sampled)", 12, True)
        # Ultrasound: the validator has no profile for it.
        burned_in_text_image(c / "us_name.dcm", ["ADA OKAFOR"], size=SIZE, font_size=24, font_name="sans",
                             modality="US", patient=_patient(next(n)))
        add("us_name.dcm", ["ADA", "OKAFOR"], "ultrasound", sampled=False)
        burned_in_text_image(c / "us_id.dcm", ["ID 4471-22"], size=SIZE, font_size=30, font_name="serif",
                             position="top-center", modality="US", patient=_patient(next(n)))
        add("us_id.dcm", ["ID", "4471-22"], "ultrasound", sampled=False)
        # Colour: multi-frame (secondary capture true colour) and a single frame.
        burned_in_text_image(c / "rgb_multi.dcm", ["12.05.1980"], size=SIZE, font_size=26, font_name="mono",
                             color=True, frames=2, modality="OT", patient=_patient(next(n)))
        _retype(c / "rgb_multi.dcm", SC_MULTIFRAME_TRUE_COLOR, "OT")
        add("rgb_multi.dcm", ["12.05.1980"], "RGB, 2 frames", 2)
        burned_in_text_image(c / "rgb_single.dcm", ["KIM LEE 1990"], size=SIZE, font_size=22, font_name="sans",
                             color=True, modality="OT", patient=_patient(next(n)))
        _retype(c / "rgb_single.dcm")
        add("rgb_single.dcm", ["KIM", "LEE", "1990"], "RGB single frame")
        # 16-bit (12 stored): the validator converts without the window.
        for name, lines, kw in [("deep_name.dcm", ["NGUYEN ANH"], dict(font_name="serif", font_size=26)),
                                ("deep_date.dcm", ["07/09/1966"], dict(font_name="mono", font_size=24,
                                                                       position="bottom-center"))]:
            burned_in_text_image(b / name, lines, size=SIZE, bits=16, modality="OT", patient=_patient(next(n)), **kw)
            _retype(b / name)
            add(name, " ".join(lines).split(), "16-bit")
        # Small files (< 15 KiB): the validator writes an error row and reads no pixels.
        burned_in_text_image(a / "small_name.dcm", ["DOE J"], size=(160, 48), font_size=18, font_name="sans",
                             modality="OT", patient=_patient(next(n)))
        _retype(a / "small_name.dcm")
        add("small_name.dcm", ["DOE"], "small file", sampled=False)
        burned_in_text_image(a / "small_date.dcm", ["3/3/75"], size=(128, 48), font_size=20, font_name="mono",
                             modality="OT", patient=_patient(next(n)))
        _retype(a / "small_date.dcm")
        add("small_date.dcm", ["3/3/75"], "small file", sampled=False)
        # Clean files: header PHI only, no text in the pixels.
        for name, kw in [("clean_mr.dcm", {}), ("clean_cine.dcm", dict(frames=4)), ("clean_rgb.dcm", dict(color=True)),
                         ("clean_us.dcm", dict(modality="US"))]:
            kw.setdefault("modality", "OT")
            burned_in_text_image(c / name, [], size=SIZE, patient=_patient(next(n)), **kw)
            if name == "clean_mr.dcm" or name == "clean_cine.dcm":
                _retype(c / name)
            add(name, [], "clean", int(kw.get("frames", 1)))
        for path in coll.rglob("*.dcm"):
            _undeclared(path)
    return {"collection": coll, "files": files}


def _undeclared(path: Path) -> None:
    """BurnedInAnnotation NO, as most real files say: only reading the pixels can find the text."""
    ds = pydicom.dcmread(path)
    ds.BurnedInAnnotation = "NO"
    ds.save_as(path, enforce_file_format=True)
