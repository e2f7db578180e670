"""The pixel half of the proof: OCR every frame of the copy, not only the boxes that were drawn."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from phi_review.core.proof.identifiers import Identifier
from phi_review.core.proof.search import Residual


def _terms(identifiers: Sequence[Identifier]) -> list[object]:
    from phi_review.core.ocr.phi_match import PhiTerm, fold, norm

    terms, seen = [], set()
    for ident in identifiers:
        key = fold(ident.text)
        if len(key) >= 3 and key not in seen:
            seen.add(key)
            terms.append(PhiTerm(key, ident.kind, norm(ident.text)))
    return terms


def ocr_residuals(copy: Path, identifiers: Sequence[Identifier], engine: object = None) -> tuple[list[Residual], str, str]:
    """(residuals, what was checked, why not proven): a line is a residual when OCR marks it likely PHI."""
    from phi_review.core.ocr.engine import has_own_window, ocr_available, ocr_frame_every_view

    if not ocr_available():
        return [], "", "BurnedInAnnotation NO cannot be proven: OCR is not installed (pip install 'phi-review[ocr]')"
    from phi_review.core.dicom.pixels import image_info

    try:
        count = image_info(copy).frames
    except Exception as error:  # noqa: BLE001 - a copy whose pixels do not decode is not proven clean
        return [], "", f"BurnedInAnnotation NO cannot be proven: the frames do not decode ({type(error).__name__})"
    terms = _terms(identifiers)
    windowed = has_own_window(copy)  # read as shown too: text can sit at low contrast in the full range
    residuals: list[Residual] = []
    for frame in range(count):
        try:
            lines = ocr_frame_every_view(copy, frame, terms, engine, windowed)  # type: ignore[arg-type]
        except Exception as error:  # noqa: BLE001
            return residuals, "", f"frame {frame + 1} cannot be read ({type(error).__name__})"
        for line in lines:
            if line.likely_phi:
                x0, y0, x1, y1 = line.box
                reason = line.reason or ""
                kind = reason[len("matches "):] if reason.startswith("matches ") else ("date" if "date" in reason else "text")
                residuals.append(Residual(kind, f"frame {frame + 1} box {x0},{y0},{x1},{y1}"))
    return residuals, f"ocr: {count} frame(s)", ""
