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

from phi_review.tui.widgets.text_strip import (  # noqa: F401 - legible_zoom and LEGIBLE_LINE are re-exported
    LEGIBLE_LINE,
    MAX_ZOOM,
    STRIP_LEGIBLE,
    StripSpec,
    device_pixels,
    legible_zoom,
    line_fits,
    strip_spec,
)

ZOOMS = (1.0, 1.5, 2.0, 3.0, 4.0, 6.0, 8.0, 12.0, 16.0, 24.0, 32.0)


def whole_cells(image: Any, box: tuple[int, int], cell_size: tuple[int, int]) -> Any:
    """Pad (or, when the space shrank, fit then pad) a PIL image to exactly ``box`` pixels.

    textual-image stretches a picture to the widget's cells; a picture that is
    already the widget's size in pixels is drawn 1:1, never cut, and for sixel
    its height is whole cells and whole 6-pixel sixel bands (the box is).
    """
    from PIL import Image

    box_w, box_h = max(1, box[0]), max(1, box[1])
    if image.width > box_w or image.height > box_h:
        scale = min(box_w / image.width, box_h / image.height)
        image = image.resize((max(1, int(image.width * scale)), max(1, int(image.height * scale))),
                             Image.Resampling.BOX)
    if image.size == (box_w, box_h):
        return image
    canvas = Image.new(image.mode if image.mode in ("RGB", "L") else "RGB", (box_w, box_h), 0)
    canvas.paste(image.convert(canvas.mode), (0, 0))
    return canvas


def zoom_text(zoom: float) -> str:
    """A zoom as a reviewer reads it: one decimal at most (``t`` computes 4.551111, shown 4.6)."""
    return f"{round(zoom, 1):g}"


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
    strip: StripSpec | None = None  # t: one text line laid out whole (text_strip.py), until any other change


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
    PreviewPane > .preview-image { width: 1fr; height: 1fr; }
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

    def image_cells(self) -> tuple[int, int]:
        """Columns and rows the image is given: the pane's content minus the caption and the text panel."""
        cols = max(1, self.content_size.width)
        panel = self.query_one("#preview-ocr", Static)
        used = 1 + (panel.outer_size.height if panel.display else 0)
        rows = max(1, self.content_size.height - used)
        return cols, rows

    def pixel_box(self) -> tuple[int, int]:
        """The image size in pixels that exactly fills the space the image is given.

        For sixel the height is cut to whole 6-pixel bands: a last band taller
        than the picture is drawn by the terminal anyway.
        """
        cols, rows = self.image_cells()
        cell_w, cell_h = self.cell_size
        height = rows * cell_h
        if self.mode == "sixel" and height >= 6:
            height -= height % 6
        return cols * cell_w, height

    def cell_box(self) -> tuple[int, int]:
        cols, rows = self.image_cells()
        return cols, rows * 2

    def text_view(self, halves: int = 1) -> tuple[int, int]:
        """Cells one frame has in the pane (``halves``: 2 when two frames share it, the separator takes one)."""
        columns, rows = self.image_cells()
        return max(1, (columns - (halves - 1)) // halves), rows

    def line_fits(self, text_box: tuple[int, int, int, int], image_size: tuple[int, int], halves: int = 1) -> bool:
        """Whether zooming shows this line whole and legible here (else it needs the strip)."""
        return line_fits(text_box, image_size, self.text_view(halves), self.mode, self.cell_size)

    def show_text_line(self, text_box: tuple[int, int, int, int], image_size: tuple[int, int], label: str = "",
                       halves: int = 1, strip: bool | None = None) -> bool:
        """``t``: show one burned-in line whole and legible; True when it is shown as a strip.

        Zoom onto it when, legible, it fits the view's width (``halves``: 2 when two
        frames share the pane); else (or when ``strip`` says so) lay it out as a strip of stacked parts.
        """
        view = self.text_view(halves)
        if strip is None:
            strip = not line_fits(text_box, image_size, view, self.mode, self.cell_size)
        if not strip:
            zoom, center = legible_zoom(text_box, image_size, view, self.mode, self.cell_size)
            self.zoom_to(zoom, center)
            return False
        self._change(strip=strip_spec(text_box, image_size, self.mode, self.cell_size, label))
        return True

    def strip_words(self) -> str:
        """How the strip on screen is laid out, for the caption: parts, and whether it is below legible size."""
        spec = self.state.strip
        if spec is None:
            return ""
        layout = spec.layout(self.pixel_box())
        parts = len(layout.parts)
        words = "whole line" if parts == 1 else f"whole line in {parts} parts, each repeating the last bit"
        if layout.text_height(spec.line_height) < STRIP_LEGIBLE:
            words += " · small: a larger terminal shows it larger"
        return words

    def on_resize(self, _event: Any) -> None:
        """The space changed: render again at the new size (the app re-renders on ViewChanged)."""
        if self.image_widget is not None and self.image_widget.display:
            self.post_message(self.ViewChanged())

    # ----- showing ----------------------------------------------------------
    def show_message(self, text: str, caption: str = "") -> None:
        self._pending = None
        self.query_one("#preview-caption", Static).update(caption)
        message = self.query_one("#preview-message", Static)
        message.update(text)
        message.display = True
        if self.image_widget is not None:
            self.image_widget.display = False

    _pending: tuple[Any, str] | None = None

    def toasts_over_image(self) -> bool:
        """Whether a notification lies over this pane while sixel/Kitty would paint over it.

        Terminal graphics are drawn after the text, on top of it: a start-up
        message ("Recovered 3 unsaved decisions", read-only) under a sixel image
        is never seen. Half-cell images are text and Textual layers them right.
        """
        if self.mode not in ("sixel", "kitty"):
            return False
        from phi_review.tui.terminal.graphics import toasts_over

        return toasts_over(self)

    _toast_was_over = False

    def on_mount(self) -> None:
        if self.mode in ("sixel", "kitty"):
            self.set_interval(0.25, self._after_toasts)

    def _after_toasts(self) -> None:
        """Draw the picture again once the notifications over it are gone.

        A sixel or Kitty picture is sent once, from its first cell: when a toast
        over it disappears, Textual repaints only the cells under the toast, and a
        hole stays in the picture (seen in xterm -ti vt340). A full refresh sends it whole.
        """
        over = self.toasts_over_image()
        if self._toast_was_over and not over and self.image_widget is not None and self.image_widget.display:
            for widget in (self.image_widget, *self.image_widget.walk_children()):
                widget.refresh()
        self._toast_was_over = over

    def _show_pending(self) -> None:
        pending, self._pending = self._pending, None
        if pending is not None:
            self.show_image(*pending)

    def show_image(self, image: Any, caption: str) -> None:
        """Show a PIL image already fitted to ``pixel_box()`` (held while a message lies over the pane)."""
        self.query_one("#preview-caption", Static).update(caption)
        if self.image_widget is None:
            self.show_message("Preview off: no image mode in this terminal; press p to toggle panes.", caption)
            return
        if self.toasts_over_image():
            first = self._pending is None
            self._pending = (image, caption)
            if first:
                self.set_timer(0.3, self._show_pending)
            self.query_one("#preview-caption", Static).update(f"{caption} · image after the messages")
            return
        self._pending = None
        self.query_one("#preview-message", Static).display = False
        # Exactly the space given: the widget is 1fr x 1fr, the picture is padded to its pixels.
        self.image_widget.image = self._for_widget(image)  # type: ignore[attr-defined]
        self.image_widget.display = True

    def _for_widget(self, image: Any) -> Any:
        """The picture the image widget is given: the pane's pixel box, or for a half-cell strip one pixel per
        half-cell (textual-image then draws it as it is; scaling the box down again would blur the letters)."""
        spec = self.state.strip
        if spec is not None and self.mode == "halfcell":
            cols, rows = self.image_cells()
            if image.size == (cols, rows * 2):
                return image
            from PIL import Image

            image = image.resize((image.width * spec.unit[0], image.height * spec.unit[1]), Image.Resampling.NEAREST)
        return whole_cells(image, self.pixel_box_cells(), self.cell_size)

    def pixel_box_cells(self) -> tuple[int, int]:
        """pixel_box() rounded up to whole cells: what the image widget covers, in pixels."""
        cols, rows = self.image_cells()
        return cols * self.cell_size[0], rows * self.cell_size[1]

    # ----- view changes -----------------------------------------------------
    def reset_for(self, frames: int) -> None:
        """A new file: keep window/invert/overlay choices, start at frame 0, fitted."""
        self.state = replace(self.state, frame=0, frames=max(1, frames), zoom=1.0, center=(0.5, 0.5), strip=None)

    def _change(self, **changes: Any) -> None:
        changes.setdefault("strip", None)  # any other change (zoom, pan, frame, window) leaves the strip
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
        self._change(zoom=min(MAX_ZOOM, max(1.0, zoom)), center=center)

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
            f"zoom {zoom_text(s.zoom)}x",
            f"window {s.preset}",
        ]
        if s.strip is not None:  # the line's own text first: it is what the reviewer reads beside the strip
            parts = [p for p in (s.strip.label, self.strip_words(), "> < lines · 0 back", parts[0], parts[2]) if p]
        if s.invert:
            parts.append("inverted")
        if s.overlays:
            parts.append("overlays")
        parts.append(self.mode)
        if extra:
            parts.append(extra)
        return " · ".join(parts)
