"""A small DICOM element walker over raw bytes, for the proof.

It is written apart from pydicom on purpose: the proof must not see the copy
through the library that wrote it. It yields every element's byte span with
its tag path (into sequences and items), finds the Pixel Data value, and
reads the two claims a copy can carry. Anything it cannot follow ends the walk
early and is reported, so the caller searches the rest of the file whole.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass, field

PIXEL_DATA = (0x7FE0, 0x0010)
ITEM, ITEM_END, SEQ_END = 0xE000, 0xE00D, 0xE0DD
LONG_VRS = {b"OB", b"OD", b"OF", b"OL", b"OV", b"OW", b"SQ", b"SV", b"UC", b"UN", b"UR", b"UT", b"UV"}
UNDEFINED = 0xFFFFFFFF
DEFLATED = "1.2.840.10008.1.2.1.99"
IMPLICIT_LE = "1.2.840.10008.1.2"
EXPLICIT_BE = "1.2.840.10008.1.2.2"
NATIVE = {IMPLICIT_LE, "1.2.840.10008.1.2.1", EXPLICIT_BE, DEFLATED}
MAX_DEPTH = 16


@dataclass(frozen=True)
class Span:
    """One element's value bytes ``[start, end)`` in the buffer it was walked in, and its tag path."""

    path: str
    start: int
    end: int
    vr: bytes = b""


@dataclass
class Walk:
    """What the walker saw: spans, the Pixel Data value, the claims, and whether it reached the end."""

    spans: list[Span] = field(default_factory=list)
    pixel_start: int | None = None
    pixel_end: int | None = None
    encapsulated: bool = False
    transfer_syntax: str = ""
    claims: dict[str, str] = field(default_factory=dict)
    complete: bool = True
    problem: str = ""
    inflated: bytes | None = None  # a deflated dataset, inflated: searched as well
    inner: "Walk | None" = None  # the walk over ``inflated``
    padding_start: int | None = None  # where a zero tail begins (searched like header bytes all the same)


def tag_text(group: int, element: int) -> str:
    return f"({group:04X},{element:04X})"


_CLAIMS = {(0x0012, 0x0062): "PatientIdentityRemoved", (0x0028, 0x0301): "BurnedInAnnotation"}


class _Stop(Exception):
    pass


class _Walker:
    def __init__(self, data: bytes | memoryview, walk: Walk) -> None:
        self.data = data
        self.walk = walk

    def elements(self, pos: int, end: int, explicit: bool, little: bool, prefix: str, depth: int) -> int:
        """Walk elements in ``[pos, end)``; return where the walk stopped (a delimiter's end, or ``end``)."""
        data, order = self.data, "<" if little else ">"
        if depth > MAX_DEPTH:
            raise _Stop("sequences nested too deep")
        while pos + 8 <= end:
            group, element = struct.unpack_from(order + "HH", data, pos)
            if group == 0xFFFE and element in (ITEM_END, SEQ_END):
                return pos + 8
            if not prefix and group == 0 and element == 0 and not any(bytes(data[pos : pos + 8])):
                self.walk.padding_start = pos  # zeros after the data set: padding, no element
                return end
            if explicit and group != 0xFFFE:
                vr = bytes(data[pos + 4 : pos + 6])
                if not (vr[:1].isalpha() and vr[1:2].isalpha() and vr.isupper()):
                    raise _Stop(f"no VR at byte {pos}")
                if vr in LONG_VRS:
                    if pos + 12 > end:
                        raise _Stop(f"element cut short at byte {pos}")
                    (length,) = struct.unpack_from(order + "L", data, pos + 8)
                    start = pos + 12
                else:
                    (length,) = struct.unpack_from(order + "H", data, pos + 6)
                    start = pos + 8
            else:
                vr = b"SQ" if group == 0xFFFE else b""
                (length,) = struct.unpack_from(order + "L", data, pos + 4)
                start = pos + 8
            path = prefix + tag_text(group, element)
            if (group, element) == PIXEL_DATA and not prefix:
                return self.pixels(start, length, end, little)
            if length == UNDEFINED or vr == b"SQ" or (not explicit and self.looks_like_sequence(start, length, end, little)):
                pos = self.sequence(start, length, end, explicit, little, path, depth)
                continue
            if start + length > end:
                raise _Stop(f"{path} runs past the end")
            self.walk.spans.append(Span(path, start, start + length, vr))
            if not prefix and (group, element) in _CLAIMS:
                self.walk.claims[_CLAIMS[(group, element)]] = bytes(data[start : start + length]).decode("latin-1").strip(" \x00").upper()
            pos = start + length
        return end

    def looks_like_sequence(self, start: int, length: int, end: int, little: bool) -> bool:
        """Implicit VR gives no VR: a value that opens with an item tag is walked as a sequence."""
        if length < 8 or start + 8 > end:
            return False
        group, element = struct.unpack_from(("<" if little else ">") + "HH", self.data, start)
        return group == 0xFFFE and element == ITEM

    def sequence(self, start: int, length: int, end: int, explicit: bool, little: bool, path: str, depth: int) -> int:
        order = "<" if little else ">"
        stop = end if length == UNDEFINED else start + length
        if stop > end:
            raise _Stop(f"{path} runs past the end")
        pos, index = start, 0
        while pos + 8 <= stop:
            group, element = struct.unpack_from(order + "HH", self.data, pos)
            (item_length,) = struct.unpack_from(order + "L", self.data, pos + 4)
            if group == 0xFFFE and element == SEQ_END:
                return pos + 8
            if group != 0xFFFE or element != ITEM:
                raise _Stop(f"{path} holds no item at byte {pos}")
            item_end = stop if item_length == UNDEFINED else pos + 8 + item_length
            if item_end > stop:
                raise _Stop(f"{path} item runs past its sequence")
            after = self.elements(pos + 8, item_end, explicit, little, f"{path}[{index}]>", depth + 1)
            pos = after if item_length == UNDEFINED else item_end
            index += 1
        if length == UNDEFINED:
            raise _Stop(f"{path} has no end")
        return stop

    def pixels(self, start: int, length: int, end: int, little: bool) -> int:
        walk = self.walk
        walk.pixel_start = start
        if length != UNDEFINED:
            walk.pixel_end = start + length  # known even when only the file's head was read
            if start + length > end:
                raise _Stop("Pixel Data runs past the end")
            return start + length
        walk.encapsulated = True
        pos = start
        order = "<" if little else ">"
        while pos + 8 <= end:
            group, element, item_length = struct.unpack_from(order + "HHL", self.data, pos)
            if group == 0xFFFE and element == SEQ_END:
                walk.pixel_end = pos + 8
                return pos + 8
            if group != 0xFFFE or element != ITEM or item_length == UNDEFINED or pos + 8 + item_length > end:
                raise _Stop("encapsulated Pixel Data cannot be followed")
            pos += 8 + item_length
        raise _Stop("encapsulated Pixel Data has no end")


def walk_bytes(data: bytes | memoryview) -> Walk:
    """Walk a whole DICOM file's bytes (preamble, file meta, dataset) into spans and claims."""
    walk = Walk()
    size = len(data)
    pos = 132 if size >= 132 and bytes(data[128:132]) == b"DICM" else 0
    walker = _Walker(data, walk)
    try:
        if pos:
            pos = _walk_meta(data, pos, walk, walker)
        syntax = walk.transfer_syntax or IMPLICIT_LE
        explicit, little = syntax != IMPLICIT_LE, syntax != EXPLICIT_BE
        if syntax == DEFLATED:
            try:
                walk.inflated = zlib.decompressobj(-zlib.MAX_WBITS).decompress(bytes(data[pos:]), 512 * 1024 * 1024)
            except zlib.error:
                raise _Stop("the deflated dataset cannot be inflated") from None
            inner = Walk()
            _Walker(walk.inflated, inner).elements(0, len(walk.inflated), True, True, "", 0)
            walk.claims.update(inner.claims)
            walk.inner = inner
            return walk
        walk.encapsulated = syntax not in NATIVE
        stop = walker.elements(pos, size, explicit, little, "", 0)
        if walk.pixel_end is not None and walk.pixel_end < size:
            walker.elements(walk.pixel_end, size, explicit, little, "", 0)
        elif stop < size and walk.pixel_start is None:
            walk.complete, walk.problem = False, f"stopped at byte {stop}"
    except (_Stop, struct.error) as stop_reason:
        walk.complete = False
        walk.problem = str(stop_reason) or "the element stream cannot be followed"
    return walk


def _walk_meta(data: bytes | memoryview, pos: int, walk: Walk, walker: _Walker) -> int:
    """Group 0002 is always explicit VR little endian; read its transfer syntax on the way."""
    size = len(data)
    while pos + 8 <= size:
        group, element = struct.unpack_from("<HH", data, pos)
        if group != 0x0002:
            return pos
        vr = bytes(data[pos + 4 : pos + 6])
        if vr in LONG_VRS:
            (length,) = struct.unpack_from("<L", data, pos + 8)
            start = pos + 12
        else:
            (length,) = struct.unpack_from("<H", data, pos + 6)
            start = pos + 8
        if length == UNDEFINED or start + length > size:
            raise _Stop(f"file meta {tag_text(group, element)} runs past the end")
        walk.spans.append(Span(tag_text(group, element), start, start + length))
        if element == 0x0010:
            walk.transfer_syntax = bytes(data[start : start + length]).decode("latin-1").strip(" \x00")
        pos = start + length
    return pos


def span_at(walk: Walk, offset: int) -> Span | None:
    """The innermost element whose value holds byte ``offset``."""
    best: Span | None = None
    for span in walk.spans:
        if span.start <= offset < span.end and (best is None or span.end - span.start <= best.end - best.start):
            best = span
    return best


def path_at(walk: Walk, offset: int) -> str:
    """The innermost element whose value holds byte ``offset`` (a path of tags), or where it lies."""
    best: Span | None = None
    for span in walk.spans:
        if span.start <= offset < span.end and (best is None or span.end - span.start <= best.end - best.start):
            best = span
    if best is not None:
        return best.path
    if walk.pixel_start is not None and walk.pixel_start <= offset < (walk.pixel_end or offset + 1):
        return tag_text(*PIXEL_DATA)
    return "outside any element value"
