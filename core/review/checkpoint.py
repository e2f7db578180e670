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

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

from phi_review.core.report.model import EDITABLE_FIELDS
from phi_review.core.review.journal import (
    CHECKPOINT_KIND,
    CHECKPOINT_MARK,
    CHECKPOINT_VERSION,
    Values,
    _written,
    clean_values,
    read_data,
)

CheckpointRow = tuple[int, str, str, str, Mapping[str, str], Mapping[str, str]]  # row, file, key, source, old, new
TAIL_FROM = 1 << 20  # a journal smaller than this is read whole; a bigger one from its last checkpoint
_CHUNK = 1 << 22


def _columns(values: Sequence[Mapping[str, str]]) -> dict:
    """Values of many rows as a table of the distinct ones and an index per row (rows share actions)."""
    table: dict[tuple[str, ...], int] = {}
    of = [table.setdefault(tuple(v.get(name, "") for name in EDITABLE_FIELDS), len(table)) for v in values]
    return {"table": [_written(dict(zip(EDITABLE_FIELDS, key))) for key in table], "of": of}


def checkpoint_line(seq: int, rows: Sequence[CheckpointRow], sheet: str, sha256: str, size: int, reviewer: str,
                    now: str, carry: Sequence[int] = ()) -> dict:
    """The checkpoint line (format in journal.py); ``kind`` first, so CHECKPOINT_MARK finds it."""
    line: dict[str, object] = {"kind": CHECKPOINT_KIND, "seq": seq, "sheet": sheet, "sha256": sha256, "size": size,
                               "reviewer": reviewer, "time": now, "v": CHECKPOINT_VERSION, "carry": list(carry),
                               "count": len(rows), "rows": [r[0] for r in rows], "files": [r[1] for r in rows],
                               "keys": [r[2] for r in rows]}
    if any(r[3] for r in rows):
        line["sources"] = [r[3] for r in rows]
    line["old"] = _columns([r[4] for r in rows])
    line["new"] = _columns([r[5] for r in rows])
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


def checkpoint_columns(record: dict) -> tuple[list, list, list, list, list[Values], list[Values]] | None:
    """rows, files, keys, sources, old, new of a checkpoint record, each one entry per row; None when damaged."""
    count = record.get("count")
    rows, files, keys = record.get("rows"), record.get("files"), record.get("keys")
    if count.__class__ is not int or not all(x.__class__ is list and len(x) == count for x in (rows, files, keys)):
        return None
    sources = record.get("sources", [""] * count)
    if sources.__class__ is not list or len(sources) != count:
        return None
    old, new = checkpoint_values(record.get("old"), count), checkpoint_values(record.get("new"), count)
    if old is None or new is None:
        return None
    return rows, files, keys, sources, old, new  # type: ignore[return-value]


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


def place_checkpoint(placer: object, record: dict) -> None:
    """Place a checkpoint's rows as one step (recovery's _Placer): in C-level passes when every row is still
    where it was (same row, same file, a one-file report, no name on two rows), else row by row."""
    plan, placed, findings = placer.plan, placer.placed, placer.findings  # type: ignore[attr-defined]
    columns = checkpoint_columns(record)
    if columns is None:
        plan.damaged += 1
        return
    rows, files, keys, sources, old, new = columns
    start = len(placed.index)
    first = placer.first_row  # type: ignore[attr-defined]
    plain = bool(rows) and set(map(type, rows)) == {int} and not any(sources)
    if plain:
        guesses = [number - first for number in rows]
        plain = min(guesses) >= 0 and max(guesses) < len(findings)
    if plain:
        found = list(map(findings.__getitem__, guesses))
        plain = ([f.row for f in found] == rows and [f.file for f in found] == files
                 and not any(f.source for f in found) and placer.shared_names().isdisjoint(files))  # type: ignore[attr-defined]
    if plain:
        placed.index.extend(guesses)
        placed.old.extend(old)
        placed.new.extend(new)
    else:
        seq = record.get("seq")
        for row, file, key, source, before, after in zip(rows, files, keys, sources, old, new):
            index = placer.place(str(source or ""), row, file, key)  # type: ignore[attr-defined]
            if index is None:
                plan.unplaced.append((str(file or ""), "its row is not in the report any more"))
                if isinstance(seq, int) and seq not in plan.carry:
                    plan.carry.append(seq)  # the next save carries the checkpoint, so its row is sought again
                continue
            if findings[index].row != row:
                plan.moved += 1
            placed.index.append(index)
            placed.old.append(before)
            placed.new.append(after)
    placed.groups.append((CHECKPOINT_KIND, record.get("seq", -1), None, start, len(placed.index)))
