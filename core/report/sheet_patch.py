"""Byte-level edits of one worksheet's XML: replace or insert single cells, nothing else.

openpyxl's load/save round trip drops Excel 2010 ``x14`` validations and more,
so the sheet is spliced instead. The rows and cells are found by a small XML
tokenizer (comments, CDATA, processing instructions and quoted attribute
values are skipped whole; attributes are parsed with either quote and spaces
around ``=``), and row and column numbers follow the spec when ``r`` is absent:
one more than the previous row or cell. Everything outside the rewritten
``<row>`` elements keeps its bytes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from phi_review.core.common.errors import ReportError
from phi_review.core.report.action_list import column_index, column_letter
from phi_review.core.report.cell_text import MAX_COLUMNS, xml_cell_text
from phi_review.core.report.byte_scan import count as _count, find as _find
from phi_review.core.report.xlsx_parts import check_sheet_xml

_ATTR = re.compile(rb"""([^\s=/>"']+)\s*=\s*(?:"([^"]*)"|'([^']*)')""")
_REF = re.compile(rb"^\s*\$?([A-Za-z]{1,3})\$?(\d+)\s*$")
_SKIP = rb"<!--.*?-->|<!\[CDATA\[.*?\]\]>|<\?.*?\?>|<!DOCTYPE(?:[^>\[]|\[[^\]]*\])*>"
_SKIP_AFTER_LT = rb"!--.*?-->|!\[CDATA\[.*?\]\]>|\?.*?\?>|!DOCTYPE(?:[^>\[]|\[[^\]]*\])*>"
_R_ATTR = re.compile(rb"""(?:^|\s)r\s*=\s*(?:"([^"]*)"|'([^']*)')""")


def _element_re(prefix: bytes, names: bytes) -> re.Pattern[bytes]:
    """Tokens: skipped constructs (group 2 None) or a start/end/empty tag of one of ``names``.

    One leading ``<`` with the element branch first lets the engine reject the
    many other tags of a large sheet fast.
    """
    return re.compile(
        rb"<(?:(/?)" + re.escape(prefix) + rb"(" + names + rb")(?=[\s/>])((?:[^>\"']|\"[^\"]*\"|'[^']*')*?)(/?)>|"
        + _SKIP_AFTER_LT + rb")",
        re.S,
    )


def attributes(tag_body: bytes) -> dict[bytes, bytes]:
    """Attributes of a start tag's inside (either quote, spaces around ``=``)."""
    return {m.group(1): (m.group(2) if m.group(2) is not None else m.group(3)) for m in _ATTR.finditer(tag_body)}


def set_attribute(tag: bytes, name: bytes, value: bytes) -> bytes:
    """``tag`` with attribute ``name`` set to ``value``, every other byte kept."""
    for match in _ATTR.finditer(tag):
        if match.group(1) == name:
            group = 2 if match.group(2) is not None else 3
            return tag[: match.start(group)] + value + tag[match.end(group) :]
    end = len(tag) - (2 if tag.endswith(b"/>") else 1)
    return tag[:end] + b" " + name + b'="' + value + b'"' + tag[end:]


@dataclass
class _Span:
    number: int
    start: int
    open_end: int
    close_start: int
    end: int
    tag: bytes  # the start tag as written

    @property
    def self_closing(self) -> bool:
        return self.open_end == self.end


def _wanted(pending: list[int], k: int, number: int) -> tuple[bool, int]:
    """Whether row ``number`` is kept (a wanted row, or the first row after a gap holding one), and the next k."""
    keep = k < len(pending) and pending[k] <= number
    while k < len(pending) and pending[k] <= number:
        k += 1
    return keep, k


def _row_number(attrs: bytes, previous: int) -> int:
    """A row's number: its ``r`` (rows ascend), else one more than the row before (the spec's rule)."""
    if attrs[:4] == b' r="' and b'"' in attrs[4:16]:  # the usual spelling, without a regex
        value = attrs[4 : attrs.index(b'"', 4)]
    else:
        ref = _R_ATTR.search(attrs)
        if ref is None:
            return previous + 1
        value = ref.group(1) if ref.group(1) is not None else ref.group(2)
    following = _number(value, "row")
    if following <= previous:
        raise ReportError(f"the sheet's rows are out of order (row {following} after row {previous}); cannot write")
    return following


def _number(value: bytes, what: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise ReportError(f"the sheet has a {what} numbered {value[:20]!r}, which is not a number; cannot write") from None
    return number


class SheetPatcher:
    """Replace or insert cells in one worksheet's XML, keeping every other byte."""

    def __init__(self, xml: bytes) -> None:
        check_sheet_xml(xml, "the sheet")
        self.xml = xml
        root = re.search(rb"<(\w+:)?worksheet[\s>]", xml)
        self.p = root.group(1) if root and root.group(1) else b""
        self._rows = _element_re(self.p, b"row|sheetData")
        self._row_open = re.compile(  # literal "<row" prefix: the engine skips the cells between rows fast
            rb"<" + re.escape(self.p) + rb"row(?=[\s/>])((?:[^>\"']+|\"[^\"]*\"|'[^']*')*)>")
        self._cells = _element_re(self.p, b"c")
        self._formulas = _element_re(self.p, b"f")
        self._dimension = _element_re(self.p, b"dimension")

    # ------------------------------------------------------------------ parsing

    def _sheet_data(self, xml: bytes) -> int:
        """Offset just after ``<sheetData>``."""
        for match in _element_re(self.p, b"sheetData").finditer(xml):
            if match.group(2) is None or match.group(1):
                continue
            if match.group(4):
                raise ReportError("the sheet has no cell data section; cannot write")
            return match.end()
        raise ReportError("the sheet has no cell data section; cannot write")

    def rows(self, xml: bytes, stop_after: int | None = None,
             wanted: set[int] | None = None) -> tuple[list[_Span], int | None]:
        """Rows in order (numbers implied where ``r`` is absent), and where ``</sheetData>`` starts.

        With ``stop_after`` the scan ends at the first row numbered higher
        (then the position is None). With ``wanted`` only those rows are kept,
        plus the first row after each gap that holds a wanted number (where a
        missing row is inserted): 100,000 rows cost no Python object each.
        """
        start = self._sheet_data(xml)
        data_end = _find(xml, b"</" + self.p + b"sheetData>", start)
        if data_end >= 0 and all(_find(xml, mark, start, data_end) < 0 for mark in (b"<!--", b"<![CDATA[", b"<?")):
            # No comment, CDATA or processing instruction in the cell data: every "<row" is a row
            # ("<" cannot occur in text or attribute values), so a literal search finds them fast.
            if wanted:
                found = self._rows_by_number(xml, start, data_end, wanted)
                if found is not None:
                    return found, data_end
            return self._plain_rows(xml, start, data_end, stop_after, wanted)
        spans: list[_Span] = []
        pending = sorted(wanted) if wanted is not None else None
        k = 0
        number = 0
        current: _Span | None = None
        for match in self._rows.finditer(xml, start):
            close, name, attrs, empty = match.group(1, 2, 3, 4)
            if name is None:
                continue
            if name == b"sheetData":
                if close and current is None:
                    return spans, match.start()
                raise ReportError("the sheet's cell data is malformed (sheetData inside a row); cannot write")
            if close:
                if current is None:
                    if number:  # a row we did not keep
                        continue
                    raise ReportError("the sheet's cell data is malformed (a row closed twice); cannot write")
                current.close_start, current.end = match.start(), match.end()
                spans.append(current)
                done, current = current, None
                if stop_after is not None and done.number > stop_after:
                    return spans, None
                continue
            if current is not None:
                raise ReportError("the sheet's cell data is malformed (a row inside a row); cannot write")
            number = _row_number(attrs, number)
            if pending is not None:
                keep, k = _wanted(pending, k, number)
                if not keep:
                    if stop_after is not None and number > stop_after:
                        return spans, None
                    continue
            span = _Span(number, match.start(), match.end(), match.end(), match.end(), match.group(0))
            if empty:
                spans.append(span)
                if stop_after is not None and number > stop_after:
                    return spans, None
            else:
                current = span
        raise ReportError("the sheet's cell data is not closed; cannot write")

    def _rows_by_number(self, xml: bytes, start: int, data_end: int, wanted: set[int]) -> list[_Span] | None:
        """The wanted rows found by their ``<row r="N"`` literal, when every row is written that way.

        Then no row's number is implied, so the literal names the row (what
        Excel, openpyxl and xlsxwriter write); None when some row lacks it or
        a wanted row is missing (it must be inserted: the caller scans).
        """
        opening = b"<" + self.p + b"row"
        if _count(xml, opening, start, data_end) != _count(xml, opening + b' r="', start, data_end):
            return None
        close = b"</" + self.p + b"row>"
        spans: list[_Span] = []
        for number in sorted(wanted):
            at = _find(xml, opening + b' r="%d"' % number, start, data_end)
            match = self._row_open.match(xml, at) if at >= 0 else None
            if match is None:
                return None
            start = match.end()  # rows ascend: the next wanted row lies further on
            span = _Span(number, at, match.end(), match.end(), match.end(), match.group(0))
            if match.group(1)[-1:] != b"/":
                close_at = _find(xml, close, match.end(), data_end)
                if close_at < 0:
                    raise ReportError(f"row {number} is not closed in the sheet; cannot write")
                span.close_start, span.end = close_at, close_at + len(close)
            spans.append(span)
        return spans

    def _plain_rows(self, xml: bytes, start: int, data_end: int, stop_after: int | None,
                    wanted: set[int] | None) -> tuple[list[_Span], int | None]:
        """``rows`` for cell data free of comments, CDATA and PIs: row start tags found by their literal."""
        spans: list[_Span] = []
        pending = sorted(wanted) if wanted is not None else None
        k = 0
        number = 0
        close = b"</" + self.p + b"row>"
        for match in self._row_open.finditer(xml, start, data_end):
            attrs = match.group(1)
            empty = attrs[-1:] == b"/"
            number = _row_number(attrs, number)
            if pending is not None:
                keep, k = _wanted(pending, k, number)
                if not keep:
                    if stop_after is not None and number > stop_after:
                        return spans, None
                    continue
            span = _Span(number, match.start(), match.end(), match.end(), match.end(), match.group(0))
            if not empty:
                close_at = _find(xml, close, match.end(), data_end)
                if close_at < 0:
                    raise ReportError(f"row {number} is not closed in the sheet; cannot write")
                span.close_start, span.end = close_at, close_at + len(close)
            spans.append(span)
            if stop_after is not None and number > stop_after:
                return spans, None
        return spans, data_end

    def cells(self, body: bytes, row_number: int) -> list[tuple[int, int, int, dict[bytes, bytes]]]:
        """(column, start, end, attributes) of each ``<c>`` in a row's body, columns implied where ``r`` is absent."""
        found: list[tuple[int, int, int, dict[bytes, bytes]]] = []
        column = -1
        opened: tuple[int, int, dict[bytes, bytes]] | None = None
        for match in self._cells.finditer(body):
            if match.group(2) is None:
                continue
            if match.group(1):
                if opened is not None:
                    found.append((opened[0], opened[1], match.end(), opened[2]))
                    opened = None
                continue
            attrs = attributes(match.group(3))
            ref = attrs.get(b"r")
            if ref is not None:
                parsed = _REF.match(ref)
                if parsed is None:
                    raise ReportError(f"row {row_number} has a cell named {ref[:20]!r}; cannot write")
                column = column_index(parsed.group(1).upper().decode())
            else:
                column += 1
            if match.group(4):
                found.append((column, match.start(), match.end(), attrs))
            else:
                opened = (column, match.start(), attrs)
        return found

    # ------------------------------------------------------------------ writing

    def _cell_xml(self, ref: str, value: str, style: bytes | None) -> bytes:
        p = self.p.decode()
        style_attr = f' s="{style.decode()}"' if style else ""
        return (
            f'<{p}c r="{ref}"{style_attr} t="inlineStr"><{p}is><{p}t xml:space="preserve">'
            f"{xml_cell_text(value)}</{p}t></{p}is></{p}c>"
        ).encode("utf-8")

    def patch(self, edits: dict[int, dict[int, str]], header_row: int, header_cells: dict[int, str]) -> bytes:
        """The sheet with ``edits`` ({row: {0-based column: text}}) and new header cells written."""
        return b"".join(self.pieces(edits, header_row, header_cells))

    def pieces(self, edits: dict[int, dict[int, str]], header_row: int,
               header_cells: dict[int, str]) -> list[bytes | memoryview]:
        """The patched sheet as consecutive pieces: views into the original XML and the rewritten rows.

        Written one after another into the zip, they never make a second copy
        of a sheet that may be 100 MB of XML.
        """
        wanted = set(edits)
        if header_cells:
            wanted.add(header_row)
        if not wanted:
            return [self.xml]
        for number, changes in [*edits.items(), (header_row, header_cells)]:
            if changes and max(changes) >= MAX_COLUMNS:
                raise ReportError(f"row {number}: a cell past the last column XFD cannot be written")
        xml = self._move_shared_masters(self.xml, edits)
        view = memoryview(xml)
        spans, end_data = self.rows(xml, max(wanted), wanted)
        by_number = {span.number: span for span in spans}
        pieces: list[bytes | memoryview] = []
        cursor = 0
        max_column = 0
        header_style = self._last_style(xml, by_number.get(header_row), header_row) if header_cells else None
        for number in sorted(wanted):
            changes = dict(edits.get(number, {}))
            style_for_new: bytes | None = None
            if number == header_row and header_cells:
                changes.update(header_cells)
                style_for_new = header_style
            max_column = max([max_column, *changes])
            span = by_number.get(number)
            if span is None:
                insert_at = next((s.start for s in spans if s.number > number), end_data)
                if insert_at is None or insert_at < cursor:
                    raise ReportError(f"row {number} cannot be placed in the sheet (rows out of order); cannot write")
                empty = f'<{self.p.decode()}row r="{number}">'.encode()
                pieces.append(view[cursor:insert_at])
                pieces.append(self._fill_row(empty, b"", number, changes, style_for_new))
                cursor = insert_at
                continue
            if span.start < cursor:
                raise ReportError(f"row {number} appears twice in the sheet; cannot write")
            pieces.append(view[cursor : span.start])
            body = b"" if span.self_closing else xml[span.open_end : span.close_start]
            tag = span.tag[:-2] + b">" if span.self_closing else span.tag
            pieces.append(self._fill_row(tag, body, number, changes, style_for_new))
            cursor = span.end
        pieces.append(view[cursor:])
        dimension = self._dimension_edit(xml, max_column)
        if dimension is not None:  # <dimension> precedes the cell data: it falls in the first piece
            start, end, tag = dimension
            first = pieces[0]
            assert end <= len(first)
            pieces[0:1] = [first[:start], tag, first[end:]]
        return pieces

    def _last_style(self, xml: bytes, span: _Span | None, number: int) -> bytes | None:
        if span is None or span.self_closing:
            return None
        cells = self.cells(xml[span.open_end : span.close_start], number)
        return cells[-1][3].get(b"s") if cells else None

    def _fill_row(self, open_tag: bytes, body: bytes, number: int, changes: dict[int, str],
                  style_for_new: bytes | None) -> bytes:
        out: list[bytes] = []
        cursor = 0
        pending = sorted(changes.items())
        for column, start, end, attrs in self.cells(body, number):
            while pending and pending[0][0] < column:
                new_column, value = pending.pop(0)
                out.append(body[cursor:start])
                out.append(self._cell_xml(f"{column_letter(new_column)}{number}", value, style_for_new))
                cursor = start
            if pending and pending[0][0] == column:
                _, value = pending.pop(0)
                out.append(body[cursor:start])
                out.append(self._cell_xml(f"{column_letter(column)}{number}", value, attrs.get(b"s")))
                cursor = end
        out.append(body[cursor:])
        for new_column, value in pending:
            out.append(self._cell_xml(f"{column_letter(new_column)}{number}", value, style_for_new))
        open_tag = self._widen_spans(open_tag, max(changes) + 1 if changes else 0)
        return open_tag + b"".join(out) + b"</" + self.p + b"row>"

    def _widen_spans(self, open_tag: bytes, last_column: int) -> bytes:
        spans = attributes(open_tag).get(b"spans")
        match = re.fullmatch(rb"\s*(\d+):(\d+)\s*", spans or b"")
        if not match or int(match.group(2)) >= last_column:
            return open_tag
        return set_attribute(open_tag, b"spans", match.group(1) + b":" + str(last_column).encode())

    def _widen_dimension(self, xml: bytes, max_column: int) -> bytes:
        edit = self._dimension_edit(xml, max_column)
        if edit is None:
            return xml
        start, end, tag = edit
        return xml[:start] + tag + xml[end:]

    def _dimension_edit(self, xml: bytes, max_column: int) -> tuple[int, int, bytes] | None:
        """(start, end, new tag) widening ``<dimension ref>`` to ``max_column``, or None when it covers it."""
        data = _find(xml, b"<" + self.p + b"sheetData")  # <dimension> comes before the cell data
        for match in self._dimension.finditer(xml, 0, data if data >= 0 else len(xml)):
            if match.group(2) is None or match.group(1):
                continue
            ref = attributes(match.group(3)).get(b"ref", b"")
            parts = ref.split(b":")
            if len(parts) != 2:
                return None
            last = _REF.match(parts[1])
            if last is None or max_column <= column_index(last.group(1).upper().decode()):
                return None
            new_ref = parts[0] + b":" + column_letter(max_column).encode() + last.group(2)
            return match.start(), match.end(), set_attribute(match.group(0), b"ref", new_ref)
        return None

    # ------------------------------------------------------------------ shared formulas

    def _move_shared_masters(self, xml: bytes, edits: dict[int, dict[int, str]]) -> bytes:
        """Give a shared formula whose master cell we overwrite a new master: the next cell of its group.

        The formula text is translated to the new master's position with
        openpyxl's Translator; a group that is not one row or one column
        (its rest would not be a rectangle) is refused with a message.
        """
        if _find(xml, b"shared") < 0:  # windowed: a plain `in` over 139 MB holds the GIL ~100 ms
            return xml
        masters: dict[bytes, tuple[str, bytes, str]] = {}  # si -> (master ref, ref range, formula)
        for span in self.rows(xml, max(edits), set(edits))[0]:
            changes = edits.get(span.number)
            if not changes or span.self_closing:
                continue
            body = xml[span.open_end : span.close_start]
            for column, start, end, _attrs in self.cells(body, span.number):
                if column in changes:
                    master = self._shared_master(body[start:end])
                    if master is not None:
                        masters[master[0]] = (f"{column_letter(column)}{span.number}", master[1], master[2])
        if not masters:
            return xml
        return self._rehome(xml, masters, edits)

    def _shared_master(self, cell: bytes) -> tuple[bytes, bytes, str] | None:
        """(si, ref, formula text) when the cell holds a shared formula's master."""
        tokens = [m for m in self._formulas.finditer(cell) if m.group(2) is not None]
        if not tokens or tokens[0].group(1):
            return None
        attrs = attributes(tokens[0].group(3))
        if attrs.get(b"t") != b"shared" or b"ref" not in attrs or b"si" not in attrs or tokens[0].group(4):
            return None
        close = next((m for m in tokens[1:] if m.group(1)), None)
        text = cell[tokens[0].end() : close.start()] if close else b""
        from xml.sax.saxutils import unescape

        return attrs[b"si"], attrs[b"ref"], unescape(text.decode("utf-8"))

    def _rehome(self, xml: bytes, masters: dict[bytes, tuple[str, bytes, str]], edits: dict[int, dict[int, str]]) -> bytes:
        from openpyxl.formula.translate import Translator
        from xml.sax.saxutils import escape

        followers: dict[bytes, list[tuple[int, int, int, int]]] = {si: [] for si in masters}  # (row, col, f start, f end)
        for span in self.rows(xml)[0]:
            if span.self_closing:
                continue
            body_start = span.open_end
            body = xml[span.open_end : span.close_start]
            for column, start, end, _attrs in self.cells(body, span.number):
                if column in edits.get(span.number, {}):
                    continue
                cell = body[start:end]
                for match in self._formulas.finditer(cell):
                    if match.group(2) is None or match.group(1):
                        continue
                    attrs = attributes(match.group(3))
                    si = attrs.get(b"si")
                    if attrs.get(b"t") == b"shared" and si in followers and b"ref" not in attrs:
                        f_end = match.end()
                        if not match.group(4):
                            close = cell.find(b"</" + self.p + b"f>", match.end())
                            f_end = close + len(self.p) + 4 if close >= 0 else match.end()
                        offset = body_start + start
                        followers[si].append((span.number, column, offset + match.start(), offset + f_end))
                    break
        replacements: list[tuple[int, int, bytes]] = []
        for si, (master_ref, ref_range, formula) in masters.items():
            group = followers[si]
            if not group:
                continue  # nothing else uses it: overwriting the master loses nothing
            rows = {r for r, _c, _s, _e in group}
            columns = {c for _r, c, _s, _e in group}
            first = min(group)
            if len(rows) > 1 and len(columns) > 1 or (first[0], first[1]) != (min(rows), min(columns)):
                raise ReportError(
                    f"cell {master_ref} holds a shared formula that other cells use ({ref_range.decode(errors='replace')}); "
                    "it cannot be overwritten safely: clear that formula in the report first"
                )
            new_ref = f"{column_letter(first[1])}{first[0]}"
            last = f"{column_letter(max(columns))}{max(rows)}"
            moved = Translator("=" + formula, origin=master_ref).translate_formula(new_ref)[1:]
            p = self.p.decode()
            element = f'<{p}f t="shared" ref="{new_ref}:{last}" si="{si.decode()}">{escape(moved)}</{p}f>'.encode()
            replacements.append((first[2], first[3], element))
        for start, end, element in sorted(replacements, reverse=True):
            xml = xml[:start] + element + xml[end:]
        return xml
