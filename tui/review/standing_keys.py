"""Keys of the review screen for where the review stands: statistics, patients, the second pass
(and T, how much of the text panel a narrow screen shows).

A mixin, so the screen's own module stays about reviewing; each key hands its
work to a controller made on first use.
"""

from __future__ import annotations

from textual.binding import Binding

from phi_review.tui.review.patients_ctl import PatientsController, PatientsProgress, PatientsRead
from phi_review.tui.review.second_ctl import SecondPassController
from phi_review.tui.review.stats_ctl import StatsController, StatsCounted


class StandingKeys:
    """Actions and worker messages for the statistics screen, the patient panel and the second pass."""

    STANDING_BINDINGS = [
        Binding("s", "stats", "Statistics", show=False, id="app.stats"),
        Binding("P", "patients", "Patients", show=False, id="app.patients"),
        Binding("a", "second_confirm", "Second pass: confirm", show=False, id="app.second_confirm"),
        Binding("d", "second_dispute", "Second pass: dispute", show=False, id="app.second_dispute"),
        Binding("T", "text_fold", "Text panel: one line / every line", show=False, id="app.text_fold"),
    ]

    def action_text_fold(self) -> None:
        """Narrow screens fold the burned-in text to one line (the image keeps its rows); T shows every line."""
        self.ocr.toggle_fold()  # type: ignore[attr-defined]

    _stats_ctl: StatsController | None = None
    _patients_ctl: PatientsController | None = None
    _second_ctl: SecondPassController | None = None

    @property
    def second(self) -> SecondPassController:
        if self._second_ctl is None:
            self._second_ctl = SecondPassController(self)  # type: ignore[arg-type]
        return self._second_ctl

    def action_second_confirm(self) -> None:
        self.second.confirm()

    def action_second_dispute(self) -> None:
        self.second.dispute()

    @property
    def patients(self) -> PatientsController:
        if self._patients_ctl is None:
            self._patients_ctl = PatientsController(self)  # type: ignore[arg-type]
        return self._patients_ctl

    def action_patients(self) -> None:
        self.patients.open()

    def on_patients_progress(self, message: PatientsProgress) -> None:
        self.patients.progress(message)

    def on_patients_read(self, message: PatientsRead) -> None:
        self.patients.read(message)

    @property
    def stats(self) -> StatsController:
        if self._stats_ctl is None:
            self._stats_ctl = StatsController(self)  # type: ignore[arg-type]
        return self._stats_ctl

    def action_stats(self) -> None:
        self.stats.open()

    def on_stats_counted(self, message: StatsCounted) -> None:
        self.stats.counted(message)



