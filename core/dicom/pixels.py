"""From a DICOM file to an 8-bit picture a reviewer can read, one frame at a time.

pydicom 3's frame-indexed decoding reads only the frame asked for, so frame
500 of a 300 MB cine loop costs one frame of memory. Then, as a viewer would:
modality LUT (rescale), VOI LUT or window centre/width (or a full-range or
robust-percentile preset), MONOCHROME1 inversion, palette colour, YBR to RGB
(done by pydicom), 8/16/32-bit and signed data, and overlay planes (60xx),
which can carry burned-in text of their own.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pydicom
import pydicom.uid
from pydicom.dataset import Dataset

from phi_review.core.common.errors import DicomError
from phi_review.core.common.inert import inert
from phi_review.core.common.regular import open_regular
from phi_review.core.dicom.header import truncation
from phi_review.core.dicom.view import (  # noqa: F401 - fit, crop_view, PreviewCache are public here too
    PRESETS,
    PreviewCache,
    _colour,
    _draw_overlays,
    _grey,
    crop_view,
    fit,
    window_range,
)
from phi_review.core.dicom.reading import (UNDEFINED, Damaged, ReadResult, first_fragment, is_known_syntax, read_dicom,
                                           read_deflated_pixels,
                                           syntax_name, syntax_uid)

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


# Working memory one frame may take: windowing works in float32, so each sample costs at least 4 bytes
# (64 M samples: 8192x8192 grey). Larger frames are refused before decoding.
FRAME_BUDGET = 256 * 1024 * 1024


def _syntax(ds: Dataset) -> tuple[str, str]:
    uid = syntax_uid(ds)
    if uid is None:
        return "", "Implicit VR Little Endian (no file meta)"
    return str(uid), syntax_name(ds)


def _check_decoder(ds: Dataset) -> None:
    uid = syntax_uid(ds)
    if uid is None:
        return
    if not is_known_syntax(uid):
        raise DicomError(f"pixels not decoded: {syntax_name(ds)} is not a transfer syntax this tool "
                         "can decode (the header can still be read)")
    from pydicom.pixels import get_decoder

    if not uid.is_compressed:
        return
    name = syntax_name(ds)
    try:
        decoder = get_decoder(uid)
    except NotImplementedError:
        raise DicomError(f"no decoder for {name} ({uid}): this transfer syntax is not supported") from None
    if not decoder.is_available:
        raise DicomError(f"no decoder for {name} ({uid}): {DECODER_HINT}")


def _int(ds: Dataset, keyword: str, default: int) -> int:
    try:
        value = ds.get(keyword, default)
        return int(value if value is not None and value != "" else default)
    except Exception:  # noqa: BLE001 - a wrong VR or a bad number: pydicom raises many kinds
        raise DicomError(f"{keyword} is unreadable: the pixels cannot be decoded") from None


def _text(ds: Dataset, keyword: str) -> str:
    try:
        return inert(str(ds.get(keyword, "") or ""))
    except Exception:  # noqa: BLE001
        return ""


def codestream_size(data: bytes) -> tuple[int, int, int, int] | None:
    """(columns, rows, components, bits) a JPEG / JPEG-LS (SOFn) or JPEG 2000 (SIZ) codestream declares.

    Why: a decoder allocates what the codestream says, whatever the header says,
    so a 60000x60000 claim must be refused before the decoder sees it.
    """
    at = data.find(b"\xff\x4f\xff\x51")  # J2K: SOC then SIZ (also inside a JP2 box)
    if at >= 0 and len(data) >= at + 4 + 38 + 3:
        siz = at + 4
        xsiz, ysiz, xo, yo = (int.from_bytes(data[siz + 4 + 4 * i: siz + 8 + 4 * i], "big") for i in range(4))
        components = int.from_bytes(data[siz + 36: siz + 38], "big")
        bits = (data[siz + 38] & 0x7F) + 1
        return max(0, xsiz - xo), max(0, ysiz - yo), components, bits
    if not data.startswith(b"\xff\xd8"):
        return None
    pos = 2
    while pos + 4 <= len(data):
        if data[pos] != 0xFF:
            return None
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        length = int.from_bytes(data[pos + 2: pos + 4], "big")
        if marker in (0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF, 0xF7):
            if pos + 10 > len(data):
                return None
            bits = data[pos + 4]
            rows = int.from_bytes(data[pos + 5: pos + 7], "big")
            columns = int.from_bytes(data[pos + 7: pos + 9], "big")
            return columns, rows, data[pos + 9], bits
        if marker == 0xDA:
            return None
        pos += 2 + length
    return None


def _mb(size: int) -> str:
    return f"{size / (1 << 20):,.0f} MB"


def _check_budget(path: Path, ds: Dataset, result: ReadResult) -> None:
    """Refuse, before decoding, a frame whose declared size would not fit the memory budget."""
    rows, columns = _int(ds, "Rows", 0), _int(ds, "Columns", 0)
    samples, bits = _int(ds, "SamplesPerPixel", 1), _int(ds, "BitsAllocated", 8)
    if rows <= 0 or columns <= 0:
        raise DicomError(f"no image to show: the header declares {columns}x{rows} pixels")
    size = rows * columns * max(1, samples) * max(4, -(-bits // 8))
    if size > FRAME_BUDGET:
        raise DicomError(f"frame not decoded: {columns}x{rows}x{samples} at {bits} bits would need {_mb(size)} to decode and window, "
                         f"over the {_mb(FRAME_BUDGET)} budget")
    if result.pixels is None or result.pixels.length != UNDEFINED:
        return
    try:
        fragment = first_fragment(path, result.pixels)
    except OSError:
        return
    if not fragment:
        return
    declared = codestream_size(fragment)
    if declared is None:
        return
    width, height, components, depth = declared
    size = width * height * max(1, components) * max(4, -(-depth // 8))
    if size > FRAME_BUDGET:
        raise DicomError(f"frame not decoded: its compressed data declares {width}x{height}x{components} "
                         f"at {depth} bits ({_mb(size)}), over the {_mb(FRAME_BUDGET)} budget")


def _header(path: Path) -> ReadResult:
    """The bounded header read every pixel path starts with; DicomError in one line if unreadable."""
    try:
        return read_dicom(path)
    except Damaged as damage:
        raise DicomError(f"{inert(path.name)}: cannot read header: {damage}") from None


def _guard(path: Path, result: ReadResult | None = None) -> ReadResult:
    """Header, truncation, syntax, decoder and memory-budget checks: what must hold before decoding."""
    result = result or _header(path)
    ds = result.dataset
    problem = result.error if result.error and "out of order" not in result.error else None
    problem = problem or truncation(path, ds, result.pixels)
    if problem:
        raise DicomError(problem)
    if "Rows" not in ds or "Columns" not in ds:
        raise DicomError("no pixel data in this file")
    _check_decoder(ds)
    _check_budget(path, ds, result)
    return result


def image_info(path: str | Path) -> ImageInfo:
    """What the pixel data is, from the header alone; DicomError if there is nothing to show."""
    path = Path(path)
    result = _header(path)
    ds = result.dataset
    meta = getattr(ds, "file_meta", None)
    if (meta is None or not len(meta)) and "SOPClassUID" not in ds and "Rows" not in ds:
        raise DicomError(f"{inert(path.name)} is not a DICOM file")
    _guard(path, result)
    try:
        frames = int(ds.get("NumberOfFrames", 1) or 1)
    except Exception:  # noqa: BLE001 - damaged value: one frame
        frames = 1
    overlays = any((group, 0x3000) in ds for group in range(0x6000, 0x6020, 2))
    return ImageInfo(
        frames=max(1, frames),
        rows=_int(ds, "Rows", 0),
        columns=_int(ds, "Columns", 0),
        photometric=_text(ds, "PhotometricInterpretation"),
        transfer_syntax=_syntax(ds)[1],
        bits_stored=_int(ds, "BitsStored", _int(ds, "BitsAllocated", 8)),
        has_overlays=overlays,
        modality=_text(ds, "Modality"),
    )


_FATAL = (KeyboardInterrupt, SystemExit, GeneratorExit)


def _reasons(error: BaseException) -> str:
    """Every line of a decoder's message on one line: pydicom lists each plugin's reason after a colon."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    if not lines:
        return type(error).__name__
    head, rest = lines[0].rstrip(":"), lines[1:]
    text = f"{head}: {'; '.join(rest)}" if rest else head
    return inert(text[:600])


def _repair_sos(codestream: bytes) -> bytes | None:
    """A sequential (SOF0/SOF1) JPEG whose scan header says Ss/Se other than 0/63 (seen in 12-bit
    JPEG Extended files, pydicom's JPEG-lossy.dcm among them): set them as the standard requires."""
    info = codestream_size(codestream)
    sof = codestream.find(b"\xff\xc1")
    if info is None or (sof < 0 and codestream.find(b"\xff\xc0") < 0):
        return None
    data = bytearray(codestream)
    pos, changed = 2, False
    while pos + 4 <= len(data) and data[pos] == 0xFF:
        marker = data[pos + 1]
        if marker == 0xFF:
            pos += 1
            continue
        length = int.from_bytes(data[pos + 2: pos + 4], "big")
        if marker == 0xDA:
            count = data[pos + 4]
            spectral = pos + 5 + 2 * count
            if spectral + 3 > len(data):
                return None
            if (data[spectral], data[spectral + 1], data[spectral + 2]) != (0, 63, 0):
                data[spectral: spectral + 3] = b"\x00\x3f\x00"
                changed = True
            break
        pos += 2 + length
    return bytes(data) if changed else None


def _decode_repaired(path: Path, result: ReadResult, frame: int) -> np.ndarray | None:
    """Decode a JPEG frame with a repaired scan header through libjpeg, as pydicom would have returned it."""
    uid = syntax_uid(result.dataset)
    if uid is None or uid not in (pydicom.uid.JPEGBaseline8Bit, pydicom.uid.JPEGExtended12Bit):
        return None
    if result.pixels is None or result.pixels.length != UNDEFINED:
        return None
    try:
        from libjpeg import decode
        from pydicom.encaps import get_frame

        ds = result.dataset
        frames = max(1, int(ds.get("NumberOfFrames", 1) or 1))
        with open_regular(path) as handle:
            handle.seek(result.pixels.value_offset)
            codestream = get_frame(handle, frame, number_of_frames=frames)
        repaired = _repair_sos(codestream)
        if repaired is None:
            return None
        array = decode(repaired)
    except BaseException as error:  # noqa: BLE001 - the repair is a second chance, never a new failure
        if isinstance(error, _FATAL):
            raise
        return None
    if array.shape[:2] != (_int(ds, "Rows", 0), _int(ds, "Columns", 0)):
        return None
    if _int(ds, "PixelRepresentation", 0) == 1 and array.dtype.kind == "u":
        stored = _int(ds, "BitsStored", array.dtype.itemsize * 8)
        signed = array.astype(np.int32)
        signed[signed >= (1 << (stored - 1))] -= 1 << stored
        array = signed.astype(np.int16 if array.dtype.itemsize == 2 else np.int8)
    return array


def decode_frame(path: str | Path, frame: int = 0) -> tuple[np.ndarray, Dataset]:
    """One frame as pydicom returns it (YBR already RGB), plus the dataset for the LUTs.

    Checked first (``_guard``): declared size against ``FRAME_BUDGET``, truncation,
    a known syntax and an installed decoder. A decoder's panic or any failure is one line.
    """
    from pydicom.pixels import pixel_array

    path = Path(path)
    result = _guard(path)
    ds = Dataset()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            if result.deflated:
                full = read_deflated_pixels(path)  # inflated under INFLATE_LIMIT, trailing bytes never read
                array = full.pixel_array
                frames = _int(full, "NumberOfFrames", 1)
                array = array[frame] if frames > 1 else array
                return array, full
            uid = syntax_uid(result.dataset)
            # RLE through pydicom's own numpy decoder: the Rust one (pylibjpeg-rle) panics on damaged
            # segments and its panic hook prints over the review screen before Python can catch it.
            plugin = "pydicom" if uid == pydicom.uid.RLELossless else ""
            with open_regular(path) as handle:
                array = pixel_array(handle, index=frame, ds_out=ds, decoding_plugin=plugin)
        except BaseException as error:  # noqa: BLE001 - a Rust decoder's PanicException is a BaseException
            if isinstance(error, _FATAL):
                raise
            if isinstance(error, MemoryError):
                raise DicomError(f"cannot decode frame {frame + 1}: not enough memory") from None
            repaired = _decode_repaired(path, result, frame)
            if repaired is not None:
                return repaired, result.dataset
            raise DicomError(f"cannot decode frame {frame + 1}: {_reasons(error)}") from None
    return array, ds


def render_frame(
    path: str | Path,
    frame: int = 0,
    *,
    preset: str = "file",
    invert: bool = False,
    overlays: bool = False,
    window: tuple[float, float] | None = None,
) -> np.ndarray:
    """Frame ``frame`` as uint8 at full resolution: (H, W) grey or (H, W, 3) RGB.

    Any failure is a one-line DicomError: a damaged LUT or window value must not
    become a traceback after the pixels decoded.
    """
    return render_frame_window(path, frame, preset=preset, invert=invert, overlays=overlays, window=window)[0]


def render_frame_window(
    path: str | Path,
    frame: int = 0,
    *,
    preset: str = "file",
    invert: bool = False,
    overlays: bool = False,
    window: tuple[float, float] | None = None,
) -> tuple[np.ndarray, tuple[float, float] | None]:
    """``render_frame`` and the grey range it used (None for colour): ``window`` draws another file,
    e.g. a corrected copy, with exactly this one's window."""
    try:
        return _render_frame(path, frame, preset=preset, invert=invert, overlays=overlays, window=window)
    except DicomError:
        raise
    except MemoryError:
        raise DicomError(f"cannot show frame {frame + 1}: not enough memory") from None
    except Exception as error:  # noqa: BLE001
        raise DicomError(f"cannot show frame {frame + 1}: {_reasons(error)}") from None


def _render_frame(path: str | Path, frame: int, *, preset: str, invert: bool, overlays: bool,
                  window: tuple[float, float] | None = None) -> tuple[np.ndarray, tuple[float, float] | None]:
    if preset not in PRESETS:
        raise DicomError(f"unknown window preset {preset!r}; choose one of {', '.join(PRESETS)}")
    array, ds = decode_frame(path, frame)
    used: tuple[float, float] | None = None
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
        image, used = _grey(array, ds, preset, window)
        if photometric == "MONOCHROME1":
            image = 255 - image
    if overlays:
        # pydicom's frame decoder keeps only the pixel module; overlays live in group 60xx.
        image = _draw_overlays(image, _header(Path(path)).dataset)
    if invert:
        image = 255 - image
    return np.ascontiguousarray(image), used
