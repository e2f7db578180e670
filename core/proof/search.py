"""Search a copy's bytes for the original's identifiers, in every encoding a value can hide in.

Each identifier is looked for case-insensitively as ASCII/UTF-8, Latin-1,
UTF-16LE and UTF-16BE, at word boundaries (a name part "ANN" is not found
inside "SCANNER"; a date is not found inside a longer number or a UID).
Native Pixel Data is image samples, read by OCR instead; encapsulated
fragments (JPEG comments and app segments can carry text) are searched for
identifiers long enough that compressed noise cannot spell them by chance.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from phi_review.core.proof.identifiers import Identifier
from phi_review.core.proof.rawwalk import Walk, path_at, span_at

ENCODINGS = ("utf-8", "latin-1", "utf-16-le", "utf-16-be")
MIN_IN_PIXELS = 6
LONG_ENOUGH = 6  # a name or ID this long is a leak wherever it sits, even glued to other letters  # shorter strings turn up by chance in megabytes of compressed data
_ALNUM = rb"[A-Za-z0-9]"
_NUMERIC_VRS = {b"TM", b"DS", b"IS", b"UI", b"US", b"UL", b"SS", b"SL", b"FL", b"FD", b"AT", b"AS"}


@dataclass(frozen=True)
class Residual:
    """An identifier still in the copy: its kind and where (tag path or frame, byte offset), never its value."""

    kind: str
    where: str
    offset: int | None = None
    encoding: str = ""

    def describe(self) -> str:
        at = f" at byte {self.offset}" if self.offset is not None else ""
        how = f" ({self.encoding})" if self.encoding and self.encoding != "utf-8" else ""
        return f"{self.kind} in {self.where}{at}{how}"

    def record(self) -> dict[str, object]:
        return {"kind": self.kind, "where": self.where, "offset": self.offset, "encoding": self.encoding}


_WORD = frozenset(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
CHUNK = 16 * 1024 * 1024


@dataclass(frozen=True)
class _Needle:
    ident: Identifier
    encoding: str
    raw: bytes  # lower-cased, encoded
    numeric: bool
    unit: int  # bytes per character: 1, or 2 for UTF-16


def _needles(identifiers: Sequence[Identifier], encodings: Sequence[str]) -> list[_Needle]:
    needles, seen = [], set()
    for ident in identifiers:
        numeric = ident.text.replace("-", "").replace("/", "").replace(".", "").isdigit()
        for encoding in encodings:
            try:
                raw = ident.text.lower().encode(encoding)
            except UnicodeEncodeError:
                continue
            if (raw, encoding) in seen or (encoding == "latin-1" and raw == ident.text.lower().encode("utf-8", "replace")):
                continue
            seen.add((raw, encoding))
            needles.append(_Needle(ident, encoding, raw, numeric, 2 if encoding.startswith("utf-16") else 1))
    return needles


def _char_at(hay: bytes, pos: int, needle: _Needle) -> int | None:
    """The character (as an ASCII byte) that sits ``pos`` in ``hay`` in the needle's encoding, if any."""
    if pos < 0 or pos + needle.unit > len(hay):
        return None
    if needle.unit == 1:
        return hay[pos]
    low, high = (hay[pos], hay[pos + 1]) if needle.encoding == "utf-16-le" else (hay[pos + 1], hay[pos])
    return low if high == 0 else None


def _bounded(hay: bytes, at: int, needle: _Needle) -> bool:
    """A short match stands alone: not inside a longer word, number or UID (a long name is found anywhere)."""
    if not needle.numeric and len(needle.ident.text) >= LONG_ENOUGH:
        return True
    before = _char_at(hay, at - needle.unit, needle)
    after = _char_at(hay, at + len(needle.raw), needle)
    if before is not None and (before in _WORD or (needle.numeric and before == 0x2E)):
        return False
    if after is not None and after in _WORD:
        return False
    if needle.numeric and after == 0x2E:
        digit = _char_at(hay, at + len(needle.raw) + needle.unit, needle)
        if digit is not None and 0x30 <= digit <= 0x39:
            return False
    return True


def _find_all(hay: bytes, needle: _Needle, base: int) -> list[int]:
    hits, at = [], hay.find(needle.raw)
    while at != -1:
        if _bounded(hay, at, needle):
            hits.append(base + at)
        at = hay.find(needle.raw, at + 1)
    return hits


class ByteSearch:
    """Built once per original (the same identifiers are sought in one copy, or in many)."""

    def __init__(self, identifiers: Iterable[Identifier]) -> None:
        self.identifiers = list(identifiers)
        self.needles = _needles(self.identifiers, ENCODINGS)
        self.long = [n for n in _needles(self.identifiers, ("utf-8", "latin-1")) if len(n.ident.text) >= MIN_IN_PIXELS]
        self.longest = max((len(n.raw) for n in self.needles), default=0)

    def _scan(self, data: bytes | memoryview, start: int, end: int, needles: Sequence[_Needle],
              walk: Walk, found: dict[tuple[str, str], Residual], prefix: str = "") -> None:
        pos = start
        while pos < end:
            stop = min(end, pos + CHUNK)
            lo = max(start, pos - 4)  # a little context before, for the boundary test
            hi = min(end, stop + self.longest + 4)
            hay = bytes(data[lo:hi]).lower()
            for needle in needles:
                for at in _find_all(hay, needle, lo):
                    if at >= stop or at < pos:
                        continue  # found in the overlap: the neighbouring chunk owns it
                    span = span_at(walk, at)
                    if span is not None and span.vr in _NUMERIC_VRS and needle.ident.kind not in ("date", "name"):
                        continue  # an ID's digits inside a time, a number or a UID are a coincidence, not the ID
                    where = prefix + path_at(walk, at)
                    found.setdefault((needle.ident.kind, where), Residual(needle.ident.kind, where, at, needle.encoding))
            pos = stop

    def search(self, data: bytes | memoryview, walk: Walk) -> list[Residual]:
        """Residuals in ``data``: the header (everything but native pixels), and encapsulated fragments."""
        found: dict[tuple[str, str], Residual] = {}
        size = len(data)
        if walk.complete and walk.pixel_start is not None and walk.pixel_end is not None:
            self._scan(data, 0, walk.pixel_start, self.needles, walk, found)
            if walk.encapsulated:
                self._scan(data, walk.pixel_start, walk.pixel_end, self.long, walk, found)
            self._scan(data, walk.pixel_end, size, self.needles, walk, found)
        else:
            self._scan(data, 0, size, self.needles, walk, found)  # cannot tell pixels from header: all is header
        if walk.inflated is not None and walk.inner is not None:
            self._scan(walk.inflated, 0, len(walk.inflated), self.needles, walk.inner, found, "deflated dataset>")
        return list(found.values())

    def search_plain(self, data: bytes | memoryview) -> list[tuple[Identifier, int, str]]:
        """Identifiers in bytes that are not DICOM (an HTML summary, a text export): one hit per identifier,
        as (identifier, byte offset, encoding). The caller names where, never the value."""
        hay = bytes(data).lower()
        hits: dict[Identifier, tuple[Identifier, int, str]] = {}
        for needle in self.needles:
            if needle.ident in hits:
                continue
            found = _find_all(hay, needle, 0)
            if found:
                hits[needle.ident] = (needle.ident, found[0], needle.encoding)
        return list(hits.values())

    def plain_residuals(self, data: bytes | memoryview) -> list[Residual]:
        """Every place an identifier sits in ``data`` read whole as header bytes, without a DICOM walk: for
        files that are not DICOM (an exported report). One residual per kind and offset, ``where`` "byte N",
        in offset order; the same needles and boundary rules as ``search``. Bytes without a NUL (text) skip the
        UTF-16 spellings that hold one: they cannot be there."""
        found: dict[tuple[str, int], Residual] = {}
        needles = self.needles if b"\x00" in data else [n for n in self.needles if b"\x00" not in n.raw]
        end, pos = len(data), 0
        while pos < end:
            stop = min(end, pos + CHUNK)
            lo, hi = max(0, pos - 4), min(end, stop + self.longest + 4)
            hay = bytes(data[lo:hi]).lower()
            for needle in _present(hay, needles):
                for at in _find_all(hay, needle, lo):
                    if pos <= at < stop:
                        found.setdefault((needle.ident.kind, at),
                                         Residual(needle.ident.kind, f"byte {at}", at, needle.encoding))
            pos = stop
        return sorted(found.values(), key=lambda r: (r.offset or 0, r.kind))


def _trigrams(data: bytes) -> "numpy.ndarray":
    import numpy as np

    a = np.frombuffer(data, dtype=np.uint8).astype(np.uint32)
    return (a[:-2] << 16) | (a[1:-1] << 8) | a[2:]


def _present(hay: bytes, needles: Sequence[_Needle]) -> list[_Needle]:
    """The needles whose every 3-byte run is somewhere in ``hay`` (the others cannot be in it): thousands of
    identifiers over megabytes of text cost one pass of numpy instead of a ``find`` each."""
    import numpy as np

    if len(hay) < 1 << 16:
        return list(needles)
    seen = np.unique(_trigrams(hay))
    kept = []
    for needle in needles:
        if len(needle.raw) < 3:
            kept.append(needle)
            continue
        codes = _trigrams(needle.raw)
        at = np.minimum(np.searchsorted(seen, codes), len(seen) - 1)
        if bool(np.all(seen[at] == codes)):
            kept.append(needle)
    return kept
