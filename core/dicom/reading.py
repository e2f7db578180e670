"""Read a DICOM file's header with every read bounded, and find its Pixel Data from the parsed elements.

Why not plain ``dcmread``: hostile or damaged files made it hang or explode.
An all-zero file parses as endless ``(0000,0000)`` elements (minutes at 100% CPU);
a deflated file is inflated whole (a 1 MB bomb became 8 GB); a FIFO blocks
``open`` forever; a sequence nested ~200 deep overflows Python's recursion limit
and hides every element after it (the patient's name included). Here:

- only regular files are opened (``open_regular``);
- a file without the ``DICM`` marker must not start with a zero tag;
- top-level elements must come in ascending tag order (DICOM requires it): a
  repeat or a step back stops the read with a note, so zeros cannot spin;
- deflated data is inflated in a stream with a size cap;
- a recursion overflow is retried in a thread with a large stack and a raised
  limit, so deep nesting is read whole;
- values over ``DEFER_BYTES`` are not loaded (they are shown by size);
- the read stops before Pixel Data, and its offset and length come from the
  element header found there (no search of the file's bytes), so a 300 MB file
  costs a few kilobytes.
"""

from __future__ import annotations

import sys
import threading
import warnings
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, TypeVar

import pydicom
import pydicom.uid
from pydicom.dataelem import RawDataElement
from pydicom.dataset import Dataset, FileDataset
from pydicom.filebase import DicomBytesIO
from pydicom.tag import BaseTag

from phi_review.core.common.errors import DicomError
from phi_review.core.common.inert import inert
from phi_review.core.common.regular import open_regular

INFLATE_LIMIT = 256 * 1024 * 1024  # a deflated dataset may inflate to this many bytes
DEFER_BYTES = 4 * 1024 * 1024  # values larger than this are not read into memory
DEEP_STACK = 256 * 1024 * 1024  # stack of the thread that reads deeply nested sequences
DEEP_LIMIT = 20_000  # recursion limit in that thread: about 2,800 nesting levels (7 frames each)
PIXEL_TAGS = (0x7FE00008, 0x7FE00009, 0x7FE00010)  # Float, Double Float, Pixel Data
UNDEFINED = 0xFFFFFFFF
_EXPLICIT_LONG = {"OB", "OD", "OF", "OL", "OV", "OW", "SQ", "SV", "UC", "UN", "UR", "UT", "UV"}

T = TypeVar("T")


@dataclass
class PixelLocation:
    """Where the Pixel Data element's value starts in the file, its declared length, the file size."""

    value_offset: int
    length: int  # UNDEFINED for encapsulated (compressed) data
    file_size: int


@dataclass
class ReadResult:
    dataset: Dataset
    error: str | None  # a one-line note: what could not be read, or None
    pixels: PixelLocation | None  # None: no Pixel Data reached, or deflated (offsets are in the stream)
    deflated: bool = False
    # Elements found inside sequences nested deeper than pydicom can read: (depth, raw element), in file order.
    hidden: list[tuple[int, RawDataElement]] = field(default_factory=list)


def syntax_uid(dataset: Dataset) -> pydicom.uid.UID | None:
    """The file's Transfer Syntax UID, or None without file meta."""
    meta = getattr(dataset, "file_meta", None)
    uid = meta.get("TransferSyntaxUID") if meta is not None else None
    return pydicom.uid.UID(str(uid)) if uid is not None else None


def is_known_syntax(uid: pydicom.uid.UID | None) -> bool:
    """True for a transfer syntax pydicom knows; ``UID.is_compressed`` and friends raise on others."""
    return uid is not None and (uid in pydicom.uid.AllTransferSyntaxes or uid in pydicom.uid.PrivateTransferSyntaxes)


def syntax_name(dataset: Dataset) -> str:
    """A readable name for the transfer syntax; an unknown one is named as such, with its UID (inert)."""
    uid = syntax_uid(dataset)
    if uid is None:
        return ""
    if not is_known_syntax(uid):
        return f"unknown transfer syntax {inert(str(uid))} (read as Explicit VR Little Endian)"
    return uid.name if uid.name != str(uid) else str(uid)


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return inert(text.splitlines()[0][:200]) if text else type(error).__name__


class _Guard:
    """``stop_when`` for the top level: stop before pixel data, and on a tag that does not ascend."""

    def __init__(self, stop_at_pixels: bool = True) -> None:
        self.stop_at_pixels = stop_at_pixels
        self.previous = -1
        self.first: int | None = None
        self.restarts = 0
        self.pixel_tag: int | None = None
        self.disorder: str | None = None

    def __call__(self, tag: BaseTag, vr: str | None, length: int) -> bool:
        number = int(tag)
        if number in PIXEL_TAGS and self.stop_at_pixels:
            self.pixel_tag = number
            return True
        if number == self.first and self.restarts < 2:
            # pydicom re-reads from the first element when it finds the VR mode was wrong
            self.restarts += 1
            self.previous = number
            return False
        if self.first is None:
            self.first = number
        if number <= self.previous:
            self.disorder = (f"elements out of order: ({number >> 16:04X},{number & 0xFFFF:04X}) after "
                             f"({self.previous >> 16:04X},{self.previous & 0xFFFF:04X}); the rest is not read")
            return True
        self.previous = number
        return False


def deep_call(function: Callable[[], T]) -> T:
    """Run ``function`` in a thread with a large stack and a raised recursion limit.

    Why: pydicom reads (and converts) nested sequences recursively, about six
    Python frames per level, so ~170 levels exhaust the default limit. One deep
    call at a time; the old limit is restored after.
    """
    box: dict[str, object] = {}

    def run() -> None:
        try:
            box["value"] = function()
        except BaseException as error:  # noqa: BLE001 - re-raised in the caller's thread
            box["error"] = error

    with _DEEP_LOCK:
        old_limit = sys.getrecursionlimit()
        old_stack = threading.stack_size()
        try:
            threading.stack_size(DEEP_STACK)
            sys.setrecursionlimit(max(old_limit, DEEP_LIMIT))
            thread = threading.Thread(target=run, name="phi-review-deep-read", daemon=True)
            thread.start()
        finally:
            threading.stack_size(old_stack)
        thread.join()
        sys.setrecursionlimit(old_limit)
    if "error" in box:
        raise box["error"]  # type: ignore[misc]
    return box["value"]  # type: ignore[return-value]


_DEEP_LOCK = threading.Lock()


def _inflate(handle: BinaryIO, limit: int) -> bytes:
    """Inflate raw deflate data from ``handle`` in chunks; DicomError past ``limit`` bytes."""
    inflater = zlib.decompressobj(-zlib.MAX_WBITS)
    parts: list[bytes] = []
    total = 0
    while True:
        chunk = handle.read(1 << 20)
        if not chunk:
            break
        data = inflater.decompress(chunk, limit + 1 - total)
        while True:
            total += len(data)
            parts.append(data)
            if total > limit:
                raise DicomError(f"deflated data expands past {limit >> 20} MB: refused (a decompression bomb?)")
            if not inflater.unconsumed_tail:
                break
            data = inflater.decompress(inflater.unconsumed_tail, limit + 1 - total)
        if inflater.eof:
            break
    parts.append(inflater.flush())
    return b"".join(parts)


def _pixel_location(handle: BinaryIO, dataset: Dataset, size: int) -> PixelLocation | None:
    """Parse the Pixel Data element header where the read stopped (handle is positioned on its tag)."""
    start = handle.tell()
    head = handle.read(12)
    if len(head) < 8:
        return None
    implicit, little = getattr(dataset, "original_encoding", (None, None))
    if little is None:  # pydicom did not record how it read: the transfer syntax says
        uid = syntax_uid(dataset)
        little = bool(uid.is_little_endian) if uid is not None and is_known_syntax(uid) else True
    order = "little" if little else "big"
    # Pixel Data's VR is OB/OW (OF/OD for float data): its bytes say whether the element is explicit,
    # whatever pydicom concluded (files that switch VR mode exist among pydicom's own).
    if head[4:6] in (b"OB", b"OW", b"OF", b"OD", b"OL", b"UN") and head[6:8] == b"\0\0" and len(head) == 12:
        return PixelLocation(start + 12, int.from_bytes(head[8:12], order), size)
    return PixelLocation(start + 8, int.from_bytes(head[4:8], order), size)


def _sniff(handle: BinaryIO, name: str) -> None:
    head = handle.read(132)
    handle.seek(0)
    if not head:
        raise DicomError(f"{name} is empty")
    if head[128:132] != b"DICM" and head[:4] == b"\0\0\0\0":
        raise DicomError(f"{name} is not a DICOM file (no DICM marker, starts with zero bytes)")


def _read_deflated(handle: BinaryIO, guard: _Guard, defer: int | None = DEFER_BYTES) -> FileDataset:
    from pydicom.filereader import _read_file_meta_info, read_dataset, read_preamble

    preamble = read_preamble(handle, True)
    meta = _read_file_meta_info(handle)
    stream = DicomBytesIO(_inflate(handle, INFLATE_LIMIT))
    dataset = read_dataset(stream, False, True, stop_when=guard, defer_size=defer)
    return FileDataset(handle.name, dataset, preamble=preamble, file_meta=meta, is_implicit_VR=False,
                       is_little_endian=True)


def read_deflated_pixels(path: str | Path) -> FileDataset:
    """A deflated file's whole dataset, pixels included, inflated under INFLATE_LIMIT.

    Why not ``dcmread``: it reads the rest of the file in one piece (trailing
    garbage included) and inflates without a bound.
    """
    with open_regular(path) as handle, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return _read_deflated(handle, _Guard(stop_at_pixels=False), defer=None)


def _read_plain(handle: BinaryIO, guard: _Guard) -> Dataset:
    from pydicom.filereader import read_partial

    return read_partial(handle, stop_when=guard, defer_size=DEFER_BYTES, force=True)


def _is_deflated(handle: BinaryIO) -> bool:
    """Peek at the file meta's transfer syntax without reading the dataset."""
    from pydicom.filereader import _read_file_meta_info, read_preamble

    if b"1.2.840.10008.1.2.1.99" not in handle.read(4096):  # the UID text is in the file meta, near the start
        handle.seek(0)
        return False
    handle.seek(0)
    try:
        read_preamble(handle, True)
        meta = _read_file_meta_info(handle)
        uid = meta.get("TransferSyntaxUID")
        return uid is not None and str(uid) in (pydicom.uid.DeflatedExplicitVRLittleEndian,
                                                "1.2.840.10008.1.2.1.99")
    except Exception:  # noqa: BLE001 - no or broken meta: read as a plain file
        return False
    finally:
        handle.seek(0)


def read_dicom(path: str | Path) -> ReadResult:
    """The header (no pixel data), bounded in time and memory; DicomError if it cannot be read at all."""
    path = Path(path)
    name = inert(path.name)
    try:
        handle = open_regular(path)
    except FileNotFoundError:
        raise DicomError(f"{inert(str(path))} not found") from None
    except (IsADirectoryError, PermissionError, OSError) as error:
        if isinstance(error, DicomError):
            raise
        raise DicomError(f"{name}: cannot open: {_first_line(error)}") from None
    with handle, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        size = path.stat().st_size
        _sniff(handle, name)
        deflated = _is_deflated(handle)
        reader = _read_deflated if deflated else _read_plain

        def attempt() -> tuple[Dataset, _Guard]:
            handle.seek(0)
            guard = _Guard()
            return reader(handle, guard), guard

        error: str | None = None
        try:
            try:
                dataset, guard = attempt()
            except RecursionError:
                dataset, guard = deep_call(attempt)
        except DicomError:
            raise
        except RecursionError:  # nested beyond what even the deep thread reads: skip those sequences
            return _read_flattened(handle, size)
        except Exception as exc:  # noqa: BLE001 - truncated or corrupt: the caller reads what it can
            raise _Damaged(_first_line(exc)) from None
        pixels = None
        if guard.pixel_tag is not None and not deflated:
            pixels = _pixel_location(handle, dataset, size)
        return ReadResult(dataset, error or guard.disorder, pixels, deflated)


SAFE_DEPTH = 1000  # sequences nested deeper than this are walked by _walk_nested, not by pydicom
HIDDEN_LIMIT = 20_000  # elements listed from inside such sequences


class _Stream:
    """Element headers read from a file at explicit offsets, in one encoding."""

    def __init__(self, handle: BinaryIO, implicit: bool, little: bool) -> None:
        self.handle, self.implicit, self.order = handle, implicit, "little" if little else "big"

    def header(self, pos: int) -> tuple[int, str, int, int] | None:
        """(tag, VR, length, value offset) of the element at ``pos``, or None at end of data."""
        self.handle.seek(pos)
        head = self.handle.read(12)
        if len(head) < 8:
            return None
        tag = (int.from_bytes(head[0:2], self.order) << 16) | int.from_bytes(head[2:4], self.order)
        if tag >> 16 == 0xFFFE or self.implicit:
            vr = "" if tag >> 16 == 0xFFFE else _dictionary_vr(tag)
            return tag, vr, int.from_bytes(head[4:8], self.order), pos + 8
        vr = head[4:6].decode("latin-1")
        if vr in _EXPLICIT_LONG:
            if len(head) < 12:
                return None
            return tag, vr, int.from_bytes(head[8:12], self.order), pos + 12
        return tag, vr, int.from_bytes(head[6:8], self.order), pos + 8

    def value(self, pos: int, length: int) -> bytes:
        self.handle.seek(pos)
        return self.handle.read(min(length, DEFER_BYTES))


def _dictionary_vr(tag: int) -> str:
    from pydicom.datadict import dictionary_VR

    try:
        return dictionary_VR(tag)
    except KeyError:
        return "UN"


def _walk_nested(stream: _Stream, pos: int, end: int, hidden: list[tuple[int, RawDataElement]] | None,
                 base_depth: int) -> tuple[int, int]:
    """Walk one element's nested content without recursion: (offset after it, deepest nesting).

    ``pos`` is the element's start; with ``hidden`` every leaf element met is
    listed with its depth (as header rows count it: two per level).
    """
    first = stream.header(pos)
    if first is None:
        return end, 0
    tag, vr, length, at = first
    if length != UNDEFINED and vr != "SQ":
        return min(end, at + length), 0
    stack: list[int | None] = [None if length == UNDEFINED else at + length]  # container ends (None: delimited)
    deepest, pos = 1, at
    while stack and pos < end:
        while stack and stack[-1] is not None and pos >= stack[-1]:
            stack.pop()
        if not stack:
            break
        found = stream.header(pos)
        if found is None:
            return end, deepest
        tag, vr, length, at = found
        if tag in (0xFFFEE00D, 0xFFFEE0DD):
            stack.pop()
            pos = at
            continue
        if tag == 0xFFFEE000 or vr == "SQ" or length == UNDEFINED:
            stack.append(None if length == UNDEFINED else at + length)
            deepest = max(deepest, len(stack))
            pos = at
            continue
        if hidden is not None and len(hidden) < HIDDEN_LIMIT:
            raw = RawDataElement(BaseTag(tag), vr or None, length, stream.value(at, length), at,
                                 stream.implicit, stream.order == "little")
            hidden.append((base_depth + len(stack), raw))
        pos = at + length
    return min(pos, end), deepest


def _read_flattened(handle: BinaryIO, size: int) -> ReadResult:
    """The header with every sequence nested deeper than SAFE_DEPTH taken out and its elements listed.

    Why: pydicom reads nesting recursively; past a few thousand levels even a
    large stack fails, and the elements after the sequence (the patient's name
    among them) must still be shown.
    """
    from pydicom.filereader import _read_file_meta_info, read_dataset, read_preamble

    handle.seek(0)
    preamble = read_preamble(handle, True)
    meta = _read_file_meta_info(handle)  # as read_partial does: empty when the file has none
    uid = meta.get("TransferSyntaxUID")
    uid = pydicom.uid.UID(str(uid)) if uid is not None else None
    implicit = bool(uid.is_implicit_VR) if uid is not None and is_known_syntax(uid) else uid is None
    little = bool(uid.is_little_endian) if uid is not None and is_known_syntax(uid) else True
    stream = _Stream(handle, implicit, little)
    kept = bytearray()
    hidden: list[tuple[int, RawDataElement]] = []
    dropped: list[str] = []
    pos, previous, pixels = handle.tell(), -1, None
    while pos < size:
        found = stream.header(pos)
        if found is None:
            break
        tag = found[0]
        if tag in PIXEL_TAGS:
            handle.seek(pos)
            pixels = _pixel_location(handle, Dataset(), size)
            break
        if tag <= previous:
            break
        previous = tag
        end, deepest = _walk_nested(stream, pos, size, None, 0)
        if deepest > SAFE_DEPTH:
            _walk_nested(stream, pos, size, hidden, 0)
            dropped.append(f"({tag >> 16:04X},{tag & 0xFFFF:04X}) {deepest} levels")
        else:
            handle.seek(pos)
            kept += handle.read(end - pos)
        pos = max(end, pos + 8)
    body = DicomBytesIO(bytes(kept))
    dataset = deep_call(lambda: read_dataset(body, implicit, little, defer_size=DEFER_BYTES))
    dataset = FileDataset(getattr(handle, "name", ""), dataset, preamble=preamble, file_meta=meta,
                          is_implicit_VR=implicit, is_little_endian=little)
    note = (f"sequences nested too deep for a tree ({', '.join(dropped)}): their {len(hidden)} elements are "
            "listed flat")
    return ReadResult(dataset, note if dropped else None, pixels, hidden=hidden)


class _Damaged(DicomError):
    """pydicom stopped with an error: the caller falls back to a partial read."""


Damaged = _Damaged


def first_fragment(path: str | Path, location: PixelLocation, limit: int = 1 << 16) -> bytes | None:
    """The first ``limit`` bytes of the first frame's first fragment of encapsulated pixel data, or None.

    Reads two item headers and the fragment's start: enough to parse its SOF/SIZ marker.
    """
    with open_regular(path) as handle:
        handle.seek(location.value_offset)
        head = handle.read(8)
        if len(head) < 8 or head[:4] != b"\xfe\xff\x00\xe0":
            return None
        table = int.from_bytes(head[4:8], "little")
        if table == UNDEFINED or location.value_offset + 8 + table > location.file_size:
            return None
        handle.seek(table, 1)
        head = handle.read(8)
        if len(head) < 8 or head[:4] != b"\xfe\xff\x00\xe0":
            return None
        length = int.from_bytes(head[4:8], "little")
        return handle.read(min(length, limit))
