"""A keyboard rectangle over the preview: move, resize, accept, all by keys, in the file's own pixels.

The review screen stays visible underneath and redraws the box as it changes,
so the reviewer covers what OCR missed without a mouse.
"""

from __future__ import annotations

from collections.abc import Callable

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static

Rect = tuple[int, int, int, int]


def moved(rect: Rect, dx: int, dy: int, size: tuple[int, int]) -> Rect:
    """The rectangle shifted by (dx, dy), kept inside the image."""
    x0, y0, x1, y1 = rect
    columns, rows = size
    dx = max(-x0, min(dx, columns - x1))
    dy = max(-y0, min(dy, rows - y1))
    return (x0 + dx, y0 + dy, x1 + dx, y1 + dy)


def resized(rect: Rect, dw: int, dh: int, size: tuple[int, int]) -> Rect:
    """The rectangle grown or shrunk at its right and bottom edges, at least 1x1, inside the image."""
    x0, y0, x1, y1 = rect
    columns, rows = size
    return (x0, y0, max(x0 + 1, min(columns, x1 + dw)), max(y0 + 1, min(rows, y1 + dh)))


class BoxEditScreen(ModalScreen[Rect | None]):
    """Edit one rectangle; ``on_change`` redraws the preview underneath after every key."""

    DEFAULT_CSS = """
    BoxEditScreen { align: center bottom; background: transparent; }
    BoxEditScreen > Vertical { width: 100%; height: auto; border: thick $accent; background: $panel; padding: 0 1; }
    """
    BINDINGS = [
        Binding("left,h", "move(-1, 0)", "Left", id="box.left"),
        Binding("right,l", "move(1, 0)", "Right", id="box.right"),
        Binding("up,k", "move(0, -1)", "Up", id="box.up"),
        Binding("down,j", "move(0, 1)", "Down", id="box.down"),
        Binding("shift+left,H", "resize(-1, 0)", "Narrower", id="box.narrower"),
        Binding("shift+right,L", "resize(1, 0)", "Wider", id="box.wider"),
        Binding("shift+up,K", "resize(0, -1)", "Shorter", id="box.shorter"),
        Binding("shift+down,J", "resize(0, 1)", "Taller", id="box.taller"),
        Binding("plus,equals_sign", "step(2)", "Bigger steps", id="box.bigger_steps"),
        Binding("minus", "step(0.5)", "Smaller steps", id="box.smaller_steps"),
        Binding("enter", "accept", "Add box", id="box.accept"),
        Binding("escape", "cancel", "Cancel", id="box.cancel"),
    ]

    def __init__(self, rect: Rect, size: tuple[int, int], on_change: Callable[[Rect], None]) -> None:
        super().__init__()
        self.rect = rect
        self.size_px = size
        self.step = max(1, min(size) // 32)
        self.on_change = on_change

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(self._text(), id="box-text", markup=False)

    def _text(self) -> str:
        x0, y0, x1, y1 = self.rect
        return (f"Box {x0},{y0},{x1},{y1} ({x1 - x0}x{y1 - y0} px of {self.size_px[0]}x{self.size_px[1]}) · "
                f"step {self.step} px\narrows/hjkl move · shift+arrows/HJKL resize · +/- step · "
                "Enter adds the box · Esc cancels")

    def _changed(self) -> None:
        self.query_one("#box-text", Static).update(self._text())
        self.on_change(self.rect)

    def action_move(self, dx: int, dy: int) -> None:
        self.rect = moved(self.rect, dx * self.step, dy * self.step, self.size_px)
        self._changed()

    def action_resize(self, dw: int, dh: int) -> None:
        self.rect = resized(self.rect, dw * self.step, dh * self.step, self.size_px)
        self._changed()

    def action_step(self, factor: float) -> None:
        self.step = max(1, min(min(self.size_px) // 2, int(self.step * factor)))
        self._changed()

    def action_accept(self) -> None:
        self.dismiss(self.rect)

    def action_cancel(self) -> None:
        self.dismiss(None)
