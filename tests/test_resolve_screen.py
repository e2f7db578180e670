"""On screen (Pilot): a row shows ITS file or none; another file's header or pixels only when the reviewer picked it.

One file name under three sites and events, SITE_A's files deleted, ``--root``
at the wrong site (SITE_B). Before the fix the SITE_A rows showed SITE_B's
file: ``PatientName: ANONYMIZED ◀ MATCH`` on a row whose value is
VANTRELL^OSKAR, and "Text in frame 1: none found" on its pixel row.
"""

from __future__ import annotations

import json
from pathlib import Path

from phi_review.core.review.journal import journal_path
from phi_review.core.review.session import ReviewSession
from phi_review.tui.app import ReviewApp
from phi_review.tui.terminal.graphics import GraphicsChoice, TerminalCaps, prepare_textual_image
from phi_review.tui.widgets.findings_list import FindingsList
from phi_review.tui.widgets.header_pane import HeaderPane
from phi_review.tui.widgets.preview_pane import PreviewPane

from test_resolve_core import build_tree, delete_site_a
from tui_helpers import wait_for


def _app(report: Path, root: Path) -> ReviewApp:
    prepare_textual_image((10, 20))
    session = ReviewSession.open(report, reviewer="tester")
    return ReviewApp(session, roots=[root], graphics=GraphicsChoice("halfcell", TerminalCaps(is_tty=True), "test"))


async def test_wrong_root_and_deleted_files_show_no_other_files_header_or_pixels(tmp_path: Path) -> None:
    from phi_review.tui.screens.file_pick import FilePickScreen

    tree = build_tree(tmp_path)
    collection = tree["collection"]
    delete_site_a(collection)
    wrong = collection / "SITE_B"
    app = _app(tree["report"], wrong)
    async with app.run_test(size=(140, 48)) as pilot:
        screen = app.review
        files = screen.files
        await wait_for(pilot, lambda: files.file_index is not None, timeout=30)
        listing = app.query_one(FindingsList)
        header = app.query_one(HeaderPane)
        preview = app.query_one(PreviewPane)
        for index in range(len(app.session.findings)):
            listing.move_to(index)
            await wait_for(pilot, lambda: files.current_index == index and index in files.loaded)
            await pilot.pause(0.1)
            loaded = files.loaded[index]
            assert loaded.path is None and loaded.header is None, (index, loaded.path)
            assert not header.rows  # no header of any file, so no "◀ MATCH"
            text = " ".join(line.strip() for line in header.message_lines)
            assert "not found where the report says" in text and "Press c" in text, text
            assert "ANONYMIZED" not in text  # SITE_B's values never reach the row's pane
            assert preview.image_widget is None or not preview.image_widget.display
            assert not any("SITE_B" in key[0] for key in screen.ocr.lines), screen.ocr.lines
            assert index not in app.session.paths  # the audit names no file: none was shown

        # The reviewer picks SITE_B's file knowingly: the chooser says it contradicts the report and whose it is.
        listing.move_to(0)
        await wait_for(pilot, lambda: files.current_index == 0 and 0 in files.loaded)
        await pilot.press("c")
        await wait_for(pilot, lambda: isinstance(app.screen, FilePickScreen))
        picker = app.screen
        assert "Not where the report says (SITE_A/1000001" in picker.title_text
        assert ("PatientName", "ANONYMIZED") in picker.values[0]
        await pilot.press("enter")
        await wait_for(pilot, lambda: files.loaded.get(0) is not None and files.loaded[0].path is not None)
        picked = files.loaded[0].path
        assert picked == wrong / "2000001" / "series1" / "IMG_0001.dcm"
        await wait_for(pilot, lambda: bool(header.rows))
        text = " ".join(line.strip() for line in header.message_lines)
        assert "Chosen by you, not where the report says" in text
        assert app.session.paths[0] == str(picked)
        await pilot.press("1")
    records = [json.loads(line) for line in journal_path(tree["report"]).read_text().splitlines() if line.strip()]
    decided = [r for r in records if r.get("kind") == "decide"]
    assert decided and str(picked) in json.dumps(decided[-1])


async def test_right_root_deleted_files_only_the_other_sites_rows_show_a_file(tmp_path: Path) -> None:
    tree = build_tree(tmp_path)
    collection = tree["collection"]
    delete_site_a(collection)
    app = _app(tree["report"], collection)
    async with app.run_test(size=(140, 48)) as pilot:
        files = app.review.files
        await wait_for(pilot, lambda: files.file_index is not None, timeout=30)
        listing = app.query_one(FindingsList)
        for index, finding in enumerate(app.session.findings):
            listing.move_to(index)
            await wait_for(pilot, lambda: files.current_index == index and index in files.loaded)
            loaded = files.loaded[index]
            if finding.site == "SITE_C":
                assert loaded.path == collection / "SITE_C" / "3000001" / "series1" / "IMG_0001.dcm"
            else:
                assert loaded.path is None and len(loaded.candidates) == 2 and loaded.elsewhere, index


async def test_the_rows_value_picks_among_true_candidates_and_the_chooser_shows_what_differs(tmp_path: Path) -> None:
    """The demo's bare TWIN_00001.dcm: two files fit; only one holds the row's InstitutionName (TOSHIBA)."""
    from phi_review.tui.screens.file_pick import FilePickScreen
    from tui_helpers import fresh_demo, make_app

    report = fresh_demo(tmp_path)
    app = make_app(report)
    twin = next(i for i, f in enumerate(app.session.findings) if f.file == "TWIN_00001.dcm")
    async with app.run_test(size=(140, 48)) as pilot:
        files = app.review.files
        app.query_one(FindingsList).move_to(twin)
        await wait_for(pilot, lambda: files.current_index == twin and twin in files.loaded)
        loaded = files.loaded[twin]
        assert loaded.path is not None and loaded.path.parent.name == "SER_001" and len(loaded.candidates) == 2
        header = app.query_one(HeaderPane)
        text = " ".join(line.strip() for line in header.message_lines)
        assert "only this one's InstitutionName holds the row's value" in text
        await pilot.press("c")
        await wait_for(pilot, lambda: isinstance(app.screen, FilePickScreen))
        picker = app.screen
        assert picker.current == 0 and picker.query_one("#pick-list").highlighted == 0
        assert picker.values[0][0] == ("InstitutionName", "TOSHIBA")
        assert picker.values[1][0] == ("InstitutionName", "JFK IMAGING CENTER")
        assert {k for k, _ in picker.values[0]} >= {"PatientName", "PatientID", "StudyDate"}
        await pilot.press("escape")
