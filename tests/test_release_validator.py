"""`release --validator CMD`: the validator runs on the package; a PHI finding stops the release or, with
--partial, takes that file out. A stand-in validator writes the 1.0.1 CSV layout; the real one runs when installed."""

from __future__ import annotations

import json
import os
import shutil
import stat
import sys
from pathlib import Path
from typing import Any

import pytest

from release_tree import DELETE, META, PHI, cli, release_args, reviewed_tree

REAL = os.environ.get("PHI_REVIEW_VALIDATOR", "/opt/labcas-validator/venv/bin/validate-dicom-files")

# Writes <site>.csv like release 1.0.1 with -c 1 (absolute File Name): a header finding, with a value,
# for every file below a folder named $FAKE_FLAG, a missing-tag row (not PHI) for the others.
FAKE = r'''
import csv, os, sys
args = sys.argv[1:]
out = args[args.index("-o") + 1]
tree = args[-1]
flag = os.environ.get("FAKE_FLAG", "")
rows = {}
for folder, _dirs, names in os.walk(tree):
    for name in names:
        path = os.path.join(folder, name)
        parts = path.split(os.sep)
        site, event = parts[-4], parts[-3]
        if flag and flag in parts:
            rows.setdefault(site, []).append([site, event, path, "CT", "1.0", "\U0001f6a8 Possible PHI/PII in header",
                                              "(0010,0010) (PatientName), \u00abSECRETVALUE^X\u00bb, Possible PHI/PII detection"])
        else:
            rows.setdefault(site, []).append([site, event, path, "CT", "1.0", "Missing required tags",
                                              "(0008,0070) (Manufacturer), \u00abvalue missing\u00bb, Failed core tag validation"])
for site, found in rows.items():
    with open(os.path.join(out, site + ".csv"), "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["Site ID", "Event ID", "File Name", "Profile", "Score", "Findings", "Details"])
        writer.writerows(found)
'''


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    world = reviewed_tree(tmp_path_factory.mktemp("release-validator"))
    fake = world["base"] / "bin" / "fake-validate"
    fake.parent.mkdir()
    fake.write_text(f"#!{sys.executable}\n{FAKE}")
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    world["fake"] = fake
    return world


def test_partial_takes_a_flagged_file_out_and_lists_it(world: dict[str, Any], tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_FLAG", "1000003")  # the Deletion & Re-upload copy's event
    pkg = tmp_path / "pkg"
    code, out, err = cli(*release_args(world, pkg, "--partial", "--validator", str(world["fake"])))
    assert code == 0, err
    names = world["names"]
    assert (pkg / names[META]).is_file() and not (pkg / names[DELETE]).exists()
    assert (pkg / "deletions.txt").read_text().splitlines() == [names[META]]
    held = [line for line in out.splitlines() if names[DELETE] in line]
    assert held and "the validator found possible PHI (header)" in held[0]
    lines = [json.loads(x) for x in (pkg / "release-manifest.jsonl").read_text().splitlines()]
    files = [x for x in lines if x["kind"] == "file"]
    assert [f["labcas"] for f in files] == [names[META]] and files[0]["validator"].endswith("no PHI finding")
    text = (pkg / "release-manifest.jsonl").read_text() + (pkg / "RELEASE.txt").read_text() + out
    assert "SECRETVALUE" not in text and not any(value in text for value in PHI)
    assert not list(pkg.rglob("*.csv")) and not list(tmp_path.glob(".*"))  # its CSVs (with values) are gone


def _two_row_report(world: dict[str, Any]) -> dict[str, Any]:
    """A report whose only rows are the two fixed files, decided: nothing is held before the validator runs."""
    from phi_review.sample_reports.make_workbook import build_report_workbook

    path = world["base"] / "two.xlsx"
    if not path.exists():
        rows = [{"file": world["names"][rel], "issue": "Possible PHI/PII in Header", "tag": "", "value": "",
                 "action": action, "note": ""}
                for rel, action in ((META, "Needs Metadata Update"), (DELETE, "Needs Deletion & Re-upload"))]
        build_report_workbook(path, rows)
    return {**world, "report": path}


def test_without_partial_a_flagged_file_stops_the_release(world: dict[str, Any], tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    two = _two_row_report(world)
    monkeypatch.setenv("FAKE_FLAG", "nothing-flagged")
    code, out, err = cli(*release_args(two, tmp_path / "whole", "--validator", str(world["fake"])))
    assert code == 0, err  # every row released: no --partial needed
    assert "held back: 0 rows" in out
    monkeypatch.setenv("FAKE_FLAG", "1000001")
    pkg = tmp_path / "pkg"
    code, out, err = cli(*release_args(two, pkg, "--validator", str(world["fake"])))
    assert code == 1, err
    assert not pkg.exists() and not list(tmp_path.glob(".*"))
    assert "Release stopped" in out and "the validator found possible PHI (header)" in out
    assert world["names"][META] in out and "SECRETVALUE" not in out


def test_a_validator_that_is_not_installed_is_one_line(world: dict[str, Any], tmp_path: Path) -> None:
    code, _out, err = cli(*release_args(world, tmp_path / "pkg", "--validator", str(tmp_path / "nope")))
    assert code == 2 and "not an installed program" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "pkg").exists()


def test_the_real_validator_passes_the_proven_copies(world: dict[str, Any], tmp_path: Path) -> None:
    if not (os.path.isfile(REAL) and os.access(REAL, os.X_OK)) or shutil.which("tesseract") is None:
        pytest.skip(f"validator not installed at {REAL} (or tesseract missing)")
    pkg = tmp_path / "pkg"
    code, out, err = cli(*release_args(world, pkg, "--partial", "--validator", REAL))
    assert code == 0, err
    names = world["names"]
    assert (pkg / names[META]).is_file() and (pkg / names[DELETE]).is_file()
    lines = [json.loads(x) for x in (pkg / "release-manifest.jsonl").read_text().splitlines()]
    assert all(x["validator"].endswith("no PHI finding") for x in lines if x["kind"] == "file")


def test_a_relative_package_path_reaches_the_validator(world: dict[str, Any], tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """The validator runs in its own working folder: the package it is given must not be relative to ours."""
    monkeypatch.setenv("FAKE_FLAG", "1000003")
    monkeypatch.chdir(tmp_path)
    code, out, err = cli(*release_args(world, Path("pkg"), "--partial", "--validator", str(world["fake"])))
    assert code == 0, err + out
    assert (tmp_path / "pkg" / world["names"][META]).is_file() and not (tmp_path / "pkg" / world["names"][DELETE]).exists()


def test_the_real_validator_finds_what_the_proof_does_not_look_for(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """The proof seeks the original's identifiers; a date of birth typed into the copy is the validator's catch."""
    if not (os.path.isfile(REAL) and os.access(REAL, os.X_OK)) or shutil.which("tesseract") is None:
        pytest.skip(f"validator not installed at {REAL} (or tesseract missing)")
    from phi_review.sample_reports.make_workbook import build_report_workbook
    from release_tree import NO_COPY as LOCALIZER
    from validator.make_tree import make_validator_tree

    monkeypatch.setenv("PHI_REVIEW_FIX_SECRET", "release-test-secret")
    collection = make_validator_tree(tmp_path / "tree")["collection"]
    copies = tmp_path / "corrected"
    code, _out, err = cli("fix", str(collection / LOCALIZER), "--root", str(collection), "--out", str(copies),
                          "--profile", "basic", "--set", "PatientComments=DOB: 02/03/1971, seen by Dr Roe")
    assert code == 0, err
    rows = [{"file": f"{collection.name}/{LOCALIZER}", "issue": "Possible PHI/PII in Header", "tag": "", "value": "",
             "action": "Needs Metadata Update", "note": ""}]
    report = build_report_workbook(tmp_path / "report.xlsx", rows)
    pkg = tmp_path / "pkg"
    code, out, err = cli("release", str(report), "--root", str(collection), "--copies", str(copies), "--out",
                         str(pkg), "--validator", REAL)
    assert code == 1, err
    assert "the validator found possible PHI (header)" in out and "02/03/1971" not in out
    assert not pkg.exists() and not list(tmp_path.glob(".*"))
