"""Journal checkpoints: a long run of single-key steps reopens from a compact line, and nothing is lost.

A checkpoint is written after enough journaled rows (``CHECKPOINT_MIN``, lowered
here) and sums up every changed row against the report on disk; recovery starts
at it. Kill points: the journal cut anywhere inside a checkpoint, or between a
save's report write and its ``saved`` line, still recovers every decision whose
step line was whole.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from phi_review.core.review import journal as journal_module
from phi_review.core.review import saving as saving_module
from phi_review.core.review.journal import CHECKPOINT_MARK, journal_path
from phi_review.core.review.recovery import plan_recovery
from phi_review.core.review.session import ReviewSession

HEADERS = ["File Name", "Validation Issue", "Detected Value", "Action", "Comments"]
MIN = 20


@pytest.fixture(autouse=True)
def small_checkpoints(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(saving_module, "CHECKPOINT_MIN", MIN)


def write_report(path: Path, rows: int = 120, order: list[int] | None = None) -> Path:
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADERS)
        for n in order if order is not None else range(rows):
            writer.writerow([f"s/img{n:04d}.dcm", "Possible PHI/PII in Header", f"V{n}", "", ""])
    return path


def lines_of(report: Path) -> list[bytes]:
    return journal_path(report).read_bytes().splitlines(keepends=True)


def decide_one_by_one(session: ReviewSession, count: int, start: int = 0) -> dict[str, str]:
    """``count`` single-key decisions (actions alternate); the expected action per file name."""
    expected = {}
    for index in range(start, start + count):
        action = session.actions[index % 3]
        session.decide([index], action)
        expected[session.findings[index].file] = action
    return expected


def state(report: Path) -> dict[str, str]:
    session = ReviewSession.open(report, reviewer="check", read_only=False)
    try:
        return {f.file: f.action for f in session.findings if f.action}
    finally:
        session.close()


def test_single_key_steps_write_checkpoints_and_reopen_replays_a_short_tail(tmp_path: Path) -> None:
    report = write_report(tmp_path / "r.csv")
    session = ReviewSession.open(report, reviewer="ann")
    expected = decide_one_by_one(session, 100)
    session.close()
    lines = lines_of(report)
    checkpoints = [json.loads(line) for line in lines if line.startswith(CHECKPOINT_MARK)]
    assert len(checkpoints) >= 3
    last = checkpoints[-1]
    assert last["v"] == 3 and last["count"] == len(last["rows"]) == len(last["new"]["of"]) == len(last["old"]["of"])
    assert len(last["new"]["table"]) <= 3 * 2, "values shared in a table (3 actions, a time or two)"
    assert "files" not in last and len(last["cells"]) == 64, "one digest of the rows' cells, no names"
    assert b"img0001" not in lines[-1] if lines[-1].startswith(CHECKPOINT_MARK) else True
    session = ReviewSession.open(report, reviewer="ann")
    plan = plan_recovery(journal_path(report), session.findings, "not this report")
    session_state = {f.file: f.action for f in session.findings if f.action}
    assert session_state == expected and session.recovered == 100
    assert plan.since_checkpoint <= max(MIN, 100 // 3), "only the steps after the last checkpoint are lines"
    session.close()


def test_undo_after_a_checkpoint_is_recovered(tmp_path: Path) -> None:
    report = write_report(tmp_path / "r.csv")
    session = ReviewSession.open(report, reviewer="ann")
    expected = decide_one_by_one(session, 50)
    for _ in range(3):
        for index in session.undo():
            expected.pop(session.findings[index].file, None)
    session.close()
    assert any(line.startswith(CHECKPOINT_MARK) for line in lines_of(report))
    assert state(report) == expected


def test_the_journal_cut_anywhere_in_a_checkpoint_loses_nothing(tmp_path: Path) -> None:
    report = write_report(tmp_path / "r.csv")
    session = ReviewSession.open(report, reviewer="ann")
    expected = decide_one_by_one(session, MIN)  # the last step makes the first checkpoint due
    session.close()
    whole = journal_path(report).read_bytes()
    at = whole.index(CHECKPOINT_MARK)
    end = whole.index(b"\n", at) + 1
    assert end == len(whole), "the checkpoint is the last line"
    for cut in sorted({at, at + 1, at + 17, (at + end) // 2, end - 2, end - 1, end}):
        journal_path(report).write_bytes(whole[:cut])
        assert state(report) == expected, f"cut at {cut - at} bytes into the checkpoint"
        # The reopen above appended a newline after the torn line (and maybe a checkpoint): read again.
        assert state(report) == expected


def test_a_kill_between_the_save_and_its_saved_line_loses_nothing(tmp_path: Path) -> None:
    report = write_report(tmp_path / "r.csv")
    session = ReviewSession.open(report, reviewer="ann")
    expected = decide_one_by_one(session, 30)  # a checkpoint after 20
    session.save()
    expected.update(decide_one_by_one(session, 25, start=30))  # another checkpoint after the save
    session.close()
    lines = lines_of(report)
    saved = next(i for i, line in enumerate(lines) if b'"kind":"saved"' in line)
    assert any(line.startswith(CHECKPOINT_MARK) for line in lines[:saved])
    assert any(line.startswith(CHECKPOINT_MARK) for line in lines[saved:])
    # The report was written, then the process died before its "saved" line (and all after it).
    for cut in (saved, saved + 1, len(lines) - 1):
        journal_path(report).write_bytes(b"".join(lines[:cut]))
        kept = {file: action for file, action in expected.items()
                if int(file[5:9]) < 30 or any(f'"s/img{int(file[5:9]):04d}.dcm"'.encode() in line
                                              for line in lines[saved + 1:cut])}
        assert state(report) == kept, f"journal cut after line {cut}"


def test_no_checkpoint_while_a_save_runs(tmp_path: Path) -> None:
    report = write_report(tmp_path / "r.csv")
    session = ReviewSession.open(report, reviewer="ann")
    decide_one_by_one(session, 5)
    plan = session.prepare_save()
    before = len([line for line in lines_of(report) if line.startswith(CHECKPOINT_MARK)])
    expected = decide_one_by_one(session, MIN + 5, start=5)
    assert len([line for line in lines_of(report) if line.startswith(CHECKPOINT_MARK)]) == before
    session.finish_save(plan, session.write_save(plan))
    decide_one_by_one(session, MIN, start=40)
    assert len([line for line in lines_of(report) if line.startswith(CHECKPOINT_MARK)]) > before
    session.close()
    got = state(report)
    assert all(got[file] == action for file, action in expected.items())


def test_rows_resorted_outside_are_found_by_file_name(tmp_path: Path) -> None:
    report = write_report(tmp_path / "r.csv")
    session = ReviewSession.open(report, reviewer="ann")
    expected = decide_one_by_one(session, 40)
    session.close()
    assert any(line.startswith(CHECKPOINT_MARK) for line in lines_of(report))
    write_report(report, order=list(reversed(range(120))))  # someone sorted the report and saved it
    assert state(report) == expected  # the checkpoint's digest differs: its steps are replayed instead


def test_a_checkpoint_whose_cells_changed_is_not_used(tmp_path: Path) -> None:
    report = write_report(tmp_path / "r.csv")
    session = ReviewSession.open(report, reviewer="ann")
    expected = decide_one_by_one(session, MIN)
    session.close()
    text = report.read_text(encoding="utf-8").replace("s/img0003.dcm", "s/other.dcm")  # a row now names another file
    report.write_text(text, encoding="utf-8")
    expected.pop("s/img0003.dcm")
    session = ReviewSession.open(report, reviewer="ann")
    got = {f.file: f.action for f in session.findings if f.action}
    assert got == expected and any("could not be placed" in m for m in session.messages)
    session.close()


def test_an_old_journal_without_checkpoints_is_read_then_checkpointed(tmp_path: Path) -> None:
    report = write_report(tmp_path / "r.csv")
    session = ReviewSession.open(report, reviewer="ann")
    session.checkpoint_if_due = lambda: None  # type: ignore[method-assign]  # as a version-2 writer did
    expected = decide_one_by_one(session, 60)
    session.close()
    assert not any(line.startswith(CHECKPOINT_MARK) for line in lines_of(report))
    assert state(report) == expected  # replays the 60 lines, then writes a checkpoint of them
    assert lines_of(report)[-1].startswith(CHECKPOINT_MARK)
    assert state(report) == expected


def test_a_big_journal_is_read_from_its_last_checkpoint(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from phi_review.core.review import checkpoint

    monkeypatch.setattr(checkpoint, "TAIL_FROM", 0)
    monkeypatch.setattr(checkpoint, "_CHUNK", 64)  # the mark found across chunk edges
    report = write_report(tmp_path / "r.csv")
    session = ReviewSession.open(report, reviewer="ann")
    expected = decide_one_by_one(session, 70)
    session.close()
    data, offset = checkpoint.read_tail(journal_path(report))
    assert offset > 0 and data.startswith(CHECKPOINT_MARK)
    assert state(report) == expected
    assert journal_module.JOURNAL_VERSION == 2, "steps stay version 2: older readers skip only the checkpoints"


def test_a_save_after_the_last_checkpoint_is_replayed_from_the_tail_alone(tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    from phi_review.core.review import checkpoint, recovery

    monkeypatch.setattr(checkpoint, "TAIL_FROM", 0)
    report = write_report(tmp_path / "r.csv")
    session = ReviewSession.open(report, reviewer="ann")
    expected = decide_one_by_one(session, 30)
    session.save()
    expected.update(decide_one_by_one(session, 5, start=30))
    session.close()

    def whole(_path: Path) -> bytes:
        raise AssertionError("the journal was read whole: the tail from the checkpoint holds all replay needs")

    monkeypatch.setattr(recovery, "read_data", whole)
    assert state(report) == expected
