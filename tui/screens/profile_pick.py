"""`A` on the review screen: pick an enabled profile, see what it would do, then write or not.

Why: the copy a profile writes cannot be taken back from the original's point of view (UIDs and dates
are mapped for the whole study), so the reviewer sees the header diff, computed in memory with the very
editor that will write, before anything touches the disk. Enter writes, Esc writes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.widgets import OptionList, Static

from phi_review.core.common.inert import inert
from phi_review.tui.screens.dialogs import DIALOG_CSS, ConfirmScreen, PickScreen


class ProfilePickScreen(PickScreen):
    """The enabled profiles, keyboard driven (arrows, Enter, Esc); the default one highlighted."""

    def __init__(self, names: Sequence[str], default: str) -> None:
        super().__init__("Apply which profile to a corrected copy of this file?", list(names), numbered=False)
        self.names = list(names)
        self.default = self.names.index(default) if default in self.names else 0

    def on_mount(self) -> None:  # PickScreen's on_mount runs too (Textual calls each class's): it only focuses
        option_list = self.query_one(OptionList)
        option_list.highlighted = self.default
        option_list.focus()

    def picked(self, index: int | None) -> str | None:
        """The name behind a dismissed index."""
        return None if index is None else self.names[index]


class ProfilePreviewScreen(ConfirmScreen):
    """The header diff (and the boxes kept) a profile would write; Enter or y writes, Esc or n does not."""

    DEFAULT_CSS = """
    ProfilePreviewScreen { align: center middle; }
    ProfilePreviewScreen > Vertical { width: 90%; max-width: 120; height: 90%; }
    ProfilePreviewScreen VerticalScroll { height: 1fr; }
    """ + DIALOG_CSS
    BINDINGS = [
        Binding("y,enter", "answer(True)", "Write", id="profile_preview.yes"),
        Binding("n,escape", "answer(False)", "Cancel", id="profile_preview.no"),
        Binding("j,down", "scroll(1)", "Down", show=False, id="profile_preview.down"),
        Binding("k,up", "scroll(-1)", "Up", show=False, id="profile_preview.up"),
    ]

    def __init__(self, question: str, body: str) -> None:
        super().__init__(question)
        self.body = body

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(inert(self.question), classes="dialog-title", markup=False)
            with VerticalScroll():
                yield Static("\n".join(inert(line) for line in self.body.split("\n")), markup=False,
                             id="preview-body")
            yield Static("Enter / y: write the copy    Esc / n: write nothing    j/k: scroll",
                         classes="dialog-hint", markup=False)

    def action_scroll(self, delta: int) -> None:
        self.query_one(VerticalScroll).scroll_relative(y=delta, animate=False)
