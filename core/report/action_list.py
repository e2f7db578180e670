"""The action vocabulary: the report's own drop-down list on the Action column.

Excel keeps list validations in the sheet XML after the cell data, either as
``<dataValidation>`` or, when the list lives on another sheet in files written
by Excel 2010+, as ``<x14:dataValidation>`` inside ``<extLst>``. The sheet XML
is streamed out of the zip and the cell data (``<sheetData>`` ... ``</sheetData>``)
is dropped as it passes, so a 500,000-row sheet is never held whole (its 139 MB
of XML used to be) and only what is around the cells is parsed.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Callable, Iterable, Sequence

from lxml import etree

NS_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
NS_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
NS_PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
NS_X14 = "http://schemas.microsoft.com/office/spreadsheetml/2009/9/main"
NS_XM = "http://schemas.microsoft.com/office/excel/2006/main"

_CELL = re.compile(r"^\$?([A-Z]{1,3})\$?(\d+)$")


def column_letter(index: int) -> str:
    """0-based column index -> Excel letters."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def column_index(letters: str) -> int:
    value = 0
    for char in letters:
        value = value * 26 + ord(char) - 64
    return value - 1


def sheet_paths(archive: zipfile.ZipFile) -> tuple[dict[str, str], dict[str, str]]:
    """Sheet name -> zip part path, and defined name -> formula text."""
    workbook = etree.fromstring(archive.read("xl/workbook.xml"))
    rels = etree.fromstring(archive.read("xl/_rels/workbook.xml.rels"))
    targets = {r.get("Id"): r.get("Target") for r in rels.iter(f"{{{NS_PKG_REL}}}Relationship")}
    paths: dict[str, str] = {}
    for sheet in workbook.iter(f"{{{NS_MAIN}}}sheet"):
        target = targets.get(sheet.get(f"{{{NS_REL}}}id"), "")
        target = target.lstrip("/")
        paths[sheet.get("name")] = target if target.startswith("xl/") else f"xl/{target}"
    names = {
        d.get("name"): (d.text or "")
        for d in workbook.iter(f"{{{NS_MAIN}}}definedName")
        if d.get("localSheetId") is None
    }
    return paths, names


_DATA_OPEN = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?sheetData(?=[\s/>])[^>]*?(/?)>")
_DATA_CLOSE = re.compile(rb"</(?:[A-Za-z_][\w.-]*:)?sheetData\s*>")
_NAME = b"sheetData"
_OVERLAP = 256  # a tag split across two chunks is still found (names and spaces are short)


def without_cells(chunks: Iterable[bytes]) -> bytes:
    """The sheet XML with the contents of ``<sheetData>`` dropped, kept in memory a chunk at a time.

    What stays is well-formed XML: the root, sheet views, columns, validations,
    extLst... Cell text cannot hold a literal ``</sheetData>`` (``<`` is escaped
    in XML text), so the first closing tag after the opening one ends the cells.
    """
    chunks = iter(chunks)  # the tail is taken from the same stream once the cells end
    kept: list[bytes] = []
    pending = b""  # bytes not yet judged: the end of the last chunk, where a tag may be cut
    inside = False
    for chunk in chunks:
        buffer = pending + chunk
        if not inside:
            at = buffer.find(_NAME)
            match = _DATA_OPEN.search(buffer, max(0, at - 64)) if at >= 0 else None
            if match is None:
                keep = max(0, len(buffer) - _OVERLAP)
                kept.append(buffer[:keep])
                pending = buffer[keep:]
                continue
            kept.append(buffer[: match.start()])
            if match.group(1):  # <sheetData/>: no cells at all
                kept.append(buffer[match.start() : match.end()])
                pending = buffer[match.end() :]
                continue
            inside, buffer = True, buffer[match.end() :]
        at = buffer.find(_NAME)
        close = _DATA_CLOSE.search(buffer, max(0, at - 64)) if at >= 0 else None
        if close is None:
            pending = buffer[-_OVERLAP:]
            continue
        inside = False
        kept.append(buffer[close.end() :])
        pending = b""
        # The rest of the part is the tail: keep it as it comes.
        for rest in chunks:
            kept.append(rest)
        return b"".join(kept)
    if inside:
        raise ValueError("the sheet's cell data never ends")
    kept.append(pending)
    return b"".join(kept)


def read_without_cells(archive: zipfile.ZipFile, part: str, chunk: int = 1 << 20) -> bytes:
    """Stream one sheet part out of the zip, dropping its cells (see without_cells)."""
    with archive.open(part) as stream:
        return without_cells(iter(lambda: stream.read(chunk), b""))


def _tail(xml: bytes) -> etree._Element | None:
    """Parse what surrounds the cell data (the cells themselves are dropped first)."""
    if not xml.strip():
        return None
    return etree.fromstring(without_cells([xml]) if _NAME in xml else xml)


def _covers(sqref: str, column: int) -> bool:
    for part in sqref.split():
        ends = part.split(":")
        letters = []
        for end in ends:
            match = _CELL.match(end)
            if match:
                letters.append(column_index(match.group(1)))
        if len(letters) == 1 and letters[0] == column:
            return True
        if len(letters) == 2 and letters[0] <= column <= letters[1]:
            return True
    return False


def list_formulas(sheet_xml: bytes, column: int) -> list[str]:
    """Every list-validation formula that covers ``column`` (0-based)."""
    tail = _tail(sheet_xml)
    if tail is None:
        return []
    found: list[str] = []
    for validation in tail.iter(f"{{{NS_MAIN}}}dataValidation"):
        if validation.get("type") == "list" and _covers(validation.get("sqref", ""), column):
            formula = validation.find(f"{{{NS_MAIN}}}formula1")
            if formula is not None and formula.text:
                found.append(formula.text)
    for validation in tail.iter(f"{{{NS_X14}}}dataValidation"):
        if validation.get("type") != "list":
            continue
        sqref = validation.find(f"{{{NS_XM}}}sqref")
        formula = validation.find(f"{{{NS_X14}}}formula1/{{{NS_XM}}}f")
        if sqref is not None and formula is not None and formula.text and _covers(sqref.text or "", column):
            found.append(formula.text)
    return found


def parse_range(formula: str) -> tuple[str | None, int, int, int, int] | None:
    """``'Sheet'!$A$1:$A$5`` -> (sheet, row0, col0, row1, col1), 0-based; None if not a range."""
    text = formula.strip().lstrip("=")
    sheet: str | None = None
    if "!" in text:
        sheet, text = text.rsplit("!", 1)
        sheet = sheet.strip("'").replace("''", "'")
    ends = text.split(":")
    cells = []
    for end in ends:
        match = _CELL.match(end.strip())
        if not match:
            return None
        cells.append((int(match.group(2)) - 1, column_index(match.group(1))))
    if len(cells) == 1:
        cells.append(cells[0])
    (r0, c0), (r1, c1) = cells
    return sheet, r0, c0, r1, c1


def resolve_formula(
    formula: str,
    defined_names: dict[str, str],
    own_sheet: str,
    read_sheet: Callable[[str], Sequence[Sequence[object]]],
) -> list[str]:
    """The list entries a validation formula stands for (inline list, range or defined name)."""
    text = formula.strip()
    if text.startswith('"') and text.endswith('"'):
        return [item.strip() for item in text[1:-1].split(",") if item.strip()]
    bare = text.lstrip("=")
    if bare in defined_names:
        return resolve_formula(defined_names[bare], {}, own_sheet, read_sheet)
    parsed = parse_range(bare)
    if parsed is None:
        return []
    sheet, r0, c0, r1, c1 = parsed
    rows = read_sheet(sheet or own_sheet)
    values: list[str] = []
    for r in range(r0, min(r1, len(rows) - 1) + 1):
        for c in range(c0, c1 + 1):
            row = rows[r]
            if c < len(row) and row[c] not in (None, ""):
                values.append(str(row[c]).strip())
    return values
