"""Recovery: which journal records a freshly opened report does not hold yet, and where each one goes.

Replay starts after the last ``saved`` record of the same sheet whose
fingerprint matches the report on disk (else the last ``saved`` of that sheet,
else the beginning); a decision whose row moved is found by its file name and
identifying cells; what cannot be placed is said and carried to the next save.
The journal module writes; this one only reads.
"""

from __future__ import annotations

import gc
import hashlib
import re
from bisect import bisect_left
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import repeat
from operator import attrgetter, eq, itemgetter
from pathlib import Path

from phi_review.core.report.cell_text import cell_text_problem
from phi_review.core.report.model import Finding
from phi_review.core.review.journal import (
    _SAVED_MARK,
    BLANK,
    MATCH_FIELDS,
    STEP_KINDS,
    Values,
    _FIELD_KEYS,
    _fast_decode,
    _parse,
    clean_values,
    is_step_line,
    read_data,
    split_lines,
)
from phi_review.core.review.checkpoint import CheckpointStale, is_checkpoint_line, place_checkpoint, read_tail
from phi_review.core.review.journal_ahead import ParsedAhead
from phi_review.core.review.replay import Placed, PlannedStep, build_steps, resolve


@dataclass
class RecoveryPlan:
    """What replaying the journal would do, computed without touching the findings."""

    steps: list[PlannedStep] = field(default_factory=list)  # undo history: Change lists made on demand
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
    # The values each index in ``changed`` ends with: what replay sets, one assignment per row.
    final: dict[int, Values] = field(default_factory=dict)
    since_checkpoint: int = 0  # journaled rows replayed after the last checkpoint or save


# --------------------------------------------------------------------------- reading


def _same_sheet(record: dict, sheet: str) -> bool:
    return str(record.get("sheet") or "") == sheet


def _replay_window(lines: list[bytes], sha256: str, sheet: str, saves: bool = True,
                   checkpoints: bool = True) -> tuple[int, bool, int]:
    """Index of the first line to replay, whether a matching save was found, and the line whose ``carry`` holds.

    Only saves of the same sheet count: a save of another sheet of the
    workbook did not write this sheet's decisions. Only ``saved`` and
    checkpoint lines are parsed to find it, so a long audit history stays fast.
    A checkpoint after every save (matching or not) starts the replay itself:
    it is the step from the report as it was to every row's state then.
    ``saves`` False: the caller found no ``saved`` mark in the whole journal.
    """
    checkpoint = _last_checkpoint(lines, sheet) if checkpoints else None
    last_saved: int | None = None
    matched: int | None = None
    if saves:
        marked = [position for position, line in enumerate(lines) if _SAVED_MARK in line]  # one fast pass
        for position in reversed(marked):
            if checkpoint is not None and position < checkpoint:
                break  # the checkpoint holds everything before it
            record = _parse(lines[position])
            if record is None or record.get("kind") != "saved" or not _same_sheet(record, sheet):
                continue
            if last_saved is None:
                last_saved = position
            if record.get("sha256") == sha256:
                matched = position
                break
    if matched is not None and (checkpoint is None or matched > checkpoint):
        return matched + 1, True, matched
    if checkpoint is not None and (last_saved is None or checkpoint > last_saved):
        return checkpoint, False, checkpoint
    return (0 if last_saved is None else last_saved + 1), False, (-1 if last_saved is None else last_saved)


def _last_checkpoint(lines: list[bytes], sheet: str) -> int | None:
    """The last whole checkpoint line of ``sheet`` (a damaged one is passed over: the steps before it are there)."""
    for position in range(len(lines) - 1, -1, -1):
        if is_checkpoint_line(lines[position]):
            record = _parse(lines[position])
            if record is not None and _same_sheet(record, sheet) and isinstance(record.get("rows"), list):
                return position
    return None


def row_key(finding: Finding) -> str:
    """A short digest of the cells that tell apart rows naming the same file (no cell text in the journal)."""
    text = "\x00".join((finding.file.strip(), finding.issue.strip(), finding.value.strip(), finding.tag.strip()))
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]


_SEQ = re.compile(rb'"seq":(\d+)')
_STEP_SEQS = re.compile(rb'"step":(\d+),"n":(\d+)')  # a version-2 step line: seqs step .. step + n - 1


def _carried(lines: list[bytes], start: int) -> tuple[list[bytes], set[int]]:
    """Lines before ``start - 1`` holding seqs the save (or checkpoint) at ``start - 1`` carried forward, and those seqs."""
    if start <= 0:
        return [], set()
    saved = _parse(lines[start - 1])
    carry = saved.get("carry") if saved else None
    if not isinstance(carry, list) or not carry:
        return [], set()
    wanted = {seq for seq in carry if isinstance(seq, int)}
    ordered = sorted(wanted)
    found = []
    for line in lines[: start - 1]:
        match = _SEQ.search(line)
        if match:
            if int(match.group(1)) in wanted:
                found.append(line)
            continue
        match = _STEP_SEQS.search(line)
        if match:
            first, count = int(match.group(1)), int(match.group(2))
            at = bisect_left(ordered, first)
            if at < len(ordered) and ordered[at] < first + count:
                found.append(line)
    return found, wanted


def _complete_steps(records: list[dict]) -> list[dict]:
    """Drop the last step's records when a kill cut it short: a step is applied whole or not at all.

    A step goes out in one write, so only the journal's last step can be torn.
    A version-2 step is one line, whole or torn (and then not read at all); a
    version-1 step is one line per row, and says in ``n`` how many it needs.
    """
    if not records:
        return records
    last = records[-1]
    if is_step_line(last):
        return records
    key, wanted = last.get("step", last.get("seq")), last.get("n")
    if not isinstance(wanted, int):
        return records
    tail = 0
    while tail < len(records) and records[-1 - tail].get("step", records[-1 - tail].get("seq")) == key:
        tail += 1
    return records if tail >= wanted else records[: len(records) - tail]


class _Placer:
    """Journal rows into a Placed, each on the finding it belongs to, counting what cannot be placed.

    A row usually still sits where its record says (finding ``row - first row``):
    that is checked first, without building any index of the report.
    """

    def __init__(self, findings: Sequence[Finding], plan: RecoveryPlan) -> None:
        self.findings = findings
        self.plan = plan
        self.placed = Placed()
        self.first_row = findings[0].row if findings else 0
        self.storable: set[str] = {""}  # texts already found storable: actions repeat, each is checked once
        self._by_row: dict[tuple[str, int], int] | None = None
        self._by_file: dict[tuple[str, str], list[int]] | None = None
        self._shared: set[str] | None = None
        self._keys: dict[int, str] = {}  # row_key per finding, hashed once however many records name the row

    def key_of(self, index: int) -> str:
        found = self._keys.get(index)
        if found is None:
            found = self._keys[index] = row_key(self.findings[index])
        return found

    def shared_names(self) -> set[str]:
        """File names on more than one row: only there can a row key pick a different row."""
        if self._shared is None:
            counts = Counter(map(attrgetter("file"), self.findings))
            self._shared = {name for name, count in counts.items() if count > 1} if len(counts) < len(
                self.findings) else set()
        return self._shared

    def place(self, source: str, row: object, file: object, key: object) -> int | None:
        """The finding a record belongs to: its row if that still names its file, else the file's row wherever it moved."""
        findings = self.findings
        if self._by_row is None:
            self._by_row = {(finding.source, finding.row): index for index, finding in enumerate(findings)}
        index = self._by_row.get((source, row)) if isinstance(row, int) else None  # type: ignore[arg-type]
        if index is not None and findings[index].file == file and (not key or self.key_of(index) == key):
            return index
        if self._by_file is None:
            self._by_file = {}
            for number, finding in enumerate(findings):
                self._by_file.setdefault((finding.source, finding.file), []).append(number)
        candidates = self._by_file.get((source, file), []) if isinstance(file, str) else []
        if key:
            keyed = [i for i in candidates if self.key_of(i) == key]
            candidates = keyed or candidates
        if index is not None and index in candidates:
            return index
        return candidates[0] if len(candidates) == 1 else None

    def problem(self, values: Values) -> str | None:
        """Why a cell could not hold the record's action or note, or None."""
        storable = self.storable
        for name in MATCH_FIELDS:
            text = values.get(name, "")  # a journal's values may leave the blank second pass out
            if text not in storable:
                problem = cell_text_problem(text, name)
                if problem:
                    return problem
                storable.add(text)
        return None

    def add_record(self, record: dict) -> None:
        """A version-1 record: one row of a step."""
        plan, placed = self.plan, self.placed
        old, new = clean_values(record.get("old")), clean_values(record.get("new"))
        file = str(record.get("file") or "")
        if old is None or new is None:
            plan.damaged += 1
            return
        problem = self.problem(new)
        if problem:
            plan.unplaced.append((file, problem))
            return
        row = record.get("row")
        index = self.place(str(record.get("source") or ""), row, record.get("file"), record.get("key"))
        if index is None:
            plan.unplaced.append((file, "its row is not in the report any more"))
            if isinstance(record.get("seq"), int):
                plan.carry.append(record["seq"])
            return
        if self.findings[index].row != row:
            plan.moved += 1
        step, target = record.get("step", record.get("seq")), record.get("target")
        start = len(placed.index)
        placed.index.append(index)
        placed.old.append(old)
        placed.new.append(new)
        placed.groups.append((str(record["kind"]), step if isinstance(step, int) else -1,
                              target if isinstance(target, int) else None, start, start + 1))

    def _add_in_place(self, rows: list, shared: Values) -> bool:
        return len(rows) >= _IN_PLACE_FROM and _add_in_place_rows(self, rows, shared)

    def add(self, records: list[dict], wanted: set[int] | None = None) -> None:
        """Place every row of ``records`` (only the ``wanted`` seqs, for carried lines), in order.

        One loop over all version-2 step lines, everything it needs held in
        locals: a reopen pays it once per line, 100,000 times for a journal of
        single-row decisions.
        """
        plan, placed, findings = self.plan, self.placed, self.findings
        indexes, olds, news, groups = placed.index, placed.old, placed.new, placed.groups
        unplaced, carry, storable = plan.unplaced, plan.carry, self.storable
        first_row, count = self.first_row, len(findings)
        shared_names = self.shared_names()
        fields = _FIELD_KEYS
        for record in records:
            rows = record.get("rows")
            if rows.__class__ is not list:
                self.add_record(record)
                continue
            if record["kind"] == "checkpoint":
                place_checkpoint(self, record)
                continue
            step, shared = record.get("step"), record.get("new", BLANK)
            if shared.__class__ is not dict or shared.keys() != fields or not _all_text(shared):
                shared = clean_values(shared)
            if step.__class__ is not int or record.get("n", len(rows)) != len(rows) or shared is None:
                plan.damaged += 1
                continue
            if shared["action"] in storable and shared["note"] in storable:
                step_problem = None
            else:
                step_problem = self.problem(shared)
            start = len(indexes)
            if wanted is None and step_problem is None and self._add_in_place(rows, shared):
                groups.append((record["kind"], step, _int_or_none(record.get("target")), start, len(indexes)))
                continue
            for offset, entry in enumerate(rows):
                if wanted is not None and step + offset not in wanted:
                    continue
                if entry.__class__ is not dict:
                    plan.damaged += 1
                    continue
                old, own = entry.get("old", BLANK), entry.get("new")
                if old.__class__ is not dict or (old and (old.keys() != fields or not _all_text(old))):
                    old = clean_values(old)  # None when not an object
                elif not old:
                    old = BLANK
                new = shared if own is None else clean_values(own, shared)
                file = entry.get("file")
                if old is None or new is None:
                    plan.damaged += 1
                    continue
                problem = step_problem if own is None else self.problem(new)
                if problem:
                    unplaced.append((str(file or ""), problem))
                    continue
                row, source, key = entry.get("row"), entry.get("source", ""), entry.get("key")
                index = -1
                if row.__class__ is int:
                    guess = row - first_row
                    if 0 <= guess < count:
                        finding = findings[guess]
                        if finding.row == row and finding.file == file and finding.source == source and (
                                not key or file not in shared_names or self.key_of(guess) == key):
                            index = guess
                if index < 0:
                    found = self.place(str(source or ""), row, file, key)
                    if found is None:
                        unplaced.append((str(file or ""), "its row is not in the report any more"))
                        carry.append(step + offset)
                        continue
                    index = found
                    if findings[index].row != row:
                        plan.moved += 1
                indexes.append(index)
                olds.append(old)
                news.append(new)
            target = record.get("target")
            groups.append((record["kind"], step, target if target.__class__ is int else None, start, len(indexes)))


def _int_or_none(value: object) -> int | None:
    return value if value.__class__ is int else None  # type: ignore[return-value]


_IN_PLACE_FROM = 16  # rows in a step; for fewer, the passes' own cost is more than the loop's
_PLAIN_ENTRY = frozenset(("row", "file", "key", "old"))
_ROW, _FILE, _KEY, _OLD = itemgetter("row"), itemgetter("file"), itemgetter("key"), itemgetter("old")
_ROW_OF, _FILE_OF, _SOURCE_OF = attrgetter("row"), attrgetter("file"), attrgetter("source")


def _add_in_place_rows(placer: "_Placer", rows: list, shared: Values) -> bool:
    """The usual step, placed with C-level passes, or False for add's per-row loop.

    Usual: each entry is ``{"row", "file", "key", "old": {}}`` (a first decision of
    the row, nothing of its own), its row still where the journal saw it, naming
    the same file, in a one-file report, the name on no other row (so the key
    cannot pick another). That is add's loop for such rows, result for result.
    """
    count = len(rows)
    if set(map(type, rows)) != {dict} or set(map(len, rows)) != {len(_PLAIN_ENTRY)}:
        return False
    try:  # four keys each, and these four among them: exactly the plain entry's
        numbers, files, _keys = list(map(_ROW, rows)), list(map(_FILE, rows)), list(map(_KEY, rows))
        if not all(map(eq, map(_OLD, rows), repeat({}))):
            return False
    except KeyError:
        return False
    if set(map(type, numbers)) != {int}:
        return False
    first, findings = placer.first_row, placer.findings
    guesses = [number - first for number in numbers]
    if min(guesses) < 0 or max(guesses) >= len(findings) or not placer.shared_names().isdisjoint(files):
        return False
    found = list(map(findings.__getitem__, guesses))
    if list(map(_ROW_OF, found)) != numbers or list(map(_FILE_OF, found)) != files or any(map(_SOURCE_OF, found)):
        return False
    placed = placer.placed
    placed.index.extend(guesses)
    placed.old.extend(repeat(BLANK, count))
    placed.new.extend(repeat(shared, count))
    return True


def _starts_with_checkpoint(lines: list[bytes], sheet: str, start: int, boundary: int) -> bool:
    """The tail read from the last checkpoint begins with a whole one of this sheet (found by the window)."""
    if start == 0 and boundary == 0:
        return True  # _replay_window chose it: whole, of this sheet
    return _last_checkpoint(lines, sheet) == 0  # replay starts at a save after it: is the tail's head sound?


def _carries(line: bytes) -> bool:
    record = _parse(line)
    return bool(record and record.get("carry"))


def _all_text(values: dict) -> bool:
    """Every value is a str (join refuses anything else, at C speed)."""
    try:
        "".join(values.values())
    except TypeError:
        return False
    return True


def plan_recovery(path: Path, findings: Sequence[Finding], sha256: str, sheet: str = "",
                  ahead: ParsedAhead | None = None) -> RecoveryPlan:
    """Work out which journal records the report on disk lacks (see _plan_recovery).

    The cyclic collector is off meanwhile: 100,000 records are as many new
    dicts with no cycles, and its passes over them cost more than the parse.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        try:
            return _plan_recovery(path, findings, sha256, sheet, ahead)
        except CheckpointStale:  # the rows it names moved or changed: every step is still in the journal
            return _plan_recovery(path, findings, sha256, sheet, None, checkpoints=False)
    finally:
        if was_enabled:
            gc.enable()


def _plan_recovery(path: Path, findings: Sequence[Finding], sha256: str, sheet: str = "",
                   ahead: ParsedAhead | None = None, checkpoints: bool = True) -> RecoveryPlan:
    """Work out which journal records the report on disk (``findings``, ``sha256``) lacks.

    Each row's records form a chain of states. Replay starts after the last
    record whose new value the file already holds (so a save whose own
    ``saved`` line never reached the disk replays nothing twice), and goes on
    while each record's old value matches; a record that does not fit the
    chain is a conflict (the row was changed outside phi-review) and is skipped.
    The walk itself is replay.py's, over rows placed here.
    """
    # From the last checkpoint on, when the journal is big; all of it when its checkpoint was found stale.
    data, offset = read_tail(path) if checkpoints else (read_data(path), 0)
    lines = split_lines(data)
    plan = RecoveryPlan()
    if not lines:
        return plan
    start, plan.matched_save, boundary = _replay_window(lines, sha256, sheet, _SAVED_MARK in data, checkpoints)
    if offset and (not _starts_with_checkpoint(lines, sheet, start, boundary)
                   or (boundary >= 0 and _carries(lines[boundary]))):
        # The tail's first line is not a whole checkpoint of this sheet (damaged, another sheet's), or the
        # line replay starts after carries seqs from lines before it: read it all, as journals always were.
        data, offset = read_data(path), 0
        lines = split_lines(data)
        start, plan.matched_save, boundary = _replay_window(lines, sha256, sheet, _SAVED_MARK in data)
    if ahead is not None and (ahead.offset != offset or ahead.data != data):
        ahead = None  # written meanwhile (the lock was not ours yet): parse it here
    if ahead is not None:
        data, lines = ahead.data, ahead.lines  # one copy in memory, not two
    carried_lines, wanted = _carried(lines, boundary + 1)
    carried: list[dict] = []
    records: list[dict] = []
    parsed: list[object] = []  # lines[start:] already parsed ahead, from its first line on
    if ahead is not None and start <= ahead.first:
        parsed = [None] * (ahead.first - start) + ahead.records
    for part, target, known in ((carried_lines, carried, []), (lines[start:], records, parsed)):
        for position, line in enumerate(part):
            record = known[position] if known else None
            if record.__class__ is dict:
                kind = record.get("kind")  # type: ignore[union-attr]
            else:
                try:  # orjson's loads itself: _parse's checks and fallback only where it refuses the line
                    record = _fast_decode(line)  # type: ignore[misc]
                    kind = record.get("kind")
                except (TypeError, ValueError, AttributeError):
                    kind = None
            if kind.__class__ is not str:
                record = _parse(line)  # json's turn (a lone surrogate), else a damaged line
                if record is None:
                    plan.damaged += 1
                    continue
                kind = record["kind"]
            if kind in STEP_KINDS and (record.get("sheet", "") == sheet or _same_sheet(record, sheet)):
                target.append(record)  # not "saved", another sheet's record, or a kind from a newer version
            elif kind == "checkpoint" and checkpoints and target is records and position == 0:
                target.append(record)  # where replay starts: _replay_window chose it (whole, this sheet)
    placer = _Placer(findings, plan)
    placer.add(carried, wanted)
    placer.add(_complete_steps(records))
    plan.since_checkpoint = sum(end - begin for kind, _, _, begin, end in placer.placed.groups if kind != "checkpoint")
    status, plan.final, plan.conflicts = resolve(placer.placed, findings)
    plan.changed = set(plan.final)
    plan.steps = build_steps(placer.placed, status, findings)
    return plan
