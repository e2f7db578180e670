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
from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError
from pydicom.tag import BaseTag, Tag

from phi_review.core.common.errors import DicomError
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
    for tag in sorted(dataset.keys(), key=int):  # int keys: Tag comparisons are slow
        raw = dataset.get_item(tag)
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
        try:
            element = dataset[tag]
        except Exception as error:  # noqa: BLE001 - show the element, never lose the rest
            raw = dataset.get_item(tag)
            data = getattr(raw, "value", b"") or b""
            yield HeaderRow(
                tag=f"({tag.group:04X},{tag.element:04X})", keyword=keyword_for_tag(tag) or "", vr=getattr(raw, "VR", "") or "??",
                vm=1, value=inert(f"<unreadable: {type(error).__name__}> {bytes(data[:32]).hex(' ')}"),
                full_value=inert(bytes(data).hex(" ")), depth=depth, is_meta=is_meta,
            )
            continue
        try:
            text = _value_text(element)
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
                yield from _rows(item, depth + 2, is_meta)


def _creator(dataset: Dataset, tag: BaseTag) -> str:
    block = (tag.element >> 8) & 0xFF
    creator_tag = Tag(tag.group, block)
    if creator_tag in dataset:
        return str(dataset[creator_tag].value)
    return ""


def _read(path: Path) -> tuple[Dataset, str | None]:
    """Read the header; a truncated file gives what was read plus the error."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return pydicom.dcmread(path, stop_before_pixels=True, force=True), None
        except (InvalidDicomError, FileNotFoundError, IsADirectoryError, PermissionError) as error:
            raise DicomError(f"{path.name}: cannot read: {error}") from None
        except Exception as error:  # noqa: BLE001 - truncated or corrupt: read what we can
            first = str(error).splitlines()[0] if str(error) else type(error).__name__
            partial = _read_partial(path)
            if partial is None or len(partial) == 0:
                raise DicomError(f"{path.name} is not a readable DICOM file: {first}") from None
            return partial, f"file is damaged or truncated; showing what could be read ({first})"


def _read_partial(path: Path) -> Dataset | None:
    from pydicom.filereader import read_partial

    try:
        with open(path, "rb") as handle:
            return read_partial(handle, stop_when=None, defer_size=None, force=True)
    except Exception:  # noqa: BLE001
        pass
    # Fall back: read element by element until the data runs out.
    try:
        from pydicom.filereader import data_element_generator

        with open(path, "rb") as handle:
            handle.seek(0)
            head = handle.read(132)
            if head[128:132] != b"DICM":
                handle.seek(0)
            dataset = Dataset()
            try:
                for raw in data_element_generator(handle, is_implicit_VR=False, is_little_endian=True):
                    dataset[raw.tag] = raw
            except Exception:  # noqa: BLE001
                pass
            return dataset
    except OSError:
        return None


def _cut_inside_element(path: Path, dataset: Dataset) -> str | None:
    """A file cut inside its header: pydicom keeps a short last value, or stops before a partial element.

    Works on the raw (not yet converted) last element, whose offset and declared
    length pydicom keeps (offsets in the file: the caller skips deflated files).
    """
    keys = list(dataset.keys())
    if not keys:
        return None
    raw = dataset.get_item(keys[-1])
    tell = getattr(raw, "value_tell", None)
    length = getattr(raw, "length", None)
    if tell is None or length is None or length == 0xFFFFFFFF:
        return None
    try:
        size = path.stat().st_size
    except OSError:
        return None
    tag = f"({raw.tag.group:04X},{raw.tag.element:04X})"
    have = len(raw.value) if isinstance(raw.value, (bytes, bytearray)) else length
    if have < length:
        return f"file is truncated: {tag} has {have} of {length} bytes"
    left = size - (tell + length)
    if 0 < left < 8:  # less than one element's tag and length
        return f"file is truncated: it ends inside the element after {tag}"
    return None


def truncation(path: Path, dataset: Dataset) -> str | None:
    """Why the file looks cut short, or None. pydicom stops quietly at end of file.

    Call it before the header's values are read: the check of the header's end
    needs the raw elements.
    """
    import mmap

    meta = getattr(dataset, "file_meta", None)
    syntax = meta.get("TransferSyntaxUID") if meta is not None else None
    if syntax is not None and syntax.is_deflated:
        return None  # offsets and pixel data are inside the deflated stream: nothing to measure
    cut = _cut_inside_element(path, dataset)
    if cut:
        return cut
    if "Rows" not in dataset or "Columns" not in dataset:
        return None
    try:
        with open(path, "rb") as handle, mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as view:
            big_endian = False
            offset = view.rfind(b"\xe0\x7f\x10\x00")
            if offset < 0:
                offset, big_endian = view.rfind(b"\x7f\xe0\x00\x10"), True
            size = len(view)
            if offset < 0:
                return "file is truncated: it ends before its pixel data"
            if syntax is not None and syntax.is_compressed:
                return None
            explicit = view[offset + 4 : offset + 6] in (b"OB", b"OW")
            length_at, width = (offset + 8, 4) if explicit else (offset + 4, 4)
            declared = int.from_bytes(view[length_at : length_at + width], "big" if big_endian else "little")
            available = size - (length_at + width)
    except (OSError, ValueError):
        return None
    if declared != 0xFFFFFFFF and available < declared:
        return f"file is truncated: pixel data has {available} of {declared} bytes"
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
    if not path.is_file():
        raise DicomError(f"{path} not found")
    dataset, error = _read(path)
    if not _looks_dicom(dataset):
        raise DicomError(f"{path.name} is not a DICOM file")
    rows: list[HeaderRow] = []
    meta = getattr(dataset, "file_meta", None)
    if error is None:
        error = truncation(path, dataset)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if meta is not None:
            rows.extend(_rows(meta, 0, True))
        try:
            rows.extend(_rows(dataset, 0, False))
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
    syntax = ""
    if meta is not None and "TransferSyntaxUID" in meta:
        uid = meta.TransferSyntaxUID
        syntax = f"{uid.name}" if uid.name != uid else str(uid)
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
    except (TypeError, ValueError):
        frames = 1
    return HeaderResult(rows=rows, error=error, transfer_syntax=syntax, frames=frames,
                        modality=str(dataset.get("Modality", "") or ""), values=values)
