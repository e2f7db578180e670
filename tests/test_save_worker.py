"""Saving off the main thread: a decision made while the report is written is neither lost nor taken as saved."""

from __future__ import annotations

import threading

import pytest

from phi_review.core.report import writer
from phi_review.core.report.reader import read_report
from phi_review.core.review.session import ReviewSession
from phi_review.sample_reports.make_workbook import build_report_workbook, generate_rows

from tui_helpers import fresh_demo, make_app, wait_for


def _report(tmp_path, rows: int = 30):
    path = tmp_path / "report.xlsx"
    build_report_workbook(path, generate_rows(rows))
    return path


def test_decision_between_prepare_and_finish_stays_dirty_and_is_recovered(tmp_path):
    path = _report(tmp_path)
    session = ReviewSession.open(path, reviewer="tester")
    first, second = session.actions[0], session.actions[1]
    session.decide([0], first)
    session.decide([1], first)
    plan = session.prepare_save()
    assert plan is not None and sorted(plan.written) == [0, 1]
    # While the worker writes: row 1 changes again, row 2 is new.
    session.decide([1], second)
    session.decide([2], second)
    warnings = ReviewSession.write_save(plan)
    session.finish_save(plan, warnings)
    assert session.unsaved == 2  # rows 1 and 2; row 0 is clean
    session.close()

    on_disk = read_report(path)
    assert [f.action for f in on_disk.findings[:3]] == [first, first, ""]  # the snapshot, not the later state
    reopened = ReviewSession.open(path, reviewer="tester")
    try:
        assert reopened.recovered == 2
        assert [f.action for f in reopened.findings[:3]] == [first, second, second]
        reopened.save()
    finally:
        reopened.close()
    assert [f.action for f in read_report(path).findings[:3]] == [first, second, second]


def test_change_back_during_save_is_clean_and_one_save_at_a_time(tmp_path):
    path = _report(tmp_path)
    with ReviewSession.open(path, reviewer="tester") as session:
        action = session.actions[0]
        session.decide([3], action)
        plan = session.prepare_save()
        with pytest.raises(Exception, match="already running"):
            session.prepare_save()
        session.undo()
        session.redo()  # back to what is being written
        session.finish_save(plan, ReviewSession.write_save(plan))
        assert session.unsaved == 0 and not session.saving
    with ReviewSession.open(path, reviewer="tester") as again:
        assert again.recovered == 0 and again.findings[3].action == action


def test_failed_write_keeps_every_decision_dirty(tmp_path, monkeypatch):
    path = _report(tmp_path)
    with ReviewSession.open(path, reviewer="tester") as session:
        session.decide([0, 1], session.actions[0])

        def refuse(report, edits):
            raise OSError(28, "No space left on device")

        monkeypatch.setattr(writer, "save_report", refuse)
        with pytest.raises(Exception, match="kept in the journal"):
            session.save()
        assert session.unsaved == 2 and not session.saving


async def test_decide_during_a_slow_save_then_quit_waits_and_saves_it(tmp_path, monkeypatch):
    report = fresh_demo(tmp_path)
    real_save = writer.save_report
    entered, release = threading.Event(), threading.Event()
    calls: list[int] = []

    def slow_save(rep, edits):
        calls.append(len(edits))
        entered.set()
        if len(calls) == 1:
            assert release.wait(20), "the test never released the save"
        return real_save(rep, edits)

    monkeypatch.setattr(writer, "save_report", slow_save)
    app = make_app(report)
    findings = app.session.findings
    actions = app.session.actions
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: 0 in app.review.files.loaded)
        await pilot.press("1")
        await pilot.press("ctrl+s")
        await wait_for(pilot, entered.is_set)
        assert app.review.decisions.saving and "saving" in app.review.decisions.save_state
        # The screen is live: a decision during the save is journaled and shown.
        await pilot.press("2")
        assert findings[1].action == actions[1]
        await pilot.press("ctrl+s")  # queued, not a second writer
        assert len(calls) == 1
        release.set()
        await wait_for(pilot, lambda: not app.review.decisions.saving and app.session.unsaved == 0)
        assert len(calls) == 2  # the queued save wrote the decision made meanwhile
        await pilot.press("3")
        entered.clear()
        await pilot.press("q")
        await wait_for(pilot, lambda: app.return_code is not None)
    on_disk = read_report(report)
    assert [f.action for f in on_disk.findings[:3]] == [actions[0], actions[1], actions[2]]


async def test_decision_during_save_is_not_taken_as_saved_when_the_app_dies(tmp_path, monkeypatch):
    report = fresh_demo(tmp_path)
    real_save = writer.save_report
    entered, release = threading.Event(), threading.Event()

    def slow_save(rep, edits):
        entered.set()
        assert release.wait(20)
        return real_save(rep, edits)

    monkeypatch.setattr(writer, "save_report", slow_save)
    app = make_app(report)
    actions = app.session.actions
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: 0 in app.review.files.loaded)
        await pilot.press("1")
        await pilot.press("ctrl+s")
        await wait_for(pilot, entered.is_set)
        await pilot.press("2")  # during the save
        release.set()
        await wait_for(pilot, lambda: not app.review.decisions.saving)
        assert app.session.unsaved == 1
        # The process dies here (no second save, no q).
    app.session.close()
    on_disk = read_report(report)
    assert on_disk.findings[0].action == actions[0] and on_disk.findings[1].action == ""
    reopened = ReviewSession.open(report, reviewer="tester")
    try:
        assert reopened.recovered == 1 and reopened.findings[1].action == actions[1]
    finally:
        reopened.close()
