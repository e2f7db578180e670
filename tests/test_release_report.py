"""How release reads the report: the saved decisions only, and the copies the Corrected Copy column names."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from phi_review.core.review.session import ReviewSession
from release_tree import DELETE, META, cli, reviewed_tree


def test_copies_are_found_through_the_corrected_copy_column(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    world = reviewed_tree(tmp_path / "w")
    moved = world["base"] / "site-output"
    shutil.move(world["copies"], moved)  # not where the defaults look
    monkeypatch.chdir(tmp_path)
    session = ReviewSession.open(world["report"], reviewer="rev1")
    try:
        index = next(i for i, f in enumerate(session.findings) if f.file == world["names"][META])
        session.set_corrected_copy([index], f"site-output/{META}")
        session.save()
    finally:
        session.close()
    pkg = tmp_path / "pkg"
    code, out, err = cli("release", str(world["report"]), "--root", str(world["collection"]), "--out", str(pkg),
                         "--partial")
    assert code == 0, err
    assert (pkg / world["names"][META]).is_file() and (pkg / world["names"][DELETE]).is_file()


def test_decisions_only_in_the_journal_are_refused(tmp_path: Path) -> None:
    world = reviewed_tree(tmp_path / "w")
    session = ReviewSession.open(world["report"], reviewer="rev1")
    try:
        index = next(i for i, f in enumerate(session.findings) if f.file == world["names"][DELETE])
        session.decide([index], "Needs Metadata Update")  # journaled, never saved
    finally:
        session.close()
    pkg = tmp_path / "pkg"
    code, _out, err = cli("release", str(world["report"]), "--root", str(world["collection"]), "--copies",
                          str(world["copies"]), "--out", str(pkg), "--partial")
    assert code == 2 and "in the journal but not saved" in err and len(err.strip().splitlines()) == 1
    assert not pkg.exists()
