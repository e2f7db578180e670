"""Prove the text is gone: read the corrected copy again with OCR and sort what is left by the boxes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from phi_review.core.ocr.engine import OcrEngine, TextLine, has_own_window, ocr_frame_every_view
from phi_review.core.remedy.boxes import Box


@dataclass
class FrameCheck:
    """Text OCR still reads on one frame of the copy: inside a blacked-out box (a failure) or elsewhere."""

    frame: int  # 0-based
    inside: list[TextLine] = field(default_factory=list)
    outside: list[TextLine] = field(default_factory=list)


@dataclass
class VerifyResult:
    frames: list[FrameCheck]

    @property
    def clean(self) -> bool:
        """No text read inside any box on any checked frame."""
        return not any(check.inside for check in self.frames)

    @property
    def phi_left(self) -> list[TextLine]:
        """Lines anywhere on the copy still marked likely PHI."""
        return [line for check in self.frames for line in check.inside + check.outside if line.likely_phi]


def _inside(line: tuple[int, int, int, int], boxes: Sequence[Box]) -> bool:
    """A line is inside when at least a third of its area lies in the boxes' union (a pixel test, not a sum)."""
    x0, y0, x1, y1 = line
    area = max(0, x1 - x0) * max(0, y1 - y0)
    if not area:
        return False
    covered = 0
    for box in boxes:
        w = min(x1, box.x1) - max(x0, box.x0)
        h = min(y1, box.y1) - max(y0, box.y0)
        if w > 0 and h > 0:
            covered = max(covered, w * h)
    return covered * 3 >= area


def verify_copy(copy: Path, boxes: Sequence[Box], frames: Sequence[int] | None = None,
                original: Path | None = None, engine: OcrEngine | None = None) -> VerifyResult:
    """OCR the copy's frames (0-based; every frame when None) and return text left inside and outside the boxes.

    Lines are marked likely PHI against the original's header when given (a
    header-fixed copy no longer names the patient it must be checked for).
    """
    from phi_review.core.dicom.header import read_header
    from phi_review.core.dicom.pixels import image_info
    from phi_review.core.ocr.phi_match import phi_terms

    copy = Path(copy)
    terms = phi_terms(read_header(Path(original) if original else copy).values)
    count = image_info(copy).frames
    wanted = list(range(count)) if frames is None else [f for f in frames if 0 <= f < count]
    windowed = has_own_window(copy)
    checks = []
    for frame in wanted:
        check = FrameCheck(frame)
        for line in ocr_frame_every_view(copy, frame, terms, engine, windowed):
            (check.inside if _inside(line.box, boxes) else check.outside).append(line)
        checks.append(check)
    return VerifyResult(checks)
