"""Random second-pass sessions (confirm, dispute, undo, redo, save) killed at a random point: the reopened
session shows exactly what the killed one showed, and saving it writes that."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from phi_review.core.report.model import DEFAULT_ACTIONS
from phi_review.core.report.reader import read_report
from phi_review.core.review.journal import values_of
from phi_review.core.review.session import ReviewSession
from phi_review.sample_reports.build_demo import build_demo


@pytest.mark.parametrize("seed", range(6))
def test_random_second_pass_survives_a_kill(tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    report = build_demo(tmp_path / "demo")
    with ReviewSession.open(report, reviewer="ann") as session:
        for index in range(12):
            session.decide([index], rng.choice(DEFAULT_ACTIONS))
        session.save()
    session = ReviewSession.open(report, reviewer="bob")
    for _ in range(rng.randint(5, 25)):
        roll = rng.random()
        if roll < 0.55:
            rows = rng.sample(range(12), rng.randint(1, 3))
            action = rng.choice(DEFAULT_ACTIONS)
            note = None if all(session.findings[i].action == action for i in rows) and rng.random() < 0.7 \
                else f"why {rng.randint(0, 99)}"
            session.second_review(rows, action, note=note)
        elif roll < 0.7:
            session.decide([rng.randrange(12, 20)], rng.choice(DEFAULT_ACTIONS))  # first decisions go on too
        elif roll < 0.82:
            session.undo()
        elif roll < 0.94:
            session.redo()
        else:
            session.save()
    shown = [values_of(f) for f in session.findings]
    session._journal.close()  # killed: no save  # type: ignore[union-attr]
    session._lock.release()  # type: ignore[union-attr]
    with ReviewSession.open(report, reviewer="bob") as again:
        assert [values_of(f) for f in again.findings] == shown
        again.save()
    assert [values_of(f) for f in read_report(report).findings] == shown


def test_second_pass_through_journal_checkpoints(tmp_path: Path) -> None:
    """Thousands of rows: the journal writes checkpoints (one line holding every changed row's state);
    second-pass values go through them and come back after a kill."""
    from phi_review.sample_reports.make_workbook import build_report_workbook, generate_rows

    report = tmp_path / "big.xlsx"
    build_report_workbook(report, generate_rows(5000))
    session = ReviewSession.open(report, reviewer="ann")
    session.decide(list(range(5000)), DEFAULT_ACTIONS[0])
    session.close()  # unsaved: the next session recovers them
    session = ReviewSession.open(report, reviewer="bob")
    assert session.recovered == 5000
    session.decide(list(range(4000, 5000)), DEFAULT_ACTIONS[2])  # these are bob's own: not second-reviewed
    session.second_review(list(range(0, 3000)), DEFAULT_ACTIONS[0])
    session.second_review(list(range(3000, 3500)), DEFAULT_ACTIONS[1], note="dates in the text")
    shown = [values_of(f) for f in session.findings]
    assert '"checkpoint"' in report.with_name(f".{report.name}.phi-review.jsonl").read_text()
    session._journal.close()  # type: ignore[union-attr]
    session._lock.release()  # type: ignore[union-attr]
    with ReviewSession.open(report, reviewer="bob") as again:
        assert [values_of(f) for f in again.findings] == shown
        again.save()
    saved = read_report(report).findings
    assert [values_of(f) for f in saved] == shown
    assert saved[10].second_review == DEFAULT_ACTIONS[0] and saved[3100].second_review == DEFAULT_ACTIONS[1]
