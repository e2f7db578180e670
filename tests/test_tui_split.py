"""Split view (S) on the demo's cine loop: original | corrected copy in one image, both halves
stepping frames together; S on a file without a copy only says R writes one."""

from __future__ import annotations

import numpy as np

from phi_review.tui.review.compare import SPLIT_CAPTION, render_split, separator
from phi_review.tui.screens.box_edit import BoxEditScreen
from phi_review.tui.screens.dialogs import ConfirmScreen, PickScreen
from phi_review.tui.screens.keys_help import help_text
from phi_review.tui.widgets.findings_list import FindingsList
from phi_review.tui.widgets.preview_pane import PreviewPane

from tui_helpers import fresh_demo, make_app, wait_for


def _caption(preview: PreviewPane) -> str:
    return str(preview.query_one("#preview-caption").render())


def _expected(screen, preview: PreviewPane, original, copy):  # type: ignore[no-untyped-def]
    """The split image for the view on screen now, composed afresh (no cache)."""
    left, right = screen.split.boxes(original, preview.state.frame)
    gap = separator(preview.mode, preview.cell_size)
    return np.asarray(render_split(None, original, copy, preview.state, preview.pixel_box(), left, right, gap))


def _shown(preview: PreviewPane, width: int, height: int) -> np.ndarray:
    image = preview.image_widget.image  # type: ignore[union-attr]
    return np.asarray(image.convert("RGB"))[:height, :width]


async def test_split_view_shows_original_and_copy_side_by_side_in_step(tmp_path):
    report = fresh_demo(tmp_path)
    app = make_app(report)
    findings = app.session.findings
    cine = next(i for i, f in enumerate(findings) if "CINE_00001" in f.file)
    other = next(i for i, f in enumerate(findings) if "US_00002" in f.file)
    async with app.run_test(size=(140, 48)) as pilot:
        screen = app.review
        preview = screen.query_one(PreviewPane)
        assert "app.split_view" in help_text(app)

        # No copy yet: S only says so.
        app.query_one(FindingsList).move_to(cine)
        await wait_for(pilot, lambda: cine in screen.files.loaded and screen.files.loaded[cine].info is not None)
        await pilot.press("S")
        assert not screen.split.on
        said = " ".join(str(n.message) for n in app._notifications)
        assert "R writes one" in said

        # A box in the middle of every frame, written into the corrected copy.
        original = screen.files.loaded[cine].path
        await pilot.press("b")
        await wait_for(pilot, lambda: isinstance(app.screen, BoxEditScreen))
        await pilot.press("enter", "R")
        await wait_for(pilot, lambda: isinstance(app.screen, PickScreen), timeout=30)
        assert "all frames of this file" in app.screen.choices[0]
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await wait_for(pilot, lambda: str(original) in screen.remedy.copies, timeout=60)
        copy = screen.remedy.copies[str(original)].copy
        # Let OCR settle (the copy's check, the original's frame): the text panel, hence the image's box, with it.
        state = screen.remedy.copies[str(original)]
        await wait_for(pilot, lambda: state.verified is not None or bool(state.error), timeout=120)
        await wait_for(pilot, lambda: (str(original), 0) in screen.ocr.lines or (str(original), 0) in screen.ocr.errors,
                       timeout=90)
        await wait_for(pilot, lambda: preview.image_widget.display and SPLIT_CAPTION not in _caption(preview))
        single_width = preview.image_widget.image.width

        await pilot.press("S")
        assert screen.split.on
        await wait_for(pilot, lambda: SPLIT_CAPTION in _caption(preview), timeout=30)
        assert "side by side: original | corrected copy" in str(preview.query_one("#preview-ocr").render())

        def matches(frame: int) -> bool:
            if preview.state.frame != frame or SPLIT_CAPTION not in _caption(preview):
                return False
            expected = _expected(screen, preview, original, copy)
            height, width = expected.shape[:2]
            return np.array_equal(_shown(preview, width, height), expected)

        await wait_for(pilot, lambda: matches(0), timeout=60)
        first = _expected(screen, preview, original, copy)
        box_width = preview.pixel_box()[0]
        gap, _ = separator(preview.mode, preview.cell_size)
        slot = (first.shape[1] - gap) // 2
        assert first.shape[1] > box_width * 3 // 4 and single_width == preview.pixel_box_cells()[0]
        assert (first[:, slot : slot + gap] == 128).all()  # the separator, between two halves
        assert first[:, :slot].any() and first[:, slot + gap :].any()
        # The box is black on the right (the copy) and not on the left (the original).
        x0, y0, x1, y1 = screen.remedy.copies[str(original)].boxes[0].as_tuple()
        columns = screen.files.loaded[cine].info.columns
        scale = min(slot, first.shape[1] - slot - gap) / columns
        inner = (slice(int(y0 * scale) + 3, int(y1 * scale) - 3), slice(int(x0 * scale) + 3, int(x1 * scale) - 3))
        assert not first[:, slot + gap :][inner].any()
        assert first[:, :slot][inner].any()

        # ] steps both halves: the shown image is frame 2 of original and of copy, and both changed.
        await pilot.press("right_square_bracket")
        assert preview.state.frame == 1
        await wait_for(pilot, lambda: (str(original), 1) in screen.ocr.lines or (str(original), 1) in screen.ocr.errors,
                       timeout=90)
        await wait_for(pilot, lambda: matches(1), timeout=60)
        second = _expected(screen, preview, original, copy)
        assert not np.array_equal(second[:, :slot], first[:, :slot])
        assert not np.array_equal(second[:, slot + gap :], first[:, slot + gap :])
        assert "frame 2/12" in _caption(preview)

        # t side by side: the text line is made legible in a half of the pane, not in the whole width.
        from phi_review.tui.widgets.preview_pane import legible_zoom

        lines = screen.ocr.lines.get((str(original), 1))
        assert lines, "the cine's second frame has burned-in text"
        await pilot.press("t")
        info = screen.files.loaded[cine].info
        columns, rows = preview.image_cells()

        def zoom_for(view: tuple[int, int]) -> tuple[float, tuple[float, float]]:
            return legible_zoom(lines[screen.ocr.box].box, (info.columns, info.rows), view, preview.mode,
                                preview.cell_size)

        size = (info.columns, info.rows)
        if all(preview.line_fits(line.box, size, halves=2) for line in lines):
            half, whole = zoom_for(((columns - 1) // 2, rows)), zoom_for((columns, rows))
            assert (preview.state.zoom, preview.state.center) == half
            assert half != whole  # the half's line starts further left: its beginning must be on screen
        else:  # too wide for a half at a legible size: the whole line, as a strip (issue 24)
            assert preview.state.strip is not None
        await pilot.press("0")  # back to the fitted view

        # X from side by side: one image again, flipped as X always flips.
        before = screen.remedy.showing_copy
        await pilot.press("X")
        assert not screen.split.on and screen.remedy.showing_copy is not before
        await wait_for(pilot, lambda: SPLIT_CAPTION not in _caption(preview), timeout=30)
        await pilot.press("X")
        assert screen.remedy.showing_copy is before

        # S twice: side by side, then one image at a time.
        await pilot.press("S")
        assert screen.split.on
        await wait_for(pilot, lambda: SPLIT_CAPTION in _caption(preview), timeout=30)
        await pilot.press("S")
        assert not screen.split.on
        await wait_for(pilot, lambda: SPLIT_CAPTION not in _caption(preview), timeout=30)

        # Another file, no copy of it: S notifies and the split stays off.
        app.query_one(FindingsList).move_to(other)
        await wait_for(pilot, lambda: other in screen.files.loaded and screen.files.loaded[other].info is not None)
        app._notifications.clear()
        await pilot.press("S")
        assert not screen.split.on
        assert "R writes one" in " ".join(str(n.message) for n in app._notifications)
