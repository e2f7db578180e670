"""Read burned-in text out of a frame, so a reviewer over SSH does not have to squint.

The models are PP-OCRv6's small detector and recognizer from the ``rapidocr``
wheel (nothing is downloaded), run by onnxruntime with options chosen in
``models``. The steps, and why:

- Frames of any depth become 8-bit RGB (16-bit by their own range, never
  clipped), because the detector was trained on 8-bit pictures.
- ``detect`` finds upright text boxes at a working scale chosen from the
  frame's size (small frames up, large ones down) and joins boxes a split left
  inside a word; the "closer" pass detects again, enlarged, where a box holds
  stacked lines or text too small for that scale (most of the accuracy on
  9-14 px text, and about a third of the time).
- ``recognize`` reads each box from the full-resolution frame, batched by width.
- ``words`` puts spaces where the recognizer's space probability and the
  pixel gaps agree, and gives each word its box: matching the header works on
  words and on the line without spaces.
- A line read with low confidence is read again from a locally equalized
  crop (the "contrast" pass); the better reading is kept.
- A confidence floor and a "two characters, one of them a letter or digit"
  rule keep blank, flat and noise frames silent.
- A frame identical to one already read (a cine loop with a fixed overlay) is
  recognised once, by a hash of its pixels, in memory only.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from phi_review.core.common.errors import PhiReviewError
from phi_review.core.common.inert import inert
from phi_review.core.common.memory import release_freed_memory
from phi_review.core.ocr.models import OCR_MISSING, ocr_available  # noqa: F401  (re-exported)
from phi_review.core.ocr.phi_match import PhiTerm, phi_reason, phi_terms
from phi_review.core.ocr.words import Word

MIN_CONFIDENCE = 0.6
REREAD_BELOW = 0.9  # lines read with less confidence get the "contrast" pass
PASSES = ("plain", "closer", "contrast", "inverted")
DEFAULT_PASSES = ("plain", "closer", "contrast")
HEADER_FLAGS = ("BurnedInAnnotation", "RecognizableVisualFeatures", "Modality", "ImageType")
CACHE_BYTES = 4 * 1024 * 1024  # found lines kept per (file, frame): bounded by their size, not their count
SEEN_FRAMES = 256  # hashes of frames already read, per engine (a cine loop's fixed overlay is read once)


@dataclass
class TextLine:
    """One line of burned-in text. ``text`` is inert (control characters shown as escapes)."""

    text: str
    confidence: float  # 0..1, the recognizer's score
    box: tuple[int, int, int, int]  # x0, y0, x1, y1 in the frame's own pixels
    likely_phi: bool = False
    reason: str = ""  # why it is likely PHI: "matches PatientName", "looks like a date"
    words: tuple[Word, ...] = ()  # the line's words, each with its box (texts inert too)


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


def default_threads() -> int:
    """Intra-op threads for OCR: all cores but one, at least one."""
    return max(1, (os.cpu_count() or 2) - 1)


class OcrEngine:
    """The two model sessions plus our steps; one per process is enough (see ``shared_engine``)."""

    def __init__(self, threads: int | None = None, passes: Sequence[str] = DEFAULT_PASSES,
                 min_confidence: float = MIN_CONFIDENCE) -> None:
        unknown = [p for p in passes if p not in PASSES]
        if unknown or not passes:
            raise ValueError(f"OCR passes must be among {PASSES}, got {list(passes)}")
        self.threads = threads or default_threads()
        self.passes = tuple(passes)
        self.min_confidence = min_confidence
        self._sessions: tuple[Any, Any, list[str]] | None = None
        self._lock = threading.Lock()
        self._seen: OrderedDict[bytes, list[TextLine]] = OrderedDict()

    @property
    def config(self) -> tuple[object, ...]:
        """What changes the output; part of the cache key."""
        return (self.passes, self.min_confidence)

    def _load(self) -> tuple[Any, Any, list[str]]:
        if self._sessions is None:
            from phi_review.core.ocr.models import DET_MODEL, REC_MODEL, charset, session

            recognizer = session(REC_MODEL, self.threads)
            self._sessions = (session(DET_MODEL, self.threads), recognizer, charset(recognizer))
        return self._sessions

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
        key = _frame_key(image, self.config)
        with self._lock:
            seen = self._seen.get(key)
            if seen is not None:
                self._seen.move_to_end(key)
            else:
                seen = self._read(to_rgb8(image))
                self._seen[key] = seen
                while len(self._seen) > SEEN_FRAMES:
                    self._seen.popitem(last=False)
                # onnxruntime's freed buffers stay in this thread's glibc heap; giving them back costs a few ms.
                release_freed_memory()
        found = [replace(line) for line in seen]
        return mark_phi(found, terms) if terms else found

    def _read(self, rgb: np.ndarray) -> list[TextLine]:
        import cv2

        from phi_review.core.ocr.detect import detect
        from phi_review.core.ocr.recognize import recognize

        det, rec, characters = self._load()
        closer = "closer" in self.passes
        boxes = detect(det, rgb, closer=closer)
        if "inverted" in self.passes:
            known = list(boxes)
            boxes += [b for b in detect(det, np.ascontiguousarray(255 - rgb), closer=closer) if not _covered(b, known)]
        if not boxes:
            return []
        grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
        reads = recognize(rec, characters, rgb, boxes)
        if "contrast" in self.passes:
            weak = [n for n, read in enumerate(reads) if read.confidence < REREAD_BELOW]
            if weak:
                pieces = [_equalized(grey, reads[n].box) for n in weak]
                again = recognize(rec, characters, rgb, [reads[n].box for n in weak], pieces)
                for n, read in zip(weak, again):
                    if read.confidence > reads[n].confidence + 0.02:
                        reads[n] = read
        lines = [line for read in reads if (line := self._line(read, grey)) is not None]
        lines.sort(key=lambda line: (line.box[1], line.box[0]))
        return lines

    def _line(self, read: Any, grey: np.ndarray) -> TextLine | None:
        from phi_review.core.ocr.words import spaced

        box = read.box
        text, words = spaced(read.chars, read.xs, read.probs, read.space_probs,
                             grey[box.y0:box.y1, box.x0:box.x1], (box.x0, box.y0))
        confidence = read.confidence
        if confidence < self.min_confidence or len(text.replace(" ", "")) < 2 \
                or not any(c.isalnum() for c in text):
            return None
        safe_words = tuple(replace(word, text=inert(word.text)) for word in words)
        return TextLine(inert(text), round(confidence, 3), (box.x0, box.y0, box.x1, box.y1), words=safe_words)


def _frame_key(image: np.ndarray, config: tuple[object, ...]) -> bytes:
    digest = hashlib.blake2b(digest_size=16)
    digest.update(repr((image.shape, image.dtype.str, config)).encode())
    digest.update(np.ascontiguousarray(image).data)
    return digest.digest()


def _covered(box: Any, others: Sequence[Any]) -> bool:
    return any(_overlap((box.x0, box.y0, box.x1, box.y1), (o.x0, o.y0, o.x1, o.y1)) > 0.5 for o in others)


def _equalized(grey: np.ndarray, box: Any) -> np.ndarray:
    """A line crop with local contrast equalized (grey text over bright anatomy), as RGB."""
    import cv2

    piece = grey[box.y0:box.y1, box.x0:box.x1]
    if piece.size == 0 or int(piece.max()) - int(piece.min()) < 16:
        return np.ascontiguousarray(np.stack([piece] * 3, axis=-1))
    equalized = cv2.createCLAHE(clipLimit=3.0, tileGridSize=(1, 8)).apply(piece)
    return np.ascontiguousarray(np.stack([equalized] * 3, axis=-1))


def to_rgb8(image: np.ndarray) -> np.ndarray:
    """8-bit RGB, contiguous. Non-8-bit data is stretched over its own range (not clipped)."""
    array = image
    if array.dtype != np.uint8:
        lo, hi = float(array.min()), float(array.max())
        if np.issubdtype(array.dtype, np.integer) and lo >= 0 and hi <= 255:
            array = array.astype(np.uint8)  # already 0..255, in a wider type
        else:
            span = hi - lo if hi > lo else 1.0
            array = ((array.astype(np.float32) - lo) * (255.0 / span)).astype(np.uint8)
    if array.ndim == 2:
        array = np.stack([array] * 3, axis=-1)
    elif array.shape[2] == 4:
        array = array[..., :3]
    elif array.shape[2] == 1:
        array = np.repeat(array, 3, axis=2)
    return np.ascontiguousarray(array)


def _overlap(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> float:
    """Intersection over the smaller box: 1.0 when one box holds the other."""
    width = min(a[2], b[2]) - max(a[0], b[0])
    height = min(a[3], b[3]) - max(a[1], b[1])
    if width <= 0 or height <= 0:
        return 0.0
    smaller = min((a[2] - a[0]) * (a[3] - a[1]), (b[2] - b[0]) * (b[3] - b[1]))
    return width * height / smaller if smaller > 0 else 0.0


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


# The picture OCR reads: the stored values over their full range. Not the display window: a file with
# no window of its own is shown by percentiles, and on a flat noisy background (a secondary capture)
# the text is under 0.5% of the pixels, so the noise is stretched over the whole grey range and the
# text drowns (dev frames: 93.9% of words read exactly by the window, 98.2% by the full range).
OCR_PRESET = "full"


def ocr_frame(path: str | Path, frame: int, terms: Sequence[PhiTerm] = (),
              engine: OcrEngine | None = None, preset: str = OCR_PRESET) -> list[TextLine]:
    """OCR one frame at full resolution, cached per (file, version, frame, picture); lines marked against ``terms``."""
    from phi_review.core.dicom.pixels import render_frame

    engine = engine or shared_engine()
    path = Path(path)
    stat = path.stat()
    key = (str(path.resolve()), stat.st_mtime_ns, stat.st_size, engine.config, frame, preset)
    with _CACHE_LOCK:
        entry = _CACHE.get(key)
        if entry is not None:
            _CACHE.move_to_end(key)
    cached = entry[0] if entry is not None else None
    if cached is None:
        image = render_frame(path, frame, preset=preset)
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


def has_own_window(path: str | Path) -> bool:
    """Whether the file says how it is to be shown (window centre/width or a VOI LUT)."""
    import pydicom

    try:
        ds = pydicom.dcmread(path, stop_before_pixels=True, force=True,
                             specific_tags=["WindowCenter", "WindowWidth", "VOILUTSequence"])
    except Exception:  # noqa: BLE001 - a header that does not parse has no window to honour
        return False
    return ("WindowCenter" in ds and "WindowWidth" in ds) or "VOILUTSequence" in ds


def ocr_frame_every_view(path: str | Path, frame: int, terms: Sequence[PhiTerm] = (),
                         engine: OcrEngine | None = None, windowed: bool | None = None) -> list[TextLine]:
    """The frame's lines over the full range and, when the file has a window of its own, as it is shown too.

    For the proof: text a modality burned in at a value meant to be seen under
    its window can sit at low contrast in the full range. ``windowed``: whether
    to read the windowed picture too (default: ``has_own_window``).
    """
    lines = ocr_frame(path, frame, terms, engine)
    if not (has_own_window(path) if windowed is None else windowed):
        return lines
    boxes = [line.box for line in lines]
    more = [line for line in ocr_frame(path, frame, terms, engine, preset="file")
            if not any(_overlap(line.box, box) > 0.5 for box in boxes)]
    return sorted(lines + more, key=lambda line: (line.box[1], line.box[0]))


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
