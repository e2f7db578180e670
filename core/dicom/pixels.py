"""From a DICOM file to an 8-bit picture a reviewer can read, one frame at a time.

pydicom 3's frame-indexed decoding reads only the frame asked for, so frame
500 of a 300 MB cine loop costs one frame of memory. Then, as a viewer would:
modality LUT (rescale), VOI LUT or window centre/width (or a full-range or
robust-percentile preset), MONOCHROME1 inversion, palette colour, YBR to RGB
(done by pydicom), 8/16/32-bit and signed data, and overlay planes (60xx),
which can carry burned-in text of their own.
"""

from __future__ import annotations

import threading
import warnings
from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pydicom
from pydicom.dataset import Dataset

from phi_review.core.common.errors import DicomError

PRESETS: tuple[str, ...] = ("file", "full", "robust")
DECODER_HINT = "install phi-review's decoders: pip install pylibjpeg pylibjpeg-libjpeg pylibjpeg-openjpeg pylibjpeg-rle"


@dataclass(frozen=True)
class ImageInfo:
    frames: int
    rows: int
    columns: int
    photometric: str
    transfer_syntax: str
    bits_stored: int
    has_overlays: bool
    modality: str


def _syntax(ds: Dataset) -> tuple[str, str]:
    meta = getattr(ds, "file_meta", None)
    uid = meta.get("TransferSyntaxUID") if meta is not None else None
    if uid is None:
        return "", "Implicit VR Little Endian (no file meta)"
    return str(uid), uid.name if uid.name != str(uid) else str(uid)


def _check_decoder(ds: Dataset) -> None:
    uid_text, name = _syntax(ds)
    if not uid_text:
        return
    from pydicom.pixels import get_decoder
    from pydicom.uid import UID

    uid = UID(uid_text)
    if not uid.is_compressed:
        return
    try:
        decoder = get_decoder(uid)
    except NotImplementedError:
        raise DicomError(f"no decoder for {name} ({uid_text}): this transfer syntax is not supported") from None
    if not decoder.is_available:
        raise DicomError(f"no decoder for {name} ({uid_text}): {DECODER_HINT}")


def image_info(path: str | Path) -> ImageInfo:
    """What the pixel data is, from the header alone; DicomError if there is nothing to show."""
    path = Path(path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            ds = pydicom.dcmread(path, stop_before_pixels=True, force=True)
        except Exception as error:  # noqa: BLE001
            raise DicomError(f"{path.name}: cannot read header: {str(error).splitlines()[0] if str(error) else error}") from None
    from phi_review.core.dicom.header import truncation

    meta = getattr(ds, "file_meta", None)
    if (meta is None or not len(meta)) and "SOPClassUID" not in ds and "Rows" not in ds:
        raise DicomError(f"{path.name} is not a DICOM file")
    problem = truncation(path, ds)
    if problem:
        raise DicomError(problem)
    if "Rows" not in ds or "Columns" not in ds:
        raise DicomError("no pixel data in this file")
    _check_decoder(ds)
    try:
        frames = int(ds.get("NumberOfFrames", 1) or 1)
    except (TypeError, ValueError):
        frames = 1
    overlays = any((group, 0x3000) in ds for group in range(0x6000, 0x6020, 2))
    return ImageInfo(
        frames=max(1, frames),
        rows=int(ds.Rows),
        columns=int(ds.Columns),
        photometric=str(ds.get("PhotometricInterpretation", "") or ""),
        transfer_syntax=_syntax(ds)[1],
        bits_stored=int(ds.get("BitsStored", ds.get("BitsAllocated", 8)) or 8),
        has_overlays=overlays,
        modality=str(ds.get("Modality", "") or ""),
    )


def decode_frame(path: str | Path, frame: int = 0) -> tuple[np.ndarray, Dataset]:
    """One frame as pydicom returns it (YBR already RGB), plus the dataset for the LUTs."""
    from pydicom.pixels import pixel_array

    path = Path(path)
    ds = Dataset()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            array = pixel_array(str(path), index=frame, ds_out=ds)
        except (NotImplementedError, RuntimeError) as error:
            header = pydicom.dcmread(path, stop_before_pixels=True, force=True)
            _check_decoder(header)
            raise DicomError(f"cannot decode frame {frame + 1}: {str(error).splitlines()[0]}") from None
        except (ValueError, EOFError, OSError, KeyError, AttributeError, TypeError) as error:
            message = str(error).splitlines()[0] if str(error) else type(error).__name__
            raise DicomError(f"cannot decode frame {frame + 1}: {message[:160]}") from None
    return array, ds


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


def _to_uint8(values: np.ndarray, lo: float, hi: float) -> np.ndarray:
    if hi <= lo:
        hi = lo + 1
    scaled = (values.astype(np.float32) - lo) * (255.0 / (hi - lo))
    return np.clip(scaled, 0, 255).astype(np.uint8)


def _grey(array: np.ndarray, ds: Dataset, preset: str) -> np.ndarray:
    from pydicom.pixels import apply_modality_lut, apply_voi_lut

    values = apply_modality_lut(array, ds) if ("RescaleSlope" in ds or "ModalityLUTSequence" in ds) else array
    if preset == "file" and "VOILUTSequence" in ds and "WindowWidth" not in ds:
        values = apply_voi_lut(values, ds)
        return _to_uint8(values, float(values.min()), float(values.max()))
    lo, hi = window_range(values, ds, preset)
    return _to_uint8(values, lo, hi)


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


def render_frame(
    path: str | Path,
    frame: int = 0,
    *,
    preset: str = "file",
    invert: bool = False,
    overlays: bool = False,
) -> np.ndarray:
    """Frame ``frame`` as uint8 at full resolution: (H, W) grey or (H, W, 3) RGB."""
    if preset not in PRESETS:
        raise DicomError(f"unknown window preset {preset!r}; choose one of {', '.join(PRESETS)}")
    array, ds = decode_frame(path, frame)
    photometric = str(ds.get("PhotometricInterpretation", "MONOCHROME2") or "MONOCHROME2").upper()
    if photometric == "PALETTE COLOR":
        from pydicom.pixels import apply_color_lut

        rgb = apply_color_lut(array, ds)
        image = _colour(rgb, ds) if rgb.dtype != np.uint8 else rgb
        if rgb.dtype != np.uint8:
            image = (rgb.astype(np.float32) / max(1.0, float(rgb.max())) * 255).astype(np.uint8)
    elif array.ndim == 3 and array.shape[-1] in (3, 4):
        image = _colour(array[..., :3], ds)
    else:
        if array.ndim == 3:  # a multi-sample grey frame: take the first sample
            array = array[..., 0]
        image = _grey(array, ds, preset)
        if photometric == "MONOCHROME1":
            image = 255 - image
    if overlays:
        # pydicom's frame decoder keeps only the pixel module; overlays live in group 60xx.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            header = pydicom.dcmread(path, stop_before_pixels=True, force=True)
        image = _draw_overlays(image, header)
    if invert:
        image = 255 - image
    return np.ascontiguousarray(image)


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


class PreviewCache:
    """A small thread-safe LRU of rendered frames, bounded by bytes, for the UI's prefetch."""

    def __init__(self, max_bytes: int = 256 * 1024 * 1024) -> None:
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

    def __len__(self) -> int:
        return len(self._items)
