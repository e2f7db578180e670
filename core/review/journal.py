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

Recovery (``plan_recovery``): replay starts after the last ``saved`` record of
the same sheet whose fingerprint matches the report on disk, else after the
last ``saved`` of that sheet, else at the beginning. Each row's records then
form a chain of states: replay resumes after the last state the file already
holds and applies each record whose old value the row still has; a record that
does not fit is a conflict (the row changed outside phi-review), reported and
skipped. A torn last line (``kill -9`` during a write) is ignored: that change
was never acknowledged.
"""

from __future__ import annotations

import gc
import hashlib
import json
import os
import re
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from phi_review.core.common.errors import ReportError
from phi_review.core.report.cell_text import cell_text_problem
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


@dataclass
class RecoveryPlan:
    """What replaying the journal would do, computed without touching the findings."""

    steps: list[Step] = field(default_factory=list)
    changed: set[int] = field(default_factory=set)  # indexes that end up different from the file
    conflicts: int = 0  # rows whose records do not fit the file (changed outside phi-review)
    damaged: int = 0  # lines that are not valid records (other than a torn last line)
    matched_save: bool = False  # replay started at a save whose fingerprint matches the file
    # Records whose row is not in the report any more (or whose values a cell cannot
    # hold): (file name, why). Their seqs are carried by every later "saved" record,
    # so they are reconsidered at each open until a saved report holds them.
    unplaced: list[tuple[str, str]] = field(default_factory=list)
    carry: list[int] = field(default_factory=list)
    moved: int = 0  # records placed on another row than they name (the rows were re-sorted)


# --------------------------------------------------------------------------- reading


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


def _parse(line: bytes) -> dict | None:
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


def _same_sheet(record: dict, sheet: str) -> bool:
    return str(record.get("sheet") or "") == sheet


def _replay_window(lines: list[bytes], sha256: str, sheet: str) -> tuple[int, bool]:
    """Index of the first line to replay, and whether a matching save was found.

    Only saves of the same sheet count: a save of another sheet of the
    workbook did not write this sheet's decisions. Only ``saved`` lines are
    parsed to find it, so opening a report with a long audit history stays fast.
    """
    last_saved: int | None = None
    for position in range(len(lines) - 1, -1, -1):
        if _SAVED_MARK not in lines[position]:
            continue
        record = _parse(lines[position])
        if record is None or record.get("kind") != "saved" or not _same_sheet(record, sheet):
            continue
        if last_saved is None:
            last_saved = position
        if record.get("sha256") == sha256:
            return position + 1, True
    return (0 if last_saved is None else last_saved + 1), False


def row_key(finding: Finding) -> str:
    """A short digest of the cells that tell apart rows naming the same file (no cell text in the journal)."""
    text = "\x00".join((finding.file.strip(), finding.issue.strip(), finding.value.strip(), finding.tag.strip()))
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]


_SEQ = re.compile(rb'"seq":(\d+)')


def _carried(lines: list[bytes], start: int) -> list[bytes]:
    """Lines before ``start`` that the save at ``start - 1`` carried forward (not yet in a saved report)."""
    if start == 0:
        return []
    saved = _parse(lines[start - 1])
    carry = saved.get("carry") if saved else None
    if not isinstance(carry, list) or not carry:
        return []
    wanted = {seq for seq in carry if isinstance(seq, int)}
    found = []
    for line in lines[: start - 1]:
        match = _SEQ.search(line)
        if match and int(match.group(1)) in wanted:
            found.append(line)
    return found


def _complete_steps(records: list[dict]) -> list[dict]:
    """Drop the last step's records when a kill cut it short: a step is applied whole or not at all.

    A step goes out in one write, so only the journal's last step can be torn.
    """
    if not records:
        return records
    last = records[-1]
    key, wanted = last.get("step", last.get("seq")), last.get("n")
    if not isinstance(wanted, int):
        return records
    tail = 0
    while tail < len(records) and records[-1 - tail].get("step", records[-1 - tail].get("seq")) == key:
        tail += 1
    return records if tail >= wanted else records[: len(records) - tail]


def _clean_values(raw: object) -> Values | None:
    if raw.__class__ is not dict:
        return None
    get = raw.get  # type: ignore[attr-defined]
    action, note, reviewer, reviewed_at = get("action"), get("note"), get("reviewer"), get("reviewed_at")
    copy = get("corrected_copy", "")  # absent in journals written before corrected copies
    if (action.__class__ is str and note.__class__ is str and reviewer.__class__ is str
            and reviewed_at.__class__ is str and copy.__class__ is str):
        return {"action": action, "note": note, "reviewer": reviewer, "reviewed_at": reviewed_at,
                "corrected_copy": copy}  # the usual case
    return {name: str(get(name) or "") for name in EDITABLE_FIELDS}


assert EDITABLE_FIELDS == ("action", "note", "reviewer", "reviewed_at", "corrected_copy") and MATCH_FIELDS == (
    "action", "note")


def _same(a: Mapping[str, str], b: Mapping[str, str]) -> bool:
    return a["action"] == b["action"] and a["note"] == b["note"]


@dataclass
class _Entry:
    kind: str
    step: int
    target: int | None
    index: int
    old: Values
    new: Values
    status: str = "conflict"  # "apply", "already" (the file holds it) or "conflict"


def plan_recovery(path: Path, findings: Sequence[Finding], sha256: str, sheet: str = "") -> RecoveryPlan:
    """Work out which journal records the report on disk lacks (see _plan_recovery).

    The cyclic collector is off meanwhile: 100,000 records are as many new
    dicts with no cycles, and its passes over them cost more than the parse.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _plan_recovery(path, findings, sha256, sheet)
    finally:
        if was_enabled:
            gc.enable()


def _plan_recovery(path: Path, findings: Sequence[Finding], sha256: str, sheet: str = "") -> RecoveryPlan:
    """Work out which journal records the report on disk (``findings``, ``sha256``) lacks.

    Each row's records form a chain of states. Replay starts after the last
    record whose new value the file already holds (so a save whose own
    ``saved`` line never reached the disk replays nothing twice), and goes on
    while each record's old value matches; a record that does not fit the
    chain is a conflict (the row was changed outside phi-review) and is skipped.
    """
    lines = read_lines(path)
    plan = RecoveryPlan()
    if not lines:
        return plan
    start, plan.matched_save = _replay_window(lines, sha256, sheet)
    by_row = {(finding.source, finding.row): index for index, finding in enumerate(findings)}
    by_file: dict[tuple[str, str], list[int]] = {}

    def place(record: dict) -> int | None:
        """The finding a record belongs to: its row if that still names its file, else the file's row wherever it moved."""
        row, file, source = record.get("row"), record.get("file"), str(record.get("source") or "")
        key = record.get("key")
        index = by_row.get((source, row)) if isinstance(row, int) else None
        if index is not None and findings[index].file == file and (not key or row_key(findings[index]) == key):
            return index
        if not by_file:
            for number, finding in enumerate(findings):
                by_file.setdefault((finding.source, finding.file), []).append(number)
        candidates = by_file.get((source, file), []) if isinstance(file, str) else []
        if key:
            keyed = [i for i in candidates if row_key(findings[i]) == key]
            candidates = keyed or candidates
        if index is not None and index in candidates:
            return index
        return candidates[0] if len(candidates) == 1 else None

    carried: list[dict] = []
    records: list[dict] = []
    for part, target in ((_carried(lines, start), carried), (lines[start:], records)):
        for line in part:
            record = _parse(line)
            if record is None:
                plan.damaged += 1
                continue
            if record.get("kind") in STEP_KINDS and _same_sheet(record, sheet):
                target.append(record)  # not "saved", another sheet's record, or a kind from a newer version
    entries: list[_Entry] = []
    chains: dict[int, list[_Entry]] = {}
    conflicted: set[object] = set()
    storable: set[str] = {""}
    for record in carried + _complete_steps(records):
        kind = str(record.get("kind"))
        old, new = _clean_values(record.get("old")), _clean_values(record.get("new"))
        file = str(record.get("file") or "")
        if old is None or new is None:
            plan.damaged += 1
            continue
        problem = None
        for name in MATCH_FIELDS:
            text = new[name]
            if text not in storable:  # actions repeat: each distinct text is checked once
                problem = cell_text_problem(text, name)
                if problem:
                    break
                storable.add(text)
        if problem:
            plan.unplaced.append((file, problem))
            continue
        index = place(record)
        if index is None:
            plan.unplaced.append((file, "its row is not in the report any more"))
            if isinstance(record.get("seq"), int):
                plan.carry.append(record["seq"])
            continue
        if findings[index].row != record.get("row"):
            plan.moved += 1
        step = record.get("step", record.get("seq"))
        target = record.get("target")
        entry = _Entry(kind, step if isinstance(step, int) else -1, target if isinstance(target, int) else None,
                       index, old, new)
        entries.append(entry)
        chains.setdefault(index, []).append(entry)

    for index, chain in chains.items():
        disk = values_of(findings[index])
        held = [position for position, entry in enumerate(chain) if _same(entry.new, disk)]
        first = held[-1] + 1 if held else 0
        for entry in chain[:first]:
            entry.status = "already"
        current = disk
        for entry in chain[first:]:
            if _same(entry.old, current):
                entry.status = "apply"
                current = entry.new
            else:
                conflicted.add(index)
        if current != disk:
            plan.changed.add(index)
    plan.conflicts = len(conflicted)

    for entry in entries:
        if entry.status == "conflict":
            continue
        finding = findings[entry.index]
        change = Change(entry.index, finding.row, finding.file, entry.old, entry.new, entry.status == "apply",
                        finding.source)
        last = plan.steps[-1] if plan.steps else None
        if last is not None and last.step == entry.step and last.kind == entry.kind:
            last.changes.append(change)
        else:
            plan.steps.append(Step(entry.kind, entry.step, [change], entry.target))
    return plan


# --------------------------------------------------------------------------- writing


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
