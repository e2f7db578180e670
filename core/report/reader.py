"""Open a reconciliation report (.xlsx/.xlsm or .csv) fast.

Cells come from python-calamine (Rust): no openpyxl full load. The action
vocabulary comes from the sheet's own list validation, read from the sheet XML
without its cells, in a thread beside calamine. The bytes are read once: hashed for the fingerprint that
later stops us overwriting a report someone changed meanwhile.
"""

from __future__ import annotations

import gc
import datetime as _dt
import hashlib
import io
from itertools import repeat
from operator import itemgetter
import os
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from phi_review.core.report.action_list import list_formulas, read_without_cells, resolve_formula, sheet_paths
from phi_review.core.common.errors import ReportError
from phi_review.core.common.memory import release_freed_memory
from phi_review.core.report.columns import column_map, find_header, looked_for, seen_columns
from phi_review.core.report.csv_report import read_csv_report, sniff_delimiter, sources_changed  # noqa: F401
from phi_review.core.report.model import DEFAULT_ACTIONS, Finding, Fingerprint, Report

OLE_SIGNATURE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
EXCEL_SUFFIXES = {".xlsx", ".xlsm"}


def display(value: Any) -> str:
    """Cell value as a reviewer expects to read it."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, _dt.datetime):
        return value.isoformat(sep=" ", timespec="seconds").removesuffix(" 00:00:00")
    if isinstance(value, (_dt.date, _dt.time)):
        return value.isoformat()
    if isinstance(value, _dt.timedelta):
        return str(value)
    return str(value)


def fingerprint_of(data: bytes, path: Path) -> Fingerprint:
    stat = path.stat()
    return Fingerprint(size=len(data), mtime_ns=stat.st_mtime_ns, sha256=hashlib.sha256(data).hexdigest())


def _read_bytes(path: Path) -> bytes:
    if not path.exists():
        raise ReportError(f"report not found: {path}")
    if path.is_dir():
        raise ReportError(f"{path} is a folder, not a report")
    from phi_review.core.common.errors import PhiReviewError
    from phi_review.core.common.inert import inert
    from phi_review.core.common.regular import open_regular

    try:
        with open_regular(path) as handle:  # a FIFO named .xlsx must not block forever
            return handle.read()
    except PhiReviewError as error:
        raise ReportError(str(error)) from None
    except OSError as error:
        raise ReportError(f"cannot read {inert(str(path))}: {error.strerror}") from None


def read_report(path: str | Path | Sequence[str | Path], sheet: str | None = None) -> Report:
    """Read the report (a workbook, a CSV, several CSVs or a folder of them); problems are one-line ReportErrors."""
    # Hundreds of thousands of new objects and no cycles: the cyclic GC would
    # only rescan them again and again while they are being built.
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        if not isinstance(path, (str, os.PathLike)):
            paths = [Path(p) for p in path]
            report = _read_report(paths[0] if len(paths) == 1 else paths, sheet)
        else:
            report = _read_report(Path(path), sheet)
    finally:
        if was_enabled:
            gc.enable()
    if len(report.findings) >= _TRIM_FROM:
        release_freed_memory()  # calamine's parsed sheet and the column lists: back to the system
    return report


_TRIM_FROM = 20_000  # rows; below, what a read frees is too little to matter


def _read_report(path: Path | Sequence[Path], sheet: str | None) -> Report:
    if not isinstance(path, Path) or path.is_dir():  # several CSV files, or a folder of them
        return read_csv_report([path] if isinstance(path, Path) else [Path(p) for p in path])
    suffix = path.suffix.lower()
    data = _read_bytes(path)
    if suffix == ".xls":
        raise ReportError(f"{path.name} is an old .xls workbook: open it in Excel or LibreOffice and save it as .xlsx")
    if data.startswith(OLE_SIGNATURE):
        raise ReportError(f"{path.name} is password-protected or an old binary workbook: save an unprotected .xlsx copy")
    if suffix == ".csv" or (suffix not in EXCEL_SUFFIXES and not data.startswith(b"PK")):
        if suffix != ".csv":
            from phi_review.core.common.inert import inert
            from phi_review.core.report.csv_reviewed import original_of

            original = original_of(path)
            if original is not None:  # what a save of the validator's CSV writes beside it
                raise ReportError(f"{inert(path.name)} is the reviewed copy phi-review keeps of {inert(original.name)}: "
                                  f"open {inert(original.name)} (its decisions are read from the copy); "
                                  f"'phi-review export {inert(original.name)} --out FILE' sends them back")
            raise ReportError(f"{path.name} is not a spreadsheet (.xlsx, .xlsm or .csv)")
        return read_csv_report([path])
    if not data.startswith(b"PK"):
        raise ReportError(f"{path.name} is not a valid .xlsx workbook (not a zip archive)")
    return _read_xlsx(path, data, sheet)


def _build(path: Path, kind: str, sheet: str, rows: list[list[Any]], header_index: int,
           found: dict[str, int], actions: list[str], data: bytes, sheet_names: list[str]) -> Report:
    columns = column_map(found)
    header = [display(v).strip() for v in rows[header_index]]
    while header and not header[-1]:
        header.pop()
    findings = _findings(rows, header_index, columns)
    if not findings:
        raise ReportError(f"{path.name}: the header was found on row {header_index + 1} but there are no data rows")
    return Report(
        path=path, kind=kind, sheet=sheet, header_row=header_index + 1, headers=header, columns=columns,
        actions=actions or list(DEFAULT_ACTIONS), findings=findings, fingerprint=fingerprint_of(data, path),
        sheet_names=sheet_names,
    )


def _column(body: list[list[Any]], index: int | None, strip: bool = True) -> list[str] | None:
    """One column as display text (None when the report lacks it); column-wise maps keep a 500k-row open fast."""
    if index is None:
        return None
    try:
        if strip:
            return list(map(str.strip, map(itemgetter(index), body)))  # rectangular text: the fast case
        values = list(map(itemgetter(index), body))
    except (IndexError, TypeError):  # a short row, or a number, date or empty cell among the text
        values = [row[index] if index < len(row) else "" for row in body]
        if strip:
            return [v.strip() if v.__class__ is str else ("" if v is None else display(v).strip()) for v in values]
    return values if all(map(isinstance, values, repeat(str))) else _texts(values)


def _texts(values: list[Any]) -> list[str]:
    return [v if v.__class__ is str else ("" if v is None else display(v)) for v in values]


def _findings(rows: list[list[Any]], header_index: int, columns: Any) -> list[Finding]:
    """One Finding per row with a file name; other cells stay raw in ``cells`` (see display_cells)."""
    return _findings_from(rows[header_index + 1 :], header_index + 2, columns, "")


_CHUNK = 65_536  # rows per pass: the per-column lists stay small beside the rows themselves


def _findings_from(body: list[list[Any]], first: int, columns: Any, source: str) -> list[Finding]:
    """Findings of the rows ``body`` (the first on spreadsheet row ``first``), from one source file."""
    if len(body) > _CHUNK:
        findings: list[Finding] = []
        for start in range(0, len(body), _CHUNK):
            findings += _findings_from(body[start : start + _CHUNK], first + start, columns, source)
        return findings
    files = _column(body, columns.file) or [""] * len(body)
    fields = [
        range(first, first + len(body)), files, _column(body, columns.issue), _column(body, columns.value),
        _column(body, columns.tag), _column(body, columns.action), _column(body, columns.note, strip=False),
        _column(body, columns.reviewer), _column(body, columns.reviewed_at), body, [source] * len(body) if source else None,
        _column(body, columns.site), _column(body, columns.event), _column(body, columns.details, strip=False),
        _column(body, columns.profile), _column(body, columns.corrected_copy),
        _column(body, columns.second_review), _column(body, columns.second_reviewer),
        _column(body, columns.second_reviewed_at),
    ]
    while fields[-1] is None:  # columns the report lacks keep Finding's defaults: fewer arguments per row
        fields.pop()
    blank = repeat("")
    findings = list(map(Finding, *(blank if field is None else field for field in fields)))
    return findings if all(files) else [f for f in findings if f.file]


def display_cells(finding: Finding) -> list[str]:
    """Every cell of the finding's row as display text (for showing the report's other columns)."""
    return [display(v) for v in finding.cells]


def _read_xlsx(path: Path, data: bytes, wanted: str | None) -> Report:
    from concurrent.futures import ThreadPoolExecutor

    from python_calamine import CalamineWorkbook

    from phi_review.core.report.xlsx_parts import check_workbook

    check_workbook(data, path.name)  # Strict OOXML, a DOCTYPE: one line now, not a failed save later
    try:
        workbook = CalamineWorkbook.from_filelike(io.BytesIO(data))
    except Exception as error:  # calamine raises its own error types
        raise ReportError(f"{path.name} cannot be read as a workbook: {str(error).splitlines()[0][:120]}") from None
    names = list(workbook.sheet_names)
    if wanted is not None and wanted not in names:
        raise ReportError(f"no sheet named {wanted!r} in {path.name}; sheets: {', '.join(names)}")
    cache: dict[str, list[list[Any]]] = {}

    def read_sheet(name: str) -> list[list[Any]]:
        if name not in cache:
            try:
                cache[name] = workbook.get_sheet_by_name(name).to_python(skip_empty_area=False)
            except Exception as error:
                raise ReportError(f"sheet {name!r} of {path.name} cannot be read: {error}") from None
        return cache[name]

    candidates = [wanted] if wanted else names
    # The action list lies after the cells: inflate that part in a thread while calamine
    # parses the cells (both leave the GIL), so the list costs no time of its own.
    with ThreadPoolExecutor(max_workers=1) as pool:
        guess = candidates[0] if candidates else None
        around = pool.submit(_sheet_surroundings, data, guess) if guess is not None else None
        chosen: tuple[str, int, dict[str, int]] | None = None
        for name in candidates:
            header = find_header(read_sheet(name))
            if header is not None:
                chosen = (name, header[0], header[1])
                break
        if chosen is None:
            where = f"sheet {wanted!r}" if wanted else f"any sheet of {path.name}"
            seen = seen_columns(read_sheet(wanted or names[0])) if (wanted or names) else "no sheets"
            raise ReportError(f"no header row found in {where}; {seen}; looked for {looked_for()}")
        name, header_index, found = chosen
        surroundings = around.result() if around is not None and name == guess else _sheet_surroundings(data, name)
    actions = _actions_from_validation(surroundings, name, found.get("action"), read_sheet)
    report = _build(path, "xlsx", name, read_sheet(name), header_index, found, actions, data, names)
    _warn_no_room(report)
    return report


def _warn_no_room(report: Report) -> None:
    """Say at open, not at the first save, when the decision columns cannot be added past column XFD."""
    from phi_review.core.report.cell_text import MAX_COLUMNS

    from phi_review.core.report.new_columns import DECISION_FIELDS  # appended together, in this order

    missing = [name for name in DECISION_FIELDS if getattr(report.columns, name) is None]
    if missing and len(report.headers) + len(missing) > MAX_COLUMNS:
        report.warnings.append(
            f"{report.path.name}: the header reaches column XFD, so the {', '.join(missing)} columns cannot be added "
            "and decisions cannot be saved; add those columns inside the header first"
        )


def _sheet_surroundings(data: bytes, sheet: str) -> tuple[bytes, dict[str, str]] | None:
    """The sheet's XML without its cells, and the workbook's defined names; None when unreadable."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            paths, defined = sheet_paths(archive)
            part = paths.get(sheet)
            if part is None:
                return None
            return read_without_cells(archive, part), defined
    except Exception:  # a malformed part must not stop the review: the default list is used
        return None


def _actions_from_validation(surroundings: tuple[bytes, dict[str, str]] | None, sheet: str, column: int | None,
                             read_sheet: Any) -> list[str]:
    if column is None or surroundings is None:
        return []
    xml, defined = surroundings
    try:
        formulas = list_formulas(xml, column)
    except Exception:  # malformed XML after the cell data: the review goes on with the default list
        return []
    for formula in formulas:
        try:
            values = resolve_formula(formula, defined, sheet, read_sheet)
        except ReportError:
            values = []
        if values:
            # Keep order, drop duplicates.
            return list(dict.fromkeys(values))
    return []


def changed_on_disk(report: Report) -> bool:
    """True if the file is not the one we read (size, time or content differ)."""
    if report.kind == "csv" and report.sources:
        return sources_changed(report)
    try:
        stat = os.stat(report.path)
    except OSError:
        return True
    fp = report.fingerprint
    if stat.st_size != fp.size:
        return True
    if stat.st_mtime_ns == fp.mtime_ns:
        return False
    return hashlib.sha256(report.path.read_bytes()).hexdigest() != fp.sha256
