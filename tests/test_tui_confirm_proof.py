"""`C` in the screen: with likely PHI still on the copy it asks for a typed reason; Esc writes no claim, a reason
writes it and the manifest keeps the reason and reviewer."""

from __future__ import annotations

import json

import pydicom
import pytest

from phi_review.core.ocr.engine import ocr_available
from phi_review.tui.screens.box_edit import BoxEditScreen
from phi_review.tui.screens.dialogs import AskTextScreen, ConfirmScreen, PickScreen
from phi_review.tui.widgets.findings_list import FindingsList

from tui_helpers import fresh_demo, make_app, wait_for

pytestmark = pytest.mark.skipif(not ocr_available(), reason="the ocr extra is not installed")


async def test_confirm_with_text_left_needs_a_reason(tmp_path):
    report = fresh_demo(tmp_path)
    app = make_app(report)
    pixel = next(i for i, f in enumerate(app.session.findings) if "US_00001" in f.file)
    async with app.run_test(size=(140, 48)) as pilot:
        screen = app.review
        app.query_one(FindingsList).move_to(pixel)
        await wait_for(pilot, lambda: pixel in screen.files.loaded and screen.files.loaded[pixel].path is not None)
        original = screen.files.loaded[pixel].path
        await wait_for(pilot, lambda: (str(original), 0) in screen.ocr.lines, timeout=90)

        await pilot.press("b")  # one small keyboard box, far from the burned-in text: the text stays
        await wait_for(pilot, lambda: isinstance(app.screen, BoxEditScreen))
        await pilot.press("enter")
        await pilot.press("R")
        await wait_for(pilot, lambda: isinstance(app.screen, PickScreen), timeout=30)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await wait_for(pilot, lambda: str(original) in screen.remedy.copies, timeout=60)
        state = screen.remedy.copies[str(original)]
        await wait_for(pilot, lambda: state.verified is not None or state.error, timeout=120)
        assert state.verified.phi_left  # the name is still on the copy

        await pilot.press("C")
        await wait_for(pilot, lambda: isinstance(app.screen, AskTextScreen))
        assert "Not clean" in app.screen.title_text and "likely PHI" in app.screen.title_text
        await pilot.press("escape")
        await pilot.pause()
        assert not state.confirmed_clean
        assert str(pydicom.dcmread(state.copy).get("BurnedInAnnotation", "")) != "NO"

        await pilot.press("C")
        await wait_for(pilot, lambda: isinstance(app.screen, AskTextScreen))
        for key in "phantom text":
            await pilot.press("space" if key == " " else key)
        await pilot.press("enter")
        await wait_for(pilot, lambda: state.confirmed_clean, timeout=120)
        assert str(pydicom.dcmread(state.copy).BurnedInAnnotation) == "NO"
        records = [json.loads(line) for line in
                   (report.parent / "corrected" / "manifest.jsonl").read_text(encoding="utf-8").splitlines()]
        accepted = [r for r in records if r.get("action") == "confirm-clean"][-1]
        assert accepted["accepted_residual"]["reason"] == "phantom text"
        assert accepted["proof"]["status"] == "residual-accepted"
