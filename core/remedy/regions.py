"""Where burned-in text is known to sit, which files a box applies to, and a box as a deid rule.

Known regions come from deid's default recipe, which carries RSNA CTP's
DicomPixelAnonymizer device signatures (extracted by data/make_deid_regions.py
into data/deid_regions.json). Scopes follow the field: this frame, all frames
of the file, every file of the series, every file of the same device signature
(Manufacturer, ManufacturerModelName, Rows, Columns), as CTP signatures and
dicom-dre variants bind regions to a device and a resolution.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import pydicom
from pydicom.datadict import tag_for_keyword
from pydicom.dataset import Dataset

from phi_review.core.common.inert import inert
from phi_review.core.remedy.output import RemedyError
from phi_review.core.remedy.boxes import Box

DATA = Path(__file__).resolve().parent / "data" / "deid_regions.json"
SCOPES = ("frame", "file", "series", "device")
SIGNATURE_TAGS = ("Manufacturer", "ManufacturerModelName", "Rows", "Columns")


@dataclass(frozen=True)
class Region:
    """A known text region: the recipe's label, the box in this file's pixels, and where the rule comes from."""

    label: str
    box: Box
    source: str


@cache
def _rules() -> list[dict[str, Any]]:
    return json.loads(DATA.read_text(encoding="utf-8"))["rules"]


def _text(ds: Dataset, field: str) -> str | None:
    if tag_for_keyword(field) is None or field not in ds:  # the recipe has misspelt keywords: never present
        return None
    value = ds.get(field)
    if value is None:
        return ""
    if isinstance(value, pydicom.multival.MultiValue):
        return "\\".join(str(v) for v in value)
    return str(value)


def _term(ds: Dataset, term: dict[str, str]) -> bool:
    """One deid filter term (deid/dicom/filter.py semantics: contains is a case-insensitive regex search)."""
    action, field, value = term["action"], term["field"], term["value"]
    text = _text(ds, field)
    if action == "missing":
        return text is None
    if action == "empty":
        return text is not None and text.strip() == ""
    if action == "present":
        return text is not None and text.strip() != ""
    if text is None:
        return action in ("notcontains", "notequals")
    if action in ("contains", "notcontains"):
        try:
            found = re.search(value, text, re.IGNORECASE) is not None
        except re.error:
            found = value.lower() in text.lower()
        return found if action == "contains" else not found
    equal = text.strip().lower() == value.strip().lower()
    return equal if action == "equals" else not equal


def _left_to_right(flags: list[bool], operators: list[str | None]) -> bool:
    result = flags[0] if flags else False
    for flag, operator in zip(flags[1:], operators):
        result = (result or flag) if operator == "or" else (result and flag)
    return result


def rule_matches(ds: Dataset, rule: dict[str, Any]) -> bool:
    """Lines combine left to right by their leading ``+``/``||``, as deid's evaluate_group does."""
    line_flags = []
    operators: list[str | None] = []
    for index, line in enumerate(rule["criteria"]):
        inner = [_term(ds, term) for term in line["terms"]]
        line_flags.append(_left_to_right(inner, list(line["inner"])))
        if index:
            operators.append(line["operator"] or "and")
    return bool(line_flags) and _left_to_right(line_flags, operators)


def known_regions(ds: Dataset) -> list[Region]:
    """The recipe's regions for this file's device, clipped to its image; none when no rule matches."""
    rows, columns = int(ds.get("Rows", 0) or 0), int(ds.get("Columns", 0) or 0)
    found: list[Region] = []
    for rule in _rules():
        if not rule_matches(ds, rule):
            continue
        source = f"{rule['source']}, {rule['credit'] or 'deid'}"
        for raw in rule["boxes"]:
            if raw == "all":
                values = [0, 0, columns, rows]
            elif isinstance(raw, str):
                continue  # from:SequenceOfUltrasoundRegions, resolved by the caller if wanted
            else:
                values = raw
            x0, y0, x1, y1 = (max(0, min(v, limit)) for v, limit in zip(values, (columns, rows, columns, rows)))
            if x1 > x0 and y1 > y0:
                found.append(Region(rule["label"], Box(x0, y0, x1, y1), source))
    return found


def device_signature(ds: Dataset) -> tuple[str, str, int, int]:
    """(Manufacturer, ManufacturerModelName, Rows, Columns): files that share it share their text layout."""
    return (
        str(ds.get("Manufacturer", "") or "").strip(),
        str(ds.get("ManufacturerModelName", "") or "").strip(),
        int(ds.get("Rows", 0) or 0),
        int(ds.get("Columns", 0) or 0),
    )


def _head(path: Path) -> Dataset | None:
    try:
        return pydicom.dcmread(path, stop_before_pixels=True,
                               specific_tags=["SeriesInstanceUID", "NumberOfFrames", *SIGNATURE_TAGS])
    except Exception:  # unreadable files are simply out of scope
        return None


def scope_files(reference: Path, candidates: Iterable[Path], scope: str) -> list[Path]:
    """The files a box on ``reference`` applies to: itself (frame, file), its series, or its device signature."""
    if scope not in SCOPES:
        raise RemedyError(f"scope {scope!r} is not one of {', '.join(SCOPES)}")
    reference = Path(reference)
    if scope in ("frame", "file"):
        return [reference]
    ref = _head(reference)
    if ref is None:
        raise RemedyError(f"{inert(reference.name)}: not a readable DICOM file")
    chosen = [reference]
    for path in candidates:
        path = Path(path)
        if path.resolve() == reference.resolve():
            continue
        head = _head(path)
        if head is None:
            continue
        if scope == "series":
            same = "SeriesInstanceUID" in ref and head.get("SeriesInstanceUID") == ref.SeriesInstanceUID
        else:
            same = device_signature(head) == device_signature(ref)
        if same:
            chosen.append(path)
    return chosen


def scope_frames(path: Path, scope: str, frame: int) -> list[int] | None:
    """Frames (0-based) a scope covers in one file: the one frame for "frame", every frame (None) otherwise."""
    return [frame] if scope == "frame" else None


def count_frames(paths: Sequence[Path], frames: Sequence[int] | None) -> int:
    """Frames a redaction will touch over these files: for the confirmation line."""
    total = 0
    for path in paths:
        head = _head(Path(path))
        count = int(head.get("NumberOfFrames", 1) or 1) if head is not None else 1
        total += len(frames) if frames is not None else count
    return total


def _recipe_value(value: object) -> str:
    """A value fit for one recipe line: inert (so one line), trimmed."""
    return inert(str(value)).strip()


def _match_term(field: str, value: str) -> str:
    """``equals`` when deid's parser reads the value whole; an anchored ``contains`` pattern when it holds + or |.

    deid splits a criteria line at ``+`` and ``||``; in the pattern those
    characters become ``.`` and every other special character is escaped.
    """
    if not value:
        return f"empty {field}"
    if "+" not in value and "|" not in value:
        return f"equals {field} {value}"
    pattern = "".join("." if c in "+|" else re.escape(c) for c in value)
    return f"contains {field} ^{pattern}$"


def deid_recipe(signature: tuple[str, str, int, int], boxes: Sequence[Box], label: str = "phi-review box",
                credit: str = "phi-review") -> str:
    """A deid recipe (``%filter`` with ``coordinates``) that blanks these boxes on every file of the device signature.

    Uses ``equals`` (exact, case-insensitive in deid) rather than
    ``contains`` so a manufacturer name is not read as a regular expression.
    The label's ``#`` starts deid's comment, so it is dropped from the label.
    """
    manufacturer, model, rows, columns = signature
    lines = ["FORMAT dicom", "", "%filter graylist", "", f"LABEL {_recipe_value(label).replace('#', ' ')} # ({_recipe_value(credit).replace('#', ' ')})"]
    terms = [_match_term("Manufacturer", _recipe_value(manufacturer)),
             _match_term("ManufacturerModelName", _recipe_value(model))]
    terms.append(f"equals Rows {int(rows)}")
    terms.append(f"equals Columns {int(columns)}")
    lines.append(f"  {terms[0]}")
    lines.extend(f"  + {term}" for term in terms[1:])
    lines.extend(f"  coordinates {b.x0},{b.y0},{b.x1},{b.y1}" for b in boxes)
    return "\n".join(lines) + "\n"
