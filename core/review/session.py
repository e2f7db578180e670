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

import getpass
import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from phi_review.core.common.errors import LockedError, PhiReviewError, ReportError
from phi_review.core.review.journal import (
    Change,
    Journal,
    Step,
    journal_path,
    utc_now,
    values_of,
)
from phi_review.core.review.recovery import RecoveryPlan, plan_recovery, row_key
from phi_review.core.report.model import EDITABLE_FIELDS, Finding, Report
from phi_review.core.report.lock import ReportLock
from phi_review.core.report.cell_text import cell_text_problem
from phi_review.core.common.atomic_file import remove_stale_temps
from phi_review.core.common.inert import inert, shorten

# Characters a spreadsheet (XML 1.0) cannot store; refused when typed, not at save time.
_UNSTORABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_TOKEN = re.compile(r'(?:(?P<key>[A-Za-z]+):)?"(?P<quoted>[^"]*)"?|(?P<bare>\S+)')
_FIELD_TERMS = ("file", "value", "tag", "note", "site", "event", "details")
_UNREVIEWED_WORDS = ("none", "unreviewed", "")


@dataclass
class Group:
    """Rows sharing one issue and detected value (compared trimmed, case-insensitively)."""

    issue: str
    value: str
    indexes: list[int]
    reviewed: int


@dataclass(frozen=True)
class SavePlan:
    """One save, snapshotted on the main thread: all a worker needs to write the report."""

    report: Report
    edits: dict[object, dict[str, str]]  # {row, or (source, row) for several CSVs: {field: text}}
    written: dict[int, dict[str, str]]  # finding index -> every editable value as written
    next_seq: int  # the journal's next seq at prepare: later records are carried by the "saved" line
    carry: tuple[int, ...]  # seqs recovery left unplaced, carried by every save
    kept: str  # the failure message's promise that the journal keeps the decisions


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


class ReviewSession:
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
        self._undo: list[Step] = []
        self._redo: list[Step] = []
        self._baseline: dict[int, dict[str, str]] = {}  # values on disk, for touched rows
        self._dirty: set[int] = set()
        self._carry: list[int] = []  # journal seqs not placed in the report: every save carries them on
        self._reviewed = sum(1 for finding in self.findings if finding.reviewed)
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
        """
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
        # Read before locking, so bad input (not a spreadsheet, no header) leaves
        # no lock or journal file behind; re-read under the lock if it changed.
        report = read_report(wanted, sheet=sheet)
        path = report.path
        if read_only:
            return cls._open_read_only(report, reviewer, "opened read-only as asked")

        lock: ReportLock | None = None
        journal: Journal | None = None
        try:
            lock = ReportLock.acquire(path)
            journal = Journal.open(path, sheet=report.sheet)
        except (LockedError, ReportError) as error:
            if lock is not None:
                lock.release()
            if not allow_read_only_fallback:
                if isinstance(error, LockedError):
                    raise LockedError(f"{error}; close that session first") from None
                raise
            return cls._open_read_only(report, reviewer, str(error))

        try:
            if _changed_since(path, report):
                report = read_report(wanted, sheet=sheet)  # another writer saved before we locked
                journal.sheet = report.sheet
            session = cls(report, reviewer=reviewer, read_only=False, lock=lock, journal=journal)
            if report.kind != "csv" or not report.sources or not report.sources[0].name:
                stale = remove_stale_temps(report.path)  # under the lock: no save of ours is running
                if stale:
                    session.messages.append(f"Removed {stale} temporary copies of the report left by an interrupted save.")
            session._recover()
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
    def _open_read_only(cls, report: Report, reviewer: str, reason: str) -> "ReviewSession":
        """A session that shows the report and refuses changes; ``reason`` says why, in one line."""
        session = cls(report, reviewer=reviewer, read_only=True)
        session._read_only_reason = reason
        if reason != "opened read-only as asked":
            session.messages.insert(0, f"{reason}; opened read-only, decisions cannot be recorded.")
        try:
            plan = session._plan()
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

    def _plan(self) -> RecoveryPlan:
        return plan_recovery(
            journal_path(self.report.path), self.findings, self.report.fingerprint.sha256, self.report.sheet or ""
        )

    def _recover(self) -> None:
        """Replay journal records the report on disk lacks, and rebuild undo/redo."""
        plan = self._plan()
        for step in plan.steps:
            for change in step.changes:
                if change.pending:
                    self._apply(change.index, change.new)
            if step.kind in ("decide", "note"):
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
        self._reviewed += int(finding.reviewed) - int(was_reviewed)
        if values == baseline:
            self._dirty.discard(index)
        else:
            self._dirty.add(index)
        if self._changing is not None:
            self._changing["action"][index] = finding.action.lower()
            self._changing["note"][index] = finding.note.lower()

    def _record(self, kind: str, changes: list[Change], target: int | None = None) -> int:
        """Journal first (durable), then apply: a change the disk refused is not shown as made."""
        assert self._journal is not None
        keys = [row_key(self.findings[change.index]) for change in changes]
        step = self._journal.append_step(kind, changes, self.reviewer, target, keys=keys)
        for change in changes:
            self._apply(change.index, change.new)
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

    # ------------------------------------------------------------------ saving

    @property
    def unsaved(self) -> int:
        """How many findings differ from the report on disk."""
        return len(self._dirty)

    @property
    def saving(self) -> bool:
        """True between ``prepare_save`` and ``finish_save``/``abandon_save``: one save at a time."""
        return self._saving is not None

    def save(self) -> list[str]:
        """Write the changed rows to the report; returns the writer's warnings.

        On failure the ReportError says the decisions are still in the journal
        (they are: every change was journaled before it was shown). The screen
        runs the same three steps with ``write_save`` in a thread.
        """
        plan = self.prepare_save()
        if plan is None:
            return []
        try:
            warnings = self.write_save(plan)
        except BaseException:
            self.abandon_save(plan)
            raise
        return self.finish_save(plan, warnings)

    def prepare_save(self) -> "SavePlan | None":
        """Main thread: snapshot the dirty rows' edits and the journal's next seq (None: nothing to save).

        The worker gets only this snapshot, so decisions made while it writes
        change the session, never what is being written.
        """
        self._require_writable()
        if self._saving is not None:
            raise PhiReviewError("a save is already running; this one waits for it")
        if not self._dirty:
            return None
        dirty = sorted(self._dirty)
        edits: dict[object, dict[str, str]] = {}
        written: dict[int, dict[str, str]] = {}
        for index in dirty:
            finding = self.findings[index]
            before = self._baseline[index]
            now = values_of(finding)
            written[index] = now
            edits[(finding.source, finding.row) if finding.source else finding.row] = {
                name: now[name] for name in EDITABLE_FIELDS if now[name] != before[name]
            }
        kept = (
            f"your {len(dirty)} unsaved decisions are kept in the journal "
            f"{journal_path(self.report.path).name} and come back when you open the report again"
        )
        assert self._journal is not None
        plan = SavePlan(self.report, edits, written, self._journal_seq(), tuple(self._carry), kept)
        self._saving = plan
        return plan

    @staticmethod
    def write_save(plan: "SavePlan") -> list[str]:
        """Worker-safe: write ``plan``'s edits into the report file; reads nothing but the plan.

        Only a save mutates the report object (its fingerprint and appended
        columns), and one save runs at a time.
        """
        from phi_review.core.report.writer import save_report

        try:
            return list(save_report(plan.report, plan.edits))  # type: ignore[arg-type]
        except ReportError as error:
            raise ReportError(f"{str(error).rstrip('.')}; {plan.kept}.") from error
        except OSError as error:
            raise ReportError(f"cannot save {plan.report.path.name} ({error.strerror}); {plan.kept}.") from error

    def finish_save(self, plan: "SavePlan", warnings: Sequence[str]) -> list[str]:
        """Main thread, after ``write_save`` succeeded: clean what was written, journal the save.

        A row changed while the save ran stays dirty (against what was written);
        the "saved" record carries every journal record from ``plan.next_seq`` on,
        so recovery never takes a decision made during the save as saved.
        """
        warnings = list(warnings)
        for index, values in plan.written.items():
            if values_of(self.findings[index]) == values:
                self._baseline.pop(index, None)
                self._dirty.discard(index)
            else:
                self._baseline[index] = dict(values)
                self._dirty.add(index)
        self._saving = None
        fingerprint = plan.report.fingerprint
        carry = list(plan.carry) + list(range(plan.next_seq, self._journal_seq()))
        try:
            if self._journal is None or self._journal.closed:
                raise ReportError("the journal is closed")
            self._journal.append_saved(fingerprint.sha256, fingerprint.size, sorted(plan.edits), self.reviewer,
                                       carry=carry)
        except ReportError as error:
            warnings.append(f"saved, but {error}")
        return warnings

    def abandon_save(self, plan: "SavePlan") -> None:
        """The write failed: nothing changes (every decision is still dirty and in the journal)."""
        if self._saving is plan:
            self._saving = None

    def _journal_seq(self) -> int:
        """The seq the journal gives its next record."""
        return self._journal.next_seq if self._journal is not None else 0

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

    def _column(self, name: str) -> "_Column":
        """A field that never changes (file, value, issue, tag, site, event, details), lowercased once."""
        column = self._fixed.get(name)
        if column is None:
            column = self._fixed[name] = _Column([getattr(finding, name) for finding in self.findings])
        return column

    def _changing_columns(self) -> dict[str, list[str]]:
        """Action and note, lowercased, one entry per row (decisions update them in place)."""
        if self._changing is None:
            self._changing = {name: _lowered([getattr(finding, name) for finding in self.findings])
                              for name in ("action", "note")}
        return self._changing

    def _cells(self) -> list["_Column"]:
        """The other cells of the rows as read, column by column (Details, Score, Site...: plain text search).

        Columns read into a field (file, value, issue, tag) are searched there, and
        action and note as they are now, not as the file had them.
        """
        if self._cell_columns is None:
            rows = [finding.cells for finding in self.findings]
            width = max(map(len, rows), default=0)
            if rows and min(map(len, rows)) != width:  # ragged rows (CSV): pad the short ones
                rows = [list(cells) + [""] * (width - len(cells)) for cells in rows]
            columns = self.report.columns if len(self.report.sources) <= 1 else None  # several CSVs: own layouts
            mapped = {getattr(columns, name, None) for name in ("file", "value", "issue", "tag", "action", "note")}
            self._cell_columns = [_Column([cells[k] for cells in rows]) for k in range(width) if k not in mapped]
        return self._cell_columns

    def prepare_filter(self) -> None:
        """Build the columns ``filter`` searches now, not at the first query; safe in a worker thread
        (it reads only what no decision changes: action and note are built at the first query)."""
        for name in ("file", "value", "issue", "tag"):
            self._column(name)
        self._cells()

    def filter(self, query: str) -> list[int]:
        """Indexes of findings matching every term of ``query``, in report order.

        Terms: ``is:unreviewed|reviewed|marked``, ``issue:TEXT``,
        ``action:TEXT`` (``action:none`` = unreviewed), ``file:``/``value:``/
        ``tag:``/``note:TEXT``, ``"quoted phrases"``, and plain text matched in
        file, value, issue, tag, note and action. All case-insensitive
        substrings; an unknown ``key:`` is plain text.
        """
        candidates: list[int] = list(range(len(self.findings)))
        for key, text in _terms(query):
            if not candidates:
                break
            candidates = self._apply_term(candidates, key, text)
        return candidates

    def _apply_term(self, candidates: list[int], key: str, text: str) -> list[int]:
        findings = self.findings
        if key == "is" and text in ("unreviewed", "todo", "open"):
            return [i for i in candidates if not findings[i].reviewed]
        if key == "is" and text in ("reviewed", "done", "decided"):
            return [i for i in candidates if findings[i].reviewed]
        if key == "is" and text == "marked":
            marks = self.marks
            return [i for i in candidates if i in marks]
        if key == "is" and text == "unmarked":
            marks = self.marks
            return [i for i in candidates if i not in marks]
        if key == "kind":  # pixels, header, missing, warning, error, other (core.report.pointer)
            from phi_review.core.report.pointer import pointer_of

            return [i for i in candidates if pointer_of(findings[i]).kind == text]
        if key == "action" and text in _UNREVIEWED_WORDS:
            return [i for i in candidates if not findings[i].reviewed]
        if key in ("action", "note"):
            column = self._changing_columns()[key]
            return [i for i in candidates if text in column[i]]
        if key == "issue" or key in _FIELD_TERMS:
            hits = self._column(key).rows(text)
        else:
            plain = f"{key}:{text}" if key else text
            hits = set()
            for column in (*(self._column(name) for name in ("file", "value", "issue", "tag")), *self._cells()):
                hits.update(column.rows(plain))
            for values in self._changing_columns().values():  # joined for this query: a find per hit, not a test per row
                hits.update(_Column(values, lowered=True).rows(plain))
        if len(candidates) == len(self.findings):  # the first term: every row is a candidate
            return sorted(hits)
        return [i for i in candidates if i in hits]

    def groups(self, by: str = "value") -> list[Group]:
        """Findings grouped by issue and detected value (``by="tag"``: issue and tag; ``"file"``: file), largest first.

        A placeholder such as ``tag missing`` is never a value: such rows group by
        the tags they name, so one key never decides different tags at once.
        """
        from phi_review.core.report.pointer import group_value, is_placeholder, pointer_of

        if by not in ("value", "tag", "file"):
            raise PhiReviewError(f"cannot group by {by!r}: use value, tag or file")
        by_key: dict[tuple[str, str], Group] = {}
        for index, finding in enumerate(self.findings):
            if by == "file":
                where = "/".join(p for p in (finding.site.strip(), finding.event.strip()) if p)
                issue, value = "File", (f"{where}: " if where else "") + finding.file.strip()
            elif by == "tag":
                issue, value = finding.issue.strip(), ", ".join(pointer_of(finding).tags) or "(no tag)"
            else:
                issue, value = finding.issue.strip(), finding.value.strip()
                if finding.details or is_placeholder(value):
                    value = group_value(finding)
            key = (issue, value.casefold())
            group = by_key.get(key)
            if group is None:
                group = by_key[key] = Group(key[0], value, [], 0)
            group.indexes.append(index)
            group.reviewed += finding.reviewed
        return sorted(by_key.values(), key=lambda g: (-len(g.indexes), g.issue, g.value.casefold()))

    def next_unreviewed(self, order: Sequence[int], start_pos: int, step: int = 1) -> int | None:
        """Position in ``order`` of the next unreviewed finding after ``start_pos``, wrapping.

        ``step`` -1 searches backwards. The start position itself is checked
        last, so a lone unreviewed row under the cursor is still found.
        """
        count = len(order)
        if not count or step == 0:
            return None
        direction = 1 if step > 0 else -1
        findings = self.findings
        for offset in range(1, count + 1):
            position = (start_pos + offset * direction) % count
            if not findings[order[position]].reviewed:
                return position
        return None


def _changed_since(path: Path, report: Report) -> bool:
    if len(report.sources) > 1 or (report.sources and report.sources[0].name):
        from phi_review.core.report.reader import changed_on_disk

        return changed_on_disk(report)
    try:
        stat = os.stat(path)
    except OSError:
        return True
    return (stat.st_size, stat.st_mtime_ns) != (report.fingerprint.size, report.fingerprint.mtime_ns)


_ROW_SEP = "\x01"  # between rows in a _Column's text; in a cell it becomes U+FFFE, which no typed term holds
_CHUNK = 50_000  # rows lowercased per join: bounded temporary memory


def _lowered(texts: list[object]) -> list[str]:
    """Every text lowercased: one join, one ``lower`` and one split per chunk (C speed, not one call per row)."""
    texts = [t if t.__class__ is str else ("" if t is None else str(t)) for t in texts]
    out: list[str] = []
    for start in range(0, len(texts), _CHUNK):
        chunk = texts[start:start + _CHUNK]
        parts = _ROW_SEP.join(chunk).lower().split(_ROW_SEP)
        out.extend(parts if len(parts) == len(chunk) else [t.lower() for t in chunk])
    return out


class _Column:
    """One column that never changes, lowercased into a single string (rows joined by \x01).

    A term is found with ``str.find`` and its row counted with ``str.count``, both C
    loops: no per-row string is kept, and building it is a join and a ``lower``.
    """

    __slots__ = ("text", "size")

    def __init__(self, values: list[object], lowered: bool = False) -> None:
        try:
            joined = _ROW_SEP.join(values)  # type: ignore[arg-type]
        except TypeError:  # numbers or empty cells (Score): as the screen shows them
            joined = _ROW_SEP.join([v if v.__class__ is str else ("" if v is None else str(v)) for v in values])
        if joined.count(_ROW_SEP) != max(len(values) - 1, 0):
            joined = _ROW_SEP.join(("" if v is None else str(v)).replace(_ROW_SEP, "\ufffe") for v in values)
        self.text = joined if lowered else joined.lower()
        self.size = len(values)

    def rows(self, term: str) -> set[int]:
        """Indexes of the rows whose value holds ``term`` (already lowercase)."""
        if not term:
            return set(range(self.size))
        if _ROW_SEP in term:
            return set()
        find, count = self.text.find, self.text.count
        if count(term) > self.size // 8:  # most rows hold it: one split and a test per row beat a find per hit
            return {row for row, value in enumerate(self.text.split(_ROW_SEP)) if term in value}
        found: set[int] = set()
        row, start = 0, 0
        position = find(term)
        while position != -1:
            row += count(_ROW_SEP, start, position)
            found.add(row)
            end = find(_ROW_SEP, position + len(term))
            if end == -1:
                break
            row, start = row + 1, end + 1
            position = find(term, start)
        return found


def _file_key(finding: Finding) -> tuple[str, str, str]:
    return (finding.file.strip(), finding.site.strip().lower(), finding.event.strip().lower())


def _terms(query: str) -> list[tuple[str, str]]:
    """Split a filter query into (key, lowercased text) pairs; key "" for plain text."""
    terms: list[tuple[str, str]] = []
    for match in _TOKEN.finditer(query):
        if match.group("bare") is not None:
            bare = match.group("bare")
            key, sep, text = bare.partition(":")
            if sep and key.lower() in _KNOWN_KEYS:
                terms.append((key.lower(), text.lower()))
            else:
                terms.append(("", bare.lower()))
        else:
            key = (match.group("key") or "").lower()
            text = match.group("quoted").lower()
            if key and key not in _KNOWN_KEYS:
                terms.append(("", f"{key}:{text}"))
            elif key or text:
                terms.append((key, text))
    return terms


_KNOWN_KEYS = frozenset(("is", "issue", "action", "kind", *_FIELD_TERMS))
