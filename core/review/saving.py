"""Saving a session: snapshot on the main thread, write in a worker, finish on the main thread.

A decision made while the report is being written changes the session, never
what is being written; the journal's "saved" line carries every record after
the snapshot, so recovery never takes such a decision as saved.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from phi_review.core.common.errors import PhiReviewError, ReportError
from phi_review.core.report.model import EDITABLE_FIELDS, Report
from phi_review.core.review.journal import CHECKPOINT_MIN, CHECKPOINT_SHARE, journal_path, values_of


@dataclass(frozen=True)
class SavePlan:
    """One save, snapshotted on the main thread: all a worker needs to write the report."""

    report: Report
    edits: dict[object, dict[str, str]]  # {row, or (source, row) for several CSVs: {field: text}}
    written: dict[int, dict[str, str]]  # finding index -> every editable value as written
    next_seq: int  # the journal's next seq at prepare: later records are carried by the "saved" line
    carry: tuple[int, ...]  # seqs recovery left unplaced, carried by every save
    kept: str  # the failure message's promise that the journal keeps the decisions


class SavingMixin:
    """The save half of ReviewSession (it holds the findings, baseline, dirty set and journal)."""

    findings: Any
    report: Any
    reviewer: str
    _baseline: Any
    _dirty: Any
    _journal: Any
    _carry: Any
    _saving: Any


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

    def checkpoint_due(self) -> bool:
        """Whether the journal has grown enough since its last checkpoint or save to write one now.

        After CHECKPOINT_MIN rows, and after 1/CHECKPOINT_SHARE as many rows as the checkpoint would hold:
        a reopen then replays at most about that share of the changed rows line by line, and the
        checkpoints (about 12 bytes a row) stay small beside the steps (about 300 bytes each).
        Never while a save runs: its rows are in neither the report nor the baseline yet.
        """
        journal = self._journal
        if journal is None or journal.closed or self._saving is not None or not self._dirty:
            return False
        return journal.rows_since_checkpoint >= max(CHECKPOINT_MIN, len(self._dirty) // CHECKPOINT_SHARE)

    def checkpoint_if_due(self) -> None:
        if self.checkpoint_due():
            self.write_checkpoint()

    def checkpoint_recovered(self, plan: Any) -> None:
        """After recovery: count the rows it replayed, and checkpoint them when they are many.

        Not when rows conflicted: their records would be summed up away, and the reviewer is told at
        each open until a save, as before."""
        if self._journal is not None:
            self._journal.rows_since_checkpoint = plan.since_checkpoint
            if not plan.conflicts:
                self.checkpoint_if_due()

    def write_checkpoint(self) -> bool:
        """Journal every changed row's state against the report on disk (after the step that made it due).

        Best effort: the steps are durable already, so a disk that refuses the checkpoint loses nothing;
        the next try waits for as many rows again. True when it was written.
        """
        journal = self._journal
        if journal is None or journal.closed or self._saving is not None:
            return False
        indexes = sorted(self._dirty)
        findings = [self.findings[index] for index in indexes]
        old = [self._baseline[index] for index in indexes]
        fingerprint = self.report.fingerprint
        try:
            journal.append_checkpoint(findings, old, fingerprint.sha256, fingerprint.size, self.reviewer,
                                      list(self._carry))
        except ReportError:
            journal.rows_since_checkpoint = 0
            return False
        return True

    def _journal_seq(self) -> int:
        """The seq the journal gives its next record."""
        return self._journal.next_seq if self._journal is not None else 0
