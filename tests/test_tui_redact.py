"""Blacking out burned-in text from the review screen, on the demo: masks, a keyboard box, scope,
the corrected copy written beside the originals, read again by OCR, flipped and confirmed clean."""

from __future__ import annotations

import hashlib

import pydicom

from phi_review.tui.screens.box_edit import BoxEditScreen, moved, resized
from phi_review.tui.screens.dialogs import ConfirmScreen, PickScreen
from phi_review.tui.widgets.findings_list import FindingsList

from tui_helpers import fresh_demo, make_app, wait_for


def test_box_moves_and_resizes_inside_the_image():
    assert moved((10, 10, 20, 20), -50, 5, (100, 100)) == (0, 15, 10, 25)
    assert moved((10, 10, 20, 20), 500, 500, (100, 100)) == (90, 90, 100, 100)
    assert resized((10, 10, 20, 20), -50, 200, (100, 100)) == (10, 10, 11, 100)


async def test_mask_draw_apply_verify_flip_confirm(tmp_path):
    report = fresh_demo(tmp_path)
    app = make_app(report)
    findings = app.session.findings
    pixel = next(i for i, f in enumerate(findings) if "US_00001" in f.file)
    async with app.run_test(size=(140, 48)) as pilot:
        screen = app.review
        app.query_one(FindingsList).move_to(pixel)
        await wait_for(pilot, lambda: pixel in screen.files.loaded and screen.files.loaded[pixel].path is not None)
        original = screen.files.loaded[pixel].path
        before = hashlib.sha256(original.read_bytes()).hexdigest()
        await wait_for(pilot, lambda: (str(original), 0) in screen.ocr.lines, timeout=90)
        likely = [line for line in screen.ocr.lines[(str(original), 0)] if line.likely_phi]
        assert likely

        await pilot.press("M")  # every likely-PHI line becomes a mask
        assert len(screen.remedy.masks[str(original)]) == len(likely)
        await pilot.press("b")  # and a keyboard rectangle for what OCR missed
        await wait_for(pilot, lambda: isinstance(app.screen, BoxEditScreen))
        await pilot.press("left", "shift+down", "enter")
        await pilot.pause()
        assert len(screen.remedy.masks[str(original)]) == len(likely) + 1

        await pilot.press("R")
        await wait_for(pilot, lambda: isinstance(app.screen, PickScreen), timeout=30)
        assert "all frames of this file" in app.screen.choices[0]
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        assert "original files stay untouched" in app.screen.question
        await pilot.press("y")
        await wait_for(pilot, lambda: str(original) in screen.remedy.copies, timeout=60)
        state = screen.remedy.copies[str(original)]
        assert state.copy.exists() and state.copy.parent != original.parent
        assert "corrected" in state.copy.parts
        assert hashlib.sha256(original.read_bytes()).hexdigest() == before  # never touched
        await wait_for(pilot, lambda: state.verified is not None or state.error, timeout=120)
        assert not state.error
        assert state.verified.clean  # OCR reads nothing inside the boxes
        assert screen.remedy.showing_copy
        await pilot.press("X")
        assert not screen.remedy.showing_copy

        await pilot.press("C")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await wait_for(pilot, lambda: screen.remedy.copies[str(original)].confirmed_clean, timeout=60)
        copy = screen.remedy.copies[str(original)].copy
        ds = pydicom.dcmread(copy)
        assert ds.BurnedInAnnotation == "NO"
        assert ds.SOPInstanceUID != pydicom.dcmread(original, stop_before_pixels=True).SOPInstanceUID
        assert any((report.parent / "corrected").glob("*manifest*"))


async def test_the_report_row_names_its_corrected_copy_and_the_journal_audits_it(tmp_path):
    import json

    import openpyxl

    from phi_review.core.review.journal import journal_path

    report = fresh_demo(tmp_path)
    app = make_app(report)
    findings = app.session.findings
    pixel = next(i for i, f in enumerate(findings) if "US_00001" in f.file)
    async with app.run_test(size=(140, 48)) as pilot:
        screen = app.review
        app.query_one(FindingsList).move_to(pixel)
        await wait_for(pilot, lambda: pixel in screen.files.loaded and screen.files.loaded[pixel].info is not None)
        await pilot.press("b")
        await wait_for(pilot, lambda: isinstance(app.screen, BoxEditScreen))
        await pilot.press("enter", "R")
        await wait_for(pilot, lambda: isinstance(app.screen, PickScreen), timeout=30)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await wait_for(pilot, lambda: findings[pixel].corrected_copy != "", timeout=60)
        records = [json.loads(line) for line in journal_path(report).read_text().splitlines() if line.strip()]
        audit = [r for r in records if r.get("kind") == "remedy"]
        assert audit and audit[-1]["copy_sha256"] and audit[-1]["original_sha256"]
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: app.session.unsaved == 0 and not app.review.decisions.saving)
    sheet = openpyxl.load_workbook(report).worksheets[0]
    rows = list(sheet.iter_rows(values_only=True))
    header_at = next(n for n, row in enumerate(rows) if "Corrected Copy" in [str(c) for c in row])
    column = [str(c) for c in rows[header_at]].index("Corrected Copy")
    copies = [row[column] for row in rows[header_at + 1:] if row[column]]
    assert copies and all(str(c).startswith("corrected/") for c in copies)
