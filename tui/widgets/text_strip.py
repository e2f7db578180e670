"""Geometry of ``t``: make one burned-in text line legible, whole, in whatever space the pane has.

Pure functions (Pillow and numpy only, no Textual), so they are unit-tested
without a screen. Two ways to show a line:

- **zoom**: when the line, zoomed until it is legible, still fits the pane's
  width, the view zooms onto it (the line is seen where it sits in the frame);
- **strip**: otherwise the line's crop is cut into parts that each fit the
  pane's width, every part repeating the end of the one before (a character
  cut at one edge is whole in the next part), stacked top to bottom with a
  small gap, at the largest scale at which all of them fit. Never a window
  onto part of the line.

Sizes are in *device pixels*: what the renderer can draw per terminal cell
(half-cell 1x2, sixel and Kitty the cell's pixels).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

MAX_ZOOM = 32.0
# Rows of device pixels a burned-in text line needs to be read when zooming in the frame: half-cell draws
# two "pixels" per terminal row, so 16 of them is about 8 terminal rows; sixel and Kitty draw real pixels.
LEGIBLE_LINE = {"halfcell": 16, "sixel": 16, "kitty": 16}
# The strip shows the line alone, on its own background: a line box 12 device pixels tall (a 16-px burned-in
# font at 0.65x, capitals about 8 px) reads clearly, digits included (checked on the demo's ultrasound).
STRIP_LEGIBLE = 12
# Fewer parts read more easily, but only once the letters are comfortably large: 24 device pixels (12 rows
# of half-cells; in xterm a 12-px half-cell line read as blocks, 0042 close to 0043).
STRIP_COMFORTABLE = 24
MAX_PARTS = 64
STRIP_BACKGROUND = (48, 48, 48)  # the gap between parts and the space after them: not the black of the frame


def device_pixels(mode: str, cell_size: tuple[int, int]) -> tuple[int, int]:
    """Pixels the renderer draws per terminal cell: half-cell draws 1x2, sixel and Kitty the cell's pixels."""
    if mode == "halfcell":
        return 1, 2
    return max(1, cell_size[0]), max(1, cell_size[1])


def legible_zoom(text_box: tuple[int, int, int, int], image_size: tuple[int, int], view_cells: tuple[int, int],
                 mode: str, cell_size: tuple[int, int]) -> tuple[float, tuple[float, float]]:
    """Zoom and centre that make one text line readable in this renderer, starting at its left end.

    At zoom 1 the frame fits ``view_cells``; a text line ``text_box`` (image
    pixels) is then ``text_h * fit`` device pixels tall. The zoom is the larger
    of "the whole box fits the view" and "the line is LEGIBLE_LINE device pixels
    tall"; when the line is then wider than the view the centre sits so that the
    line's beginning is on screen (``line_fits`` says whether that happens).
    """
    x0, y0, x1, y1 = text_box
    width, height = max(1, image_size[0]), max(1, image_size[1])
    per_cell = device_pixels(mode, cell_size)
    view_w = max(1, view_cells[0]) * per_cell[0]
    view_h = max(1, view_cells[1]) * per_cell[1]
    fit_scale = min(view_w / width, view_h / height)  # device pixels per image pixel at zoom 1
    box_w, box_h = max(1, x1 - x0 + 8), max(1, y1 - y0 + 4)
    whole_box = 0.8 * min(width / box_w, height / box_h)
    readable = LEGIBLE_LINE.get(mode, 16) / (max(1, y1 - y0) * fit_scale)
    zoom = min(MAX_ZOOM, max(1.0, whole_box, readable))
    scale = fit_scale * zoom
    shown_w = view_w / scale  # image pixels across the view at this zoom
    margin = max(4, (y1 - y0) // 2)  # the box's own outline and a little dark before the first letter
    cx = (x0 + x1) / 2 if shown_w >= box_w else x0 - margin + shown_w / 2
    return zoom, (min(1.0, max(0.0, cx / width)), min(1.0, max(0.0, (y0 + y1) / 2 / height)))


def ink_box(box: tuple[int, int, int, int], words: Any = ()) -> tuple[int, int, int, int]:
    """The box that holds a line's letters: the union of its words' boxes (tight around the capitals) with a
    quarter of their height above and below for accents and descenders, else the OCR line's own box.

    OCR line boxes can be loose (half a line of dark above and below, reaching into the
    next line): every row of dark makes the strip's letters smaller.
    """
    boxes = [tuple(word.box) for word in words or () if getattr(word, "box", None)]
    if not boxes:
        return box
    x0, y0 = min(b[0] for b in boxes), min(b[1] for b in boxes)
    x1, y1 = max(b[2] for b in boxes), max(b[3] for b in boxes)
    pad = max(1, round((y1 - y0) / 4))
    return x0, max(0, y0 - pad), x1, y1 + pad


def line_fits(text_box: tuple[int, int, int, int], image_size: tuple[int, int], view_cells: tuple[int, int],
              mode: str, cell_size: tuple[int, int]) -> bool:
    """Whether zooming shows this line whole *and* legible in the view; else ``t`` lays it out as a strip."""
    x0, y0, x1, y1 = text_box
    width, height = max(1, image_size[0]), max(1, image_size[1])
    per_cell = device_pixels(mode, cell_size)
    view_w = max(1, view_cells[0]) * per_cell[0]
    view_h = max(1, view_cells[1]) * per_cell[1]
    zoom, _ = legible_zoom(text_box, image_size, view_cells, mode, cell_size)
    scale = min(view_w / width, view_h / height) * zoom
    legible = max(1, y1 - y0) * scale >= LEGIBLE_LINE.get(mode, 16) - 1e-6
    return legible and (x1 - x0 + 8) * scale <= view_w


@dataclass(frozen=True)
class StripSpec:
    """What the render worker needs to draw one line as a strip; part of the view state (hashable).

    ``crop``: the line's box with a little margin, in the frame's pixels;
    ``unit``: pixels of the pane's pixel box per device pixel (half-cell (10, 10) for 10x20 cells, else 1x1);
    ``gap``: device pixels between parts; ``label``: the line as the caption names it (inert text).
    """

    crop: tuple[int, int, int, int]
    line_height: int
    unit: tuple[int, int] = (1, 1)
    gap: int = 2
    label: str = ""

    @property
    def size(self) -> tuple[int, int]:
        x0, y0, x1, y1 = self.crop
        return max(1, x1 - x0), max(1, y1 - y0)

    @property
    def overlap(self) -> int:
        """Frame pixels each part repeats of the one before: about a character and a third."""
        return max(2, round(0.75 * self.line_height))

    def view(self, box: tuple[int, int]) -> tuple[int, int]:
        """Device pixels in a pane pixel box."""
        return max(1, box[0] // max(1, self.unit[0])), max(1, box[1] // max(1, self.unit[1]))

    def layout(self, box: tuple[int, int]) -> "StripLayout":
        view = self.view(box)
        cap = 4 * STRIP_LEGIBLE / max(1, self.line_height)  # large enough to read, never absurdly large
        return strip_layout(self.size, view, self.overlap, self.gap, max_scale=max(cap, 1.0),
                            enough=STRIP_COMFORTABLE / max(1, self.line_height))


def strip_spec(text_box: tuple[int, int, int, int], image_size: tuple[int, int], mode: str,
               cell_size: tuple[int, int], label: str = "") -> StripSpec:
    """The strip for one OCR line box in this renderer: margin around the box, units, the gap between parts."""
    x0, y0, x1, y1 = text_box
    height = max(1, y1 - y0)
    pad = max(2, height // 6)  # across: a little dark before the first letter; down: OCR boxes hold the glyphs
    width_px, height_px = max(1, image_size[0]), max(1, image_size[1])
    crop = (max(0, x0 - pad), max(0, y0 - 1), min(width_px, x1 + pad), min(height_px, y1 + 1))
    if crop[2] <= crop[0] or crop[3] <= crop[1]:
        crop = (0, 0, width_px, height_px)
    if mode == "halfcell":
        unit, gap = (max(1, cell_size[0]), max(1, cell_size[1] // 2)), 2  # one terminal row between parts
    else:
        unit, gap = (1, 1), max(4, cell_size[1] // 3)
    return StripSpec(crop, height, unit, gap, label)


@dataclass(frozen=True)
class StripPart:
    """One piece of the line: columns ``x0..x1`` of the crop, drawn at ``top`` (device pixels)."""

    x0: int
    x1: int
    top: int


@dataclass(frozen=True)
class StripLayout:
    scale: float  # device pixels per frame pixel
    parts: tuple[StripPart, ...]
    part_size: tuple[int, int]  # each part's size on screen, device pixels
    size: tuple[int, int]  # the whole stack, device pixels (within the view)

    def text_height(self, line_height: int) -> float:
        return line_height * self.scale


def strip_layout(crop: tuple[int, int], view: tuple[int, int], overlap: int, gap: int,
                 max_scale: float = 8.0, enough: float | None = None) -> StripLayout:
    """Cut a ``crop`` (w, h frame pixels) into k parts that stack inside ``view`` (device pixels).

    With k parts of ``pw`` frame pixels each, consecutive parts share at least
    ``overlap`` pixels: k*pw - (k-1)*overlap >= w. For each k the scale s is the
    largest that fits across (pw*s <= view width) and down (k*h*s + (k-1)*gap <=
    view height), capped at ``max_scale``. Fewer parts read more easily: the
    fewest whose scale reaches ``enough`` win; when none does, the largest scale.
    """
    w, h = max(1, crop[0]), max(1, crop[1])
    vw, vh = max(1, view[0]), max(1, view[1])
    overlap = max(0, min(overlap, w - 1))
    best_scale, best_k = 0.0, 1
    for k in range(1, MAX_PARTS + 1):
        room = vh - (k - 1) * gap
        if room <= 0:
            break
        part_w = math.ceil((w + (k - 1) * overlap) / k)
        scale = min(vw / part_w, room / (k * h), max_scale)
        if k > 1 and h * scale < 1:  # parts less than a pixel tall: more of them would not fit
            break
        if scale > best_scale * (1 + 1e-9):
            best_scale, best_k = scale, k
        if enough is not None and scale >= enough:
            break
        if part_w <= overlap + 1:
            break
    k = best_k
    part_w = math.ceil((w + (k - 1) * overlap) / k)
    scale = best_scale if best_scale > 0 else min(vw / w, vh / h)
    out_w = max(1, min(vw, math.floor(part_w * scale + 1e-6)))
    out_h = max(1, math.floor(h * scale + 1e-6))
    parts = []
    for i in range(k):
        x0 = 0 if k == 1 else round(i * (w - part_w) / (k - 1))
        parts.append(StripPart(x0, min(w, x0 + part_w), i * (out_h + gap)))
    return StripLayout(scale, tuple(parts), (out_w, out_h), (out_w, k * out_h + (k - 1) * gap))


def render_strip(frame: Any, spec: StripSpec, box: tuple[int, int]) -> Any:
    """A PIL image of the line's parts stacked in ``box`` (the pane's pixel box).

    Half-cell (unit > 1): the image is returned at device resolution, one pixel
    per half-cell, so no resampling blurs it on its way to the screen; sixel and
    Kitty: exactly ``box``.
    """
    import numpy as np
    from PIL import Image

    x0, y0, x1, y1 = spec.crop
    crop = np.ascontiguousarray(frame[y0:y1, x0:x1])
    if crop.ndim == 3 and crop.shape[2] == 1:
        crop = crop[:, :, 0]
    line = Image.fromarray(crop).convert("RGB")
    layout = spec.layout(box)
    canvas = Image.new("RGB", spec.view(box), STRIP_BACKGROUND)
    resample = Image.Resampling.NEAREST if layout.scale >= 1 else Image.Resampling.BOX
    for part in layout.parts:
        piece = line.crop((part.x0, 0, part.x1, line.height)).resize(layout.part_size, resample)
        canvas.paste(piece, (0, part.top))
    return canvas
