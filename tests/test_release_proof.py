"""The release proves every file again in the package: a copy whose record says clean is not taken on its word."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from phi_review.sample_reports.make_workbook import build_report_workbook
from release_tree import APPROVED, DELETE, FOLLOW, META, NO_COPY, PHI, cli
from validator.make_tree import make_validator_tree


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    os.environ.setdefault("PHI_REVIEW_FIX_SECRET", "release-test-secret")
    base = tmp_path_factory.mktemp("release-proof")
    collection = make_validator_tree(base / "tree")["collection"]
    copies = base / "corrected"
    plan = {  # file: (decision, fix arguments)
        META: ("Needs Metadata Update", ["--profile", "none", "--blank", "PatientName"]),  # ID left, no claim
        DELETE: ("Needs Deletion & Re-upload", []),  # tampered with after it was made
        NO_COPY: ("Needs Deletion & Re-upload", ["--profile", "none", "--set", "StudyDescription=X"]),  # no claim
        APPROVED: ("Needs Metadata Update", []),  # replaced by a symlink
        FOLLOW: ("Needs Metadata Update", []),  # fine: released
    }
    rows = []
    for rel, (action, fix) in plan.items():
        code, _out, err = cli("fix", str(collection / rel), "--root", str(collection), "--out", str(copies), *fix)
        assert code == 0, err
        rows.append({"file": f"{collection.name}/{rel}", "issue": "Possible PHI/PII in Header", "tag": "",
                     "value": "", "action": action, "note": ""})
    with open(copies / DELETE, "ab") as handle:
        handle.write(b"\0" * 16)
    elsewhere = base / "elsewhere.dcm"
    shutil.copyfile(copies / APPROVED, elsewhere)
    (copies / APPROVED).unlink()
    (copies / APPROVED).symlink_to(elsewhere)
    report = build_report_workbook(base / "report.xlsx", rows)
    return {"report": report, "collection": collection, "copies": copies, "base": base}


def _args(world: dict[str, Any], pkg: Path, *extra: str) -> list[str]:
    return ["release", str(world["report"]), "--root", str(world["collection"]), "--copies", str(world["copies"]),
            "--out", str(pkg), *extra]


def test_each_copy_is_proved_again_and_what_fails_is_held(world: dict[str, Any], tmp_path: Path) -> None:
    pkg = tmp_path / "pkg"
    code, out, err = cli(*_args(world, pkg, "--partial"))
    assert code == 0, err
    name = world["collection"].name
    held = {line.split()[1].removeprefix(f"{name}/"): line for line in out.splitlines()
            if line.startswith("    report.xlsx:")}
    assert set(held) == {META, DELETE, NO_COPY, APPROVED}
    assert "proof failed" in held[META] and "(0010,0020)" in held[META]  # the place, never the value
    assert "changed since it was made" in held[DELETE]
    assert "carries no claim" in held[NO_COPY]
    assert "symlink" in held[APPROVED]
    assert sorted(str(p.relative_to(pkg)) for p in pkg.rglob("*.dcm")) == [f"{name}/{FOLLOW}"]
    assert (pkg / "deletions.txt").read_text() == f"{name}/{FOLLOW}\n"
    assert all(any(p.is_file() for p in d.rglob("*")) for d in pkg.rglob("*") if d.is_dir())  # no empty folder
    text = (pkg / "release-manifest.jsonl").read_text() + out
    assert not any(value in text for value in PHI)


def test_without_partial_the_first_failed_proof_stops_the_release(world: dict[str, Any], tmp_path: Path) -> None:
    pkg = tmp_path / "pkg"
    code, out, err = cli(*_args(world, pkg))
    assert code == 1, err
    assert "Release stopped" in out
    assert not pkg.exists() and not list(tmp_path.glob(".*"))  # the build folder went too


def test_a_fifo_in_place_of_a_copy_is_held_not_waited_on(tmp_path: Path) -> None:
    os.environ.setdefault("PHI_REVIEW_FIX_SECRET", "release-test-secret")
    collection = make_validator_tree(tmp_path / "tree")["collection"]
    copies = tmp_path / "corrected"
    code, _out, err = cli("fix", str(collection / FOLLOW), "--root", str(collection), "--out", str(copies))
    assert code == 0, err
    (copies / FOLLOW).unlink()
    os.mkfifo(copies / FOLLOW)
    rows = [{"file": f"{collection.name}/{FOLLOW}", "issue": "Possible PHI/PII in Header", "tag": "", "value": "",
             "action": "Needs Metadata Update", "note": ""}]
    report = build_report_workbook(tmp_path / "report.xlsx", rows)
    world = {"report": report, "collection": collection, "copies": copies}
    code, out, err = cli(*_args(world, tmp_path / "pkg", "--partial"))
    assert code == 0, err
    assert "not a regular file" in out
