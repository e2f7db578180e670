"""Journal version 2 (one line per step) and version 1 (one line per row) read side by side."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from phi_review.core.review.journal import Change, Journal, journal_path, read_records
from phi_review.core.review.recovery import plan_recovery
from phi_review.core.report.model import Finding

FIELDS = ("action", "note", "reviewer", "reviewed_at", "corrected_copy")
EMPTY = dict.fromkeys(FIELDS, "")


def _decided(action: str, note: str = "") -> dict[str, str]:
    return {**EMPTY, "action": action, "note": note, "reviewer": "ann", "reviewed_at": "2025-01-02T03:04:05Z"}


def _findings(n: int = 4) -> list[Finding]:
    return [Finding(row=i + 2, file=f"f{i}.dcm") for i in range(n)]


@pytest.fixture
def report(tmp_path: Path) -> Path:
    path = tmp_path / "study.csv"
    path.write_text("File Name,Validation Issue\na.dcm,x\n", encoding="utf-8")
    return path


def _v1(seq: int, row: int, file: str, old: dict, new: dict, step: int | None = None, n: int = 1,
        kind: str = "decide") -> bytes:
    """A record as phi-review wrote it before version 2 (one line per row)."""
    return json.dumps({"kind": kind, "seq": seq, "step": seq if step is None else step, "n": n, "row": row,
                       "file": file, "sheet": "", "old": old, "new": new, "reviewer": "ann",
                       "time": "2025-01-02T03:04:05Z", "v": 1}, separators=(",", ":")).encode() + b"\n"


def test_a_step_is_one_line_that_round_trips(report: Path) -> None:
    journal = Journal.open(report)
    changes = [Change(0, 2, "f0.dcm", EMPTY, _decided("A"), source="s.csv", path="/d/f0.dcm"),
               Change(1, 3, "f1.dcm", {**EMPTY, "note": "kept"}, _decided("A", "kept"))]
    assert journal.append_step("decide", changes, "ann", keys=["k0", "k1"]) == 1
    assert journal.append_step("undo", changes[:1], "ann", target=1) == 3, "each row keeps a seq"
    journal.close()
    lines = journal_path(report).read_bytes().splitlines()
    assert len(lines) == 2
    line = json.loads(lines[0])
    assert line["v"] == 2 and line["n"] == 2 and len(line["rows"]) == 2
    assert line["new"]["action"] == "A" and line["rows"][0]["old"] == {}, "shared once; blank values are {}"
    assert line["rows"][1]["new"] == {"note": "kept"}, "a row names only what differs from the step's values"
    records, damaged = read_records(journal_path(report))
    assert damaged == 0
    assert [(r["seq"], r["step"], r["kind"]) for r in records] == [(1, 1, "decide"), (2, 1, "decide"), (3, 3, "undo")]
    assert [r["new"] for r in records[:2]] == [_decided("A"), _decided("A", "kept")]
    assert records[1]["old"] == {**EMPTY, "note": "kept"} and records[0]["old"] == EMPTY
    assert (records[0]["source"], records[0]["path"], records[0]["key"]) == ("s.csv", "/d/f0.dcm", "k0")
    assert "source" not in records[1] and records[2]["target"] == 1
    assert Journal.open(report).next_seq == 4, "the next seq follows the last row of the last step"


def test_a_step_is_replayed_whole(report: Path) -> None:
    journal = Journal.open(report)
    journal.append_step("decide", [Change(i, i + 2, f"f{i}.dcm", EMPTY, _decided("A")) for i in range(3)], "ann")
    journal.close()
    findings = _findings()
    findings[1].action = "Z"  # changed outside phi-review: that row conflicts, the others apply
    plan = plan_recovery(journal_path(report), findings, "sha")
    assert plan.changed == {0, 2} and plan.conflicts == 1
    assert [(c.index, c.pending) for step in plan.steps for c in step.changes] == [(0, True), (2, True)]
    assert plan.final[0] == _decided("A") and plan.steps[0].step == 1


def test_a_torn_step_line_is_dropped_whole(report: Path) -> None:
    journal = Journal.open(report)
    journal.append_step("decide", [Change(0, 2, "f0.dcm", EMPTY, _decided("A"))], "ann")
    journal.append_step("decide", [Change(i, i + 2, f"f{i}.dcm", _decided("A") if i == 0 else EMPTY,
                                          _decided("B")) for i in range(3)], "ann")
    journal.close()
    data = journal_path(report).read_bytes()
    journal_path(report).write_bytes(data[: len(data) - 40])  # killed while the second step was written
    plan = plan_recovery(journal_path(report), _findings(), "sha")
    assert plan.changed == {0} and plan.final[0]["action"] == "A" and plan.damaged == 0
    # The next open ends the fragment with a newline: it stays, counted as damaged, never half applied.
    reopened = Journal.open(report)
    reopened.append_step("note", [Change(3, 5, "f3.dcm", EMPTY, {**EMPTY, "note": "n"})], "ann")
    reopened.close()
    plan = plan_recovery(journal_path(report), _findings(), "sha")
    assert plan.changed == {0, 3} and plan.damaged == 1
    assert [f["action"] for f in plan.final.values()] == ["A", ""]


def test_version_1_journals_are_still_read_and_mix_with_version_2(report: Path) -> None:
    b_on_0 = _v1(2, 2, "f0.dcm", _decided("A"), _decided("B"))
    journal_path(report).write_bytes(
        _v1(1, 2, "f0.dcm", EMPTY, _decided("A")) + b_on_0
        # a version-1 step of two rows
        + _v1(3, 3, "f1.dcm", EMPTY, _decided("C"), step=3, n=2) + _v1(4, 4, "f2.dcm", EMPTY, _decided("C"), step=3, n=2)
    )
    journal = Journal.open(report)
    assert journal.next_seq == 5
    journal.append_step("note", [Change(0, 2, "f0.dcm", _decided("B"), _decided("B", "later"))], "ann")
    journal.close()
    plan = plan_recovery(journal_path(report), _findings(), "sha")
    assert plan.final == {0: _decided("B", "later"), 1: _decided("C"), 2: _decided("C")}
    assert [(s.kind, s.step, len(s.changes)) for s in plan.steps] == [
        ("decide", 1, 1), ("decide", 2, 1), ("decide", 3, 2), ("note", 5, 1)], "a version-1 step stays one step"
    assert [r["seq"] for r in read_records(journal_path(report))[0]] == [1, 2, 3, 4, 5]


def test_a_torn_version_1_step_is_still_dropped_whole(report: Path) -> None:
    journal_path(report).write_bytes(_v1(1, 2, "f0.dcm", EMPTY, _decided("A"))
                                     + _v1(2, 3, "f1.dcm", EMPTY, _decided("C"), step=2, n=2))
    plan = plan_recovery(journal_path(report), _findings(), "sha")
    assert plan.changed == {0}, "one of the step's two rows: the step was cut short"


def test_rows_that_moved_or_left_are_found_or_carried(report: Path) -> None:
    journal = Journal.open(report)
    changes = [Change(0, 2, "f0.dcm", EMPTY, _decided("A")), Change(1, 3, "gone.dcm", EMPTY, _decided("A")),
               Change(2, 4, "f2.dcm", EMPTY, _decided("A"))]
    journal.append_step("decide", changes, "ann")
    journal.append_saved("sha-before", 1, [], "ann", carry=[2])  # a save that could not place seq 2
    journal.close()
    findings = [Finding(row=2, file="f2.dcm"), Finding(row=3, file="f0.dcm"), Finding(row=4, file="gone.dcm")]
    plan = plan_recovery(journal_path(report), findings, "sha-after")
    # After the save only its carried seq is replayed: gone.dcm, now on row 4 (the rows were re-sorted).
    assert plan.changed == {2} and plan.moved == 1 and not plan.unplaced
    findings = _findings(1)
    plan = plan_recovery(journal_path(report), findings, "sha-after")
    assert plan.unplaced == [("gone.dcm", "its row is not in the report any more")] and plan.carry == [2]


def test_same_named_rows_are_told_apart_by_their_key(report: Path) -> None:
    findings = [Finding(row=2, file="a.dcm", issue="x"), Finding(row=3, file="a.dcm", issue="y")]
    from phi_review.core.review.recovery import row_key

    journal = Journal.open(report)
    journal.append_step("decide", [Change(0, 2, "a.dcm", EMPTY, _decided("A"))], "ann", keys=[row_key(findings[0])])
    journal.close()
    findings.reverse()  # re-sorted: row 2 now holds the other finding of a.dcm
    findings[0].row, findings[1].row = 2, 3
    plan = plan_recovery(journal_path(report), findings, "sha")
    assert plan.changed == {1} and plan.moved == 1


def test_damaged_step_lines_are_counted_not_applied(report: Path) -> None:
    good = Journal.open(report)
    good.append_step("decide", [Change(0, 2, "f0.dcm", EMPTY, _decided("A"))], "ann")
    good.close()
    with open(journal_path(report), "ab") as handle:
        handle.write(b'{"kind":"decide","step":2,"n":3,"sheet":"","new":{},"rows":[{"row":3,"file":"f1.dcm"}]}\n')
        handle.write(b'{"kind":"decide","step":5,"n":2,"sheet":"","new":{"action":5},'
                     b'"rows":[7,{"row":4,"file":"f2.dcm","old":null}]}\n')
    plan = plan_recovery(journal_path(report), _findings(), "sha")
    assert plan.changed == {0}
    assert plan.damaged == 3, "a count that does not match its rows; a row that is not an object; old not an object"
    assert read_records(journal_path(report))[1] == 2


def test_a_bad_note_in_a_step_line_is_not_placed(report: Path) -> None:
    journal = Journal.open(report)
    journal.append_step("note", [Change(0, 2, "f0.dcm", EMPTY, {**EMPTY, "note": "x\x07y"}),
                                 Change(1, 3, "f1.dcm", EMPTY, {**EMPTY, "note": "fine"})], "ann")
    journal.close()
    plan = plan_recovery(journal_path(report), _findings(), "sha")
    assert plan.changed == {1}
    assert len(plan.unplaced) == 1 and plan.unplaced[0][0] == "f0.dcm" and "control character" in plan.unplaced[0][1]
