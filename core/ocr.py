"""Read burned-in text out of a frame, so a reviewer over SSH does not have to squint.

Uses RapidOCR (ONNX models shipped inside the wheel; nothing is downloaded).
The engine is loaded once, lazily, and guarded by a lock because the review
screen calls it from a worker thread. Small frames are upscaled first (text on
a 256-pixel ultrasound is a few pixels high) and a confidence floor keeps
blank and noise frames silent.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from phi_review.core.errors import PhiReviewError
from phi_review.core.inert import inert
from phi_review.core.phi_match import PhiTerm, match_line, phi_terms

MIN_CONFIDENCE = 0.6
MIN_SIDE = 640  # frames smaller than this are upscaled before OCR
HEADER_FLAGS = ("BurnedInAnnotation", "RecognizableVisualFeatures", "Modality", "ImageType")
OCR_MISSING = "OCR needs the ocr extra: pip install 'phi-review[ocr]'"


@dataclass
class TextLine:
    text: str
    confidence: float
    box: tuple[int, int, int, int]  # x0, y0, x1, y1 in image pixels
    likely_phi: bool = False
    reason: str = ""


@dataclass
class OcrResult:
    frames: dict[int, list[TextLine]]
    header: dict[str, str] = field(default_factory=dict)
    frame_count: int = 1


def ocr_available() -> bool:
    try:
        import rapidocr_onnxruntime  # noqa: F401
    except ImportError:
        return False
    return True


class OcrEngine:
    """One RapidOCR instance shared by every caller in the process."""

    def __init__(self) -> None:
        self._engine: Any = None
        self._lock = threading.Lock()

    def _load(self) -> Any:
        if self._engine is None:
            try:
                from rapidocr_onnxruntime import RapidOCR
            except ImportError:
                raise PhiReviewError(OCR_MISSING) from None
            import logging

            # Leave a core for the UI and the preview decoder on a 2-core server.
            threads = max(1, (os.cpu_count() or 2) - 1)
            self._engine = RapidOCR(intra_op_num_threads=threads, inter_op_num_threads=1)
            for name in ("RapidOCR", "rapidocr_onnxruntime"):
                logging.getLogger(name).handlers[:] = [logging.NullHandler()]
                logging.getLogger(name).propagate = False
        return self._engine

    def read_text(self, image: np.ndarray) -> list[TextLine]:
        """Every confident line of text in an 8-bit grey or RGB frame."""
        if image.size == 0:
            return []
        prepared, scale = _prepare(image)
        with self._lock:
            engine = self._load()
            result, _elapsed = engine(prepared)
        lines: list[TextLine] = []
        for box, text, score in result or []:
            confidence = float(score)
            cleaned = text.strip()
            if confidence < MIN_CONFIDENCE or len(cleaned) < 2 or not any(c.isalnum() for c in cleaned):
                continue
            xs = [p[0] / scale for p in box]
            ys = [p[1] / scale for p in box]
            lines.append(TextLine(inert(cleaned), round(confidence, 3),
                                  (int(min(xs)), int(min(ys)), int(max(xs) + 0.5), int(max(ys) + 0.5))))
        lines.sort(key=lambda line: (line.box[1], line.box[0]))
        return lines


def _prepare(image: np.ndarray) -> tuple[np.ndarray, float]:
    """RGB uint8, upscaled when small; returns the scale used."""
    from PIL import Image

    array = image if image.dtype == np.uint8 else np.clip(image, 0, 255).astype(np.uint8)
    if array.ndim == 2:
        array = np.stack([array] * 3, axis=-1)
    height, width = array.shape[:2]
    scale = 1.0
    if max(height, width) < MIN_SIDE:
        scale = MIN_SIDE / max(height, width)
        array = np.asarray(Image.fromarray(array).resize((int(width * scale), int(height * scale)), Image.Resampling.BICUBIC))
    return np.ascontiguousarray(array), scale


def mark_phi(lines: Sequence[TextLine], terms: Sequence[PhiTerm]) -> list[TextLine]:
    for line in lines:
        term = match_line(line.text, terms)
        if term is not None:
            line.likely_phi = True
            line.reason = f"matches {term.field}"
    return list(lines)


def default_frames(count: int) -> list[int]:
    """First, middle and last frame: burned-in text usually sits on all or on the first."""
    return sorted({0, count // 2, count - 1}) if count > 1 else [0]


_SHARED = OcrEngine()
_CACHE: OrderedDict[tuple[str, int, int], list[TextLine]] = OrderedDict()
_CACHE_LOCK = threading.Lock()


def shared_engine() -> OcrEngine:
    return _SHARED


def ocr_frame(path: str | Path, frame: int, terms: Sequence[PhiTerm], engine: OcrEngine | None = None) -> list[TextLine]:
    """OCR one frame at full resolution, cached per (file, version, frame)."""
    from phi_review.core.pixels import render_frame

    path = Path(path)
    key = (str(path.resolve()), path.stat().st_mtime_ns, frame)
    with _CACHE_LOCK:
        cached = _CACHE.get(key)
    if cached is None:
        image = render_frame(path, frame, preset="file")
        cached = (engine or _SHARED).read_text(image)
        with _CACHE_LOCK:
            _CACHE[key] = cached
            while len(_CACHE) > 64:
                _CACHE.popitem(last=False)
    copies = [TextLine(l.text, l.confidence, l.box) for l in cached]
    return mark_phi(copies, terms)


def ocr_file(
    path: str | Path,
    frames: Sequence[int] | None = None,
    detected_value: str = "",
    engine: OcrEngine | None = None,
) -> OcrResult:
    """OCR the chosen frames (default first, middle, last) and mark lines matching the file's PHI."""
    from phi_review.core.dicom_header import read_header
    from phi_review.core.pixels import image_info

    info = image_info(path)
    header = read_header(path)
    terms = phi_terms(header.values, detected_value)
    wanted = list(frames) if frames is not None else default_frames(info.frames)
    for frame in wanted:
        if not 0 <= frame < info.frames:
            raise PhiReviewError(f"frame {frame + 1} does not exist: the file has {info.frames} frame(s)")
    found = {frame: ocr_frame(path, frame, terms, engine) for frame in wanted}
    flags: Mapping[str, str] = {k: header.values[k] for k in HEADER_FLAGS if k in header.values}
    return OcrResult(frames=found, header=dict(flags), frame_count=info.frames)
