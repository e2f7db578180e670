"""A big journal is parsed in a thread while the report is read; its parse is used only for the same journal."""

from __future__ import annotations

from pathlib import Path

import pytest

from phi_review.core.review import journal_ahead, recovery
from phi_review.core.review.journal import journal_path
from phi_review.core.review.journal_ahead import parse_ahead
from phi_review.core.review.recovery import plan_recovery
from phi_review.core.review.session import ReviewSession
from phi_review.sample_reports.make_workbook import build_report_workbook, generate_rows


@pytest.fixture
def decided(tmp_path: Path) -> Path:
    """A report with 300 rows, then 30 steps of 10 decisions left unsaved in its journal (a crash)."""
    path = build_report_workbook(tmp_path / "r.xlsx", generate_rows(300))
    session = ReviewSession.open(path, reviewer="ann")
    for start in range(0, 300, 10):
        session.decide(list(range(start, start + 10)), session.actions[start // 10 % 2])
    session._journal.close()  # killed: no save, the lock file stays but its holder is gone
    session._lock.release()
    return path


def _plan(path: Path, ahead=None):
    session = ReviewSession.open(path, reviewer="ann", read_only=True)
    return plan_recovery(journal_path(path), session.findings, session.report.fingerprint.sha256,
                         session.report.sheet, ahead)


def test_the_parse_made_ahead_is_the_one_used(decided: Path) -> None:
    ahead = parse_ahead(journal_path(decided))
    assert ahead is not None and ahead.first == 0 and len(ahead.records) == 30
    ahead.records[-1]["new"]["note"] = "from ahead"  # a mark only this parse carries
    plan = _plan(decided, ahead)
    assert {values["note"] for values in plan.final.values()} == {"", "from ahead"}
    assert plan.final == _plan(decided).final | {index: plan.final[index] for index in range(290, 300)}


def test_a_journal_written_since_is_parsed_again(decided: Path) -> None:
    ahead = parse_ahead(journal_path(decided))
    ahead.records[-1]["new"]["note"] = "from ahead"
    with ReviewSession.open(decided, reviewer="bob") as session:  # another session appends one step
        session.decide([0], session.actions[2])
    plan = _plan(decided, ahead)
    assert all(values["note"] == "" for values in plan.final.values())  # the stale parse was not used


def test_open_recovers_the_same_with_and_without_the_thread(decided: Path, monkeypatch) -> None:
    def reopened() -> list[tuple[str, str]]:
        with ReviewSession.open(decided, reviewer="ann") as session:
            assert session.recovered == 300
            result = [(f.action, f.reviewer) for f in session.findings]
            session._journal.close()  # leave the journal as it was for the next open
            session._lock.release()
            return result

    monkeypatch.setattr(journal_ahead, "_AHEAD_FROM", 10**12)  # no thread
    without = reopened()
    started: list[Path] = []
    real = journal_ahead.parse_ahead
    monkeypatch.setattr(journal_ahead, "_AHEAD_FROM", 0)
    monkeypatch.setattr(journal_ahead, "parse_ahead", lambda path: started.append(path) or real(path))
    assert reopened() == without
    assert started == [journal_path(decided)]


def _plan_shape(path: Path) -> tuple:
    plan = _plan(path)
    steps = [(s.kind, s.step, s.target, [(c.index, c.row, c.file, c.pending, dict(c.old), dict(c.new)) for c in s.changes])
             for s in plan.steps]
    return plan.final, steps, plan.moved, plan.unplaced, plan.conflicts, plan.damaged


@pytest.mark.parametrize("shape", ["plain", "moved", "shared names", "noted", "decided before"])
def test_big_steps_placed_in_place_give_what_the_row_loop_gives(tmp_path: Path, monkeypatch, shape: str) -> None:
    """Steps of 20 rows go through the C-level passes when they can; the result is the per-row loop's."""
    import openpyxl

    rows = generate_rows(120)
    if shape == "shared names":
        rows[5]["file"] = rows[6]["file"]  # one name on two rows: its key must pick the row
    path = build_report_workbook(tmp_path / "r.xlsx", rows)
    session = ReviewSession.open(path, reviewer="ann")
    if shape == "decided before":
        session.decide(list(range(0, 120, 3)), session.actions[1])
        session.save()
    for start in range(0, 120, 20):
        session.decide(list(range(start, start + 20)), session.actions[0], note="seen" if shape == "noted" else None)
    session.decide(list(range(10, 50)), session.actions[2])  # the same rows again: a chain
    session._journal.close()
    session._lock.release()
    if shape == "moved":  # someone sorted the report: rows are not where the journal saw them
        book = openpyxl.load_workbook(path)
        sheet = book.worksheets[0]
        values = [[cell.value for cell in row] for row in sheet.iter_rows(min_row=5)]
        for offset, row in enumerate(reversed(values)):
            for column, value in enumerate(row, start=1):
                sheet.cell(row=5 + offset, column=column, value=value)
        book.save(path)
    used: list[bool] = []
    real = recovery._add_in_place_rows
    monkeypatch.setattr(recovery, "_add_in_place_rows", lambda *args: used.append(real(*args)) or used[-1])
    fast = _plan_shape(path)
    # Rows decided before have old values, and moved rows are not where the journal saw them: the loop's.
    assert any(used) is (shape in ("plain", "noted", "shared names")) and not all(used)
    monkeypatch.setattr(recovery, "_IN_PLACE_FROM", 10**9)
    assert _plan_shape(path) == fast
    assert fast[0]  # something was recovered


def test_the_one_pass_walk_equals_the_chain_walk_on_random_rows() -> None:
    """Rows with one slot each: the C-level passes give the slot-by-slot walk's statuses, values and conflicts."""
    import random

    from phi_review.core.report.model import Finding
    from phi_review.core.review import replay

    rng = random.Random(15)
    texts = ["", "A", "B", "a", "A "]
    for _ in range(200):
        count = rng.randint(1, 40)
        findings = [Finding(row=n + 2, file=f"f{n}.dcm", action=rng.choice(texts), note=rng.choice(texts))
                    for n in range(count)]
        placed = replay.Placed()
        for number in rng.sample(range(count), rng.randint(1, count)):
            placed.index.append(number)
            for target in (placed.old, placed.new):
                target.append({"action": rng.choice(texts), "note": rng.choice(texts), "reviewer": rng.choice(texts),
                               "reviewed_at": "", "corrected_copy": ""})
        assert replay._each_once(placed, findings) == replay._walk_chains(placed, findings)
