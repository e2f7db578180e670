"""Review-screen behaviour a reviewer relies on: no data of one file on another's row, inert edit fields,
a palette that holds every action and saves on Quit."""

from __future__ import annotations

import csv

from phi_review.tui.screens.dialogs import AskTextScreen
from phi_review.tui.widgets.findings_list import FindingsList
from phi_review.tui.widgets.header_pane import HeaderPane
from phi_review.tui.widgets.preview_pane import PreviewPane
from textual.widgets import Input, Static

from tui_helpers import fresh_demo, make_app, wait_for

OSC52 = "\x1b]52;c;SGVsbG8=\x07note"


def _csv_report(tmp_path, comments: str):
    report = tmp_path / "report.csv"
    with report.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["File Name", "Validation Issue", "Detected Value", "Comments"])
        writer.writerow(["nowhere.dcm", "Possible PHI/PII in Header", "DOE^JANE", comments])
    return report


async def test_note_dialog_shows_the_cell_escaped_and_keeps_it_unless_edited(tmp_path):
    app = make_app(_csv_report(tmp_path, OSC52))
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: bool(app.screen.query(FindingsList)))
        await pilot.press("e")
        await wait_for(pilot, lambda: isinstance(app.screen, AskTextScreen))
        field = app.screen.query_one(Input)
        assert "\x1b" not in field.value and "\x07" not in field.value
        assert "\\x1b]52" in field.value
        await pilot.press("enter")
        await pilot.pause()
        assert app.session.findings[0].note == OSC52  # unchanged: not replaced by its escaped form
        assert app.session.unsaved == 0


async def test_missing_file_row_after_a_pixel_row_shows_nothing_of_the_first_file(tmp_path):
    report = fresh_demo(tmp_path)
    app = make_app(report)
    findings = app.session.findings
    pixel = next(i for i, f in enumerate(findings) if "US_00001" in f.file)
    async with app.run_test(size=(120, 40)) as pilot:
        listing = app.query_one(FindingsList)
        listing.move_to(pixel)
        await wait_for(pilot, lambda: pixel in app.review.files.loaded and app.review.files.loaded[pixel].path)
        path = str(app.review.files.loaded[pixel].path)
        await wait_for(pilot, lambda: (path, 0) in app.review.ocr.lines or (path, 0) in app.review.ocr.errors, timeout=60)
        panel = app.query_one("#preview-ocr", Static)
        assert panel.display
        missing = next(i for i in range(len(findings))
                       if i not in (pixel,) and app.review.files.load_now(i).path is None
                       and not app.review.files.load_now(i).candidates)
        listing.move_to(missing)
        await wait_for(pilot, lambda: app.review.files.current_index == missing and missing in app.review.files.loaded)
        await pilot.pause()
        assert not panel.display
        assert app.query_one(HeaderPane).rows == ()
        preview = app.query_one(PreviewPane)
        assert preview.image_widget is None or not preview.image_widget.display


async def test_palette_lists_every_key_action_and_its_quit_saves(tmp_path):
    report = fresh_demo(tmp_path)
    app = make_app(report)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: 0 in app.review.files.loaded)
        titles = [c.title for c in app.get_system_commands(app.screen)]
        for wanted in ("Save report", "Undo", "Redo", "Groups", "Filter", "Note", "Next frame", "Prev frame",
                       "Zoom in", "Read text", "Pick file", "Identifying tags", "Quit"):
            assert wanted in titles, wanted
        await pilot.press("1")
        assert app.session.unsaved == 1
        await app.action_quit()
        await pilot.pause()
    assert app.session.unsaved == 0  # Quit from the palette saved like q


async def test_context_lines_wrap_instead_of_being_cut(tmp_path):
    long_value = "A-VERY-LONG-DETECTED-VALUE " * 8 + "END-OF-VALUE"
    report = tmp_path / "report.csv"
    with report.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["File Name", "Validation Issue", "Detected Value"])
        writer.writerow(["nowhere.dcm", "Possible PHI/PII in Header", long_value])
    app = make_app(report)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: 0 in app.review.files.loaded)
        header = app.query_one(HeaderPane)
        width = header.scrollable_content_region.width
        shown = ["".join(seg.text for seg in header.render_line(y)) for y in range(header.size.height)]
        assert all(len(line.rstrip()) <= width for line in shown)
        assert "END-OF-VALUE" in "".join(shown)


async def test_the_rows_other_columns_are_on_screen_whole(tmp_path):
    details = ("(0010,0010) (PatientName), «DOE^JANE», Possible PHI/PII detection (score 0.85): "
               "Strict high-risk tag \"PatientName\" may need closer look with score 0.85 END")
    report = tmp_path / "SITE1.csv"
    with report.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["Site ID", "Event ID", "File Name", "Profile", "Score", "Findings", "Details"])
        writer.writerow(["SITE1", "1234567", "nowhere.dcm", "CT", "0.85", "🙈 Possible PHI/PII in Header", details])
    app = make_app(report)
    async with app.run_test(size=(100, 40)) as pilot:
        await wait_for(pilot, lambda: 0 in app.review.files.loaded)
        header = app.query_one(HeaderPane)
        text = " ".join(line.strip() for line in header.message_lines)
        for wanted in ("Site ID: SITE1", "Event ID: 1234567", "Score: 0.85", "Profile: CT", "closer look", "END"):
            assert wanted in text, wanted


async def test_keys_work_from_the_list_or_say_why_not(tmp_path):
    from phi_review.tui.widgets.preview_pane import PreviewPane

    report = fresh_demo(tmp_path)
    app = make_app(report)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: 0 in app.review.files.loaded and app.review.files.loaded[0].info is not None)
        header = app.query_one(HeaderPane)
        await wait_for(pilot, lambda: bool(header.rows))
        assert app.query_one(FindingsList).has_focus
        # f then > from the list steps through the header's matches.
        await pilot.press("f")
        await wait_for(pilot, lambda: isinstance(app.screen, AskTextScreen))
        await pilot.press(*"Date", "enter")
        await pilot.pause()
        first = header.cursor
        await pilot.press("greater_than_sign")
        assert header.cursor != first
        # 0 fits the preview from the list.
        preview = app.query_one(PreviewPane)
        await pilot.press("plus", "plus")
        assert preview.state.zoom > 1
        await pilot.press("0")
        assert preview.state.zoom == 1
        # ] on a single-frame file and o without overlays say so.
        await pilot.press("right_square_bracket", "o")
        await pilot.pause()
        said = " ".join(str(n.message) for n in app._notifications)
        assert "one frame" in said and "no overlay planes" in said


async def test_keys_typed_right_after_q_do_not_break_the_exit(tmp_path):
    report = fresh_demo(tmp_path)
    app = make_app(report)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: 0 in app.review.files.loaded)
        await pilot.press("1", "q", "e", "slash", "v")
        await pilot.pause()
    assert app.return_code in (0, None)
    assert app.session.unsaved == 0


async def test_row_keys_are_off_once_the_app_is_leaving(tmp_path):
    report = fresh_demo(tmp_path)
    app = make_app(report)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: 0 in app.review.files.loaded)
        assert app.review.check_action("note", ())
        app.exit()
        assert not app.review.check_action("note", ())
        assert not app.review.check_action("filter", ())


async def test_an_ambiguous_file_can_be_chosen_again_and_the_audit_names_it(tmp_path):
    import json

    from phi_review.core.review.journal import journal_path
    from phi_review.tui.screens.dialogs import PickScreen

    report = fresh_demo(tmp_path)
    app = make_app(report)
    findings = app.session.findings
    twin = next(i for i, f in enumerate(findings) if f.file == "TWIN_00001.dcm")
    async with app.run_test(size=(120, 40)) as pilot:
        listing = app.query_one(FindingsList)
        listing.move_to(twin)
        await wait_for(pilot, lambda: twin in app.review.files.loaded)
        files = app.review.files
        await pilot.press("c")
        await wait_for(pilot, lambda: isinstance(app.screen, PickScreen))
        await pilot.press("enter")
        await wait_for(pilot, lambda: files.loaded.get(twin) is not None and files.loaded[twin].path is not None)
        first = files.loaded[twin].path
        await pilot.press("c")  # again: not "not ambiguous"
        await wait_for(pilot, lambda: isinstance(app.screen, PickScreen))
        await pilot.press("down", "enter")
        await wait_for(pilot, lambda: files.loaded.get(twin) is not None and files.loaded[twin].path not in (None, first))
        second = files.loaded[twin].path
        header = app.query_one(HeaderPane)
        assert "c chooses again" in " ".join(line.strip() for line in header.message_lines)
        await pilot.press("1")
    records = [json.loads(line) for line in journal_path(report).read_text().splitlines() if line.strip()]
    decided = [r for r in records if r.get("kind") == "decide"]
    assert decided and str(second) in json.dumps(decided[-1])


async def test_decide_every_row_of_a_file_with_one_key(tmp_path):
    from phi_review.tui.screens.dialogs import PickScreen

    report = tmp_path / "SITE1.csv"
    with report.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["Site ID", "Event ID", "File Name", "Profile", "Score", "Findings", "Details"])
        for tag, kw in (("(0010,0010)", "PatientName"), ("(0010,0020)", "PatientID"), ("(0008,0020)", "StudyDate")):
            writer.writerow(["SITE1", "1234567", "a.dcm", "CT", "0.9", "🙈 Possible PHI/PII in Header",
                             f"{tag} ({kw}), «X», Possible PHI/PII detection (score 0.9): r"])
        writer.writerow(["SITE1", "7654321", "a.dcm", "CT", "0.9", "🙈 Possible PHI/PII in Header",
                         "(0010,0010) (PatientName), «Y», Possible PHI/PII detection (score 0.9): r"])
    app = make_app(report)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: 0 in app.review.files.loaded)
        await pilot.press("F")
        await wait_for(pilot, lambda: isinstance(app.screen, PickScreen))
        assert "all 3 rows" in app.screen.title_text
        await pilot.press("down", "enter")
        await pilot.pause()
        actions = [f.action for f in app.session.findings]
        assert actions[:3] == [app.session.actions[1]] * 3 and actions[3] == ""  # the other event's a.dcm untouched
        await pilot.press("u")
        assert [f.action for f in app.session.findings] == [""] * 4  # one undo step


async def test_groups_view_regroups_by_tag_and_file(tmp_path):
    from phi_review.tui.screens.groups import GroupsScreen

    report = fresh_demo(tmp_path)
    app = make_app(report)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: 0 in app.review.files.loaded)
        await pilot.press("v")
        await wait_for(pilot, lambda: isinstance(app.screen, GroupsScreen))
        screen = app.screen
        assert screen.by == "value"
        await pilot.press("b")
        assert screen.by == "tag" and screen.groups
        await pilot.press("b")
        assert screen.by == "file"
        assert all(g.issue == "File" for g in screen.groups)


async def test_a_pixel_row_opens_on_the_frame_its_finding_names(tmp_path):
    from phi_review.sample_reports.make_dicom import multiframe_file
    from phi_review.tui.widgets.preview_pane import PreviewPane

    multiframe_file(tmp_path / "cine.dcm", frames=30)
    report = tmp_path / "SITE1.csv"
    with report.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["Site ID", "Event ID", "File Name", "Profile", "Score", "Findings", "Details"])
        writer.writerow(["SITE1", "1234567", "cine.dcm", "CT", "0.95", "🖼️ Possible Burned-in PHI/PII (Pixels)",
                         "MRN:7212121, Detected with pattern MRN_like at frame index 3"])
    app = make_app(report)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: 0 in app.review.files.loaded and app.review.files.loaded[0].info is not None)
        preview = app.query_one(PreviewPane)
        assert preview.state.frame == 21  # k=3 of 4 frames sampled 7 apart (30 // 4)
        path = str(app.review.files.loaded[0].path)
        await wait_for(pilot, lambda: (path, 21) in app.review.ocr.lines or (path, 21) in app.review.ocr.errors,
                       timeout=60)
        assert (path, 0) not in app.review.ocr.lines


def test_header_find_with_no_match_says_so_and_exits_1(tmp_path, capsys):
    from phi_review.sample_reports.make_dicom import multiframe_file
    from phi_review.tui.cli import main

    path = multiframe_file(tmp_path / "a.dcm", frames=2)
    assert main(["header", str(path), "--find", "NoSuchAttribute"]) == 1
    assert "nothing in a.dcm matches" in capsys.readouterr().err
    assert main(["header", str(path), "--find", "PatientName"]) == 0


async def test_identifying_dialog_shows_sequence_items_nested_not_top_level(tmp_path):
    report = fresh_demo(tmp_path)
    app = make_app(report)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: 0 in app.review.files.loaded)
        await pilot.press("I")
        await pilot.pause()
        body = str(app.screen.query_one("#text-body").render())
        nested = [line for line in body.splitlines() if "PatientID:" in line and "(in OtherPatientIDsSequence)" in line]
        assert nested and all(line.startswith("  ") for line in nested)


async def test_a_note_that_cannot_be_stored_keeps_the_dialog_and_the_text(tmp_path):
    report = fresh_demo(tmp_path)
    app = make_app(report)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: 0 in app.review.files.loaded)
        await pilot.press("e")
        await wait_for(pilot, lambda: isinstance(app.screen, AskTextScreen))
        field = app.screen.query_one(Input)
        field.value = "x" * 40000
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, AskTextScreen)  # still open, text kept
        assert app.screen.query_one(Input).value == "x" * 40000
        assert app.screen.query_one("#ask-problem", Static).display
        assert app.session.findings[0].note == ""


async def test_an_unconfirmed_forced_graphics_mode_is_said_on_the_screen(tmp_path):
    from phi_review.core.review.session import ReviewSession
    from phi_review.tui.app import ReviewApp
    from phi_review.tui.terminal.graphics import GraphicsChoice, TerminalCaps

    report = fresh_demo(tmp_path)
    session = ReviewSession.open(report, reviewer="tester")
    choice = GraphicsChoice("halfcell", TerminalCaps(is_tty=True, cell_size=(10, 20)), "forced",
                            warning="--graphics sixel: this terminal did not say it draws sixel images")
    app = ReviewApp(session, graphics=choice)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: 0 in app.review.files.loaded)
        said = " ".join(str(n.message) for n in app._notifications)
        assert "did not say it draws sixel" in said
    session.close()


async def test_after_a_group_decision_the_row_under_the_cursor_is_repainted(tmp_path):
    from phi_review.tui.screens.groups import GroupsScreen

    report = fresh_demo(tmp_path)
    app = make_app(report)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: 0 in app.review.files.loaded)
        listing = app.query_one(FindingsList)
        current = listing.current
        await pilot.press("v")
        await wait_for(pilot, lambda: isinstance(app.screen, GroupsScreen))
        group = next(g for g in app.screen.groups if current in g.indexes)
        position = list(app.screen.groups).index(group)
        app.screen.query_one("#groups-list").cursor = position
        await pilot.press("2", "y")
        await pilot.pause()
        await pilot.press("escape")
        await pilot.pause()
        assert app.session.findings[current].action == app.session.actions[1]
        import html
        import re

        painted = html.unescape(re.sub(r"<[^>]+>", "", app.export_screenshot())).replace("\xa0", " ")
        row = str(app.session.findings[current].row)
        lines = [line for line in painted.splitlines() if re.match(rf"\s*▶?\s*{row} ", line)]
        assert lines and "unreviewed" not in lines[0], lines


def test_a_validator_row_shows_and_matches_the_value_its_details_name():
    from phi_review.core.report.model import Finding
    from phi_review.tui.widgets.findings_list import shown_value

    pixel = Finding(row=13, file="long_cine.dcm", issue="🖼️ Possible Burned-in PHI/PII (Pixels)",
                    details="MRN:7212121, Detected with pattern MRN_like at frame index 3")
    missing = Finding(row=8, file="bad_tags.dcm", issue="⚠️ Missing Required Tags",
                      details="(0020,0052) (FrameOfReferenceUID), «tag missing», Failed core tag validation: x")
    assert shown_value(pixel) == "MRN:7212121"
    assert shown_value(missing) == "(0020,0052)"  # a placeholder is never shown as a value
    assert shown_value(Finding(row=2, file="a.dcm", value="DOE^JANE")) == "DOE^JANE"
