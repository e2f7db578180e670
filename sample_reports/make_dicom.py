"""Synthesize DICOM files for the demo and the tests: burned-in text, cine loops, hostile headers.

Every name, ID and date here is invented; no real patient data is ever used.
Pixels are drawn with Pillow onto a plausible ultrasound-like background
(radial gradient, speckle, an ellipse of "anatomy") so OCR and the reviewer's
eye face something closer to a real image than a blank square.

Defaults are stable: the demo tree and the review-screen snapshots are built
from these functions, so a call with default arguments must keep producing
the same pixels. New looks are opt-in keyword arguments.

Compression (``transfer_syntax``): RLE Lossless and JPEG 2000 (lossless and
lossy) through pydicom's own encoders (``Dataset.compress``; RLE has a pure
numpy encoder, JPEG 2000 needs pylibjpeg-openjpeg), JPEG-LS when pyjpegls is
installed, and JPEG Baseline (8-bit only) encoded here with Pillow because
pydicom has no JPEG encoder. A syntax with no available encoder, or one that
cannot hold the pixels (16-bit in JPEG Baseline), falls back to uncompressed
Explicit VR Little Endian: demo data must always build. ``can_encode`` says
beforehand which syntax will really be used.
"""

from __future__ import annotations

import datetime as _dt
import io
from collections.abc import Mapping, Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import (
    UID,
    ExplicitVRLittleEndian,
    JPEG2000,
    JPEGBaseline8Bit,
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
# Short names for the DejaVu families; "default" is Pillow's bundled font (always there).
_FAMILIES = {
    "mono": ("DejaVuSansMono.ttf", "DejaVuSansMono-Bold.ttf"),
    "sans": ("DejaVuSans.ttf", "DejaVuSans-Bold.ttf"),
    "serif": ("DejaVuSerif.ttf", "DejaVuSerif-Bold.ttf"),
}
POSITIONS = ("top-left", "top-center", "top-right", "center", "bottom-left", "bottom-center", "bottom-right")


def _find_font_file(name: str) -> Path | None:
    for folder in _FONT_DIRS:
        candidate = folder / name
        if candidate.is_file():
            return candidate
    return None


@lru_cache(maxsize=1)
def system_fonts() -> tuple[Path, ...]:
    """Every TrueType font under /usr/share/fonts (possibly none: tests must not need them)."""
    root = Path("/usr/share/fonts")
    if not root.is_dir():
        return ()
    return tuple(sorted(p for p in root.rglob("*.ttf") if p.is_file()))


def available_fonts() -> list[str]:
    """Font names ``font`` accepts on this machine: "default" always, DejaVu families when installed."""
    names = ["default"]
    names += [family for family, (regular, _bold) in _FAMILIES.items() if _find_font_file(regular)]
    return names


def font(size: int, bold: bool = False, name: str | None = None) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    """A font of ``size`` pixels.

    ``name``: None or "mono" (DejaVu Sans Mono, the historical default), "sans",
    "serif", "default" (Pillow's bundled font), or a path to a .ttf file. A
    missing TTF falls back to Pillow's bundled font, so callers work on a bare
    machine.
    """
    if name and name not in _FAMILIES and name != "default":
        path = Path(name)
        if path.is_file():
            return ImageFont.truetype(str(path), size)
    elif name != "default":
        regular, heavy = _FAMILIES[name or "mono"]
        candidate = _find_font_file(heavy if bold else regular)
        if candidate is not None:
            return ImageFont.truetype(str(candidate), size)
    return ImageFont.load_default(size=size)


def background(size: tuple[int, int], seed: int = 0, shift: int = 0) -> np.ndarray:
    """A dark sector with speckle and an ellipse: looks like an ultrasound frame (float, 0..~255)."""
    width, height = size
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    cx, cy = width / 2 + shift, height * 0.55
    radial = np.clip(1 - np.hypot((x - cx) / (width * 0.45), (y - cy) / (height * 0.5)), 0, 1)
    speckle = rng.gamma(2.0, 0.5, size=(height, width)).astype(np.float32)
    organ = ((x - cx) / (width * 0.18)) ** 2 + ((y - cy) / (height * 0.12)) ** 2 < 1
    image = 90 * radial * speckle + 40 * organ
    return np.clip(image, 0, 255)


def _draw_text(image: Image.Image, lines: Sequence[str], position: str | tuple[int, int], font_size: int,
               fill: object, bold: bool = True, font_name: str | None = None) -> None:
    draw = ImageDraw.Draw(image)
    face = font(font_size, bold=bold, name=font_name)
    margin = max(4, font_size // 2)
    line_height = int(font_size * 1.35)
    block_height = line_height * len(lines)
    width, height = image.size
    if isinstance(position, tuple):
        x, top = position
    else:
        x = None
        if position.startswith("top"):
            top = margin
        elif position == "center":
            top = (height - block_height) // 2
        else:
            top = height - margin - block_height
    for i, line in enumerate(lines):
        text_width = draw.textlength(line, font=face)
        if x is not None:
            left = x
        else:
            left = margin if position.endswith("left") else int(width - margin - text_width)
            if position.endswith("center"):
                left = int((width - text_width) / 2)
        draw.text((left, top + i * line_height), line, font=face, fill=fill)


def render_text_frame(
    lines: Sequence[str],
    *,
    size: tuple[int, int] = (512, 512),
    color: bool = False,
    position: str | tuple[int, int] = "top-left",
    font_size: int = 16,
    contrast: float = 1.0,
    seed: int = 0,
    shift: int = 0,
    bold: bool = True,
    font_name: str | None = None,
    dark_text: bool = False,
) -> np.ndarray:
    """One 8-bit frame with text burned in: (H, W) grey or (H, W, 3) RGB.

    ``contrast`` 1.0 draws white text; lower values bring the text level down
    towards the background (0.3 is hard to read). ``dark_text`` draws dark
    text on a light background (a scanned form, a report page), the polarity
    OCR models are trained on, the opposite of most burned-in annotations.
    ``position`` is one of ``POSITIONS`` or an (x, y) pixel origin.
    """
    base = background(size, seed=seed, shift=shift)
    level = int(np.clip(80 + 175 * contrast, 0, 255))
    if dark_text:
        base = 255 - 0.6 * base
        level = 255 - level
    if color:
        rgb = np.stack([base, base * 0.9, base * 0.8], axis=-1).astype(np.uint8)
        image = Image.fromarray(rgb, "RGB")
        ink: object = (level, level, int(level * 0.3)) if not dark_text else (int(level * 0.3), level // 2, level)
        _draw_text(image, lines, position, font_size, ink, bold, font_name)
    else:
        image = Image.fromarray(base.astype(np.uint8), "L")
        _draw_text(image, lines, position, font_size, level, bold, font_name)
    return np.asarray(image)


def _dataset(patient: Mapping[str, str], modality: str, sop_class: str) -> Dataset:
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
    """Uncompressed pixel data; 16-bit applies to grey only (12 bits stored, as CT/MR/DR store it)."""
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


def can_encode(transfer_syntax: str, bits: int = 8) -> bool:
    """Whether ``burned_in_text_image`` will really write ``transfer_syntax`` (else it falls back)."""
    uid = UID(transfer_syntax)
    if not uid.is_compressed:
        return uid == ExplicitVRLittleEndian
    if uid == JPEGBaseline8Bit:
        return bits == 8
    from pydicom.pixels import get_encoder

    try:
        return bool(get_encoder(uid).is_available)
    except NotImplementedError:
        return False


def _encode_jpeg_baseline(ds: Dataset, frames: list[np.ndarray], quality: int = 92) -> None:
    """JPEG Baseline with Pillow, one fragment per frame: what most ultrasound carts write."""
    from pydicom.encaps import encapsulate

    fragments = []
    for frame in frames:
        buffer = io.BytesIO()
        mode = "RGB" if frame.ndim == 3 else "L"
        # subsampling=1 is 4:2:2, which DICOM calls YBR_FULL_422 for colour.
        Image.fromarray(frame.astype(np.uint8), mode).save(buffer, "JPEG", quality=quality, subsampling=1)
        fragments.append(buffer.getvalue())
    ds.PixelData = encapsulate(fragments)
    ds["PixelData"].VR = "OB"
    ds["PixelData"].is_undefined_length = True
    if frames[0].ndim == 3:
        ds.PhotometricInterpretation = "YBR_FULL_422"
    ds.file_meta.TransferSyntaxUID = JPEGBaseline8Bit
    _mark_lossy(ds, "ISO_10918_1")


def _mark_lossy(ds: Dataset, method: str) -> None:
    ds.LossyImageCompression = "01"
    ds.LossyImageCompressionMethod = method


def _compress(ds: Dataset, frames: list[np.ndarray], bits: int, transfer_syntax: str) -> None:
    uid = UID(transfer_syntax)
    if not can_encode(uid, bits if frames[0].ndim == 2 else 8) or uid == ExplicitVRLittleEndian:
        return  # documented fallback: uncompressed Explicit VR Little Endian
    if uid == JPEGBaseline8Bit:
        _encode_jpeg_baseline(ds, frames)
        return
    options: dict[str, object] = {}
    if uid == JPEG2000:
        options["j2k_cr"] = [15]  # lossy: about 15:1
    ds.compress(uid, **options)
    if uid == JPEG2000:
        _mark_lossy(ds, "ISO_15444_1")


def burned_in_text_image(
    path: str | Path,
    lines: Sequence[str],
    *,
    size: tuple[int, int] = (512, 512),
    bits: int = 8,
    color: bool = False,
    position: str | tuple[int, int] = "top-left",
    font_size: int = 16,
    contrast: float = 1.0,
    modality: str = "US",
    patient: Mapping[str, str] | None = None,
    frames: int = 1,
    transfer_syntax: str | None = None,
    font_name: str | None = None,
    bold: bool = True,
    dark_text: bool = False,
    frame_label: bool = False,
) -> Path:
    """Write a DICOM file whose pixels carry ``lines`` of text; returns its path.

    ``size`` is (width, height). ``bits`` 16 stores grey frames as 12 bits in
    16-bit words (colour stays 8-bit). ``patient`` overrides any header keyword
    (PatientName, PatientID, ... and also e.g. RecognizableVisualFeatures).
    ``frame_label`` adds "FRAME n/N" so each frame of a cine loop differs in text.
    ``transfer_syntax``: see the module docstring (falls back to uncompressed
    when there is no encoder; check with ``can_encode``).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if frames > 1:
        sop = UltrasoundMultiFrameImageStorage
    else:
        sop = UltrasoundImageStorage if modality == "US" else SecondaryCaptureImageStorage
    ds = _dataset(patient or {}, modality, sop)
    images = [
        render_text_frame(
            [*lines, f"FRAME {n + 1}/{frames}"] if frame_label else lines,
            size=size, color=color, position=position, font_size=font_size, contrast=contrast,
            seed=n, shift=(n * 3) % 20, bold=bold, font_name=font_name, dark_text=dark_text,
        )
        for n in range(frames)
    ]
    _set_pixels(ds, images, bits)
    if transfer_syntax:
        _compress(ds, images, bits, transfer_syntax)
    ds.save_as(path, enforce_file_format=True)
    return path


def multiframe_file(path: str | Path, frames: int = 12, patient: Mapping[str, str] | None = None,
                    **kwargs: object) -> Path:
    """A cine loop with the patient's name and the date burned into every frame."""
    who = {**DEFAULT_PATIENT, **(patient or {})}
    lines = [who["PatientName"].replace("^", " "), "31-JAN-2024 10:42", "CARDIAC 4CH"]
    return burned_in_text_image(path, lines, frames=frames, patient=who, **kwargs)  # type: ignore[arg-type]


# PatientName alone carries every hostile kind: OSC 52 clipboard write, SGR colour,
# Rich markup, NUL, CR and the 8-bit CSI (\x9b). The other two fields add a
# screen clear, a Rich link and a window-title OSC.
HOSTILE_NAME = "EVIL\x1b]52;c;ZXZpbA==\x07^[bold red]markup[/]\x1b[31mRED\x00\r\x9b"
HOSTILE_INSTITUTION = "\x1b[2J\x1b[HCLEARED [link=http://x]click[/link]"
HOSTILE_DESCRIPTION = "line1\rline2\x1b]0;title\x07"


def hostile_header_file(path: str | Path) -> Path:
    """A file whose header tries to drive the terminal (OSC 52, ANSI, Rich markup, NUL, CR, CSI)."""
    path = Path(path)
    burned_in_text_image(path, ["SAFE"], size=(64, 64), modality="OT")
    from pydicom import dcmread

    ds = dcmread(path)
    ds.PatientName = HOSTILE_NAME
    ds.InstitutionName = HOSTILE_INSTITUTION
    ds.StudyDescription = HOSTILE_DESCRIPTION
    ds.save_as(path, enforce_file_format=True)
    return path


def large_multiframe_file(path: str | Path, frames: int = 600, size: int = 512, marker: bool = True) -> Path:
    """An uncompressed 16-bit multi-frame file (600 x 512 x 512 is 315 MB) for memory and speed checks.

    Frame n holds the value n everywhere (the last pixel holds 7), so a test can
    tell which frame it got without decoding the others.
    """
    from pydicom.uid import MultiFrameGrayscaleWordSecondaryCaptureImageStorage

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    ds = _dataset({"PatientName": "SYNTHETIC^LARGE"}, "OT", MultiFrameGrayscaleWordSecondaryCaptureImageStorage)
    ds.Rows = ds.Columns = size
    ds.NumberOfFrames = frames
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 0
    pixels = np.broadcast_to(np.arange(frames, dtype=np.uint16)[:, None, None], (frames, size, size)).copy()
    if marker:
        pixels[:, -1, -1] = 7
    ds.PixelData = pixels.tobytes()
    del pixels
    ds.save_as(path, enforce_file_format=True)
    return path
