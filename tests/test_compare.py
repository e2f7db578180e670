"""Side by side (core.remedy.compare): the left half is the original's render, the right the copy's,
with the blacked-out box black on the right only; at odd pane sizes and zoomed."""

from __future__ import annotations

import numpy as np
import pytest

from pathlib import Path

from phi_review.core.dicom.pixels import render_frame, render_frame_window
from phi_review.core.remedy.compare import SEPARATOR, compose_split, half_box, side_by_side, view_of
from phi_review.core.remedy.redact import Box, Redaction, redact_file
from phi_review.sample_reports.make_dicom import burned_in_text_image

BOX = Box(0, 0, 320, 80)  # the text sits top-left


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("compare")
    original = burned_in_text_image(folder / "US.dcm", ["DOE^JANE  MRN-0042-7781", "31/01/2024 10:42"],
                                    size=(480, 360), font_size=24, bits=16)
    copy = folder / "corrected" / "US.dcm"
    redact_file(original, copy, Redaction([BOX]))
    return original, copy


@pytest.fixture(scope="module")
def pair(files: tuple[Path, Path]) -> tuple[np.ndarray, np.ndarray]:
    original, copy = files
    _, window = render_frame_window(original)
    return render_frame(original), render_frame(copy, window=window)


def _grey(image: np.ndarray) -> np.ndarray:
    return np.stack([image] * 3, axis=-1) if image.ndim == 2 else image


@pytest.mark.parametrize("box, gap, align", [((101, 57), 1, 1), ((333, 201), 1, 1), ((77, 199), 3, 1),
                                             ((961, 481), 2, 1), ((5, 3), 1, 1), ((333, 201), 10, 10),
                                             ((1191, 741), 9, 9)])
def test_left_is_the_original_right_is_the_copy(pair: tuple[np.ndarray, np.ndarray], box: tuple[int, int],
                                                gap: int, align: int) -> None:
    original, copy = pair
    composed = compose_split(original, copy, box, gap=gap, align=align)
    half = half_box(box, gap, align)
    left, right = view_of(original, 1.0, (0.5, 0.5), half), view_of(copy, 1.0, (0.5, 0.5), half)
    slot = -(-left.shape[1] // align) * align  # whole columns: the separator never straddles two
    assert composed.shape[1] == 2 * slot + gap <= max(box[0], gap + 2)
    assert composed.shape[0] <= box[1]
    assert np.array_equal(composed[: left.shape[0], :slot], _grey(left))
    assert np.array_equal(composed[: right.shape[0], slot + gap : 2 * slot + gap], _grey(right))
    assert (composed[:, slot : slot + gap] == SEPARATOR).all()
    # Inside the box (a pixel in from its fitted edges): black on the copy, text on the original.
    scale = left.shape[1] / original.shape[1]
    y0, y1 = 1, int(BOX.y1 * scale) - 1
    x0, x1 = 1, int(BOX.x1 * scale) - 1
    if y1 > y0 and x1 > x0:
        assert not composed[y0:y1, slot + gap + x0 : slot + gap + x1].any()
        assert composed[y0:y1, x0:x1].any()


def test_zoom_and_pan_reach_both_sides(pair: tuple[np.ndarray, np.ndarray]) -> None:
    original, copy = pair
    box, gap = (201, 99), 1
    center = (0.2, 0.1)  # over the text
    composed = compose_split(original, copy, box, zoom=8.0, center=center, gap=gap)
    left = view_of(original, 8.0, center, half_box(box, gap))
    right = view_of(copy, 8.0, center, half_box(box, gap))
    assert left.shape == right.shape[:2] or left.shape == right.shape
    slot = left.shape[1]
    assert np.array_equal(composed[:, :slot], _grey(left))
    assert np.array_equal(composed[:, slot + gap :], _grey(right))
    assert composed[:, :slot].any() and not composed[:, slot + gap :].any()  # all of this crop lies in the box
    assert not np.array_equal(left, view_of(original, 1.0, center, half_box(box, gap)))


def test_sides_of_different_sizes_keep_their_slots() -> None:
    tall = np.full((40, 10), 200, dtype=np.uint8)
    wide = np.full((10, 30, 3), 50, dtype=np.uint8)
    image = side_by_side(tall, wide, gap=2)
    assert image.shape == (40, 30 + 2 + 30, 3)
    assert (image[:, :10] == 200).all() and not image[:, 10:30].any()
    assert (image[:10, 32:62] == 50).all() and not image[10:, 32:].any()


@pytest.mark.parametrize("preset", ["file", "full", "robust"])
def test_the_copy_drawn_with_the_originals_window_differs_only_inside_the_box(files: tuple[Path, Path],
                                                                             preset: str) -> None:
    """The fill shifts the copy's own min/percentiles; with the original's window nothing else changes."""
    original, copy = files
    left, window = render_frame_window(original, preset=preset)
    assert window is not None
    right = render_frame(copy, preset=preset, window=window)
    outside = np.ones(left.shape[:2], dtype=bool)
    outside[BOX.y0 : BOX.y1, BOX.x0 : BOX.x1] = False
    assert np.array_equal(left[outside], right[outside])
    assert not right[BOX.y0 : BOX.y1, BOX.x0 : BOX.x1].any() and left[BOX.y0 : BOX.y1, BOX.x0 : BOX.x1].any()
    if preset == "robust":  # its own percentiles would not do: that is why the split passes the original's window
        assert not np.array_equal(render_frame(copy, preset=preset)[outside], left[outside])
