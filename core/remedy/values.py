"""Every distinct header value across many files, seen once.

Why: TCIA's "Tag Sniffer" step. A name typed into StudyDescription in one of
4,000 files is found by reading each distinct value once, not each file. Free
text and private attributes (with their creators) come first: that is where
the profile cannot know what is safe. Values are returned raw, for exact
matching; whoever shows them passes them through ``inert()``.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import pydicom
from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset
from pydicom.multival import MultiValue

from phi_review.core.dicom.identifying_tags import FREE_TEXT, IDENTIFYING

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
    unreadable: list[tuple[Path, str]]


def _text(elem: DataElement) -> str:
    value = elem.value
    if isinstance(value, (list, MultiValue)):
        text = "\\".join("" if v is None else str(v) for v in value)
    else:
        text = "" if value is None else str(value)
    if len(text) > VALUE_LIMIT:
        text = text[:VALUE_LIMIT] + f"...(+{len(text) - VALUE_LIMIT} chars)"
    return text


def _creator(ds: Dataset, elem: DataElement) -> str:
    tag = elem.tag
    if tag.element < 0x0100:
        return str(elem.value or "") if 0x10 <= tag.element <= 0xFF else ""
    creator = (tag.group << 16) | (tag.element >> 8)
    return str(ds[creator].value or "") if creator in ds else ""


def _walk(ds: Dataset, prefix: str = "") -> Iterable[tuple[str, Dataset, DataElement]]:
    for elem in ds:
        if elem.VR == "SQ":
            for item in elem.value or []:
                yield from _walk(item, prefix + (elem.keyword or f"({elem.tag.group:04X},{elem.tag.element:04X})") + ".")
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
    count = 0
    for raw in paths:
        path = Path(raw)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                ds = pydicom.dcmread(path, stop_before_pixels=True)
        except Exception as error:  # noqa: BLE001 - counted and named, never a traceback
            unreadable.append((path, type(error).__name__))
            continue
        count += 1
        for prefix, owner, elem in _walk(ds):
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

    def order(item: tuple[tuple[str, str], AttributeValues]) -> tuple[int, str, str]:
        (key, creator), attr = item
        kind = 0 if attr.free_text else 1 if attr.private else 2 if attr.identifying else 3
        return kind, creator, key

    return ValuesResult([a for _, a in sorted(table.items(), key=order)], count, unreadable)


def files_holding(result: ValuesResult, tag: str, value: str, creator: str = "") -> list[Path]:
    """The files in which ``tag`` (``(gggg,eeee)``, top level) holds exactly ``value``."""
    for attr in result.attributes:
        if attr.tag == tag and attr.private_creator == creator and "." not in attr.keyword:
            seen = attr.values.get(value)
            return list(seen.files) if seen else []
    return []
