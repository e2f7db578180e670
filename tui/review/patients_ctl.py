"""Reading who each row belongs to, off the main thread, for the patient panel and the filters.

Each row's file is located under the review's roots (the file the reviewer
chose with ``c`` wins), each distinct file's header is read once, and the
rows are numbered by patient (``core.review.patients``). The result lives in
memory only: ``session.patient_labels`` for ``patient:P3`` and the grouped
view, the names for the panel's screen. Nothing is written or logged.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual.message import Message

from phi_review.core.common.inert import inert

if TYPE_CHECKING:
    from phi_review.tui.review.screen import ReviewScreen


class PatientsProgress(Message):
    """Headers read so far."""

    def __init__(self, done: int, total: int) -> None:
        super().__init__()
        self.done = done
        self.total = total


class PatientsRead(Message):
    """The worker's answer (``index``), or one line saying why there is none."""

    def __init__(self, index: Any, error: str = "") -> None:
        super().__init__()
        self.index = index
        self.error = error

    def __repr__(self) -> str:  # a debug print of the message shows no name
        return f"PatientsRead(error={self.error!r})"


def locate_paths(report: Any, shown_paths: dict[int, str], roots: list[Path]) -> list[Path | None]:
    """Each row's file: the one the reviewer was shown when there is one, else the one under ``roots``."""
    from phi_review.core.review.stats_files import locate_rows

    paths = locate_rows(report, roots)
    for index, shown in shown_paths.items():
        if shown and 0 <= index < len(paths):
            paths[index] = Path(shown)
    return paths


class PatientsController:
    """``P``: show the panel at once; read the headers in a worker the first time."""

    def __init__(self, screen: "ReviewScreen") -> None:
        self.screen = screen
        self.index: Any = None
        self.reading = False
        self.done = 0
        self.total = 0
        self.error = ""
        self.shown: Any = None

    def open(self) -> None:
        from phi_review.tui.screens.patients import PatientsScreen

        self.shown = PatientsScreen(self)
        self.screen.app.push_screen(self.shown)
        self.start()

    def start(self) -> None:
        if self.index is not None or self.reading:
            return
        self.reading = True
        self.error = ""
        session = self.screen.session
        report, shown_paths = session.report, dict(session.paths)  # copied here: keys change it meanwhile
        roots = list(self.screen.review_app.roots)
        screen = self.screen

        def work() -> None:
            from phi_review.core.review.patients import read_patients

            try:
                paths = locate_paths(report, shown_paths, roots)
                index = read_patients(paths, lambda done, total: screen.post_message(PatientsProgress(done, total)))
            except Exception as error:  # noqa: BLE001 - one line for people, never a traceback
                screen.post_message(PatientsRead(None, f"could not read them ({inert(type(error).__name__)})"))
                return
            screen.post_message(PatientsRead(index))

        self.screen.run_worker(work, name="patients", group="patients", thread=True, exit_on_error=False)

    def progress(self, message: PatientsProgress) -> None:
        self.done, self.total = message.done, message.total
        self._refresh()

    def read(self, message: PatientsRead) -> None:
        self.reading = False
        self.error = message.error
        if message.index is not None:
            self.index = message.index
            self.screen.session.patient_labels = message.index.labels
        self._refresh()

    def _refresh(self) -> None:
        if self.shown is not None and self.shown.is_attached:
            self.shown.reload()

    def show_patient(self, label: str) -> None:
        """Enter on a patient: the review list shows only their rows (as ``/ patient:P3`` would)."""
        self.screen.apply_filter(f"patient:{label}")
