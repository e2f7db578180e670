"""Write the reviewer's decisions back into the report, changing nothing else.

openpyxl's load/save round trip drops Excel 2010 ``x14`` validations,
conditional-format extensions and shapes, so we do not use it here. Instead the
edited sheet's XML is spliced at byte level: only the ``<row>`` elements that
hold a changed cell are rewritten, and in them only the changed ``<c>``
elements. Every other zip part is copied with identical content. Values are
written as inline strings, so they are always literal text (``=1+1`` stays
text) and ``sharedStrings.xml`` is untouched.
"""

from __future__ import annotations

import io
import os
import re
import zipfile
from collections.abc import Mapping
from pathlib import Path
from xml.sax.saxutils import escape

from phi_review.core.report.action_list import column_index, column_letter, sheet_paths
from phi_review.core.common.atomic_file import backup_once, replace_atomically
from phi_review.core.common.errors import ReportError
from phi_review.core.report.model import EDITABLE_FIELDS, Report
from phi_review.core.report.csv_report import save_csv_report
from phi_review.core.report.reader import changed_on_disk, fingerprint_of

NEW_HEADERS = {"action": "Action", "note": "Comments", "reviewer": "Reviewer", "reviewed_at": "Reviewed At"}
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


def lock_file_warning(path: Path) -> str | None:
    """Excel's ``~$name`` or LibreOffice's ``.~lock.name#`` means someone has it open."""
    for name in (f"~${path.name}", f".~lock.{path.name}#"):
        if (path.parent / name).exists():
            return f"{path.name} seems to be open in Excel or LibreOffice ({name} exists): close it there before sending"
    return None


def _check_text(row: int, field: str, text: str) -> None:
    bad = _XML_ILLEGAL.search(text)
    if bad:
        raise ReportError(
            f"row {row}: the {field} holds character U+{ord(bad.group(0)):04X}, which a workbook cannot store; remove it"
        )


def save_report(report: Report, edits: Mapping[int, Mapping[str, str]]) -> list[str]:
    """Write ``edits`` ({spreadsheet row: {field: text}}) into the report atomically; return warnings."""
    warnings: list[str] = []
    if not edits:
        return warnings
    for row, fields in edits.items():
        for field, text in fields.items():
            if field not in EDITABLE_FIELDS:
                raise ReportError(f"cannot write field {field!r}")
            _check_text(row, field, text)
    path = report.path
    if changed_on_disk(report):
        raise ReportError(
            f"{path.name} changed on disk since it was opened; not overwritten (your decisions are kept in the journal)"
        )
    warning = lock_file_warning(path)
    if warning:
        warnings.append(warning)
    if report.kind == "csv":  # one CSV or several: spliced in place (core.report.csv_report)
        return warnings + save_csv_report(report, edits)
    needed = {field for fields in edits.values() for field in fields}
    appended = _plan_new_columns(report, needed)
    original = path.read_bytes()
    new_bytes = _write_xlsx(report, original, edits, appended)
    backup_once(path)
    replace_atomically(path, lambda handle: handle.write(new_bytes))
    for field, index in appended.items():
        setattr(report.columns, field, index)
        while len(report.headers) < index:
            report.headers.append("")
        report.headers.append(NEW_HEADERS[field])
    report.fingerprint = fingerprint_of(new_bytes, path)
    return warnings


def _plan_new_columns(report: Report, needed: set[str]) -> dict[str, int]:
    """Columns to append after the last header cell, for fields the report has no column for."""
    appended: dict[str, int] = {}
    next_index = len(report.headers)
    for field in EDITABLE_FIELDS:
        if field in needed and getattr(report.columns, field) is None:
            appended[field] = next_index
            next_index += 1
    return appended


# ----- XLSX ----------------------------------------------------------------------
def _write_xlsx(report: Report, original: bytes, edits: Mapping[int, Mapping[str, str]], appended: dict[str, int]) -> bytes:
    try:
        source = zipfile.ZipFile(io.BytesIO(original))
        paths, _names = sheet_paths(source)
    except (zipfile.BadZipFile, KeyError) as error:
        raise ReportError(f"{report.path.name} cannot be written: {error}") from None
    part = paths.get(report.sheet)
    if part is None:
        raise ReportError(f"{report.path.name}: sheet {report.sheet!r} not found when saving")
    sheet_xml = source.read(part)
    cells: dict[int, dict[int, str]] = {}
    for row_number, fields in edits.items():
        for field, value in fields.items():
            index = appended.get(field, getattr(report.columns, field))
            cells.setdefault(row_number, {})[index] = value
    header_cells = {index: NEW_HEADERS[field] for field, index in appended.items()}
    new_sheet = SheetPatcher(sheet_xml).patch(cells, report.header_row, header_cells)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            data = new_sheet if info.filename == part else source.read(info.filename)
            target.writestr(info, data, compress_type=info.compress_type)
    source.close()
    return out.getvalue()


class SheetPatcher:
    """Byte-level edits of one worksheet's XML: replace or insert single cells."""

    def __init__(self, xml: bytes) -> None:
        self.xml = xml
        root = re.search(rb"<(\w+:)?worksheet[\s>]", xml)
        prefix = root.group(1) if root and root.group(1) else b""
        self.p = prefix
        self.row_re = re.compile(rb"<" + re.escape(prefix) + rb"row\b[^>]*?\br=\"(\d+)\"[^>]*?(/?)>")
        self.cell_re = re.compile(rb"<" + re.escape(prefix) + rb"c\b[^>]*?\br=\"([A-Z]+)(\d+)\"[^>]*?(/?)>")

    def _cell_xml(self, ref: str, value: str, style: bytes | None) -> bytes:
        p = self.p.decode()
        style_attr = f' s="{style.decode()}"' if style else ""
        text = escape(value)
        return (
            f'<{p}c r="{ref}"{style_attr} t="inlineStr"><{p}is><{p}t xml:space="preserve">{text}</{p}t></{p}is></{p}c>'
        ).encode("utf-8")

    def _row_span(self, row_number: int, rows: dict[int, tuple[int, int, int, bool]]) -> tuple[int, int, int, bool] | None:
        return rows.get(row_number)

    def patch(self, edits: dict[int, dict[int, str]], header_row: int, header_cells: dict[int, str]) -> bytes:
        xml = self.xml
        wanted = set(edits)
        if header_cells:
            wanted.add(header_row)
        # (start of <row>, end of open tag, end of </row>, self-closing)
        rows: dict[int, tuple[int, int, int, bool]] = {}
        close_tag = b"</" + self.p + b"row>"
        for match in self.row_re.finditer(xml):
            number = int(match.group(1))
            if number in wanted:
                if match.group(2) == b"/":
                    rows[number] = (match.start(), match.end(), match.end(), True)
                else:
                    end = xml.find(close_tag, match.end())
                    rows[number] = (match.start(), match.end(), end + len(close_tag), False)
        pieces: list[bytes] = []
        cursor = 0
        max_column = 0
        header_style = self._last_header_style(xml, rows.get(header_row)) if header_cells else None
        for number in sorted(wanted):
            changes = dict(edits.get(number, {}))
            style_for_new: bytes | None = None
            if number == header_row and header_cells:
                changes.update(header_cells)
                style_for_new = header_style
            max_column = max([max_column, *changes])
            span = rows.get(number)
            if span is None:
                insert_at, row_xml = self._new_row(xml, number)
                new = self._fill_row(row_xml, number, changes, style_for_new)
                pieces.append(xml[cursor:insert_at])
                pieces.append(new)
                cursor = insert_at
                continue
            start, _open_end, end, _self_closing = span
            pieces.append(xml[cursor:start])
            pieces.append(self._fill_row(xml[start:end], number, changes, style_for_new))
            cursor = end
        pieces.append(xml[cursor:])
        result = b"".join(pieces)
        return self._widen_dimension(result, max_column)

    def _last_header_style(self, xml: bytes, span: tuple[int, int, int, bool] | None) -> bytes | None:
        if span is None:
            return None
        segment = xml[span[0] : span[2]]
        last = None
        for match in self.cell_re.finditer(segment):
            last = match
        if last is None:
            return None
        style = re.search(rb'\bs="(\d+)"', last.group(0))
        return style.group(1) if style else None

    def _fill_row(self, row_xml: bytes, number: int, changes: dict[int, str], style_for_new: bytes | None) -> bytes:
        open_match = self.row_re.match(row_xml)
        assert open_match is not None
        if open_match.group(2) == b"/":
            open_tag = open_match.group(0)[:-2].rstrip() + b">"
            body = b""
            close = b"</" + self.p + b"row>"
        else:
            open_tag = open_match.group(0)
            close = b"</" + self.p + b"row>"
            body = row_xml[open_match.end() : len(row_xml) - len(close)]
        # Existing cells: (column, start, end, style)
        cells = []
        for match in self.cell_re.finditer(body):
            column = column_index(match.group(1).decode())
            if match.group(3) == b"/":
                end = match.end()
            else:
                close_c = b"</" + self.p + b"c>"
                end = body.find(close_c, match.end()) + len(close_c)
            style = re.search(rb'\bs="(\d+)"', match.group(0))
            cells.append((column, match.start(), end, style.group(1) if style else None))
        out: list[bytes] = []
        cursor = 0
        pending = sorted(changes.items())
        for column, start, end, style in cells:
            while pending and pending[0][0] < column:
                new_column, value = pending.pop(0)
                out.append(body[cursor:start])
                out.append(self._cell_xml(f"{column_letter(new_column)}{number}", value, style_for_new))
                cursor = start
            if pending and pending[0][0] == column:
                _, value = pending.pop(0)
                out.append(body[cursor:start])
                out.append(self._cell_xml(f"{column_letter(column)}{number}", value, style))
                cursor = end
        out.append(body[cursor:])
        for new_column, value in pending:
            out.append(self._cell_xml(f"{column_letter(new_column)}{number}", value, style_for_new))
        open_tag = self._widen_spans(open_tag, max(changes) + 1 if changes else 0)
        return open_tag + b"".join(out) + close

    def _widen_spans(self, open_tag: bytes, last_column: int) -> bytes:
        match = re.search(rb'\bspans="(\d+):(\d+)"', open_tag)
        if not match or int(match.group(2)) >= last_column:
            return open_tag
        return open_tag[: match.start()] + f'spans="{match.group(1).decode()}:{last_column}"'.encode() + open_tag[match.end():]

    def _new_row(self, xml: bytes, number: int) -> tuple[int, bytes]:
        """Where a missing row goes (before the first higher row) and an empty row element."""
        for match in self.row_re.finditer(xml):
            if int(match.group(1)) > number:
                return match.start(), f'<{self.p.decode()}row r="{number}"/>'.encode()
        end_data = xml.find(b"</" + self.p + b"sheetData>")
        if end_data < 0:
            raise ReportError("the sheet has no cell data section; cannot write")
        return end_data, f'<{self.p.decode()}row r="{number}"/>'.encode()

    def _widen_dimension(self, xml: bytes, max_column: int) -> bytes:
        match = re.search(rb'<' + re.escape(self.p) + rb'dimension ref="([A-Z]+)(\d+)(?::([A-Z]+)(\d+))?"', xml)
        if not match or not match.group(3):
            return xml
        last = column_index(match.group(3).decode())
        if max_column <= last:
            return xml
        new_ref = f'{match.group(1).decode()}{match.group(2).decode()}:{column_letter(max_column)}{match.group(4).decode()}'
        return xml[: match.start(1)] + new_ref.encode() + xml[match.end(4):]


