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
    "issue": ("Validation Issue", "Issue", "Issue Type", "Findings", "Finding"),
    "value": ("Detected Value", "Value", "Detected"),
    "tag": ("Tag", "DICOM Tag", "Tag Name", "Attribute", "DICOM Attribute"),
    "action": ("Action", "Reviewer Action", "Resolution"),
    "note": ("Comments", "Notes", "Comment", "Note", "Reviewer Comments", "Reviewer Notes"),
    "reviewer": ("Reviewer", "Reviewed By"),
    "reviewed_at": ("Reviewed At", "Review Date", "Reviewed On", "Reviewed"),
    "corrected_copy": ("Corrected Copy", "Corrected File", "Corrected Copy Path"),
    "second_review": ("Second Review",),
    "second_reviewer": ("Second Reviewer",),
    "second_reviewed_at": ("Second Reviewed At",),
    # The EDRN validator's own columns (validate-dicom-files): kept on each finding.
    "details": ("Details", "Detail", "Finding Details"),
    "score": ("Score",),
    "profile": ("Profile",),
    "site": ("Site ID", "Site", "Site Name"),
    "event": ("Event ID", "Event"),
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


def seen_columns(rows: Sequence[Sequence[object]], limit: int = 12) -> str:
    """The cells of the fullest row among the first rows, so "no header" can say what was there."""
    best: list[str] = []
    for row in rows[:SCAN_ROWS]:
        cells = [str(cell).strip() for cell in row if cell not in (None, "") and str(cell).strip()]
        if len(cells) > len(best):
            best = cells
    if not best:
        return "the first rows are empty"
    shown = ", ".join(cell[:40] for cell in best[:limit])
    return f"columns seen: {shown}" + (f" (+{len(best) - limit} more)" if len(best) > limit else "")


def column_map(found: dict[str, int]) -> ColumnMap:
    if "file" not in found:
        names = ", ".join(ALIASES["file"])
        raise ReportError(f"no file column: expected one of {names}")
    return ColumnMap(**found)


def looked_for() -> str:
    return "; ".join(f"{field}: {' / '.join(names[:3])}" for field, names in ALIASES.items() if field in ("file", "issue", "value", "action"))
