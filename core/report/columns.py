"""Find the header row of a report and map its columns by name.

Reports arrive with title rows above the header and with slightly different
column names; names are compared case-, space- and punctuation-insensitively
against a list of aliases.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from phi_review.core.common.errors import ReportError
from phi_review.core.report.model import ColumnMap

ALIASES: dict[str, tuple[str, ...]] = {
    "file": ("LabCAS File Name", "File Name", "Filename", "File", "Path", "File Path", "LabCAS File"),
    "issue": ("Validation Issue", "Issue", "Issue Type"),
    "value": ("Detected Value", "Value", "Detected"),
    "tag": ("Tag", "DICOM Tag", "Tag Name", "Attribute", "DICOM Attribute"),
    "action": ("Action", "Reviewer Action", "Resolution"),
    "note": ("Comments", "Notes", "Comment", "Note", "Reviewer Comments", "Reviewer Notes"),
    "reviewer": ("Reviewer", "Reviewed By"),
    "reviewed_at": ("Reviewed At", "Review Date", "Reviewed On", "Reviewed"),
}
SCAN_ROWS = 30

_PUNCT = re.compile(r"[^0-9a-z]+")


def normalize(text: object) -> str:
    return _PUNCT.sub("", str(text).lower())


_LOOKUP: dict[str, str] = {normalize(alias): field for field, names in ALIASES.items() for alias in names}


def match_columns(cells: Sequence[object]) -> dict[str, int]:
    """Field -> 0-based column for the cells of one row (first match wins)."""
    found: dict[str, int] = {}
    for index, cell in enumerate(cells):
        field = _LOOKUP.get(normalize(cell)) if cell not in (None, "") else None
        if field and field not in found:
            found[field] = index
    return found


def find_header(rows: Sequence[Sequence[object]]) -> tuple[int, dict[str, int]] | None:
    """The 0-based index of the row that names the most known columns, and its mapping."""
    best: tuple[int, dict[str, int]] | None = None
    for index, row in enumerate(rows[:SCAN_ROWS]):
        found = match_columns(row)
        if "file" not in found or len(found) < 2:
            continue
        if best is None or len(found) > len(best[1]):
            best = (index, found)
    return best


def column_map(found: dict[str, int]) -> ColumnMap:
    if "file" not in found:
        names = ", ".join(ALIASES["file"])
        raise ReportError(f"no file column: expected one of {names}")
    return ColumnMap(**found)


def looked_for() -> str:
    return "; ".join(f"{field}: {' / '.join(names[:3])}" for field, names in ALIASES.items() if field in ("file", "issue", "value", "action"))
