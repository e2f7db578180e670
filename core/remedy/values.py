"""Every distinct header value across many files, seen once.

Why: TCIA's "Tag Sniffer" step. A name typed into StudyDescription in one of
4,000 files is found by reading each distinct value once, not each file. Free
text and private attributes (with their creators) come first: that is where
the profile cannot know what is safe. Values are returned raw, for exact
matching; whoever shows them passes them through ``inert()``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset
from pydicom.multival import MultiValue

from phi_review.core.dicom.bounded import NotDicomError, error_text, read_header
from phi_review.core.dicom.identifying_tags import FREE_TEXT, IDENTIFYING
from phi_review.core.dicom.reading import deep_call

FREE_TEXT_VRS = frozenset({"LT", "ST", "UT", "UC"})
BINARY_VRS = frozenset({"OB", "OW", "OF", "OD", "OL", "OV", "UN"})
VALUE_LIMIT = 1024  # a longer value is kept to this many characters (plus a marker)
FILES_LIMIT = 1000  # paths kept per value; the count goes on


@dataclass
class ValueSeen:
    """One distinct value of one attribute: how many files hold it, and which."""

    value: str
    count: int = 0
    files: list[Path] = field(default_factory=list)


@dataclass
class AttributeValues:
    """One attribute (a tag; private ones with their creator) and its distinct values."""

    tag: str
    keyword: str
    vr: str
    private_creator: str = ""
    free_text: bool = False
    identifying: bool = False
    values: dict[str, ValueSeen] = field(default_factory=dict)

    @property
    def private(self) -> bool:
        return int(self.tag[1:5], 16) % 2 == 1

    def sorted_values(self) -> list[ValueSeen]:
        """Most frequent first, then by value."""
        return sorted(self.values.values(), key=lambda v: (-v.count, v.value))


@dataclass
class ValuesResult:
    attributes: list[AttributeValues]
    files: int
    unreadable: list[tuple[Path, str]]  # (file, one inert line why): not read at all
    not_dicom: list[Path] = field(default_factory=list)  # no DICM marker, or not a regular file: skipped
    damaged: list[tuple[Path, int]] = field(default_factory=list)  # (file, values pydicom could not convert)


UNREADABLE_VALUE = "<value pydicom cannot read>"
TEXT_VRS = frozenset({"AE", "AS", "AT", "CS", "DA", "DS", "DT", "FL", "FD", "IS", "LO", "LT", "PN", "SH", "SL",
                      "SS", "ST", "SV", "TM", "UC", "UI", "UL", "UR", "US", "UT", "UV"})


def _text(elem: DataElement) -> str:
    try:
        value = elem.value
        if isinstance(value, (list, MultiValue)):
            text = "\\".join("" if v is None else str(v) for v in value)
        else:
            text = "" if value is None else str(value)
    except Exception:  # noqa: BLE001 - a deferred value that no longer reads, a name in a bad character set
        return UNREADABLE_VALUE
    if len(text) > VALUE_LIMIT:
        text = text[:VALUE_LIMIT] + f"...(+{len(text) - VALUE_LIMIT} chars)"
    return text


def _creator(ds: Dataset, elem: DataElement) -> str:
    tag = elem.tag
    if tag.element < 0x0100:
        return str(elem.value or "") if 0x10 <= tag.element <= 0xFF else ""
    creator = (tag.group << 16) | (tag.element >> 8)
    try:
        return str(ds[creator].value or "") if creator in ds else ""
    except Exception:  # noqa: BLE001 - a damaged creator element names no one
        return ""


def safe_elements(ds: Dataset, damaged: list[DataElement]) -> Iterable[DataElement]:
    """Every element of ``ds``; one whose value pydicom cannot convert (odd-length US, VR ``XX``, ``'1A'`` in
    an IS) comes raw, marked in ``damaged``, and the walk goes on: the values after it are read too."""
    for tag in list(ds.keys()):
        try:
            yield ds[tag]
        except Exception:  # noqa: BLE001 - pydicom raises many kinds while converting a raw value
            raw = ds.get_item(tag)
            vr = str(raw.VR or "")
            if vr in BINARY_VRS:
                continue  # binary values are not listed anyway
            vr = vr if vr in TEXT_VRS else "UT"  # an unknown VR ("XX") or a sequence that does not parse
            elem = DataElement(tag, vr, UNREADABLE_VALUE, validation_mode=0)
            damaged.append(elem)
            yield elem


def _walk(ds: Dataset, prefix: str = "", damaged: list[DataElement] | None = None
          ) -> Iterable[tuple[str, Dataset, DataElement]]:
    damaged = [] if damaged is None else damaged
    for elem in safe_elements(ds, damaged):
        if elem.VR == "SQ" and not isinstance(elem.value, str):
            for item in elem.value or []:
                yield from _walk(item, prefix + (elem.keyword or f"({elem.tag.group:04X},{elem.tag.element:04X})") + ".",
                                 damaged)
            continue
        yield prefix, ds, elem


def distinct_values(paths: Iterable[str | Path], free_text: bool = False, private: bool = False,
                    identifying: bool = False) -> ValuesResult:
    """Per attribute the distinct values with counts and files.

    With no filter every attribute is listed; each filter adds its kind (they
    combine as "or"). Order: free text, then private (by creator), then
    identifying attributes, then the rest; attributes by tag within a kind.
    Binary values and file meta are skipped; nested items are included
    under ``Sequence.Keyword``.
    """
    table: dict[tuple[str, str], AttributeValues] = {}
    unreadable: list[tuple[Path, str]] = []
    not_dicom: list[Path] = []
    damaged_files: list[tuple[Path, int]] = []
    count = 0
    for raw in paths:
        path = Path(raw)
        try:
            ds = read_header(path)  # regular files only, bounded: a FIFO or a zero tail cannot stall the run
        except NotDicomError:
            not_dicom.append(path)
            continue
        except Exception as error:  # noqa: BLE001 - counted and named, never a traceback
            unreadable.append((path, error_text(error)))
            continue
        damaged: list[DataElement] = []
        try:
            try:
                found = list(_walk(ds, "", damaged))
            except RecursionError:  # sequences nested hundreds deep: walked with a large stack
                damaged.clear()
                found = deep_call(lambda: list(_walk(ds, "", damaged)))
        except Exception as error:  # noqa: BLE001 - counted and named, never a traceback
            unreadable.append((path, error_text(error)))
            continue
        count += 1
        for prefix, owner, elem in found:
            if elem.VR in BINARY_VRS or elem.tag.group == 0x0002:
                continue
            is_private = elem.tag.is_private
            keyword = prefix + (elem.keyword or "")
            is_free = elem.VR in FREE_TEXT_VRS or (elem.keyword in FREE_TEXT)
            is_ident = elem.keyword in IDENTIFYING
            if free_text or private or identifying:
                if not ((free_text and is_free) or (private and is_private) or (identifying and is_ident)):
                    continue
            creator = _creator(owner, elem) if is_private else ""
            tag = f"({elem.tag.group:04X},{elem.tag.element:04X})"
            key = (prefix + tag, creator)
            attr = table.get(key)
            if attr is None:
                attr = table[key] = AttributeValues(tag, keyword, elem.VR or "", creator, is_free, is_ident)
            text = _text(elem)
            seen = attr.values.get(text)
            if seen is None:
                seen = attr.values[text] = ValueSeen(text)
            seen.count += 1
            if len(seen.files) < FILES_LIMIT:
                seen.files.append(path)
        if damaged:
            damaged_files.append((path, len(damaged)))

    def order(item: tuple[tuple[str, str], AttributeValues]) -> tuple[int, str, str]:
        (key, creator), attr = item
        kind = 0 if attr.free_text else 1 if attr.private else 2 if attr.identifying else 3
        return kind, creator, key

    return ValuesResult([a for _, a in sorted(table.items(), key=order)], count, unreadable, not_dicom, damaged_files)


def files_holding(result: ValuesResult, tag: str, value: str, creator: str = "") -> list[Path]:
    """The files in which ``tag`` (``(gggg,eeee)``, top level) holds exactly ``value``."""
    for attr in result.attributes:
        if attr.tag == tag and attr.private_creator == creator and "." not in attr.keyword:
            seen = attr.values.get(value)
            return list(seen.files) if seen else []
    return []
