"""What the review screen's workers do: find a finding's file, read its header, render a view.

Plain functions with no widget access, so they run in thread workers and can be
tested without a screen.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from phi_review.core.common.errors import PhiReviewError
from phi_review.core.report.model import Finding
from phi_review.core.report.pointer import match_tags, match_values, required_missing, resolve_row
from phi_review.tui.widgets.preview_pane import ViewState


@dataclass
class LoadedFile:
    """What a worker found out about one finding's file."""

    path: Path | None
    candidates: list[Path] = field(default_factory=list)
    message: str = ""  # why there is no path or header, or ""
    header: Any = None  # core.dicom.header.HeaderResult
    info: Any = None  # core.dicom.pixels.ImageInfo
    image_error: str | None = None
    note: str = ""  # how the shown file was chosen (the row's value picked it; the reviewer picked it)
    elsewhere: bool = False  # candidates contradict the report: offered through c only


def load_file(finding: Finding, file_index: Any, chosen: Path | None, index_error: str | None) -> LoadedFile:
    """Resolve the finding's file, read its header (marking the flagged tag/value) and image info."""
    from phi_review.core.dicom.header import read_header
    from phi_review.core.dicom.pixels import image_info

    note, elsewhere = "", False
    if chosen is not None:
        path, candidates, message = chosen, [], ""
    elif file_index is None:
        return LoadedFile(None, [], index_error or "file index not ready")
    else:
        resolution = resolve_row(file_index, finding)  # the row's own file or none: never a same-named other
        path, message = resolution.path, resolution.message
        candidates = list(resolution.candidates or resolution.elsewhere)
        elsewhere = not resolution.candidates and bool(resolution.elsewhere)
        if path is not None:
            note, message = message, ""
    if path is None:
        return LoadedFile(None, candidates, message, elsewhere=elsewhere)
    try:
        # What the row names (Details' tag beats value matching; placeholders never match).
        header = read_header(
            path,
            match_values=match_values(finding),
            match_tags=match_tags(finding),
            required_missing=required_missing(finding),
        )
    except PhiReviewError as error:
        return LoadedFile(path, [], str(error))
    loaded = LoadedFile(path, candidates, "", header=header, note=note)
    try:
        loaded.info = image_info(path)
    except PhiReviewError as error:
        loaded.image_error = str(error)
    return loaded


def render_frame_cached(cache: Any, path: Path, state: ViewState, window: tuple[float, float] | None = None) -> Any:
    """The full-resolution 8-bit frame for this view, from the cache when it is there."""
    return render_window_cached(cache, path, state, window)[0]


def render_window_cached(cache: Any, path: Path, state: ViewState,
                         window: tuple[float, float] | None = None) -> tuple[Any, tuple[float, float] | None]:
    """The frame and the grey range it was drawn with (None for colour), through the cache.

    ``window`` forces the range (the split view draws the copy with the
    original's). The key holds the file's inode, size and modification time:
    a corrected copy is rewritten in place (R again, C), and the preview must
    never show the old one.
    """
    import os

    import numpy as np

    from phi_review.core.dicom.pixels import render_frame_window

    try:
        stat = os.stat(path)
        version: tuple[int, int, int] | None = (stat.st_ino, stat.st_mtime_ns, stat.st_size)
    except OSError:
        version = None  # render_frame says why in one line
    key = (str(path), version, state.frame, state.preset, state.invert, state.overlays, window)
    full = cache.get(key) if cache is not None else None
    used = cache.get((key, "window")) if cache is not None else None
    if full is not None and used is not None:
        return full, (float(used[0]), float(used[1])) if used.size == 2 else None
    full, range_used = render_frame_window(path, state.frame, preset=state.preset, invert=state.invert,
                                           overlays=state.overlays, window=window)
    if cache is not None:
        cache.put(key, full)
        cache.put((key, "window"), np.asarray(range_used if range_used is not None else (), dtype=np.float64))
    return full, range_used


BoxMark = tuple[tuple[int, int, int, int], "bool | str"]

# Outline colours: OCR lines (likely PHI / other text), masks to black out, the box being edited.
BOX_COLOURS = {True: (255, 40, 40), False: (255, 220, 0), "mask": (0, 200, 255), "done": (0, 200, 255),
               "edit": (0, 255, 120)}


def draw_boxes(image: Any, boxes: list[BoxMark]) -> Any:
    """Draw boxes on a copy of the frame: OCR lines outlined, masks filled black, the edited box outlined."""
    import numpy as np
    from PIL import Image, ImageDraw

    rgb = Image.fromarray(image if image.ndim == 3 else np.stack([image] * 3, axis=-1))
    draw = ImageDraw.Draw(rgb)
    width = max(1, min(rgb.size) // 200)
    for (x0, y0, x1, y1), kind in boxes:
        colour = BOX_COLOURS.get(kind, (255, 220, 0))
        if kind == "mask":  # what the copy will look like: black, with an outline to see it on dark images
            draw.rectangle((x0, y0, x1 - 1, y1 - 1), fill=(0, 0, 0))
            draw.rectangle((x0 - 1, y0 - 1, x1, y1), outline=colour, width=width)
        else:
            pad = 0 if kind == "edit" else 2
            draw.rectangle((x0 - pad, y0 - pad, x1 + pad, y1 + pad), outline=colour, width=width)
    return np.asarray(rgb)


def render_view(cache: Any, path: Path, state: ViewState, box: tuple[int, int],
                boxes: list[BoxMark] | None = None) -> Any:
    """A PIL image of what the pane shows: the fitted frame, or the zoomed crop, with OCR boxes."""
    from PIL import Image

    from phi_review.core.dicom.view import crop_view, fit

    full = render_frame_cached(cache, path, state)
    if state.strip is not None:  # t: the line alone, whole, in stacked parts (text_strip.py)
        from phi_review.tui.widgets.text_strip import render_strip

        return render_strip(full, state.strip, box)
    if boxes:
        full = draw_boxes(full, boxes)
    view = crop_view(full, state.zoom, state.center, box) if state.zoom > 1.0 else fit(full, box)
    return Image.fromarray(view)
