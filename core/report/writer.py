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

import hashlib
import io
import os
import re
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import BinaryIO
from lxml import etree

from phi_review.core.report.action_list import sheet_paths
from phi_review.core.common.atomic_file import backup_once, replace_atomically
from phi_review.core.report.cell_text import MAX_CELL_CHARS, MAX_COLUMNS
from phi_review.core.report.sheet_patch import SheetPatcher
from phi_review.core.report.xlsx_parts import read_part, stream_parts
from phi_review.core.common.errors import ReportError
from phi_review.core.report.model import EDITABLE_FIELDS, Fingerprint, Report
from phi_review.core.report.new_columns import NEW_HEADERS, fields_to_append
from phi_review.core.report.csv_report import save_csv_report
from phi_review.core.report.reader import changed_on_disk, fingerprint_of

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
    if len(text) > MAX_CELL_CHARS:
        raise ReportError(f"row {row}: the {field} is longer than a cell holds ({MAX_CELL_CHARS:,} characters); shorten it")


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
    if path.is_symlink():  # write the shared target, never replace the link by a copy
        path = path.resolve()
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
    source, part, pieces = _patch_xlsx(report, original, edits, appended)
    written: dict[str, object] = {}

    def write(handle: BinaryIO) -> None:
        """Stream the zip into the temp file, then hash what is there: the fingerprint of the new report."""
        stream_parts(source, part, pieces, handle)
        handle.flush()
        handle.seek(0)
        digest, size = hashlib.sha256(), 0
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
            size += len(chunk)
        written.update(sha256=digest.hexdigest(), size=size)

    with source:
        backup_once(path)
        owner_warning = replace_atomically(path, write)
    del pieces
    if owner_warning:
        warnings.append(owner_warning)
    for field, index in appended.items():
        setattr(report.columns, field, index)
        while len(report.headers) < index:
            report.headers.append("")
        report.headers.append(NEW_HEADERS[field])
    report.fingerprint = Fingerprint(size=int(written["size"]), mtime_ns=path.stat().st_mtime_ns,  # type: ignore[call-overload]
                                     sha256=str(written["sha256"]))
    return warnings


def _plan_new_columns(report: Report, needed: set[str]) -> dict[str, int]:
    """Columns to append after the last header cell, in the one fixed order (core.report.new_columns)."""
    appended: dict[str, int] = {}
    next_index = len(report.headers)
    for field in fields_to_append(lambda f: getattr(report.columns, f) is None, needed):
        if next_index >= MAX_COLUMNS:
            raise ReportError(
                f"{report.path.name}: the header already reaches the last column XFD, so there is no room "
                f"to add a {NEW_HEADERS[field]!r} column; add one inside the header and open the report again"
            )
        appended[field] = next_index
        next_index += 1
    return appended


# ----- XLSX ----------------------------------------------------------------------
def _patch_xlsx(report: Report, original: bytes, edits: Mapping[int, Mapping[str, str]],
                appended: dict[str, int]) -> tuple[zipfile.ZipFile, str, list[bytes | memoryview]]:
    """The open source zip, the sheet part and its patched pieces: every refusal happens here, before a temp file."""
    try:
        source = zipfile.ZipFile(io.BytesIO(original))
        paths, _names = sheet_paths(source)
    except (zipfile.BadZipFile, KeyError, etree.XMLSyntaxError) as error:
        raise ReportError(f"{report.path.name} cannot be written: {error}") from None
    part = paths.get(report.sheet)
    if part is None:
        source.close()
        raise ReportError(f"{report.path.name}: sheet {report.sheet!r} not found when saving")
    try:
        sheet_xml = read_part(original, source, part)
        cells: dict[int, dict[int, str]] = {}
        for row_number, fields in edits.items():
            for field, value in fields.items():
                index = appended.get(field, getattr(report.columns, field))
                cells.setdefault(row_number, {})[index] = value
        header_cells = {index: NEW_HEADERS[field] for field, index in appended.items()}
        return source, part, SheetPatcher(sheet_xml).pieces(cells, report.header_row, header_cells)
    except BaseException:
        source.close()
        raise


def _write_xlsx(report: Report, original: bytes, edits: Mapping[int, Mapping[str, str]], appended: dict[str, int]) -> bytes:
    """The whole new workbook in memory (tests and tools; saving streams instead)."""
    source, part, pieces = _patch_xlsx(report, original, edits, appended)
    with source:
        out = io.BytesIO()
        stream_parts(source, part, pieces, out)
        return out.getvalue()
