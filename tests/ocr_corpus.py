"""A synthesized OCR test set: frames with known text, written only to temporary folders.

Never committed as images: every run draws them again (Pillow, seeded, so the
set is the same each time). Varied font (Pillow's bundled font always; DejaVu
Mono/Sans/Serif when installed), size (10-32 px), contrast, weight, polarity,
position (corners, centre, over the "anatomy"), grey and colour, 8- and 16-bit
through a real DICOM round trip (uncompressed, RLE, JPEG Baseline), and a
small frame that must be upscaled. Blank, flat and noise frames must give no
text. Names, IDs and dates are invented.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from pydicom.uid import JPEGBaseline8Bit, RLELossless

from phi_review.sample_reports.make_dicom import (
    POSITIONS,
    available_fonts,
    burned_in_text_image,
    can_encode,
    render_text_frame,
)

PATIENT = {"PatientName": "ROE^RICHARD", "PatientID": "PID-7731-204", "PatientBirthDate": "19580722",
           "StudyDate": "20230915", "AccessionNumber": "ACC9921", "InstitutionName": "LAKESIDE RADIOLOGY"}

TEXTS = (
    ("ROE RICHARD", "PORTABLE CHEST"),
    ("PID-7731-204", "LEFT BREAST"),
    ("LAKESIDE RADIOLOGY", "ACC9921"),
    ("15/09/2023 08:14", "SUPINE"),
    ("RICHARD ROE", "TRANSVERSE VIEW"),
    ("DOB 1958-07-22", "GAIN 54"),
    ("RT KIDNEY LONG", "DEPTH 16CM"),
)
SIZES = (12, 14, 16, 18, 20, 24, 28, 32)
CONTRASTS = (1.0, 0.7, 0.5, 0.35)
TEXT_FRAMES = 24


@dataclass
class Sample:
    name: str
    image: np.ndarray
    words: list[str]


def _spec(n: int, fonts: list[str]) -> dict[str, object]:
    """The n-th frame's look: the factors rotate with different periods so they combine widely."""
    return {
        "font_name": fonts[n % len(fonts)],
        "font_size": SIZES[n % len(SIZES)],
        "contrast": CONTRASTS[(n // 2) % len(CONTRASTS)],
        "position": POSITIONS[n % len(POSITIONS)],
        "color": n % 3 == 1,
        "dark_text": n % 5 == 3,
        "bold": n % 4 != 0,
    }


def text_samples(tmp: Path) -> list[Sample]:
    """``TEXT_FRAMES`` frames with known words; every 4th goes through a DICOM file (16-bit or compressed)."""
    from phi_review.core.dicom.pixels import render_frame

    fonts = available_fonts()
    samples: list[Sample] = []
    for n in range(TEXT_FRAMES):
        lines = list(TEXTS[n % len(TEXTS)])
        spec = _spec(n, fonts)
        words = [w for line in lines for w in line.split()]
        label = "{font_name}-{font_size}px-{position}-c{contrast}".format(**spec)
        if n % 4 == 2:
            # Through a real file: 16-bit grey, or 8-bit compressed (lossless RLE / lossy JPEG).
            kind = ("16-bit", "rle", "jpeg")[(n // 4) % 3]
            syntax = {"rle": RLELossless, "jpeg": JPEGBaseline8Bit}.get(kind)
            bits = 16 if kind == "16-bit" else 8
            if kind == "16-bit":
                spec["color"] = False
            if syntax is not None and not can_encode(syntax, bits):
                kind, syntax = "8-bit", None
            path = burned_in_text_image(tmp / f"s{n}.dcm", lines, bits=bits, patient=PATIENT,
                                        transfer_syntax=syntax, **spec)  # type: ignore[arg-type]
            image = render_frame(path, 0)
        elif n == 5:
            kind = "small-256"
            image = render_text_frame(lines, size=(256, 256), seed=n, **{**spec, "font_size": 12})  # type: ignore[arg-type]
        elif n == 9:
            kind = "us-800x600"
            image = render_text_frame(lines, size=(800, 600), seed=n, **spec)  # type: ignore[arg-type]
        else:
            kind = "rgb" if spec["color"] else "grey"
            image = render_text_frame(lines, seed=n, **spec)  # type: ignore[arg-type]
        polarity = "-dark-on-light" if spec["dark_text"] else ""
        samples.append(Sample(f"{n}:{kind}-{label}{polarity}", image, words))
    return samples


def empty_samples() -> list[Sample]:
    """Frames with no text at all: any line read here is a false alarm."""
    rng = np.random.default_rng(7)
    return [
        Sample("blank", np.zeros((512, 512), np.uint8), []),
        Sample("flat-grey", np.full((512, 512), 120, np.uint8), []),
        Sample("uniform-noise", rng.integers(0, 256, (512, 512)).astype(np.uint8), []),
        Sample("gaussian-noise-rgb", np.clip(rng.normal(100, 40, (512, 512, 3)), 0, 255).astype(np.uint8), []),
        Sample("noise-16bit", rng.integers(0, 4096, (256, 256)).astype(np.uint16), []),
        Sample("speckle", render_text_frame([], seed=3), []),
        Sample("speckle-rgb", render_text_frame([], seed=5, color=True), []),
    ]
