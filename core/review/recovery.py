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
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from phi_review.core.report.cell_text import cell_text_problem
from phi_review.core.report.model import EDITABLE_FIELDS, Finding
from phi_review.core.review.journal import (
    _SAVED_MARK,
    Change,
    Step,
    MATCH_FIELDS,
    STEP_KINDS,
    Values,
    _parse,
    read_lines,
    values_of,
)


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
    keys: dict[int, str] = {}  # row_key per finding, hashed once however many records name the row

    def key_of(index: int) -> str:
        found = keys.get(index)
        if found is None:
            found = keys[index] = row_key(findings[index])
        return found

    def place(record: dict) -> int | None:
        """The finding a record belongs to: its row if that still names its file, else the file's row wherever it moved."""
        row, file, source = record.get("row"), record.get("file"), str(record.get("source") or "")
        key = record.get("key")
        index = by_row.get((source, row)) if isinstance(row, int) else None
        if index is not None and findings[index].file == file and (not key or key_of(index) == key):
            return index
        if not by_file:
            for number, finding in enumerate(findings):
                by_file.setdefault((finding.source, finding.file), []).append(number)
        candidates = by_file.get((source, file), []) if isinstance(file, str) else []
        if key:
            keyed = [i for i in candidates if key_of(i) == key]
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

