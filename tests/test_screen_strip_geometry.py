"""t's text strip, the pure geometry: a burned-in line cut into stacked parts that fit a cell grid.

Every part fits the view, the parts together cover the whole line, each repeats
the end of the one before, and the scale is the largest that fits.
"""

from __future__ import annotations

import random

import numpy as np
import pytest

from phi_review.tui.widgets.text_strip import (
    STRIP_LEGIBLE,
    line_fits,
    render_strip,
    strip_layout,
    strip_spec,
)


def _check(crop, view, overlap, gap, layout):
    w, h = crop
    assert layout.parts[0].x0 == 0 and layout.parts[-1].x1 == w  # the whole line, first letter to last
    for before, after in zip(layout.parts, layout.parts[1:]):
        assert after.x0 <= before.x1 - overlap  # each part repeats the end of the one before
        assert after.top == before.top + layout.part_size[1] + gap
    assert layout.part_size[0] <= view[0]
    assert layout.parts[-1].top + layout.part_size[1] <= view[1]
    assert layout.size[0] <= view[0] and layout.size[1] <= view[1]
    for part in layout.parts:  # every part drawn at the layout's scale, not squeezed
        assert part.x1 - part.x0 == layout.parts[0].x1 - layout.parts[0].x0


def test_a_line_wider_than_the_pane_is_split_into_stacked_parts():
    # The demo's date line (158x19 px, with margin 164x25) in 60 half-cell columns and 34 rows (68 half-cells).
    layout = strip_layout((164, 25), (60, 68), overlap=14, gap=2)
    _check((164, 25), (60, 68), 14, 2, layout)
    assert len(layout.parts) == 3
    assert layout.text_height(19) >= STRIP_LEGIBLE


def test_a_line_that_fits_stays_one_part_at_the_largest_scale():
    layout = strip_layout((100, 20), (600, 400), overlap=15, gap=6, max_scale=3.0)
    assert len(layout.parts) == 1 and layout.scale == pytest.approx(3.0)


def test_the_best_number_of_parts_wins():
    # Tall and narrow view: more parts give a larger scale; short and wide: fewer.
    tall = strip_layout((300, 20), (80, 400), overlap=10, gap=2)
    wide = strip_layout((300, 20), (400, 30), overlap=10, gap=2)
    assert len(tall.parts) > 1 and len(wide.parts) == 1
    for k in range(1, 10):  # no other k does better
        part_w = -(-(300 + (k - 1) * 10) // k)
        scale = min(80 / part_w, (400 - (k - 1) * 2) / (k * 20), 8.0)
        assert scale <= tall.scale * (1 + 1e-9)


def test_random_lines_and_views_always_show_the_whole_line():
    rng = random.Random(24)
    for _ in range(3000):
        crop = (rng.randint(1, 900), rng.randint(1, 60))
        view = (rng.randint(1, 300), rng.randint(1, 200))
        overlap, gap = rng.randint(0, 40), rng.randint(0, 8)
        layout = strip_layout(crop, view, overlap, gap)
        if len(layout.parts) > 1:
            _check(crop, view, min(overlap, crop[0] - 1), gap, layout)
        assert layout.parts[0].x0 == 0 and layout.parts[-1].x1 == crop[0]
        assert layout.size[0] <= view[0] and (layout.size[1] <= view[1] or layout.part_size[1] == 1)


def test_legible_lines_that_fit_zoom_in_place_and_others_need_the_strip():
    box = (7, 29, 165, 48)  # the demo's date line in a 512x512 frame
    assert not line_fits(box, (512, 512), (60, 10), "halfcell", (10, 20))  # 60 columns: too narrow at 16 rows
    assert line_fits(box, (512, 512), (60, 10), "sixel", (10, 20))  # 600 pixels: wide enough
    assert line_fits((8, 8, 40, 26), (512, 512), (80, 9), "halfcell", (10, 20))  # a short word fits


def test_render_strip_draws_every_part_of_the_line_in_device_pixels():
    frame = np.zeros((512, 512), dtype=np.uint8)
    frame[30:47, 10:160] = np.tile(np.arange(150, dtype=np.uint8), (17, 1)) + 100  # a ramp: where each column went
    spec = strip_spec((7, 29, 165, 48), (512, 512), "halfcell", (10, 20), "31/01/2024 10:42")
    box = (60 * 10, 30 * 20)  # 60x30 cells
    image = render_strip(frame, spec, box)
    assert image.size == (60, 60)  # one pixel per half-cell: nothing left to blur on the way
    layout = spec.layout(box)
    pixels = np.asarray(image)[:, :, 0].astype(int)
    seen = set()
    for part in layout.parts:
        rows = pixels[part.top : part.top + layout.part_size[1], : layout.part_size[0]]
        seen |= set(np.unique(rows[rows >= 100]).tolist())
    assert min(seen) <= 102 and max(seen) >= 247  # the first and the last column of the line are both shown


def test_sixel_strip_is_the_pane_pixel_box():
    frame = np.zeros((480, 640, 3), dtype=np.uint8)
    spec = strip_spec((20, 10, 600, 24), (640, 480), "sixel", (10, 20), "")
    image = render_strip(frame, spec, (400, 120))
    assert image.size == (400, 120)
    assert len(spec.layout((400, 120)).parts) >= 2


def test_the_fewest_parts_that_read_comfortably_win_over_a_larger_scale():
    # A short word (60x20 px with margin, 18 px line) in 120x200 device pixels: one part 36 px tall is enough.
    spec = strip_spec((10, 10, 66, 28), (512, 512), "sixel", (10, 20))
    layout = spec.layout((120, 200))
    assert len(layout.parts) == 1 and layout.text_height(18) >= 24
    # Without the preference, two parts would be larger: the preference is what keeps it one.
    assert len(strip_layout(spec.size, spec.view((120, 200)), spec.overlap, spec.gap, max_scale=4.0).parts) > 1


def test_a_long_line_uses_the_rows_it_has_rather_than_staying_small():
    # The name and MRN read as one line (224x18 px) in 60 half-cell columns and 36 rows: more parts, larger.
    spec = strip_spec((8, 8, 232, 26), (512, 512), "halfcell", (10, 20))
    layout = spec.layout((600, 36 * 20))
    assert len(layout.parts) >= 3 and layout.text_height(18) >= 14  # two parts would be 12 px


def test_the_strip_holds_the_letters_not_the_loose_line_box():
    from types import SimpleNamespace

    from phi_review.tui.widgets.text_strip import ink_box

    # What the OCR engine reads on the demo: a line box 28 px tall reaching into the next line, tight words.
    words = (SimpleNamespace(box=(9, 11, 84, 23)), SimpleNamespace(box=(105, 11, 229, 23)))
    assert ink_box((1, 3, 237, 31), words) == (9, 8, 229, 26)
    assert ink_box((1, 3, 237, 31), ()) == (1, 3, 237, 31)  # no words: the line's box
    loose, tight = strip_spec((1, 3, 237, 31), (512, 512), "halfcell", (10, 20)), \
        strip_spec(ink_box((1, 3, 237, 31), words), (512, 512), "halfcell", (10, 20))
    box = (800, 30 * 20)  # 80x15 cells: the strip at 80x24
    assert tight.layout(box).scale > loose.layout(box).scale
