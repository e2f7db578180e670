"""Black out boxes of burned-in text in a corrected copy, frame by frame, never lossy.

Three pixel paths, chosen from the original's transfer syntax:

- native data: the box is filled with the darkest value (the brightest stored
  value for MONOCHROME1, which displays black), bits above BitsStored are
  cleared on every frame (they can hold an old overlay), YBR_FULL_422 stays
  YBR_FULL_422 with Y lowest and Cb/Cr neutral in the box's pixel pairs;
- JPEG baseline/extended: blanked in the DCT domain (``jpeg_dct``), transfer
  syntax kept, every block outside the box bit-identical, the blanked blocks'
  DC set to the frame's darkest decoded level;
- other compressed syntaxes: each frame decoded, blanked and re-encoded
  losslessly (RLE, JPEG-LS lossless, JPEG 2000 lossless); a lossy original
  keeps LossyImageCompression 01.

Boxes may differ per frame (``frame_boxes``: OCR reads each frame on its own).
The new SOP Instance UID is keyed by the de-identification secret (the header
profile's), never a bare hash of the old one; ``keyed_uid`` marks it so a later
profile maps it once, not twice.

Overlay planes (60xx) and the Icon Image Sequence are removed from the copy:
both can carry the same burned-in text and neither is needed for review.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping, Sequence
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

from phi_review.core.remedy.jpeg_dct import JpegDctError, blank_jpeg, mcu_size, stream_colour
from phi_review.core.remedy.boxes import Box, boxes_from_ocr, boxes_per_frame, parse_frames  # noqa: F401 - public here too
from phi_review.core.remedy.keyed_uid import mark_sop, sop_already_keyed
from phi_review.core.remedy.output import PixelElement, RemedyError, derived_uid, write_pixel_header
from phi_review.core.remedy.redact_pixels import (
    clear_high_bits,
    decodable,
    decode_frame,
    fill_ybr422,
    fill_value,
    jpeg_dark_levels,
    lossless_target,
    strip_hidden_pixels,
    ybr422_pairs,
)

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
    place); otherwise a new one is derived, keyed by ``secret`` (None: the
    header profile's ``load_secret()``), the same on every run with the same
    secret. ``frame_boxes`` gives each frame its own boxes (frames it does not
    name are left alone); ``boxes`` then only lists them all for the record.
    ``confirm_clean`` records the reviewer's word that the copy is clean
    (BurnedInAnnotation NO).
    """

    boxes: Sequence[Box]
    frames: Sequence[int] | None = None
    keep_uids: bool = False
    confirm_clean: bool = False
    uid_root: str | None = None
    secret: bytes | None = field(default=None, repr=False)
    frame_boxes: Mapping[int, Sequence[Box]] | None = None
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
        if self.frame_boxes is not None:
            self.boxes = list(dict.fromkeys(b for boxes in self.frame_boxes.values() for b in boxes))
        if not self.boxes:
            raise RemedyError("no box to black out")
        for box in self.boxes:
            box.check(columns, rows)
        self._frame_count = int(ds.get("NumberOfFrames", 1) or 1)
        chosen = range(self._frame_count) if self.frames is None else self.frames
        for frame in chosen:
            if not 0 <= frame < self._frame_count:
                raise RemedyError(f"frame {frame + 1} is outside the file's {self._frame_count} frame(s)")
        if self.frame_boxes is not None:
            chosen = [f for f in chosen if self.frame_boxes.get(f)]
        self._chosen = frozenset(chosen)
        syntax = UID(str(ds.file_meta.TransferSyntaxUID))
        self._source_syntax = syntax
        self._in_pi = str(ds.get("PhotometricInterpretation", "MONOCHROME2")).strip()
        if not element.encapsulated:
            self._mode = "native"
            self._out_syntax = ImplicitVRLittleEndian if syntax == ImplicitVRLittleEndian else ExplicitVRLittleEndian
            if int(ds.get("BitsAllocated", 16)) not in (8, 16, 32):
                raise RemedyError(f"{ds.get('BitsAllocated')}-bit pixel data has no blackout path")
            self._fill = fill_value(ds, self._in_pi)
        elif syntax in DCT_SYNTAXES:
            self._mode = "dct"
            self._out_syntax = syntax
        elif syntax in REENCODE or decodable(syntax):
            self._mode = "reencode"
            target = lossless_target(ds, REENCODE.get(syntax, JPEG2000Lossless))
            if target is None or not decodable(syntax):
                raise RemedyError(f"{syntax.name}: no lossless way to write the blacked-out frames")
            self._out_syntax = target
            if int(ds.get("SamplesPerPixel", 1)) == 3:
                ds.PhotometricInterpretation = "RGB"
                ds.PlanarConfiguration = 0
            self._fill = fill_value(ds, str(ds.get("PhotometricInterpretation", "")))
            if target == JPEG2000Lossless and int(ds.get("SamplesPerPixel", 1)) == 3:
                ds.PhotometricInterpretation = "YBR_RCT"  # PS3.5 8.2.4: colour JPEG 2000 lossless uses the reversible MCT
        else:
            raise RemedyError(f"{syntax.name}: no lossless way to write the blacked-out frames")
        ds.file_meta.TransferSyntaxUID = self._out_syntax
        if syntax in LOSSY_SYNTAXES or str(ds.get("LossyImageCompression", "")) == "01":
            ds.LossyImageCompression = "01"
        strip_hidden_pixels(ds, self.facts)
        self._set_tags(ds)
        self.facts.update(
            {
                "boxes": [list(b.as_tuple()) for b in self.boxes],
                "frames": sorted(f + 1 for f in self._chosen),
                **({"frame_boxes": {str(f + 1): [list(b.as_tuple()) for b in self.frame_boxes[f]]
                                    for f in sorted(self._chosen)}} if self.frame_boxes is not None else {}),
                "frame_count": self._frame_count,
                "method": {"native": "fill", "dct": "jpeg-dct-blocks", "reencode": "decode-fill-lossless"}[self._mode],
                "photometric_in": self._in_pi,
                "photometric_out": str(ds.get("PhotometricInterpretation", "")),
            }
        )
        return self.facts

    def _set_tags(self, ds: Dataset) -> None:
        if not self.keep_uids and "SOPInstanceUID" in ds:
            from phi_review.core.remedy.secret import load_secret

            secret = self.secret or load_secret()
            if not sop_already_keyed(ds, secret):  # mapped once: a profiled or blacked-out copy keeps its UID
                ds.SOPInstanceUID = derived_uid(str(ds.SOPInstanceUID), self.uid_root, secret=secret)
            mark_sop(ds, secret)
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
        out_frame = in_frame  # every layout, YBR_FULL_422 included, is written back as it was stored
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
            frame = np.frombuffer(raw, dtype=dtype_in).astype(dtype_in.newbyteorder("<"), copy=True)
            if ybr422:
                frame = ybr422_pairs(frame, rows, columns)
            elif samples == 1:
                frame = frame.reshape(rows, columns)
            elif planar == 1:
                frame = frame.reshape(samples, rows, columns)
            else:
                frame = frame.reshape(rows, columns, samples)
            frame = clear_high_bits(frame, stored, allocated, signed)
            if index in self._chosen:
                for box in self._boxes_for(index):
                    if ybr422:
                        fill_ybr422(frame, box, stored)
                    elif samples > 1 and planar == 1:
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
                        levels = jpeg_dark_levels(ds, fragment, self._source_syntax, self._in_pi, stream_colour(fragment))
                        fragment, blocks = blank_jpeg(fragment, [b.as_tuple() for b in self._boxes_for(index)], levels)
                    except JpegDctError as error:
                        raise RemedyError(f"{error} (frame {index + 1})") from None
                    blanked_blocks += blocks
                else:
                    fragment = self._reencode(ds, fragment, boxes=self._boxes_for(index))
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

    def _boxes_for(self, index: int) -> Sequence[Box]:
        """This frame's boxes: its own when OCR read each frame, else the same for every chosen frame."""
        if self.frame_boxes is not None:
            return list(self.frame_boxes.get(index, ()))
        return self.boxes

    def _reencode(self, ds: Dataset, fragment: bytes, *, blank: bool = True, boxes: Sequence[Box] = ()) -> bytes:
        """Decode one frame, fill the boxes, encode it losslessly in the output syntax."""
        from pydicom.pixels import get_encoder

        frame = decode_frame(ds, fragment, self._source_syntax, self._in_pi)
        if blank:
            for box in boxes:
                frame[box.y0 : box.y1, box.x0 : box.x1] = self._fill
        stored = int(ds.get("BitsStored", ds.BitsAllocated))
        frame = clear_high_bits(frame, stored, int(ds.BitsAllocated), int(ds.get("PixelRepresentation", 0)) == 1)
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


# -- the whole job, for the CLI and the review screen -----------------------------------------


def redact_file(original: Path, dest: Path, redaction: "Redaction", **options: Any) -> Any:
    """Write, prove and record the blacked-out copy (see ``redact_job.redact_file``)."""
    from phi_review.core.remedy.redact_job import redact_file as job

    return job(original, dest, redaction, **options)


def confirm_clean(copy: Path, **options: Any) -> Any:
    """The reviewer's word, refused while the proof finds anything (see ``redact_job.confirm_clean``)."""
    from phi_review.core.remedy.redact_job import confirm_clean as job

    return job(copy, **options)

