"""Counting the statistics screen's numbers off the main thread.

The same numbers as ``phi-review stats`` (``core.review.stats.compute_stats``),
but over the session's rows as they are now (decisions not yet saved
included), the pace read from the journal as ``stats`` reads it, and by
patient when the patient panel has read the headers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from textual.message import Message

from phi_review.core.common.inert import inert

if TYPE_CHECKING:
    from phi_review.tui.review.screen import ReviewScreen


@dataclass
class StatsCounted(Message):
    """The worker's answer: the charts' text, or one line saying why there is none."""

    text: str
    error: str = ""


def count_text(report: Any, findings: list[Any], patients: list[str] | None) -> str:
    """The charts for ``findings`` (the session's rows as a list; a decision made meanwhile may or may not
    be counted, never half of it: each field is read once)."""
    from copy import copy

    from phi_review.core.review.journal import journal_path
    from phi_review.core.review.stats import compute_stats, copy_proofs
    from phi_review.tui.commands.stats import render_text

    snapshot = copy(report)
    snapshot.findings = findings
    data = compute_stats(snapshot, clean_copies=copy_proofs(report), patients=patients,
                         journal=journal_path(report.path))
    return render_text(data, report.path.name)


class StatsController:
    """``s``: push the statistics screen at once, fill it when the worker has counted."""

    def __init__(self, screen: "ReviewScreen") -> None:
        self.screen = screen
        self.shown: Any = None
        self.counted_text = ""

    def open(self) -> None:
        from phi_review.tui.screens.stats_view import StatsScreen

        session = self.screen.session
        rows = len(session.findings)
        self.shown = StatsScreen(f"Counting {rows} rows…")
        self.screen.app.push_screen(self.shown)
        findings = list(session.findings)  # the rows themselves: copying 500,000 of them here would block keys
        patients = getattr(session, "patient_labels", None)
        patients = list(patients) if patients else None
        report = session.report
        screen = self.screen

        def work() -> None:
            try:
                text = count_text(report, findings, patients)
            except Exception as error:  # noqa: BLE001 - one line for people, never a traceback
                screen.post_message(StatsCounted("", f"Could not count: {inert(type(error).__name__)}"))
                return
            screen.post_message(StatsCounted(text))

        self.screen.run_worker(work, name="stats", group="stats", thread=True, exclusive=True,
                               exit_on_error=False)

    def counted(self, message: StatsCounted) -> None:
        self.counted_text = message.text or message.error
        if self.shown is not None:
            self.shown.show_text(self.counted_text)
