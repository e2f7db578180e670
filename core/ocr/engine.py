"""Read burned-in text out of a frame, so a reviewer over SSH does not have to squint.

Uses RapidOCR (PP-OCRv4 ONNX models shipped inside the wheel; nothing is
downloaded). The engine is loaded once, lazily, and guarded by a lock because
the review screen calls it from a worker thread.

Pre-processing, and why:

- Frames of any depth are brought to 8-bit RGB (16-bit arrays by their own
  range, not clipped, so a raw CT slice is not a white square).
- Frames smaller than ``MIN_SIDE`` are upscaled: text on a 256-pixel
  ultrasound is a few pixels high, below what the recognizer was trained on.
- A second "contrast" pass runs on a locally equalized (CLAHE) copy: grey text
  laid over bright anatomy has little global but enough local contrast.
  An optional "inverted" pass reads the negative (dark-on-light vs
  light-on-dark); PP-OCRv4 reads both polarities well, so it is off by default.
- Lines found by several passes are merged (overlapping boxes: the first
  pass's line is kept unless a later one is clearly more confident).
- A confidence floor and a "must contain a letter or digit, two characters"
  rule keep blank, flat and noise frames silent.

The angle classifier is off: burned-in annotations are upright, and on short
words the classifier flips more than it fixes.

Threads: on the 2-core servers reviewers use, OCR gets ``cpu_count - 1``
intra-op threads by default, leaving a core for the screen and the preview
decoder; pass ``threads`` to change it.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from phi_review.core.common.errors import PhiReviewError
from phi_review.core.common.inert import inert
from phi_review.core.common.memory import release_freed_memory
from phi_review.core.ocr.phi_match import PhiTerm, phi_reason, phi_terms

MIN_CONFIDENCE = 0.6
MIN_SIDE = 640  # frames smaller than this (longest side) are upscaled before OCR
PASSES = ("plain", "contrast", "inverted")
DEFAULT_PASSES = ("plain", "contrast")
HEADER_FLAGS = ("BurnedInAnnotation", "RecognizableVisualFeatures", "Modality", "ImageType")
OCR_MISSING = "OCR needs the ocr extra: pip install 'phi-review[ocr]'"
CACHE_BYTES = 4 * 1024 * 1024  # found lines kept per (file, frame): bounded by their size, not their count


@dataclass
class TextLine:
    """One line of burned-in text. ``text`` is inert (control characters shown as escapes)."""

    text: str
    confidence: float  # 0..1, the recognizer's score
    box: tuple[int, int, int, int]  # x0, y0, x1, y1 in the frame's own pixels
    likely_phi: bool = False
    reason: str = ""  # why it is likely PHI: "matches PatientName", "looks like a date"


@dataclass
class OcrResult:
    """The lines found per frame (0-based), plus the header flags a reviewer weighs them against."""

    frames: dict[int, list[TextLine]]
    header: dict[str, str] = field(default_factory=dict)
    frame_count: int = 1

    @property
    def lines(self) -> list[TextLine]:
        return [line for lines in self.frames.values() for line in lines]

    @property
    def burned_in_annotation(self) -> str:
        return self.header.get("BurnedInAnnotation", "")

    @property
    def recognizable_visual_features(self) -> str:
        return self.header.get("RecognizableVisualFeatures", "")

    @property
    def modality(self) -> str:
        return self.header.get("Modality", "")

    @property
    def image_type(self) -> str:
        return self.header.get("ImageType", "")


def ocr_available() -> bool:
    """Whether the optional OCR engine is installed (the app says how to add it otherwise)."""
    try:
        import rapidocr_onnxruntime  # noqa: F401
    except ImportError:
        return False
    return True


def default_threads() -> int:
    """Intra-op threads for OCR: all cores but one, at least one."""
    return max(1, (os.cpu_count() or 2) - 1)


class OcrEngine:
    """A RapidOCR instance plus our pre-processing; one per process is enough (see ``shared_engine``)."""

    def __init__(self, threads: int | None = None, passes: Sequence[str] = DEFAULT_PASSES,
                 min_confidence: float = MIN_CONFIDENCE) -> None:
        unknown = [p for p in passes if p not in PASSES]
        if unknown or not passes:
            raise ValueError(f"OCR passes must be among {PASSES}, got {list(passes)}")
        self.threads = threads or default_threads()
        self.passes = tuple(passes)
        self.min_confidence = min_confidence
        self._engine: Any = None
        self._lock = threading.Lock()

    @property
    def config(self) -> tuple[object, ...]:
        """What changes the output; part of the cache key."""
        return (self.passes, self.min_confidence)

    def _load(self) -> Any:
        if self._engine is None:
            try:
                from rapidocr_onnxruntime import RapidOCR
            except ImportError:
                raise PhiReviewError(OCR_MISSING) from None
            import logging

            with _no_spinning():
                self._engine = RapidOCR(intra_op_num_threads=self.threads, inter_op_num_threads=1)
            for name in ("RapidOCR", "rapidocr_onnxruntime"):
                logging.getLogger(name).handlers[:] = [logging.NullHandler()]
                logging.getLogger(name).propagate = False
        return self._engine

    def load(self) -> None:
        """Load the models now (about a second) instead of on the first frame."""
        with self._lock:
            self._load()

    def read_text(self, image: np.ndarray, terms: Sequence[PhiTerm] = ()) -> list[TextLine]:
        """Every confident line of text in a frame (grey or RGB, any integer or float depth).

        With ``terms`` (from ``phi_terms``), lines are also marked likely PHI.
        """
        if image.size == 0 or image.ndim not in (2, 3):
            return []
        rgb = to_rgb8(image)
        height, width = rgb.shape[:2]
        prepared, scale = upscale(rgb)
        found: list[TextLine] = []
        with self._lock:
            engine = self._load()
            for name in self.passes:
                variant = _variant(prepared, name)
                if variant is None:
                    continue
                result, _elapsed = engine(variant, use_cls=False)
                _merge(found, self._lines(result, scale, width, height))
            del prepared, rgb
            # onnxruntime's buffers, freed, stay in this worker thread's glibc heap: each frame's OCR
            # left ~20 MB behind (+280 MB after 20 frames of text). Giving them back costs a few ms.
            release_freed_memory()
        found.sort(key=lambda line: (line.box[1], line.box[0]))
        return mark_phi(found, terms) if terms else found

    def _lines(self, result: Any, scale: float, width: int, height: int) -> list[TextLine]:
        lines = []
        for box, text, score in result or []:
            confidence = float(score)
            cleaned = str(text).strip()
            if confidence < self.min_confidence or len(cleaned) < 2 or not any(c.isalnum() for c in cleaned):
                continue
            xs = [p[0] / scale for p in box]
            ys = [p[1] / scale for p in box]
            rect = (max(0, int(min(xs))), max(0, int(min(ys))),
                    min(width, int(max(xs) + 0.5)), min(height, int(max(ys) + 0.5)))
            lines.append(TextLine(inert(cleaned), round(confidence, 3), rect))
        return lines


_PATCH_LOCK = threading.Lock()


@contextmanager
def _no_spinning() -> Iterator[None]:
    """Build RapidOCR's ONNX sessions with thread spinning off.

    onnxruntime's pool threads busy-wait after each run by default; on a shared
    2-core server that steals the core left for the screen (and, measured, it
    made a second engine in the same process run at half speed). RapidOCR has
    no option for it, so its session-options factory is wrapped while the
    engine is built. If RapidOCR's internals change, the engine is built as is.
    """
    try:
        from rapidocr_onnxruntime.utils.infer_engine import OrtInferSession
    except ImportError:
        yield
        return
    original = OrtInferSession.__dict__.get("_init_sess_opts")
    if not isinstance(original, staticmethod):
        yield
        return

    def quiet_options(config: Any) -> Any:
        options = original.__func__(config)
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.add_session_config_entry("session.inter_op.allow_spinning", "0")
        return options

    with _PATCH_LOCK:
        OrtInferSession._init_sess_opts = staticmethod(quiet_options)
        try:
            yield
        finally:
            OrtInferSession._init_sess_opts = original


def to_rgb8(image: np.ndarray) -> np.ndarray:
    """8-bit RGB, contiguous. Non-8-bit data is stretched over its own range (not clipped)."""
    array = image
    if array.dtype != np.uint8:
        values = array.astype(np.float32)
        lo, hi = float(values.min()), float(values.max())
        if np.issubdtype(array.dtype, np.integer) and lo >= 0 and hi <= 255:
            array = values.astype(np.uint8)  # already 0..255, in a wider type
        else:
            span = hi - lo if hi > lo else 1.0
            array = ((values - lo) * (255.0 / span)).astype(np.uint8)
    if array.ndim == 2:
        array = np.stack([array] * 3, axis=-1)
    elif array.shape[2] == 4:
        array = array[..., :3]
    elif array.shape[2] == 1:
        array = np.repeat(array, 3, axis=2)
    return np.ascontiguousarray(array)


def upscale(rgb: np.ndarray) -> tuple[np.ndarray, float]:
    """Upscale frames smaller than ``MIN_SIDE`` (bicubic); returns the image and the scale used."""
    from PIL import Image

    height, width = rgb.shape[:2]
    if max(height, width) >= MIN_SIDE:
        return rgb, 1.0
    scale = MIN_SIDE / max(height, width)
    size = (max(1, int(width * scale)), max(1, int(height * scale)))
    return np.ascontiguousarray(np.asarray(Image.fromarray(rgb).resize(size, Image.Resampling.BICUBIC))), scale


def _variant(rgb: np.ndarray, name: str) -> np.ndarray | None:
    """The image one pass reads; None when the pass cannot run here."""
    if name == "plain":
        return rgb
    if name == "inverted":
        return np.ascontiguousarray(255 - rgb)
    try:
        import cv2  # a dependency of rapidocr-onnxruntime
    except ImportError:
        return None
    grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    if int(grey.max()) - int(grey.min()) < 16:
        return None  # flat frame: equalizing would only amplify noise
    equalized = cv2.createCLAHE(clipLimit=3.0, tileGridSize=(8, 8)).apply(grey)
    return np.ascontiguousarray(np.stack([equalized] * 3, axis=-1))


def _overlap(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> float:
    """Intersection over the smaller box: 1.0 when one box holds the other."""
    width = min(a[2], b[2]) - max(a[0], b[0])
    height = min(a[3], b[3]) - max(a[1], b[1])
    if width <= 0 or height <= 0:
        return 0.0
    smaller = min((a[2] - a[0]) * (a[3] - a[1]), (b[2] - b[0]) * (b[3] - b[1]))
    return width * height / smaller if smaller > 0 else 0.0


def _merge(found: list[TextLine], new: Sequence[TextLine]) -> None:
    """Add lines from a later pass; an overlapping line replaces an earlier one only if clearly better."""
    for line in new:
        clash = next((i for i, old in enumerate(found) if _overlap(old.box, line.box) > 0.5), None)
        if clash is None:
            found.append(line)
        elif line.confidence > found[clash].confidence + 0.1:
            found[clash] = line


def mark_phi(lines: Sequence[TextLine], terms: Sequence[PhiTerm]) -> list[TextLine]:
    """Set ``likely_phi`` and ``reason`` on each line (in place; also returned as a list)."""
    for line in lines:
        reason = phi_reason(line.text, terms)
        line.likely_phi = bool(reason)
        line.reason = reason
    return list(lines)


def default_frames(count: int) -> list[int]:
    """First, middle and last frame: burned-in text usually sits on all of them or on the first."""
    return sorted({0, count // 2, count - 1}) if count > 1 else [0]


_SHARED: OcrEngine | None = None
_SHARED_LOCK = threading.Lock()
# In memory only (never on disk: the text is PHI). Key: file, its version, engine config, frame.
_CACHE: OrderedDict[tuple[object, ...], tuple[list[TextLine], int]] = OrderedDict()
_CACHE_LOCK = threading.Lock()
_CACHE_USED = [0]  # bytes the cached lines take, by ``_lines_bytes``


def _lines_bytes(lines: Sequence[TextLine]) -> int:
    """About what a frame's found lines hold in memory: the text, the box, the object (counted generously)."""
    return 256 + sum(320 + 4 * len(line.text) + 2 * len(line.reason) for line in lines)


def cache_bytes() -> int:
    """Bytes the OCR cache holds now (never over ``CACHE_BYTES``)."""
    with _CACHE_LOCK:
        return _CACHE_USED[0]


def shared_engine() -> OcrEngine:
    """The process-wide engine, so the models load once."""
    global _SHARED
    with _SHARED_LOCK:
        if _SHARED is None:
            _SHARED = OcrEngine()
        return _SHARED


def configure_shared(passes: Sequence[str] | None = None, threads: int | None = None) -> None:
    """Set the process-wide engine's passes and threads (from the user's config) before first use."""
    global _SHARED
    if passes is None and threads is None:
        return
    passes = tuple(passes) if passes else DEFAULT_PASSES
    unknown = [p for p in passes if p not in PASSES]
    if unknown:
        raise PhiReviewError(f"unknown OCR pass {unknown[0]!r}: choose from {', '.join(PASSES)}")
    with _SHARED_LOCK:
        _SHARED = OcrEngine(threads=threads, passes=passes)


def clear_cache() -> None:
    with _CACHE_LOCK:
        _CACHE.clear()
        _CACHE_USED[0] = 0


def ocr_frame(path: str | Path, frame: int, terms: Sequence[PhiTerm] = (),
              engine: OcrEngine | None = None) -> list[TextLine]:
    """OCR one frame at full resolution, cached per (file, version, frame); lines marked against ``terms``."""
    from phi_review.core.dicom.pixels import render_frame

    engine = engine or shared_engine()
    path = Path(path)
    stat = path.stat()
    key = (str(path.resolve()), stat.st_mtime_ns, stat.st_size, engine.config, frame)
    with _CACHE_LOCK:
        entry = _CACHE.get(key)
        if entry is not None:
            _CACHE.move_to_end(key)
    cached = entry[0] if entry is not None else None
    if cached is None:
        image = render_frame(path, frame, preset="file")
        cached = engine.read_text(image)
        size = _lines_bytes(cached)
        with _CACHE_LOCK:
            old = _CACHE.pop(key, None)
            _CACHE_USED[0] -= old[1] if old is not None else 0
            if size <= CACHE_BYTES:
                _CACHE[key] = (cached, size)
                _CACHE_USED[0] += size
            while _CACHE_USED[0] > CACHE_BYTES:
                _, (_, evicted) = _CACHE.popitem(last=False)
                _CACHE_USED[0] -= evicted
    return mark_phi([replace(line) for line in cached], terms)


def ocr_file(
    path: str | Path,
    frames: Sequence[int] | None = None,
    detected_value: str = "",
    engine: OcrEngine | None = None,
) -> OcrResult:
    """OCR the chosen 0-based frames (default first, middle, last) and mark lines matching the file's PHI."""
    from phi_review.core.dicom.header import read_header
    from phi_review.core.dicom.pixels import image_info

    info = image_info(path)
    header = read_header(path)
    terms = phi_terms(header.values, detected_value)
    wanted = list(dict.fromkeys(frames)) if frames is not None else default_frames(info.frames)
    for frame in wanted:
        if not 0 <= frame < info.frames:
            raise PhiReviewError(f"frame {frame + 1} does not exist: the file has {info.frames} frame(s)")
    found = {frame: ocr_frame(path, frame, terms, engine) for frame in wanted}
    flags: Mapping[str, str] = {k: header.values[k] for k in HEADER_FLAGS if k in header.values}
    return OcrResult(frames=found, header=dict(flags), frame_count=info.frames)
