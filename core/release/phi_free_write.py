"""Write the PHI-free report (core.release.phi_free) as .xlsx or .csv, after searching its very bytes.

- ``OUT.xlsx``: a new workbook (openpyxl; a new file, nothing to preserve):
  sheet "Report" (the rows, header frozen, the Action column with the report's
  actions as a drop-down from a hidden "Actions" sheet), sheet "Summary" (counts).
  Every cell is literal text, never a formula; characters XML cannot hold are
  written visibly as ``\\xNN``.
- ``OUT.csv``: UTF-8 with a BOM, CRLF, the excel dialect, one header row then
  the rows (a tool that reads CSV gets rows only); the counts go to
  ``OUT.summary.csv`` beside it. Cells a spreadsheet would run as a formula get
  a leading ``'``.

Before anything is written, every row is searched (the refusal names the row),
then the bytes about to be written (for a workbook every zip part, raw and with
XML entities undone). Both files are written atomically, the summary first.
"""

from __future__ import annotations

import csv
import html
import io
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path
from collections.abc import Sequence

from phi_review.core.common.atomic_file import replace_atomically
from phi_review.core.common.errors import ReportError
from phi_review.core.common.inert import inert
from phi_review.core.proof.search import ByteSearch
from phi_review.core.release.phi_free import (MASK, Masker, Table, build_table, check_table, detected_identifiers,
                                              file_identifiers, source_paths)
from phi_review.core.report.model import Finding, Report

SUMMARY_TAIL = ".summary.csv"


@dataclass
class PhiFreeExport:
    target: Path
    summary: Path | None  # OUT.summary.csv for a CSV export; None for a workbook (its Summary sheet)
    rows: int
    masked: int
    files: int  # files whose identifiers were sought
    unresolved: int  # rows whose file was not found: only the report's detected values were sought for them
    unreadable: int = 0  # files found but not readable: their identifiers are unknown


def summary_path(out: Path) -> Path:
    return out.with_name(out.stem + SUMMARY_TAIL)


def summary_rows(findings: Sequence[Finding], table: Table, files: int, unresolved: int) -> list[list[str]]:
    from phi_review.core.review.summary import summarize

    data = summarize(findings)
    rows = [["Count", "Value"], ["Rows", str(data["rows"])], ["Reviewed", str(data["reviewed"])],
            ["Unreviewed", str(data["unreviewed"])], ["Cells masked", str(table.masked)],
            ["Files whose identifiers were sought", str(files)],
            ["Rows whose file was not found (only detected values sought)", str(unresolved)],
            ["Mask", f"{MASK} stands for a value left out (detected value, Details value, OCR text, note text)"],
            [], ["Issue", "Rows"]]
    rows += [[issue, str(n)] for issue, n in data["by_issue"].items()]  # type: ignore[union-attr]
    rows += [[], ["Action", "Rows"]]
    rows += [[action, str(n)] for action, n in data["by_action"].items()]  # type: ignore[union-attr]
    return rows


def export_phi_free(report: Report, findings: Sequence[Finding], actions: Sequence[str], out: Path,
                    roots: Sequence[Path], force: bool = False) -> PhiFreeExport:
    """Mask, search, and only then write ``out`` (.xlsx or .csv); a refusal names a row and writes nothing."""
    kind = out.suffix.lower()
    if kind not in (".xlsx", ".csv"):
        raise ReportError(f"{inert(out.name)}: --phi-free writes an .xlsx or a .csv file")
    targets = [out] + ([summary_path(out)] if kind == ".csv" else [])
    _check_targets(report, targets, force)
    paths, unresolved = source_paths(report, findings, roots)
    from_files, unreadable = file_identifiers(paths)
    identifiers = from_files + detected_identifiers(findings)
    masker = Masker(identifiers)
    table = build_table(report, findings, masker)
    table.summary = summary_rows(findings, table, len(paths) - unreadable, unresolved)
    search = ByteSearch(identifiers)
    check_table(table, search)
    if kind == ".csv":
        data, summary = _csv_bytes(table.headers, table.rows), _csv_bytes(table.summary[0], table.summary[1:])
        for name, blob in ((out.name, data), (targets[1].name, summary)):
            _check_bytes(search, {name: blob})
        _write(targets[1], summary)
        _write(out, data)
    else:
        data = _xlsx_bytes(table, actions)
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            _check_bytes(search, {f"{out.name}:{n}": archive.read(n) for n in archive.namelist()})
        _write(out, data)
    return PhiFreeExport(out, targets[1] if kind == ".csv" else None, len(table.rows), table.masked,
                         len(paths) - unreadable, unresolved, unreadable)


def _check_targets(report: Report, targets: list[Path], force: bool) -> None:
    from phi_review.core.report.csv_export import refusal
    from phi_review.core.report.csv_reviewed import ReviewedCopy

    folders = {Path(os.path.abspath(s.path.parent)) for s in report.sources if isinstance(s.reviewed, ReviewedCopy)}
    mine = {os.path.realpath(report.path), *(os.path.realpath(s.path) for s in report.sources)}
    for target in targets:
        if target.suffix.lower() == ".csv":
            problem = refusal(target, folders)
            if problem:
                raise ReportError(problem)
        if os.path.realpath(target) in mine:
            raise ReportError(f"{inert(target)} is the report itself; choose another file")
        if os.path.lexists(target):
            if target.is_symlink() or not target.is_file():
                raise ReportError(f"{inert(target)} is a link or not a file; not written through it")
            if not force:
                raise ReportError(f"{inert(target)} exists; give --force to replace it")
        if target.parent.is_symlink():
            raise ReportError(f"{inert(target.parent)} is a link; not written through it")


def _check_bytes(search: ByteSearch, parts: dict[str, bytes]) -> None:
    """The bytes about to be written, raw and as text with XML entities undone: no identifier in either."""
    for name, raw in parts.items():
        found = search.plain_residuals(raw)
        text = html.unescape(raw.decode("utf-8", "replace")).lower().encode("utf-8")
        if not found and text != raw.lower():  # entities, or upper-case letters beyond ASCII
            found = search.plain_residuals(text)
        if found:
            raise ReportError(f"{inert(name)} would hold a {found[0].kind} of the report's files at byte "
                              f"{found[0].offset}; nothing written")


def _write(target: Path, data: bytes) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    replace_atomically(target, lambda handle: handle.write(data))


def _csv_bytes(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> bytes:
    from phi_review.core.report.csv_report import neutralize

    text = io.StringIO(newline="")
    writer = csv.writer(text, lineterminator="\r\n")
    writer.writerow([neutralize(c) for c in headers])
    writer.writerows([[neutralize(c) for c in row] for row in rows])
    return b"\xef\xbb\xbf" + text.getvalue().encode("utf-8", "surrogatepass")


def _literal(cell: object, text: str) -> None:
    """Set a cell to literal text: never a formula; characters XML cannot hold shown as ``\\xNN``."""
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    cell.value = ILLEGAL_CHARACTERS_RE.sub(lambda m: f"\\x{ord(m.group(0)):02x}", text)  # type: ignore[attr-defined]
    cell.data_type = "s"  # type: ignore[attr-defined]


def _xlsx_bytes(table: Table, actions: Sequence[str]) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    book = Workbook()
    sheet = book.active
    sheet.title = "Report"
    for row_number, cells in enumerate([table.headers, *table.rows], start=1):
        for column, text in enumerate(cells, start=1):
            if text:
                _literal(sheet.cell(row=row_number, column=column), text)
    for column in range(1, len(table.headers) + 1):
        sheet.cell(row=1, column=column).font = Font(bold=True)
    sheet.freeze_panes = "A2"
    lists = book.create_sheet("Actions")
    for number, action in enumerate(actions, start=1):
        _literal(lists.cell(row=number, column=1), action)
    lists.sheet_state = "hidden"
    if actions and table.rows:
        letter = get_column_letter(table.action_column + 1)
        rule = DataValidation(type="list", formula1=f"Actions!$A$1:$A${len(actions)}", allow_blank=True,
                              showErrorMessage=True, errorTitle="Action", error="Choose an action from the list")
        rule.add(f"{letter}2:{letter}{len(table.rows) + 1}")
        sheet.add_data_validation(rule)
    summary = book.create_sheet("Summary", 0)
    for row_number, cells in enumerate(table.summary, start=1):
        for column, text in enumerate(cells, start=1):
            if text:
                _literal(summary.cell(row=row_number, column=column), text)
    summary.column_dimensions["A"].width = 60
    book.active = 1  # the rows open first; the summary is the first tab
    handle = io.BytesIO()
    book.save(handle)
    return handle.getvalue()
