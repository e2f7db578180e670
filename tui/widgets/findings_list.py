"""The findings list: renders only the rows on screen (Line API), so 100,000 rows paint at once.

A decision repaints one line, never the table. Every cell is drawn from
``rich.text.Text``/``Segment`` with inert text, so report content can never
become markup or a terminal escape.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from rich.segment import Segment
from rich.style import Style
from textual.binding import Binding
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from phi_review.core.common.inert import inert
from phi_review.tui.widgets.cursor_actions import CursorActions
from phi_review.core.report.model import Finding

# One fixed-width word per kind of finding: text carries the meaning, colour only helps.
KIND_LABELS = {
    "pixels": "PIXELS",
    "header": "HEADER",
    "missing": "REQ TAG",  # a required tag is missing (not: the file is missing)
    "warning": "WARNING",
    "error": "ERROR",
}


def issue_label(issue: str, kind: str = "") -> str:
    """The label for a row: by its kind (validator Findings or workbook issue), else the issue's start."""
    if not kind:
        from phi_review.core.report.validator import kind_of

        kind = kind_of(issue)
    return KIND_LABELS.get(kind) or inert(issue)[:7].upper() or "-"


def shown_value(finding: Finding) -> str:
    """The detected value, else what the validator's Details name (value, else tag): only visible rows pay."""
    if finding.value or not finding.details:
        return finding.value
    from phi_review.core.report.pointer import pointer_of

    pointer = pointer_of(finding)
    return pointer.value or " ".join(pointer.tags)


def _fit(text: str, width: int) -> str:
    if width <= 0:
        return ""
    if len(text) <= width:
        return text.ljust(width)
    if width == 1:
        return "…"
    return text[: width - 1] + "…"


class FindingsList(CursorActions, ScrollView, can_focus=True):
    """A virtual list of findings in a given order, with a cursor and marks."""

    COMPONENT_CLASSES = {
        "findings-list--cursor",
        "findings-list--header",
        "findings-list--reviewed",
        "findings-list--unreviewed",
        "findings-list--marked",
    }

    DEFAULT_CSS = """
    FindingsList { background: $surface; overflow-x: hidden; }
    FindingsList > .findings-list--cursor { background: $accent 40%; text-style: bold; }
    FindingsList:focus > .findings-list--cursor { background: $accent; color: $text; }
    FindingsList > .findings-list--header { text-style: bold; background: $panel; }
    FindingsList > .findings-list--reviewed { color: $text-muted; }
    FindingsList > .findings-list--unreviewed { }
    FindingsList > .findings-list--marked { color: $warning; text-style: bold; }
    """

    BINDINGS = [
        Binding("j,down", "cursor_down", "Down", show=False, id="list.down"),
        Binding("k,up", "cursor_up", "Up", show=False, id="list.up"),
        Binding("g,home", "cursor_top", "Top", show=False, id="list.top"),
        Binding("G,end", "cursor_bottom", "Bottom", show=False, id="list.bottom"),
        Binding("pagedown,ctrl+d", "page_down", "Page down", show=False, id="list.page_down"),
        Binding("pageup,ctrl+u", "page_up", "Page up", show=False, id="list.page_up"),
    ]

    cursor: reactive[int] = reactive(0, always_update=True, init=False)
    header_lines = 1

    class CursorMoved(Message):
        """The highlighted finding changed (index into the session's findings, or None)."""

        def __init__(self, index: int | None) -> None:
            super().__init__()
            self.index = index

    def __init__(
        self,
        findings: Sequence[Finding],
        *,
        is_marked: Callable[[int], bool] = lambda _i: False,
        actions: Sequence[str] = (),
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.findings = findings
        self.order: list[int] = list(range(len(findings)))
        self._identity = True
        self.is_marked = is_marked
        # The digit that sets each action, shown before it: ties the column to the keys
        # and tells truncated names apart.
        self._action_digit = {a: str(n) for n, a in enumerate(actions[:9], start=1)}
        self._row_width = max((len(str(f.row)) for f in findings[-1:]), default=3)

    # ----- data -------------------------------------------------------------
    def set_order(self, order: Sequence[int], keep: int | None = None) -> None:
        """Show these findings, in this order, keeping ``keep`` under the cursor if present."""
        self.order = list(order)
        self._identity = len(self.order) == len(self.findings) and all(
            i == v for i, v in enumerate(self.order)
        )
        self.virtual_size = Size(0, len(self.order) + 1)
        position = 0
        if keep is not None:
            try:
                position = self.order.index(keep)
            except ValueError:
                position = 0
        self.cursor = min(position, max(0, len(self.order) - 1))
        self.refresh()

    @property
    def current(self) -> int | None:
        if not self.order:
            return None
        return self.order[min(self.cursor, len(self.order) - 1)]

    def position_of(self, index: int) -> int | None:
        """Where finding ``index`` sits in the current order (O(1) when unfiltered)."""
        if self._identity:
            return index if 0 <= index < len(self.order) else None
        try:
            return self.order.index(index)
        except ValueError:
            return None

    def refresh_index(self, index: int) -> None:
        """Repaint the one line that shows finding ``index``."""
        position = self.position_of(index)
        if position is not None:
            self.refresh_lines(position - int(self.scroll_offset.y) + 1, 1)

    # ----- rendering --------------------------------------------------------
    def on_mount(self) -> None:
        self.virtual_size = Size(0, len(self.order) + 1)

    def on_resize(self) -> None:
        self.virtual_size = Size(0, len(self.order) + 1)

    def _columns(self, width: int) -> tuple[int, int, int, int, int]:
        """Widths of: row, issue, action, file, value."""
        row_w = max(3, self._row_width)
        issue_w = 7
        action_w = 16 if width >= 90 else 12
        rest = max(0, width - (2 + row_w + 1 + issue_w + 1 + action_w + 1 + 1))
        file_w = max(8, rest * 55 // 100)
        value_w = max(0, rest - file_w)
        return row_w, issue_w, action_w, file_w, value_w

    def _text_line(self, finding: Finding | None, width: int) -> str:
        row_w, issue_w, action_w, file_w, value_w = self._columns(width)
        if finding is None:
            parts = ["  ", "Row".rjust(row_w), " ", _fit("Issue", issue_w), " ",
                     _fit("Action", action_w), " ", _fit("File", file_w), " ", _fit("Detected value", value_w)]
            return "".join(parts)
        if finding.action:
            digit = self._action_digit.get(finding.action)
            action = f"{digit} {inert(finding.action)}" if digit else inert(finding.action)
        else:
            action = "· unreviewed"
        second = finding.second_review.strip()
        if second:  # the second pass, in text (no colour needed): ✓ confirmed, ≠ disputed
            action = ("✓ " if second == finding.action.strip() else "≠ ") + action
        file_text = inert(finding.file)
        if len(file_text) > file_w:  # keep the end of a long path: the file name matters most
            file_text = "…" + file_text[-(file_w - 1):]
        parts = [
            "  ",
            str(finding.row).rjust(row_w),
            " ",
            _fit(issue_label(finding.issue, getattr(finding, 'kind', '')), issue_w),
            " ",
            _fit(action, action_w),
            " ",
            _fit(file_text, file_w),
            " ",
            _fit(inert(shown_value(finding)), value_w),
        ]
        return "".join(parts)

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        scroll_y = int(self.scroll_offset.y)
        if y == 0:
            style = self.get_component_rich_style("findings-list--header")
            return Strip([Segment(_fit(self._text_line(None, width), width), style)]).simplify()
        position = scroll_y + y - 1
        if position >= len(self.order):
            return Strip.blank(width, self.rich_style)
        index = self.order[position]
        finding = self.findings[index]
        text = self._text_line(finding, width)
        marked = self.is_marked(index)
        # Text, not only colour, says which row is current and which are marked (NO_COLOR, mono terminals).
        text = ("*" if marked else " ") + ("▶" if position == self.cursor else " ") + text[2:]
        base = self.get_component_rich_style(
            "findings-list--reviewed" if finding.reviewed else "findings-list--unreviewed"
        )
        style = base
        if marked:
            style = style + self.get_component_rich_style("findings-list--marked")
        if position == self.cursor:
            style = style + self.get_component_rich_style("findings-list--cursor")
        return Strip([Segment(_fit(text, width), style)]).simplify()

    # ----- cursor -----------------------------------------------------------
    def validate_cursor(self, value: int) -> int:
        return max(0, min(value, len(self.order) - 1)) if self.order else 0

    def watch_cursor(self, old: int, new: int) -> None:
        self._scroll_cursor_into_view()
        scroll_y = int(self.scroll_offset.y)
        for position in {old, new}:
            self.refresh_lines(position - scroll_y + 1, 1)
        self.post_message(self.CursorMoved(self.current))

    def _scroll_cursor_into_view(self) -> None:
        visible = max(1, self.size.height - 1)
        top = int(self.scroll_offset.y)
        if self.cursor < top:
            self.scroll_to(y=self.cursor, animate=False, immediate=True)
        elif self.cursor >= top + visible:
            self.scroll_to(y=self.cursor - visible + 1, animate=False, immediate=True)

    def move_to(self, index: int) -> None:
        """Put the cursor on finding ``index`` if it is in the current order."""
        position = self.position_of(index)
        if position is not None:
            self.cursor = position

    @property
    def row_count(self) -> int:
        return len(self.order)

    def on_click(self, event) -> None:  # type: ignore[no-untyped-def]
        position = int(self.scroll_offset.y) + event.y - 1
        if 0 <= position < len(self.order):
            self.cursor = position
