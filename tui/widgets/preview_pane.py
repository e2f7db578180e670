"""The pixel preview: one frame, fitted or zoomed, through textual-image.

The pane owns only what the reviewer is looking at (frame, zoom, pan, window
preset, invert, overlays); decoding happens in the app's workers, which post
the finished image back. Half-cell previews are coarse, so zoom goes up to one
image pixel per half-cell and arrows pan, which makes burned-in text readable
in any terminal.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Container
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Static

ZOOMS = (1.0, 1.5, 2.0, 3.0, 4.0, 6.0, 8.0, 12.0, 16.0, 24.0, 32.0)


@dataclass(frozen=True)
class ViewState:
    """Everything that decides which pixels are shown; part of the cache key."""

    frame: int = 0
    frames: int = 1
    zoom: float = 1.0
    center: tuple[float, float] = (0.5, 0.5)
    preset: str = "file"
    invert: bool = False
    overlays: bool = False


class PreviewPane(Container, can_focus=True):
    """Caption line plus the image (or a message where there is no image)."""

    BINDINGS = [
        Binding("left", "pan(-1, 0)", "Pan left", show=False, id="preview.pan_left"),
        Binding("right", "pan(1, 0)", "Pan right", show=False, id="preview.pan_right"),
        Binding("up", "pan(0, -1)", "Pan up", show=False, id="preview.pan_up"),
        Binding("down", "pan(0, 1)", "Pan down", show=False, id="preview.pan_down"),
        Binding("0", "reset_view", "Fit", id="preview.fit"),
    ]
    DEFAULT_CSS = """
    PreviewPane { height: 1fr; }
    PreviewPane > #preview-caption { height: 1; color: $text-muted; }
    PreviewPane > #preview-message { height: 1fr; color: $text-muted; padding: 1 1; }
    PreviewPane > .preview-image { width: auto; height: auto; }
    PreviewPane > #preview-ocr { height: auto; max-height: 8; color: $text; background: $panel; }
    """

    class ViewChanged(Message):
        """The reviewer changed frame/zoom/pan/window: the app renders again."""

    def __init__(self, image_class: type | None, mode: str, cell_size: tuple[int, int], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.image_class = image_class
        self.mode = mode
        self.cell_size = cell_size
        self.state = ViewState()
        self.image_widget: Widget | None = None

    def compose(self) -> ComposeResult:
        yield Static("", id="preview-caption", markup=False)
        ocr = Static("", id="preview-ocr", markup=False)
        ocr.display = False
        yield ocr
        yield Static("No file selected.", id="preview-message", markup=False)
        if self.image_class is not None:
            widget = self.image_class(classes="preview-image")
            widget.display = False
            self.image_widget = widget
            yield widget

    def show_text_lines(self, text: str) -> None:
        """The OCR panel under the image: found lines, PHI marked in words."""
        panel = self.query_one("#preview-ocr", Static)
        panel.update(text)
        panel.display = bool(text)

    def pixel_box(self) -> tuple[int, int]:
        """The image size in pixels that exactly fills the pane (minus caption and OCR lines)."""
        cols = max(4, self.content_size.width)
        panel = self.query_one("#preview-ocr", Static)
        used = 1 + (panel.outer_size.height if panel.display else 0)
        rows = max(2, self.content_size.height - used)
        cell_w, cell_h = self.cell_size
        return cols * cell_w, rows * cell_h

    def cell_box(self) -> tuple[int, int]:
        return max(4, self.content_size.width), max(2, self.content_size.height - 1) * 2

    # ----- showing ----------------------------------------------------------
    def show_message(self, text: str, caption: str = "") -> None:
        self.query_one("#preview-caption", Static).update(caption)
        message = self.query_one("#preview-message", Static)
        message.update(text)
        message.display = True
        if self.image_widget is not None:
            self.image_widget.display = False

    def show_image(self, image: Any, caption: str) -> None:
        """Show a PIL image already fitted to ``pixel_box()``."""
        self.query_one("#preview-caption", Static).update(caption)
        if self.image_widget is None:
            self.show_message("Preview off (--graphics none): press p to toggle panes.", caption)
            return
        self.query_one("#preview-message", Static).display = False
        self.image_widget.image = image  # type: ignore[attr-defined]
        self.image_widget.display = True

    # ----- view changes -----------------------------------------------------
    def reset_for(self, frames: int) -> None:
        """A new file: keep window/invert/overlay choices, start at frame 0, fitted."""
        self.state = replace(self.state, frame=0, frames=max(1, frames), zoom=1.0, center=(0.5, 0.5))

    def _change(self, **changes: Any) -> None:
        new = replace(self.state, **changes)
        if new != self.state:
            self.state = new
            self.post_message(self.ViewChanged())

    def step_frame(self, delta: int) -> None:
        frames = max(1, self.state.frames)
        self._change(frame=(self.state.frame + delta) % frames)

    def step_zoom(self, delta: int) -> None:
        levels = list(ZOOMS)
        current = min(range(len(levels)), key=lambda i: abs(levels[i] - self.state.zoom))
        target = max(0, min(len(levels) - 1, current + delta))
        self._change(zoom=levels[target])

    def zoom_to(self, zoom: float, center: tuple[float, float]) -> None:
        self._change(zoom=max(1.0, zoom), center=center)

    def cycle_preset(self, presets: tuple[str, ...]) -> None:
        index = presets.index(self.state.preset) if self.state.preset in presets else -1
        self._change(preset=presets[(index + 1) % len(presets)])

    def toggle_invert(self) -> None:
        self._change(invert=not self.state.invert)

    def toggle_overlays(self) -> None:
        self._change(overlays=not self.state.overlays)

    def action_pan(self, dx: int, dy: int) -> None:
        step = 0.25 / self.state.zoom
        x, y = self.state.center
        self._change(center=(min(1.0, max(0.0, x + dx * step)), min(1.0, max(0.0, y + dy * step))))

    def action_reset_view(self) -> None:
        self._change(zoom=1.0, center=(0.5, 0.5))

    def caption(self, extra: str = "") -> str:
        s = self.state
        parts = [
            f"frame {s.frame + 1}/{s.frames}",
            f"zoom {s.zoom:g}x",
            f"window {s.preset}",
        ]
        if s.invert:
            parts.append("inverted")
        if s.overlays:
            parts.append("overlays")
        parts.append(self.mode)
        if extra:
            parts.append(extra)
        return " · ".join(parts)
