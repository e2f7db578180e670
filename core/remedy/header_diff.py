"""Header diff of an original and its corrected copy: modified, removed, added, with a summary.

Why: the reviewer verifies a fix by seeing what changed, side by side (as
Patient Journey Intelligence's Metadata Inspector and CTP's audit log do), not
by trusting the profile. Values are returned raw; whoever shows them passes
them through ``inert()``. Pixel data is not read (the pixel fix has its own
before/after view).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset
from pydicom.multival import MultiValue

from phi_review.core.common.inert import inert
from phi_review.core.dicom.bounded import error_text, read_header
from phi_review.core.dicom.reading import deep_call
from phi_review.core.remedy.output import RemedyError
from phi_review.core.remedy.values import UNREADABLE_VALUE, safe_elements

BINARY_VRS = frozenset({"OB", "OW", "OF", "OD", "OL", "OV", "UN"})


@dataclass
class DiffRow:
    """One attribute that differs; ``path`` names nested ones ``Seq[0].Keyword``."""

    path: str
    tag: str
    keyword: str
    vr: str
    status: str  # "modified" | "removed" | "added"
    old: str = ""
    new: str = ""
    private_creator: str = ""


@dataclass
class HeaderDiff:
    original: Path
    copy: Path
    rows: list[DiffRow] = field(default_factory=list)
    unchanged: int = 0

    @property
    def summary(self) -> dict[str, int]:
        """Counts by status: modified, removed, added, unchanged."""
        counts = Counter(r.status for r in self.rows)
        return {"modified": counts["modified"], "removed": counts["removed"], "added": counts["added"],
                "unchanged": self.unchanged}

    def summary_line(self) -> str:
        s = self.summary
        return f"{s['modified']} modified, {s['removed']} removed, {s['added']} added, {s['unchanged']} unchanged"


def _text(elem: DataElement) -> str:
    try:
        if elem.VR == "SQ":
            return f"<sequence of {len(elem.value or [])} item(s)>"
        value = elem.value
        if elem.VR in BINARY_VRS or isinstance(value, (bytes, bytearray)):
            return f"<{len(value or b'')} bytes>"
        if isinstance(value, (list, MultiValue)):
            return "\\".join("" if v is None else str(v) for v in value)
        return "" if value is None else str(value)
    except Exception:  # noqa: BLE001 - a deferred value that no longer reads, a name in a bad character set
        return UNREADABLE_VALUE


def _creator_of(creators: Dataset, ctag: int) -> str:
    try:
        return str(creators[ctag].value or "") if ctag in creators else ""
    except Exception:  # noqa: BLE001 - a damaged creator element names no one
        return ""


def _flatten(ds: Dataset, prefix: str, out: dict[str, tuple[DataElement, str, str]], creators: Dataset) -> None:
    for elem in safe_elements(ds, []):  # a value pydicom cannot convert is shown as such, the rest still compared
        tag = f"({elem.tag.group:04X},{elem.tag.element:04X})"
        name = elem.keyword or tag
        creator = ""
        if elem.tag.is_private and elem.tag.element >= 0x0100:
            ctag = (elem.tag.group << 16) | (elem.tag.element >> 8)
            creator = _creator_of(creators, ctag)
            name = f"{tag}[{creator}]" if creator else tag
        path = prefix + name
        out[path] = (elem, _text(elem), creator)
        if elem.VR == "SQ" and not isinstance(elem.value, str):
            for i, item in enumerate(elem.value or []):
                _flatten(item, f"{path}[{i}].", out, item)


def _read(path: Path) -> Dataset:
    """Header only (bounded: regular files, no pixels, no zero tail); one line naming the file if not."""
    try:
        return read_header(path)
    except Exception as error:  # noqa: BLE001 - DicomError already names the file; anything else is named here
        raise RemedyError(error_text(error)) from None


def _flat(ds: Dataset) -> dict[str, tuple[DataElement, str, str]]:
    out: dict[str, tuple[DataElement, str, str]] = {}

    def walk() -> None:
        meta = getattr(ds, "file_meta", None)
        if meta is not None:
            _flatten(meta, "", out, meta)
        _flatten(ds, "", out, ds)

    try:
        walk()
    except RecursionError:  # sequences nested hundreds deep: walked again with a large stack
        out.clear()
        deep_call(walk)
    return out


def header_diff(original: str | Path, copy: str | Path) -> HeaderDiff:
    """Every attribute (file meta and nested items too) that differs between the two files."""
    return dataset_diff(_read(Path(original)), _read(Path(copy)), original, copy)


def dataset_diff(a_ds: Dataset, b_ds: Dataset, original: str | Path, copy: str | Path) -> HeaderDiff:
    """The same diff over two datasets in memory (a profile preview writes no copy)."""
    a: dict[str, tuple[DataElement, str, str]] = {}
    b: dict[str, tuple[DataElement, str, str]] = {}
    for ds, out, path in ((a_ds, a, original), (b_ds, b, copy)):
        try:
            out.update(_flat(ds))
        except Exception as error:  # noqa: BLE001 - named, one line, never a traceback
            raise RemedyError(f"{inert(Path(path).name)}: cannot compare its header ({error_text(error)})") from None
    diff = HeaderDiff(Path(original), Path(copy))
    for path in list(a) + [p for p in b if p not in a]:
        old, new = a.get(path), b.get(path)
        ref = (old or new)[0]  # type: ignore[index]
        tag = f"({ref.tag.group:04X},{ref.tag.element:04X})"
        creator = (old or new)[2]  # type: ignore[index]
        if old is None:
            diff.rows.append(DiffRow(path, tag, ref.keyword or "", ref.VR, "added", "", new[1], creator))  # type: ignore[index]
        elif new is None:
            diff.rows.append(DiffRow(path, tag, ref.keyword or "", ref.VR, "removed", old[1], "", creator))
        elif old[1] != new[1]:
            diff.rows.append(DiffRow(path, tag, ref.keyword or "", ref.VR, "modified", old[1], new[1], creator))
        else:
            diff.unchanged += 1
    return diff
