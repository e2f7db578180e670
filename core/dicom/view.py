"""What a frame looks like on screen: window presets, 8-bit conversion, overlays, fit and zoom, the cache.

Pure numpy over a decoded frame; decoding stays in ``pixels``.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable

import numpy as np
from pydicom.dataset import Dataset

from phi_review.core.common.errors import DicomError

PRESETS: tuple[str, ...] = ("file", "full", "robust")


def _first(value: object) -> float:
    if isinstance(value, (list, tuple)) or type(value).__name__ == "MultiValue":
        value = list(value)[0]  # type: ignore[arg-type]
    return float(value)  # type: ignore[arg-type]


def _robust_range(values: np.ndarray) -> tuple[float, float]:
    flat = values.ravel()
    if flat.size > 262_144:
        flat = flat[:: flat.size // 262_144]
    lo, hi = np.percentile(flat, (0.5, 99.5))
    return float(lo), float(hi)


def window_range(values: np.ndarray, ds: Dataset, preset: str) -> tuple[float, float]:
    """The value range mapped to black..white for a preset."""
    if preset == "file":
        try:
            if "WindowCenter" in ds and "WindowWidth" in ds:
                centre, width = _first(ds.WindowCenter), _first(ds.WindowWidth)
                if width > 0:
                    return centre - width / 2, centre + width / 2
        except (TypeError, ValueError, IndexError):
            pass
        return _robust_range(values)
    if preset == "full":
        return float(values.min()), float(values.max())
    if preset == "robust":
        return _robust_range(values)
    raise DicomError(f"unknown window preset {preset!r}; choose one of {', '.join(PRESETS)}")


def _to_uint8(values: np.ndarray, lo: float, hi: float, owned: bool = False) -> np.ndarray:
    """Window to 8 bits with one float32 working copy changed in place (no float64, no second copy);
    ``owned``: ``values`` is already such a copy, free to change."""
    if hi <= lo:
        hi = lo + 1
    scaled = values if owned and values.dtype == np.float32 else values.astype(np.float32)
    scaled -= np.float32(lo)
    scaled *= np.float32(255.0 / (hi - lo))
    np.clip(scaled, 0, 255, out=scaled)
    return scaled.astype(np.uint8)


def _rescaled(array: np.ndarray, ds: Dataset) -> np.ndarray:
    """The modality LUT: a linear rescale in float32 (pydicom's is float64, twice the working memory of a
    16-bit frame); a ModalityLUTSequence through pydicom. The result is a fresh array, free to change."""
    from pydicom.pixels import apply_modality_lut

    if "ModalityLUTSequence" in ds:
        return np.asarray(apply_modality_lut(array, ds), dtype=np.float32)
    try:
        slope, intercept = _first(ds.get("RescaleSlope", 1) or 1), _first(ds.get("RescaleIntercept", 0) or 0)
    except (TypeError, ValueError, IndexError):
        slope, intercept = 1.0, 0.0
    values = array.astype(np.float32)
    if slope != 1.0:
        values *= np.float32(slope)
    if intercept != 0.0:
        values += np.float32(intercept)
    return values


Window = tuple[float, float]


def _grey(array: np.ndarray, ds: Dataset, preset: str, window: Window | None = None) -> tuple[np.ndarray, Window]:
    """8-bit grey and the (lo, hi) range mapped to black..white.

    ``window`` forces that range: the split view draws a corrected copy with
    its original's, since a blacked-out box shifts min/max and percentiles and
    the copy would otherwise look brighter or darker where nothing changed.
    """
    from pydicom.pixels import apply_voi_lut

    rescaled = "RescaleSlope" in ds or "ModalityLUTSequence" in ds
    values = _rescaled(array, ds) if rescaled else array
    if preset == "file" and "VOILUTSequence" in ds and "WindowWidth" not in ds:
        values = apply_voi_lut(values, ds)
        lo, hi = window or (float(values.min()), float(values.max()))
    else:
        lo, hi = window or window_range(values, ds, preset)
    owned = rescaled and values.dtype == np.float32 and not (preset == "file" and "VOILUTSequence" in ds)
    return _to_uint8(values, lo, hi, owned), (lo, hi)


def _colour(array: np.ndarray, ds: Dataset) -> np.ndarray:
    if array.dtype == np.uint8:
        return array
    bits = int(ds.get("BitsStored", 16) or 16)
    shift = max(0, bits - 8)
    return np.clip(array.astype(np.int64) >> shift, 0, 255).astype(np.uint8)


def _draw_overlays(image: np.ndarray, ds: Dataset) -> np.ndarray:
    result = image.copy()
    for group in range(0x6000, 0x6020, 2):
        if (group, 0x3000) not in ds:
            continue
        try:
            overlay = ds.overlay_array(group)
        except Exception:  # noqa: BLE001 - a bad overlay plane must not hide the image
            continue
        if overlay.ndim == 3:
            overlay = overlay[0]
        origin = ds.get((group, 0x0050))
        row0, col0 = (int(origin.value[0]) - 1, int(origin.value[1]) - 1) if origin is not None else (0, 0)
        h = min(overlay.shape[0], result.shape[0] - max(row0, 0))
        w = min(overlay.shape[1], result.shape[1] - max(col0, 0))
        if h <= 0 or w <= 0:
            continue
        mask = overlay[:h, :w].astype(bool)
        region = result[max(row0, 0) : max(row0, 0) + h, max(col0, 0) : max(col0, 0) + w]
        region[mask] = 255
    return result


def fit(image: np.ndarray, box: tuple[int, int]) -> np.ndarray:
    """Scale to fit the box (w, h) keeping aspect: area-averaging down, nearest up (pixels stay honest)."""
    from PIL import Image

    height, width = image.shape[:2]
    box_w, box_h = max(1, box[0]), max(1, box[1])
    scale = min(box_w / width, box_h / height)
    new_size = (max(1, int(width * scale)), max(1, int(height * scale)))
    if new_size == (width, height):
        return image
    resample = Image.Resampling.BOX if scale < 1 else Image.Resampling.NEAREST
    return np.asarray(Image.fromarray(image).resize(new_size, resample))


def crop_view(image: np.ndarray, zoom: float, center: tuple[float, float], box: tuple[int, int]) -> np.ndarray:
    """The part of the image a zoomed view shows, scaled to the box; zoom 1 is the fitted image."""
    from PIL import Image

    height, width = image.shape[:2]
    box_w, box_h = max(1, box[0]), max(1, box[1])
    scale = min(box_w / width, box_h / height) * max(1.0, zoom)
    crop_w = min(width, max(1, int(round(box_w / scale))))
    crop_h = min(height, max(1, int(round(box_h / scale))))
    cx = min(max(center[0], 0.0), 1.0) * width
    cy = min(max(center[1], 0.0), 1.0) * height
    x0 = int(min(max(cx - crop_w / 2, 0), width - crop_w))
    y0 = int(min(max(cy - crop_h / 2, 0), height - crop_h))
    crop = image[y0 : y0 + crop_h, x0 : x0 + crop_w]
    out_size = (max(1, min(box_w, int(crop_w * scale))), max(1, min(box_h, int(crop_h * scale))))
    resample = Image.Resampling.NEAREST if scale >= 1 else Image.Resampling.BOX
    return np.asarray(Image.fromarray(np.ascontiguousarray(crop)).resize(out_size, resample))


# What the review screen keeps of rendered 8-bit frames: 256 frames of 512x512 grey, 8 of 2048x2048 RGB.
# Stepping through any file then stays within this much of the first paint (issue: +150 MB).
FRAME_CACHE_BYTES = 64 * 1024 * 1024


class PreviewCache:
    """A small thread-safe LRU of rendered frames, bounded by bytes (not by count), for the UI's prefetch."""

    def __init__(self, max_bytes: int = FRAME_CACHE_BYTES) -> None:
        self.max_bytes = max_bytes
        self._items: OrderedDict[Hashable, np.ndarray] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> np.ndarray | None:
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
            return value

    def put(self, key: Hashable, value: np.ndarray) -> None:
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self._bytes -= old.nbytes
            if value.nbytes > self.max_bytes:
                return
            self._items[key] = value
            self._bytes += value.nbytes
            while self._bytes > self.max_bytes:
                _, evicted = self._items.popitem(last=False)
                self._bytes -= evicted.nbytes

    @property
    def nbytes(self) -> int:
        """Bytes the cached arrays hold now; never over ``max_bytes``."""
        with self._lock:
            return self._bytes

    def values(self) -> list[np.ndarray]:
        with self._lock:
            return list(self._items.values())

    def __len__(self) -> int:
        return len(self._items)
