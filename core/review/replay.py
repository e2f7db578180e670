"""Replay in bulk: which placed journal rows the report already holds, which apply, which conflict.

recovery.py reads and places the journal's rows into flat lists (one slot per
row: finding index, old values, new values) and this module walks them in a
few tight loops, so 100,000 rows cost no per-row objects beyond the Change
each undo step keeps. The rules are recovery.py's (see ``_plan_recovery``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, MutableMapping, MutableSet, Sequence
from dataclasses import dataclass, field
from itertools import compress, repeat
from operator import add, and_, attrgetter, eq, itemgetter, methodcaller, mul, ne, not_, or_

from phi_review.core.report.model import EDITABLE_FIELDS, Finding
from phi_review.core.review.journal import Change, Step, Values, full_values, second_of, values_of

_OF_FINDING = attrgetter(*EDITABLE_FIELDS)  # a finding's editable values as a tuple, at C speed
_ACTION_OF = attrgetter("action")
_ACTION = itemgetter("action")
_MATCH_OF = attrgetter("action", "note", "second_review")  # what a record's old value must match (MATCH_FIELDS)


def _MATCH(values: Values) -> tuple[str, str, str]:  # noqa: N802 - an itemgetter that takes a missing second pass as ""
    return values["action"], values["note"], values.get("second_review", "")


_NOTE = itemgetter("note")
_SECOND_REVIEW = methodcaller("get", "second_review", "")


def _matches(values: list[Values]) -> "zip[tuple[str, str, str]]":
    """_MATCH of every values object, in C-level passes (a reopen of 100,000 rows makes 200,000)."""
    return zip(map(_ACTION, values), map(_NOTE, values), map(_SECOND_REVIEW, values))


_FIRST_OF_FINDING = attrgetter(*EDITABLE_FIELDS[:5])
_FIRST_OF_VALUES = itemgetter(*EDITABLE_FIELDS[:5])
_SECOND_OF_FINDING = attrgetter("second_review", "second_reviewer", "second_reviewed_at")
_APPLY, _ALREADY = 1, 2  # a slot's status; 0 is a conflict
_make_change = tuple.__new__  # Change's and Step's own __new__ is Python code: this skips it, 100,000 times


@dataclass
class Placed:
    """Journal rows placed in the report, in journal order, as parallel lists (no object per row)."""

    index: list[int] = field(default_factory=list)  # finding index of each slot
    old: list[Values] = field(default_factory=list)
    new: list[Values] = field(default_factory=list)
    # One per journal step (or per version-1 record): kind, step id, target, its slots start:end.
    groups: list[tuple[str, int, int | None, int, int]] = field(default_factory=list)


def resolve(placed: Placed, findings: Sequence[Finding]) -> tuple[bytearray, dict[int, Values], int]:
    """Each slot's status, the values each changed finding ends with, and how many rows conflict.

    A row's slots form a chain: those up to the last one whose new action and
    note the file holds are already there; after it, a slot applies when its
    old action and note match the row's current ones, else it conflicts and
    is skipped. A row ends changed when its last applied values differ from
    the file's in any field.
    """
    chained = len(set(placed.index)) != len(placed.index)  # usually each row once: no chain to walk
    status, current, conflicted = (_walk_chains if chained else _each_once)(placed, findings)
    numbers, values = list(current), list(current.values())
    rows = list(map(findings.__getitem__, numbers))
    # Changed where the action differs (nearly every row, found in one pass), else where any field does.
    differs = list(map(ne, map(_ACTION, values), map(_ACTION_OF, rows)))
    if not all(differs):
        differs = list(map(or_, differs, map(ne, map(_FIRST_OF_VALUES, values), map(_FIRST_OF_FINDING, rows))))
        differs = list(map(or_, differs, map(ne, map(second_of, values), map(_SECOND_OF_FINDING, rows))))
    final = dict(compress(zip(numbers, values), differs))
    return status, final, len(conflicted)


_Walk = tuple[bytearray, dict[int, Values], set[int]]  # statuses, each applied row's values, conflicting rows


def _each_once(placed: Placed, findings: Sequence[Finding]) -> _Walk:
    """resolve's walk when every row has one slot, in C-level passes: 100,000 rows in a few ms."""
    index, old, new = placed.index, placed.old, placed.new
    found = list(map(findings.__getitem__, index))
    held = list(map(_MATCH_OF, found))
    already = list(map(eq, _matches(new), held))
    fits = list(map(eq, _matches(old), held))
    applies = list(map(and_, map(not_, already), fits))
    status = bytearray(map(add, map(mul, already, repeat(_ALREADY)), applies))  # 2 held, 1 applies, 0 conflict
    current = dict(zip(compress(index, applies), compress(new, applies)))
    return status, current, set(compress(index, map(not_, map(or_, already, applies))))


def _walk_chains(placed: Placed, findings: Sequence[Finding]) -> _Walk:
    """resolve's walk, slot by slot, for rows with several slots."""
    index, old, new = placed.index, placed.old, placed.new
    status = bytearray(len(index))
    current: dict[int, Values] = {}
    conflicted: set[int] = set()
    held: dict[int, int] = {}  # row -> its last slot whose new values the file holds
    for position in range(len(index) - 1, -1, -1):
        number = index[position]
        if number not in held:
            finding, values = findings[number], new[position]
            if _MATCH(values) == _MATCH_OF(finding):
                held[number] = position
    for position, number in enumerate(index):
        if position <= held.get(number, -1):
            status[position] = _ALREADY
            continue
        now = current.get(number)
        state = _MATCH_OF(findings[number]) if now is None else _MATCH(now)
        if _MATCH(old[position]) == state:
            status[position] = _APPLY
            current[number] = new[position]
        else:
            conflicted.add(number)
    return status, current, conflicted


class PlannedStep:
    """A recovered undo step whose Change list is made when first asked for.

    A reopen rebuilds the whole undo history (100,000 steps after a crash of a long
    session) but the reviewer undoes a few: each step keeps only where its slots are.
    It reads like a Step (kind, step, changes, target).
    """

    __slots__ = ("kind", "step", "target", "_ranges", "_plan", "_changes")

    def __init__(self, kind: str, step: int, target: int | None, start: int, end: int,
                 plan: tuple[Placed, bytearray, Sequence[Finding]]) -> None:
        self.kind, self.step, self.target = kind, step, target
        self._ranges = [(start, end)]
        self._plan = plan
        self._changes: list[Change] | None = None

    @property
    def changes(self) -> list[Change]:
        if self._changes is None:
            placed, status, findings = self._plan
            index, old, new = placed.index, placed.old, placed.new
            changes: list[Change] = []
            for start, end in self._ranges:
                for position in range(start, end):
                    state = status[position]
                    if state:
                        at = index[position]
                        finding = findings[at]
                        changes.append(_make_change(Change, (at, finding.row, finding.file, old[position],
                                                             new[position], state == _APPLY, finding.source, "")))
            self._changes = changes
        return self._changes


def build_steps(placed: Placed, status: bytearray, findings: Sequence[Finding]) -> list[PlannedStep]:
    """Undo steps of the slots that are not conflicts; one step's rows stay one step (see PlannedStep)."""
    steps: list[PlannedStep] = []
    plan = (placed, status, findings)
    for kind, number, target, start, end in placed.groups:
        if status.count(0, start, end) == end - start:
            continue  # every row of it conflicts: nothing to undo
        last = steps[-1] if steps else None
        if last is not None and last.step == number and last.kind == kind:
            last._ranges.append((start, end))  # a version-1 step: one record per row
        else:
            steps.append(PlannedStep(kind, number, target, start, end, plan))
    return steps


def count_reviewed(findings: Sequence[Finding]) -> int:
    """How many findings have an action (``Finding.reviewed``), counted at C speed: 500,000 rows in milliseconds."""
    return sum(count for action, count in Counter(map(_ACTION_OF, findings)).items() if action.strip())


def apply_final(findings: Sequence[Finding], baselines: MutableMapping[int, Mapping[str, str]],
                dirty: MutableSet[int], final: Mapping[int, Mapping[str, str]]) -> int:
    """Give each finding in ``final`` its values (each has every field); returns the change in reviewed rows.

    ``baselines`` (values on disk) and ``dirty`` follow as the session's _apply keeps them. At open no
    row has a baseline yet and every row in ``final`` differs from the file: those are set at C speed,
    rows with the same values on disk sharing one baseline dict (never changed in place).
    """
    touched = list(map(findings.__getitem__, final))
    before = count_reviewed(touched)
    if not baselines:
        disks = list(map(_OF_FINDING, touched))
        shared = {disk: dict(zip(EDITABLE_FIELDS, disk)) for disk in set(disks)}
        baselines.update(zip(final, map(shared.__getitem__, disks)))
        dirty.update(final)
    else:
        for finding, (index, values) in zip(touched, final.items()):
            baseline = baselines.get(index)
            if baseline is None:
                baselines[index] = values_of(finding)
                dirty.add(index)
            elif full_values(values) == baseline:
                dirty.discard(index)
            else:
                dirty.add(index)
    for finding, values in zip(touched, final.values()):
        finding.action, finding.note, finding.reviewer, finding.reviewed_at, finding.corrected_copy = \
            _FIRST_OF_VALUES(values)
        finding.second_review, finding.second_reviewer, finding.second_reviewed_at = second_of(values)
    return count_reviewed(touched) - before
