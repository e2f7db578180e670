"""ReviewSession with the real report reader and writer, on .csv and .xlsx reports."""

from __future__ import annotations

import csv
import os
import stat
from pathlib import Path

import pytest

from phi_review.core.common.errors import LockedError, PhiReviewError, ReportError
from phi_review.core.review.journal import journal_path, read_records
from phi_review.core.report.model import DEFAULT_ACTIONS, ColumnMap, Finding, Fingerprint, Report
from phi_review.core.review.session import ReviewSession

HEADERS = ["File Name", "Validation Issue", "Detected Value", "Action", "Comments"]
PIXELS = "Possible Burned-in PHI/PII (Pixels)"
HEADER = "Possible PHI/PII in Header"
MISSING = "Missing Required Tags"
NO_ISSUE, DELETE, METADATA = DEFAULT_ACTIONS[0], DEFAULT_ACTIONS[1], DEFAULT_ACTIONS[2]


def rows_for_test() -> list[list[str]]:
    """Ten findings; rows 2..11. Two groups repeat a value with different case/spacing."""
    return [
        ["study1/img001.dcm", HEADER, "SMITH^JOHN", "", ""],
        ["study1/img002.dcm", HEADER, " smith^john ", "", ""],
        ["study1/img003.dcm", HEADER, "Smith^John", "", ""],
        ["study1/img004.dcm", PIXELS, "", "", ""],
        ["study2/img001.dcm", PIXELS, "", NO_ISSUE, "checked earlier"],
        ["study2/img002.dcm", MISSING, "PatientID", "", ""],
        ["study2/img003.dcm", HEADER, "General Hospital", "", ""],
        ["study2/img004.dcm", HEADER, "GENERAL HOSPITAL", "", ""],
        ["study3/img001.dcm", MISSING, "StudyDate", "", ""],
        ["study3/img002.dcm", PIXELS, "", "", ""],
    ]


def write_report(path: Path, rows: list[list[str]] | None = None) -> Path:
    """A report as the informatics center sends it: .csv, or .xlsx built with openpyxl."""
    rows = rows_for_test() if rows is None else rows
    if path.suffix == ".csv":
        with open(path, "w", encoding="utf-8", newline="") as handle:
            csv.writer(handle).writerows([HEADERS, *rows])
    else:
        from openpyxl import Workbook

        workbook = Workbook()
        sheet = workbook.active
        sheet.title = "Findings"
        sheet.append(HEADERS)
        for row in rows:
            sheet.append([cell if cell else None for cell in row])
        workbook.save(path)
    return path


@pytest.fixture(params=["csv", "xlsx"])
def report(request, tmp_path: Path) -> Path:
    return write_report(tmp_path / f"reconciliation.{request.param}")


@pytest.fixture
def csv_report(tmp_path: Path) -> Path:
    return write_report(tmp_path / "reconciliation.csv")


@pytest.fixture
def session(csv_report: Path):
    opened = ReviewSession.open(csv_report, reviewer="ann")
    yield opened
    opened.close()


def _index(session: ReviewSession, row: int) -> int:
    return next(i for i, f in enumerate(session.findings) if f.row == row)


# ----------------------------------------------------------------------------- basics


def test_open_reads_findings_and_existing_decisions(report: Path) -> None:
    with ReviewSession.open(report, reviewer="ann") as session:
        assert len(session.findings) == 10
        assert session.actions == list(DEFAULT_ACTIONS)
        assert session.progress() == (1, 10)
        assert session.unsaved == 0 and session.recovered == 0
        assert not session.read_only
        assert session.action_by_position(1) == NO_ISSUE
        with pytest.raises(PhiReviewError):
            session.action_by_position(6)
        with pytest.raises(PhiReviewError):
            session.action_by_position(0)


def test_reviewer_defaults_to_login_name(csv_report: Path) -> None:
    import getpass

    with ReviewSession.open(csv_report) as session:
        assert session.reviewer == getpass.getuser()


def test_decide_sets_reviewer_and_time_and_is_one_undo_step(session: ReviewSession) -> None:
    changed = session.decide([0, 1, 2, 4], DELETE)
    assert changed == [0, 1, 2, 4]
    for index in changed:
        finding = session.findings[index]
        assert finding.action == DELETE and finding.reviewer == "ann"
        assert len(finding.reviewed_at) == 20 and finding.reviewed_at.endswith("Z")  # ISO, seconds
    assert session.progress() == (4, 10)
    assert session.unsaved == 4
    assert session.decide([0], DELETE) == [], "same action again changes nothing"

    assert sorted(session.undo()) == [0, 1, 2, 4]
    assert [session.findings[i].action for i in (0, 1, 2)] == ["", "", ""]
    assert session.findings[4].action == NO_ISSUE and session.findings[4].note == "checked earlier"
    assert session.findings[0].reviewer == "" and session.findings[0].reviewed_at == ""
    assert session.unsaved == 0, "undone back to the file's state"
    assert session.undo() == []
    assert sorted(session.redo()) == [0, 1, 2, 4]
    assert session.findings[1].action == DELETE
    assert session.redo() == []


def test_decide_refuses_unknown_action_and_index(session: ReviewSession) -> None:
    with pytest.raises(PhiReviewError):
        session.decide([0], "Looks fine")
    with pytest.raises(PhiReviewError):
        session.decide([99], NO_ISSUE)
    assert session.unsaved == 0


def test_new_decision_clears_redo(session: ReviewSession) -> None:
    session.decide([0], DELETE)
    session.undo()
    session.decide([1], METADATA)
    assert session.redo() == []
    assert session.findings[0].action == ""


def test_every_change_is_in_the_journal_before_returning(session: ReviewSession, csv_report: Path) -> None:
    session.decide([0, 1], NO_ISSUE)
    session.set_note(0, "name is the operator's")
    session.undo()
    session.redo()
    records, _ = read_records(journal_path(csv_report))
    assert [r["kind"] for r in records] == ["decide", "decide", "note", "undo", "redo"]
    note = records[2]
    assert note["old"]["note"] == "" and note["new"]["note"] == "name is the operator's"
    assert records[3]["target"] == records[2]["step"] == records[4]["target"]


def test_notes_are_undoable_and_checked(session: ReviewSession) -> None:
    session.set_note(3, "=1+1")
    assert session.findings[3].note == "=1+1"
    assert session.unsaved == 1
    session.undo()
    assert session.findings[3].note == ""
    with pytest.raises(PhiReviewError, match="control character"):
        session.set_note(3, "bell\x07")
    session.set_note(3, "two\nlines\tok")


def test_marks(session: ReviewSession) -> None:
    assert session.toggle_mark(2) is True
    assert session.toggle_mark(5) is True
    assert session.marks == {2, 5}
    assert session.toggle_mark(2) is False
    assert session.filter("is:marked") == [5]
    session.clear_marks()
    assert session.marks == set()


def test_filter_terms(session: ReviewSession) -> None:
    session.decide([0], DELETE)
    session.toggle_mark(3)
    everyone = list(range(10))
    assert session.filter("") == everyone
    assert session.filter("is:reviewed") == [0, 4]
    assert session.filter("is:unreviewed") == [1, 2, 3, 5, 6, 7, 8, 9]
    assert session.filter("issue:pixels") == [3, 4, 9]
    assert session.filter("issue:header") == [0, 1, 2, 6, 7]
    assert session.filter("issue:missing") == [5, 8]
    assert session.filter("action:none") == session.filter("is:unreviewed")
    assert session.filter("action:deletion") == [0]
    assert session.filter("action:no") == [4]  # substring of "No Issue / False Positive"
    assert session.filter("smith") == [0, 1, 2]
    assert session.filter("SMITH is:unreviewed") == [1, 2]
    assert session.filter('"general hospital"') == [6, 7]
    assert session.filter("general hospital") == [6, 7]
    assert session.filter('"hospital general"') == []
    assert session.filter("study2 issue:header") == [6, 7]
    assert session.filter("checked") == [4], "notes are searched"
    assert session.filter("is:marked issue:pixels") == [3]
    assert session.filter("is:nonsense") == [], "unknown terms are plain text, not an error"
    session.set_note(9, "burned TEXT in corner")
    assert session.filter("corner") == [9], "the search cache follows changes"
    session.undo()
    assert session.filter("corner") == []


def test_filter_is_fast_enough_for_100k_findings() -> None:
    """Not a timing assert: the cache is built once and reused across queries."""
    findings = [
        Finding(row=i + 2, file=f"s{i // 500}/img{i:06d}.dcm", issue=(PIXELS, HEADER, MISSING)[i % 3],
                value=f"VALUE{i % 97}")
        for i in range(100_000)
    ]
    fingerprint = Fingerprint(0, 0, "")
    report = Report(Path("/nonexistent/r.csv"), "csv", "", 1, HEADERS, ColumnMap(file=0), list(DEFAULT_ACTIONS),
                    findings, fingerprint)
    session = ReviewSession(report, reviewer="ann", read_only=True)
    assert len(session.filter("issue:pixels value1")) > 0
    cache = session._column("file")
    assert len(session.filter("img000123")) == 1
    assert session._column("file") is cache


def test_groups_compare_values_trimmed_and_case_insensitively(session: ReviewSession) -> None:
    session.decide([0], NO_ISSUE)
    groups = session.groups()
    sizes = [len(g.indexes) for g in groups]
    assert sizes == sorted(sizes, reverse=True)
    smith = next(g for g in groups if g.value.casefold() == "smith^john")
    assert smith.issue == HEADER and smith.indexes == [0, 1, 2] and smith.reviewed == 1
    hospital = next(g for g in groups if g.value.casefold() == "general hospital")
    assert hospital.indexes == [6, 7]
    pixels = next(g for g in groups if g.issue == PIXELS and g.value == "")
    assert pixels.indexes == [3, 4, 9] and pixels.reviewed == 1
    assert groups[0] is smith or groups[0] is pixels


def test_next_unreviewed_wraps_both_ways(session: ReviewSession) -> None:
    order = [4, 0, 9, 5]  # a filtered/sorted view; 4 is reviewed
    assert session.next_unreviewed(order, 0) == 1
    session.decide([0, 9], NO_ISSUE)
    assert session.next_unreviewed(order, 0) == 3
    assert session.next_unreviewed(order, 3) == 3, "wraps round to the row itself"
    session.decide([5], NO_ISSUE)
    assert session.next_unreviewed(order, 1) is None
    session.undo()
    session.undo()
    assert session.next_unreviewed(order, 3, step=-1) == 2
    assert session.next_unreviewed(order, 2, step=1) == 3
    assert session.next_unreviewed([], 0) is None


# ----------------------------------------------------------------------------- saving


def test_save_then_reopen_shows_the_state(report: Path) -> None:
    with ReviewSession.open(report, reviewer="ann") as session:
        session.decide([0, 1, 2], DELETE)
        session.set_note(0, "@SUM(A1)")
        session.decide([3], METADATA)
        session.undo()  # row 5 is back to unreviewed: not written
        assert session.unsaved == 3
        warnings = session.save()
        assert isinstance(warnings, list)
        assert session.unsaved == 0
        assert session.save() == []
    records, _ = read_records(journal_path(report))
    assert records[-1]["kind"] == "saved" and len(records[-1]["sha256"]) == 64
    assert [r["kind"] for r in records[:-1]] == ["decide"] * 3 + ["note", "decide", "undo"], "audit kept"

    with ReviewSession.open(report, reviewer="bob") as again:
        assert again.recovered == 0 and again.unsaved == 0
        assert [f.action for f in again.findings[:4]] == [DELETE, DELETE, DELETE, ""]
        assert again.findings[0].note == "@SUM(A1)"
        assert again.findings[0].reviewer == "ann"
        assert again.findings[4].note == "checked earlier"
        assert again.progress() == (4, 10)


def test_unsaved_decisions_are_recovered_with_undo(report: Path) -> None:
    first = ReviewSession.open(report, reviewer="ann")
    first.decide([0, 1], DELETE)
    first.set_note(5, "tag really missing")
    first.decide([6], NO_ISSUE)
    first.undo()
    first.close()  # no save: as after a crash

    with ReviewSession.open(report, reviewer="ann") as second:
        assert second.recovered == 3
        assert second.unsaved == 3
        assert any("Recovered 3" in message for message in second.messages)
        assert [second.findings[i].action for i in (0, 1, 6)] == [DELETE, DELETE, ""]
        assert second.findings[5].note == "tag really missing"
        assert second.redo() == [6], "undo/redo history rebuilt from the journal"
        assert second.undo() == [6]
        assert second.undo() == [5]
        assert second.findings[5].note == ""
        second.save()

    with ReviewSession.open(report, reviewer="ann") as third:
        assert third.recovered == 0
        assert [third.findings[i].action for i in (0, 1, 6)] == [DELETE, DELETE, ""]
        assert third.findings[5].note == ""


def test_save_failure_keeps_decisions_in_the_journal(report: Path) -> None:
    session = ReviewSession.open(report, reviewer="ann")
    session.decide([2], METADATA)
    # Someone else changes the report on disk meanwhile (rewritten, so size/hash differ).
    write_report(report, rows_for_test() + [["study9/extra.dcm", PIXELS, "", "", ""]])
    with pytest.raises(ReportError) as raised:
        session.save()
    message = str(raised.value)
    assert "journal" in message and "\n" not in message
    assert session.unsaved == 1
    session.close()

    with ReviewSession.open(report, reviewer="ann") as again:
        assert len(again.findings) == 11
        assert again.findings[2].action == METADATA, "recovered onto the changed report"
        assert again.recovered == 1


def test_recovery_skips_records_that_no_longer_match(csv_report: Path) -> None:
    first = ReviewSession.open(csv_report, reviewer="ann")
    first.decide([0], DELETE)
    first.decide([1], DELETE)
    first.close()
    rows = rows_for_test()
    rows[0][3] = METADATA  # row 2 decided elsewhere meanwhile
    write_report(csv_report, rows)
    with ReviewSession.open(csv_report, reviewer="ann") as again:
        assert again.findings[0].action == METADATA
        assert again.findings[1].action == DELETE
        assert again.recovered == 1
        assert any("no longer match" in message for message in again.messages)


def test_bulk_replay_keeps_progress_dirt_and_undo_as_the_session_left_them(report: Path) -> None:
    """Recovery sets each row once, in bulk: counts, unsaved rows, baselines and undo match the crashed session."""
    first = ReviewSession.open(report, reviewer="ann")
    first.decide([0], DELETE)  # one-row steps, as keys decide
    first.decide([1], DELETE)
    first.decide([0, 2, 3], METADATA)  # a step of three rows, one of them decided a step before
    first.decide([4], "")  # clears a decision the file holds
    first.set_note(5, "look again")
    first.undo()  # the note
    expected = ([f.action for f in first.findings], [f.note for f in first.findings], first.progress(),
                first.unsaved)
    first.close()  # no save: a crash
    with ReviewSession.open(report, reviewer="ann") as again:
        assert ([f.action for f in again.findings], [f.note for f in again.findings], again.progress(),
                again.unsaved) == expected
        assert again.progress()[0] == 4 and again.unsaved == 5
        assert again.redo() == [5] and again.findings[5].note == "look again"
        assert again.undo() == [5]
        assert sorted(again.undo()) == [4]
        assert sorted(again.undo()) == [0, 2, 3] and again.findings[0].action == DELETE
        assert again.unsaved == 2 and again.progress()[0] == 3
        again.save()
    with ReviewSession.open(report, reviewer="ann") as saved:
        assert [f.action for f in saved.findings][:5] == [DELETE, DELETE, "", "", NO_ISSUE]
        assert saved.recovered == 0 and saved.unsaved == 0


def test_journal_has_the_reports_permission_bits(csv_report: Path) -> None:
    os.chmod(csv_report, 0o600)
    with ReviewSession.open(csv_report, reviewer="ann") as session:
        session.decide([0], NO_ISSUE)
    assert stat.S_IMODE(journal_path(csv_report).stat().st_mode) == 0o600


# ----------------------------------------------------------------------------- read-only


def test_second_session_is_read_only_or_refused(csv_report: Path) -> None:
    with ReviewSession.open(csv_report, reviewer="ann") as first:
        first.decide([0], DELETE)
        second = ReviewSession.open(csv_report, reviewer="bob")
        try:
            assert second.read_only
            assert "another phi-review session" in second.messages[0]
            assert f"pid {os.getpid()}" in second.messages[0]
            assert "read-only" in second.messages[0]
            assert second.journal_pending == 1
            with pytest.raises(PhiReviewError, match="read-only"):
                second.decide([1], DELETE)
            with pytest.raises(PhiReviewError, match="read-only"):
                second.set_note(1, "x")
            with pytest.raises(PhiReviewError, match="read-only"):
                second.save()
            assert second.undo() == [] and second.unsaved == 0
        finally:
            second.close()
        with pytest.raises(LockedError, match="another phi-review session"):
            ReviewSession.open(csv_report, allow_read_only_fallback=False)
    with ReviewSession.open(csv_report, allow_read_only_fallback=False) as third:
        assert not third.read_only and third.recovered == 1


def test_asked_read_only_takes_no_lock_and_writes_nothing(csv_report: Path) -> None:
    with ReviewSession.open(csv_report, read_only=True) as viewer:
        assert viewer.read_only
        with ReviewSession.open(csv_report, allow_read_only_fallback=False) as writer:
            assert not writer.read_only
    assert not journal_path(csv_report).exists() or read_records(journal_path(csv_report))[0] == []


def test_closed_session_refuses_changes(csv_report: Path) -> None:
    session = ReviewSession.open(csv_report, reviewer="ann")
    session.close()
    session.close()
    with pytest.raises(PhiReviewError, match="closed"):
        session.decide([0], NO_ISSUE)


def test_filter_columns_agree_with_a_per_row_search() -> None:
    """The lowercased column strings find exactly the rows a per-row ``in`` finds, even for odd cells."""
    import random

    rng = random.Random(7)
    alphabet = ["a", "B", "ç", "İ", "ß", "\x01", " ", "x", "1", "^", ":"]
    findings = []
    for i in range(400):
        text = lambda: "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 6)))  # noqa: E731
        file = text()
        cells = [file, rng.choice([None, 3.5, 7, text()]), text()][: rng.randint(1, 3)]  # ragged, numbers, None
        findings.append(Finding(row=i + 2, file=file, issue=text(), value=text(), tag=text(), note=text(),
                                cells=cells))
    report = Report(Path("/nonexistent/r.csv"), "csv", "", 1, HEADERS, ColumnMap(file=0), list(DEFAULT_ACTIONS),
                    findings, Fingerprint(0, 0, ""))
    session = ReviewSession(report, reviewer="ann", read_only=True)

    def reference(term: str, key: str = "") -> list[int]:
        out = []
        for i, f in enumerate(findings):
            if key:
                hay = [getattr(f, key)]
            else:
                hay = [f.file, f.value, f.issue, f.tag, f.note, f.action,
                       *["" if c is None else str(c) for c in f.cells]]
            if any(term in h.lower() for h in hay):
                out.append(i)
        return out

    for term in ["a", "b", "i̇", "ss", "ß", "x1", "^", "ç b", "zzz", "b:a", "3.5", "7"]:
        assert session.filter(f'"{term}"' if " " in term else term) == reference(term), term
        for key in ("file", "value", "tag", "note", "issue"):
            assert session.filter(f'{key}:"{term}"') == reference(term, key), (key, term)
