"""The review session: the state the screen holds, with no screen in it.

It owns the findings of one report, the reviewer's decisions and notes, undo
and redo, marks, filters and groups, and the promise the design makes: a
decision is in the journal (appended and fsynced) before ``decide`` returns, so
the screen may show it as made. Saving writes only the changed rows through the
report writer; a failed save loses nothing because the journal still holds it
and the next open recovers it.

Writers take an exclusive lock on the report; a second session on the same
report opens read-only (or is refused when the caller asks for that).
"""

from __future__ import annotations

import gc
import getpass
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

from phi_review.core.common.errors import LockedError, PhiReviewError, ReportError
from phi_review.core.review.journal import (
    Change,
    Journal,
    Step,
    full_values,
    journal_path,
    second_of,
    utc_now,
    values_of,
)
from phi_review.core.review.query import Group, QueryMixin, _Column, _file_key  # noqa: F401 - Group is public here
from phi_review.core.review.journal_ahead import JournalAhead, start_parse_ahead
from phi_review.core.review.recovery import RecoveryPlan, plan_recovery, row_key
from phi_review.core.review.replay import PlannedStep, apply_final, count_reviewed
from phi_review.core.review.saving import SavePlan, SavingMixin  # noqa: F401 - SavePlan is public here
from phi_review.core.review.second_pass import SecondPassMixin
from phi_review.core.report.model import Finding, Report
from phi_review.core.report.lock import ReportLock
from phi_review.core.report.cell_text import cell_text_problem
from phi_review.core.common.atomic_file import remove_stale_temps
from phi_review.core.report.csv_encoding import check_holdable
from phi_review.core.common.inert import inert, shorten

# Characters a spreadsheet (XML 1.0) cannot store; refused when typed, not at save time.
_UNSTORABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def default_reviewer() -> str:
    """The login name; containers without a passwd entry still get a name."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return os.environ.get("USER") or os.environ.get("LOGNAME") or f"uid{os.getuid()}"


def check_storable(text: str, what: str) -> None:
    """Refuse text the report cannot hold now (control characters, over 32,767 characters), while it can be fixed."""
    problem = cell_text_problem(text, what)
    if problem:
        raise PhiReviewError(problem)


def note_problem(text: str) -> str | None:
    """Why a typed note cannot be stored, in one line, or None: for the note dialog to show before it closes."""
    return cell_text_problem(text, "note")


class ReviewSession(QueryMixin, SavingMixin, SecondPassMixin):
    """Findings of one report plus the reviewer's changes, durable through the journal."""

    def __init__(
        self,
        report: Report,
        *,
        reviewer: str,
        read_only: bool,
        lock: ReportLock | None = None,
        journal: Journal | None = None,
    ) -> None:
        self.report = report
        self.findings: list[Finding] = report.findings
        self.actions: list[str] = list(report.actions)
        self.reviewer = reviewer
        self.read_only = read_only
        self.recovered = 0
        self.journal_pending = 0  # read-only: unsaved changes another session left in the journal
        self.messages: list[str] = list(report.warnings)
        self.marks: set[int] = set()
        self.paths: dict[int, str] = {}  # finding index -> the file the reviewer was shown (journal audit)
        self._lock = lock
        self._journal = journal
        self._read_only_reason = "opened read-only as asked"
        self._undo: list[Step | PlannedStep] = []  # PlannedStep: recovered from the journal at open
        self._redo: list[Step | PlannedStep] = []
        self._baseline: dict[int, dict[str, str]] = {}  # values on disk, for touched rows
        self._dirty: set[int] = set()
        self._carry: list[int] = []  # journal seqs not placed in the report: every save carries them on
        self._reviewed = count_reviewed(self.findings)
        self._saving: SavePlan | None = None
        # Filter and search: fixed columns lowercased once into one string each (found at C speed),
        # the two a decision changes (action, note) as lists kept in step by _apply.
        self._fixed: dict[str, _Column] = {}
        self._cell_columns: list[_Column] | None = None
        self._changing: dict[str, list[str]] | None = None

    # ------------------------------------------------------------------ opening

    @classmethod
    def open(
        cls,
        path: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
        *,
        sheet: str | None = None,
        reviewer: str | None = None,
        read_only: bool = False,
        allow_read_only_fallback: bool = True,
    ) -> "ReviewSession":
        """Read the report, lock it for writing and recover unsaved journal decisions.

        When another session holds the lock (or the folder cannot hold a lock
        and journal), the session opens read-only with a message saying why,
        unless ``allow_read_only_fallback`` is False: then LockedError/ReportError.
        The cyclic collector is off throughout: the rows and the recovered steps
        hold no cycles, and its passes over them in between cost more than the rest.
        """
        was_enabled = gc.isenabled()
        gc.disable()
        try:
            return cls._open(path, sheet, reviewer, read_only, allow_read_only_fallback)
        finally:
            if was_enabled:
                gc.enable()

    @classmethod
    def _open(cls, path: str | os.PathLike[str] | Sequence[str | os.PathLike[str]], sheet: str | None,
              reviewer: str | None, read_only: bool, allow_read_only_fallback: bool) -> "ReviewSession":
        from phi_review.core.report.reader import read_report

        # Several CSV files (or a folder of them) are one report: lock and journal go
        # beside report.path (the folder, or the first file).
        wanted: Path | list[Path] = Path(path) if isinstance(path, (str, os.PathLike)) else [Path(p) for p in path]
        if isinstance(wanted, list) and len(wanted) == 1:
            wanted = wanted[0]
        if isinstance(wanted, Path) and wanted.is_symlink():
            wanted = wanted.resolve()  # a linked report: read, lock, journal and write the shared target
        reviewer = (reviewer or "").strip() or default_reviewer()
        check_storable(reviewer, "reviewer name")
        ahead = start_parse_ahead(journal_path(wanted)) if isinstance(wanted, Path) else None
        # Read before locking, so bad input (not a spreadsheet, no header) leaves
        # no lock or journal file behind; re-read under the lock if it changed.
        report = read_report(wanted, sheet=sheet)
        path = report.path
        if read_only:
            return cls._open_read_only(report, reviewer, "opened read-only as asked", ahead)

        lock: ReportLock | None = None
        journal: Journal | None = None
        try:
            lock = ReportLock.acquire(path, [source.path for source in report.sources])  # a folder: every member too
            journal = Journal.open(path, sheet=report.sheet)
        except (LockedError, ReportError) as error:
            if lock is not None:
                lock.release()
            if not allow_read_only_fallback:
                if isinstance(error, LockedError):
                    raise LockedError(f"{error}; close that session first") from None
                raise
            return cls._open_read_only(report, reviewer, str(error), ahead)

        try:
            if _changed_since(path, report):
                report = read_report(wanted, sheet=sheet)  # another writer saved before we locked
                journal.sheet = report.sheet
            session = cls(report, reviewer=reviewer, read_only=False, lock=lock, journal=journal)
            if report.kind != "csv" or not report.sources or not report.sources[0].name:
                stale = remove_stale_temps(report.path)  # under the lock: no save of ours is running
                if stale:
                    session.messages.append(f"Removed {stale} temporary copies of the report left by an interrupted save.")
            session._recover(ahead)
        except BaseException:
            journal.close()
            lock.release()
            raise
        return session

    def touch(self) -> None:
        """A keypress happened: a second session on this report shows how idle we are."""
        if self._lock is not None:
            self._lock.touch()

    @classmethod
    def _open_read_only(cls, report: Report, reviewer: str, reason: str,
                        ahead: JournalAhead | None = None) -> "ReviewSession":
        """A session that shows the report and refuses changes; ``reason`` says why, in one line."""
        session = cls(report, reviewer=reviewer, read_only=True)
        session._read_only_reason = reason
        if reason != "opened read-only as asked":
            session.messages.insert(0, f"{reason}; opened read-only, decisions cannot be recorded.")
        try:
            plan = session._plan(ahead)
        except ReportError as error:
            session.messages.append(f"Cannot check the journal: {error}.")
            return session
        session.journal_pending = len(plan.changed)
        if session.journal_pending:
            session.messages.append(
                f"{session.journal_pending} unsaved decisions are in the journal "
                f"{journal_path(report.path).name}, not shown here."
            )
        return session

    def _plan(self, ahead: JournalAhead | None = None) -> RecoveryPlan:
        parsed = ahead.parsed_for(journal_path(self.report.path)) if ahead is not None else None
        return plan_recovery(
            journal_path(self.report.path), self.findings, self.report.fingerprint.sha256, self.report.sheet or "",
            parsed,
        )

    def _recover(self, ahead: JournalAhead | None = None) -> None:
        """Replay journal records the report on disk lacks, and rebuild undo/redo.

        The cyclic collector waits until the end (as in plan_recovery): its
        passes over the 100,000 new undo entries would cost more than making them.
        """
        was_enabled = gc.isenabled()
        gc.disable()
        try:
            self._replay(ahead)
        finally:
            if was_enabled:
                gc.enable()

    def _replay(self, ahead: JournalAhead | None = None) -> None:
        plan = self._plan(ahead)
        self._apply_final(plan.final)
        for step in plan.steps:
            if step.kind in ("decide", "note", "second"):
                self._undo.append(step)
                self._redo.clear()
            elif step.kind == "undo":
                if self._undo and self._undo[-1].step == step.target:
                    self._redo.append(self._undo.pop())
                else:
                    self._undo.clear()
                    self._redo.clear()
            elif step.kind == "redo":
                if self._redo and self._redo[-1].step == step.target:
                    self._undo.append(self._redo.pop())
                else:
                    self._undo.clear()
                    self._redo.clear()
        self.recovered = len(self._dirty)
        name = journal_path(self.report.path).name
        if self.recovered:
            self.messages.append(
                f"Recovered {self.recovered} unsaved decisions from the journal {name}; save to write them to the report."
            )
        if plan.conflicts:
            self.messages.append(
                f"Journal decisions for {plan.conflicts} rows no longer match the report (changed outside "
                f"phi-review?) and were not applied; they stay in {name}."
            )
        self._carry = list(plan.carry)
        if plan.unplaced:
            shown = "; ".join(f"{shorten(inert(file), 60)} ({why})" for file, why in plan.unplaced[:5])
            more = f"; and {len(plan.unplaced) - 5} more" if len(plan.unplaced) > 5 else ""
            self.messages.append(
                f"{len(plan.unplaced)} journal decisions could not be placed in the report: {shown}{more}. "
                f"They were not applied and stay in {name}."
            )
        if plan.damaged:
            self.messages.append(f"{plan.damaged} damaged lines in the journal {name} were skipped.")
        self.checkpoint_recovered(plan)  # a long tail replayed: checkpoint it, so the next open is short

    # ------------------------------------------------------------------ changes

    def _require_writable(self) -> None:
        if self.read_only:
            raise PhiReviewError(f"read-only session ({self._read_only_reason}): decisions cannot be recorded")
        if self._journal is None or self._journal.closed:
            raise PhiReviewError("this review session is closed; open the report again to record decisions")

    def _check_index(self, index: int) -> Finding:
        if not isinstance(index, int) or not 0 <= index < len(self.findings):
            raise PhiReviewError(f"no finding number {index}")
        return self.findings[index]

    def _apply(self, index: int, values: dict[str, str] | object) -> None:
        """Set a finding's editable fields and keep counts, dirt and caches in step."""
        finding = self.findings[index]
        baseline = self._baseline.get(index)
        if baseline is None:
            baseline = self._baseline[index] = values_of(finding)
        was_reviewed = finding.reviewed
        finding.action = values["action"]  # type: ignore[index]
        finding.note = values["note"]  # type: ignore[index]
        finding.reviewer = values["reviewer"]  # type: ignore[index]
        finding.reviewed_at = values["reviewed_at"]  # type: ignore[index]
        finding.corrected_copy = values.get("corrected_copy", "")  # type: ignore[union-attr]
        finding.second_review, finding.second_reviewer, finding.second_reviewed_at = second_of(values)  # type: ignore[arg-type]
        self._reviewed += int(finding.reviewed) - int(was_reviewed)
        if full_values(values) == baseline:  # type: ignore[arg-type]
            self._dirty.discard(index)
        else:
            self._dirty.add(index)
        if self._changing is not None:
            self._changing["action"][index] = finding.action.lower()
            self._changing["note"][index] = finding.note.lower()

    def _apply_final(self, final: Mapping[int, Mapping[str, str]]) -> None:
        """Set each recovered row once (only its last state matters), keeping counts, dirt and caches as _apply."""
        self._reviewed += apply_final(self.findings, self._baseline, self._dirty, final)
        if self._changing is not None:
            for index in final:
                self._changing["action"][index] = self.findings[index].action.lower()
                self._changing["note"][index] = self.findings[index].note.lower()

    def _record(self, kind: str, changes: list[Change], target: int | None = None, extra: dict | None = None) -> int:
        """Journal first (durable), then apply: a change the disk refused is not shown as made."""
        assert self._journal is not None
        keys = [row_key(self.findings[change.index]) for change in changes]
        step = self._journal.append_step(kind, changes, self.reviewer, target, keys=keys, extra=extra)
        for change in changes:
            self._apply(change.index, change.new)
        self.checkpoint_if_due()  # the journal's state in one line: a reopen replays a short tail (saving.py)
        return step

    def action_by_position(self, n: int) -> str:
        """The action at 1-based position ``n`` (the digit keys)."""
        if not 1 <= n <= len(self.actions):
            raise PhiReviewError(f"no action number {n}: this report has {len(self.actions)} actions")
        return self.actions[n - 1]

    def decide(self, indexes: Sequence[int], action: str, note: str | None = None) -> list[int]:
        """Set ``action`` (and ``note``, when given) on the findings at ``indexes`` as one undo step.

        Returns the changed indexes. Rows that already hold ``action`` keep
        their reviewer and time. An empty action clears the decision. One call
        is one journal step, durable before it returns, or nothing at all.
        """
        self._require_writable()
        if action and action not in self.actions:
            raise PhiReviewError(f"'{action}' is not one of this report's actions")
        check_storable(action, "action")  # a list entry may hold ESC (_x001B_): refuse it now, not at every save
        if note is not None:
            check_storable(note, "note")
        check_holdable(self.report, indexes, {"note": note, "action": action, "reviewer name": self.reviewer if action else None})
        now = utc_now()
        changes: list[Change] = []
        seen: set[int] = set()
        for index in indexes:
            finding = self._check_index(index)
            if index in seen or (finding.action == action and (note is None or finding.note == note)):
                continue
            seen.add(index)
            old = values_of(finding)
            new = dict(old, action=action, reviewer=self.reviewer if action else "", reviewed_at=now if action else "")
            if finding.action == action:
                new.update(reviewer=old["reviewer"], reviewed_at=old["reviewed_at"])
            if note is not None:
                new["note"] = note
            changes.append(Change(index, finding.row, finding.file, old, new, True, finding.source,
                                  self.paths.get(index, "")))
        if not changes:
            return []
        step = self._record("decide", changes)
        self._undo.append(Step("decide", step, changes))
        self._redo.clear()
        return [change.index for change in changes]

    def rows_of_file(self, index: int) -> list[int]:
        """Indexes of every row naming the same file as row ``index`` (same name, Site ID and Event ID)."""
        finding = self._check_index(index)
        key = _file_key(finding)
        return [i for i, other in enumerate(self.findings) if _file_key(other) == key]

    def decide_rows(self, indexes: Sequence[int], action: str, note: str | None = None) -> list[int]:
        """Set ``action`` (and ``note``) on all ``indexes`` (e.g. ``rows_of_file``): one journal step, one undo."""
        return self.decide(indexes, action, note=note)

    def record_path(self, index: int, path: str | os.PathLike[str] | None) -> None:
        """Remember which file the reviewer was shown for a row; the journal's audit records carry it."""
        self._check_index(index)
        if path is None:
            self.paths.pop(index, None)
        else:
            self.paths[index] = str(path)

    def set_note(self, index: int, note: str) -> None:
        """Set the note of one finding (journaled, one undo step)."""
        self._require_writable()
        finding = self._check_index(index)
        check_storable(note, "note")
        check_holdable(self.report, [index], {"note": note})  # a Latin-1 CSV cannot hold every character
        if finding.note == note:
            return
        old = values_of(finding)
        change = Change(index, finding.row, finding.file, old, dict(old, note=note), True, finding.source,
                        self.paths.get(index, ""))
        step = self._record("note", [change])
        self._undo.append(Step("note", step, [change]))
        self._redo.clear()

    def set_corrected_copy(self, indexes: Sequence[int], copy: str, audit: dict | None = None) -> list[int]:
        """Record the corrected copy written for these rows' file (journaled like a decision, saved in a
        ``Corrected Copy`` column). Not an undo step: the copy exists on disk whatever the screen does."""
        self._require_writable()
        check_storable(copy, "corrected copy path")
        check_holdable(self.report, indexes, {"corrected copy path": copy})
        changes = []
        for index in indexes:
            finding = self._check_index(index)
            if finding.corrected_copy == copy:
                continue
            old = values_of(finding)
            changes.append(Change(index, finding.row, finding.file, old, dict(old, corrected_copy=copy), True,
                                  finding.source, self.paths.get(index, "")))
        if changes:
            self._record("copy", changes)
        if audit is not None and self._journal is not None:
            self._journal.append_audit(audit)
        return [change.index for change in changes]

    def undo(self) -> list[int]:
        """Revert the last step; returns the changed indexes, [] when there is nothing to undo."""
        if self.read_only or not self._undo:
            return []
        self._require_writable()
        step = self._undo[-1]
        changes = [
            Change(c.index, c.row, c.file, values_of(self.findings[c.index]), dict(c.old), True, c.source, c.path)
            for c in step.changes
        ]
        self._record("undo", changes, target=step.step)
        self._redo.append(self._undo.pop())
        return [change.index for change in changes]

    def redo(self) -> list[int]:
        """Apply the last undone step again; [] when there is nothing to redo."""
        if self.read_only or not self._redo:
            return []
        self._require_writable()
        step = self._redo[-1]
        changes = [
            Change(c.index, c.row, c.file, values_of(self.findings[c.index]), dict(c.new), True, c.source, c.path)
            for c in step.changes
        ]
        self._record("redo", changes, target=step.step)
        self._undo.append(self._redo.pop())
        return [change.index for change in changes]

    def close(self) -> None:
        """Release the journal and the lock (safe to call twice)."""
        if self._journal is not None:
            self._journal.close()
        if self._lock is not None:
            self._lock.release()

    def __enter__(self) -> "ReviewSession":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ views

    def progress(self) -> tuple[int, int]:
        """(reviewed, total), kept up to date incrementally."""
        return self._reviewed, len(self.findings)

    def toggle_mark(self, index: int) -> bool:
        """Mark or unmark one finding; True when it is now marked."""
        self._check_index(index)
        if index in self.marks:
            self.marks.discard(index)
            return False
        self.marks.add(index)
        return True

    def clear_marks(self) -> None:
        self.marks.clear()


def _changed_since(path: Path, report: Report) -> bool:
    if report.kind == "csv" and report.sources:  # several files, or a validator CSV read from its reviewed copy
        from phi_review.core.report.reader import changed_on_disk

        return changed_on_disk(report)
    try:
        stat = os.stat(path)
    except OSError:
        return True
    return (stat.st_size, stat.st_mtime_ns) != (report.fingerprint.size, report.fingerprint.mtime_ns)


