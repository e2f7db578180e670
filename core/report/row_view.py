"""The rest of a report row: every column the list and the context line do not already show.

A validator row's Details, Score, Profile, Site and Event tell six rows of one
file apart; the reviewer must see them whole, in the report's own column names.
"""

from __future__ import annotations

from phi_review.core.report.model import Finding, Report
from phi_review.core.report.reader import display

# Fields already on screen elsewhere (list columns and the context line).
SHOWN_FIELDS = ("file", "issue", "value", "tag", "action", "note", "reviewer", "reviewed_at")


def other_cells(report: Report, finding: Finding) -> list[tuple[str, str]]:
    """(column name, text) for each non-empty cell of the row that is not shown elsewhere."""
    shown = {getattr(report.columns, name, None) for name in SHOWN_FIELDS}
    cells: list[tuple[str, str]] = []
    for index, cell in enumerate(finding.cells):
        if index in shown:
            continue
        text = display(cell)
        if not text.strip():
            continue
        name = str(report.headers[index]) if index < len(report.headers) and report.headers[index] else f"Column {index + 1}"
        cells.append((name, text))
    return cells
