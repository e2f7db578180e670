"""CSV reports: one file, several, or a folder of them (the EDRN validator's output) as one report.

The validator (``validate-dicom-files``) writes one CSV per site or per event;
a reviewer wants them as one list. Each row keeps the file it came from
(``Finding.source``) and its own record number in that file.

A file with the validator's own header is never written: its decisions go to a
hidden reviewed copy beside it (core.report.csv_reviewed), so the validator's
``summarize-validation-reports`` still reads the folder. Saving splices our
cells into each file's own text (or that copy's): a row we did not change
keeps its exact bytes, and a changed row keeps every other field's bytes
(quoting, delimiter, encoding, BOM, line ending). A value we write that a
spreadsheet would run as a formula (starts with ``=``, ``+``, ``-``, ``@``,
tab or CR) gets a leading ``'`` (OWASP CSV-injection guidance); reading drops
exactly that one ``'`` again, so a note round-trips unchanged.
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from phi_review.core.common.atomic_file import replace_atomically
from phi_review.core.common.errors import ReportError
from phi_review.core.report.columns import find_header, looked_for, match_columns, seen_columns
from phi_review.core.report.csv_backup import backup_csv_once, leave_out_old_backups
from phi_review.core.report.csv_carry_over import carry_over
from phi_review.core.report.csv_encoding import decode_csv, encode_csv, text_of
from phi_review.core.report.csv_repeats import repeated_headers
from phi_review.core.report.csv_reviewed import (ReviewedCopy, copy_changed, current_bytes, decorated_note, load_reviewed,
                                                 write_reviewed)
from phi_review.core.report.model import (
    DEFAULT_ACTIONS,
    EDITABLE_FIELDS,
    ColumnMap,
    CsvFormat,
    Fingerprint,
    Report,
    Source,
)
from phi_review.core.report.new_columns import APPEND_ORDER, NEW_HEADERS, fields_to_append

# A Details cell can be long (a whole OCR excerpt); Python's csv default (128 KiB) is
# raised to this bound, beyond which the file is refused in one line.
FIELD_LIMIT = 16 * 1024 * 1024
MAX_SOURCES = 10_000
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\n|\r|$)")

EditKey = int | tuple[str, int]


# ----------------------------------------------------------------------------- values


def neutralize(value: str) -> str:
    """Text a spreadsheet shows as text: a leading ``'`` before a formula start (and before our own ``'``)."""
    if value.lstrip("'").startswith(FORMULA_START):
        return "'" + value
    return value


def unneutralize(value: str) -> str:
    """Undo ``neutralize`` for a cell we may have written."""
    if value.startswith("'") and value.lstrip("'").startswith(FORMULA_START):
        return value[1:]
    return value


def _encode_field(value: str, delimiter: str) -> str:
    if any(ch in value for ch in (delimiter, '"', "\r", "\n")) or value != value.strip(" "):
        return '"' + value.replace('"', '""') + '"'
    return value


# ----------------------------------------------------------------------------- reading


def _decode(data: bytes, name: str) -> tuple[str, CsvFormat]:
    """The text and its format, detected once (core.report.csv_encoding): saving keeps them exactly."""
    text, fmt = decode_csv(data, name)
    first = re.search(r"\r\n|\n|\r", text)
    fmt.newline = first.group(0) if first else "\r\n"
    fmt.delimiter = sniff_delimiter(text)
    return text, fmt


def sniff_delimiter(text: str) -> str:
    """The separator most rows use (title lines above the header have none, which fools csv.Sniffer)."""
    lines = text[:65536].splitlines()[:50]
    counts = {d: sum(line.count(d) for line in lines) for d in (",", ";", "\t")}
    return max(counts, key=lambda d: counts[d]) if any(counts.values()) else ","


def parse_rows(text: str, delimiter: str, name: str) -> list[list[str]]:
    """Every record of the file; a broken or oversized field is one line, not a traceback."""
    if csv.field_size_limit() < FIELD_LIMIT:
        csv.field_size_limit(FIELD_LIMIT)
    try:
        return [row for row in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)]
    except csv.Error as error:
        raise ReportError(f"{name} is not a readable CSV file: {str(error)[:100]}") from None


def _fingerprint(data: bytes, path: Path) -> Fingerprint:
    stat = path.stat()
    return Fingerprint(size=len(data), mtime_ns=stat.st_mtime_ns, sha256=hashlib.sha256(data).hexdigest())


def _combined(sources: Sequence[Source]) -> Fingerprint:
    """One fingerprint for a report made of several files (the journal's save marks use it)."""
    digest = hashlib.sha256()
    for source in sources:
        digest.update(f"{source.name}\0{source.fingerprint.sha256}\n".encode("utf-8", "surrogateescape"))
    return Fingerprint(
        size=sum(s.fingerprint.size for s in sources),
        mtime_ns=max((s.fingerprint.mtime_ns for s in sources), default=0),
        sha256=digest.hexdigest(),
    )


def csv_files_in(folder: Path) -> list[Path]:
    """The report CSVs in a folder and below, in name order (hidden files, where our backups live, left out)."""
    found: list[Path] = []
    for directory, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            if name.lower().endswith(".csv") and not name.startswith("."):
                found.append(Path(directory) / name)
                if len(found) > MAX_SOURCES:
                    raise ReportError(f"{folder} holds more than {MAX_SOURCES} CSV files; give the report files")
    return found


def report_paths(paths: Sequence[Path], notes: list[str] | None = None) -> tuple[Path, list[Path], Path]:
    """(the report's own path, its CSV files, the folder their names are relative to).

    An ``X.orig.csv`` an earlier version kept beside ``X.csv`` is left out (said in ``notes``) only when it
    holds ``X.csv``'s very rows (core.report.csv_backup); no file is left out by its name alone.
    """
    notes = [] if notes is None else notes
    if len(paths) == 1 and paths[0].is_dir():
        folder = paths[0]
        files, said = leave_out_old_backups(csv_files_in(folder))
        notes.extend(said)
        if not files:
            raise ReportError(f"no .csv report files in the folder {folder}")
        return folder, files, folder
    files = []
    seen: set[str] = set()
    for path in paths:
        if path.is_dir():
            raise ReportError(f"{path} is a folder: give it alone, or give CSV files")
        if not path.exists():
            raise ReportError(f"report not found: {path}")
        if path.suffix.lower() != ".csv":
            raise ReportError(f"{path.name}: several reports can only be CSV files")
        key = os.path.realpath(path)
        if key not in seen:
            seen.add(key)
            files.append(path)
    if len(files) > 1:
        files, said = leave_out_old_backups(files)
        notes.extend(said)
    try:
        base = Path(os.path.commonpath([os.path.abspath(p.parent) for p in files]))
    except ValueError:
        base = files[0].parent
    return files[0], files, base


def read_csv_report(paths: Sequence[Path]) -> Report:
    """One report from one CSV, several, or a folder of them."""
    from phi_review.core.report.reader import display

    notes: list[str] = []
    report_path, files, base = report_paths([Path(p) for p in paths], notes)
    single = len(files) == 1 and not report_path.is_dir()
    parsed: list[tuple[Source, list[list[Any]], int]] = []
    for path in files:
        try:
            data = path.read_bytes()
        except OSError as error:
            raise ReportError(f"cannot read {path}: {error.strerror}") from None
        read_from, copy = path, None
        loaded = load_reviewed(path, data)  # the validator's own file: never written
        if loaded is not None:
            data, copy = loaded
            if copy.exists:  # its decisions: the original's bytes with our columns spliced in
                read_from = copy.path
        text, fmt = _decode(data, path.name)
        rows = parse_rows(text, fmt.delimiter, path.name)
        header = find_header(rows)
        if header is None:
            raise ReportError(f"no header row found in {path.name}; {seen_columns(rows)}; looked for {looked_for()}")
        index, found = header
        headers = [display(v).strip() for v in rows[index]]
        while headers and not headers[-1]:
            headers.pop()
        said = decorated_note(path, headers) if copy is None else None
        notes.extend([said] if said else [])
        name = "" if single else _relative_name(path, base)
        source = Source(path, name, index + 1, headers, ColumnMap(**found), _fingerprint(data, read_from), fmt,
                        width=max(map(len, rows), default=0), reviewed=copy)
        parsed.append((source, rows, index))
    union: list[str] = []
    for source, _rows, _index in parsed:
        for header in source.headers:
            if header not in union:
                union.append(header)
    columns = ColumnMap(**match_columns(union))
    findings = []
    for source, rows, index in parsed:
        body = rows[index + 1 :]
        found = {field: at for field, at in vars(source.columns).items() if at is not None}
        for repeat in repeated_headers(body, found, index + 2, source.path.name):
            body[repeat] = []  # a header, not a finding: no file name, so no row (row numbers stay)
        if source.headers != union[: len(source.headers)]:
            where = [source.headers.index(h) if h in source.headers else None for h in union]
            body = [[row[j] if j is not None and j < len(row) else "" for j in where] for row in body]
        _share_repeated(body, [getattr(columns, f) for f in ("site", "event", "profile", "score", "issue")])
        built = _build_findings(body, index + 2, columns, source.name)
        source.rows = len(built)
        findings.extend(built)
    first = parsed[0][0]
    if not findings:
        where = first.path.name if single else f"the {len(files)} CSV files of {report_path}"
        raise ReportError(f"{where}: the header was found but there are no data rows")
    sources = [source for source, _rows, _index in parsed]
    return Report(
        path=report_path, kind="csv", sheet="", header_row=first.header_row, headers=union if not single else first.headers,
        columns=columns if not single else first.columns, actions=list(DEFAULT_ACTIONS), findings=findings,
        fingerprint=first.fingerprint if single else _combined(sources), sources=sources, warnings=notes,
    )


def _share_repeated(body: list[list[Any]], indexes: list[int | None]) -> None:
    """One str object per distinct value in columns that repeat (site, event, issue...): 500k rows,
    each with its own copy of "🙈 Possible PHI/PII in Header", would hold ~70 MB for one column."""
    for index in indexes:
        if index is None:
            continue
        pool: dict[str, str] = {}
        share = pool.setdefault
        for row in body:
            if index < len(row):
                row[index] = share(row[index], row[index])


def _relative_name(path: Path, base: Path) -> str:
    try:
        return os.path.relpath(os.path.abspath(path), base)
    except ValueError:
        return str(path)


def _build_findings(body: list[list[Any]], first_row: int, columns: ColumnMap, source: str) -> list:
    from phi_review.core.report.reader import _findings_from

    findings = _findings_from(body, first_row, columns, source)
    # -c 1 runs write "⚠️\xa0 Missing Required Tags", the pool "⚠️ Missing Required Tags": one issue.
    labels: dict[str, str] = {}
    for finding in findings:
        label = labels.get(finding.issue)
        if label is None:
            label = labels[finding.issue] = " ".join(finding.issue.split())
        finding.issue = label
    for name in EDITABLE_FIELDS:  # the cells we write may hold our neutralizing quote
        for finding in findings:
            text = getattr(finding, name)
            if text.startswith("'"):
                setattr(finding, name, unneutralize(text))
    return findings


# ----------------------------------------------------------------------------- writing


def sources_changed(report: Report) -> bool:
    """True when any of the report's files is not the one we read."""
    for source in report.sources:
        if isinstance(source.reviewed, ReviewedCopy):
            if copy_changed(source.reviewed, source.path, source.fingerprint):
                return True
            continue
        try:
            stat = os.stat(source.path)
        except OSError:
            return True
        fp = source.fingerprint
        if stat.st_size != fp.size:
            return True
        if stat.st_mtime_ns != fp.mtime_ns and hashlib.sha256(source.path.read_bytes()).hexdigest() != fp.sha256:
            return True
    return False


def save_csv_report(report: Report, edits: Mapping[EditKey, Mapping[str, str]]) -> list[str]:
    """Write ``edits`` ({row or (source, row): {field: text}}) into each CSV file atomically."""
    if not edits:
        return []
    if sources_changed(report):
        raise ReportError(
            f"{report.path.name} changed on disk since it was opened; not overwritten (your decisions are kept in the journal)"
        )
    by_source: dict[str, dict[int, Mapping[str, str]]] = {}
    for key, fields in edits.items():
        name, row = key if isinstance(key, tuple) else ("", key)
        for field in fields:
            if field not in EDITABLE_FIELDS:
                raise ReportError(f"cannot write field {field!r}")
        by_source.setdefault(name, {})[row] = fields
    sources = {source.name: source for source in report.sources}
    planned: list[tuple[Source, bytes, dict[str, int]]] = []
    for name, rows in by_source.items():
        source = sources.get(name)
        if source is None:
            raise ReportError(f"no report file {name!r} in this report")
        copy = source.reviewed
        original = current_bytes(copy, source.path) if isinstance(copy, ReviewedCopy) else source.path.read_bytes()
        appended = _plan_columns(source, {field for fields in rows.values() for field in fields})
        planned.append((source, splice_csv(original, source, rows, appended), appended))
    warnings: list[str] = []
    for source, new_bytes, appended in planned:  # every file computed before the first is replaced
        copy = source.reviewed
        if isinstance(copy, ReviewedCopy):  # the validator's file stays as it is (core.report.csv_reviewed)
            warnings.extend(write_reviewed(copy, source.path, new_bytes))
        elif (carried := carry_over(source, new_bytes)) is not None:  # decisions an earlier version saved in place
            copy, said = carried
            source.reviewed = copy
            warnings.extend(said)
        else:
            backup_csv_once(source.path)
            owner_warning = replace_atomically(source.path, lambda handle, data=new_bytes: handle.write(data))
            warnings.extend([owner_warning] if owner_warning else [])
        for field, index in appended.items():
            source.width = max(source.width, index + 1)
            setattr(source.columns, field, index)
            source.headers.extend([""] * (index - len(source.headers)))
            source.headers.append(NEW_HEADERS[field])
        source.fingerprint = _fingerprint(new_bytes, copy.path if isinstance(copy, ReviewedCopy) else source.path)
    if len(report.sources) == 1 and not report.sources[0].name:
        only = report.sources[0]
        report.columns, report.headers, report.fingerprint = only.columns, only.headers, only.fingerprint
    else:
        for field in APPEND_ORDER:
            if getattr(report.columns, field) is None:
                header = NEW_HEADERS[field]
                if any(getattr(s.columns, field) is not None for s in report.sources):
                    if header not in report.headers:
                        report.headers.append(header)
                    setattr(report.columns, field, report.headers.index(header))
        report.fingerprint = _combined(report.sources)
    return warnings


def _plan_columns(source: Source, needed: set[str]) -> dict[str, int]:
    appended: dict[str, int] = {}
    next_index = max(len(source.headers), source.width)  # never over a field that has no header
    for field in fields_to_append(lambda f: getattr(source.columns, f) is None, needed):
        appended[field] = next_index
        next_index += 1
    return appended


def split_records(text: str) -> list[tuple[int, int, int]]:
    """(start, end of fields, end with line ending) of every record; quoted line breaks stay inside."""
    records: list[tuple[int, int, int]] = []
    start = 0
    quotes = 0
    for match in _LINE.finditer(text):
        if match.start() == match.end():
            break
        line = match.group(0)
        quotes += line.count('"')
        if quotes % 2:
            continue  # inside a quoted field: the line break belongs to the field
        body_end = match.end() - (len(line) - len(line.rstrip("\r\n")))
        records.append((start, body_end, match.end()))
        start, quotes = match.end(), 0
    if start < len(text):
        records.append((start, len(text), len(text)))
    return records


def split_records_exact(text: str, delimiter: str) -> list[tuple[int, int, int]]:
    """``split_records`` following the csv module field by field: a quote opens a field only at its start."""
    stop = re.compile("[" + re.escape(delimiter) + "\r\n]")
    records: list[tuple[int, int, int]] = []
    i, n, start = 0, len(text), 0
    while i < n:
        if text[i] == '"':
            i = _after_quoted(text, i + 1)
        match = stop.search(text, i)
        if match is None:
            break
        i = match.end()
        if match.group(0) == delimiter:
            continue
        if match.group(0) == "\r" and i < n and text[i] == "\n":
            i += 1
        records.append((start, match.start(), i))
        start = i
    if start < n:
        records.append((start, n, n))
    return records


def _after_quoted(text: str, i: int) -> int:
    """Just past the quote closing a quoted field whose text starts at ``i`` ("" is a quote inside it)."""
    n = len(text)
    while i < n:
        j = text.find('"', i)
        if j < 0:
            return n
        if j + 1 < n and text[j + 1] == '"':
            i = j + 2
            continue
        return j + 1
    return n


def field_spans(record: str, delimiter: str) -> list[tuple[int, int]]:
    """(start, end) of each field of one record, as the csv module splits it."""
    spans: list[tuple[int, int]] = []
    i, n = 0, len(record)
    while True:
        start = i
        if i < n and record[i] == '"':
            i = _after_quoted(record, i + 1)
        j = record.find(delimiter, i)
        if j < 0:
            spans.append((start, n))
            return spans
        spans.append((start, j))
        i = j + 1


def splice_csv(original: bytes, source: Source, rows: Mapping[int, Mapping[str, str]], appended: dict[str, int]) -> bytes:
    """The file's bytes with our cells set in the edited rows (and our headers appended); nothing else moves."""
    fmt = source.format
    prefix, text = text_of(original, fmt, source.path.name)
    records = split_records(text)
    parsed = parse_rows(text, fmt.delimiter, source.path.name)
    parsed_count = len(parsed)
    if len(records) != parsed_count:  # a stray quote inside an unquoted field (5" disk): split field by field
        records = split_records_exact(text, fmt.delimiter)
    if len(records) != parsed_count:
        raise ReportError(
            f"{source.path.name}: its quoting is irregular ({len(records)} lines vs {parsed_count} records); "
            "save it again from a spreadsheet program, then retry"
        )
    start, body_end, _end = records[source.header_row - 1]
    spans = field_spans(text[start:body_end], fmt.delimiter)
    quote_all = bool(spans) and all(text[start + a : start + b].startswith('"') for a, b in spans)

    def encode(value: str) -> str:  # a file that quotes every field gets quoted cells from us too
        return ('"' + value.replace('"', '""') + '"') if quote_all else _encode_field(value, fmt.delimiter)

    changes: dict[int, dict[int, str]] = {}
    for row, fields in rows.items():
        for field, value in fields.items():
            index = appended.get(field, getattr(source.columns, field))
            changes.setdefault(row - 1, {})[index] = encode(neutralize(value))
    if appended:  # the header names our columns, and so does every header line repeated below it
        found = {field: at for field, at in vars(source.columns).items() if at is not None}
        repeats = repeated_headers(parsed[source.header_row :], found, 0, source.path.name)
        for number in [source.header_row - 1] + [source.header_row + i for i in repeats]:
            header = changes.setdefault(number, {})
            for field, index in appended.items():
                header[index] = encode(NEW_HEADERS[field])
    pieces: list[str] = []
    cursor = 0
    for number in sorted(changes):
        if number >= len(records):
            raise ReportError(f"{source.path.name} has no row {number + 1}")
        start, body_end, _end = records[number]
        pieces.append(text[cursor:start])
        pieces.append(_set_fields(text[start:body_end], changes[number], fmt.delimiter))
        cursor = body_end
    pieces.append(text[cursor:])
    return encode_csv(prefix, "".join(pieces), fmt, source.path.name)


def _set_fields(record: str, values: dict[int, str], delimiter: str) -> str:
    spans = field_spans(record, delimiter) if record else []
    cells = [record[a:b] for a, b in spans]
    for index, encoded in values.items():
        if index >= len(cells):
            cells.extend([""] * (index + 1 - len(cells)))
        cells[index] = encoded
    return delimiter.join(cells)
