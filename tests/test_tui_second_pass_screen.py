"""The second pass in the review screen: decided rows, a confirms, d disputes with a note, is:disputed."""

from __future__ import annotations

from phi_review.core.review.session import ReviewSession
from phi_review.tui.screens.dialogs import AskTextScreen, PickScreen
from phi_review.tui.screens.keys_help import help_text
from phi_review.tui.widgets.findings_list import FindingsList
from phi_review.tui.widgets.header_pane import HeaderPane

from tui_helpers import fresh_demo, make_app, wait_for

DECIDED = (0, 2, 3, 5)


def _first_pass(report, reviewer: str = "ann") -> list[str]:  # type: ignore[no-untyped-def]
    """Rows DECIDED get a first decision by ``reviewer``, saved; returns the actions."""
    session = ReviewSession.open(report, reviewer=reviewer)
    try:
        actions = list(session.actions)
        session.decide([0, 2], actions[0])
        session.decide([3, 5], actions[2])
        session.save()
    finally:
        session.close()
    return actions


async def _start(app, pilot):  # type: ignore[no-untyped-def]
    await wait_for(pilot, lambda: bool(app.screen.query(FindingsList)))
    await pilot.pause()


async def test_second_pass_shows_decided_rows_confirms_and_disputes_with_a_required_note(tmp_path):
    report = fresh_demo(tmp_path)
    actions = _first_pass(report)
    app = make_app(report)
    app.second_pass = True
    async with app.run_test(size=(80, 24)) as pilot:
        await _start(app, pilot)
        listing = app.query_one(FindingsList)
        findings = app.session.findings
        assert listing.order == list(DECIDED)
        assert "SECOND PASS" in str(app.query_one("#status").render())
        assert listing.current == 0
        await wait_for(pilot, lambda: 0 in app.review.files.loaded)
        await pilot.pause()
        context = " ".join(app.query_one(HeaderPane)._messages)
        assert f"action: {actions[0]} by ann" in context  # the first decision and its reviewer
        await pilot.press("a")  # confirm row 0
        await pilot.pause()
        assert findings[0].second_review == actions[0] and findings[0].second_reviewer == "tester"
        assert findings[0].action == actions[0]
        assert listing.current == 2  # moved to the next row without a second review
        await pilot.press("d")  # dispute row 2
        assert isinstance(app.screen, PickScreen)
        await pilot.press("4")
        assert isinstance(app.screen, AskTextScreen)
        await pilot.press("enter")  # an empty note records nothing
        await pilot.pause()
        assert not findings[2].second_review
        await pilot.press("d", "4")
        await pilot.press(*"wrong call", "enter")
        await pilot.pause()
        assert findings[2].second_review == actions[3] and findings[2].action == actions[0]
        assert "Second review (tester): wrong call" in findings[2].note
        assert listing.current == 3
        # A digit is the second reviewer's action: the first decision's number confirms (never a new first decision).
        await pilot.press("3")
        await pilot.pause()
        assert findings[3].action == actions[2] and findings[3].second_review == actions[2]
        app.review.apply_filter("is:disputed")
        assert listing.order == [2]
        await pilot.pause()
        line = "".join(seg.text for seg in listing.render_line(1))
        assert "≠ 1 " in line  # disputed, in text; the first decision's number stays beside it
        app.review.apply_filter("is:reviewed")
        await pilot.pause()
        assert "✓ 1 " in "".join(seg.text for seg in listing.render_line(1))  # row 0: confirmed
        await pilot.press("escape")
        await pilot.press("u")  # undo the last second review (row 3)
        await pilot.pause()
        assert not findings[3].second_review and findings[3].action == actions[2]
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: app.session.unsaved == 0 and not app.review.decisions.saving)
    again = ReviewSession.open(report, reviewer="x", read_only=True)
    try:
        assert [f.second_review for f in again.findings[:4]] == [actions[0], "", actions[3], ""]
        assert again.filter("is:disputed") == [2]
    finally:
        again.close()


async def test_same_reviewer_needs_a_reason_and_undecided_rows_are_refused(tmp_path):
    report = fresh_demo(tmp_path)
    actions = _first_pass(report, reviewer="tester")  # the app's reviewer made the first decisions
    app = make_app(report)
    app.second_pass = True
    async with app.run_test(size=(80, 24)) as pilot:
        await _start(app, pilot)
        findings = app.session.findings
        await pilot.press("a")
        assert isinstance(app.screen, AskTextScreen)
        await pilot.press("escape")  # no reason: nothing recorded
        await pilot.pause()
        assert not findings[0].second_review
        await pilot.press("a", *"only reviewer on site", "enter")
        await pilot.pause()
        assert findings[0].second_review == actions[0]
        assert "only reviewer on site" in findings[0].note
        app.review.apply_filter("")
        app.query_one(FindingsList).move_to(1)  # undecided
        await pilot.press("a")
        await pilot.pause()
        assert not findings[1].second_review and not isinstance(app.screen, AskTextScreen)


async def test_keys_do_nothing_outside_a_second_pass_and_digits_still_decide(tmp_path):
    app = make_app(fresh_demo(tmp_path))
    async with app.run_test(size=(80, 24)) as pilot:
        await _start(app, pilot)
        assert "SECOND PASS" not in str(app.query_one("#status").render())
        findings = app.session.findings
        current = app.query_one(FindingsList).current
        await pilot.press("1", "a", "d")
        await pilot.pause()
        assert findings[current].action == app.session.actions[0]
        assert not any(f.second_review for f in findings)
        text = help_text(app)
        assert "app.second_confirm" in text and "app.second_dispute" in text


def test_review_command_takes_second_pass_and_hands_it_to_the_app(tmp_path, monkeypatch):
    from phi_review.tui.cli import build_parser
    from phi_review.tui.commands import review as review_command

    args = build_parser().parse_args(["review", str(tmp_path / "r.xlsx"), "--second-pass"])
    assert args.second_pass is True
    seen: dict[str, object] = {}

    def fake_open_review(report, **kwargs):  # type: ignore[no-untyped-def]
        seen.update(kwargs)
        return 0

    monkeypatch.setattr(review_command, "open_review", fake_open_review)
    assert review_command.run_review(args) == 0
    assert seen["second_pass"] is True


async def test_second_pass_never_changes_a_first_decision_through_file_or_group_keys(tmp_path):
    from phi_review.tui.screens.groups import GroupsScreen

    report = fresh_demo(tmp_path)
    actions = _first_pass(report)
    app = make_app(report)
    app.second_pass = True
    async with app.run_test(size=(80, 24)) as pilot:
        await _start(app, pilot)
        findings = app.session.findings
        before = [f.action for f in findings]
        await pilot.press("F")
        assert isinstance(app.screen, PickScreen)
        await pilot.press("4")
        await pilot.pause()
        await pilot.press("v")
        assert isinstance(app.screen, GroupsScreen)
        await pilot.press("4", "y", "escape")
        await pilot.pause()
        assert [f.action for f in findings] == before and findings[0].action == actions[0]
        assert app.session.unsaved == 0
