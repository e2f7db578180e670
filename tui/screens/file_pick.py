"""The file chooser (``c``): which same-named file is this row's, with what tells them apart.

Each choice shows the file's path and, under it, the identifying values that
differ between the candidates (PatientName, PatientID, StudyDate,
AccessionNumber and the row's own tag): paths alone do not say whose file it
is. Every path and value is untrusted and shown inert. When the files contradict
where the report says the row's file is, the title says so first: the reviewer
then picks knowingly, and the pick is audited like any other.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from phi_review.core.common.inert import inert
from phi_review.tui.screens.dialogs import DIALOG_CSS, PickScreen


class FilePickScreen(PickScreen):
    """Pick one of the candidate files; each shows its path and its differing identifying values."""

    DEFAULT_CSS = ("FilePickScreen { align: center middle; } FilePickScreen OptionList { height: auto; max-height: 24; }"
                   + DIALOG_CSS)

    def __init__(self, title: str, paths: Sequence[str], values: Sequence[Sequence[tuple[str, str]]],
                 current: int | None = None, hint: str = "") -> None:
        super().__init__(title, [("▶ " if n == current else "  ") + p for n, p in enumerate(paths)])
        self.values = [list(v) for v in values]
        self.current = current
        self.hint = hint

    def option_text(self, n: int) -> Text:
        """The n-th choice: marker and path on one line, its values below (both inert)."""
        text = Text(inert(self.choices[n]))
        shown = self.values[n] if n < len(self.values) else []
        if shown:
            text.append("\n     " + " · ".join(f"{inert(k)}: {inert(v) or '(empty)'}" for k, v in shown), style="dim")
        else:
            text.append("\n     (no identifying value differs)", style="dim")
        return text

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(inert(self.title_text), classes="dialog-title", markup=False)
            yield OptionList(*[Option(self.option_text(n)) for n in range(len(self.choices))], id="pick-list")
            if self.hint:
                yield Static(inert(self.hint), classes="dialog-hint", markup=False)

    def on_mount(self) -> None:
        options = self.query_one(OptionList)
        options.focus()
        if self.current is not None and 0 <= self.current < len(self.choices):
            options.highlighted = self.current  # Enter keeps the file shown; down goes to the next
