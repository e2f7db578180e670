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
EDITABLE_FIELDS: tuple[str, ...] = ("action", "note", "reviewer", "reviewed_at", "corrected_copy",
                                    "second_review", "second_reviewer", "second_reviewed_at")
# The second pass: another reviewer's action on a decided row (same action confirms, another disputes).
SECOND_FIELDS: tuple[str, ...] = ("second_review", "second_reviewer", "second_reviewed_at")


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
    corrected_copy: int | None = None
    second_review: int | None = None
    second_reviewer: int | None = None
    second_reviewed_at: int | None = None
    details: int | None = None
    score: int | None = None
    profile: int | None = None
    site: int | None = None
    event: int | None = None


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
    cells: Sequence[object] = ()  # every cell of the row as read, header order (core.report.reader.display_cells)
    # Where the row came from when the report is several CSV files: the source's
    # name (Report.sources[i].name, one shared str per file); "" for one file.
    source: str = ""
    site: str = ""  # the validator's Site ID / Event ID: they pick among same-named files
    event: str = ""
    details: str = ""  # the validator's Details text, parsed on demand (core.report.pointer)
    profile: str = ""  # the validator's Profile (1.0.x): it settles one ambiguous Details wording
    corrected_copy: str = ""  # the corrected copy written for this row's file (relative to the report)
    second_review: str = ""  # the second reviewer's action ("" until the second pass looked at the row)
    second_reviewer: str = ""
    second_reviewed_at: str = ""
    # What the row points at (tags, value, frame, kind), computed on first use and
    # kept: 500k rows never pay for parsing Details until a row is looked at.
    pointer: object = field(default=None, repr=False, compare=False)

    @property
    def reviewed(self) -> bool:
        return bool(self.action.strip())

    @property
    def kind(self) -> str:
        """pixels, header, missing, warning, error or other (from the issue text)."""
        from phi_review.core.report.pointer import pointer_of

        return pointer_of(self).kind

    @property
    def tags(self) -> tuple[str, ...]:
        """The ``(gggg,eeee)`` tags the row names (Details first, then the Tag column)."""
        from phi_review.core.report.pointer import pointer_of

        return pointer_of(self).tags

    @property
    def frame(self) -> int | None:
        """The frame index the validator printed (within the frames it sampled), or None.

        The file's own frame needs its frame count: ``pointer.first_frame(finding, n)``.
        """
        from phi_review.core.report.pointer import pointer_of

        return pointer_of(self).frame_index


@dataclass(frozen=True)
class Fingerprint:
    """What the report looked like on disk when read, to refuse overwriting a changed one."""

    size: int
    mtime_ns: int
    sha256: str


@dataclass
class CsvFormat:
    """How one CSV file is written, so saving gives back its own bytes plus our columns."""

    delimiter: str = ","
    encoding: str = "utf-8"  # "utf-8" or "latin-1"
    bom: bool = False
    newline: str = "\r\n"


@dataclass
class Source:
    """One CSV file of a report read from several (or from a folder of them)."""

    path: Path
    name: str  # what Finding.source holds: the path relative to the report's folder
    header_row: int  # 1-based
    headers: list[str]
    columns: ColumnMap
    fingerprint: Fingerprint
    format: CsvFormat = field(default_factory=CsvFormat)
    rows: int = 0  # findings read from it
    width: int = 0  # the most fields any record has: our columns go after all of them
    # The validator's own CSVs are never written: their decisions live in a hidden reviewed
    # copy (core.report.csv_reviewed.ReviewedCopy); None: saved in place.
    reviewed: object | None = None


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
    # CSV reports: one entry per file (one for a single CSV, whose findings have source "").
    sources: list[Source] = field(default_factory=list)
    _by_name: dict[str, Source] = field(default_factory=dict, repr=False, compare=False)

    def source_of(self, finding: Finding) -> Source | None:
        """The CSV file a finding's row is in (None for workbooks); a dict, as a folder may hold thousands."""
        if len(self._by_name) != len(self.sources):
            self._by_name = {source.name: source for source in self.sources}
        return self._by_name.get(finding.source)

    def source_path(self, finding: Finding) -> Path:
        """The report file the row came from."""
        source = self.source_of(finding)
        return source.path if source is not None else self.path
