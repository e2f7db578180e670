"""Finding rows in a session: filters, groups, the next unreviewed row.

Filters search precomputed lowercase columns (built once, shared by every
filter), so the first ``/`` on half a million rows does not build per-row
caches; groups never join unlike rows under a placeholder value.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from phi_review.core.common.errors import PhiReviewError
from phi_review.core.report.model import Finding

_TOKEN = re.compile(r'(?:(?P<key>[A-Za-z]+):)?"(?P<quoted>[^"]*)"?|(?P<bare>\S+)')
_FIELD_TERMS = ("file", "value", "tag", "note", "site", "event", "details")
_UNREVIEWED_WORDS = ("none", "unreviewed", "")


@dataclass
class Group:
    """Rows sharing one issue and detected value (compared trimmed, case-insensitively)."""

    issue: str
    value: str
    indexes: list[int]
    reviewed: int


class QueryMixin:
    """The query half of ReviewSession (it holds the findings, marks and filter columns)."""

    findings: Any
    report: Any
    marks: Any
    _fixed: Any
    _cell_columns: Any
    _changing: Any
    patient_labels: Sequence[str] = ()  # P1, P2... per row once the headers were read ("" unknown); memory only

    def _column(self, name: str) -> "_Column":
        """A field that never changes (file, value, issue, tag, site, event, details), lowercased once."""
        column = self._fixed.get(name)
        if column is None:
            column = self._fixed[name] = _Column([getattr(finding, name) for finding in self.findings])
        return column

    def _changing_columns(self) -> dict[str, list[str]]:
        """Action and note, lowercased, one entry per row (decisions update them in place)."""
        if self._changing is None:
            self._changing = {name: _lowered([getattr(finding, name) for finding in self.findings])
                              for name in ("action", "note")}
        return self._changing

    def _cells(self) -> list["_Column"]:
        """The other cells of the rows as read, column by column (Details, Score, Site...: plain text search).

        Columns read into a field (file, value, issue, tag) are searched there, and
        action and note as they are now, not as the file had them.
        """
        if self._cell_columns is None:
            rows = [finding.cells for finding in self.findings]
            width = max(map(len, rows), default=0)
            if rows and min(map(len, rows)) != width:  # ragged rows (CSV): pad the short ones
                rows = [list(cells) + [""] * (width - len(cells)) for cells in rows]
            columns = self.report.columns if len(self.report.sources) <= 1 else None  # several CSVs: own layouts
            mapped = {getattr(columns, name, None) for name in ("file", "value", "issue", "tag", "action", "note")}
            self._cell_columns = [_Column([cells[k] for cells in rows]) for k in range(width) if k not in mapped]
        return self._cell_columns

    def prepare_filter(self) -> None:
        """Build the columns ``filter`` searches now, not at the first query; safe in a worker thread
        (it reads only what no decision changes: action and note are built at the first query)."""
        for name in ("file", "value", "issue", "tag"):
            self._column(name)
        self._cells()

    def filter(self, query: str) -> list[int]:
        """Indexes of findings matching every term of ``query``, in report order.

        Terms: ``is:unreviewed|reviewed|marked``, ``issue:TEXT``,
        ``action:TEXT`` (``action:none`` = unreviewed), ``file:``/``value:``/
        ``tag:``/``note:TEXT``, ``"quoted phrases"``, and plain text matched in
        file, value, issue, tag, note and action. All case-insensitive
        substrings; an unknown ``key:`` is plain text.
        """
        candidates: list[int] = list(range(len(self.findings)))
        for key, text in _terms(query):
            if not candidates:
                break
            candidates = self._apply_term(candidates, key, text)
        return candidates

    def _apply_term(self, candidates: list[int], key: str, text: str) -> list[int]:
        findings = self.findings
        if key == "is" and text in ("unreviewed", "todo", "open"):
            return [i for i in candidates if not findings[i].reviewed]
        if key == "is" and text in ("reviewed", "done", "decided"):
            return [i for i in candidates if findings[i].reviewed]
        if key == "is" and text == "marked":
            marks = self.marks
            return [i for i in candidates if i in marks]
        if key == "is" and text == "unmarked":
            marks = self.marks
            return [i for i in candidates if i not in marks]
        if key == "is" and text == "disputed":  # the second pass chose another action than the first
            return [i for i in candidates if _disputed(findings[i])]
        if key == "patient":  # P1, P2...: labels set when the headers were read (core.review.patients)
            labels = getattr(self, "patient_labels", None) or ()
            return [i for i in candidates if i < len(labels) and labels[i].lower() == text]
        if key == "kind":  # pixels, header, missing, warning, error, other (core.report.pointer)
            from phi_review.core.report.pointer import pointer_of

            return [i for i in candidates if pointer_of(findings[i]).kind == text]
        if key == "action" and text in _UNREVIEWED_WORDS:
            return [i for i in candidates if not findings[i].reviewed]
        if key in ("action", "note"):
            column = self._changing_columns()[key]
            return [i for i in candidates if text in column[i]]
        if key == "issue" or key in _FIELD_TERMS:
            hits = self._column(key).rows(text)
        else:
            plain = f"{key}:{text}" if key else text
            hits = set()
            for column in (*(self._column(name) for name in ("file", "value", "issue", "tag")), *self._cells()):
                hits.update(column.rows(plain))
            for values in self._changing_columns().values():  # joined for this query: a find per hit, not a test per row
                hits.update(_Column(values, lowered=True).rows(plain))
        if len(candidates) == len(self.findings):  # the first term: every row is a candidate
            return sorted(hits)
        return [i for i in candidates if i in hits]

    def groups(self, by: str = "value") -> list[Group]:
        """Findings grouped by issue and detected value (``by="tag"``: issue and tag; ``"file"``: file;
        ``"patient"``: the P1, P2... of ``patient_labels``, once read), largest first.

        A placeholder such as ``tag missing`` is never a value: such rows group by
        the tags they name, so one key never decides different tags at once.
        """
        from phi_review.core.report.pointer import group_value, is_placeholder, pointer_of

        if by not in ("value", "tag", "file", "patient"):
            raise PhiReviewError(f"cannot group by {by!r}: use value, tag, file or patient")
        labels = getattr(self, "patient_labels", None) or ()
        by_key: dict[tuple[str, str], Group] = {}
        for index, finding in enumerate(self.findings):
            if by == "patient":  # numbered patients only: rows of unknown patients are never decided together
                if index >= len(labels) or not labels[index]:
                    continue
                issue, value = "Patient", labels[index]
            elif by == "file":
                where = "/".join(p for p in (finding.site.strip(), finding.event.strip()) if p)
                issue, value = "File", (f"{where}: " if where else "") + finding.file.strip()
            elif by == "tag":
                issue, value = finding.issue.strip(), ", ".join(pointer_of(finding).tags) or "(no tag)"
            else:
                issue, value = finding.issue.strip(), finding.value.strip()
                if finding.details or is_placeholder(value):
                    value = group_value(finding)
            key = (issue, value.casefold())
            group = by_key.get(key)
            if group is None:
                group = by_key[key] = Group(key[0], value, [], 0)
            group.indexes.append(index)
            group.reviewed += finding.reviewed
        return sorted(by_key.values(), key=lambda g: (-len(g.indexes), g.issue, g.value.casefold()))

    def next_unreviewed(self, order: Sequence[int], start_pos: int, step: int = 1) -> int | None:
        """Position in ``order`` of the next unreviewed finding after ``start_pos``, wrapping.

        ``step`` -1 searches backwards. The start position itself is checked
        last, so a lone unreviewed row under the cursor is still found.
        """
        count = len(order)
        if not count or step == 0:
            return None
        direction = 1 if step > 0 else -1
        findings = self.findings
        for offset in range(1, count + 1):
            position = (start_pos + offset * direction) % count
            if not findings[order[position]].reviewed:
                return position
        return None


_ROW_SEP = "\x01"  # between rows in a _Column's text; in a cell it becomes U+FFFE, which no typed term holds
_CHUNK = 50_000  # rows lowercased per join: bounded temporary memory


def _lowered(texts: list[object]) -> list[str]:
    """Every text lowercased: one join, one ``lower`` and one split per chunk (C speed, not one call per row)."""
    texts = [t if t.__class__ is str else ("" if t is None else str(t)) for t in texts]
    out: list[str] = []
    for start in range(0, len(texts), _CHUNK):
        chunk = texts[start:start + _CHUNK]
        parts = _ROW_SEP.join(chunk).lower().split(_ROW_SEP)
        out.extend(parts if len(parts) == len(chunk) else [t.lower() for t in chunk])
    return out


class _Column:
    """One column that never changes, lowercased into a single string (rows joined by \x01).

    A term is found with ``str.find`` and its row counted with ``str.count``, both C
    loops: no per-row string is kept, and building it is a join and a ``lower``.
    """

    __slots__ = ("text", "size")

    def __init__(self, values: list[object], lowered: bool = False) -> None:
        try:
            joined = _ROW_SEP.join(values)  # type: ignore[arg-type]
        except TypeError:  # numbers or empty cells (Score): as the screen shows them
            joined = _ROW_SEP.join([v if v.__class__ is str else ("" if v is None else str(v)) for v in values])
        if joined.count(_ROW_SEP) != max(len(values) - 1, 0):
            joined = _ROW_SEP.join(("" if v is None else str(v)).replace(_ROW_SEP, "\ufffe") for v in values)
        self.text = joined if lowered else joined.lower()
        self.size = len(values)

    def rows(self, term: str) -> set[int]:
        """Indexes of the rows whose value holds ``term`` (already lowercase)."""
        if not term:
            return set(range(self.size))
        if _ROW_SEP in term:
            return set()
        find, count = self.text.find, self.text.count
        if count(term) > self.size // 8:  # most rows hold it: one split and a test per row beat a find per hit
            return {row for row, value in enumerate(self.text.split(_ROW_SEP)) if term in value}
        found: set[int] = set()
        row, start = 0, 0
        position = find(term)
        while position != -1:
            row += count(_ROW_SEP, start, position)
            found.add(row)
            end = find(_ROW_SEP, position + len(term))
            if end == -1:
                break
            row, start = row + 1, end + 1
            position = find(term, start)
        return found


def _disputed(finding: Finding) -> bool:
    second = finding.second_review.strip()
    return bool(second) and second != finding.action.strip()


def _file_key(finding: Finding) -> tuple[str, str, str]:
    return (finding.file.strip(), finding.site.strip().lower(), finding.event.strip().lower())


def _terms(query: str) -> list[tuple[str, str]]:
    """Split a filter query into (key, lowercased text) pairs; key "" for plain text."""
    terms: list[tuple[str, str]] = []
    for match in _TOKEN.finditer(query):
        if match.group("bare") is not None:
            bare = match.group("bare")
            key, sep, text = bare.partition(":")
            if sep and key.lower() in _KNOWN_KEYS:
                terms.append((key.lower(), text.lower()))
            else:
                terms.append(("", bare.lower()))
        else:
            key = (match.group("key") or "").lower()
            text = match.group("quoted").lower()
            if key and key not in _KNOWN_KEYS:
                terms.append(("", f"{key}:{text}"))
            elif key or text:
                terms.append((key, text))
    return terms


_KNOWN_KEYS = frozenset(("is", "issue", "action", "kind", "patient", *_FIELD_TERMS))
