"""Decisions on the review screen: actions, marks, undo, notes, filters, groups, save and quit.

The session journals every change before this controller repaints, so what the
screen shows as decided is already durable.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from textual import events
from textual.message import Message

from phi_review.core.common.errors import PhiReviewError
from phi_review.core.common.inert import inert
from phi_review.tui.screens.dialogs import AskTextScreen, ConfirmScreen
from phi_review.tui.screens.groups import GROUPINGS, GroupsScreen
from phi_review.tui.widgets.findings_list import FindingsList

if TYPE_CHECKING:
    from phi_review.tui.review.screen import ReviewScreen

FILTER_HINT = (
    "Words must all match file, value, issue, tag, note or action.\n"
    "is:unreviewed  is:reviewed  is:marked  issue:pixels|header|missing  action:none|TEXT\n"
    "is:disputed (second pass)  patient:P3 (after P has read the patients)\n"
    "Empty clears the filter."
)


class DecisionController:
    """Turns keys into session changes and keeps the list and status line in step."""

    def __init__(self, screen: "ReviewScreen") -> None:
        self.screen = screen
        self.filter_text = ""
        self.save_state = "not saved yet" if screen.session.unsaved else "saved"
        self.quit_armed = False
        self._save: _RunningSave | None = None  # the save whose write runs in a thread
        self._save_again = False  # ctrl+s during a save: one more save after it
        self._quit_after_save = False  # q during a save (or q's own save): exit once it is done
        self._filter_prepared = False

    @property
    def session(self) -> Any:
        return self.screen.session

    def _list(self) -> FindingsList:
        return self.screen.query_one(FindingsList)

    def _notify(self, text: str, **kwargs: Any) -> None:
        self.screen.notify(text, markup=False, **kwargs)

    def refresh_rows(self, indexes: Iterable[int]) -> None:
        findings = self._list()
        for index in indexes:
            findings.refresh_index(index)
        self.screen.update_status()

    def refuse_if_read_only(self) -> bool:
        if self.session.read_only:
            self._notify("This report is open read-only: decisions cannot be recorded.", severity="warning")
            return True
        return False

    def writable_action(self, position: int) -> str | None:
        """The action at ``position`` if decisions can be recorded now, else None (and say why)."""
        if self.refuse_if_read_only():
            return None
        try:
            return self.session.action_by_position(position)
        except PhiReviewError as error:
            self._notify(inert(error), severity="warning")
            return None

    # ----- actions ----------------------------------------------------------------
    def decide_key(self, position: int) -> None:
        action = self.writable_action(position)
        if action is None:
            return
        findings = self._list()
        if self.session.marks:
            targets = sorted(self.session.marks)
            question = f"Set {len(targets)} marked rows to '{inert(action)}'?"

            def apply(yes: bool | None) -> None:
                if yes:
                    self.decide(targets, action)
                    self.session.clear_marks()
                    findings.refresh()
                    self.screen.update_status()

            self.screen.app.push_screen(ConfirmScreen(question), apply)
            return
        current = findings.current
        if current is None:
            return
        self.decide([current], action)
        self.advance_to_unreviewed()

    def decide(self, indexes: list[int], action: str) -> bool:
        if getattr(self.screen.app, "second_pass", False):  # every first decision (file, group, values) comes here
            self._notify("In the second pass the first decisions stay as they are: a confirms, d disputes.",
                         severity="warning")
            return False
        try:
            changed = self.session.decide(indexes, action)
        except PhiReviewError as error:
            self._notify(inert(error), severity="error")
            return False
        self.save_state = "unsaved changes"
        self.refresh_rows(changed)
        return True

    def decide_file(self) -> None:
        """Every row of the current file (same name, site and event) to one action, after saying how many."""
        from phi_review.tui.screens.dialogs import PickScreen

        if self.refuse_if_read_only():
            return
        current = self._list().current
        if current is None:
            return
        rows = self.session.rows_of_file(current)
        finding = self.session.findings[current]
        actions = list(self.session.actions[:9])
        what = "the 1 row" if len(rows) == 1 else f"all {len(rows)} rows"
        title = f"Set {what} of {inert(finding.file)} to:"

        def apply(choice: int | None) -> None:
            if choice is None:
                return
            action = actions[choice]
            if self.decide(rows, action):
                self._notify(f"{len(rows)} row{'s' if len(rows) != 1 else ''} of {inert(finding.file)} "
                             f"set to '{inert(action)}'.")
                self._list().refresh()

        self.screen.app.push_screen(PickScreen(title, [f"{n}  {a}" for n, a in enumerate(actions, start=1)]), apply)

    def advance_to_unreviewed(self) -> None:
        findings = self._list()
        position = self.session.next_unreviewed(findings.order, findings.cursor, 1)
        if position is None:
            reviewed, total = self.session.progress()
            self._notify(f"All shown rows are reviewed ({reviewed}/{total}). Ctrl+S saves.")
            if findings.cursor < len(findings.order) - 1:
                findings.cursor += 1
            return
        findings.cursor = position

    def next_unreviewed(self, step: int) -> None:
        findings = self._list()
        position = self.session.next_unreviewed(findings.order, findings.cursor, step)
        if position is None:
            self._notify("No unreviewed rows in this view.")
        else:
            findings.cursor = position

    def mark(self) -> None:
        findings = self._list()
        current = findings.current
        if current is None:
            return
        self.session.toggle_mark(current)
        findings.refresh_index(current)
        if findings.cursor < len(findings.order) - 1:
            findings.cursor += 1
        self.screen.update_status()

    def undo_redo(self, redo: bool) -> None:
        if self.refuse_if_read_only():
            return
        try:
            changed = self.session.redo() if redo else self.session.undo()
        except PhiReviewError as error:
            self._notify(inert(error), severity="error")
            return
        if not changed:
            self._notify("Nothing to redo." if redo else "Nothing to undo.")
            return
        self.save_state = "unsaved changes"
        self.refresh_rows(changed)
        self._list().move_to(changed[0])

    def note(self) -> None:
        if self.refuse_if_read_only():
            return
        current = self._list().current
        if current is None:
            return
        finding = self.session.findings[current]

        def apply(text: str | None) -> None:
            if text is None or text == finding.note:
                return
            try:
                self.session.set_note(current, text)
            except PhiReviewError as error:
                self._notify(inert(error), severity="error")
                return
            self.save_state = "unsaved changes"
            self.refresh_rows([current])
            self.screen.files.schedule_load(current, delay=0)

        from phi_review.core.report.csv_encoding import cannot_hold
        from phi_review.core.review.session import note_problem

        def problem(text: str) -> str | None:  # a Latin-1 CSV cannot hold every character: say so, keep the text
            return note_problem(text) or cannot_hold(self.session.report, text, "note", [finding.source])

        self.screen.app.push_screen(
            AskTextScreen(f"Note for row {finding.row}", finding.note, "Enter saves the note, Esc cancels.",
                          validate=problem),
            apply,
        )

    # ----- filter & groups --------------------------------------------------------
    def ask_filter(self) -> None:
        def apply(text: str | None) -> None:
            if text is not None:
                self.apply_filter(text)

        if not self._filter_prepared:  # the search columns are built while the reviewer types
            self._filter_prepared = True
            self.screen.run_worker(self.session.prepare_filter, name="filter columns", group="filter",
                                   thread=True, exit_on_error=False)

        self.screen.app.push_screen(
            AskTextScreen("Filter rows", self.filter_text, FILTER_HINT, "e.g. is:unreviewed issue:pixels"), apply
        )

    def apply_filter(self, text: str) -> None:
        findings = self._list()
        keep = findings.current
        self.filter_text = text.strip()
        order = self.session.filter(self.filter_text) if self.filter_text else list(range(len(self.session.findings)))
        findings.set_order(order, keep=keep)
        if not order:
            self._notify("No rows match this filter (Esc clears it).", severity="warning")
        self.screen.update_status()

    def clear(self) -> None:
        if self.session.marks:
            self.session.clear_marks()
            self._list().refresh()
            self.screen.update_status()
        elif self.filter_text:
            self.apply_filter("")

    def groups(self, by: str | None = None) -> None:
        groupings = (*GROUPINGS, "patient") if any(self.session.patient_labels) else GROUPINGS
        self.screen.app.push_screen(
            GroupsScreen(self.session.groups, self.session.actions, self.decide_group, self.show_group, groupings, by)
        )

    def decide_group(self, group: Any, position: int) -> None:
        action = self.writable_action(position)
        if action is None:
            return
        count = len(group.indexes)
        rows = "the 1 row" if count == 1 else f"all {count} rows"
        question = f"Set {rows} of '{inert(group.value) or '(empty)'}' ({inert(group.issue)}) to '{inert(action)}'?"

        def apply(yes: bool | None) -> None:
            if yes and self.decide(list(group.indexes), action):
                self._notify(f"{count} row{'s' if count != 1 else ''} set to '{inert(action)}'.")
                self._list().refresh()
                if isinstance(self.screen.app.screen, GroupsScreen):
                    self.screen.app.screen.reload()

        self.screen.app.push_screen(ConfirmScreen(question), apply)

    def show_group(self, group: Any) -> None:
        findings = self._list()
        self.filter_text = f"group: {inert(group.value)[:30]}"
        findings.set_order(list(group.indexes), keep=findings.current)
        self.screen.update_status()

    # ----- save & quit ------------------------------------------------------------
    def save(self) -> bool:
        """ctrl+s: start a save in a thread (the screen stays live); during a save, queue one more."""
        if self.session.read_only:
            self._notify("Read-only: nothing to save.")
            return True
        if self._save is not None:
            self._save_again = True
            self._notify("Saving…; the changes made meanwhile are saved right after.")
            return True
        if not self.session.unsaved:
            self._notify("Nothing to save: the report already holds every decision.")
            return True
        return self._start_save()

    def _start_save(self) -> bool:
        """Snapshot on the main thread, write in a worker; ``_save_done`` finishes on the main thread."""
        try:
            plan = self.session.prepare_save()
        except PhiReviewError as error:
            self._save_failed(error)
            return False
        if plan is None:
            return True
        running = _RunningSave(plan)
        self._save = running
        self.save_state = "saving…"
        self.screen.update_status()
        session, screen = self.session, self.screen

        def write() -> None:
            try:
                running.warnings = session.write_save(plan)
            except PhiReviewError as error:
                running.error = error
            except Exception as error:  # noqa: BLE001 - a bug in a writer must not leave the save hanging
                running.error = PhiReviewError(f"cannot save ({type(error).__name__}); {plan.kept}")
            running.done.set()
            screen.post_message(events.Callback(callback=lambda: self._save_done(running)))

        self.screen.run_worker(write, name="save", group="save", thread=True, exclusive=True, exit_on_error=False)
        return True

    def _save_done(self, running: "_RunningSave") -> None:
        """Main thread: the write is over; clean what was written, then a queued save or a pending quit."""
        if self._save is not running:
            return  # already finished (save_quietly waited for it)
        self._save = None
        if running.error is not None:
            self.session.abandon_save(running.plan)
            self._save_again = False
            self._save_failed(running.error)
            if self._quit_after_save:
                self._quit_after_save = False
                self._arm_quit()
            return
        warnings = self.session.finish_save(running.plan, running.warnings)
        self.save_state = f"saved {time.strftime('%H:%M:%S')}"
        self.screen.update_status()
        self._notify(f"Saved {len(running.plan.written)} changed rows to {inert(self.session.report.path.name)}.")
        for warning in warnings:
            self._notify(inert(warning), severity="warning", timeout=10)
        self.screen.post_message(SaveDone(len(running.plan.written), None))
        again, self._save_again = self._save_again, False
        if self._quit_after_save:
            if self.session.unsaved:
                self._start_save()  # decided during the save: save those too, then quit
            else:
                self._quit_after_save = False
                self.screen.app.exit()
        elif again and self.session.unsaved:
            self._start_save()

    def _save_failed(self, error: PhiReviewError) -> None:
        self.save_state = "SAVE FAILED"
        self.screen.update_status()
        self._notify(f"Save failed: {inert(error)}", severity="error", timeout=15)
        self.screen.post_message(SaveDone(0, inert(error)))

    @property
    def saving(self) -> bool:
        return self._save is not None

    def save_quietly(self) -> bool:
        """Save without touching the screen (on a signal); waits for a running save. Failures stay in the journal."""
        if self.session.read_only:
            return True
        running = self._save
        if running is not None:
            running.done.wait()
            self._save = None
            if running.error is not None:
                self.session.abandon_save(running.plan)
                return False
            self.session.finish_save(running.plan, running.warnings)
        if not self.session.unsaved:
            return True
        try:
            self.session.save()
        except PhiReviewError:
            return False
        return True

    def quit(self) -> None:
        """Save, then exit; if saving fails, a second q exits with every decision kept in the journal.

        During a save, q waits for it (and saves again what was decided meanwhile) before exiting.
        """
        app = self.screen.app
        if self.session.read_only or self.quit_armed:
            app.exit()
            return
        if self._save is not None:
            self._quit_after_save = True
            self._notify("Saving…; quitting when the save is done.")
            return
        if not self.session.unsaved:
            app.exit()
            return
        self._quit_after_save = True
        if not self._start_save():
            self._quit_after_save = False
            self._arm_quit()

    def _arm_quit(self) -> None:
        self.quit_armed = True
        self._notify(
            "Not saved. Press q again to quit anyway: every decision stays in the journal and is recovered next time.",
            severity="warning",
            timeout=15,
        )


class _RunningSave:
    """One save in flight: its plan, and what the worker found (read after ``done`` is set)."""

    def __init__(self, plan: Any) -> None:
        self.plan = plan
        self.done = threading.Event()
        self.warnings: list[str] = []
        self.error: PhiReviewError | None = None


class SaveDone(Message):
    """Posted to the review screen when a save ends: ``rows`` written, or ``error`` (inert, one line)."""

    def __init__(self, rows: int, error: str | None) -> None:
        super().__init__()
        self.rows = rows
        self.error = error
