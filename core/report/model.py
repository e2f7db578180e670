"""The report as the rest of the program sees it: plain dataclasses, no I/O."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_ACTIONS: tuple[str, ...] = (
    "No Issue / False Positive",
    "Needs Deletion & Re-upload",
    "Needs Metadata Update",
    "Needs DMCC/JPL Review",
    "Follow-up Needed",
)

# Fields the reviewer can change; the writer maps each to a column.
EDITABLE_FIELDS: tuple[str, ...] = ("action", "note", "reviewer", "reviewed_at")


@dataclass
class ColumnMap:
    """0-based column index of each known column; None when the report lacks it."""

    file: int
    issue: int | None = None
    value: int | None = None
    tag: int | None = None
    action: int | None = None
    note: int | None = None
    reviewer: int | None = None
    reviewed_at: int | None = None


@dataclass(slots=True)
class Finding:
    """One flagged file: one data row of the report."""

    row: int  # spreadsheet row number, 1-based, as Excel shows it
    file: str
    issue: str = ""
    value: str = ""
    tag: str = ""
    action: str = ""  # "" while unreviewed
    note: str = ""
    reviewer: str = ""
    reviewed_at: str = ""
    cells: Sequence[object] = ()  # every cell of the row as read, header order (report_reader.display_cells)

    @property
    def reviewed(self) -> bool:
        return bool(self.action.strip())


@dataclass(frozen=True)
class Fingerprint:
    """What the report looked like on disk when read, to refuse overwriting a changed one."""

    size: int
    mtime_ns: int
    sha256: str


@dataclass
class Report:
    path: Path
    kind: str  # "xlsx" or "csv"
    sheet: str
    header_row: int  # 1-based
    headers: list[str]
    columns: ColumnMap
    actions: list[str]
    findings: list[Finding]
    fingerprint: Fingerprint
    sheet_names: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
