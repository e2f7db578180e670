"""One file, every check: header, rules, every frame's pixels; any failure is one Error row.

Runs in a worker process. Reads are the bounded ones (``dicom.header``,
``dicom.pixels``): only regular files are opened, the header read stops
before Pixel Data, a frame is refused before decoding when its declared size
is over budget, and one frame at a time is in memory.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from phi_review.core.common.errors import PhiReviewError
from phi_review.core.dicom.bounded import error_text
from phi_review.core.scan import layout
from phi_review.core.scan.damage import unread_pixels
from phi_review.core.scan.header_check import cell_text, header_hits
from phi_review.core.scan.rules import Rule
from phi_review.core.scan.walk import MINIMUM_FILE_SIZE, Target


# Called after each frame is decoded (the worker tells the parent it is alive and counts frames).
ON_FRAME: list[Callable[[], None]] = []


@dataclass(frozen=True)
class Options:
    ocr: bool = True
    ocr_frames: str = "all"  # "all" or "sampled"
    rules: tuple[Rule, ...] = ()


@dataclass
class FileResult:
    path: str
    rows: list[list[str]] = field(default_factory=list)
    frames: int = 0  # frames the file has
    frames_read: int = 0  # frames decoded (identical frames count once for OCR)
    error: bool = False


def validator_frames(count: int) -> tuple[int, ...]:
    """The 0-based frames the validator's OCR reads (``_extract_frames``): four at most."""
    n = max(1, count)
    if n > 8:
        return tuple(range(0, n, n // 4))[:4]
    return tuple(range(min(4, n)))


def sampled(count: int) -> list[int]:
    """``--ocr-frames sampled``: the validator's frames, plus middle and last."""
    return sorted(set(validator_frames(count)) | {count // 2, count - 1})


def _row(target: Target, profile: str, score: float, kind: str, details: str) -> list[str]:
    return [target.site, target.event, target.file_name, profile, str(float(score)), kind, details]


def error_row(target: Target, what: str, why: str, profile: str = "Generic") -> list[str]:
    """The validator's ErrorFinding row (score 1.0, its default), "Generic" when the header was not read."""
    return _row(target, profile, 1.0, layout.ERROR, layout.error_details(what, cell_text(why)))


def _read_reasons(header_values: dict[str, str], info: object, small: bool) -> list[str]:
    """Why this file's pixels are read here when the validator would not read them (or not all)."""
    reasons = []
    if small:
        reasons.append("small file (the validator writes only an Error row)")
    if header_values.get("Modality", "").strip().upper() == "US":
        reasons.append("ultrasound (no PHI scan in validator 1.0.x)")
    frames = getattr(info, "frames", 1)
    if frames > 1 and getattr(info, "photometric", "").upper() in ("RGB", "YBR_FULL", "YBR_FULL_422", "PALETTE COLOR"):
        reasons.append("multi-frame colour (the validator reads none of it)")
    if getattr(info, "bits_stored", 8) > 8:
        reasons.append(f"{getattr(info, 'bits_stored')}-bit with the file's window (not clipped)")
    return reasons


def _ranges(found: Sequence[tuple[int, tuple[str, ...], str, str]]) -> list[tuple[int, int, tuple[str, ...], str, str]]:
    """Consecutive frames that read the same words become one range."""
    out: list[tuple[int, int, tuple[str, ...], str, str]] = []
    for frame, words, pattern, why in found:
        if out and out[-1][1] == frame - 1 and out[-1][2] == words:
            first, _, w, p, y = out[-1]
            out[-1] = (first, frame, w, p, y)
        else:
            out.append((frame, frame, words, pattern, why))
    return out


def _ocr_lines(image: object, terms: list[object]) -> tuple[tuple[str, ...], str, str]:
    from phi_review.core.ocr.engine import mark_phi, shared_engine

    lines = mark_phi(shared_engine().read_text(image), terms)  # type: ignore[arg-type]
    words = tuple(cell_text(line.text).strip() for line in lines if line.text.strip())
    reasons = sorted({line.reason for line in lines if line.reason})
    matches = [r for r in reasons if r.startswith("matches ")]
    if matches:
        return words, "ocr:identifier", ", ".join(matches)
    if reasons:
        return words, "ocr:date", ", ".join(reasons) + "; no match with the file's identifiers"
    return words, "ocr:text", "no match with the file's identifiers"


def _pixels(target: Target, result: FileResult, profile: str, options: Options, values: dict[str, str],
            fired: list[tuple[str, str]], small: bool) -> None:
    from phi_review.core.dicom.pixels import image_info, render_frame
    from phi_review.core.ocr.engine import OCR_PRESET
    from phi_review.core.ocr.phi_match import phi_terms

    try:
        info = image_info(target.path)
    except PhiReviewError as error:
        if "no pixel data" in str(error) or "no image to show" in str(error):
            for name, why in fired:
                result.rows.append(_row(target, profile, layout.IMAGE_SCORE, layout.PIXELS, layout.pixel_details(
                    f"rule {cell_text(name)}: {cell_text(why)} (no pixel data)", f"rule:{name}", 0, 0, 1, "rule")))
            if (unread := unread_pixels(target.path, str(error))) is not None:
                raise PhiReviewError(unread) from None  # pixel data nothing reads: the file's Error row
            return
        raise
    n = result.frames = info.frames
    reasons = _read_reasons(values, info, small)
    for name, why in fired:
        result.rows.append(_row(target, profile, layout.IMAGE_SCORE, layout.PIXELS, layout.pixel_details(
            f"rule {cell_text(name)}: {cell_text(why)}", f"rule:{name}", 0, n - 1, n,
            "; ".join(["rule", *reasons]))))
    frames = range(n) if options.ocr_frames == "all" else sampled(n)
    terms = phi_terms(values)
    seen: dict[bytes, tuple[tuple[str, ...], str, str]] = {}
    has_overlays = bool(getattr(info, "has_overlays", False))
    found: list[tuple[int, tuple[str, ...], str, str]] = []
    for frame in frames:
        image = render_frame(target.path, frame, preset=OCR_PRESET, overlays=has_overlays)  # 60xx text too
        result.frames_read += 1
        for beat in ON_FRAME:
            beat()
        if not options.ocr:
            continue
        digest = hashlib.blake2b(image.tobytes(), digest_size=16, person=str(image.shape).encode()[:16]).digest()
        if digest not in seen:
            seen[digest] = _ocr_lines(image, terms)
        words, pattern, why = seen[digest]
        if words:
            found.append((frame, words, pattern, why))
    skipped = set(validator_frames(n))
    for first, last, words, pattern, why in _ranges(found):
        text = " | ".join(words)
        text = text if len(text) <= 300 else text[:300] + "…"
        extra = [why, "all frames read" if options.ocr_frames == "all" else "sampled frames read"]
        if not skipped & set(range(first, last + 1)):
            extra.append("frames the validator never reads")
        score = 1.0 if pattern == "ocr:identifier" else (layout.IMAGE_SCORE if pattern == "ocr:date" else 0.5)
        result.rows.append(_row(target, profile, score, layout.PIXELS,
                                layout.pixel_details(text, pattern, first, last, n, "; ".join(extra + reasons))))


def scan_file(target: Target, options: Options) -> FileResult:
    """Every row for one file; never raises: an unreadable file is one Error row."""
    from phi_review.core.dicom.header import read_header

    result = FileResult(target.path)
    try:
        size = os.stat(target.path).st_size
        header = read_header(target.path)
        if header.error and not header.rows:
            raise PhiReviewError(header.error)
        top = {row.keyword: row.full_value for row in header.rows if row.depth == 0 and not row.is_meta}
        values = {**top, **header.values}
        profile = layout.profile_name(top.get("SOPClassUID", "").strip(), top.get("ImageType", "").split("\\"))
        rows = [_row(target, profile, hit.score, layout.HEADER, layout.header_details(hit.tag, hit.value, hit.score,
                                                                                        cell_text(hit.why)))
                for hit in header_hits(header)]
        creators = {row.private_creator for row in header.rows if row.private_creator}
        fired = [(rule.name, why) for rule in options.rules if (why := rule.why(values, creators)) is not None]
        result.rows = rows
    except MemoryError:
        return FileResult(target.path, [error_row(target, "Could not read the file", "not enough memory")], error=True)
    except Exception as error:  # noqa: BLE001 - a damaged or hostile file is a row, never a traceback
        return FileResult(target.path, [error_row(target, "Could not read the file", error_text(error))], error=True)
    try:
        _pixels(target, result, profile, options, values, fired, size < MINIMUM_FILE_SIZE)
        if header.error:
            raise PhiReviewError(f"header read only in part: {header.error}")
    except MemoryError:
        result.rows.append(error_row(target, "Could not read all of the file", "not enough memory", profile))
        result.error = True
    except Exception as error:  # noqa: BLE001 - the header's rows stay; what failed is the file's one Error row
        result.rows.append(error_row(target, "Could not read all of the file", error_text(error), profile))
        result.error = True
    return result
