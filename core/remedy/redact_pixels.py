"""The pixel work of a blackout: which value is black, decoding a frame, choosing a lossless syntax.

Split from ``redact`` so each module keeps one job. Black is the darkest value
of the image in its own colour space: the lowest stored value (the highest for
MONOCHROME1), the palette's darkest entry, Y lowest with neutral chroma for
YBR, and for a JPEG frame blanked in the DCT domain the frame's darkest
decoded level.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from pydicom.dataset import Dataset
from pydicom.uid import UID, JPEG2000Lossless, JPEGLSLossless, RLELossless

from phi_review.core.remedy.output import RemedyError


def lossless_target(ds: Dataset, preferred: UID) -> UID | None:
    """The lossless syntax the frames are re-encoded in: the original's own when an encoder takes the layout."""
    allocated = int(ds.get("BitsAllocated", 8))
    stored = int(ds.get("BitsStored", allocated))
    fits = {
        RLELossless: allocated in (8, 16),
        JPEGLSLossless: allocated in (8, 16) and 2 <= stored <= 16,
        JPEG2000Lossless: allocated in (8, 16) and stored <= 24,
    }
    for target in (preferred, JPEG2000Lossless, RLELossless):
        if fits.get(target) and encoder_ready(target):
            return target
    return None


def decodable(syntax: UID) -> bool:
    from pydicom.pixels import get_decoder

    try:
        return bool(get_decoder(syntax).is_available)
    except Exception:
        return False


def encoder_ready(syntax: UID) -> bool:
    from pydicom.pixels import get_encoder

    try:
        return bool(get_encoder(syntax).is_available)
    except Exception:
        return False


def decode_frame(ds: Dataset, fragment: bytes, syntax: UID, source_pi: str) -> np.ndarray:
    """Decode one compressed frame to an array (colour as RGB), through pydicom's decoders."""
    from pydicom.encaps import encapsulate
    from pydicom.pixels import get_decoder

    kwargs = dict(
        rows=int(ds.Rows),
        columns=int(ds.Columns),
        samples_per_pixel=int(ds.get("SamplesPerPixel", 1)),
        bits_allocated=int(ds.BitsAllocated),
        bits_stored=int(ds.get("BitsStored", ds.BitsAllocated)),
        pixel_representation=int(ds.get("PixelRepresentation", 0)),
        photometric_interpretation=source_pi,
        planar_configuration=0,
        number_of_frames=1,
        pixel_keyword="PixelData",
    )
    try:
        array, _meta = get_decoder(syntax).as_array(encapsulate([fragment]), **kwargs)
    except Exception as error:  # decoders raise many kinds for a damaged frame
        raise RemedyError(f"{syntax.name}: a frame cannot be decoded ({type(error).__name__})") from None
    return np.array(array, copy=True)


def fill_value(ds: Dataset, pi: str) -> Any:
    """The value that displays black: darkest stored value, the brightest for MONOCHROME1, the palette's darkest entry."""
    stored = int(ds.get("BitsStored", ds.get("BitsAllocated", 8)))
    signed = int(ds.get("PixelRepresentation", 0)) == 1
    low, high = (-(1 << (stored - 1)), (1 << (stored - 1)) - 1) if signed else (0, (1 << stored) - 1)
    samples = int(ds.get("SamplesPerPixel", 1))
    if pi == "MONOCHROME1":
        return high
    if pi == "PALETTE COLOR":
        return darkest_palette_index(ds)
    if samples == 3 and pi.startswith("YBR"):
        mid = 1 << (stored - 1)
        return np.array([0, mid, mid])
    if samples == 3:
        return np.array([0, 0, 0])
    return low


def darkest_palette_index(ds: Dataset) -> int:
    try:
        from pydicom.pixels import apply_color_lut

        descriptor = ds.RedPaletteColorLookupTableDescriptor
        entries = int(descriptor[0]) or 65536
        first = int(descriptor[1])
        indices = np.arange(first, first + entries, dtype=np.uint16 if int(ds.BitsAllocated) > 8 else np.uint8)
        rgb = apply_color_lut(indices, ds).astype(np.int64).sum(axis=-1)
        return int(indices[int(np.argmin(rgb))])
    except Exception:  # a palette pydicom cannot apply: index 0 is the usual black
        return 0


def clear_high_bits(frame: np.ndarray, stored: int, allocated: int, signed: bool) -> np.ndarray:
    """Bits above BitsStored can carry an old overlay: clear them (sign-extend signed data)."""
    if stored >= allocated:
        return frame
    shift = allocated - stored
    if signed:
        wide = frame.astype(np.int64)
        mask = (1 << stored) - 1
        value = wide & mask
        value = np.where(value >= (1 << (stored - 1)), value - (1 << stored), value)
        return value.astype(frame.dtype)
    del shift
    return frame & frame.dtype.type((1 << stored) - 1)


def ybr422_pairs(raw: np.ndarray, rows: int, columns: int) -> np.ndarray:
    """Native YBR_FULL_422 as stored: (rows, columns/2, 4) pixel pairs of Y0 Y1 Cb Cr (PS3.5 8.2.3)."""
    if columns % 2:
        raise RemedyError("YBR_FULL_422 with an odd number of columns cannot be read")
    return raw.reshape(rows, columns // 2, 4)


def fill_ybr422(pairs: np.ndarray, box: Any, stored: int) -> None:
    """Black in the original's own colour space: Y at its lowest, Cb and Cr neutral.

    Two pixels of a pair share their chroma, so the box is widened to whole
    pairs (at most one pixel a side): blanking only one pixel's Y would leave
    it coloured by the pair's chroma, not black.
    """
    x0, x1 = box.x0 // 2, -(-box.x1 // 2)
    pairs[box.y0 : box.y1, x0:x1, 0:2] = 0
    pairs[box.y0 : box.y1, x0:x1, 2:4] = 1 << (stored - 1)


def jpeg_dark_levels(ds: Dataset, fragment: bytes, syntax: UID, source_pi: str, colour: str) -> list[int]:
    """Each JPEG component's black for one frame: the level its blanked blocks decode to.

    Monochrome: the frame's darkest decoded value (its brightest for
    MONOCHROME1, which displays it black). Colour: the lowest luma of the frame
    (Y = 0.299 R + 0.587 G + 0.114 B); a YCbCr stream puts it in Y with Cb and
    Cr neutral, an RGB stream in all three, so the patch is a dark grey, never
    tinted. Without a decoder the range's own black is used.
    """
    stored = int(ds.get("BitsStored", ds.get("BitsAllocated", 8)))
    high, mid = (1 << stored) - 1, 1 << (stored - 1)
    try:
        frame = decode_frame(ds, fragment, syntax, source_pi).astype(np.float64)
    except RemedyError:
        frame = None
    if int(ds.get("SamplesPerPixel", 1)) == 1:
        signed = int(ds.get("PixelRepresentation", 0)) == 1
        if source_pi == "MONOCHROME1":
            level = (mid - 1 if signed else high) if frame is None else int(np.ceil(frame.max()))
        elif source_pi == "PALETTE COLOR":
            level = darkest_palette_index(ds)
        else:
            level = (-mid if signed else 0) if frame is None else int(np.floor(frame.min()))
        return [level & high]  # JPEG samples are unsigned: signed data is coded as its bit pattern
    luma = 0 if frame is None else int(np.floor((frame[..., :3] @ np.array([0.299, 0.587, 0.114])).min()))
    ycc = source_pi.startswith("YBR") or (source_pi != "RGB" and colour != "rgb") or (source_pi == "RGB" and colour == "ycc")
    return [luma, mid, mid] if ycc else [luma, luma, luma]


def strip_hidden_pixels(ds: Dataset, facts: dict[str, Any]) -> None:
    """Remove overlay planes (60xx) and the icon image: both can repeat the burned-in text."""
    overlays = sorted({tag.group for tag in ds.keys() if 0x6000 <= tag.group <= 0x601E and tag.group % 2 == 0})
    for group in overlays:
        for tag in [t for t in ds.keys() if t.group == group]:
            del ds[tag]
    if overlays:
        facts["overlays_removed"] = [f"{g:04X}" for g in overlays]
    if "IconImageSequence" in ds:
        del ds.IconImageSequence
        facts["icon_removed"] = True
