"""The decision journal and the report lock, without a reader or writer."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from phi_review.core.review import journal as journal_mod
from phi_review.core.common.errors import LockedError
from phi_review.core.review.journal import Change, Journal, journal_path, read_records
from phi_review.core.review.recovery import plan_recovery
from phi_review.core.report.model import Finding
from phi_review.core.report.lock import ReportLock, lock_path

EMPTY = {"action": "", "note": "", "reviewer": "", "reviewed_at": ""}


def _decided(action: str, note: str = "") -> dict[str, str]:
    return {"action": action, "note": note, "reviewer": "ann", "reviewed_at": "2025-01-02T03:04:05Z"}


@pytest.fixture
def report(tmp_path: Path) -> Path:
    path = tmp_path / "study report.csv"
    path.write_text("File Name,Validation Issue\na.dcm,x\n", encoding="utf-8")
    return path


def _findings(n: int = 3) -> list[Finding]:
    return [Finding(row=i + 2, file=f"f{i}.dcm") for i in range(n)]


def test_paths_are_hidden_beside_the_report(report: Path) -> None:
    assert journal_path(report) == report.with_name(".study report.csv.phi-review.jsonl")
    assert lock_path(report) == report.with_name(".study report.csv.phi-review.lock")


def test_step_is_written_and_fsynced_before_append_returns(report: Path, monkeypatch) -> None:
    journal = Journal.open(report)
    seen: list[bytes] = []
    real_fsync = os.fsync

    def spy(fd: int) -> None:
        real_fsync(fd)
        seen.append(journal_path(report).read_bytes())

    monkeypatch.setattr(journal_mod.os, "fsync", spy)
    changes = [Change(0, 2, "f0.dcm", EMPTY, _decided("A")), Change(1, 3, "f1.dcm", EMPTY, _decided("A"))]
    step = journal.append_step("decide", changes, "ann")
    journal.close()
    assert len(seen) == 1, "one fsync per step"
    assert seen[0].count(b"\n") == 1, "one step, one line"
    assert b'"f0.dcm"' in seen[0] and b'"f1.dcm"' in seen[0], "both rows were on disk when fsync ran"
    records, damaged = read_records(journal_path(report))
    assert damaged == 0
    assert [r["seq"] for r in records] == [1, 2]
    assert all(r["step"] == step == 1 for r in records)
    first = records[0]
    assert first["kind"] == "decide" and first["row"] == 2 and first["file"] == "f0.dcm"
    assert first["old"]["action"] == "" and first["new"]["action"] == "A"
    assert first["reviewer"] == "ann" and first["time"].endswith("Z")


def test_seq_continues_across_opens_and_nothing_is_truncated(report: Path) -> None:
    change = Change(0, 2, "f0.dcm", EMPTY, _decided("A"))
    with_one = Journal.open(report)
    with_one.append_step("decide", [change], "ann")
    with_one.append_saved("abc", 10, [2], "ann")
    with_one.close()
    size = journal_path(report).stat().st_size
    again = Journal.open(report)
    step = again.append_step("note", [change], "bob")
    again.close()
    assert step == 3
    assert journal_path(report).stat().st_size > size
    kinds = [r["kind"] for r in read_records(journal_path(report))[0]]
    assert kinds == ["decide", "saved", "note"], "records stay after a save: it is the audit trail"


def test_lock_gets_the_reports_read_bits_and_the_journal_is_private(report: Path) -> None:
    os.chmod(report, 0o640)
    old_umask = os.umask(0o077)  # a strict umask must not narrow them
    try:
        Journal.open(report).close()
        lock = ReportLock.acquire(report)
        lock.release()
    finally:
        os.umask(old_umask)
    assert stat.S_IMODE(journal_path(report).stat().st_mode) == 0o600  # it holds notes: private everywhere
    assert stat.S_IMODE(lock_path(report).stat().st_mode) == 0o640


def test_torn_last_line_is_ignored_and_the_next_record_starts_clean(report: Path) -> None:
    journal = Journal.open(report)
    journal.append_step("decide", [Change(0, 2, "f0.dcm", EMPTY, _decided("A"))], "ann")
    journal.close()
    with open(journal_path(report), "ab") as handle:
        handle.write(b'{"kind":"decide","seq":2,"row":3,"fi')  # killed mid-write
    records, damaged = read_records(journal_path(report))
    assert (len(records), damaged) == (1, 0)

    journal = Journal.open(report)
    journal.append_step("decide", [Change(1, 3, "f1.dcm", EMPTY, _decided("B"))], "ann")
    journal.close()
    records, damaged = read_records(journal_path(report))
    assert [r["new"]["action"] for r in records] == ["A", "B"]
    assert damaged == 1, "the fragment stays, skipped, never truncated"


def _write(report: Path, steps: list[tuple[str, list[Change]]], saved_sha: str | None = None) -> None:
    journal = Journal.open(report)
    for kind, changes in steps:
        if kind == "saved":
            journal.append_saved(saved_sha or "", 1, [], "ann")
        else:
            journal.append_step(kind, changes, "ann")
    journal.close()


def test_recovery_replays_only_after_the_matching_save(report: Path) -> None:
    findings = _findings()
    findings[0].action = "A"  # the file holds the first, saved decision
    a0 = Change(0, 2, "f0.dcm", EMPTY, _decided("A"))
    b1 = Change(1, 3, "f1.dcm", EMPTY, _decided("B"))
    _write(report, [("decide", [a0]), ("saved", []), ("decide", [b1])], saved_sha="sha-on-disk")
    plan = plan_recovery(journal_path(report), findings, "sha-on-disk")
    assert plan.matched_save
    assert [c.row for step in plan.steps for c in step.changes] == [3]
    assert plan.changed == {1} and plan.conflicts == 0


def test_recovery_without_matching_save_checks_old_values(report: Path) -> None:
    findings = _findings()
    findings[0].action = "A"  # already in the file: the save's own record never made it
    findings[2].action = "Z"  # changed outside phi-review: conflicts with the record
    steps = [
        ("decide", [Change(0, 2, "f0.dcm", EMPTY, _decided("A"))]),
        ("decide", [Change(1, 3, "f1.dcm", EMPTY, _decided("B"))]),
        ("decide", [Change(2, 4, "f2.dcm", EMPTY, _decided("C"))]),
        ("note", [Change(1, 3, "f1.dcm", _decided("B"), _decided("B", "see slice 4"))]),
    ]
    _write(report, steps)
    plan = plan_recovery(journal_path(report), findings, "some-other-sha")
    assert not plan.matched_save
    assert plan.conflicts == 1
    assert plan.changed == {1}
    pending = [(c.row, c.new["action"], c.new["note"]) for s in plan.steps for c in s.changes if c.pending]
    assert pending == [(3, "B", ""), (3, "B", "see slice 4")]


def test_recovery_refuses_a_record_whose_file_does_not_match_the_row(report: Path) -> None:
    findings = _findings()
    _write(report, [("decide", [Change(0, 2, "other.dcm", EMPTY, _decided("A"))])])
    plan = plan_recovery(journal_path(report), findings, "x")
    # No row names other.dcm: the record is not placed anywhere, said, and carried to the next save.
    assert plan.conflicts == 0 and not plan.changed
    assert plan.unplaced == [("other.dcm", "its row is not in the report any more")] and plan.carry == [1]


def test_damaged_line_in_the_middle_is_counted(report: Path) -> None:
    journal_path(report).write_bytes(b"not json\n" + json.dumps({"kind": "saved", "sha256": "s"}).encode() + b"\n")
    plan = plan_recovery(journal_path(report), _findings(), "none")
    assert plan.damaged == 0  # before the last save: not replayed, not even parsed
    plan = plan_recovery(journal_path(report), _findings(), "s")
    assert plan.damaged == 0 and not plan.steps
    journal_path(report).write_bytes(b"not json\n")
    assert plan_recovery(journal_path(report), _findings(), "s").damaged == 1


def test_second_lock_is_refused_with_the_holders_pid(report: Path) -> None:
    first = ReportLock.acquire(report)
    try:
        with pytest.raises(LockedError) as raised:
            ReportLock.acquire(report)
        message = str(raised.value)
        assert "another phi-review session" in message and f"pid {os.getpid()}" in message
        assert "\n" not in message
    finally:
        first.release()
    ReportLock.acquire(report).release()  # free again once released


def test_a_save_whose_saved_record_was_lost_replays_nothing(report: Path) -> None:
    """Killed between writing the report and journaling 'saved': the file holds the chain's end."""
    findings = _findings()
    findings[0].action = "B"
    steps = [
        ("decide", [Change(0, 2, "f0.dcm", EMPTY, _decided("A"))]),
        ("decide", [Change(0, 2, "f0.dcm", _decided("A"), _decided("B"))]),
    ]
    _write(report, steps)
    plan = plan_recovery(journal_path(report), findings, "unknown")
    assert plan.conflicts == 0 and not plan.changed
    assert all(not c.pending for s in plan.steps for c in s.changes)


def test_recovery_replays_a_chain_from_where_the_file_is(report: Path) -> None:
    findings = _findings()
    steps = [
        ("decide", [Change(0, 2, "f0.dcm", EMPTY, _decided("A"))]),
        ("undo", [Change(0, 2, "f0.dcm", _decided("A"), EMPTY)]),
        ("redo", [Change(0, 2, "f0.dcm", EMPTY, _decided("A"))]),
        ("decide", [Change(0, 2, "f0.dcm", _decided("A"), _decided("C"))]),
    ]
    _write(report, steps)
    plan = plan_recovery(journal_path(report), findings, "unknown")
    assert plan.changed == {0} and plan.conflicts == 0
    applied = [c.new["action"] for s in plan.steps for c in s.changes if c.pending]
    assert applied[-1] == "C"


def test_last_seq_is_found_in_a_long_journal(report: Path) -> None:
    journal = Journal.open(report)
    change = Change(0, 2, "f0.dcm", EMPTY, _decided("A" * 200))
    for _ in range(400):
        journal.append_step("decide", [change], "ann")
    journal.close()
    assert journal_path(report).stat().st_size > 65536
    again = Journal.open(report)
    assert again.append_step("note", [change], "ann") == 401
    again.close()


def test_other_sheets_records_and_saves_do_not_mix(report: Path) -> None:
    """Unsaved decisions on sheet A survive a later save of sheet B of the same workbook."""
    on_a = Journal.open(report, sheet="A")
    on_a.append_step("decide", [Change(0, 2, "f0.dcm", EMPTY, _decided("A"))], "ann")
    on_a.close()
    on_b = Journal.open(report, sheet="B")
    on_b.append_step("decide", [Change(1, 3, "f1.dcm", EMPTY, _decided("B"))], "ann")
    on_b.append_saved("sha-after-b", 1, [3], "ann")
    on_b.close()
    plan_a = plan_recovery(journal_path(report), _findings(), "sha-after-b", sheet="A")
    assert plan_a.changed == {0} and plan_a.conflicts == 0
    plan_b = plan_recovery(journal_path(report), _findings(), "sha-after-b", sheet="B")
    assert not plan_b.changed and plan_b.matched_save
