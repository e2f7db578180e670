"""Cursor movement shared by the Line-API lists (findings, groups).

The lists differ in what they hold and how many lines a header takes; moving
the cursor is the same, so it lives here once.
"""

from __future__ import annotations


class CursorActions:
    """Mixin for a widget with a clamped ``cursor`` reactive; subclasses say how many rows there are."""

    cursor: int
    header_lines = 0  # lines above the rows (a column header)

    @property
    def row_count(self) -> int:
        raise NotImplementedError

    def _page(self) -> int:
        return max(1, self.size.height - self.header_lines - 1)  # type: ignore[attr-defined]

    def action_cursor_down(self) -> None:
        self.cursor += 1

    def action_cursor_up(self) -> None:
        self.cursor -= 1

    def action_cursor_top(self) -> None:
        self.cursor = 0

    def action_cursor_bottom(self) -> None:
        self.cursor = self.row_count - 1

    def action_page_down(self) -> None:
        self.cursor += self._page()

    def action_page_up(self) -> None:
        self.cursor -= self._page()
