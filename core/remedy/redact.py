"""Black out boxes of burned-in text in a corrected copy, frame by frame, never lossy.

Three pixel paths, chosen from the original's transfer syntax:

- native data: the box is filled with the darkest value (the brightest stored
  value for MONOCHROME1, which displays black), bits above BitsStored are
  cleared on every frame (they can hold an old overlay), YBR_FULL_422 is
  written back as RGB and relabelled;
- JPEG baseline/extended: blanked in the DCT domain (``jpeg_dct``), transfer
  syntax kept, every block outside the box bit-identical;
- other compressed syntaxes: each frame decoded, blanked and re-encoded
  losslessly (RLE, JPEG-LS lossless, JPEG 2000 lossless); a lossy original
  keeps LossyImageCompression 01.

Overlay planes (60xx) and the Icon Image Sequence are removed from the copy:
both can carry the same burned-in text and neither is needed for review.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
from pydicom.dataset import Dataset
from pydicom.multival import MultiValue
from pydicom.encaps import generate_frames
from pydicom.sequence import Sequence as DicomSequence
from pydicom.uid import (
    UID,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    JPEG2000,
    JPEG2000Lossless,
    JPEGBaseline8Bit,
    JPEGExtended12Bit,
    JPEGLSLossless,
    JPEGLSNearLossless,
    RLELossless,
)

from phi_review.core.remedy.jpeg_dct import JpegDctError, blank_jpeg, mcu_size
from phi_review.core.remedy.boxes import Box, boxes_from_ocr, parse_frames  # noqa: F401 - public here too
from phi_review.core.remedy.output import PixelElement, RemedyError, derived_uid, write_pixel_header

CLEAN_PIXEL_CODE = ("113101", "DCM", "Clean Pixel Data Option")
METHOD_TEXT = "phi-review: burned-in text blacked out (Clean Pixel Data Option)"
DCT_SYNTAXES = {JPEGBaseline8Bit, JPEGExtended12Bit}
# original syntax -> lossless syntax its frames are re-encoded with
REENCODE = {
    RLELossless: RLELossless,
    JPEG2000Lossless: JPEG2000Lossless,
    JPEG2000: JPEG2000Lossless,
    JPEGLSLossless: JPEGLSLossless,
    JPEGLSNearLossless: JPEGLSLossless,
}
LOSSY_SYNTAXES = {JPEGBaseline8Bit, JPEGExtended12Bit, JPEG2000, JPEGLSNearLossless, UID("1.2.840.10008.1.2.4.203")}


@dataclass
class Redaction:
    """A pixel edit for ``output.write_copy``: these boxes, on these frames (0-based; None = every frame).

    ``keep_uids`` keeps the SOP Instance UID (a site replacing an instance in
    place); otherwise a deterministic new one is derived. ``confirm_clean``
    records the reviewer's word that the copy is clean (BurnedInAnnotation NO).
    """

    boxes: Sequence[Box]
    frames: Sequence[int] | None = None
    keep_uids: bool = False
    confirm_clean: bool = False
    uid_root: str | None = None
    facts: dict[str, Any] = field(default_factory=dict)
    _mode: str = ""
    _frame_count: int = 1
    _chosen: frozenset[int] = frozenset()
    _fill: Any = 0
    _out_syntax: UID = ExplicitVRLittleEndian
    _in_pi: str = ""

    # -- header ---------------------------------------------------------------------------
    def prepare(self, ds: Dataset, element: PixelElement) -> dict[str, Any]:
        """Check the boxes and frames against the image, choose the pixel path, set the copy's tags."""
        self.facts = {}  # one Redaction may serve several files: each copy gets its own facts
        rows, columns = int(ds.get("Rows", 0) or 0), int(ds.get("Columns", 0) or 0)
        if not rows or not columns:
            raise RemedyError("the file has no image (Rows/Columns missing)")
        if not self.boxes:
            raise RemedyError("no box to black out")
        for box in self.boxes:
            box.check(columns, rows)
        self._frame_count = int(ds.get("NumberOfFrames", 1) or 1)
        chosen = range(self._frame_count) if self.frames is None else self.frames
        for frame in chosen:
            if not 0 <= frame < self._frame_count:
                raise RemedyError(f"frame {frame + 1} is outside the file's {self._frame_count} frame(s)")
        self._chosen = frozenset(chosen)
        syntax = UID(str(ds.file_meta.TransferSyntaxUID))
        self._source_syntax = syntax
        self._in_pi = str(ds.get("PhotometricInterpretation", "MONOCHROME2")).strip()
        if not element.encapsulated:
            self._mode = "native"
            self._out_syntax = ImplicitVRLittleEndian if syntax == ImplicitVRLittleEndian else ExplicitVRLittleEndian
            if int(ds.get("BitsAllocated", 16)) not in (8, 16, 32):
                raise RemedyError(f"{ds.get('BitsAllocated')}-bit pixel data has no blackout path")
            if self._in_pi == "YBR_FULL_422":
                ds.PhotometricInterpretation = "RGB"
                ds.PlanarConfiguration = 0
            self._fill = _fill_value(ds, self._in_pi)
        elif syntax in DCT_SYNTAXES:
            self._mode = "dct"
            self._out_syntax = syntax
        elif syntax in REENCODE or _decodable(syntax):
            self._mode = "reencode"
            target = _lossless_target(ds, REENCODE.get(syntax, JPEG2000Lossless))
            if target is None or not _decodable(syntax):
                raise RemedyError(f"{syntax.name}: no lossless way to write the blacked-out frames")
            self._out_syntax = target
            if int(ds.get("SamplesPerPixel", 1)) == 3:
                ds.PhotometricInterpretation = "RGB"
                ds.PlanarConfiguration = 0
            self._fill = _fill_value(ds, str(ds.get("PhotometricInterpretation", "")))
            if target == JPEG2000Lossless and int(ds.get("SamplesPerPixel", 1)) == 3:
                ds.PhotometricInterpretation = "YBR_RCT"  # PS3.5 8.2.4: colour JPEG 2000 lossless uses the reversible MCT
        else:
            raise RemedyError(f"{syntax.name}: no lossless way to write the blacked-out frames")
        ds.file_meta.TransferSyntaxUID = self._out_syntax
        if syntax in LOSSY_SYNTAXES or str(ds.get("LossyImageCompression", "")) == "01":
            ds.LossyImageCompression = "01"
        _strip_hidden_pixels(ds, self.facts)
        self._set_tags(ds)
        self.facts.update(
            {
                "boxes": [list(b.as_tuple()) for b in self.boxes],
                "frames": sorted(f + 1 for f in self._chosen),
                "frame_count": self._frame_count,
                "method": {"native": "fill", "dct": "jpeg-dct-blocks", "reencode": "decode-fill-lossless"}[self._mode],
                "photometric_in": self._in_pi,
                "photometric_out": str(ds.get("PhotometricInterpretation", "")),
            }
        )
        return self.facts

    def _set_tags(self, ds: Dataset) -> None:
        if not self.keep_uids and "SOPInstanceUID" in ds:
            ds.SOPInstanceUID = derived_uid(str(ds.SOPInstanceUID), self.uid_root)
        method = ds.get("DeidentificationMethod")
        methods = [str(v) for v in method] if isinstance(method, MultiValue) else ([str(method)] if method else [])
        if METHOD_TEXT not in methods:
            ds.DeidentificationMethod = [*methods, METHOD_TEXT] if methods else METHOD_TEXT
        codes = ds.get("DeidentificationMethodCodeSequence")
        if codes is None:
            codes = DicomSequence()
            ds.DeidentificationMethodCodeSequence = codes
        if not any(str(item.get("CodeValue", "")) == CLEAN_PIXEL_CODE[0] for item in codes):
            item = Dataset()
            item.CodeValue, item.CodingSchemeDesignator, item.CodeMeaning = CLEAN_PIXEL_CODE
            codes.append(item)
        if self.confirm_clean:
            ds.BurnedInAnnotation = "NO"

    # -- pixels -------------------------------------------------------------------------------
    def write(self, ds: Dataset, element: PixelElement, src: BinaryIO, dst: BinaryIO) -> None:
        """Stream the new Pixel Data element: one frame in memory at a time."""
        if self._mode == "native":
            self._write_native(ds, element, src, dst)
        else:
            self._write_encapsulated(ds, element, src, dst)

    def _write_native(self, ds: Dataset, element: PixelElement, src: BinaryIO, dst: BinaryIO) -> None:
        rows, columns = int(ds.Rows), int(ds.Columns)
        samples = int(ds.get("SamplesPerPixel", 1))
        allocated = int(ds.BitsAllocated)
        stored = int(ds.get("BitsStored", allocated))
        signed = int(ds.get("PixelRepresentation", 0)) == 1
        planar = int(ds.get("PlanarConfiguration", 0) or 0)
        ybr422 = self._in_pi == "YBR_FULL_422"
        in_frame = rows * columns * (2 if ybr422 else samples) * allocated // 8
        out_frame = rows * columns * samples * allocated // 8
        if (element.length or 0) < in_frame * self._frame_count:
            raise RemedyError("the pixel data is shorter than its frames")
        total = out_frame * self._frame_count
        implicit = self._out_syntax == ImplicitVRLittleEndian
        write_pixel_header(dst, "OB" if allocated == 8 else "OW", total + (total & 1), implicit=implicit)
        kind = "i" if signed else "u"
        dtype_in = np.dtype(f"{'<' if element.little_endian else '>'}{kind}{allocated // 8}")
        for index in range(self._frame_count):
            src.seek(element.value_offset + index * in_frame)
            raw = src.read(in_frame)
            if len(raw) < in_frame:
                raise RemedyError("the pixel data is cut short")
            if ybr422:
                frame = _ybr422_to_rgb(np.frombuffer(raw, dtype=np.uint8), rows, columns)
            else:
                frame = np.frombuffer(raw, dtype=dtype_in).astype(dtype_in.newbyteorder("<"), copy=True)
                if samples == 1:
                    frame = frame.reshape(rows, columns)
                elif planar == 1:
                    frame = frame.reshape(samples, rows, columns)
                else:
                    frame = frame.reshape(rows, columns, samples)
                frame = _clear_high_bits(frame, stored, allocated, signed)
            if index in self._chosen:
                for box in self.boxes:
                    if samples > 1 and planar == 1 and not ybr422:
                        for s in range(samples):
                            frame[s, box.y0 : box.y1, box.x0 : box.x1] = self._fill[s]
                    else:
                        frame[box.y0 : box.y1, box.x0 : box.x1] = self._fill
            dst.write(frame.tobytes())
        if total & 1:
            dst.write(b"\x00")

    def _write_encapsulated(self, ds: Dataset, element: PixelElement, src: BinaryIO, dst: BinaryIO) -> None:
        count = self._frame_count
        dst.write(struct.pack("<HH2sHL", 0x7FE0, 0x0010, b"OB", 0, 0xFFFFFFFF))
        dst.write(struct.pack("<HHL", 0xFFFE, 0xE000, 4 * count if count > 1 else 0))
        table_at = dst.tell()
        if count > 1:
            dst.write(b"\x00" * 4 * count)
        first_item = dst.tell()
        offsets = []
        src.seek(element.value_offset)
        blanked_blocks = 0
        mcu = None
        for index, fragment in enumerate(generate_frames(src, number_of_frames=count)):
            if index >= count:
                break
            offsets.append(dst.tell() - first_item)
            if index in self._chosen:
                if self._mode == "dct":
                    try:
                        mcu = mcu or mcu_size(fragment)
                        fragment, blocks = blank_jpeg(fragment, [b.as_tuple() for b in self.boxes])
                    except JpegDctError as error:
                        raise RemedyError(f"{error} (frame {index + 1})") from None
                    blanked_blocks += blocks
                else:
                    fragment = self._reencode(ds, fragment)
            elif self._mode == "reencode" and self._out_syntax != self._source_syntax:
                fragment = self._reencode(ds, fragment, blank=False)
            if len(fragment) & 1:
                fragment += b"\x00"
            dst.write(struct.pack("<HHL", 0xFFFE, 0xE000, len(fragment)))
            dst.write(fragment)
        if len(offsets) < count:
            raise RemedyError(f"the file holds {len(offsets)} compressed frame(s), not {count}")
        dst.write(struct.pack("<HHL", 0xFFFE, 0xE0DD, 0))
        if count > 1:
            end = dst.tell()
            if end - first_item < 2**32:
                dst.seek(table_at)
                dst.write(struct.pack(f"<{count}L", *offsets))
            dst.seek(end)
        if self._mode == "dct" and mcu:
            self.facts["mcu"] = list(mcu)
            self.facts["mcus_blanked"] = blanked_blocks

    def _reencode(self, ds: Dataset, fragment: bytes, *, blank: bool = True) -> bytes:
        """Decode one frame, fill the boxes, encode it losslessly in the output syntax."""
        from pydicom.pixels import get_encoder

        frame = _decode_frame(ds, fragment, self._source_syntax, self._in_pi)
        if blank:
            for box in self.boxes:
                frame[box.y0 : box.y1, box.x0 : box.x1] = self._fill
        stored = int(ds.get("BitsStored", ds.BitsAllocated))
        frame = _clear_high_bits(frame, stored, int(ds.BitsAllocated), int(ds.get("PixelRepresentation", 0)) == 1)
        kwargs: dict[str, Any] = dict(
            rows=int(ds.Rows),
            columns=int(ds.Columns),
            samples_per_pixel=int(ds.get("SamplesPerPixel", 1)),
            bits_allocated=int(ds.BitsAllocated),
            bits_stored=stored,
            pixel_representation=int(ds.get("PixelRepresentation", 0)),
            photometric_interpretation="RGB" if int(ds.get("SamplesPerPixel", 1)) == 3 else str(ds.PhotometricInterpretation),
            planar_configuration=0,
            number_of_frames=1,
        )
        if self._out_syntax == JPEG2000Lossless:
            kwargs["use_mct"] = int(ds.get("SamplesPerPixel", 1)) == 3  # RGB in, YBR_RCT in the stream
        try:
            return get_encoder(self._out_syntax).encode(frame, **kwargs)
        except Exception as error:  # encoders raise ValueError/RuntimeError for unsupported layouts
            raise RemedyError(f"{self._out_syntax.name}: cannot encode the blacked-out frame ({type(error).__name__})") from None

    _source_syntax: UID = ExplicitVRLittleEndian

def _lossless_target(ds: Dataset, preferred: UID) -> UID | None:
    """The lossless syntax the frames are re-encoded in: the original's own when an encoder takes the layout."""
    allocated = int(ds.get("BitsAllocated", 8))
    stored = int(ds.get("BitsStored", allocated))
    fits = {
        RLELossless: allocated in (8, 16),
        JPEGLSLossless: allocated in (8, 16) and 2 <= stored <= 16,
        JPEG2000Lossless: allocated in (8, 16) and stored <= 24,
    }
    for target in (preferred, JPEG2000Lossless, RLELossless):
        if fits.get(target) and _encoder_ready(target):
            return target
    return None


def _decodable(syntax: UID) -> bool:
    from pydicom.pixels import get_decoder

    try:
        return bool(get_decoder(syntax).is_available)
    except Exception:
        return False


def _encoder_ready(syntax: UID) -> bool:
    from pydicom.pixels import get_encoder

    try:
        return bool(get_encoder(syntax).is_available)
    except Exception:
        return False


def _decode_frame(ds: Dataset, fragment: bytes, syntax: UID, source_pi: str) -> np.ndarray:
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


def _fill_value(ds: Dataset, pi: str) -> Any:
    """The value that displays black: darkest stored value, the brightest for MONOCHROME1, the palette's darkest entry."""
    stored = int(ds.get("BitsStored", ds.get("BitsAllocated", 8)))
    signed = int(ds.get("PixelRepresentation", 0)) == 1
    low, high = (-(1 << (stored - 1)), (1 << (stored - 1)) - 1) if signed else (0, (1 << stored) - 1)
    samples = int(ds.get("SamplesPerPixel", 1))
    if pi == "MONOCHROME1":
        return high
    if pi == "PALETTE COLOR":
        return _darkest_palette_index(ds)
    if samples == 3 and pi.startswith("YBR"):
        mid = 1 << (stored - 1)
        return np.array([0, mid, mid])
    if samples == 3:
        return np.array([0, 0, 0])
    return low


def _darkest_palette_index(ds: Dataset) -> int:
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


def _clear_high_bits(frame: np.ndarray, stored: int, allocated: int, signed: bool) -> np.ndarray:
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


def _ybr422_to_rgb(raw: np.ndarray, rows: int, columns: int) -> np.ndarray:
    """Native YBR_FULL_422 (Y0 Y1 Cb Cr per pixel pair) to RGB: written back labelled RGB."""
    from pydicom.pixels import convert_color_space

    pairs = raw.reshape(rows, columns // 2, 4)
    ybr = np.empty((rows, columns, 3), dtype=np.uint8)
    ybr[:, 0::2, 0] = pairs[:, :, 0]
    ybr[:, 1::2, 0] = pairs[:, :, 1]
    ybr[:, :, 1] = np.repeat(pairs[:, :, 2], 2, axis=1)
    ybr[:, :, 2] = np.repeat(pairs[:, :, 3], 2, axis=1)
    return np.ascontiguousarray(convert_color_space(ybr, "YBR_FULL", "RGB"))


def _strip_hidden_pixels(ds: Dataset, facts: dict[str, Any]) -> None:
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


# -- the whole job, for the CLI and the review screen -----------------------------------------


def redact_file(
    original: Path,
    dest: Path,
    redaction: Redaction,
    *,
    edit_header: Any = None,
    overwrite: bool = False,
    reviewer: str = "",
    scope: str = "file",
    manifest_dir: Path | None = None,
    update_existing: bool = False,
) -> Any:
    """Write the blacked-out copy, then append its manifest line (no PHI); returns the ``CopyResult``.

    ``update_existing``: when ``dest`` already exists (a header fix, an
    earlier box), black out that copy instead of starting again from the
    original, so one corrected copy carries every fix.
    """
    import os

    from phi_review.core.remedy.output import append_manifest, write_copy

    extra: dict[str, Any] = {}
    if update_existing and Path(dest).exists():
        temp = Path(dest).with_name(f".{Path(dest).name}.redact")
        result = write_copy(Path(dest), temp, edit_header=edit_header, pixel_edit=redaction, overwrite=True)
        os.replace(temp, dest)
        result.copy, result.original = Path(dest), Path(original)
        from phi_review.core.remedy.output import sha256_file

        result.original_sha256 = sha256_file(Path(original))
        extra["based_on"] = "existing copy"
    else:
        result = write_copy(original, dest, edit_header=edit_header, pixel_edit=redaction, overwrite=overwrite)
    if manifest_dir is not None:
        append_manifest(
            manifest_dir,
            result.record(action="redact", scope=scope, reviewer=reviewer,
                          confirmed_clean=redaction.confirm_clean, kept_uids=redaction.keep_uids, **extra),
        )
    return result


def confirm_clean(copy: Path, *, original: Path | None = None, reviewer: str = "",
                  manifest_dir: Path | None = None) -> Any:
    """The reviewer's word, after verifying: set Burned In Annotation to NO on an existing corrected copy.

    PS3.15 E.3.1 leaves this to a human, so it is a step of its own (the
    copy is rewritten atomically, header only) with its own manifest line.
    """
    import os

    from phi_review.core.remedy.output import append_manifest, sha256_file, write_copy

    copy = Path(copy)

    def mark(ds: Dataset) -> list[dict[str, Any]]:
        ds.BurnedInAnnotation = "NO"
        return [{"tag": "(0028,0301)", "keyword": "BurnedInAnnotation", "action": "set NO"}]

    temp = copy.with_name(f".{copy.name}.clean")
    result = write_copy(copy, temp, edit_header=mark, overwrite=True)
    os.replace(temp, copy)
    result.copy = copy
    if original is not None:
        result.original = Path(original)
        result.original_sha256 = sha256_file(Path(original))
    if manifest_dir is not None:
        append_manifest(manifest_dir, result.record(action="confirm-clean", reviewer=reviewer))
    return result
