"""A profile's pixel settings (``[pixels]``) and the boxes ``profile preview`` shows for a file.

Why its own module: a site's policy covers burned-in text too (known device regions on or off, how sure
OCR must be before a word counts, the site's own identifier formats such as its MRN). The settings are
checked with the file and line like the rest of the profile; preview lists the known device regions
(``regions.known_regions``, CTP/deid signatures) that would be blacked out on each file, from the header
alone: no pixel is read or written.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from phi_review.core.common.inert import inert
from phi_review.core.remedy.profile_table import ProfileError

PIXEL_KEYS = ("known_regions", "ocr_min_confidence", "patterns")
MAX_PATTERNS = 100


@dataclass(frozen=True)
class PixelSettings:
    """``[pixels]``: known device regions on or off, the OCR confidence floor, extra identifier patterns."""

    known_regions: bool = True
    ocr_min_confidence: float | None = None  # None: the OCR engine's own default
    patterns: tuple[str, ...] = ()

    @property
    def default(self) -> bool:
        """Whether the profile says nothing beyond the defaults (no [pixels] section, or one that repeats them)."""
        return self == PixelSettings()


def parse_pixels(raw: Any, line_of: Callable[[str], int], section_line: int,
                 fail: Callable[[int, str], ProfileError]) -> PixelSettings:
    """``[pixels]`` checked: known keys, a boolean, a confidence in 0..1, patterns that compile."""
    if raw is None:
        return PixelSettings()
    if not isinstance(raw, dict):
        raise fail(section_line, "pixels is a table: [pixels] with known_regions, ocr_min_confidence, patterns")
    for key in raw:
        if key not in PIXEL_KEYS:
            raise fail(line_of(key), f"unknown pixel setting {inert(key)!r}; known: {', '.join(PIXEL_KEYS)}")
    known = raw.get("known_regions", True)
    if not isinstance(known, bool):
        raise fail(line_of("known_regions"), "known_regions must be true or false")
    floor = raw.get("ocr_min_confidence")
    if floor is not None and (isinstance(floor, bool) or not isinstance(floor, (int, float)) or not 0 <= floor <= 1):
        raise fail(line_of("ocr_min_confidence"), "ocr_min_confidence must be a number from 0 to 1")
    patterns = raw.get("patterns", [])
    if not isinstance(patterns, list) or not all(isinstance(p, str) and p for p in patterns):
        raise fail(line_of("patterns"), 'patterns must be a list of regular expressions, e.g. ["MRN-\\\\d{6}"]')
    if len(patterns) > MAX_PATTERNS:
        raise fail(line_of("patterns"), f"at most {MAX_PATTERNS} patterns")
    for number, pattern in enumerate(patterns, start=1):
        try:
            compiled = re.compile(pattern)
        except re.error:
            raise fail(line_of("patterns"), f"pattern {number} is not a valid regular expression") from None
        if compiled.fullmatch(""):
            raise fail(line_of("patterns"), f"pattern {number} matches empty text (it would match every word)")
    return PixelSettings(known, None if floor is None else float(floor), tuple(patterns))


def settings_line(pixels: PixelSettings) -> str:
    """One line naming the profile's pixel settings (no value from any file)."""
    floor = "the engine's default" if pixels.ocr_min_confidence is None else f"{pixels.ocr_min_confidence:g}"
    return (f"pixels: known device regions {'on' if pixels.known_regions else 'off'}; OCR confidence floor {floor}; "
            f"{len(pixels.patterns)} extra identifier pattern(s)")


def box_lines(pixels: PixelSettings, path: Path) -> list[str]:
    """What would be blacked out on ``path`` for the known device regions: a count line, then one line per box.

    Reads the header only. The OCR settings find text when pixels are read (``redact --ocr``, the review
    screen), not in a preview, which reads and writes no pixel.
    """
    from phi_review.core.dicom.bounded import read_header
    from phi_review.core.remedy.regions import known_regions

    if not pixels.known_regions:
        return ["boxes: none (known_regions = false in this profile)"]
    regions = known_regions(read_header(path))
    if not regions:
        return ["boxes: none (no known text region for this file's device and size)"]
    lines = [f"boxes: {len(regions)} known device region(s) to black out in every frame "
             "(phi-review redact --known-regions writes them)"]
    for region in regions:
        box = region.box
        lines.append(f"  box {box.x0},{box.y0}-{box.x1},{box.y1} ({box.x1 - box.x0}x{box.y1 - box.y0} px): "
                     f"{inert(region.label)} [{inert(region.source)}]")
    return lines
