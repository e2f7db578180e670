"""A big journal is parsed in a thread while the report is read; its parse is used only for the same journal."""

from __future__ import annotations

from pathlib import Path

import pytest

from phi_review.core.review import recovery
from phi_review.core.review.journal import journal_path
from phi_review.core.review.recovery import parse_ahead, plan_recovery
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

    monkeypatch.setattr(recovery, "_AHEAD_FROM", 10**12)  # no thread
    without = reopened()
    started: list[Path] = []
    real = recovery.parse_ahead
    monkeypatch.setattr(recovery, "_AHEAD_FROM", 0)
    monkeypatch.setattr(recovery, "parse_ahead", lambda path: started.append(path) or real(path))
    assert reopened() == without
    assert started == [journal_path(decided)]
