"""A synthesized OCR test set: frames with known text, written only to temporary folders.

Varied size, contrast, weight, position, grey and colour, 8- and 16-bit, plus
blank and noise frames that must give no text. Names and IDs are invented.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from phi_review.sample_reports.make_dicom import burned_in_text_image, render_text_frame

PATIENT = {"PatientName": "ROE^RICHARD", "PatientID": "PID-7731-204", "PatientBirthDate": "19580722",
           "StudyDate": "20230915", "AccessionNumber": "ACC9921", "InstitutionName": "LAKESIDE RADIOLOGY"}

TEXTS = (
    ["ROE RICHARD", "PORTABLE CHEST"],
    ["PID-7731-204", "LEFT BREAST"],
    ["LAKESIDE RADIOLOGY", "ACC9921"],
    ["15/09/2023 08:14", "SUPINE"],
    ["RICHARD ROE", "TRANSVERSE VIEW"],
    ["DOB 1958-07-22", "GAIN 54"],
)
SIZES = (14, 18, 24, 32)
POSITIONS = ("top-left", "top-right", "bottom-left", "bottom-right")


@dataclass
class Sample:
    name: str
    image: np.ndarray
    words: list[str]


def text_samples(tmp: Path) -> list[Sample]:
    """At least 20 frames with text: the combinations below, some through a 16-bit DICOM round trip."""
    from phi_review.core.pixels import render_frame

    samples: list[Sample] = []
    combos = itertools.islice(itertools.product(range(len(TEXTS)), SIZES, (False, True)), 0, None)
    for n, (text_index, size, color) in enumerate(combos):
        if len(samples) >= 22:
            break
        if (text_index + SIZES.index(size)) % 2:  # thin the grid but keep every size and text
            continue
        lines = TEXTS[text_index]
        position = POSITIONS[n % len(POSITIONS)]
        contrast = (1.0, 0.7, 0.45)[n % 3]
        bold = n % 4 != 0
        if n % 5 == 0 and not color:
            path = burned_in_text_image(tmp / f"s{n}.dcm", lines, bits=16, position=position, font_size=size,
                                        contrast=contrast, patient=PATIENT)
            image = render_frame(path, 0)
            kind = "16-bit"
        else:
            image = render_text_frame(lines, color=color, position=position, font_size=size, contrast=contrast,
                                      seed=n, bold=bold)
            kind = "rgb" if color else "grey"
        samples.append(Sample(f"{kind}-{size}px-{position}-c{contrast}", image, [w for line in lines for w in line.split()]))
    return samples


def empty_samples() -> list[Sample]:
    rng = np.random.default_rng(7)
    return [
        Sample("blank", np.zeros((512, 512), np.uint8), []),
        Sample("flat-grey", np.full((512, 512), 120, np.uint8), []),
        Sample("noise", rng.integers(0, 256, (512, 512)).astype(np.uint8), []),
        Sample("speckle", render_text_frame([], seed=3), []),
    ]
