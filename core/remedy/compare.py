"""The original frame and its corrected copy side by side, in one image.

Why one image: the preview draws a single picture through a single path (fit,
zoom, pan, then the terminal's graphics), so composing both sides here keeps
them in step by construction: the same window preset, invert, zoom, centre and
frame reach both, and a blackout is checked at a glance. Pure numpy/PIL.
"""

from __future__ import annotations

import numpy as np

from phi_review.core.dicom.view import crop_view, fit

SEPARATOR = (128, 128, 128)  # mid-grey: visible on black ultrasound backgrounds and on white film alike


def half_box(box: tuple[int, int], gap: int, align: int = 1) -> tuple[int, int]:
    """The pixel box each side is fitted to: half the pane's width once the separator is taken out,
    rounded down to whole ``align`` steps (terminal columns) when there is room for one."""
    width, height = max(1, box[0]), max(1, box[1])
    half = max(1, (width - max(0, gap)) // 2)
    step = max(1, align)
    return (half // step * step if half >= step else half), height


def view_of(full: np.ndarray, zoom: float, center: tuple[float, float], box: tuple[int, int]) -> np.ndarray:
    """What one side shows: the fitted frame, or the zoomed crop (the single preview's rule)."""
    return crop_view(full, zoom, center, box) if zoom > 1.0 else fit(full, box)


def _rgb(image: np.ndarray) -> np.ndarray:
    return image[..., :3] if image.ndim == 3 else np.stack([image] * 3, axis=-1)


def side_by_side(left: np.ndarray, right: np.ndarray, gap: int = 1,
                 colour: tuple[int, int, int] = SEPARATOR, align: int = 1) -> np.ndarray:
    """Two views in one RGB image: ``left`` at x 0, a ``gap``-pixel separator, then ``right``; top-aligned.

    Both slots are as wide as the wider view, rounded up to whole ``align``
    steps (a half-cell terminal averages each column's pixels: a separator
    straddling two columns would fade), so the right side starts at
    ``slot + gap`` whatever each side's own width; the rest is black.
    """
    left, right = _rgb(left), _rgb(right)
    gap, step = max(0, gap), max(1, align)
    slot = -(-max(left.shape[1], right.shape[1]) // step) * step
    height = max(left.shape[0], right.shape[0])
    canvas = np.zeros((height, 2 * slot + gap, 3), dtype=np.uint8)
    canvas[: left.shape[0], : left.shape[1]] = left
    canvas[:, slot : slot + gap] = colour
    canvas[: right.shape[0], slot + gap : slot + gap + right.shape[1]] = right
    return canvas


def compose_split(original: np.ndarray, copy: np.ndarray, box: tuple[int, int], *, zoom: float = 1.0,
                  center: tuple[float, float] = (0.5, 0.5), gap: int = 1, align: int = 1) -> np.ndarray:
    """Original (left) and copy (right), full-resolution 8-bit frames, each fitted or zoomed to half of ``box``.

    The result is at most ``box`` wide and high (when ``box`` is at least
    ``gap + 2 * align`` pixels wide), ready for the preview's one-image path.
    """
    half = half_box(box, gap, align)
    step = align if half[0] % max(1, align) == 0 else 1
    return side_by_side(view_of(original, zoom, center, half), view_of(copy, zoom, center, half), gap,
                        align=step)
