"""`A` on the review screen: the enabled profiles in a keyboard picker, the preview diff, then Enter writes
through the proof-gated path with the picked profile, and Esc writes nothing."""

from __future__ import annotations

import hashlib

import pydicom

from phi_review.tui.screens.profile_pick import ProfilePickScreen, ProfilePreviewScreen

from tui_helpers import fresh_demo, make_app, wait_for

SECRET = "pick-secret-not-for-real-data"


async def _open(pilot, app):  # noqa: ANN001 - Pilot and app from Textual
    screen = app.review
    await wait_for(pilot, lambda: 0 in screen.files.loaded and screen.files.loaded[0].header is not None)
    return screen, screen.files.loaded[0].path


async def test_pick_tcia_see_the_diff_and_write(tmp_path, monkeypatch):
    monkeypatch.setenv("PHI_REVIEW_FIX_SECRET", SECRET)
    monkeypatch.setenv("PHI_REVIEW_CONFIG", str(tmp_path / "cfg" / "config.toml"))
    app = make_app(fresh_demo(tmp_path))
    async with app.run_test(size=(140, 48)) as pilot:
        screen, original = await _open(pilot, app)
        before = hashlib.sha256(original.read_bytes()).hexdigest()
        await pilot.press("A")
        await wait_for(pilot, lambda: isinstance(app.screen, ProfilePickScreen))
        picker = app.screen
        assert picker.names[:3] == ["basic", "tcia", "hipaa-safe-harbor"]
        assert picker.query_one("OptionList").highlighted == 0  # the default: basic
        await pilot.press("down", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ProfilePreviewScreen), timeout=30)
        body = str(app.screen.query_one("#preview-body").render())
        assert "Profile tcia" in app.screen.question and "ANON-" in body and "PatientName" in body
        assert "Boxes: none" in str(app.screen.body) and SECRET not in body
        assert str(original) not in screen.remedy.fixed  # nothing written while the diff is shown
        await pilot.press("enter")
        await wait_for(pilot, lambda: str(original) in screen.remedy.fixed, timeout=60)
        copy = pydicom.dcmread(screen.remedy.fixed[str(original)])
        assert str(copy.PatientName).startswith("ANON-") and copy.PatientID == str(copy.PatientName)
        assert "phi-review profile tcia" in list(copy.DeidentificationMethod)
        assert copy.LongitudinalTemporalInformationModified == "MODIFIED"  # tcia: retain modified dates
        assert hashlib.sha256(original.read_bytes()).hexdigest() == before


async def test_escape_at_the_preview_or_the_picker_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv("PHI_REVIEW_FIX_SECRET", SECRET)
    monkeypatch.setenv("PHI_REVIEW_CONFIG", str(tmp_path / "cfg" / "config.toml"))
    app = make_app(fresh_demo(tmp_path))
    async with app.run_test(size=(140, 48)) as pilot:
        screen, original = await _open(pilot, app)
        out = screen.remedy.out_dir
        existing = sorted(out.rglob("*")) if out.exists() else []
        await pilot.press("A")
        await wait_for(pilot, lambda: isinstance(app.screen, ProfilePickScreen))
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ProfilePreviewScreen), timeout=30)
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, ProfilePreviewScreen))
        await pilot.press("A")
        await wait_for(pilot, lambda: isinstance(app.screen, ProfilePickScreen))
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, ProfilePickScreen))
        for _ in range(5):
            await pilot.pause(0.1)
        assert not screen.remedy.fixed
        assert (sorted(out.rglob("*")) if out.exists() else []) == existing


async def test_a_disabled_profile_is_not_offered(tmp_path, monkeypatch):
    from phi_review.core.remedy.profile_file import set_disabled

    monkeypatch.setenv("PHI_REVIEW_FIX_SECRET", SECRET)
    monkeypatch.setenv("PHI_REVIEW_CONFIG", str(tmp_path / "cfg" / "config.toml"))
    set_disabled("tcia", True)
    app = make_app(fresh_demo(tmp_path))
    async with app.run_test(size=(140, 48)) as pilot:
        await _open(pilot, app)
        await pilot.press("A")
        await wait_for(pilot, lambda: isinstance(app.screen, ProfilePickScreen))
        assert app.screen.names == ["basic", "hipaa-safe-harbor"]


async def test_the_configured_profile_is_highlighted(tmp_path, monkeypatch):
    monkeypatch.setenv("PHI_REVIEW_FIX_SECRET", SECRET)
    config = tmp_path / "cfg" / "config.toml"
    config.parent.mkdir()
    config.write_text('profile = "hipaa-safe-harbor"\n')
    monkeypatch.setenv("PHI_REVIEW_CONFIG", str(config))
    app = make_app(fresh_demo(tmp_path))
    async with app.run_test(size=(140, 48)) as pilot:
        await _open(pilot, app)
        await pilot.press("A")
        await wait_for(pilot, lambda: isinstance(app.screen, ProfilePickScreen))
        assert app.screen.query_one("OptionList").highlighted == 2
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ProfilePreviewScreen), timeout=30)
        assert "Profile hipaa-safe-harbor" in app.screen.question
