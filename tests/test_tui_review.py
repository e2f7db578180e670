"""The review screen driven through Pilot on the demo report: the reviewer's day."""

from __future__ import annotations

from phi_review.core.report.reader import read_report
from phi_review.tui.screens.dialogs import AskTextScreen, ConfirmScreen
from phi_review.tui.widgets.findings_list import FindingsList
from phi_review.tui.widgets.groups_list import GroupsList
from phi_review.tui.screens.groups import GroupsScreen
from phi_review.tui.widgets.header_pane import HeaderPane
from phi_review.tui.widgets.preview_pane import PreviewPane

from tui_helpers import fresh_demo, make_app, wait_for


async def test_decide_undo_note_marks_group_filter_save_reopen(tmp_path):
    report = fresh_demo(tmp_path)
    app = make_app(report)
    actions = app.session.actions
    findings = app.session.findings
    async with app.run_test(size=(120, 40)) as pilot:
        listing = app.query_one(FindingsList)
        await wait_for(pilot, lambda: 0 in app.review.files.loaded)

        # Three decisions with digits; each moves to the next unreviewed row.
        await pilot.press("1", "2", "3")
        assert [f.action for f in findings[:3]] == [actions[0], actions[1], actions[2]]
        assert listing.cursor == 3

        # Undo the last one: row 3 is unreviewed again and under the cursor.
        await pilot.press("u")
        assert findings[2].action == ""
        assert listing.current == 2

        # A note that looks like a formula.
        await pilot.press("e")
        assert isinstance(app.screen, AskTextScreen)
        await pilot.press(*"=1+1 seen", "enter")
        assert findings[2].note == "=1+1 seen"

        # Mark two rows, decide them together after a confirmation.
        listing.cursor = 5
        await pilot.press("space", "space")
        assert app.session.marks == {5, 6}
        # Marks and the cursor are text, not only colour (NO_COLOR, mono terminals).
        lines = ["".join(seg.text for seg in listing.render_line(y)) for y in range(1, 9)]
        assert [line[:2] for line in lines[4:8]] == ["  ", "* ", "* ", " ▶"]
        assert f"{actions[0][:8]}" in lines[0] and lines[0][2:].lstrip().startswith(str(findings[0].row))
        assert f" 1 {actions[0][:8]}" in lines[0]  # the action's digit before its name
        await pilot.press("4")
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("y")
        assert findings[5].action == findings[6].action == actions[3]
        assert not app.session.marks

        # Decide a whole group (one institution name over a study).
        await pilot.press("v")
        assert isinstance(app.screen, GroupsScreen)
        groups = app.screen.groups
        target = next(i for i, g in enumerate(groups) if g.value == "JFK IMAGING CENTER")
        app.screen.query_one(GroupsList).cursor = target
        await pilot.press("5")
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("y")
        group_rows = [f for f in findings if f.value == "JFK IMAGING CENTER"]
        assert len(group_rows) == 3
        assert all(f.action == actions[4] for f in group_rows)
        await pilot.pause()
        glist = app.screen.query_one(GroupsList)
        line = "".join(seg.text for seg in glist.render_line(target - int(glist.scroll_offset.y)))
        assert line.startswith("▶") and "JFK IMAGING CENTER" in line and "[all reviewed]" in line
        await pilot.press("escape")

        # Filter to unreviewed rows.
        await pilot.press("slash", *"is:unreviewed", "enter")
        assert listing.order and all(not findings[i].reviewed for i in listing.order)

        decided = {f.row: (f.action, f.note) for f in findings if f.reviewed or f.note}
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: app.session.unsaved == 0 and not app.review.decisions.saving)
        await pilot.press("q")
    assert app.return_code == 0 or app.return_code is None

    reread = read_report(report)
    after = {f.row: (f.action, f.note) for f in reread.findings if f.action or f.note}
    assert after == decided
    note_row = next(f for f in reread.findings if f.note)
    assert note_row.note == "=1+1 seen"


async def test_resize_to_80x24_and_back_keeps_working(tmp_path):
    report = fresh_demo(tmp_path)
    app = make_app(report)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: 0 in app.review.files.loaded)
        await pilot.resize_terminal(80, 24)
        await pilot.pause()
        assert app.screen.has_class("narrow")
        assert app.query_one(HeaderPane).display
        assert not app.query_one(PreviewPane).display
        await pilot.press("p")  # in narrow mode p swaps the header for the preview
        assert app.query_one(PreviewPane).display and not app.query_one(HeaderPane).display
        await pilot.press("1")
        assert app.session.findings[0].action == app.session.actions[0]
        await pilot.resize_terminal(120, 40)
        await pilot.pause()
        assert not app.screen.has_class("narrow")
        assert app.query_one(HeaderPane).display and app.query_one(PreviewPane).display
        await pilot.press("q")


async def test_missing_and_ambiguous_files_are_explained_and_still_decidable(tmp_path):
    report = fresh_demo(tmp_path)
    app = make_app(report)
    findings = app.session.findings
    missing = next(i for i, f in enumerate(findings) if f.file.endswith("IMG_00009.dcm"))
    twin = next(i for i, f in enumerate(findings) if f.file == "TWIN_00001.dcm")
    async with app.run_test(size=(120, 40)) as pilot:
        listing = app.query_one(FindingsList)
        listing.move_to(missing)
        await wait_for(pilot, lambda: missing in app.review.files.loaded)
        header = app.query_one(HeaderPane)
        assert any("not found" in line.lower() for line in header.message_lines)
        await pilot.press("2")
        assert findings[missing].action == app.session.actions[1]

        listing.move_to(twin)
        await wait_for(pilot, lambda: twin in app.review.files.loaded)
        assert len(app.review.files.loaded[twin].candidates) == 2
        await pilot.press("c")
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.review.files.loaded.get(twin) is not None and app.review.files.loaded[twin].path is not None)
        await pilot.press("q")


async def test_terminal_reply_after_start_changes_no_decision(tmp_path):
    """A late device-attributes reply must not arrive as the keys 6, 2, 4."""
    from textual._xterm_parser import XTermParser

    from phi_review.tui.terminal.input_guard import guarded_parser

    reply = "\x1b[?62;4c"
    # The danger is real: Textual alone turns the reply into key presses.
    raw = XTermParser()
    raw_keys = [getattr(e, "key", None) for e in [*raw.feed(reply), *raw.feed("")]]
    assert "4" in raw_keys and "2" in raw_keys

    report = fresh_demo(tmp_path)
    app = make_app(report)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: 0 in app.review.files.loaded)
        before = [(f.action, f.note) for f in app.session.findings]
        parser = guarded_parser()
        events = [*parser.feed(reply), *parser.feed("\x1b[?6"), *parser.feed("2;4c"), *parser.feed("")]
        for event in events:
            app.post_message(event)
        await pilot.pause()
        assert events == []
        assert [(f.action, f.note) for f in app.session.findings] == before
        assert app.session.unsaved == 0
        await pilot.press("q")


async def test_preview_keys_change_the_view(tmp_path):
    report = fresh_demo(tmp_path)
    app = make_app(report)
    cine = next(i for i, f in enumerate(app.session.findings) if "CINE" in f.file)
    async with app.run_test(size=(140, 44)) as pilot:
        app.query_one(FindingsList).move_to(cine)
        await wait_for(pilot, lambda: cine in app.review.files.loaded and app.review.files.loaded[cine].info is not None)
        preview = app.query_one(PreviewPane)
        assert preview.state.frames == 12
        await pilot.press("right_square_bracket", "right_square_bracket", "plus", "w", "i")
        assert preview.state.frame == 2
        assert preview.state.zoom > 1
        assert preview.state.invert
        preview.focus()
        await pilot.press("right")
        assert preview.state.center[0] > 0.5
        await wait_for(pilot, lambda: preview.image_widget is not None and preview.image_widget.display)
        await pilot.press("q")


async def test_palette_has_no_screenshot_and_offers_decisions(tmp_path):
    report = fresh_demo(tmp_path)
    app = make_app(report)
    async with app.run_test(size=(120, 40)) as pilot:
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert "Screenshot" not in titles
        assert any(t.startswith("Decide: ") for t in titles)
        assert "Save report" in titles
        await pilot.press("question_mark")
        text = app.help_text()
        for key_id in ("app.decide_1", "app.next_unreviewed", "app.undo", "app.save", "list.down", "preview.pan_left"):
            assert key_id in text
        actions = app.session.actions
        assert f"{actions[0]:<30} app.decide_1" in text  # the digit keys name their action
        assert f"app.decide_{len(actions)}" in text and f"app.decide_{len(actions) + 1}" not in text
        await pilot.press("escape", "q")


async def test_burned_in_text_is_read_marked_and_zoomable_while_list_stays_responsive(tmp_path):
    report = fresh_demo(tmp_path)
    app = make_app(report)
    findings = app.session.findings
    pixel = next(i for i, f in enumerate(findings) if "US_00001" in f.file)
    async with app.run_test(size=(140, 44)) as pilot:
        listing = app.query_one(FindingsList)
        listing.move_to(pixel)
        await wait_for(pilot, lambda: pixel in app.review.files.loaded and app.review.files.loaded[pixel].path is not None)
        path = str(app.review.files.loaded[pixel].path)
        # OCR runs in a worker: the list keeps moving and deciding meanwhile.
        await pilot.press("j", "k")
        assert listing.current == pixel
        await wait_for(pilot, lambda: (path, 0) in app.review.ocr.lines, timeout=60)
        lines = app.review.ocr.lines[(path, 0)]
        texts = " ".join(line.text for line in lines)
        assert "MRN-0042-7781" in texts
        phi = [line for line in lines if line.likely_phi]
        assert any("JANE" in line.text for line in phi)
        assert not any(line.likely_phi for line in lines if "KIDNEY" in line.text)
        await pilot.press("t")
        preview = app.query_one(PreviewPane)
        assert preview.state.zoom > 2 or preview.state.strip is not None  # zoomed, or whole as a strip (issue 24)
        assert app.review.ocr.box == 0
        await pilot.press("q")


async def test_keys_remapped_by_binding_id_from_the_config_file(tmp_path, monkeypatch):
    from phi_review.core.common.config import load_config
    from phi_review.core.review.session import ReviewSession
    from phi_review.tui.app import ReviewApp
    from phi_review.tui.terminal.graphics import GraphicsChoice, TerminalCaps

    config = tmp_path / "config.toml"
    config.write_text('[keys]\n"app.undo" = "z"\n"app.decide_1" = "1,y"\n', encoding="utf-8")
    monkeypatch.setenv("PHI_REVIEW_CONFIG", str(config))
    keys = load_config().keys
    report = fresh_demo(tmp_path)
    session = ReviewSession.open(report, reviewer="tester")
    app = ReviewApp(session, graphics=GraphicsChoice("none", TerminalCaps(), "test"), keymap=keys)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("y")
        assert session.findings[0].action == session.actions[0]
        await pilot.press("z")
        assert session.findings[0].action == ""
        assert '"z"' not in app.help_text() and "z " in app.help_text()
        await pilot.press("q")


async def test_row_keys_do_nothing_behind_the_groups_view_or_a_dialog(tmp_path):
    """Space, e, u or a list key in the groups view must not touch the hidden current row."""
    report = fresh_demo(tmp_path)
    app = make_app(report)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: 0 in app.review.files.loaded)
        await pilot.press("1")  # one decision, so an undo would show
        decided = [f.action for f in app.session.findings]
        await pilot.press("v")
        assert isinstance(app.screen, GroupsScreen)
        await pilot.press("space", "u", "n", "slash", "p")
        assert isinstance(app.screen, GroupsScreen)  # no filter prompt opened
        assert not app.session.marks and [f.action for f in app.session.findings] == decided
        assert app.query_one(PreviewPane).display  # the preview was not toggled behind
        await pilot.press("escape", "question_mark")
        await pilot.press("u")  # in the help text: undo must not run behind it
        assert [f.action for f in app.session.findings] == decided
        await pilot.press("escape", "u")  # back on the review screen, undo works
        assert app.session.findings[0].action == ""
        await pilot.press("q")
