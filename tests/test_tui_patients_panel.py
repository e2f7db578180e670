"""The patient panel (P): rows by patient, read in the background, filter patient:P3, decide by patient."""

from __future__ import annotations

import threading

from textual.widgets import OptionList

from phi_review.core.review import patients as patients_module
from phi_review.tui.screens.dialogs import ConfirmScreen
from phi_review.tui.screens.groups import GroupsScreen
from phi_review.tui.screens.keys_help import help_text
from phi_review.tui.screens.patients import PatientsScreen
from phi_review.tui.widgets.findings_list import FindingsList
from phi_review.tui.widgets.groups_list import GroupsList

from tui_helpers import fresh_demo, make_app, wait_for


def _line(listing: OptionList, k: int) -> str:
    return str(listing.get_option_at_index(k).prompt)


async def _open_panel(app, pilot):  # type: ignore[no-untyped-def]
    await wait_for(pilot, lambda: bool(app.screen.query(FindingsList)))
    await pilot.press("P")
    assert isinstance(app.screen, PatientsScreen)
    await wait_for(pilot, lambda: app.review.patients.index is not None, timeout=30)
    await pilot.pause()


async def test_panel_numbers_patients_reads_in_a_worker_and_enter_filters_their_rows(tmp_path, monkeypatch):
    app = make_app(fresh_demo(tmp_path))
    threads: list[str] = []
    real = patients_module._read

    def spy(path):  # type: ignore[no-untyped-def]
        threads.append(threading.current_thread().name)
        return real(path)

    monkeypatch.setattr(patients_module, "_read", spy)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("1")  # one decided row, counted on its patient's line
        await _open_panel(app, pilot)
        assert threads and threading.main_thread().name not in threads
        index = app.review.patients.index
        assert list(index.patients) == [f"P{n}" for n in range(1, len(index.patients) + 1)]
        listing = app.screen.query_one(OptionList)
        lines = [_line(listing, k) for k in range(listing.option_count)]
        assert len(lines) == len(index.patients) >= 2
        first = index.patients["P1"]
        assert lines[0].startswith("P1 ") and f"{len(first.files)} files" in lines[0]
        decided = sum(1 for i in first.indexes if app.session.findings[i].reviewed)
        assert f"{decided}/{len(first.indexes)} decided" in lines[0]
        assert all(len(line) <= 78 for line in lines)
        assert "patients" in str(app.screen.query_one("#patients-title").render())
        labels = app.session.patient_labels
        assert len(labels) == len(app.session.findings)
        listing.highlighted = 1
        await pilot.press("enter")
        await pilot.pause()
        assert not isinstance(app.screen, PatientsScreen)
        order = app.query_one(FindingsList).order
        assert order == index.patients["P2"].indexes
        assert app.review.decisions.filter_text == "patient:P2"
        # The same filter typed with / (and combined with other terms).
        app.review.apply_filter("patient:p4 is:unreviewed")
        assert app.query_one(FindingsList).order == [i for i in index.patients["P4"].indexes
                                                     if not app.session.findings[i].reviewed]


async def test_grouped_view_decides_a_patients_rows_as_one_undo_step(tmp_path):
    app = make_app(fresh_demo(tmp_path))
    async with app.run_test(size=(80, 24)) as pilot:
        await _open_panel(app, pilot)
        await pilot.press("v")
        assert isinstance(app.screen, GroupsScreen) and app.screen.by == "patient"
        groups = app.screen.groups
        assert [g.issue for g in groups] == ["Patient"] * len(groups)
        target = next(k for k, g in enumerate(groups) if g.value == "P2")
        rows = list(groups[target].indexes)
        assert rows == app.review.patients.index.patients["P2"].indexes
        app.screen.query_one(GroupsList).cursor = target
        await pilot.press("2")
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("y")
        await pilot.pause()
        action = app.session.actions[1]
        assert all(app.session.findings[i].action == action for i in rows)
        assert sum(1 for f in app.session.findings if f.reviewed) == len(rows)
        await pilot.press("escape")  # groups -> panel, counts fresh
        await pilot.pause()
        assert isinstance(app.screen, PatientsScreen)
        listing = app.screen.query_one(OptionList)
        line = next(_line(listing, k) for k in range(listing.option_count) if _line(listing, k).startswith("P2 "))
        assert f"{len(rows)}/{len(rows)} decided" in line
        await pilot.press("escape")
        await pilot.press("u")  # one step undoes the whole patient
        await pilot.pause()
        assert not any(app.session.findings[i].reviewed for i in rows)


async def test_names_stay_on_screen_never_in_the_journal_or_report(tmp_path):
    report = fresh_demo(tmp_path)
    app = make_app(report)
    async with app.run_test(size=(80, 24)) as pilot:
        await _open_panel(app, pilot)
        names = {p.name for p in app.review.patients.index.patients.values() if p.name}
        cells = " ".join(" ".join(map(str, f.cells)) + f.value for f in app.session.findings)
        names = {n for n in names if n not in cells}  # names the report itself does not already hold
        assert names
        listing = app.screen.query_one(OptionList)
        shown = " ".join(_line(listing, k) for k in range(listing.option_count))
        assert all(n in shown for n in names)
        assert "name=" not in repr(next(iter(app.review.patients.index.patients.values())))
        await pilot.press("escape", "v", "1", "y", "escape")
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: app.session.unsaved == 0 and not app.review.decisions.saving)
    written = b"".join(p.read_bytes() for p in report.parent.rglob("*")
                       if p.is_file() and p.suffix.lower() != ".dcm" and "." in p.name)
    assert not [n for n in names if n.encode() in written]


def test_patients_key_in_help_with_its_id(tmp_path):
    app = make_app(fresh_demo(tmp_path))
    assert "app.patients" in help_text(app)
