"""Journal checkpoints: the state of every changed row in one compact line, so a reopen replays a short tail.

Why: a journal of 100,000 single-key steps never saved took 2.7-3x the plain
open and 4x its memory to replay, a line and a dict per step. A checkpoint
(format in journal.py) holds each changed row once, in columns; recovery
starts there and replays only the steps after it. Nothing before it is ever
removed (the journal is append-only and stays the audit trail), so a kill
while a checkpoint is written loses nothing: its torn line is skipped and the
steps before it replay as they always did.
"""

from __future__ import annotations

import hashlib
import os
from operator import attrgetter
from collections.abc import Mapping, Sequence
from pathlib import Path

from phi_review.core.report.model import EDITABLE_FIELDS, Finding
from phi_review.core.review.journal import (
    CHECKPOINT_KIND,
    CHECKPOINT_MARK,
    CHECKPOINT_VERSION,
    Values,
    _written,
    clean_values,
    read_data,
)

TAIL_FROM = 1 << 20  # a journal smaller than this is read whole; a bigger one from its last checkpoint
_CHUNK = 1 << 22


def _columns(keys: Sequence[tuple[str, ...]]) -> dict:
    """Values of many rows (a tuple of EDITABLE_FIELDS each) as a table of the distinct ones and an index per
    row: rows share actions. In C-level passes: 100,000 rows in milliseconds, on the keypress that writes it."""
    index = {key: number for number, key in enumerate(dict.fromkeys(keys))}
    return {"table": [_written(dict(zip(EDITABLE_FIELDS, key))) for key in index],
            "of": list(map(index.__getitem__, keys))}


def _keys_of(values: Sequence[Mapping[str, str]]) -> list[tuple[str, ...]]:
    """Each values dict as a tuple of EDITABLE_FIELDS, made once per distinct dict (baselines are shared)."""
    distinct = {id(v): v for v in values}
    keys = {number: tuple(v.get(name, "") for name in EDITABLE_FIELDS) for number, v in distinct.items()}
    return list(map(keys.__getitem__, map(id, values)))


_CELLS = (attrgetter("source"), attrgetter("file"), attrgetter("issue"), attrgetter("value"), attrgetter("tag"))
_ROW_OF = attrgetter("row")
_NOW = attrgetter(*EDITABLE_FIELDS)
_DIGEST_CHUNK = 8192  # rows hashed at a time: the text of 100,000 rows is never built whole


def cells_digest(findings: Sequence[Finding]) -> str:
    """One digest of the cells that say which row each finding is (source, row, file, issue, value, tag).

    Why one: a checkpoint names 100,000 rows; a file name and a key per row
    would cost the memory the checkpoint saves. If the report was re-sorted or
    edited since, the digest differs and recovery replays the steps instead.
    Built in C-level passes, a chunk of rows at a time.
    """
    digest = hashlib.sha256()
    source, file, issue, value, tag = _CELLS
    for at in range(0, len(findings), _DIGEST_CHUNK):
        part = findings[at: at + _DIGEST_CHUNK]
        rows = zip(map(source, part), map(str, map(_ROW_OF, part)), map(file, part), map(issue, part),
                   map(value, part), map(tag, part))
        text = "\x01".join(map("\x00".join, rows))
        digest.update(("\x01" + text if at else text).encode("utf-8", "surrogatepass"))  # rows joined by \x01
    return digest.hexdigest()


def checkpoint_line(seq: int, findings: Sequence[Finding], old: Sequence[Mapping[str, str]], sheet: str,
                    sha256: str, size: int, reviewer: str, now: str, carry: Sequence[int] = ()) -> dict:
    """The checkpoint line (format in journal.py) of ``findings`` (the changed rows, in order, as they are
    now), from ``old`` (the report's values); ``kind`` first, so CHECKPOINT_MARK finds it."""
    line: dict[str, object] = {"kind": CHECKPOINT_KIND, "seq": seq, "sheet": sheet, "sha256": sha256, "size": size,
                               "reviewer": reviewer, "time": now, "v": CHECKPOINT_VERSION, "carry": list(carry),
                               "count": len(findings), "rows": list(map(_ROW_OF, findings))}
    if any(map(_CELLS[0], findings)):
        line["sources"] = list(map(_CELLS[0], findings))
    line["cells"] = cells_digest(findings)
    line["old"] = _columns(_keys_of(old))
    line["new"] = _columns(list(map(_NOW, findings)))
    return line


def checkpoint_values(column: object, count: int) -> list[Values] | None:
    """A checkpoint's ``old`` or ``new`` column as one values dict per row (shared), or None when damaged."""
    if column.__class__ is not dict:
        return None
    table, of = column.get("table"), column.get("of")  # type: ignore[union-attr]
    if table.__class__ is not list or of.__class__ is not list or len(of) != count:
        return None
    values = [clean_values(entry) for entry in table]
    if any(v is None for v in values) or set(map(type, of)) - {int}:
        return None
    if of and (min(of) < 0 or max(of) >= len(values)):
        return None
    return list(map(values.__getitem__, of))  # type: ignore[arg-type]


def is_checkpoint_line(line: bytes) -> bool:
    return line.startswith(CHECKPOINT_MARK)


def read_tail(path: Path) -> tuple[bytes, int]:
    """The journal's bytes from the start of its last checkpoint line (and that offset), or all of it (0).

    Why: only the tail is replayed; reading the 30 MB of steps before it would
    cost the memory the checkpoint saves. The caller reads it all after all
    when the checkpoint turns out damaged, of another sheet, or carries seqs.
    """
    try:
        size = os.stat(path).st_size
    except FileNotFoundError:
        return b"", 0
    except OSError:
        return read_data(path), 0  # says why in one line
    if size < TAIL_FROM:
        return read_data(path), 0
    mark = b"\n" + CHECKPOINT_MARK
    try:
        with open(path, "rb") as handle:
            end = size
            while end > 0:
                start = max(0, end - _CHUNK)
                handle.seek(start)
                chunk = handle.read(end - start + len(mark))  # overlap: a mark across two chunks is found
                at = chunk.rfind(mark)
                if at >= 0:
                    offset = start + at + 1
                    handle.seek(offset)
                    return handle.read(), offset
                end = start
    except OSError:
        return read_data(path), 0
    return read_data(path), 0


class CheckpointStale(Exception):
    """The report's rows are not those the checkpoint names any more: replay the steps instead."""


def place_checkpoint(placer: object, record: dict) -> None:
    """Place a checkpoint's rows as one step (recovery's _Placer), each on the finding of its row.

    Every row must still be where it was, with the same cells (one digest):
    else CheckpointStale, and recovery replays the journal's steps, all still there.
    """
    plan, placed, findings = placer.plan, placer.placed, placer.findings  # type: ignore[attr-defined]
    count, rows = record.get("count"), record.get("rows")
    sources = record.get("sources", None)
    old = checkpoint_values(record.get("old"), count) if count.__class__ is int else None
    new = checkpoint_values(record.get("new"), count) if count.__class__ is int else None
    if (rows.__class__ is not list or len(rows) != count or old is None or new is None
            or (sources is not None and (sources.__class__ is not list or len(sources) != count))):
        plan.damaged += 1
        raise CheckpointStale("damaged")
    if set(map(type, rows)) - {int}:
        raise CheckpointStale("damaged")
    if sources is None:
        first = placer.first_row  # type: ignore[attr-defined]
        indexes = [number - first for number in rows]
        if indexes and (min(indexes) < 0 or max(indexes) >= len(findings)):
            raise CheckpointStale("rows")
    else:
        by_row = {(f.source, f.row): index for index, f in enumerate(findings)}
        found = [by_row.get((str(source), number)) for source, number in zip(sources, rows)]
        if None in found:
            raise CheckpointStale("rows")
        indexes = found  # type: ignore[assignment]
    shown = list(map(findings.__getitem__, indexes))
    if [f.row for f in shown] != rows or cells_digest(shown) != record.get("cells"):
        raise CheckpointStale("cells")
    start = len(placed.index)
    placed.index.extend(indexes)
    placed.old.extend(old)
    placed.new.extend(new)
    placed.groups.append((CHECKPOINT_KIND, record.get("seq", -1), None, start, len(placed.index)))
