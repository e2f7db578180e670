"""A folder (or list) of CSV reports locks every member file (issue 20, item 4).

While ``review rep/`` holds the folder, a session on ``rep/A.csv`` (decide,
review, the core session) is refused or read-only with a line naming who holds
it, and no second journal appears; the other way round as well.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from lock_procs import PtySession, cli, core_holder, csv_report, end, folder_report
from phi_review.core.report.lock import ReportLock, lock_path
from phi_review.core.report.reader import read_report
from phi_review.core.report.takeover import holder_of, prove_holder, request_release
from phi_review.core.review.journal import journal_path
from phi_review.core.review.session import ReviewSession


@pytest.fixture
def rep(tmp_path: Path) -> Path:
    return folder_report(tmp_path / "rep")


def _unchanged(folder: Path):  # type: ignore[no-untyped-def]
    before = {p.name: p.read_bytes() for p in folder.glob("*.csv")}
    return lambda: {p.name: p.read_bytes() for p in folder.glob("*.csv")} == before


def test_decide_on_a_member_of_a_held_folder_is_refused_with_no_second_journal(rep: Path) -> None:
    holder = core_holder(rep)
    same = _unchanged(rep)
    try:
        done = cli("decide", str(rep / "A.csv"), "a1.dcm", "1")
        assert done.returncode == 2
        assert f"A.csv is held by the phi-review session on rep/ (pid {holder.pid})" in done.stderr
        assert len(done.stderr.strip().splitlines()) == 1
        assert not journal_path(rep / "A.csv").exists()
        assert same()
    finally:
        end(holder)


def test_a_core_session_on_a_member_of_a_held_folder_is_read_only(rep: Path) -> None:
    holder = core_holder(rep)
    try:
        with ReviewSession.open(rep / "B.csv", reviewer="second") as session:
            assert session.read_only
            assert "held by the phi-review session on rep/" in session.messages[0]
    finally:
        end(holder)


def test_the_review_screen_on_a_member_of_a_held_folder_is_read_only(rep: Path) -> None:
    holder = core_holder(rep)
    screen = PtySession("review", str(rep / "A.csv"), "--graphics", "none")
    try:
        screen.wait_for(b"[y/N]")
        assert b"A.csv is held by the phi-review session on rep/: pid" in screen.out
        screen.send(b"n\r")
        screen.wait_for(b"READ-ONLY")
        screen.send(b"1")  # a decision key: refused, nothing journaled
        time.sleep(0.5)
        screen.send(b"q")
        assert screen.wait_exit() == 0
        assert not journal_path(rep / "A.csv").exists()
    finally:
        screen.close()
        end(holder)


def test_a_held_member_keeps_the_folder_session_read_only(rep: Path) -> None:
    holder = core_holder(rep / "A.csv")
    same = _unchanged(rep)
    try:
        with ReviewSession.open(rep, reviewer="second") as session:
            assert session.read_only
            assert f"A.csv is open in another phi-review session (pid {holder.pid})" in session.messages[0]
        done = cli("decide", str(rep), "B.csv:2", "1")
        assert done.returncode == 2 and "A.csv" in done.stderr
        assert not journal_path(rep).exists() and same()
        # nothing of the refused folder session stays held: the member it could lock is free again
        with ReportLock.acquire(rep / "B.csv"):
            pass
    finally:
        end(holder)


def test_several_csv_files_lock_each_of_them(tmp_path: Path) -> None:
    first = csv_report(tmp_path / "p.csv", ["a.dcm"])
    second = csv_report(tmp_path / "q.csv", ["b.dcm"])
    with ReviewSession.open([first, second], reviewer="rev") as session:
        assert not session.read_only
        done = cli("decide", str(second), "b.dcm", "1")
        assert done.returncode == 2 and "q.csv is held by the phi-review session on p.csv" in done.stderr
    assert cli("decide", str(second), "b.dcm", "1").returncode == 0  # released with the session


def test_members_are_free_again_when_the_folder_session_ends(rep: Path) -> None:
    with ReviewSession.open(rep, reviewer="rev") as session:
        assert not session.read_only
        assert {lock_path(rep / "A.csv"), lock_path(rep / "B.csv")} <= set(session._lock.member_locks)
    done = cli("decide", str(rep / "A.csv"), "a1.dcm", "1")
    assert done.returncode == 0, done.stderr
    # the member lock files are hidden and not CSVs: the folder still reads as the same two files
    assert sorted(s.path.name for s in read_report(rep).sources) == ["A.csv", "B.csv"]
    assert sorted(p.name for p in rep.glob("*.csv")) == ["A.csv", "B.csv"]


def test_the_folder_session_holding_a_member_is_proven_and_can_be_taken_over(rep: Path) -> None:
    holder = core_holder(rep)
    try:
        seen = holder_of(rep / "A.csv")
        assert seen is not None and seen.pid == holder.pid and seen.report == "rep/"
        assert prove_holder(rep / "A.csv", seen) is None
        released, said = request_release(rep / "A.csv", timeout=10.0)
        assert released, said
    finally:
        end(holder)
    with ReviewSession.open(rep / "A.csv", reviewer="rev") as session:
        assert not session.read_only


def test_a_planted_link_as_a_member_lock_refuses_the_folder_and_spares_the_target(rep: Path, tmp_path: Path) -> None:
    other = csv_report(tmp_path / "other.csv", ["x.dcm"])
    before = other.read_bytes()
    lock_path(rep / "B.csv").symlink_to(other)
    with ReviewSession.open(rep, reviewer="rev") as session:
        assert session.read_only and "symbolic link" in session.messages[0]
    assert other.read_bytes() == before


def test_review_of_the_folder_takes_over_a_member_held_by_another_session(rep: Path) -> None:
    holder = core_holder(rep / "B.csv")
    screen = PtySession("review", str(rep), "--graphics", "none", "--take-over")
    try:
        screen.wait_for(b"let go of the report")
        assert f"B.csv is held by another phi-review session: pid {holder.pid}".encode() in screen.out
        holder.wait(timeout=10)
        screen.start = screen.out.index(b"let go of the report")
        screen.wait_for(b"a1.dcm")
        screen.send(b"1")
        screen.wait_seen("1/3")
        assert not screen.seen("READ-ONLY")
        screen.send(b"q")
        assert screen.wait_exit() == 0
    finally:
        screen.close()
        end(holder)
