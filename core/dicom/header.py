"""A DICOM header as rows a reviewer can scan: every tag, sequences nested, private tags named.

Read without pixel data. Each element is converted on its own, so one bad
value (wrong VR, unknown character set, truncated data) shows as raw bytes
instead of hiding the rest of the header. Rows that hold the flagged tag or the
detected value are marked; required tags that are missing appear as rows.
"""

from __future__ import annotations

import re
import struct
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pydicom
from pydicom.datadict import dictionary_VR, keyword_for_tag, tag_for_keyword
from pydicom.dataelem import DataElement, RawDataElement
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError
from pydicom.tag import BaseTag, Tag

from phi_review.core.common.errors import DicomError
from phi_review.core.common.regular import open_regular
from phi_review.core.dicom.reading import (DEFER_BYTES, PIXEL_TAGS, UNDEFINED, Damaged, PixelLocation, ReadResult,
                                           is_known_syntax,
                                           deep_call, read_dicom, syntax_name, syntax_uid)
from phi_review.core.dicom.identifying_tags import is_identifying, rank
from phi_review.core.common.inert import inert, shorten

VALUE_LIMIT = 200
_NORM = re.compile(r"[^0-9a-z]+")
_TAG_TEXT = re.compile(r"^\(?\s*([0-9a-fA-F]{4})\s*,?\s*([0-9a-fA-F]{4})\s*\)?$")


@dataclass
class HeaderRow:
    tag: str
    keyword: str
    vr: str
    vm: int
    value: str
    full_value: str
    depth: int = 0
    private_creator: str = ""
    is_meta: bool = False
    matched: bool = False
    missing: bool = False
    identifying: bool = False  # names or dates someone (core/identifying_tags.py), flagged or not


@dataclass
class HeaderResult:
    rows: list[HeaderRow]
    error: str | None = None
    transfer_syntax: str = ""
    frames: int = 1
    modality: str = ""
    values: dict[str, str] = field(default_factory=dict)  # keyword -> text, top level, for PHI matching

    def other_identifying(self) -> list[str]:
        """Keywords of identifying rows that are not the flagged one, once each, the patient's own first."""
        seen: dict[str, None] = {}
        for row in self.rows:
            if row.identifying and not row.matched:
                seen.setdefault(row.keyword, None)
        return sorted(seen, key=rank)  # stable: header order within a group


def normalize(text: str) -> str:
    return _NORM.sub("", text.lower())


def parse_tag(text: str) -> BaseTag | None:
    """``PatientName``, ``(0010,0010)``, ``0010,0010`` or ``00100010`` -> tag."""
    text = text.strip()
    match = _TAG_TEXT.match(text)
    if match:
        return Tag(int(match.group(1), 16), int(match.group(2), 16))
    number = tag_for_keyword(text.replace(" ", ""))
    return Tag(number) if number is not None else None


def _value_text(element: DataElement) -> str:
    if element.VR == "SQ":
        return f"<sequence of {len(element.value)} item(s)>"
    if element.VR in ("OB", "OW", "OF", "OD", "OL", "OV", "UN") or isinstance(element.value, (bytes, bytearray)):
        raw = element.value if isinstance(element.value, (bytes, bytearray)) else b""
        if element.tag == 0x7FE00010 or len(raw) > 64:
            return f"<{len(raw)} bytes>" if raw else "<binary data>"
        return raw.hex(" ")
    value = element.value
    if isinstance(value, (list, tuple)) or type(value).__name__ == "MultiValue":
        return "\\".join(str(v) for v in value)
    return str(value)


# Text VRs whose bytes, when plain printable ASCII, are the value pydicom would show:
# ASCII reads the same in every character set DICOM allows (ISO 2022 switches need ESC).
_TEXT_VRS = frozenset({"AE", "AS", "CS", "DA", "DT", "LO", "PN", "SH", "TM", "UI", "UC", "DS", "IS",
                       "LT", "ST", "UT", "UR"})
_BINARY = {"US": "H", "SS": "h", "UL": "I", "SL": "i", "FL": "f", "FD": "d", "UV": "Q", "SV": "q"}
_NUMBER = {"IS": re.compile(r"-?[0-9]+"), "DS": re.compile(r"-?[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?")}


def _plain_text(raw: object) -> tuple[str, int, str] | None:
    """(text, VM, VR) straight from a raw element's bytes, or None when pydicom must convert it.

    Why: converting every element through pydicom is most of the header's cost,
    and a plain ASCII text value needs no conversion to be shown exactly. Only
    well-formed values take this path (no spaces around values, numbers that
    parse); anything unusual goes through pydicom, so both paths show the same
    text (tests/test_dicom_files.py compares them).
    """
    vr = getattr(raw, "VR", None)
    if vr is None:  # implicit VR: the dictionary's, as pydicom would take it
        try:
            vr = dictionary_VR(raw.tag)  # type: ignore[attr-defined]
        except KeyError:
            return None
    data = getattr(raw, "value", None)
    if not isinstance(data, bytes):
        return None
    code = _BINARY.get(vr)
    if code is not None:
        size = struct.calcsize(code)
        if not data or len(data) % size:
            return None
        order = "<" if getattr(raw, "is_little_endian", True) else ">"
        values = struct.unpack(f"{order}{len(data) // size}{code}", data)
        return "\\".join(map(str, values)), len(values), vr
    if vr not in _TEXT_VRS:
        return None
    body = data.rstrip(b"\0") if vr == "UI" else data.rstrip(b" ")
    if not body.isascii():
        return None
    text = body.decode("ascii")
    if not text:
        return "", 0, vr
    if not text.isprintable() or text[0] == " " or text[-1] == " ":
        return None
    if vr in ("LT", "ST", "UT", "UR"):
        return text, 1, vr
    if " \\" in text or "\\ " in text:
        return None
    pattern = _NUMBER.get(vr)
    if pattern is not None and not all(pattern.fullmatch(part) for part in text.split("\\")):
        return None
    return text, text.count("\\") + 1, vr


def _rows(dataset: Dataset, depth: int, is_meta: bool) -> Iterator[HeaderRow]:
    """Every row, depth first, with an explicit stack: a sequence nested thousands deep costs no
    recursion and O(1) per row (nested ``yield from`` made each row pass through every level)."""
    stack: list[Iterator[HeaderRow | tuple[Dataset, int]]] = [_level(dataset, depth, is_meta)]
    while stack:
        step = next(stack[-1], None)
        if step is None:
            stack.pop()
        elif isinstance(step, HeaderRow):
            yield step
        else:
            stack.append(_level(step[0], step[1], is_meta))


def _level(dataset: Dataset, depth: int, is_meta: bool) -> Iterator[HeaderRow | tuple[Dataset, int]]:
    """The rows of one dataset; a sequence item is yielded as (item, depth) for ``_rows`` to descend into."""
    for tag in sorted(dataset.keys(), key=int):  # int keys: Tag comparisons are slow
        raw = dataset._dict[tag]  # as read: get_item would load a deferred (large) value
        private = tag.group & 1
        plain = None
        if getattr(raw, "is_raw", False) and (not private or tag.is_private_creator):
            plain = _plain_text(raw)
        keyword = ("PrivateCreator" if private else keyword_for_tag(tag)) if plain is not None else ""
        if keyword:  # no keyword (group lengths): pydicom's name, below
            text, vm, vr = plain  # type: ignore[misc]
            yield HeaderRow(
                tag=f"({tag.group:04X},{tag.element:04X})", keyword=keyword, vr=vr, vm=vm,
                value=shorten(text, VALUE_LIMIT), full_value=text, depth=depth, is_meta=is_meta,
            )
            continue
        if getattr(raw, "value", b"") is None and getattr(raw, "length", 0) not in (0, UNDEFINED):
            # Deferred by read_dicom (over DEFER_BYTES): shown by size, never loaded.
            yield HeaderRow(
                tag=f"({tag.group:04X},{tag.element:04X})", keyword=keyword_for_tag(tag) or "",
                vr=str(getattr(raw, "VR", "") or "??"), vm=1, value=f"<{raw.length} bytes, not read>",
                full_value=f"<{raw.length} bytes, not read>", depth=depth, is_meta=is_meta,
            )
            continue
        try:
            element = dataset[tag]
        except RecursionError:
            raise  # read_header retries in a deep thread
        except Exception as error:  # noqa: BLE001 - show the element, never lose the rest
            raw = dataset._dict[tag]  # the element as read: get_item would convert (and fail) again
            data = getattr(raw, "value", b"") or b""
            yield HeaderRow(
                tag=f"({tag.group:04X},{tag.element:04X})", keyword=keyword_for_tag(tag) or "", vr=getattr(raw, "VR", "") or "??",
                vm=1, value=inert(f"<unreadable: {type(error).__name__}> {bytes(data[:32]).hex(' ')}"),
                full_value=inert(bytes(data).hex(" ")), depth=depth, is_meta=is_meta,
            )
            continue
        try:
            text = _value_text(element)
        except RecursionError:
            raise
        except Exception as error:  # noqa: BLE001
            text = f"<unreadable: {type(error).__name__}>"
        creator = ""
        if tag.is_private and not tag.is_private_creator:
            try:
                creator = _creator(dataset, tag)
            except Exception:  # noqa: BLE001
                creator = ""
        name = element.keyword or keyword_for_tag(tag) or (element.name if element.name and not element.name.startswith("Private tag") else "")
        if tag.is_private_creator:
            name = "PrivateCreator"
        full = inert(text)
        try:
            vm = int(element.VM)
        except Exception:  # noqa: BLE001
            vm = 1
        yield HeaderRow(
            tag=f"({tag.group:04X},{tag.element:04X})", keyword=inert(name), vr=str(element.VR or "??"), vm=vm,
            value=shorten(full, VALUE_LIMIT), full_value=full, depth=depth, private_creator=inert(creator), is_meta=is_meta,
        )
        if element.VR == "SQ":
            for number, item in enumerate(element.value, start=1):
                yield HeaderRow(tag="(FFFE,E000)", keyword=f"Item {number}", vr="", vm=1, value="", full_value="",
                                depth=depth + 1, is_meta=is_meta)
                yield item, depth + 2


def _deep_rows(dataset: Dataset) -> list[HeaderRow]:
    """All rows of a deeply nested dataset, converted in a thread with a large stack."""
    def collect() -> list[HeaderRow]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return list(_rows(dataset, 0, False))

    return deep_call(collect)


def _creator(dataset: Dataset, tag: BaseTag) -> str:
    block = (tag.element >> 8) & 0xFF
    creator_tag = Tag(tag.group, block)
    if creator_tag in dataset:
        return str(dataset[creator_tag].value)
    return ""


def _read(path: Path) -> ReadResult:
    """Read the header; a truncated or damaged file gives what was read plus the error."""
    try:
        return read_dicom(path)
    except Damaged as damage:
        partial = _read_partial(path)
        if partial is None or len(partial) == 0:
            raise DicomError(f"{inert(path.name)} is not a readable DICOM file: {damage}") from None
        return ReadResult(partial, f"file is damaged or truncated; showing what could be read ({damage})", None)


HIDDEN_INDENT = 8


def _hidden_rows(hidden: list[tuple[int, RawDataElement]]) -> Iterator[HeaderRow]:
    """Rows for elements found inside sequences nested too deep to read as a tree, each at its depth."""
    if not hidden:
        return
    yield HeaderRow(tag="(FFFE,E000)", keyword="Inside deeply nested sequences", vr="", vm=1, value="",
                    full_value="", depth=0)
    for depth, raw in hidden:  # shown at most HIDDEN_INDENT deep: 40,000 levels of indentation help nobody
        single = Dataset()
        single._dict[raw.tag] = raw
        yield from _rows(single, min(depth, HIDDEN_INDENT), False)


def _read_partial(path: Path) -> Dataset | None:
    """Element by element until the data runs out, in ascending tag order, values over DEFER_BYTES left unread."""
    from pydicom.filereader import data_element_generator

    try:
        with open_regular(path) as handle, warnings.catch_warnings():
            warnings.simplefilter("ignore")
            head = handle.read(132)
            if head[128:132] != b"DICM":
                handle.seek(0)
            dataset = Dataset()
            previous = -1
            try:
                for raw in data_element_generator(handle, is_implicit_VR=False, is_little_endian=True,
                                                  defer_size=DEFER_BYTES):
                    if int(raw.tag) <= previous or int(raw.tag) in PIXEL_TAGS:
                        break
                    previous = int(raw.tag)
                    dataset[raw.tag] = raw
            except Exception:  # noqa: BLE001 - the damage itself: keep what came before it
                pass
            return dataset
    except (OSError, DicomError):
        return None


def _cut_inside_element(path: Path, dataset: Dataset) -> str | None:
    """A file cut inside its header: pydicom keeps a short last value, or stops before a partial element.

    Works on the raw (not yet converted) last element, whose offset and declared
    length pydicom keeps (offsets in the file: the caller skips deflated files).
    """
    keys = list(dataset.keys())
    if not keys:
        return None
    raw = dataset._dict[keys[-1]]  # as read, never loading a deferred value
    tell = getattr(raw, "value_tell", None)
    length = getattr(raw, "length", None)
    if tell is None or length is None or length == 0xFFFFFFFF:
        return None
    try:
        size = path.stat().st_size
    except OSError:
        return None
    tag = f"({raw.tag.group:04X},{raw.tag.element:04X})"
    value = getattr(raw, "value", None)
    have = len(value) if isinstance(value, (bytes, bytearray)) else min(length, max(0, size - tell))
    if have < length:
        return f"file is truncated: {tag} has {have} of {length} bytes"
    left = size - (tell + length)
    if 0 < left < 8:  # less than one element's tag and length
        return f"file is truncated: it ends inside the element after {tag}"
    return None


def truncation(path: Path, dataset: Dataset, pixels: PixelLocation | None = None) -> str | None:
    """Why the file looks cut short, or None. pydicom stops quietly at end of file.

    ``pixels`` is where ``read_dicom`` found the Pixel Data element (from the
    parsed elements; the pixel bytes are never read nor searched). Call it
    before the header's values are read: the check of the header's end needs
    the raw elements.
    """
    syntax = syntax_uid(dataset)
    if syntax is not None and is_known_syntax(syntax) and syntax.is_deflated:
        return None  # offsets and pixel data are inside the deflated stream: nothing to measure
    if pixels is None:
        cut = _cut_inside_element(path, dataset)
        if cut:
            return cut
        if "Rows" not in dataset or "Columns" not in dataset:
            return None
        return "file is truncated: it ends before its pixel data"
    if pixels.length == UNDEFINED:
        return None
    available = pixels.file_size - pixels.value_offset
    if available < pixels.length:
        return f"file is truncated: pixel data has {max(0, available)} of {pixels.length} bytes"
    return None


def _looks_dicom(dataset: Dataset) -> bool:
    meta = getattr(dataset, "file_meta", None)
    if meta is not None and len(meta):
        return True
    return len(dataset) > 0 and all(int(tag) < 0xFFFF_FFFF for tag in list(dataset.keys())[:3]) and any(
        keyword_for_tag(tag) for tag in list(dataset.keys())[:10]
    )


def read_header(
    path: str | Path,
    *,
    match_values: Sequence[str] = (),
    match_tags: Sequence[str] = (),
    required_missing: Sequence[str] = (),
) -> HeaderResult:
    """Flatten the header of ``path`` into rows, marking what the report flagged."""
    path = Path(path)
    if not path.exists():
        raise DicomError(f"{inert(str(path))} not found")
    read = _read(path)
    dataset, error, pixels = read.dataset, read.error, read.pixels
    if not _looks_dicom(dataset) and not read.hidden:
        raise DicomError(f"{path.name} is not a DICOM file")
    rows: list[HeaderRow] = []
    meta = getattr(dataset, "file_meta", None)
    if error is None:
        error = truncation(path, dataset, pixels)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if meta is not None:
            rows.extend(_rows(meta, 0, True))
        base = len(rows)
        try:
            try:
                rows.extend(_rows(dataset, 0, False))
            except RecursionError:  # deeply nested sequences: read them whole in a deep thread
                del rows[base:]
                rows.extend(_deep_rows(dataset))
            rows.extend(_hidden_rows(read.hidden))
        except Exception as exc:  # noqa: BLE001 - a damaged element stream: keep what we have
            error = error or f"header could not be read completely ({type(exc).__name__})"
    tags = {parse_tag(t) for t in match_tags if t.strip()}
    tags.discard(None)
    tag_texts = {f"({t.group:04X},{t.element:04X})" for t in tags if t is not None}
    needles = [normalize(v) for v in match_values if normalize(v)]
    for row in rows:
        row.identifying = not row.is_meta and is_identifying(row.keyword, row.full_value, row.vr)
        if row.tag in tag_texts and not row.is_meta:
            row.matched = True
        elif needles and row.vr not in ("SQ", "") and any(n in normalize(row.full_value) for n in needles):
            row.matched = True
    for name in required_missing:
        tag = parse_tag(name)
        label = name.strip()
        if tag is None:
            rows.insert(0, HeaderRow(tag="(????,????)", keyword=inert(label), vr="", vm=0, value="", full_value="",
                                     missing=True))
            continue
        if tag not in dataset:
            rows.insert(0, HeaderRow(tag=f"({tag.group:04X},{tag.element:04X})", keyword=keyword_for_tag(tag) or inert(label),
                                     vr="", vm=0, value="", full_value="", missing=True))
    syntax = syntax_name(dataset)
    values: dict[str, str] = {}
    for keyword in ("PatientName", "PatientID", "PatientBirthDate", "StudyDate", "AccessionNumber", "InstitutionName",
                    "BurnedInAnnotation", "RecognizableVisualFeatures", "Modality", "ImageType"):
        try:
            if keyword in dataset:
                values[keyword] = _value_text(dataset[keyword])
        except Exception:  # noqa: BLE001
            continue
    try:
        frames = int(dataset.get("NumberOfFrames", 1) or 1)
    except Exception:  # noqa: BLE001 - a damaged value (wrong VR, bad number): one frame
        frames = 1
    try:
        modality = inert(str(dataset.get("Modality", "") or ""))
    except Exception:  # noqa: BLE001
        modality = ""
    return HeaderResult(rows=rows, error=error, transfer_syntax=syntax, frames=frames,
                        modality=modality, values=values)


def raw_vr(ds: Dataset, tag: BaseTag | int) -> str:
    """An element's VR without converting its value: a header is mostly numbers, and converting each costs.

    The VR read from the file when it said one, else the dictionary's, else ``UN``.
    """
    vr = getattr(ds.get_item(tag), "VR", None)
    if vr:
        return str(vr)
    try:
        return dictionary_VR(tag)
    except KeyError:
        return "UN"
