"""The patient panel: the report's rows by patient, numbered P1, P2...

Names, ages and sexes are read from the headers by a worker (``PatientsController``)
and shown here only, inert; nothing of them is logged or written. Enter
filters the review list to the patient's rows (``patient:P3``); ``v`` opens
the grouped view by patient, where a digit decides a patient's rows as one
undo step.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import Footer, OptionList, Static
from textual.widgets.option_list import Option

from phi_review.core.common.inert import inert

if TYPE_CHECKING:
    from phi_review.tui.review.patients_ctl import PatientsController

NAME = 22


def _fit(text: str, width: int) -> str:
    text = inert(text)
    return text if len(text) <= width else text[: width - 1] + "…"


class PatientsScreen(Screen[None]):
    """One line a patient: number, name, age, sex, studies, files, rows decided."""

    BINDINGS = [
        Binding("escape,P,q", "close", "Back", id="patients.close"),
        Binding("v", "group", "Group by patient", id="patients.groups"),
    ]
    DEFAULT_CSS = """
    PatientsScreen #patients-title { height: auto; padding: 0 1; background: $panel; }
    PatientsScreen #patients-list { height: 1fr; }
    """

    def __init__(self, controller: "PatientsController") -> None:
        super().__init__()
        self.controller = controller
        self.labels: list[str] = []

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(self._title(), id="patients-title", markup=False)
            yield OptionList(id="patients-list")
        yield Footer()

    def _title(self) -> str:
        c = self.controller
        if c.error:
            return f"Patients: {c.error}"
        if c.index is None:
            return f"Reading the patients from the headers… {c.done}/{c.total or '?'} files (Esc: back)"
        unknown = len(c.index.unknown)
        extra = f" · {unknown} rows: patient unknown (file not found or no Patient ID)" if unknown else ""
        return (f"{len(c.index.patients)} patients{extra}\n"
                "Enter: show the patient's rows (patient:P…) · v: decide by patient · Esc: back")

    def on_mount(self) -> None:
        self.reload()
        self.query_one(OptionList).focus()

    def on_screen_resume(self) -> None:
        self.reload()

    def reload(self) -> None:
        """Fresh counts (a decision may have been made in the grouped view); the highlight stays."""
        if not self.is_mounted:
            return
        self.query_one("#patients-title", Static).update(self._title())
        index = self.controller.index
        listing = self.query_one(OptionList)
        if index is None:
            return
        findings = self.controller.screen.session.findings
        keep = listing.highlighted
        listing.clear_options()
        self.labels = []
        for label, patient in index.patients.items():
            decided = sum(1 for i in patient.indexes if findings[i].reviewed)
            studies = len(patient.studies)
            line = (f"{label:<5} {_fit(patient.name or '-', NAME):<{NAME}} {_fit(patient.age or '-', 4):>4} "
                    f"{_fit(patient.sex or '-', 1):<1}  {studies} stud{'y' if studies == 1 else 'ies'}, "
                    f"{len(patient.files)} files, {decided}/{len(patient.indexes)} decided")
            listing.add_option(Option(Text(line)))
            self.labels.append(label)
        if self.labels:
            listing.highlighted = min(keep or 0, len(self.labels) - 1)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        label = self.labels[event.option_index]
        self.dismiss(None)
        self.controller.show_patient(label)

    def action_group(self) -> None:
        if self.controller.index is None:
            self.notify("The patients are still being read.", severity="warning")
            return
        self.controller.screen.decisions.groups(by="patient")

    def action_close(self) -> None:
        self.dismiss(None)
