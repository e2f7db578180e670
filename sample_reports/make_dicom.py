"""Synthesize DICOM files for the demo and the tests: burned-in text, cine loops, hostile headers.

Every name, ID and date here is invented. Pixels are drawn with Pillow onto a
plausible ultrasound-like background so OCR and the reviewer's eye face
something closer to a real image than a blank square.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import (
    ExplicitVRLittleEndian,
    SecondaryCaptureImageStorage,
    UltrasoundImageStorage,
    UltrasoundMultiFrameImageStorage,
    generate_uid,
)

DEFAULT_PATIENT: Mapping[str, str] = {
    "PatientName": "DOE^JANE",
    "PatientID": "MRN-0042-7781",
    "PatientBirthDate": "19620314",
    "StudyDate": "20240131",
    "AccessionNumber": "ACC20240131-17",
    "InstitutionName": "MERCY GENERAL HOSPITAL",
}

_FONT_DIRS = (Path("/usr/share/fonts/truetype/dejavu"), Path("/usr/share/fonts/dejavu"))


def font(size: int, bold: bool = False) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    """DejaVu when the machine has it, else Pillow's bundled font at that size."""
    name = "DejaVuSansMono-Bold.ttf" if bold else "DejaVuSansMono.ttf"
    for folder in _FONT_DIRS:
        candidate = folder / name
        if candidate.is_file():
            return ImageFont.truetype(str(candidate), size)
    return ImageFont.load_default(size=size)


def background(size: tuple[int, int], seed: int = 0, shift: int = 0) -> np.ndarray:
    """A dark sector with speckle and an ellipse: looks like an ultrasound frame."""
    width, height = size
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    cx, cy = width / 2 + shift, height * 0.55
    radial = np.clip(1 - np.hypot((x - cx) / (width * 0.45), (y - cy) / (height * 0.5)), 0, 1)
    speckle = rng.gamma(2.0, 0.5, size=(height, width)).astype(np.float32)
    organ = ((x - cx) / (width * 0.18)) ** 2 + ((y - cy) / (height * 0.12)) ** 2 < 1
    image = 90 * radial * speckle + 40 * organ
    return np.clip(image, 0, 255)


def _draw_text(image: Image.Image, lines: Sequence[str], position: str, font_size: int, fill: object,
               bold: bool = True) -> None:
    draw = ImageDraw.Draw(image)
    face = font(font_size, bold=bold)
    margin = max(4, font_size // 2)
    line_height = int(font_size * 1.35)
    block_height = line_height * len(lines)
    width, height = image.size
    top = margin if position.startswith("top") else height - margin - block_height
    for i, line in enumerate(lines):
        text_width = draw.textlength(line, font=face)
        left = margin if position.endswith("left") else int(width - margin - text_width)
        if position.endswith("center"):
            left = int((width - text_width) / 2)
        draw.text((left, top + i * line_height), line, font=face, fill=fill)


def render_text_frame(
    lines: Sequence[str],
    *,
    size: tuple[int, int] = (512, 512),
    color: bool = False,
    position: str = "top-left",
    font_size: int = 16,
    contrast: float = 1.0,
    seed: int = 0,
    shift: int = 0,
    bold: bool = True,
) -> np.ndarray:
    """One 8-bit frame with text burned in: (H, W) grey or (H, W, 3) RGB."""
    base = background(size, seed=seed, shift=shift)
    level = int(np.clip(80 + 175 * contrast, 0, 255))
    if color:
        rgb = np.stack([base, base * 0.9, base * 0.8], axis=-1).astype(np.uint8)
        image = Image.fromarray(rgb, "RGB")
        _draw_text(image, lines, position, font_size, (level, level, int(level * 0.3)), bold)
    else:
        image = Image.fromarray(base.astype(np.uint8), "L")
        _draw_text(image, lines, position, font_size, level, bold)
    return np.asarray(image)


def _dataset(path: Path, patient: Mapping[str, str], modality: str, sop_class: str) -> Dataset:
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = sop_class
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.StudyInstanceUID = generate_uid()
    ds.SeriesInstanceUID = generate_uid()
    ds.Modality = modality
    ds.ImageType = ["ORIGINAL", "PRIMARY"]
    ds.BurnedInAnnotation = "YES"
    ds.StudyTime = "104200"
    ds.SeriesNumber = 1
    ds.InstanceNumber = 1
    ds.StudyDescription = "SYNTHETIC DEMO STUDY"
    ds.Manufacturer = "PHI-REVIEW SYNTHETIC"
    ds.ContentDate = _dt.date(2024, 1, 31).strftime("%Y%m%d")
    for keyword, value in {**DEFAULT_PATIENT, **patient}.items():
        setattr(ds, keyword, value)
    return ds


def _set_pixels(ds: Dataset, frames: list[np.ndarray], bits: int) -> None:
    first = frames[0]
    rgb = first.ndim == 3
    stack = np.stack(frames)
    if bits == 16 and not rgb:
        stack = (stack.astype(np.uint16) * 257) >> 4  # 12-bit data in 16-bit words
        ds.BitsAllocated, ds.BitsStored, ds.HighBit = 16, 12, 11
        ds.WindowCenter, ds.WindowWidth = 2048, 4096
    else:
        stack = stack.astype(np.uint8)
        ds.BitsAllocated, ds.BitsStored, ds.HighBit = 8, 8, 7
    ds.Rows, ds.Columns = first.shape[:2]
    ds.SamplesPerPixel = 3 if rgb else 1
    ds.PhotometricInterpretation = "RGB" if rgb else "MONOCHROME2"
    if rgb:
        ds.PlanarConfiguration = 0
    ds.PixelRepresentation = 0
    if len(frames) > 1:
        ds.NumberOfFrames = len(frames)
        ds.FrameTime = 33.3
    ds.PixelData = stack.tobytes()


def burned_in_text_image(
    path: str | Path,
    lines: Sequence[str],
    *,
    size: tuple[int, int] = (512, 512),
    bits: int = 8,
    color: bool = False,
    position: str = "top-left",
    font_size: int = 16,
    contrast: float = 1.0,
    modality: str = "US",
    patient: Mapping[str, str] | None = None,
    frames: int = 1,
    transfer_syntax: str | None = None,
) -> Path:
    """Write a DICOM file whose pixels carry ``lines`` of text; returns its path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if frames > 1:
        sop = UltrasoundMultiFrameImageStorage
    else:
        sop = UltrasoundImageStorage if modality == "US" else SecondaryCaptureImageStorage
    ds = _dataset(path, patient or {}, modality, sop)
    images = [
        render_text_frame(lines, size=size, color=color, position=position, font_size=font_size,
                          contrast=contrast, seed=n, shift=(n * 3) % 20)
        for n in range(frames)
    ]
    _set_pixels(ds, images, bits)
    if transfer_syntax:
        ds.compress(transfer_syntax)
    ds.save_as(path, enforce_file_format=True)
    return path


def multiframe_file(path: str | Path, frames: int = 12, patient: Mapping[str, str] | None = None,
                    **kwargs: object) -> Path:
    """A cine loop with the patient's name and the date burned into every frame."""
    who = {**DEFAULT_PATIENT, **(patient or {})}
    lines = [who["PatientName"].replace("^", " "), "31-JAN-2024 10:42", "CARDIAC 4CH"]
    return burned_in_text_image(path, lines, frames=frames, patient=who, **kwargs)  # type: ignore[arg-type]


HOSTILE_NAME = "EVIL\x1b]52;c;ZXZpbA==\x07^[bold red]markup[/]\x1b[31mRED\x00\r\x9b"


def hostile_header_file(path: str | Path) -> Path:
    """A file whose header tries to drive the terminal (OSC 52, ANSI, Rich markup, NUL, CR, CSI)."""
    path = Path(path)
    burned_in_text_image(path, ["SAFE"], size=(64, 64), modality="OT")
    from pydicom import dcmread

    ds = dcmread(path)
    ds.PatientName = HOSTILE_NAME
    ds.InstitutionName = "\x1b[2J\x1b[HCLEARED [link=http://x]click[/link]"
    ds.StudyDescription = "line1\rline2\x1b]0;title\x07"
    ds.save_as(path, enforce_file_format=True)
    return path
