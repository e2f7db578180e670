"""Boxes to black out, in the frame's own pixels: typed, checked, or found by OCR.

Shared by the pixel redaction, the verification and the known device regions.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from phi_review.core.remedy.output import RemedyError


@dataclass(frozen=True)
class Box:
    """A rectangle in the frame's own pixels: x0, y0 inclusive, x1, y1 exclusive (the OCR boxes' convention)."""

    x0: int
    y0: int
    x1: int
    y1: int

    @classmethod
    def parse(cls, text: str) -> Box:
        """``X0,Y0,X1,Y1`` as typed on the command line."""
        try:
            x0, y0, x1, y1 = (int(part) for part in text.split(","))
        except ValueError:
            raise RemedyError(f"box {text!r} is not X0,Y0,X1,Y1 (four whole numbers)") from None
        return cls(x0, y0, x1, y1)

    def check(self, columns: int, rows: int) -> None:
        """Refuse a box of zero area or outside the image (one line)."""
        if self.x1 <= self.x0 or self.y1 <= self.y0:
            raise RemedyError(f"box {self} has zero area")
        if self.x0 < 0 or self.y0 < 0 or self.x1 > columns or self.y1 > rows:
            raise RemedyError(f"box {self} is outside the {columns}x{rows} image")

    def as_tuple(self) -> tuple[int, int, int, int]:
        return (self.x0, self.y0, self.x1, self.y1)

    def __str__(self) -> str:
        return f"{self.x0},{self.y0},{self.x1},{self.y1}"


def parse_frames(text: str | None) -> list[int] | None:
    """``all`` (None) or ``N[,M...]`` 1-based, as typed; returned 0-based."""
    if text is None or text.strip().lower() == "all":
        return None
    try:
        frames = [int(part) - 1 for part in text.split(",") if part.strip()]
    except ValueError:
        raise RemedyError(f"frames {text!r} is not 'all' or N[,M...]") from None
    if not frames or min(frames) < 0:
        raise RemedyError(f"frames {text!r}: frames count from 1")
    return sorted(set(frames))


def boxes_per_frame(path: Path, frames: Sequence[int] | None = None, which: str = "likely",
                    pad: int = 3, detected_value: str = "") -> dict[int, list[Box]]:
    """Each chosen frame's own boxes around the burned-in text OCR finds on it (every frame when None).

    ``which`` is ``likely`` (lines marked likely PHI) or ``all``. Boxes are
    padded by a few pixels, as glyph edges spill past the detector's box.
    Frames where nothing is found map to an empty list: they are left alone.
    """
    from pathlib import Path as _Path

    from phi_review.core.dicom.pixels import image_info
    from phi_review.core.ocr.engine import ocr_file

    if which not in ("likely", "all"):
        raise RemedyError(f"--from-ocr {which!r} is not 'likely' or 'all'")
    info = image_info(_Path(path))
    wanted = list(range(info.frames)) if frames is None else list(frames)
    result = ocr_file(path, wanted, detected_value=detected_value)
    found: dict[int, list[Box]] = {}
    for frame in wanted:
        boxes: list[Box] = []
        for line in result.frames.get(frame, []):
            if which == "likely" and not line.likely_phi:
                continue
            x0, y0, x1, y1 = line.box
            box = Box(max(0, x0 - pad), max(0, y0 - pad), min(info.columns, x1 + pad), min(info.rows, y1 + pad))
            if box.x1 > box.x0 and box.y1 > box.y0 and box not in boxes:
                boxes.append(box)
        found[frame] = boxes
    return found


def boxes_from_ocr(path: Path, frames: Sequence[int] | None = None, which: str = "likely",
                   pad: int = 3, detected_value: str = "") -> list[Box]:
    """The union over the chosen frames of ``boxes_per_frame``: one set of boxes for every frame.

    For text that stays put in a cine loop but is read on some frames only
    (``redact --from-ocr --boxes-union``).
    """
    union: list[Box] = []
    for boxes in boxes_per_frame(path, frames, which, pad, detected_value).values():
        union.extend(box for box in boxes if box not in union)
    return union
