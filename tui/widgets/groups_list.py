"""The groups as a Line-API list: only visible rows are drawn.

A report whose detected values rarely repeat has tens of thousands of groups;
an OptionList builds a renderable per option (about 3 s for 50,000, again after
every decision). Here a decision swaps the data and repaints the visible lines.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.segment import Segment
from textual.binding import Binding
from textual.geometry import Size
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from phi_review.core.common.inert import inert
from phi_review.tui.widgets.cursor_actions import CursorActions
from phi_review.tui.widgets.findings_list import issue_label


def group_text(group: Any) -> str:
    """One group as text: size, issue, value, progress (the state is words, not colour)."""
    total = len(group.indexes)
    state = "all reviewed" if group.reviewed == total else f"{group.reviewed}/{total} reviewed"
    value = inert(group.value) or "(empty value)"
    return f"{total:>6} × {issue_label(group.issue):<7} {value}   [{state}]"


class GroupsList(CursorActions, ScrollView, can_focus=True):
    """Groups with a cursor; the screen owns Enter and the digits."""

    COMPONENT_CLASSES = {"groups-list--cursor", "groups-list--done"}
    DEFAULT_CSS = """
    GroupsList { background: $surface; overflow-x: hidden; }
    GroupsList > .groups-list--cursor { background: $accent 40%; text-style: bold; }
    GroupsList:focus > .groups-list--cursor { background: $accent; color: $text; }
    GroupsList > .groups-list--done { color: $text-muted; }
    """
    BINDINGS = [
        Binding("j,down", "cursor_down", "Down", show=False, id="groups.down"),
        Binding("k,up", "cursor_up", "Up", show=False, id="groups.up"),
        Binding("g,home", "cursor_top", "Top", show=False, id="groups.top"),
        Binding("G,end", "cursor_bottom", "Bottom", show=False, id="groups.bottom"),
        Binding("pagedown,ctrl+d", "page_down", "Page down", show=False, id="groups.page_down"),
        Binding("pageup,ctrl+u", "page_up", "Page up", show=False, id="groups.page_up"),
    ]

    cursor: reactive[int] = reactive(0, always_update=True, init=False)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.groups: Sequence[Any] = ()

    def set_groups(self, groups: Sequence[Any]) -> None:
        """New data (after a decision): the cursor keeps its position."""
        self.groups = groups
        self.virtual_size = Size(0, len(groups))
        self.cursor = min(self.cursor, max(0, len(groups) - 1))
        self.refresh()

    @property
    def current(self) -> Any | None:
        return self.groups[self.cursor] if self.groups else None

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        position = int(self.scroll_offset.y) + y
        if position >= len(self.groups):
            return Strip.blank(width, self.rich_style)
        group = self.groups[position]
        text = ("▶ " if position == self.cursor else "  ") + group_text(group)
        style = self.rich_style
        if group.reviewed == len(group.indexes):
            style = style + self.get_component_rich_style("groups-list--done")
        if position == self.cursor:
            style = style + self.get_component_rich_style("groups-list--cursor")
        text = text[:width].ljust(width)
        return Strip([Segment(text, style)]).simplify()

    def validate_cursor(self, value: int) -> int:
        return max(0, min(value, len(self.groups) - 1)) if self.groups else 0

    def watch_cursor(self, old: int, new: int) -> None:
        visible = max(1, self.size.height)
        top = int(self.scroll_offset.y)
        if new < top:
            self.scroll_to(y=new, animate=False, immediate=True)
        elif new >= top + visible:
            self.scroll_to(y=new - visible + 1, animate=False, immediate=True)
        top = int(self.scroll_offset.y)
        for position in {old, new}:
            self.refresh_lines(position - top, 1)

    @property
    def row_count(self) -> int:
        return len(self.groups)

    def on_click(self, event: Any) -> None:
        position = int(self.scroll_offset.y) + event.y
        if 0 <= position < len(self.groups):
            self.cursor = position
