"""Carry decisions an earlier phi-review saved INTO a validator CSV over to its hidden reviewed copy.

Earlier versions appended Action, Reviewer, Reviewed At, Comments to the
validator's ``SiteA.csv`` itself and kept the untouched file as ``SiteA.orig.csv``
beside it. ``summarize-validation-reports DIR`` then stopped on the folder (too
many fields in ``SiteA.csv``) or read every row twice (the ``.orig.csv`` is a
``*.csv`` too). On the first save of such a file (under the report's lock):

1. the decorated bytes, with this save's decisions, become ``.SiteA.csv.reviewed``
   (+ digests), exactly the reviewed copy a fresh file would get;
2. ``SiteA.csv`` gets the validator's own bytes back: the old backup's when its
   rows are the decorated file's rows apart from our columns, else the decorated
   file with our fields cut off each record (the validator writes exactly 6 or 7
   fields a record);
3. ``SiteA.orig.csv`` moves to ``.SiteA.csv.orig`` (hidden, no ``.csv`` ending).

Each step is atomic and the decisions are durable before the validator's file
changes: a save killed half way is finished by the next one. Nothing is
carried over unless the restored bytes are proven to hold the same rows.
"""

from __future__ import annotations

import os
from pathlib import Path

from phi_review.core.common.atomic_file import replace_atomically
from phi_review.core.common.errors import ReportError
from phi_review.core.common.inert import inert
from phi_review.core.report.csv_backup import backup_path, legacy_backup_path
from phi_review.core.report.csv_encoding import decode_csv, encode_csv, split_prefix
from phi_review.core.report.csv_reviewed import (ReviewedCopy, _read_copy, fingerprint_of,
                                                 head_in_validator_layout, meta_path, reviewed_path, rows_match,
                                                 write_reviewed)
from phi_review.core.report.model import Source
from phi_review.core.report.validator import csv_layout

KEPT_TAIL = ".kept"  # an old backup whose hidden name is taken by a different file: ``.SiteA.orig.csv.kept``


def validator_width(headers: list[str]) -> int | None:
    """7 or 6 when ``headers`` are the validator's columns followed only by ours; else None."""
    from phi_review.core.report.new_columns import NEW_HEADERS

    ours = set(NEW_HEADERS.values()) | {""}
    for width in (7, 6):
        if len(headers) > width and csv_layout(headers[:width]) != "unknown" and set(headers[width:]) <= ours:
            return width
    return None


def strip_our_columns(data: bytes, name: str, width: int) -> bytes:
    """``data`` with every record cut after its ``width``-th field (line endings, quoting, encoding kept)."""
    from phi_review.core.report.csv_report import field_spans, sniff_delimiter, split_records_exact

    prefix, _codec = split_prefix(data, name)
    text, fmt = decode_csv(data, name)
    delimiter = sniff_delimiter(text)
    pieces: list[str] = []
    for start, body_end, end in split_records_exact(text, delimiter):
        record = text[start:body_end]
        spans = field_spans(record, delimiter)
        if len(spans) > width:
            record = record[: spans[width - 1][1]]
        pieces.append(record + text[body_end:end])
    return encode_csv(prefix, "".join(pieces), fmt, name)


def _validator_bytes(path: Path, decorated: bytes, width: int) -> tuple[bytes, str] | None:
    """(the validator's own bytes, where they came from) proven to hold ``decorated``'s rows; None if none is."""
    for kept in (legacy_backup_path(path), backup_path(path)):
        try:
            if kept.is_symlink() or not kept.is_file():
                continue
            data = kept.read_bytes()
        except OSError:
            continue
        if head_in_validator_layout(data, path.name) and rows_match(data, decorated, path.name):
            return data, kept.name
    data = strip_our_columns(decorated, path.name, width)
    if head_in_validator_layout(data, path.name) and rows_match(data, decorated, path.name):
        return data, "its own rows without our columns"
    return None


def carry_over(source: Source, decorated: bytes) -> tuple[ReviewedCopy, list[str]] | None:
    """Move ``decorated`` (this save's bytes of a validator CSV an earlier version decorated) to the reviewed
    copy and put the validator's file back; None (nothing done) when it is not such a file.

    Returns the copy (the source's new ``reviewed``) and the lines to tell the user.
    """
    path = source.path
    width = validator_width(source.headers)
    if width is None or path.is_symlink():
        return None
    found = _validator_bytes(path, decorated, width)
    if found is None:
        return None
    original, origin = found
    copy_path = reviewed_path(path)
    existing = _read_copy(copy_path, path.name)
    if existing is not None and not rows_match(original, existing, path.name):
        raise ReportError(
            f"{inert(path.name)} holds decisions an earlier phi-review saved into it, and {inert(copy_path.name)} "
            "beside it holds other rows; not saved (your decisions are kept in the journal): move "
            f"{inert(copy_path.name)} away, then save again")
    copy = ReviewedCopy(copy_path, meta_path(path), fingerprint_of(original, path), exists=existing is not None)
    said = [w for w in write_reviewed(copy, path, decorated) if "group" in w]  # 1: the decisions are safe
    if path.read_bytes() != original:  # 2: the validator's file back (kept permission bits)
        warning = replace_atomically(path, lambda handle: handle.write(original), like=path)
        said.extend([warning] if warning and "group" in warning else [])
    copy.original = fingerprint_of(original, path)
    moved = _hide_old_backup(path)  # 3
    line = (f"{path.name}: the decisions an earlier phi-review saved into it are now in {copy_path.name}, and "
            f"{path.name} is the validator's file again (from {origin})")
    if moved:
        line += f"; {moved}"
    said.append(line + "; summarize-validation-reports reads this folder again")
    return copy, said


def _hide_old_backup(path: Path) -> str:
    """Move ``SiteA.orig.csv`` out of every ``*.csv`` glob; never delete a file that is not a duplicate."""
    legacy = legacy_backup_path(path)
    if legacy.is_symlink() or not legacy.is_file():
        return ""
    hidden = backup_path(path)
    if not os.path.lexists(hidden):
        os.rename(legacy, hidden)
        return f"{legacy.name} moved to {hidden.name}"
    if hidden.is_file() and not hidden.is_symlink() and hidden.read_bytes() == legacy.read_bytes():
        os.unlink(legacy)  # the very same bytes are already kept under the hidden name
        return f"{legacy.name} removed ({hidden.name} holds the same bytes)"
    kept = legacy.with_name(f".{legacy.name}{KEPT_TAIL}")
    if os.path.lexists(kept):
        return f"{legacy.name} left where it is ({hidden.name} and {kept.name} exist): move it out of the folder"
    os.rename(legacy, kept)
    return f"{legacy.name} moved to {kept.name}"
