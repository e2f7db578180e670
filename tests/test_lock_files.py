"""Lock and journal files cannot be turned against another file (issue 20, items 2 and 8).

A ``.NAME.phi-review.lock`` or journal planted as a symlink, a hard link or a
FIFO is refused (the session opens read-only, ``decide`` says why in one line)
and whatever it points at stays byte for byte. Journals are 0600 from every
entry point: they hold the reviewer's notes.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from lock_procs import cli, csv_report, folder_report
from phi_review.core.report.lock import ReportLock, lock_path
from phi_review.core.review.journal import journal_path
from phi_review.core.review.session import ReviewSession
from test_hostile_report import openpyxl_report


@pytest.fixture
def pair(tmp_path: Path) -> tuple[Path, Path, bytes]:
    """A report to open, and another report whose bytes must never change."""
    report = csv_report(tmp_path / "r.csv", ["a.dcm", "b.dcm"])
    other = csv_report(tmp_path / "other.csv", ["x.dcm"])
    return report, other, other.read_bytes()


def _refused_everywhere(report: Path, word: str) -> None:
    """The core session opens read-only saying ``word``; the CLI refuses in one line; nothing is written."""
    with ReviewSession.open(report, reviewer="rev") as session:
        assert session.read_only
        assert word in session.messages[0]
    with pytest.raises(Exception, match=word):
        ReviewSession.open(report, reviewer="rev", allow_read_only_fallback=False)
    done = cli("decide", str(report), "a.dcm", "1")
    assert done.returncode == 2 and word in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr


def test_a_lock_planted_as_a_symlink_leaves_its_target_whole(pair) -> None:
    report, other, before = pair
    os.symlink(other, lock_path(report))
    _refused_everywhere(report, "symbolic link")
    assert other.read_bytes() == before


def test_a_dangling_symlink_lock_creates_nothing(pair, tmp_path: Path) -> None:
    report, _other, _before = pair
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    os.symlink(elsewhere / "created.txt", lock_path(report))
    _refused_everywhere(report, "symbolic link")
    assert not (elsewhere / "created.txt").exists()


def test_a_lock_planted_as_a_hard_link_leaves_the_other_report_whole(pair) -> None:
    report, other, before = pair
    os.link(other, lock_path(report))
    _refused_everywhere(report, "hard link")
    assert other.read_bytes() == before


def test_a_fifo_lock_is_refused_without_hanging(pair) -> None:
    report, _other, _before = pair
    os.mkfifo(lock_path(report))
    _refused_everywhere(report, "not a regular file")


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to make a file of another user")
def test_another_users_lock_file_is_refused(pair) -> None:
    report, _other, _before = pair
    lock_path(report).write_bytes(b"")
    os.chown(lock_path(report), 4321, 4321)
    _refused_everywhere(report, "another user")


def test_a_journal_planted_as_a_hard_link_gets_no_line(pair) -> None:
    report, other, before = pair
    os.link(other, journal_path(report))
    _refused_everywhere(report, "journal")
    assert other.read_bytes() == before


def test_a_real_lock_file_is_ours_regular_and_beside_the_report(pair) -> None:
    report, _other, _before = pair
    with ReportLock.acquire(report) as lock:
        st = os.lstat(lock.path)
        assert lock.path.parent == report.parent and st.st_dev == report.stat().st_dev
        assert stat.S_ISREG(st.st_mode) and st.st_uid == os.geteuid() and st.st_nlink == 1
        assert stat.S_IMODE(st.st_mode) & 0o022 == 0, "nobody else may rewrite the record"
        assert len(lock.nonce) == 32


# ----------------------------------------------------------------------------- journals are private


@pytest.mark.parametrize("kind", ["csv", "xlsx", "folder", "several"])
def test_journals_are_0600_from_every_entry_point(tmp_path: Path, kind: str) -> None:
    if kind == "csv":
        args = [csv_report(tmp_path / "r.csv", ["a.dcm"])]
    elif kind == "xlsx":
        args = [openpyxl_report(tmp_path / "r.xlsx", ["a.dcm"])]
    elif kind == "folder":
        args = [folder_report(tmp_path / "rep")]
    else:
        args = [csv_report(tmp_path / "p.csv", ["a.dcm"]), csv_report(tmp_path / "q.csv", ["b.dcm"])]
    for path in args:
        if path.is_file():
            path.chmod(0o644)
    old = os.umask(0o022)
    try:
        row = "a.dcm" if kind in ("csv", "xlsx") else ("A.csv:2" if kind == "folder" else "p.csv:2")
        done = cli("decide", *map(str, args), row, "1", "--note", "a private note")
        assert done.returncode == 0, done.stderr
        journal = journal_path(args[0])
        assert stat.S_IMODE(journal.stat().st_mode) == 0o600
        journal.unlink()
        with ReviewSession.open(args if len(args) > 1 else args[0], reviewer="rev") as session:
            session.set_note(0, "another note")
        assert stat.S_IMODE(journal.stat().st_mode) == 0o600
    finally:
        os.umask(old)


def test_an_older_readable_journal_becomes_private_when_opened(pair) -> None:
    report, _other, _before = pair
    journal = journal_path(report)
    journal.write_bytes(b"")
    journal.chmod(0o644)
    with ReviewSession.open(report, reviewer="rev") as session:
        assert not session.read_only
    assert stat.S_IMODE(journal.stat().st_mode) == 0o600


def test_review_screen_with_a_planted_link_opens_read_only_and_says_why(pair) -> None:
    """The screen itself (on a pty): read-only, the reason on screen, the link's target untouched."""
    report, other, before = pair
    os.symlink(other, lock_path(report))
    from lock_procs import PtySession

    screen = PtySession("review", str(report), "--graphics", "none")
    try:
        screen.wait_for(b"READ-ONLY")
        screen.wait_seen("is a symbolic link")
        screen.send(b"q")
        assert screen.wait_exit() == 0
    finally:
        screen.close()
    assert other.read_bytes() == before
    assert screen.seen("is a symbolic link; phi-review never writes through a link")  # a toast, wrapped
