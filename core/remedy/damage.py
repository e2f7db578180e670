"""Is this file's element stream whole? A walk over tags, VRs and lengths that trusts nothing.

Why: pydicom reads damaged files leniently. A value whose length was stretched swallows
the elements after it (a patient's name then rides inside a Manufacturer the profile
keeps); a file meta element that swallowed the dataset carries name, ID and dates inside
a UID; a length past the end is read as far as it goes. A copy written from such a parse
looks de-identified and is not. So before any copy is made the raw stream is walked:
every element must lie inside its file, item or sequence, come in ascending tag order and
carry a VR the standard defines; a text value must fit its VR (its length, only ASCII
where the VR allows no other) and must not end in whole elements (what a stretched
length leaves behind). Control characters alone (a hostile ESC, BEL or NUL) are not
damage: they are shown inert and cleaned like any text. The answer is one line naming
the element and the reason, never a value.
"""

from __future__ import annotations

import io
import os
import stat
import struct
import zlib
from pathlib import Path
from typing import BinaryIO

from pydicom.datadict import get_entry

IMPLICIT = "1.2.840.10008.1.2"
BIG_ENDIAN = "1.2.840.10008.1.2.2"
DEFLATED = ("1.2.840.10008.1.2.1.99", "1.2.840.10008.1.2.4.95")
UNDEFINED = 0xFFFFFFFF
ITEM, ITEM_END, SEQ_END = 0xFFFEE000, 0xFFFEE00D, 0xFFFEE0DD
PIXEL_DATA = 0x7FE00010
MAX_DEPTH = 200
MAX_INFLATED = 256 << 20
TEXT_READ_LIMIT = 1 << 20

LONG_VRS = frozenset({"OB", "OD", "OF", "OL", "OV", "OW", "SQ", "SV", "UC", "UN", "UR", "UT", "UV"})
SHORT_VRS = frozenset({"AE", "AS", "AT", "CS", "DA", "DS", "DT", "FL", "FD", "IS", "LO", "LT", "PN", "SH",
                       "SL", "SS", "ST", "TM", "UI", "UL", "US"})
VRS = LONG_VRS | SHORT_VRS
# Longest value (characters, per value of a multi-valued element) each text VR allows (PS3.5 6.2);
# DA, DT and TM leave room for ranges and the old ACR-NEMA forms pydicom still reads.
MAX_CHARS = {"AE": 16, "AS": 4, "CS": 16, "DA": 18, "DS": 16, "DT": 54, "IS": 12, "LO": 64, "LT": 10240,
             "PN": 64, "SH": 16, "ST": 1024, "TM": 28, "UI": 64}
SINGLE_VALUED = frozenset({"LT", "ST", "UT", "UR"})
ASCII_ONLY = frozenset({"AE", "AS", "CS", "DA", "DS", "DT", "IS", "TM", "UI", "UR"})  # default repertoire only
FIXED_SIZE = {"AT": 4, "FL": 4, "FD": 8, "SL": 4, "SS": 2, "UL": 4, "US": 2, "SV": 8, "UV": 8}
_META_OB_LIMIT = 1 << 16


class Damage(Exception):
    """The stream is not whole; the message names where and why (no value)."""


def _tag(tag: int) -> str:
    return f"({tag >> 16:04X},{tag & 0xFFFF:04X})"


def _dictionary_vr(tag: int) -> str:
    if tag >> 16 & 1 or tag & 0xFFFF == 0:
        return ""
    try:
        return str(get_entry(tag)[0])
    except KeyError:
        return ""


class _Walker:
    """Reads element headers from ``handle`` and seeks over values, checking each against its container."""

    def __init__(self, handle: BinaryIO, size: int, little: bool) -> None:
        self.handle = handle
        self.size = size
        self.endian = "<" if little else ">"

    def read(self, pos: int, count: int, what: str) -> bytes:
        self.handle.seek(pos)
        data = self.handle.read(count)
        if len(data) < count:
            raise Damage(f"{what} is cut short by the end of the file")
        return data

    def zero_tail(self, pos: int, end: int) -> bool:
        """Nothing but zero bytes from ``pos`` to ``end`` (read in chunks: a 2 GB tail stays bounded)."""
        self.handle.seek(pos)
        if self.handle.read(4) != b"\0\0\0\0":
            return False
        self.handle.seek(pos)
        left = end - pos
        while left > 0:
            chunk = self.handle.read(min(left, 1 << 20))
            if not chunk or chunk.count(0) != len(chunk):
                return False
            left -= len(chunk)
        return True

    def header(self, pos: int, end: int, explicit: bool) -> tuple[int, str, int, int]:
        """(tag, VR or "", value length, value offset) of the element at ``pos``."""
        if end - pos < 8:
            raise Damage(f"{end - pos} stray byte(s) where an element should start")
        head = self.read(pos, 8, "an element header")
        group, elem = struct.unpack(self.endian + "HH", head[:4])
        tag = group << 16 | elem
        if group == 0xFFFE or not explicit:
            (length,) = struct.unpack(self.endian + "L", head[4:8])
            return tag, "", length, pos + 8
        vr = head[4:6].decode("latin-1")
        if vr not in VRS:
            raise Damage(f"element {_tag(tag)} has no valid VR")
        if vr in LONG_VRS:
            if end - pos < 12:
                raise Damage(f"element {_tag(tag)} is cut short")
            (length,) = struct.unpack(self.endian + "L", self.read(pos + 8, 4, f"element {_tag(tag)}"))
            return tag, vr, length, pos + 12
        (length,) = struct.unpack(self.endian + "H", head[6:8])
        return tag, vr, length, pos + 8

    def dataset(self, pos: int, end: int, explicit: bool, depth: int, where: str,
                delimited: bool = False) -> int:
        """Walk one dataset (the file's or an item's) from ``pos``; return where it ends."""
        if depth > MAX_DEPTH:
            raise Damage(f"sequences nested deeper than {MAX_DEPTH} levels")
        last = -1
        while pos < end:
            if depth == 0 and not delimited and self.zero_tail(pos, end):
                return end  # a whole data set padded with zeros to the end: padding, not damage (the copy drops it)
            tag, vr, length, value = self.header(pos, end, explicit)
            if delimited and tag == ITEM_END:
                return value
            if tag >> 16 == 0xFFFE:
                raise Damage(f"a stray item tag {_tag(tag)} {where}")
            if tag <= last:
                word = "repeated" if tag == last else "out of order"
                raise Damage(f"element {_tag(tag)} is {word} {where} (after {_tag(last)})")
            last = tag
            known = vr or _dictionary_vr(tag)
            if length == UNDEFINED:
                if tag == PIXEL_DATA or (vr in ("OB", "OW") and known != "SQ"):
                    pos = self.fragments(value, end, tag)
                elif vr in ("SQ", "UN", "") or known == "SQ":
                    pos = self.sequence(value, end, explicit and vr != "UN", depth, tag, delimited=True)
                else:
                    raise Damage(f"element {_tag(tag)} ({vr}) has an undefined length")
                continue
            stop = value + length
            if stop > end:
                if end == self.size:
                    raise Damage(f"element {_tag(tag)} is cut short: it runs past the end of the file ({length} bytes)")
                raise Damage(f"element {_tag(tag)} runs past the end of its item or sequence ({length} bytes)")
            if known == "SQ" and vr in ("SQ", ""):
                self.sequence(value, stop, explicit, depth, tag, delimited=False)
            elif vr or known:
                self.value(tag, vr or known, value, length, explicit)
            pos = stop
        if delimited:
            raise Damage(f"an item {where} has no end (no item delimiter)")
        return pos

    def sequence(self, pos: int, end: int, explicit: bool, depth: int, tag: int, delimited: bool) -> int:
        where = f"in sequence {_tag(tag)}"
        while pos < end:
            item, _, length, value = self.header(pos, end, False)
            if delimited and item == SEQ_END:
                return value
            if item != ITEM:
                raise Damage(f"{_tag(item)} where an item should be, {where}")
            if length == UNDEFINED:
                pos = self.dataset(value, end, explicit, depth + 1, where, delimited=True)
                continue
            if value + length > end:
                raise Damage(f"an item runs past the end of sequence {_tag(tag)}")
            self.dataset(value, value + length, explicit, depth + 1, where)
            pos = value + length
        if delimited:
            raise Damage(f"sequence {_tag(tag)} has no end (no sequence delimiter)")
        return pos

    def fragments(self, pos: int, end: int, tag: int) -> int:
        while True:
            item, _, length, value = self.header(pos, end, False)
            if item == SEQ_END:
                return value
            if item != ITEM or length == UNDEFINED or value + length > end:
                raise Damage(f"the encapsulated value of {_tag(tag)} is malformed or cut short")
            pos = value + length

    def value(self, tag: int, vr: str, pos: int, length: int, explicit: bool = True) -> None:
        """A text value must fit its VR and hold no whole elements; a fixed-size binary value must be
        a whole number of values."""
        size = FIXED_SIZE.get(vr.split(" or ")[0])
        if size and length % size:
            raise Damage(f"element {_tag(tag)} ({vr}) has a length of {length}, not a multiple of {size}")
        limit = MAX_CHARS.get(vr)
        if limit is None and vr not in ("UT", "UC", "UR"):
            return
        if limit is not None and length > 4 * limit + 8 and vr in SINGLE_VALUED | {"UI", "DA", "TM", "AS"}:
            raise Damage(f"element {_tag(tag)} ({vr}) is {length} bytes; {vr} holds at most {limit} characters")
        if length > TEXT_READ_LIMIT:
            if vr in ("UT", "UC", "UR"):
                return
            raise Damage(f"element {_tag(tag)} ({vr}) is {length} bytes; {vr} holds at most {limit} characters")
        raw = self.read(pos, length, f"element {_tag(tag)}")
        data = raw.rstrip(b"\x00 ")
        if b"\x00" in data and self.swallowed(raw, tag, explicit):
            raise Damage(f"element {_tag(tag)} ({vr}) ends in whole elements: its length runs over the elements after it")
        if vr in ASCII_ONLY and any(b >= 0x80 for b in data):
            raise Damage(f"element {_tag(tag)} ({vr}) holds bytes a {vr} value cannot hold")
        if limit is None:
            return
        parts = [data] if vr in SINGLE_VALUED else data.split(b"\\")
        if vr == "PN":
            parts = [group for part in parts for group in part.split(b"=")]
        for part in parts:
            wide = any(b >= 0x80 or b == 0x1B for b in part)
            if len(part) > (4 * limit + 8 if wide else limit):
                raise Damage(f"element {_tag(tag)} ({vr}) has a value of {len(part)} bytes; "
                             f"{vr} holds at most {limit} characters")


    def swallowed(self, raw: bytes, tag: int, explicit: bool) -> bool:
        """Does ``raw`` end in a run of complete elements (tags above ``tag``, ascending, lengths that
        land exactly on its end)? That is what a stretched length leaves; hostile text does not."""
        for start in range(len(raw) - 7):
            pos, last = start, tag
            while len(raw) - pos >= 8:
                group, elem = struct.unpack(self.endian + "HH", raw[pos:pos + 4])
                found = group << 16 | elem
                if found <= last or group == 0xFFFE:
                    break
                if explicit:
                    vr = raw[pos + 4:pos + 6].decode("latin-1")
                    if vr not in VRS or (vr in LONG_VRS and len(raw) - pos < 12):
                        break
                    long = vr in LONG_VRS
                    size = struct.unpack(self.endian + ("L" if long else "H"), raw[pos + (8 if long else 6):
                                                                                  pos + (12 if long else 8)])[0]
                    pos += (12 if long else 8) + size
                else:
                    pos += 8 + struct.unpack(self.endian + "L", raw[pos + 4:pos + 8])[0]
                last = found
                if pos == len(raw):
                    return True
        return False


def _meta(walker: _Walker, pos: int) -> tuple[int, str]:
    """Walk the file meta group (always explicit VR little endian); return (end, transfer syntax)."""
    syntax = ""
    last = -1
    declared_end = None
    while pos + 8 <= walker.size:
        head = walker.read(pos, 6, "the file meta")
        group = struct.unpack("<H", head[:2])[0]
        if group != 0x0002:
            break
        tag, vr, length, value = walker.header(pos, walker.size, True)
        if tag <= last:
            raise Damage(f"file meta element {_tag(tag)} is out of order")
        last = tag
        if length == UNDEFINED or value + length > walker.size:
            raise Damage(f"file meta element {_tag(tag)} runs past the end of the file")
        limit = MAX_CHARS.get(vr)
        largest = limit if limit is not None else (4 if vr == "UL" else 2 if tag == 0x00020001 else _META_OB_LIMIT)
        if length > largest + (1 if limit else 0):
            raise Damage(f"file meta element {_tag(tag)} ({vr}) is {length} bytes, larger than any file meta "
                         f"element can be ({largest})")
        if vr in MAX_CHARS:
            walker.value(tag, vr, value, length)
        if tag == 0x00020000 and length == 4:
            declared_end = value + 4 + struct.unpack("<L", walker.read(value, 4, "the meta group length"))[0]
        if tag == 0x00020010:
            syntax = walker.read(value, length, "the transfer syntax").rstrip(b"\x00 ").decode("latin-1")
        pos = value + length
    if declared_end is not None and declared_end != pos:
        raise Damage(f"the file meta group length says {declared_end - 132} bytes, its elements hold {pos - 132}")
    return pos, syntax


def _explicit_at(walker: _Walker, pos: int, declared: bool) -> bool:
    """pydicom reads a dataset written in the other VR mode than declared; so does this walk."""
    if walker.size - pos < 8:
        return declared
    vr = walker.read(pos + 4, 2, "the first element").decode("latin-1")
    return vr in VRS


def walk(handle: BinaryIO, size: int) -> None:
    """Raise ``Damage`` unless the stream in ``handle`` (``size`` bytes) is whole."""
    walker = _Walker(handle, size, True)
    if size < 132 or walker.read(128, 4, "the preamble") != b"DICM":
        return  # not a DICOM file: the reader refuses it
    pos, syntax = _meta(walker, 132)
    if pos >= size:
        raise Damage("the file holds no data set after its file meta")
    if syntax in DEFLATED:
        inflated = _inflate(walker, pos, size)
        walk_dataset(io.BytesIO(inflated), len(inflated), little=True, explicit=True)
        return
    little = syntax != BIG_ENDIAN
    explicit = _explicit_at(walker, pos, syntax != IMPLICIT)
    body = _Walker(handle, size, little)
    body.dataset(pos, size, explicit, 0, "in the data set")


def walk_dataset(handle: BinaryIO, size: int, *, little: bool, explicit: bool) -> None:
    walker = _Walker(handle, size, little)
    walker.dataset(0, size, _explicit_at(walker, 0, explicit), 0, "in the data set")


def _inflate(walker: _Walker, pos: int, size: int) -> bytes:
    walker.handle.seek(pos)
    inflater = zlib.decompressobj(-zlib.MAX_WBITS)
    out = bytearray()
    try:
        while chunk := walker.handle.read(1 << 20):
            out += inflater.decompress(chunk, MAX_INFLATED + 1 - len(out))
            if len(out) > MAX_INFLATED:
                raise Damage(f"the deflated data set inflates past {MAX_INFLATED >> 20} MiB")
            if inflater.eof:  # what follows the stream (a zero tail) piles up in unused_data: minutes for 256 MB
                break
        out += inflater.flush()
    except zlib.error:
        raise Damage("the deflated data set does not inflate") from None
    return bytes(out)


def structural_problem(path: str | os.PathLike[str]) -> str | None:
    """None when the file's element stream is whole; else one line saying where it is not.

    A file without the ``DICM`` marker is left to the reader that refuses it.
    """
    path = Path(path)
    try:
        info = path.stat()
        if not stat.S_ISREG(info.st_mode):
            return "not a regular file"  # a FIFO would block the read
        size = info.st_size
        with open(path, "rb") as handle:
            walk(handle, size)
    except Damage as error:
        return f"damaged file: {error}"
    except OSError as error:
        return f"cannot read the file ({error.strerror})"
    return None
