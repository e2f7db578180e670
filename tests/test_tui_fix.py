"""Fixing headers from the review screen, on the demo: a per-tag edit into a corrected copy, the header
diff, the Basic Profile on the same copy, and the values view deciding every row of one value."""

from __future__ import annotations

import hashlib

import pydicom

from phi_review.tui.screens.dialogs import ConfirmScreen, PickScreen, TextScreen
from phi_review.tui.widgets.header_pane import HeaderPane

from tui_helpers import fresh_demo, make_app, wait_for


async def test_blank_a_tag_diff_then_profile_into_one_copy(tmp_path, monkeypatch):
    monkeypatch.setenv("PHI_REVIEW_FIX_SECRET", "test-secret-not-for-real-data")
    report = fresh_demo(tmp_path)
    app = make_app(report)
    async with app.run_test(size=(140, 48)) as pilot:
        screen = app.review
        await wait_for(pilot, lambda: 0 in screen.files.loaded and screen.files.loaded[0].header is not None)
        original = screen.files.loaded[0].path
        before = hashlib.sha256(original.read_bytes()).hexdigest()
        header = app.query_one(HeaderPane)
        await wait_for(pilot, lambda: bool(header.rows) and header.rows[header.cursor].matched)
        assert header.rows[header.cursor].keyword == "InstitutionName"

        await pilot.press("E")
        await wait_for(pilot, lambda: isinstance(app.screen, PickScreen))
        await pilot.press("enter")  # blank
        await wait_for(pilot, lambda: isinstance(app.screen, PickScreen) and app.screen.title_text == "Apply to:")
        assert app.screen.choices[1].startswith("every file of this row's group (3 files)")
        await pilot.press("down", "enter")  # the row's group: the three files flagged with this institution
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), timeout=30)
        assert "blank InstitutionName in 3 file(s)" in app.screen.question
        await pilot.press("y")
        await wait_for(pilot, lambda: str(original) in screen.remedy.fixed, timeout=30)
        assert len(screen.remedy.fixed) == 3
        copy = screen.remedy.fixed[str(original)]
        assert pydicom.dcmread(copy).InstitutionName == ""
        assert hashlib.sha256(original.read_bytes()).hexdigest() == before

        await pilot.press("D")
        await wait_for(pilot, lambda: isinstance(app.screen, TextScreen), timeout=30)
        body = str(app.screen.query_one("#text-body").render())
        assert "modified" in body and "MODIFIED (0008,0080) InstitutionName" in body and "JFK IMAGING CENTER" in body
        await pilot.press("escape")

        await pilot.press("A")
        await wait_for(pilot, lambda: isinstance(app.screen, PickScreen))
        await pilot.press("enter")  # the profile picker: basic is the default
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), timeout=30)
        await pilot.press("y")
        await wait_for(pilot, lambda: "PatientName" not in str(pydicom.dcmread(copy).get("PatientName", "")) and
                       pydicom.dcmread(copy).get("PatientIdentityRemoved") == "YES", timeout=30)
        fixed = pydicom.dcmread(copy)
        assert fixed.PatientIdentityRemoved == "YES"
        assert str(fixed.PatientName) != str(pydicom.dcmread(original).PatientName)
        assert len(list(copy.parent.glob("*.dcm"))) >= 1 and copy.exists()  # still one copy of this file


async def test_values_view_decides_every_row_of_one_value(tmp_path):
    report = fresh_demo(tmp_path)
    app = make_app(report)
    async with app.run_test(size=(140, 48)) as pilot:
        screen = app.review
        await wait_for(pilot, lambda: screen.files.file_index is not None)
        await pilot.press("V")
        await wait_for(pilot, lambda: isinstance(app.screen, PickScreen), timeout=60)
        choices = app.screen.choices
        pick = next(n for n, c in enumerate(choices) if c.startswith("InstitutionName (0008,0080): JFK IMAGING CENTER"))
        for _ in range(pick):
            await pilot.press("down")
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, PickScreen) and "JFK IMAGING CENTER" in app.screen.title_text)
        await pilot.press("enter")  # set its rows to action 1
        await pilot.pause()
        decided = [f for f in app.session.findings if f.action == app.session.actions[0]]
        assert len(decided) >= 3


async def test_blackout_then_profile_keeps_one_copy_with_the_study_uids(tmp_path, monkeypatch):
    from phi_review.core.remedy.profile import ProfileSettings, load_secret, map_uid
    from phi_review.tui.screens.box_edit import BoxEditScreen
    from phi_review.tui.widgets.findings_list import FindingsList

    monkeypatch.setenv("PHI_REVIEW_FIX_SECRET", "test-secret-not-for-real-data")
    report = fresh_demo(tmp_path)
    app = make_app(report)
    findings = app.session.findings
    pixel = next(i for i, f in enumerate(findings) if "US_00001" in f.file)
    async with app.run_test(size=(140, 48)) as pilot:
        screen = app.review
        app.query_one(FindingsList).move_to(pixel)
        await wait_for(pilot, lambda: pixel in screen.files.loaded and screen.files.loaded[pixel].info is not None)
        original = screen.files.loaded[pixel].path
        await pilot.press("b")
        await wait_for(pilot, lambda: isinstance(app.screen, BoxEditScreen))
        await pilot.press("enter", "R")
        await wait_for(pilot, lambda: isinstance(app.screen, PickScreen), timeout=30)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await wait_for(pilot, lambda: str(original) in screen.remedy.copies, timeout=60)
        copy = screen.remedy.copies[str(original)].copy
        await pilot.press("A")
        await wait_for(pilot, lambda: isinstance(app.screen, PickScreen))
        await pilot.press("enter")  # the profile picker: basic is the default
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), timeout=30)
        await pilot.press("y")
        await wait_for(pilot, lambda: pydicom.dcmread(copy).get("PatientIdentityRemoved") == "YES", timeout=60)
    fixed = pydicom.dcmread(copy)
    source = pydicom.dcmread(original)
    settings = ProfileSettings(load_secret())
    assert fixed.SOPInstanceUID == map_uid(source.SOPInstanceUID, settings)  # as in every other file of the study
    assert fixed.StudyInstanceUID == map_uid(source.StudyInstanceUID, settings)
    codes = [item.CodeValue for item in fixed.DeidentificationMethodCodeSequence]
    assert "113101" in codes and "113100" in codes  # Clean Pixel Data and the Basic Profile
    assert len([p for p in copy.parent.iterdir() if p.suffix == ".dcm"]) == 1
