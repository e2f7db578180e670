"""`phi-review release` end to end: decisions from `decide`, copies from `fix`, the package a site uploads."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pydicom
import pytest

from phi_review.core.remedy.manifest import sha256_file
from release_tree import (
    APPROVED, DELETE, FOLLOW, META, NO_COPY, PHI, RESIDUAL, REVIEW, UNDECIDED, cli, release_args, reviewed_tree,
)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return reviewed_tree(tmp_path_factory.mktemp("release"))


def manifest(pkg: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (pkg / "release-manifest.jsonl").read_text().splitlines()]


def test_held_rows_stop_the_release_and_nothing_is_written(world: dict[str, Any], tmp_path: Path) -> None:
    pkg = tmp_path / "pkg"
    code, out, err = cli(*release_args(world, pkg))
    assert code == 1, err
    assert not pkg.exists() and not any(p.name.startswith(".pkg") for p in tmp_path.iterdir())
    assert "Release stopped: no package was written." in out
    held = {line.split()[1]: line for line in out.splitlines() if line.startswith("    report.xlsx:")}
    names = world["names"]
    assert set(held) == {names[UNDECIDED], names[RESIDUAL], names[NO_COPY]}
    assert "no decision" in held[names[UNDECIDED]]
    assert "residual/" in held[names[RESIDUAL]]
    assert "no corrected copy" in held[names[NO_COPY]]
    assert "give --partial" in out


def test_partial_release_lays_out_the_package_and_lists_the_rest(world: dict[str, Any], tmp_path: Path) -> None:
    pkg = tmp_path / "pkg"
    code, out, err = cli(*release_args(world, pkg, "--partial"))
    assert code == 0, err
    names, copies, collection = world["names"], world["copies"], world["collection"]
    released = sorted(str(p.relative_to(pkg)) for p in pkg.rglob("*.dcm"))
    assert released == sorted([names[META], names[DELETE]])  # <collection>/<site>/<event>/... as the originals
    for rel in (META, DELETE):
        assert sha256_file(pkg / names[rel]) == sha256_file(copies / rel)
        assert str(pydicom.dcmread(pkg / names[rel]).PatientIdentityRemoved) == "YES"
    assert (pkg / "deletions.txt").read_text().splitlines() == sorted([names[META], names[DELETE]])
    lines = manifest(pkg)
    assert lines[0]["kind"] == "release" and lines[-1]["kind"] == "complete"
    files = {line["labcas"]: line for line in lines if line["kind"] == "file"}
    assert set(files) == {names[META], names[DELETE]}
    meta = files[names[META]]
    assert meta["decision"] == "Needs Metadata Update" and meta["reviewer"] == "rev1" and meta["decided_at"]
    assert meta["original_sha256"] == sha256_file(collection / META)
    assert meta["copy_sha256"] == sha256_file(copies / META)
    assert meta["proof"]["status"] == "clean" and "PatientIdentityRemoved" in meta["proof"]["required"]
    rows = {line["name"]: line for line in lines if line["kind"] == "row"}
    assert rows[names[APPROVED]]["status"] == "approved"
    assert rows[names[REVIEW]]["status"] == rows[names[FOLLOW]]["status"] == "informatics"
    assert {n for n, r in rows.items() if r["status"] == "held"} == {names[UNDECIDED], names[RESIDUAL], names[NO_COPY]}
    summary = lines[-1]
    assert (summary["files"], summary["frames"], summary["deletions"], summary["held"]) == (2, 2, 2, 3)
    assert summary["studies"] == 2 and summary["series"] == 2
    assert summary["approved"] == 1 and summary["informatics"] == 2
    text = (pkg / "release-manifest.jsonl").read_text() + (pkg / "RELEASE.txt").read_text() + out
    for value in PHI:
        assert value not in text
    assert "note text" not in text
    assert "held back: 3 rows" in out and "2 files, 2 frames" in out
    assert not any(p.name.startswith(".") for p in tmp_path.iterdir())  # the build folder was renamed
    # --resume on a finished package: nothing to do, the same banner
    code, again, _err = cli(*release_args(world, pkg, "--partial", "--resume"))
    assert code == 0 and "already holds this release" in again


def test_a_non_empty_package_folder_is_refused(world: dict[str, Any], tmp_path: Path) -> None:
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "old.txt").write_text("x")
    code, out, err = cli(*release_args(world, pkg, "--partial"))
    assert code == 2 and "is not empty" in err and len(err.strip().splitlines()) == 1
    assert os.listdir(pkg) == ["old.txt"]


def test_an_empty_package_folder_is_used(world: dict[str, Any], tmp_path: Path) -> None:
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    code, _out, err = cli(*release_args(world, pkg, "--partial"))
    assert code == 0, err
    assert (pkg / "deletions.txt").is_file()


@pytest.mark.parametrize("where", ["inside", "itself"])
def test_a_symlink_in_or_as_the_package_is_refused(world: dict[str, Any], tmp_path: Path, where: str) -> None:
    target = tmp_path / "elsewhere"
    target.mkdir()
    pkg = tmp_path / "pkg"
    if where == "inside":
        pkg.mkdir()
        (pkg / "link").symlink_to(target)
    else:
        pkg.symlink_to(target)
    code, _out, err = cli(*release_args(world, pkg, "--partial"))
    assert code == 2 and "symlink" in err and len(err.strip().splitlines()) == 1
    assert os.listdir(target) == []


def test_a_copy_older_than_its_decision_is_held(tmp_path: Path) -> None:
    import time

    world = reviewed_tree(tmp_path / "own")  # its own: the decision changes
    names = world["names"]
    time.sleep(1.1)  # decision times are kept to the second
    code, _out, err = cli("decide", str(world["report"]), names[DELETE], "Needs Metadata Update",
                          "--reviewer", "rev2")
    assert code == 0, err
    code, out, err = cli(*release_args(world, tmp_path / "pkg", "--partial"))
    assert code == 0, err
    held = [line for line in out.splitlines() if names[DELETE] in line]
    assert held and "older than the latest decision" in held[0]
    assert not (tmp_path / "pkg" / names[DELETE]).exists() and (tmp_path / "pkg" / names[META]).is_file()


def test_a_second_release_of_the_same_package_is_refused_while_one_runs(world: dict[str, Any],
                                                                        tmp_path: Path) -> None:
    import fcntl

    staging = tmp_path / ".pkg.release-partial"
    staging.mkdir()
    fd = os.open(staging, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # what a running release holds
        code, _out, err = cli(*release_args(world, tmp_path / "pkg", "--partial", "--resume"))
        assert code == 2 and "another release of pkg is running" in err
    finally:
        os.close(fd)
    assert not (tmp_path / "pkg").exists()
