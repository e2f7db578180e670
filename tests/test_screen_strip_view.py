"""t on the demo's ultrasound: every burned-in line whole and legible, at 120x40 and 80x24 (issue 24, item 1).

OCR is replaced by the lines tesseract finds on that frame (fixed boxes), so the
test is about the view, not the recognizer, and needs no OCR engine.
"""

from __future__ import annotations

import numpy as np
import pytest

from phi_review.core.ocr.engine import TextLine
from phi_review.tui.widgets.findings_list import FindingsList
from phi_review.tui.widgets.header_pane import HeaderPane
from phi_review.tui.widgets.preview_pane import PreviewPane
from phi_review.tui.widgets.text_strip import STRIP_BACKGROUND, STRIP_LEGIBLE

from tui_helpers import fresh_demo, make_app, wait_for

LINES = [
    TextLine(text="DOE^JANE", confidence=0.95, box=(8, 8, 90, 26), likely_phi=True, reason="matches PatientName"),
    TextLine(text="MRN-0042-7781", confidence=0.99, box=(99, 8, 232, 26), likely_phi=True, reason="matches PatientID"),
    TextLine(text="31/01/2024 10:42", confidence=0.97, box=(7, 29, 165, 48), likely_phi=True, reason="a date"),
    TextLine(text="LT KIDNEY", confidence=0.97, box=(7, 50, 98, 69)),
]


@pytest.fixture
def fixed_ocr(monkeypatch):
    import phi_review.core.ocr.engine as engine

    monkeypatch.setattr(engine, "ocr_available", lambda: True)
    monkeypatch.setattr(engine, "ocr_frame", lambda path, frame, terms: [TextLine(**vars(l)) for l in LINES])


async def _on_ultrasound(app, pilot):
    screen = app.review
    row = next(i for i, f in enumerate(app.session.findings) if f.file.endswith("US_00001.dcm"))
    app.query_one(FindingsList).move_to(row)
    await wait_for(pilot, lambda: screen.files.current() is not None and screen.files.current().info is not None)
    path = screen.files.current().path
    await wait_for(pilot, lambda: (str(path), 0) in screen.ocr.lines)
    return screen


def _shown(app):
    """The picture handed to the image widget and the caption beside it, once the strip's render has landed."""
    pane = app.query_one(PreviewPane)
    return pane.image_widget.image, str(pane.query_one("#preview-caption").render())


async def _strip_settled(app, pilot, text):
    pane = app.query_one(PreviewPane)

    def ready():
        image, caption = _shown(app)
        cols, rows = pane.image_cells()
        return pane.state.strip is not None and image is not None and image.size == (cols, rows * 2) \
            and text in caption

    await wait_for(pilot, ready)
    await pilot.pause(0.3)  # the room the strip takes (header, list) has been laid out and rendered
    await wait_for(pilot, ready)
    return pane


def _assert_whole_and_legible(pane, image):
    spec = pane.state.strip
    layout = spec.layout(pane.pixel_box())
    assert layout.parts[0].x0 == 0 and layout.parts[-1].x1 == spec.size[0]  # first letter to last
    assert layout.text_height(spec.line_height) >= STRIP_LEGIBLE
    pixels = np.asarray(image)
    for part in layout.parts:  # every part is drawn: bright letters in it, not the strip's background
        band = pixels[part.top: part.top + layout.part_size[1], : layout.part_size[0]]
        assert band.max() > 200 and not (band == STRIP_BACKGROUND).all()
    cols, rows = pane.image_cells()
    assert layout.size[0] <= cols and layout.size[1] <= rows * 2  # inside the pane: nothing cut


@pytest.mark.parametrize("size", [(120, 40), (80, 24)])
async def test_t_shows_each_line_whole_in_a_strip_and_steps_with_angle_brackets(tmp_path, fixed_ocr, size):
    app = make_app(fresh_demo(tmp_path), "halfcell")
    async with app.run_test(size=size) as pilot:
        screen = await _on_ultrasound(app, pilot)
        rows_before = app.query_one(PreviewPane).image_cells()[1]
        await pilot.press("t")
        pane = await _strip_settled(app, pilot, "1/4 DOE^JANE")
        image, caption = _shown(app)
        _assert_whole_and_legible(pane, image)
        assert "LIKELY PHI" in caption  # the line's text and why it matters stay beside it
        assert pane.image_cells()[1] > rows_before  # the strip was given room
        if size == (120, 40):
            assert not app.query_one(HeaderPane).display
        else:
            listing = app.query_one(FindingsList)
            assert listing.size.height <= 5
            top = int(listing.scroll_offset.y)
            assert top <= listing.cursor < top + listing.size.height - 1  # the row under review stays in sight

        parts = {}
        for key, text in ((">", "2/4 MRN-0042-7781"), (">", "3/4 31/01/2024 10:42"), (">", "4/4 LT KIDNEY"),
                          (">", "1/4 DOE^JANE"), ("<", "4/4 LT KIDNEY"), ("<", "3/4 31/01/2024 10:42")):
            await pilot.press(key)
            pane = await _strip_settled(app, pilot, text)
            image, _ = _shown(app)
            _assert_whole_and_legible(pane, image)
            parts[text] = len(pane.state.strip.layout(pane.pixel_box()).parts)
        assert parts["3/4 31/01/2024 10:42"] >= 2  # the date is wider than the pane: stacked, not cut

        await pilot.press("0")  # back to the frame, and the room goes back
        await wait_for(pilot, lambda: pane.state.strip is None and not screen.has_class("text-strip"))
        if size == (120, 40):
            assert app.query_one(HeaderPane).display
        await pilot.press(">")  # outside the strip, > is the header's next match again
        assert pane.state.strip is None


def _shown_window(pane, image_size):
    """The frame's pixels a zoomed view shows (core.dicom.view.crop_view's arithmetic), x0, y0, x1, y1."""
    width, height = image_size
    box_w, box_h = pane.pixel_box()
    scale = min(box_w / width, box_h / height) * max(1.0, pane.state.zoom)
    crop_w, crop_h = min(width, round(box_w / scale)), min(height, round(box_h / scale))
    cx, cy = pane.state.center[0] * width, pane.state.center[1] * height
    x0 = int(min(max(cx - crop_w / 2, 0), width - crop_w))
    y0 = int(min(max(cy - crop_h / 2, 0), height - crop_h))
    return x0, y0, x0 + crop_w, y0 + crop_h


@pytest.mark.parametrize("mode", ["sixel", "kitty"])
@pytest.mark.parametrize("size", [(120, 40), (80, 24)])
async def test_pixel_renderers_show_every_line_whole_zoomed_or_as_a_strip(tmp_path, fixed_ocr, mode, size):
    app = make_app(fresh_demo(tmp_path), mode)
    async with app.run_test(size=size) as pilot:
        screen = await _on_ultrasound(app, pilot)
        pane = app.query_one(PreviewPane)
        for n, line in enumerate(LINES):
            await pilot.press("t" if n == 0 else ">")
            assert screen.ocr.box == n
            if pane.state.strip is not None:
                layout = pane.state.strip.layout(pane.pixel_box())
                assert layout.parts[-1].x1 == pane.state.strip.size[0]
                continue
            x0, y0, x1, y1 = _shown_window(pane, (512, 512))
            bx0, by0, bx1, by1 = line.box
            assert x0 <= bx0 and bx1 <= x1 and y0 <= by0 and by1 <= y1, (n, (x0, y0, x1, y1), line.box)
            device_scale = pane.pixel_box()[0] / (x1 - x0)
            assert (by1 - by0) * device_scale >= 15  # legible: about 16 pixels per line


async def test_sixel_zooms_in_place_when_the_line_fits_and_angle_brackets_still_step(tmp_path, fixed_ocr):
    app = make_app(fresh_demo(tmp_path), "sixel")
    async with app.run_test(size=(120, 40)) as pilot:
        await _on_ultrasound(app, pilot)
        pane = app.query_one(PreviewPane)
        await pilot.press("t")
        assert pane.state.strip is None and pane.state.zoom > 1  # 600 pixels across: every line fits, legible
        first = pane.state.center
        await pilot.press(">")
        assert pane.state.center != first and app.review.ocr.box == 1
        await pilot.press("<")
        assert pane.state.center == first and app.review.ocr.box == 0
