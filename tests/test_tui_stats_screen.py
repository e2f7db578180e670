"""The statistics screen (s): the numbers of `phi-review stats`, counted in a worker, fit 80x24, no values."""

from __future__ import annotations

import threading

from phi_review.core.review.stats import compute_stats
from phi_review.tui.review import stats_ctl
from phi_review.tui.screens.keys_help import help_text
from phi_review.tui.screens.stats_view import StatsScreen
from phi_review.tui.widgets.findings_list import FindingsList

from tui_helpers import fresh_demo, make_app, wait_for


def _counted(app) -> bool:  # type: ignore[no-untyped-def]
    return isinstance(app.screen, StatsScreen) and not app.screen.text.startswith("Counting")


async def test_stats_screen_counts_in_a_worker_and_shows_the_cli_numbers_with_unsaved_decisions(tmp_path, monkeypatch):
    report = fresh_demo(tmp_path)
    app = make_app(report)
    threads: list[str] = []
    real = stats_ctl.count_text

    def spy(*args, **kwargs):  # type: ignore[no-untyped-def]
        threads.append(threading.current_thread().name)
        return real(*args, **kwargs)

    monkeypatch.setattr(stats_ctl, "count_text", spy)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: bool(app.screen.query(FindingsList)))
        await pilot.press("1")  # one decision, in the journal, not saved
        await pilot.pause()
        await pilot.press("s")
        await wait_for(pilot, lambda: _counted(app))
        text = app.screen.text
        data = compute_stats(app.session.report)
        assert data["reviewed"] == 1
        assert f"Rows {data['rows']} in {data['files']} files; reviewed 1," in text
        assert "Pace (from the journal)" in text and "1 decisions" in text
        assert threads and threads[0] != threading.main_thread().name
        assert max(len(line) for line in text.splitlines()) <= 79  # a one-column scrollbar beside it at 80
        values = {f.value.strip() for f in app.session.findings if len(f.value.strip()) >= 4}
        assert values and not [v for v in values if v in text]
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, StatsScreen)


async def test_stats_key_is_in_help_and_palette_with_an_id(tmp_path):
    app = make_app(fresh_demo(tmp_path))
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: bool(app.screen.query(FindingsList)))
        assert "app.stats" in help_text(app)
        from phi_review.tui.screens.keys_help import review_commands

        assert any(c.title == "Statistics" for c in review_commands(app))


async def test_stats_failure_is_one_line_not_a_traceback(tmp_path, monkeypatch):
    app = make_app(fresh_demo(tmp_path))

    def boom(*_args, **_kwargs):  # type: ignore[no-untyped-def]
        raise ValueError("secret DOE^JANE")

    monkeypatch.setattr(stats_ctl, "count_text", boom)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: bool(app.screen.query(FindingsList)))
        await pilot.press("s")
        await wait_for(pilot, lambda: _counted(app))
        assert app.screen.text == "Could not count: ValueError"


async def test_stats_count_by_patient_once_the_panel_has_read_them_numbers_only(tmp_path):
    from phi_review.tui.screens.patients import PatientsScreen

    app = make_app(fresh_demo(tmp_path))
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: bool(app.screen.query(FindingsList)))
        await pilot.press("s")
        await wait_for(pilot, lambda: _counted(app))
        assert "By patient" not in app.screen.text  # headers not read yet
        await pilot.press("escape", "P")
        assert isinstance(app.screen, PatientsScreen)
        await wait_for(pilot, lambda: app.review.patients.index is not None, timeout=30)
        await pilot.press("escape", "s")
        await wait_for(pilot, lambda: _counted(app))
        text = app.screen.text
        assert "By patient (numbered, never the ID)" in text and "\n  P1 " in text
        names = {p.name for p in app.review.patients.index.patients.values() if p.name}
        assert names and not [n for n in names if n in text or n.replace("^", " ") in text]
