"""Small modal screens: confirm, ask for text, show text, pick one of many.

All text shown here is untrusted or built from untrusted parts, so every
Static has ``markup=False`` and goes through ``inert``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from phi_review.core.common.inert import inert

DIALOG_CSS = """
.dialog { width: 80%; max-width: 100; height: auto; max-height: 90%;
          border: thick $accent; background: $panel; padding: 1 2; }
.dialog > .dialog-title { text-style: bold; margin-bottom: 1; }
.dialog > .dialog-hint { color: $text-muted; margin-top: 1; }
"""


class ConfirmScreen(ModalScreen[bool]):
    """Yes/no for actions that touch many rows at once."""

    DEFAULT_CSS = "ConfirmScreen { align: center middle; }" + DIALOG_CSS
    BINDINGS = [
        Binding("y,enter", "answer(True)", "Yes", id="confirm.yes"),
        Binding("n,escape", "answer(False)", "No", id="confirm.no"),
    ]

    def __init__(self, question: str) -> None:
        super().__init__()
        self.question = question

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(inert(self.question), classes="dialog-title", markup=False)
            yield Static("y / Enter: yes    n / Esc: no", classes="dialog-hint", markup=False)

    def action_answer(self, value: bool) -> None:
        self.dismiss(value)


class AskTextScreen(ModalScreen[str | None]):
    """One line of text (a note, a filter, a header search); Esc cancels."""

    DEFAULT_CSS = "AskTextScreen { align: center middle; }" + DIALOG_CSS
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="ask.cancel")]

    def __init__(self, title: str, value: str = "", hint: str = "", placeholder: str = "",
                 validate: Callable[[str], str | None] | None = None) -> None:
        super().__init__()
        self.title_text = title
        self.value = value
        self.hint = hint
        self.placeholder = placeholder
        self.validate = validate  # a problem line keeps the dialog open with the text as typed

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(inert(self.title_text), classes="dialog-title", markup=False)
            # The field shows the escaped form; the original stays unless the reviewer edits it.
            yield Input(value=inert(self.value), placeholder=self.placeholder, id="ask-input")
            if self.hint:
                yield Static(inert(self.hint), classes="dialog-hint", markup=False)
            problem = Static("", id="ask-problem", classes="dialog-hint", markup=False)
            problem.display = False
            yield problem

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        text = self.value if event.value == inert(self.value) else event.value
        trouble = self.validate(text) if self.validate is not None else None
        if trouble:
            problem = self.query_one("#ask-problem", Static)
            problem.update(f"⚠ {inert(trouble)}")
            problem.display = True
            return
        self.dismiss(text)

    def action_cancel(self) -> None:
        self.dismiss(None)


class TextScreen(ModalScreen[None]):
    """Scrollable read-only text: help, a full header value, a message."""

    DEFAULT_CSS = """
    TextScreen { align: center middle; }
    TextScreen > VerticalScroll { width: 90%; max-width: 110; height: 90%;
        border: thick $accent; background: $panel; padding: 0 1; }
    """ + DIALOG_CSS
    BINDINGS = [
        Binding("escape,q,question_mark,enter", "close", "Close", id="text.close"),
        Binding("j,down", "scroll(1)", "Down", show=False, id="text.down"),
        Binding("k,up", "scroll(-1)", "Up", show=False, id="text.up"),
    ]

    def __init__(self, title: str, text: str) -> None:
        super().__init__()
        self.title_text = title
        self.body = text

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static(inert(self.title_text), classes="dialog-title", markup=False)
            # Line by line: the newlines are the layout, every other control character is shown escaped.
            yield Static("\n".join(inert(line) for line in self.body.split("\n")), markup=False, id="text-body")

    def action_close(self) -> None:
        self.dismiss(None)

    def action_scroll(self, delta: int) -> None:
        self.query_one(VerticalScroll).scroll_relative(y=delta, animate=False)


class PickScreen(ModalScreen[int | None]):
    """Pick one of several choices (e.g. candidate files for an ambiguous name).

    When the choices are numbered ("1  No Issue", "2  ...", as the decide-file dialog shows them, or
    ``numbered=True``), the digit picks its choice at once, as digits do on the review screen: a dialog
    that shows numbers must take them (Enter alone took the highlighted first choice).
    """

    DEFAULT_CSS = "PickScreen { align: center middle; } PickScreen OptionList { height: auto; max-height: 20; }" + DIALOG_CSS
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="pick.cancel")] + [
        Binding(str(n), f"pick_number({n})", str(n), show=False, id=f"pick.{n}") for n in range(1, 10)
    ]

    def __init__(self, title: str, choices: Sequence[str], numbered: bool | None = None) -> None:
        super().__init__()
        self.title_text = title
        self.choices = list(choices)
        self.numbered = is_numbered(self.choices) if numbered is None else numbered

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(inert(self.title_text), classes="dialog-title", markup=False)
            from rich.text import Text

            yield OptionList(*[Option(Text(inert(c))) for c in self.choices], id="pick-list")
            if self.numbered:
                last = min(9, len(self.choices))
                keys = "1" if last == 1 else f"1-{last}"
                yield Static(f"{keys}: pick    Enter: the highlighted one    Esc: cancel", id="pick-hint",
                             classes="dialog-hint", markup=False)

    def on_mount(self) -> None:
        self.query_one(OptionList).focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(event.option_index)

    def action_pick_number(self, number: int) -> None:
        """A digit picks the choice it numbers; a digit past the choices (or unnumbered choices) does nothing."""
        if self.numbered and 1 <= number <= min(9, len(self.choices)):
            self.dismiss(number - 1)

    def action_cancel(self) -> None:
        self.dismiss(None)


def is_numbered(choices: Sequence[str]) -> bool:
    """True when the choices read "1 ...", "2 ...", ... in order (at most nine)."""
    return 0 < len(choices) <= 9 and all(
        c.lstrip().startswith(f"{n} ") or c.lstrip().startswith(f"{n}.") or c.strip() == str(n)
        for n, c in enumerate(choices, start=1))
