"""A report safe for any channel: the same rows and decisions, every identifying value masked.

What is masked, in every row (``«…»``, so a row still shows its file, its tag
and its issue, and the centre can tell rows apart):

- the Detected Value (the tag is kept: in the Tag column, or written before the
  mask when the report has none). A Missing Required Tags value that only names
  DICOM attributes is no value and stays;
- in Details, every ``«value»`` (the validator's placeholders such as
  ``«tag missing»`` stay), the OCR excerpt of a pixel finding, and an unquoted
  value the validator put first;
- a column named for OCR text, whole;
- in notes (and in Details after the above), any text that matches an
  identifier of the report's files or a detected value of the report's rows.

Every other column (file name, Site ID, Event ID, issue, tag, score, profile,
action, reviewer, reviewed at, the report's own extra columns) is kept as read.
The proof's byte search then looks, in every row and in the bytes about to be
written, for every identifier of every file the rows resolve to (the proof's
``collect_identifiers``) and every detected value of the report's rows; one
found refuses the export, naming the row and column, never the value.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from phi_review.core.common.errors import ReportError
from phi_review.core.common.inert import inert
from phi_review.core.proof.identifiers import PLACEHOLDERS as NOBODY
from phi_review.core.proof.identifiers import Identifier
from phi_review.core.proof.search import LONG_ENOUGH, ByteSearch
from phi_review.core.report.columns import normalize
from phi_review.core.report.model import Finding, Report
from phi_review.core.report.new_columns import DECISION_FIELDS, NEW_HEADERS
from phi_review.core.report.pointer import is_placeholder, pointer_of
from phi_review.core.report.validator import PLACEHOLDERS as VALIDATOR_PLACEHOLDERS

MASK = "«…»"
DETECTED = "detected value"
_QUOTED = re.compile(r"«+([^«»]*)»+")
_PIXEL_TAIL = re.compile(r",?\s*Detected with pattern\s+\S+\s+at frame index\s+-?\d+\s*$", re.IGNORECASE)
_TAG = re.compile(r"\(\s*[0-9A-Fa-f]{4}\s*,\s*[0-9A-Fa-f]{4}\s*\)")
_WORDS = re.compile(r"[A-Za-z][A-Za-z0-9]*")
_NUMBERISH = re.compile(r"[\d.,:/ -]+")


@dataclass
class Table:
    """What is written: header, rows of text, and for each row the name a refusal gives it."""

    headers: list[str]
    rows: list[list[str]]
    names: list[str]  # "row 12" or "SiteA.csv row 12"
    action_column: int
    masked: int = 0  # cells changed by masking
    summary: list[list[str]] = field(default_factory=list)


def names_only_attributes(value: str) -> bool:
    """True when a Missing Required Tags value names DICOM attributes and nothing else (no PHI to mask)."""
    from phi_review.core.report.pointer import tag_text

    rest = _TAG.sub(" ", value)
    rest = _WORDS.sub(lambda m: " " if tag_text(m.group(0)) else m.group(0), rest)
    return not re.sub(r"[\s,;()]", "", rest)


def detected_identifiers(findings: Iterable[Finding]) -> list[Identifier]:
    """The report's own detected values (and OCR excerpts) as identifiers to seek, like a file's."""
    out: dict[str, Identifier] = {}
    for finding in findings:
        pointer = pointer_of(finding)
        for text in (finding.value, pointer.value):
            text = text.strip().strip("«»").strip()
            if not text or is_placeholder(text) or text.lower() in NOBODY or len(text) < 3:
                continue
            if pointer.kind == "missing" and names_only_attributes(text):
                continue
            if _NUMBERISH.fullmatch(text) and sum(c.isdigit() for c in text) < 6:
                continue  # a score or a count, not an identifier
            out.setdefault(text.lower(), Identifier(text, DETECTED, f"row {finding.row}"))
    return list(out.values())


class Masker:
    """Masks identifier text (case-insensitive, at word boundaries for short ones, as the byte search)."""

    def __init__(self, identifiers: Sequence[Identifier]) -> None:
        texts = sorted({i.text for i in identifiers if i.text.strip()}, key=lambda t: (-len(t), t))
        parts = []
        for text in texts:
            numeric = text.replace("-", "").replace("/", "").replace(".", "").isdigit()
            escaped = re.escape(text)
            if numeric or len(text) < LONG_ENOUGH:
                escaped = rf"(?<![A-Za-z0-9]){escaped}(?![A-Za-z0-9])"
            parts.append(escaped)
        self.pattern = re.compile("|".join(parts), re.IGNORECASE) if parts else None

    def mask(self, text: str) -> str:
        if self.pattern is None or not text:
            return text
        return self.pattern.sub(MASK, text)


def mask_value(finding: Finding, value: str, tag_column: bool) -> str:
    """The Detected Value cell: ``«…»`` (after the tag when the report has no Tag column)."""
    text = value.strip()
    if not text or is_placeholder(text):
        return value
    pointer = pointer_of(finding)
    if pointer.kind == "missing" and names_only_attributes(text):
        return value
    if not tag_column and pointer.tags:
        return f"{' '.join(pointer.tags)} {MASK}"
    return MASK


def mask_details(finding: Finding, details: str) -> str:
    """Details with every «value» (not a placeholder), a pixel finding's OCR excerpt and a leading value masked."""
    if not details.strip():
        return details
    pixel = _PIXEL_TAIL.search(details)
    if pixel is not None and pointer_of(finding).kind in ("pixels", "other"):
        return MASK + ", " + details[pixel.start():].lstrip(", ").strip()

    def quoted(match: re.Match[str]) -> str:
        inner = match.group(1).strip()
        return match.group(0) if inner.lower() in VALIDATOR_PLACEHOLDERS else MASK

    out = _QUOTED.sub(quoted, details)
    value = pointer_of(finding).value
    if value and "«" not in details and value in out and not names_only_attributes(value):
        out = out.replace(value, MASK)
    return out


def build_table(report: Report, findings: Sequence[Finding], masker: Masker) -> Table:
    """Header and masked rows: the report's columns (and ours when missing), the rows' saved decisions."""
    from phi_review.core.report.reader import display

    columns = report.columns
    headers = [display(h).strip() for h in report.headers]
    several = len(report.sources) > 1
    fields = {f: getattr(columns, f) for f in (*DECISION_FIELDS, "corrected_copy")}
    for name in DECISION_FIELDS:
        if fields[name] is None:
            fields[name] = len(headers)
            headers.append(NEW_HEADERS[name])
    ocr = {i for i, h in enumerate(headers) if "ocr" in normalize(h)}
    masked = 0
    rows: list[list[str]] = []
    names: list[str] = []
    for finding in findings:
        cells = [display(v) for v in finding.cells]
        cells += [""] * (len(headers) - len(cells))
        cells = cells[: max(len(headers), len(cells))]
        for name, index in fields.items():
            if index is not None:
                cells[index] = getattr(finding, name) or ""
        before = list(cells)
        if columns.value is not None and columns.value < len(cells):
            cells[columns.value] = masker.mask(mask_value(finding, cells[columns.value], columns.tag is not None))
        if columns.details is not None and columns.details < len(cells):
            cells[columns.details] = masker.mask(mask_details(finding, cells[columns.details]))
        for index in ocr:
            cells[index] = MASK if cells[index].strip() else cells[index]
        cells[fields["note"]] = masker.mask(cells[fields["note"]])
        masked += sum(a != b for a, b in zip(before, cells))
        where = f"row {finding.row}"
        if several:
            source = report.source_of(finding)
            where = f"{source.name if source else finding.source} {where}"
            cells = [finding.source, *cells]
        rows.append(cells)
        names.append(where)
    if several:
        headers = ["Report File", *headers]
    action = fields["action"] + (1 if several else 0)
    return Table(headers, rows, names, action, masked)


def check_table(table: Table, search: ByteSearch) -> None:
    """Refuse (one line, no value) when any identifier is still in a header, a row or the summary."""
    blocks: list[tuple[str, list[str]]] = [("the header row", table.headers)]
    blocks += list(zip(table.names, table.rows))
    blocks += [(f"the summary line {n}", row) for n, row in enumerate(table.summary, start=1)]
    offsets: list[tuple[int, int, str, int]] = []  # (start, end, block name, column)
    pieces: list[bytes] = []
    at = 0
    for name, cells in blocks:
        for column, cell in enumerate(cells):
            data = cell.lower().encode("utf-8", "surrogatepass") + b"\n"
            offsets.append((at, at + len(data), name, column))
            pieces.append(data)
            at += len(data)
    residuals = search.plain_residuals(b"".join(pieces))
    if not residuals:
        return
    from bisect import bisect_right

    first = residuals[0]
    _start, _end, name, column = offsets[bisect_right([o[0] for o in offsets], first.offset or 0) - 1]
    summary = name.startswith("the summary")
    col = "" if summary or column >= len(table.headers) else f", column {table.headers[column][:40]!r}"
    more = f" (and {len(residuals) - 1} more)" if len(residuals) > 1 else ""
    raise ReportError(
        f"{inert(name)}{inert(col)} holds a {first.kind} of the report's files{more} that masking does not clear "
        "(it masks detected values, Details values, OCR text and notes; other columns are kept as read); "
        "nothing written: correct that cell in the report, or send it another way")


def source_paths(report: Report, findings: Sequence[Finding], roots: Sequence[Path]) -> tuple[list[Path], int]:
    """The files the rows resolve to (every candidate when a row is ambiguous), and rows that resolve to none."""
    from phi_review.core.dicom.locate import FileIndex
    from phi_review.core.report.pointer import resolve_row

    index = FileIndex.build(list(roots))
    paths: dict[Path, None] = {}
    unresolved = 0
    for finding in findings:
        resolution = resolve_row(index, finding)
        found = [resolution.path] if resolution.path is not None else list(resolution.candidates)
        if not found:
            unresolved += 1
        for path in found:
            paths.setdefault(Path(path), None)
    return list(paths), unresolved


def file_identifiers(paths: Iterable[Path]) -> tuple[list[Identifier], int]:
    """``collect_identifiers`` of every file, and how many files could not be read at all."""
    from phi_review.core.proof.identifiers import collect_identifiers

    out: dict[str, Identifier] = {}
    unreadable = 0
    for path in paths:
        try:
            found = collect_identifiers(path)
        except OSError:
            unreadable += 1
            continue
        for ident in found:
            out.setdefault(ident.text.lower(), ident)
    return list(out.values()), unreadable
