"""The DICOM header of the selected file, scrolled to the flagged tag or value.

A Line-API list (headers of enhanced multi-frame files run to tens of
thousands of rows) with its own search by keyword, ``(gggg,eeee)`` or value.
Values arrive already inert from core; they are drawn as plain segments.
"""

from __future__ import annotations

import textwrap

import re
from collections.abc import Sequence
from typing import Any

from rich.segment import Segment
from textual.binding import Binding
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from phi_review.core.common.inert import inert

_NON_ALNUM = re.compile(r"[^0-9a-z]+")


def _norm(text: str) -> str:
    return _NON_ALNUM.sub("", text.lower())


MAX_INDENT = 16


def header_line(row: Any) -> str:
    """One header row as text: marker, indent, tag, VR, keyword, value."""
    marker = "▶ " if row.matched else ("✗ " if row.missing else ("• " if getattr(row, "identifying", False) else "  "))
    indent = "  " * min(int(getattr(row, "depth", 0)), MAX_INDENT)  # a hostile 3,000-deep nesting stays on screen
    keyword = row.keyword or "?"
    if getattr(row, "private_creator", ""):
        keyword = f"{keyword} [{row.private_creator}]"
    if row.missing:
        value = "MISSING (required tag not in file)"
    else:
        value = row.value
    flag = "  ◀ MATCH" if row.matched else ""
    return inert(f"{marker}{indent}{row.tag} {row.vr:<2} {keyword}: {value}{flag}")


class HeaderPane(ScrollView, can_focus=True):
    """Header rows with a cursor; matched rows highlighted and named with text."""

    COMPONENT_CLASSES = {
        "header-pane--cursor",
        "header-pane--matched",
        "header-pane--missing",
        "header-pane--meta",
        "header-pane--message",
    }
    DEFAULT_CSS = """
    HeaderPane { background: $surface; overflow-x: hidden; }
    HeaderPane > .header-pane--cursor { background: $accent 30%; }
    HeaderPane:focus > .header-pane--cursor { background: $accent; }
    HeaderPane > .header-pane--matched { color: $warning; text-style: bold; }
    HeaderPane > .header-pane--missing { color: $error; text-style: bold; }
    HeaderPane > .header-pane--meta { color: $text-muted; }
    HeaderPane > .header-pane--message { color: $text-muted; text-style: italic; }
    """
    BINDINGS = [
        Binding("j,down", "cursor_down", "Down", show=False, id="header.down"),
        Binding("k,up", "cursor_up", "Up", show=False, id="header.up"),
        Binding("pagedown", "page_down", "Page down", show=False, id="header.page_down"),
        Binding("pageup", "page_up", "Page up", show=False, id="header.page_up"),
        Binding("slash", "search", "Find in header", id="header.search"),
        Binding("greater_than_sign", "next_match", "Next match", id="header.next_match"),
        Binding("less_than_sign", "previous_match", "Prev match", id="header.previous_match"),
        Binding("enter", "show_value", "Full value", id="header.full_value"),
    ]

    cursor: reactive[int] = reactive(0, init=False)

    class SearchRequested(Message):
        pass

    class ValueRequested(Message):
        def __init__(self, text: str) -> None:
            super().__init__()
            self.text = text

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.rows: Sequence[Any] = ()
        self.lines: list[str] = []
        self._messages: list[str] = ["Select a finding to see its header."]
        self._wrapped: tuple[int, list[str]] = (-1, [])
        self.search_text = ""
        self.centered = True  # False between showing rows and scrolling to the flagged one

    def show_rows(self, rows: Sequence[Any], messages: Sequence[str] = ()) -> None:
        """Show a file's header rows; put the cursor on the first flagged row."""
        self.rows = rows
        self.lines = [header_line(row) for row in rows]
        self._set_messages(messages)
        self.virtual_size = Size(0, len(self.lines) + len(self.message_lines))
        first = next((i for i, row in enumerate(rows) if row.matched or row.missing), 0)
        self.cursor = first
        self.centered = False
        self.call_after_refresh(self._center, first)
        self.refresh()

    def show_message(self, *messages: str) -> None:
        self.rows = ()
        self.lines = []
        self._set_messages(messages)
        self.virtual_size = Size(0, len(self.message_lines))
        self.cursor = 0
        self.scroll_to(y=0, animate=False)
        self.refresh()

    def _set_messages(self, messages: Sequence[str]) -> None:
        self._messages = [inert(m) for m in messages]
        self._wrapped = (-1, [])

    @property
    def message_lines(self) -> list[str]:
        """The finding's context lines wrapped to the pane: what a reviewer must read is never cut."""
        width = self.scrollable_content_region.width
        if width <= 0:
            return self._messages
        if self._wrapped[0] != width:
            lines: list[str] = []
            for message in self._messages:
                lines += textwrap.wrap(message, width, subsequent_indent="  ", break_long_words=True,
                                       replace_whitespace=False, drop_whitespace=True) or [""]
            self._wrapped = (width, lines)
        return self._wrapped[1]

    def _pinned(self) -> int:
        """Message lines pinned above the rows (what is flagged stays in sight while scrolling).

        When they would take more than half the pane they scroll with the rows instead.
        """
        count = len(self.message_lines)
        return count if self.lines and count <= max(1, self.size.height) // 2 else 0

    def _offset(self) -> int:
        """Message lines that scroll, above the first row."""
        return len(self.message_lines) - self._pinned()

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        pinned = self._pinned()
        message_style = self.get_component_rich_style("header-pane--message")
        if y < pinned:
            return Strip([Segment(self.message_lines[y][:width].ljust(width), message_style)])
        position = int(self.scroll_offset.y) + y - pinned
        offset = self._offset()
        if position < offset:
            return Strip([Segment(self.message_lines[pinned + position][:width].ljust(width), message_style)])
        position -= offset
        if position >= len(self.lines):
            return Strip.blank(width, self.rich_style)
        row = self.rows[position]
        style = self.rich_style
        if row.matched:
            style = style + self.get_component_rich_style("header-pane--matched")
        elif row.missing:
            style = style + self.get_component_rich_style("header-pane--missing")
        elif getattr(row, "is_meta", False):
            style = style + self.get_component_rich_style("header-pane--meta")
        if position == self.cursor and self.lines:
            style = style + self.get_component_rich_style("header-pane--cursor")
        text = self.lines[position]
        return Strip([Segment(text[:width].ljust(width), style)])

    def on_resize(self) -> None:
        self.virtual_size = Size(0, len(self.lines) + len(self.message_lines))

    def validate_cursor(self, value: int) -> int:
        return max(0, min(value, len(self.lines) - 1)) if self.lines else 0

    def watch_cursor(self, old: int, new: int) -> None:
        offset = self._offset()
        top = int(self.scroll_offset.y)
        visible = max(1, self.size.height - self._pinned())
        if new + offset < top or new + offset >= top + visible:
            self._center(new)
        self.refresh()

    def _center(self, position: int, attempts: int = 50) -> None:
        visible = max(1, self.size.height - self._pinned())
        target = max(0, position + self._offset() - visible // 3)
        possible = max(0, len(self.lines) + len(self.message_lines) - self.scrollable_content_region.height)
        wanted = min(target, possible)
        self.scroll_to(y=target, animate=False, immediate=True)
        if int(self.scroll_offset.y) < wanted and attempts > 0:
            # The new virtual size is not laid out yet: try again shortly.
            self.set_timer(0.02, lambda: self._center(position, attempts - 1))
            return
        self.centered = True

    # ----- search -----------------------------------------------------------
    def matches(self, text: str) -> list[int]:
        """Rows whose tag, keyword or value contains ``text`` (normalized).

        ``is:identifying`` finds the rows marked • (residual identifiers); no
        text at all steps through what deserves a look: flagged, missing and •.
        """
        if text.strip().lower() == "is:identifying":
            return [i for i, row in enumerate(self.rows) if getattr(row, "identifying", False)]
        if not text.strip():
            return [i for i, row in enumerate(self.rows)
                    if row.matched or row.missing or getattr(row, "identifying", False)]
        needle = _norm(text)
        if not needle:
            return []
        found = []
        for i, row in enumerate(self.rows):
            hay = _norm(f"{row.tag} {row.keyword} {getattr(row, 'full_value', row.value)}")
            if needle in hay:
                found.append(i)
        return found

    def find(self, text: str, forward: bool = True) -> bool:
        self.search_text = text
        hits = self.matches(text)
        if not hits:
            return False
        if forward:
            after = [i for i in hits if i > self.cursor]
            self.cursor = after[0] if after else hits[0]
        else:
            before = [i for i in hits if i < self.cursor]
            self.cursor = before[-1] if before else hits[-1]
        return True

    def action_search(self) -> None:
        self.post_message(self.SearchRequested())

    def action_next_match(self) -> None:
        self.find(self.search_text, forward=True)

    def action_previous_match(self) -> None:
        self.find(self.search_text, forward=False)

    def action_cursor_down(self) -> None:
        self.cursor += 1

    def action_cursor_up(self) -> None:
        self.cursor -= 1

    def action_page_down(self) -> None:
        self.cursor += max(1, self.size.height - 1)

    def action_page_up(self) -> None:
        self.cursor -= max(1, self.size.height - 1)

    def action_show_value(self) -> None:
        if self.rows:
            row = self.rows[self.cursor]
            full = getattr(row, "full_value", row.value)
            self.post_message(self.ValueRequested(inert(f"{row.tag} {row.keyword}\n\n{full}")))
