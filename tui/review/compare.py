"""Split view on the review screen: the original frame and its corrected copy side by side (``S``).

Why: ``X`` flips between the two, so a reviewer compares from memory; side by
side, a blackout is verified at a glance. The screen asks for one composed
image (``core.remedy.compare``), rendered in the same worker, from the same
frame cache and bounded reading as any preview, so frame, window, invert,
zoom and pan are shared by construction.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from phi_review.tui.review.file_loader import BoxMark, draw_boxes, render_frame_cached, render_window_cached
from phi_review.tui.widgets.preview_pane import PreviewPane, ViewState

if TYPE_CHECKING:
    from phi_review.tui.review.screen import ReviewScreen

SPLIT_CAPTION = "original | corrected copy"


def separator(mode: str, cell_size: tuple[int, int]) -> tuple[int, int]:
    """(width, alignment) of the separator in the image's pixels.

    Half-cell draws one terminal column from ``cell_size[0]`` image pixels:
    the separator is one whole column, and each side whole columns, or it
    would fade into a grey smear. Sixel and Kitty draw real pixels: a few.
    """
    if mode == "halfcell":
        return max(1, cell_size[0]), max(1, cell_size[0])
    return max(2, cell_size[0] // 5), 1


def render_split(cache: Any, original: Path, copy: Path, state: ViewState, box: tuple[int, int],
                 left_boxes: list[BoxMark] | None, right_boxes: list[BoxMark] | None,
                 gap: tuple[int, int] = (1, 1)) -> Any:
    """A PIL image of both sides: each frame read through the cache (the copy with the original's grey
    range, so only what was blacked out differs), outlined, fitted to half of ``box``;
    ``gap`` is ``separator()``'s (width, alignment)."""
    from PIL import Image

    from phi_review.core.remedy.compare import compose_split

    left, window = render_window_cached(cache, original, state)
    right = render_frame_cached(cache, copy, state, window)  # the original's grey range: same W/L on both
    if left_boxes:
        left = draw_boxes(left, left_boxes)
    if right_boxes:
        right = draw_boxes(right, right_boxes)
    return Image.fromarray(compose_split(left, right, box, zoom=state.zoom, center=state.center,
                                         gap=gap[0], align=gap[1]))


class SplitView:
    """Whether the preview shows original and copy side by side, and what each side outlines."""

    def __init__(self, screen: "ReviewScreen") -> None:
        self.screen = screen
        self.on = False

    def pair(self) -> tuple[Path, Path] | None:
        """(original, corrected copy) when the split is on and the row's file has a blacked-out copy."""
        if not self.on:
            return None
        loaded = self.screen.files.current()
        if loaded is None or loaded.path is None or loaded.info is None:
            return None
        state = self.screen.remedy.copies.get(str(loaded.path))
        return (loaded.path, state.copy) if state is not None else None

    def boxes(self, original: Path, frame: int) -> tuple[list[BoxMark], list[BoxMark]]:
        """Left: OCR lines, masks and done boxes outlined, never filled (it is the original); right: boxes done."""
        remedy = self.screen.remedy
        state = remedy.copies.get(str(original))
        done: list[BoxMark] = [(box.as_tuple(), "done") for box in state.boxes] if state is not None else []
        left: list[BoxMark] = list(self.screen.ocr.boxes_for(original, frame))
        left += done + [(box.as_tuple(), "done") for box in remedy.masks.get(str(original), [])]
        if remedy.editing is not None:
            left.append((remedy.editing, "edit"))
        return left, list(done)

    def toggle(self) -> None:
        loaded = self.screen.files.current()
        if loaded is None or loaded.path is None or str(loaded.path) not in self.screen.remedy.copies:
            self.screen.notify("No corrected copy of this file yet (R writes one).", markup=False)
            return
        self.on = not self.on
        if self.on and not self.screen.query_one(PreviewPane).display:
            self.screen.notify("Side by side on: p shows the preview.", markup=False)
        self.screen.ocr.show_panel()
        self.screen.call_after_refresh(self.screen.request_render)  # once the panel's new line is laid out

    def refit(self) -> None:
        """Render again when the image's space changed since it was asked for (the text panel grew or
        shrank): squeezed to fit, the separator would smear across columns. Checked now and once the
        layout has settled."""

        def check() -> None:
            box = self.screen.query_one(PreviewPane).pixel_box()
            if self.pair() is not None and self.screen.files.render_box != box:
                self.screen.request_render()

        check()
        self.screen.call_after_refresh(check)
        self.screen.set_timer(0.25, check)

    def request(self) -> bool:
        """Ask the render worker for the split image; False when the single preview should be drawn."""
        pair = self.pair()
        if pair is None or self.screen.query_one(PreviewPane).state.strip is not None:  # t's strip: one line, alone
            return False
        original, copy = pair
        left, right = self.boxes(original, self.screen.query_one(PreviewPane).state.frame)
        self.screen.files.request_render(self.screen.files.token, left, None, split=(copy, right))
        return True
