"""The statistics screen: where the review stands, the numbers of ``phi-review stats`` as bar charts.

The numbers are counted in a worker thread (``StatsController``); this screen
only shows the text it is given. Every label is a count, an issue or action
name, a tag, a site/event or a patient number (P1, P2...): never a value.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Static


class StatsScreen(Screen[None]):
    """Bar charts (``#`` done, ``.`` to do, ``=`` rejected, ``x`` pending or disputed) with numbers beside."""

    BINDINGS = [
        Binding("escape,s,q", "close", "Back", id="stats.close"),
        Binding("j,down", "scroll(1)", "Down", show=False, id="stats.down"),
        Binding("k,up", "scroll(-1)", "Up", show=False, id="stats.up"),
        Binding("pagedown,space", "page(1)", "Page down", show=False, id="stats.page_down"),
        Binding("pageup", "page(-1)", "Page up", show=False, id="stats.page_up"),
    ]
    DEFAULT_CSS = """
    StatsScreen #stats-scroll { height: 1fr; scrollbar-size-vertical: 1; }
    StatsScreen #stats-text { width: auto; padding: 0; }
    """

    def __init__(self, text: str = "Counting…") -> None:
        super().__init__()
        self.text = text

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="stats-scroll"):
            yield Static(self.text, id="stats-text", markup=False)
        yield Footer()

    def show_text(self, text: str) -> None:
        """The counted charts (already inert: labels went through ``inert`` in the renderer)."""
        self.text = text
        if self.is_mounted:
            self.query_one("#stats-text", Static).update(text)

    def action_close(self) -> None:
        self.dismiss(None)

    def action_scroll(self, delta: int) -> None:
        self.query_one("#stats-scroll", VerticalScroll).scroll_relative(y=delta, animate=False)

    def action_page(self, delta: int) -> None:
        scroll = self.query_one("#stats-scroll", VerticalScroll)
        scroll.scroll_relative(y=delta * max(1, scroll.size.height - 1), animate=False)
