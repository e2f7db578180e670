"""At 80x24 and 100x30 (one detail pane at a time) a pixel row opens on its image, a header row on its header;
`p` swaps them and the choice holds for rows of the same kind."""

from __future__ import annotations

import pytest

from phi_review.tui.widgets.findings_list import FindingsList
from phi_review.tui.widgets.header_pane import HeaderPane
from phi_review.tui.widgets.preview_pane import PreviewPane

from tui_helpers import fresh_demo, make_app


@pytest.mark.parametrize("size", [(80, 24), (100, 30)])
async def test_the_row_kind_picks_the_pane_and_p_swaps_it(tmp_path, size):
    report = fresh_demo(tmp_path)
    app = make_app(report)
    findings = app.session.findings
    pixel = [i for i, f in enumerate(findings) if "Pixels" in f.issue]
    header = next(i for i, f in enumerate(findings) if "Header" in f.issue)
    async with app.run_test(size=size) as pilot:
        screen = app.review
        assert screen.has_class("narrow")
        listing = app.query_one(FindingsList)

        async def at(index: int) -> tuple[bool, bool]:
            listing.move_to(index)
            await pilot.pause()
            return app.query_one(PreviewPane).display, app.query_one(HeaderPane).display

        assert await at(pixel[0]) == (True, False)  # the image, not the header, of a pixel finding
        assert await at(header) == (False, True)
        assert await at(pixel[1]) == (True, False)
        await pilot.press("p")
        assert (app.query_one(PreviewPane).display, app.query_one(HeaderPane).display) == (False, True)
        assert await at(pixel[0]) == (False, True)  # the reviewer's choice holds for pixel rows
        assert await at(header) == (False, True)  # and header rows keep theirs
        await pilot.press("p")
        assert (app.query_one(PreviewPane).display, app.query_one(HeaderPane).display) == (True, False)


async def test_narrow_screens_fold_the_text_panel_to_one_line_until_T(tmp_path):
    from tui_helpers import wait_for

    report = fresh_demo(tmp_path)
    app = make_app(report)
    pixel = next(i for i, f in enumerate(app.session.findings) if "US_00001" in f.file)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = app.review
        app.query_one(FindingsList).move_to(pixel)
        await wait_for(pilot, lambda: pixel in screen.files.loaded and screen.files.loaded[pixel].path is not None)
        original = screen.files.loaded[pixel].path
        await wait_for(pilot, lambda: (str(original), 0) in screen.ocr.lines, timeout=90)
        rows = screen.ocr._line_rows()
        assert len(rows) == 1 and "likely PHI" in rows[0] and "T: every line" in rows[0]
        await pilot.press("T")
        assert len(screen.ocr._line_rows()) > 2
        await pilot.press("T")
        assert len(screen.ocr._line_rows()) == 1
