"""An OCR evaluation set drawn afresh from a seed, in styles the tests' corpus does not use.

Why a second set: the engine's thresholds were chosen while looking at
``tests/ocr_corpus.py``; a score on frames it was tuned to says little. This set
differs on purpose: other fonts (DejaVu and Liberation, 9-20 px, Sans, Mono,
Serif, Condensed, bold), real annotation layouts (an ultrasound sector with
speckle and a header band, a secondary capture of ``Label: value`` rows, CT
corner annotations burned into 16-bit data), frames of 512 to 1024 px, grey,
16-bit and RGB, over noise. Every word is invented from the seed. Five frames
carry no text at all (flat, noise, speckle, anatomy): anything read there is
invented.

``frames(seed)`` returns ``Frame(name, image, lines)``; ``lines`` are the exact
lines drawn, words separated by single spaces. Benchmarks pick a seed that
development did not use (``benchmarks/ocr.py`` defaults to 2026).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

FONT_DIRS = (Path("/usr/share/fonts/truetype/dejavu"), Path("/usr/share/fonts/truetype/liberation"),
             Path("/usr/share/fonts/truetype/liberation2"))
FONT_FILES = ("DejaVuSans.ttf", "DejaVuSans-Bold.ttf", "DejaVuSansMono.ttf", "DejaVuSansMono-Bold.ttf",
              "DejaVuSerif.ttf", "DejaVuSansCondensed.ttf", "LiberationSans-Regular.ttf",
              "LiberationSans-Bold.ttf", "LiberationMono-Regular.ttf", "LiberationSerif-Regular.ttf",
              "LiberationSansNarrow-Regular.ttf")
SIZES = ((512, 512), (640, 480), (800, 600), (960, 720), (1024, 768), (1024, 1024), (600, 800))
GIVEN = ("MARTA", "OLUWASEUN", "INGRID", "TOMASZ", "HIROKO", "BEATRIZ", "KWAME", "SVETLANA", "DIEGO",
         "AIKO", "FRANCOIS", "PRIYA", "LEIF", "NADIA", "ESTEBAN", "YUSUF", "GRETA", "MATEO")
FAMILY = ("RAMASWAMY", "KOWALCZYK", "OKONKWO", "LINDQVIST", "FERREIRA", "NAKAMURA", "DUBROVSKY",
          "ABERNATHY", "CASTELLANOS", "VANDERMEER", "OYELARAN", "MCALLISTER", "HALVORSEN", "TRAN")
LABELS = ("Patient", "Name", "ID", "DOB", "Study", "Acc", "Ref", "Operator", "Site", "Exam")
US_WORDS = ("ABD", "LIVER", "RT", "LT", "KIDNEY", "SAG", "TRV", "THYROID", "BREAST", "CAROTID", "GB")


@dataclass
class Frame:
    name: str
    image: np.ndarray
    lines: list[str]

    @property
    def words(self) -> list[str]:
        return [word for line in self.lines for word in line.split()]


def available_fonts() -> list[Path]:
    """The set's fonts that are installed here (the DejaVu ones at least, on Debian)."""
    found = []
    for name in FONT_FILES:
        for folder in FONT_DIRS:
            if (folder / name).is_file():
                found.append(folder / name)
                break
    return found


def _date(rng: random.Random) -> str:
    y, m, d = rng.randint(1931, 2024), rng.randint(1, 12), rng.randint(1, 28)
    return rng.choice((f"{y}{m:02d}{d:02d}", f"{d:02d}/{m:02d}/{y}", f"{m:02d}-{d:02d}-{y}",
                       f"{y}-{m:02d}-{d:02d}", f"{y}.{m:02d}.{d:02d}"))


def _time(rng: random.Random) -> str:
    return f"{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}"


def _ident(rng: random.Random) -> str:
    digits = "".join(rng.choice("0123456789") for _ in range(rng.randint(6, 9)))
    return rng.choice((digits, f"MRN{digits}", f"{rng.choice('ABCEHKM')}{digits[:7]}",
                       f"{digits[:3]}-{digits[3:6]}-{digits[6:]}" if len(digits) > 6 else digits))


def _name(rng: random.Random) -> str:
    family, given = rng.choice(FAMILY), rng.choice(GIVEN)
    return rng.choice((f"{family}^{given}", f"{family}, {given}", f"{given} {family}", f"{family} {given}"))


def _ultrasound_lines(rng: random.Random) -> list[str]:
    return [_name(rng), f"ID: {_ident(rng)}", f"{_date(rng)} {_time(rng)}",
            f"{rng.choice(US_WORDS)} {rng.choice(US_WORDS)}", f"GAIN {rng.randint(20, 90)} DR {rng.randint(40, 80)}",
            f"{rng.choice(('C5-1', 'L12-5', 'C9-2', 'S5-1'))} {rng.randint(2, 12)}.{rng.randint(0, 9)}MHz"]


def _capture_lines(rng: random.Random) -> list[str]:
    return [f"Name: {_name(rng)}", f"Patient ID: {_ident(rng)}", f"DOB: {_date(rng)}",
            f"Study Date: {_date(rng)}", f"Accession: {_ident(rng)}",
            f"Referring: Dr. {rng.choice(FAMILY).title()}", f"Institution: {rng.choice(FAMILY).title()} Clinic"]


def _ct_lines(rng: random.Random) -> list[str]:
    return [_name(rng), _ident(rng), _date(rng), f"Se: {rng.randint(1, 9)} Im: {rng.randint(1, 400)}",
            f"kV {rng.choice((80, 100, 120, 140))} mA {rng.randint(50, 400)}", f"W {rng.randint(300, 2000)} L {rng.randint(-600, 80)}"]


def _background(style: str, size: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """A float image 0..1 in the look of the style (text-free)."""
    width, height = size
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    if style == "ultrasound":
        cx, top = width / 2, height * 0.12
        angle = np.arctan2(xx - cx, yy - top + 1e-3)
        radius = np.hypot(xx - cx, yy - top)
        sector = (np.abs(angle) < 0.6) & (radius > height * 0.05) & (radius < height * 0.85)
        speckle = rng.rayleigh(0.25, (height, width)).astype(np.float32)
        return np.clip(np.where(sector, speckle * 0.9, 0.0), 0, 1)
    if style == "capture":
        base = rng.uniform(0.05, 0.35)
        return np.clip(base + rng.normal(0, 0.02, (height, width)).astype(np.float32), 0, 1)
    # ct: a body ellipse with soft tissue noise on black air
    body = ((xx - width / 2) / (width * 0.42)) ** 2 + ((yy - height / 2) / (height * 0.36)) ** 2 < 1
    tissue = 0.45 + rng.normal(0, 0.06, (height, width)).astype(np.float32)
    return np.clip(np.where(body, tissue, 0.02), 0, 1)


def _draw(image: Image.Image, lines: list[str], font: ImageFont.FreeTypeFont, layout: str,
          value: int | tuple[int, int, int], rng: random.Random) -> None:
    draw = ImageDraw.Draw(image)
    width, height = image.size
    step = int(font.size * 1.45) + 1
    margin = rng.randint(4, 14)
    if layout == "split":  # annotation corners: half the lines top-left, the rest top-right
        half = (len(lines) + 1) // 2
        for n, line in enumerate(lines[:half]):
            draw.text((margin, margin + n * step), line, font=font, fill=value)
        for n, line in enumerate(lines[half:]):
            right = width - margin - int(draw.textlength(line, font=font))
            draw.text((right, height - margin - (len(lines) - half - n) * step), line, font=font, fill=value)
        return
    x = margin if layout == "left" else width // 2 - rng.randint(0, width // 4)
    for n, line in enumerate(lines):
        draw.text((x, margin + n * step), line, font=font, fill=value)


def frames(seed: int = 2026, count: int = 35, blanks: int = 5) -> list[Frame]:
    """``count`` frames with text plus ``blanks`` without, all from ``seed``."""
    rng = random.Random(seed)
    noise = np.random.default_rng(seed)
    fonts = available_fonts()
    if not fonts:
        raise RuntimeError("no DejaVu or Liberation fonts: apt-get install fonts-dejavu-core fonts-liberation")
    out: list[Frame] = []
    for n in range(count):
        style = ("ultrasound", "capture", "ct")[n % 3]
        depth = ("rgb", "8", "16")[(n // 3) % 3] if style != "capture" else ("8", "rgb")[n % 2]
        size = SIZES[rng.randrange(len(SIZES))]
        font_path = fonts[rng.randrange(len(fonts))]
        font = ImageFont.truetype(str(font_path), rng.randint(9, 20))
        lines = {"ultrasound": _ultrasound_lines, "capture": _capture_lines, "ct": _ct_lines}[style](rng)
        lines = lines[: rng.randint(4, len(lines))]
        base = _background(style, size, noise)
        layout = {"ultrasound": "left", "capture": "left", "ct": "split"}[style]
        if style == "capture" and n % 4 == 1:
            layout = "middle"
        level = rng.uniform(0.75, 1.0)
        if depth == "16":
            canvas = Image.fromarray((base * 3000).astype(np.int32), mode="I")
            _draw(canvas, lines, font, layout, int(3000 * level) + 1095, rng)
            image = np.asarray(canvas).astype(np.uint16)
        elif depth == "rgb":
            grey = (base * 255).astype(np.uint8)
            canvas = Image.fromarray(np.stack([grey] * 3, axis=-1))
            colour = rng.choice(((255, 255, 0), (0, 255, 120), (255, 255, 255), (120, 200, 255), (255, 160, 0)))
            _draw(canvas, lines, font, layout, tuple(int(c * level) for c in colour), rng)
            image = np.asarray(canvas)
        else:
            canvas = Image.fromarray((base * 255).astype(np.uint8))
            _draw(canvas, lines, font, layout, int(255 * level), rng)
            image = np.asarray(canvas)
        out.append(Frame(f"{n:02d}-{style}-{depth}-{size[0]}x{size[1]}-{font_path.stem}-{font.size}px", image, lines))
    for n in range(blanks):
        size = SIZES[n % len(SIZES)]
        kind = ("flat", "noise", "ultrasound", "ct", "capture")[n % 5]
        if kind == "flat":
            image = np.full((size[1], size[0]), 40, np.uint8)
        elif kind == "noise":
            image = noise.integers(0, 256, (size[1], size[0]), dtype=np.uint8)
        else:
            image = (_background(kind, size, noise) * 255).astype(np.uint8)
        out.append(Frame(f"blank-{n}-{kind}", image, []))
    return out


def write_dicom(frame: Frame, path: Path) -> Path:
    """One frame as a secondary-capture DICOM file, so a reader's time includes the decode."""
    from pydicom.dataset import FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, SecondaryCaptureImageStorage, generate_uid
    from pydicom import Dataset

    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = SecondaryCaptureImageStorage
    ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.SOPClassUID = SecondaryCaptureImageStorage
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID
    ds.Modality = "OT"
    ds.PatientName = "SYNTHETIC^SET"
    image = frame.image
    ds.Rows, ds.Columns = image.shape[:2]
    if image.ndim == 3:
        ds.SamplesPerPixel, ds.PhotometricInterpretation, ds.PlanarConfiguration = 3, "RGB", 0
    else:
        ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    bits = 16 if image.dtype == np.uint16 else 8
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = bits, bits if bits == 8 else 12, \
        (7 if bits == 8 else 11), 0
    ds.PixelData = np.ascontiguousarray(image).tobytes()
    ds.save_as(path, enforce_file_format=True)
    return path


@dataclass
class Score:
    words: int = 0
    exact_words: int = 0
    lines: int = 0
    exact_lines: int = 0
    lenient_words: int = 0
    blank_frames: int = 0
    blank_with_text: int = 0
    junk_tokens: int = 0

    def add(self, frame: Frame, found: list[str]) -> None:
        """Score one frame: ``found`` is the reader's lines of text for it."""
        if not frame.lines:
            self.blank_frames += 1
            tokens = [t for line in found for t in line.split()]
            self.blank_with_text += bool(tokens)
            self.junk_tokens += len(tokens)
            return
        pool = [t for line in found for t in line.split()]
        squashed = "".join(found).replace(" ", "").casefold()
        found_lines = [line.split() for line in found]
        for word in frame.words:
            self.words += 1
            if word in pool:
                pool.remove(word)
                self.exact_words += 1
            self.lenient_words += word.casefold() in squashed
        for line in frame.lines:
            want = line.split()
            self.lines += 1
            self.exact_lines += any(_contains_run(have, want) for have in found_lines)

    def row(self) -> dict[str, str]:
        return {"exact words": f"{100 * self.exact_words / max(1, self.words):.1f}%",
                "exact lines": f"{100 * self.exact_lines / max(1, self.lines):.1f}%",
                "lenient": f"{100 * self.lenient_words / max(1, self.words):.1f}%",
                "blank with text": f"{self.blank_with_text}/{self.blank_frames} ({self.junk_tokens} tokens)"}


def _contains_run(have: list[str], want: list[str]) -> bool:
    """Whether ``want`` appears in ``have`` as consecutive whole tokens (two corner lines may join)."""
    n = len(want)
    return any(have[i:i + n] == want for i in range(len(have) - n + 1))
