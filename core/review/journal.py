"""The decision journal: every change durable before it is acknowledged, and the audit trail.

Where it lives: beside the report, as ``.<report-name>.phi-review.jsonl`` (for
``study.xlsx``: ``.study.xlsx.phi-review.jsonl``), with the report's permission
bits, because it holds the same kind of data (file names, notes). One journal
per report; it is only ever appended to, never truncated or rewritten, so it
doubles as the audit record of who decided what and when.

Format: one JSON object per line (compact separators, ASCII-escaped)::

    {"kind":"decide","seq":7,"step":7,"row":12,"file":"a/b.dcm","sheet":"Findings",
     "old":{"action":"","note":"","reviewer":"","reviewed_at":""},
     "new":{"action":"No Issue / False Positive","note":"","reviewer":"jdoe",
            "reviewed_at":"2025-01-02T03:04:05Z"},
     "reviewer":"jdoe","time":"2025-01-02T03:04:05Z","v":1}

``kind`` is ``decide`` or ``note`` (a change), ``undo``/``redo`` (with
``target``: the step they undo or redo; old/new as applied), or ``saved``
(``sha256``/``size`` of the report just written, ``rows`` saved). ``sheet`` is
the workbook sheet the row belongs to ("" for CSV). All records of one step
(one decision on many rows) go out in one ``write`` followed by ``fsync``; only
then does the call return, which is what lets the screen say "decided".

Recovery (``core/review/recovery.py``, ``plan_recovery``): replay starts after the last ``saved`` record of
the same sheet whose fingerprint matches the report on disk, else after the
last ``saved`` of that sheet, else at the beginning. Each row's records then
form a chain of states: replay resumes after the last state the file already
holds and applies each record whose old value the row still has; a record that
does not fit is a conflict (the row changed outside phi-review), reported and
skipped. A torn last line (``kill -9`` during a write) is ignored: that change
was never acknowledged.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from phi_review.core.common.errors import ReportError
from phi_review.core.report.model import EDITABLE_FIELDS, Finding

JOURNAL_VERSION = 1
CHANGE_KINDS = ("decide", "note")
STEP_KINDS = ("decide", "note", "undo", "redo", "copy")
# Fields whose old value must match for a record to be replayed: the reviewer's
# decision itself. Who/when are carried along but never block recovery.
MATCH_FIELDS = ("action", "note")
_SAVED_MARK = b'"saved"'  # cheap prefilter; the parse decides

Values = dict[str, str]


def journal_path(report_path: Path) -> Path:
    """Where the journal for ``report_path`` lives (hidden, beside the report)."""
    report_path = Path(report_path)
    return report_path.with_name(f".{report_path.name}.phi-review.jsonl")


def utc_now() -> str:
    """UTC time as ISO 8601 to the second, e.g. ``2025-01-02T03:04:05Z``."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def values_of(finding: Finding) -> Values:
    """The editable fields of ``finding`` as a plain dict (keys: EDITABLE_FIELDS)."""
    return {
        "action": finding.action or "",
        "note": finding.note or "",
        "reviewer": finding.reviewer or "",
        "reviewed_at": finding.reviewed_at or "",
        "corrected_copy": finding.corrected_copy or "",
    }


assert tuple(values_of(Finding(row=0, file=""))) == EDITABLE_FIELDS, "values_of must follow EDITABLE_FIELDS"
# One encoder for all records (json.dumps with options builds one per call). ASCII
# output round-trips any string exactly, lone surrogates included, and keeps
# control characters in names escaped when someone views the journal.
_encode = json.JSONEncoder(ensure_ascii=True, separators=(",", ":")).encode


@dataclass(frozen=True)
class Change:
    """One row's editable fields before and after a step."""

    index: int  # into the session's findings
    row: int
    file: str
    old: Mapping[str, str]
    new: Mapping[str, str]
    pending: bool = True  # recovery only: False when the report already holds ``new``
    source: str = ""  # the CSV file the row is in, when the report is several ("" otherwise)
    path: str = ""  # the DICOM file the reviewer was shown for the row (audit), "" when unknown


@dataclass
class Step:
    """One undoable unit: a decision on one or many rows, or a note."""

    kind: str
    step: int
    changes: list[Change]
    target: int | None = None


def read_lines(path: Path) -> list[bytes]:
    """The complete lines of the journal; a torn last line (no newline) is dropped."""
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except FileNotFoundError:
        return []
    except OSError as error:
        raise ReportError(f"cannot read the journal {path.name} ({error.strerror})") from None
    lines = data.split(b"\n")
    lines.pop()  # either b"" after the final newline, or a torn, unacknowledged record
    return [line for line in lines if line.strip()]


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
    """Every valid record in order, and how many lines were damaged."""
    records: list[dict] = []
    damaged = 0
    for line in read_lines(path):
        record = _parse(line)
        if record is None:
            damaged += 1
        else:
            records.append(record)
    return records, damaged


class Journal:
    """The append-only journal of one report, open for writing (the session holds the lock)."""

    def __init__(self, path: Path, fd: int, next_seq: int, sheet: str = "") -> None:
        self.path = path
        self.sheet = sheet  # every record names the sheet its rows belong to
        self._fd: int | None = fd
        self._next_seq = next_seq

    @classmethod
    def open(cls, report_path: Path, sheet: str = "") -> "Journal":
        """Open (or create) the journal beside ``report_path`` for appending.

        A torn last line left by a kill gets a newline after it, so the next
        record starts on its own line; the fragment stays (never truncate) and
        is skipped by readers.
        """
        path = journal_path(report_path)
        try:
            # A folder of CSV reports: the journal holds what those files hold, so it is private.
            mode = 0o600 if os.path.isdir(report_path) else os.stat(report_path).st_mode & 0o666
        except OSError:
            mode = 0o600
        existed = path.exists()
        flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC | getattr(os, "O_NOFOLLOW", 0)
        try:
            fd = os.open(path, flags, mode)
        except OSError as error:
            raise ReportError(f"cannot open the journal {path.name} ({error.strerror})") from None
        try:
            try:
                os.fchmod(fd, mode)  # the umask may have narrowed it; match the report exactly
            except OSError:
                pass  # someone else's file in a shared folder: keep its bits
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
    ) -> int:
        """Write one step (all its rows) and fsync it; returns its step id.

        Raises ReportError when the disk refuses: the caller must then not
        apply the change, because it was not made durable.
        """
        if kind not in STEP_KINDS:
            raise ValueError(f"unknown journal kind {kind!r}")
        step = self._next_seq
        now = utc_now()
        records = []
        for offset, change in enumerate(changes):
            record: dict[str, object] = {
                "kind": kind,
                "seq": step + offset,
                "step": step,
                "n": len(changes),
                "row": change.row,
                "file": change.file,
                "sheet": self.sheet,
                "old": dict(change.old),
                "new": dict(change.new),
                "reviewer": reviewer,
                "time": now,
                "v": JOURNAL_VERSION,
            }
            if target is not None:
                record["target"] = target
            if keys is not None:
                record["key"] = keys[offset]  # finds the row again if the report is re-sorted
            if change.source:
                record["source"] = change.source
            if change.path:
                record["path"] = change.path
            records.append(record)
        self._append(records)
        self._next_seq = step + len(records)
        return step

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
        if record is not None and isinstance(record.get("seq"), int):
            return int(record["seq"])
    if size > 65536:  # one huge record, or a damaged tail: fall back to reading it all
        for line in reversed(read_lines(path)):
            record = _parse(line)
            if record is not None and isinstance(record.get("seq"), int):
                return int(record["seq"])
    return 0
