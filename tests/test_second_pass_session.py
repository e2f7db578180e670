"""The second pass: confirm or dispute a decided row, journaled like a decision (undo, recovery), saved in
Second Review columns (workbook, and the hidden reviewed copy of a validator CSV), counted by stats."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from phi_review.core.common.errors import PhiReviewError
from phi_review.core.report.model import DEFAULT_ACTIONS
from phi_review.core.report.reader import read_report
from phi_review.core.review.journal import journal_path
from phi_review.core.review.session import ReviewSession
from phi_review.core.review.stats import compute_stats
from phi_review.sample_reports.build_demo import build_demo
from phi_review.tui.cli import main

NO_ISSUE, DELETE, METADATA = DEFAULT_ACTIONS[0], DEFAULT_ACTIONS[1], DEFAULT_ACTIONS[2]


@pytest.fixture()
def decided(tmp_path: Path) -> Path:
    """The demo with rows 0..3 decided by ann (0, 1: No Issue; 2, 3: Deletion), saved."""
    report = build_demo(tmp_path / "demo")
    with ReviewSession.open(report, reviewer="ann") as session:
        session.decide([0, 1], NO_ISSUE)
        session.decide([2, 3], DELETE)
        session.save()
    return report


def _lines(report: Path) -> list[dict]:
    return [json.loads(line) for line in journal_path(report).read_text().splitlines() if line.strip()]


def test_confirm_and_dispute_are_saved_in_three_columns_and_counted(decided: Path) -> None:
    with ReviewSession.open(decided, reviewer="bob") as session:
        assert session.second_review([0], NO_ISSUE) == [0]
        assert session.second_review([2], NO_ISSUE, note="only a scanner name") == [2]
        assert session.second_review([0], NO_ISSUE) == []  # already confirmed: nothing to change
        session.save()
    report = read_report(decided)
    assert report.headers[-3:] == ["Second Review", "Second Reviewer", "Second Reviewed At"]
    rows = report.findings
    assert (rows[0].action, rows[0].second_review, rows[0].second_reviewer) == (NO_ISSUE, NO_ISSUE, "bob")
    assert rows[0].second_reviewed_at.endswith("Z")
    assert (rows[2].action, rows[2].second_review) == (DELETE, NO_ISSUE)
    assert rows[2].note == "Second review (bob): only a scanner name"
    assert rows[1].second_review == "" and rows[5].second_review == ""
    second = compute_stats(report)["second_pass"]
    assert (second["reviewed"], second["agreed"], second["disputed"], second["agreement"]) == (2, 1, 1, 0.5)
    # pairs (NI, NI), (DEL, NI): po 0.5, pe (0.5*1 + 0.5*0) = 0.5 -> kappa 0
    assert second["kappa"] == 0.0
    assert _lines(decided)[-2]["kind"] == "second"


def test_refusals_change_nothing(decided: Path) -> None:
    before = journal_path(decided).read_bytes()
    with ReviewSession.open(decided, reviewer="bob") as session:
        with pytest.raises(PhiReviewError, match="needs a note"):
            session.second_review([0, 2], NO_ISSUE)  # row 2 disputes without a note: neither row is recorded
        with pytest.raises(PhiReviewError, match="no first decision"):
            session.second_review([6], NO_ISSUE)
        with pytest.raises(PhiReviewError, match="not one of"):
            session.second_review([0], "Whatever")
        assert session.findings[0].second_review == ""
    with ReviewSession.open(decided, reviewer=" ANN ") as session:
        with pytest.raises(PhiReviewError, match="same reviewer"):
            session.second_review([0], NO_ISSUE)
    assert journal_path(decided).read_bytes() == before


def test_the_first_reviewer_may_with_a_reason_which_is_recorded(decided: Path) -> None:
    with ReviewSession.open(decided, reviewer="ann") as session:
        session.second_review([1], NO_ISSUE, allow_same_reviewer="the site has one reviewer")
        session.save()
    step = [line for line in _lines(decided) if line["kind"] == "second"][-1]
    assert step["same_reviewer_reason"] == "the site has one reviewer"
    row = read_report(decided).findings[1]
    assert row.second_reviewer == "ann" and "the site has one reviewer" in row.note


def test_undo_and_redo(decided: Path) -> None:
    with ReviewSession.open(decided, reviewer="bob") as session:
        session.second_review([2, 3], METADATA, note="tags only")
        assert session.undo() == [2, 3]
        assert [session.findings[i].second_review for i in (2, 3)] == ["", ""]
        assert session.findings[2].note == ""
        assert session.redo() == [2, 3]
        assert session.findings[3].second_review == METADATA
        assert session.undo() == [2, 3]
        session.save()
    assert read_report(decided).findings[2].second_review == ""


@pytest.mark.parametrize("confirm", [True, False], ids=["confirm", "dispute"])
def test_an_unsaved_second_review_is_recovered(decided: Path, confirm: bool) -> None:
    session = ReviewSession.open(decided, reviewer="bob")
    if confirm:  # action and note unchanged: only the second-pass fields tell the step is not in the file
        session.second_review([0], NO_ISSUE)
    else:
        session.second_review([0], DELETE, note="a name in the corner")
    session._journal.close()  # a kill: no save, the lock file left as it was  # type: ignore[union-attr]
    session._lock.release()  # type: ignore[union-attr]
    with ReviewSession.open(decided, reviewer="bob") as again:
        assert again.recovered == 1
        assert again.findings[0].second_review == (NO_ISSUE if confirm else DELETE)
        assert again.findings[0].second_reviewer == "bob"
        assert again.undo() == [0]  # the recovered step is an undo step like a decision
        assert again.findings[0].second_review == ""
        assert again.redo() == [0]
        again.save()
    assert read_report(decided).findings[0].second_review == (NO_ISSUE if confirm else DELETE)


def test_a_journal_without_second_pass_keeps_its_format(decided: Path) -> None:
    for line in _lines(decided):
        text = json.dumps(line)
        assert "second_" not in text


def _csv(rows: list[list[str]]) -> bytes:
    out = io.StringIO(newline="")
    csv.writer(out).writerows(rows)
    return out.getvalue().encode("utf-8")


def test_a_validator_csv_keeps_its_bytes_and_the_reviewed_copy_gets_the_columns(tmp_path: Path) -> None:
    folder = tmp_path / "COLL"
    folder.mkdir()
    path = folder / "SiteA.csv"
    header = ["Site ID", "Event ID", "File Name", "Profile", "Score", "Findings", "Details"]
    body = [["SiteA", "E1", f"f{i}.dcm", "CT", "1.0", "\U0001f648 Possible PHI/PII in Header",
             f"(0010,0010) (PatientName), \u00abNAME{i}\u00bb, x"] for i in range(3)]
    original = _csv([header, *body])
    path.write_bytes(original)
    with ReviewSession.open(path, reviewer="ann") as session:
        session.decide([0, 1], NO_ISSUE)
        session.save()
    with ReviewSession.open(path, reviewer="bob") as session:
        session.second_review([0], NO_ISSUE)
        session.second_review([1], DELETE, note="date in text")
        session.save()
    assert path.read_bytes() == original
    copy = folder / ".SiteA.csv.reviewed"
    rows = list(csv.reader(io.StringIO(copy.read_text(encoding="utf-8"))))
    assert rows[0][-3:] == ["Second Review", "Second Reviewer", "Second Reviewed At"]
    assert rows[1][-3:-1] == [NO_ISSUE, "bob"] and rows[2][-3] == DELETE
    assert "bob" not in rows[3]  # an undecided row keeps its own bytes
    data = compute_stats(read_report(path))["second_pass"]
    assert (data["reviewed"], data["agreed"], data["disputed"]) == (2, 1, 1)


def test_cli(decided: Path, capsys: pytest.CaptureFixture[str]) -> None:
    row = str(read_report(decided).findings[2].row)
    assert main(["decide", "--second-pass", str(decided), row, "1", "--reviewer", "bob"]) == 2
    assert "needs a note" in capsys.readouterr().err
    assert main(["decide", "--second-pass", str(decided), row, "1", "--reviewer", "bob", "--note", "fine"]) == 0
    assert "second review disputes" in capsys.readouterr().out
    assert main(["decide", "--second-pass", str(decided), row, "2", "--reviewer", "cy"]) == 0
    assert "second review confirms" in capsys.readouterr().out
    assert main(["decide", str(decided), row, "2", "--allow-same-reviewer", "x"]) == 2
    assert "--second-pass" in capsys.readouterr().err
    assert main(["stats", str(decided), "--json"]) == 0
    second = json.loads(capsys.readouterr().out)["second_pass"]
    assert (second["reviewed"], second["agreed"]) == (1, 1)
