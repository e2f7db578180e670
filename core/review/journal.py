"""The decision journal: every change durable before it is acknowledged, and the audit trail.

Where it lives: beside the report, as ``.<report-name>.phi-review.jsonl`` (for
``study.xlsx``: ``.study.xlsx.phi-review.jsonl``), with the report's permission
bits, because it holds the same kind of data (file names, notes). One journal
per report; it is only ever appended to, never truncated or rewritten, so it
doubles as the audit record of who decided what and when.

Format: one JSON object per line (compact separators, ASCII-escaped). A step
(one decision on one or many rows) is one line: what its rows share once, then
one entry per row::

    {"kind":"decide","step":7,"n":2,"sheet":"Findings","reviewer":"jdoe",
     "time":"2025-01-02T03:04:05Z","v":2,
     "new":{"action":"No Issue / False Positive","note":"","reviewer":"jdoe",
            "reviewed_at":"2025-01-02T03:04:05Z","corrected_copy":""},
     "rows":[{"row":12,"file":"a/b.dcm","key":"0123456789abcdef","old":{}},
             {"row":13,"file":"a/c.dcm","key":"fedcba9876543210",
              "old":{"action":"","note":"seen","reviewer":"","reviewed_at":"","corrected_copy":""},
              "new":{"note":"seen"}}]}

A step's rows take the seqs ``step`` .. ``step + n - 1`` in order. A values object
lists every editable field (the second pass's only when not blank), or is ``{}``; a row's
``new`` names only the fields where it differs from the step's ``new``. Rows
may carry ``source`` (the CSV file of a several-file report) and ``path`` (the
DICOM file the reviewer was shown). Journals written before version 2 hold one
line per row (``seq``, ``row``, ``file``, ``old``, ``new`` ... in each);
readers take both, in any mix, and ``read_records`` hands out that per-row form.

``kind`` is ``decide``, ``note`` or ``second`` (a change; ``second`` is the
second pass: it sets ``second_review``/``second_reviewer``/``second_reviewed_at``,
which values objects name only when not blank, so journals without a second
pass read as before; it may carry ``same_reviewer_reason``), ``undo``/``redo`` (with
``target``: the step they undo or redo; old/new as applied), ``copy`` (a
corrected copy written), or ``saved`` (``seq``, ``sha256``/``size`` of the
report just written, ``rows`` saved, ``carry``: seqs not yet in it). ``sheet``
is the workbook sheet the rows belong to ("" for CSV). A step goes out in one
``write`` followed by ``fsync``; only then does the call return, which is what
lets the screen say "decided".

``checkpoint`` (version 3) is every row that then differed from the report on
disk (``sha256``/``size``), in columns: ``rows`` (and ``sources`` for several
CSVs), ``cells`` (one digest of those rows' source, row, file, issue, value and
tag: the rows are where they were), and ``old``/``new`` as ``{"table": [values...],
"of": [an index into table per row]}``; ``count``; ``carry`` as a save's. It is
the step that takes the report as it was then to the state it recorded; it is
written after ``CHECKPOINT_MIN`` journaled rows, and after as many rows as
``1/CHECKPOINT_SHARE`` of the rows it would hold, so a journal of any length
replays a bounded tail. A checkpoint whose rows moved (the digest differs) is
not used: the steps before it are all still there and are replayed instead.
Readers before version 3 skip it (an unknown kind) and replay every line.

Recovery (``core/review/recovery.py``, ``plan_recovery``): replay starts after the last ``saved`` record of
the same sheet whose fingerprint matches the report on disk, else at the last
checkpoint after every save (the checkpoint itself replayed as a step), else
after the last ``saved`` of that sheet, else at the beginning. Each row's records then
form a chain of states: replay resumes after the last state the file already
holds and applies each record whose old value the row still has; a record that
does not fit is a conflict (the row changed outside phi-review), reported and
skipped. A torn last line (``kill -9`` during a write) is ignored: that step
was never acknowledged.
"""

from __future__ import annotations

import json
import os
import stat
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import NamedTuple
from pathlib import Path

from phi_review.core.common.errors import ReportError
from phi_review.core.report.model import EDITABLE_FIELDS, SECOND_FIELDS
from phi_review.core.review.journal_values import BLANK, Values, full_values, per_row, second_of, values_of  # noqa: F401

JOURNAL_VERSION = 2  # 2: one line per step (1: one line per row; still read)
CHECKPOINT_VERSION = 3  # a checkpoint line (3) beside version-2 steps
CHECKPOINT_KIND = "checkpoint"
CHECKPOINT_MARK = b'{"kind":"checkpoint",'  # how a checkpoint line starts (kind is written first)
CHECKPOINT_MIN = 2000  # journaled rows since the last checkpoint or save before a checkpoint is worth it
CHECKPOINT_SHARE = 16  # ... and at least this share of the rows it would hold (bounds the tail replayed line by line)
CHANGE_KINDS = ("decide", "note", "second")
STEP_KINDS = ("decide", "note", "undo", "redo", "copy", "second")
# Fields whose old value must match for a record to be replayed: the reviewer's
# decision itself. Who/when are carried along but never block recovery.
MATCH_FIELDS = ("action", "note", "second_review")
_SAVED_MARK = b'"saved"'  # cheap prefilter; the parse decides


def journal_path(report_path: Path) -> Path:
    """Where the journal for ``report_path`` lives (hidden, beside the report)."""
    report_path = Path(report_path)
    return report_path.with_name(f".{report_path.name}.phi-review.jsonl")


def utc_now() -> str:
    """UTC time as ISO 8601 to the second, e.g. ``2025-01-02T03:04:05Z``."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


# One encoder for all records (json.dumps with options builds one per call). ASCII
# output round-trips any string exactly, lone surrogates included, and keeps
# control characters in names escaped when someone views the journal.
_encode = json.JSONEncoder(ensure_ascii=True, separators=(",", ":")).encode


class Change(NamedTuple):
    """One row's editable fields before and after a step.

    A tuple rather than a frozen dataclass: recovery builds one per journaled
    row (100,000 and more) and a tuple is several times cheaper to make.
    """

    index: int  # into the session's findings
    row: int
    file: str
    old: Mapping[str, str]
    new: Mapping[str, str]
    pending: bool = True  # recovery only: False when the report already holds ``new``
    source: str = ""  # the CSV file the row is in, when the report is several ("" otherwise)
    path: str = ""  # the DICOM file the reviewer was shown for the row (audit), "" when unknown


class Step(NamedTuple):
    """One undoable unit: a decision on one or many rows, or a note (a tuple, like Change: one per keypress)."""

    kind: str
    step: int
    changes: list[Change]
    target: int | None = None


def read_lines(path: Path) -> list[bytes]:
    """The complete lines of the journal; a torn last line (no newline) is dropped."""
    return split_lines(read_data(path))


def read_data(path: Path) -> bytes:
    """The journal's bytes (b"" when there is none yet)."""
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except FileNotFoundError:
        return b""
    except OSError as error:
        raise ReportError(f"cannot read the journal {path.name} ({error.strerror})") from None


def split_lines(data: bytes) -> list[bytes]:
    """The complete, non-blank lines of journal bytes; a torn last line (no newline) is dropped."""
    lines = data.split(b"\n")
    lines.pop()  # either b"" after the final newline, or a torn, unacknowledged record
    return [line for line in lines if line and not line.isspace()]  # isspace stops at a record's "{": no copy


_decode = json.JSONDecoder().decode
try:  # orjson parses a 100,000-record journal about 4x faster; json stays the reference
    from orjson import loads as _fast_decode
except ImportError:  # pragma: no cover - orjson is a dependency; keep working without it
    _fast_decode = None


def _parse(line: bytes) -> dict | None:
    try:
        if _fast_decode is None:
            raise ValueError
        record = _fast_decode(line)
    except ValueError:
        # json takes what orjson refuses on purpose (an escaped lone surrogate in a typed note).
        try:
            # Records are ASCII (ensure_ascii): decoding here skips json.loads' encoding detection per line.
            record = _decode(line.decode("utf-8"))
        except (ValueError, UnicodeDecodeError, RecursionError):  # 200,000 nested brackets are a damaged line too
            return None
    return record if isinstance(record, dict) and isinstance(record.get("kind"), str) else None


def read_records(path: Path) -> tuple[list[dict], int]:
    """Every valid record in order, one per row (step lines are expanded), and how many lines were damaged."""
    records: list[dict] = []
    damaged = 0
    for line in read_lines(path):
        record = _parse(line)
        if record is None:
            damaged += 1
        elif is_step_line(record):
            rows = expand_step(record)
            if rows is None:
                damaged += 1
            else:
                records.extend(rows)
        else:
            records.append(record)
    return records, damaged


_FIELD_KEYS = frozenset(EDITABLE_FIELDS)
_FIRST_KEYS = frozenset(name for name in EDITABLE_FIELDS if name not in SECOND_FIELDS)  # no second pass yet


def is_step_line(record: dict) -> bool:
    """A version-2 line: one step, its rows in ``rows`` (a "saved" line's ``rows`` are row numbers)."""
    return record.get("rows").__class__ is list and record["kind"] in STEP_KINDS


def clean_values(raw: object, base: Mapping[str, str] = BLANK) -> Values | None:
    """Editable values from a journal object (None: not an object): absent fields come from ``base``.

    The usual object (all five fields, all text) is returned as it was parsed,
    and ``{}`` as ``base`` itself, so replaying 100,000 rows builds no dicts.
    """
    if raw.__class__ is not dict:
        return None
    if not raw:
        return base  # type: ignore[return-value]
    keys = raw.keys()  # type: ignore[attr-defined]
    # Without the second-pass fields a values object means them blank (unless ``base`` says otherwise):
    # readers take a missing one as "" (``second_of``).
    if keys == _FIELD_KEYS or (keys == _FIRST_KEYS and (base is BLANK or not any(map(base.get, SECOND_FIELDS)))):
        try:
            "".join(raw.values())  # type: ignore[attr-defined]  # raises unless every value is text: C speed
            return raw  # type: ignore[return-value]
        except TypeError:
            pass
    get = raw.get  # type: ignore[attr-defined]
    values = {}
    for name in EDITABLE_FIELDS:
        value = get(name, base.get(name, ""))
        values[name] = value if value.__class__ is str else str(value or "")
    return values


def expand_step(record: dict) -> list[dict] | None:
    """A step line as the per-row records of version 1 (None: damaged)."""
    step, rows, shared = record.get("step"), record["rows"], clean_values(record.get("new", {}))
    if not isinstance(step, int) or record.get("n", len(rows)) != len(rows) or shared is None:
        return None
    common = {name: record[name] for name in ("kind", "sheet", "reviewer", "time", "v", "target") if name in record}
    out = []
    for offset, row in enumerate(rows):
        if row.__class__ is not dict:
            return None
        old, new = clean_values(row.get("old", {})), clean_values(row.get("new", {}), shared)
        if old is None or new is None:
            return None
        out.append({**common, **{k: v for k, v in row.items() if k not in ("old", "new")},
                    "seq": step + offset, "step": step, "n": len(rows), "old": per_row(old), "new": per_row(new)})
    return out


def _written(values: Mapping[str, str]) -> dict[str, str]:
    """Values as a step line holds them: every field, or ``{}`` when all are blank. The second-pass fields
    are written only when not blank, so a journal without a second pass reads as it always did."""
    full = {name: values.get(name, "") for name in EDITABLE_FIELDS}
    for name in SECOND_FIELDS:
        if not full[name]:
            del full[name]
    return full if any(full.values()) else {}


def step_line(kind: str, step: int, changes: Sequence[Change], sheet: str, reviewer: str, now: str,
              target: int | None = None, keys: Sequence[str] | None = None,
              extra: Mapping[str, object] | None = None) -> dict:
    """The one line of a step (format in the module docstring); ``extra``: audit fields of the step."""
    first = changes[0].new
    shared = {name: first.get(name, "") for name in EDITABLE_FIELDS}
    for change in changes[1:]:
        for name, value in shared.items():
            if value and change.new.get(name, "") != value:
                shared[name] = ""  # not the same on every row: each row whose value is not blank says it
    rows = []
    for offset, change in enumerate(changes):
        entry: dict[str, object] = {"row": change.row, "file": change.file}
        if keys is not None:
            entry["key"] = keys[offset]  # finds the row again if the report is re-sorted
        if change.source:
            entry["source"] = change.source
        if change.path:
            entry["path"] = change.path
        entry["old"] = _written(change.old)
        own = {name: value for name in EDITABLE_FIELDS if (value := change.new.get(name, "")) != shared[name]}
        if own:
            entry["new"] = own
        rows.append(entry)
    line: dict[str, object] = {"kind": kind, "step": step, "n": len(changes), "sheet": sheet,
                               "reviewer": reviewer, "time": now, "v": JOURNAL_VERSION}
    if target is not None:
        line["target"] = target
    if extra:
        line.update({name: value for name, value in extra.items() if name not in line})
    line["new"] = _written(shared)
    line["rows"] = rows
    return line


def last_seq_of(record: dict) -> int | None:
    """The highest seq a record holds: its ``seq``, or a step line's last row's."""
    seq = record.get("seq")
    if isinstance(seq, int):
        return seq
    if is_step_line(record) and isinstance(record.get("step"), int) and record["rows"]:
        return record["step"] + len(record["rows"]) - 1
    return None


class Journal:
    """The append-only journal of one report, open for writing (the session holds the lock)."""

    def __init__(self, path: Path, fd: int, next_seq: int, sheet: str = "") -> None:
        self.path = path
        self.sheet = sheet  # every record names the sheet its rows belong to
        self._fd: int | None = fd
        self._next_seq = next_seq
        self.rows_since_checkpoint = 0  # rows journaled since the last checkpoint or save (recovery sets it)

    @classmethod
    def open(cls, report_path: Path, sheet: str = "") -> "Journal":
        """Open (or create) the journal beside ``report_path`` for appending.

        A torn last line left by a kill gets a newline after it, so the next
        record starts on its own line; the fragment stays (never truncate) and
        is skipped by readers.
        """
        path = journal_path(report_path)
        mode = 0o600  # it holds notes and decisions: private, whatever the report's bits (every entry point)
        existed = path.exists()
        flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW | os.O_NONBLOCK  # FIFO: no hang
        try:
            fd = os.open(path, flags, mode)
        except OSError as error:
            raise ReportError(f"cannot open the journal {path.name} ({error.strerror})") from None
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode) or st.st_nlink != 1 or st.st_uid != os.geteuid():
                # a planted hard link or another user's file: never append to it (closed below)
                raise ReportError(f"the journal {path.name} is not a regular file of yours; not writing to it")
            if st.st_mode & 0o077:
                os.fchmod(fd, mode)  # an older journal made readable like the report: private now
            if not existed:
                _fsync_dir(path.parent)
            size = os.fstat(fd).st_size
            next_seq = 1
            if size:
                with open(path, "rb") as handle:
                    handle.seek(size - 1)
                    torn = handle.read(1) != b"\n"
                if torn:
                    _write_all(fd, b"\n")
                    os.fsync(fd)
                next_seq = _last_seq(path) + 1
        except OSError as error:
            os.close(fd)
            raise ReportError(f"cannot prepare the journal {path.name} ({error.strerror})") from None
        except BaseException:
            os.close(fd)
            raise
        return cls(path, fd, next_seq, sheet)

    @property
    def next_seq(self) -> int:
        """The seq the next record gets: a save started now holds every record before it."""
        return self._next_seq

    @property
    def closed(self) -> bool:
        return self._fd is None

    def _append(self, records: Iterable[dict]) -> None:
        if self._fd is None:
            raise ReportError("the journal is closed")
        data = "".join([_encode(record) + "\n" for record in records]).encode("ascii")
        size = os.fstat(self._fd).st_size
        try:
            _write_all(self._fd, data)
            os.fsync(self._fd)
        except OSError as error:
            try:  # a full disk may have taken part of the step: take it back, so no half step remains
                os.ftruncate(self._fd, size)
            except OSError:
                pass
            raise ReportError(
                f"cannot write the journal {self.path.name} ({error.strerror}); the change was not recorded"
            ) from None

    def append_step(
        self,
        kind: str,
        changes: Sequence[Change],
        reviewer: str,
        target: int | None = None,
        keys: Sequence[str] | None = None,
        extra: Mapping[str, object] | None = None,
    ) -> int:
        """Write one step (all its rows, one line) and fsync it; returns its step id.

        Raises ReportError when the disk refuses: the caller must then not
        apply the change, because it was not made durable.
        """
        if kind not in STEP_KINDS:
            raise ValueError(f"unknown journal kind {kind!r}")
        step = self._next_seq
        if not changes:
            return step
        self._append([step_line(kind, step, changes, self.sheet, reviewer, utc_now(), target, keys, extra)])
        self._next_seq = step + len(changes)  # each row keeps a seq of its own (carried when unplaced)
        self.rows_since_checkpoint += len(changes)
        return step

    def append_checkpoint(self, findings: Sequence[Finding], old: Sequence[Mapping[str, str]], sha256: str,
                          size: int, reviewer: str, carry: Sequence[int] = ()) -> None:
        """Write the state every changed row (``findings``) is in now against the report on disk
        (``sha256``, holding ``old``). One line, one fsync, appended after the steps it sums up: a kill
        while it is written leaves a torn line that readers skip, and every step before it is still there.
        """
        from phi_review.core.review.checkpoint import checkpoint_line

        self._append([checkpoint_line(self._next_seq, findings, old, self.sheet, sha256, size, reviewer,
                                      utc_now(), carry)])
        self._next_seq += 1
        self.rows_since_checkpoint = 0

    def append_audit(self, record: dict) -> None:
        """An audit-only line (a corrected copy's manifest record: paths, hashes, what was done; no PHI).

        Recovery skips it (its kind is not a step); it is there for whoever reads the trail.
        """
        self._append([{**record, "what": str(record.get("kind", "")), "kind": "remedy", "seq": self._next_seq,
                       "time": utc_now()}])
        self._next_seq += 1

    def append_saved(self, sha256: str, size: int, rows: Sequence[int], reviewer: str,
                     carry: Sequence[int] = ()) -> None:
        """Mark that the report on disk now holds every change before this line, except the ``carry`` seqs."""
        record = {
            "kind": "saved",
            "seq": self._next_seq,
            "sha256": sha256,
            "sheet": self.sheet,
            "size": size,
            "rows": list(rows),
            "carry": list(carry),
            "reviewer": reviewer,
            "time": utc_now(),
            "v": JOURNAL_VERSION,
        }
        self._append([record])
        self._next_seq += 1
        self.rows_since_checkpoint = len(carry)  # the report now holds the rest: the save is a checkpoint too

    def close(self) -> None:
        if self._fd is not None:
            fd, self._fd = self._fd, None
            os.close(fd)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _fsync_dir(folder: Path) -> None:
    """Make a new file's directory entry durable too (a new journal must survive a crash)."""
    try:
        dir_fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    except OSError:
        pass
    finally:
        os.close(dir_fd)


def _last_seq(path: Path) -> int:
    """Highest ``seq`` in the journal; reads only the tail, records being in order."""
    with open(path, "rb") as handle:
        size = handle.seek(0, os.SEEK_END)
        handle.seek(max(0, size - 65536))
        tail = handle.read()
    lines = tail.split(b"\n") if size <= 65536 else tail.split(b"\n")[1:]
    for line in reversed(lines):
        record = _parse(line) if line.strip() else None
        seq = last_seq_of(record) if record is not None else None
        if seq is not None:
            return seq
    if size > 65536:  # one huge record, or a damaged tail: fall back to reading it all
        for line in reversed(read_lines(path)):
            record = _parse(line)
            seq = last_seq_of(record) if record is not None else None
            if seq is not None:
                return seq
    return 0
