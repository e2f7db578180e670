"""A release from the validator's own CSVs (a folder of <site>.csv), decided with `decide`, read as `summary` reads it."""

from __future__ import annotations

import csv
import os
from pathlib import Path

from release_tree import cli
from validator.make_tree import make_validator_tree

COLUMNS = ["Site ID", "Event ID", "File Name", "Profile", "Score", "Findings", "Details"]


def test_release_from_a_folder_of_validator_csvs(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("PHI_REVIEW_FIX_SECRET", "release-test-secret")
    monkeypatch.chdir(tmp_path)  # copies in ./corrected: the default folder
    tree = make_validator_tree(tmp_path / "tree")
    reports = tmp_path / "reports"
    reports.mkdir()
    by_site: dict[str, list[list[str]]] = {}
    for entry in tree["files"].values():  # the 1.0.1 pool-mode layout: bare file names, Site ID and Event ID
        by_site.setdefault(entry["site"], []).append(
            [entry["site"], entry["event"], entry["name"], "CT", "1.0", "\U0001f6a8 PHI/PII in header",
             "(0010,0010) (PatientName), \u00abDOE^JANE\u00bb, Possible PHI/PII detection"])
    for site, rows in by_site.items():
        with open(reports / f"{site}.csv", "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(COLUMNS)
            writer.writerows(rows)
    validator_bytes = {p.name: p.read_bytes() for p in reports.iterdir()}
    site_a, site_b = sorted(by_site)
    decisions = {f"{site_a}.csv:2": "Needs Metadata Update", f"{site_a}.csv:3": "Needs Deletion",
                 f"{site_a}.csv:4": "No Issue", f"{site_a}.csv:5": "No Issue", f"{site_a}.csv:6": "No Issue",
                 f"{site_b}.csv:2": "Follow-up", f"{site_b}.csv:3": "Follow-up", f"{site_b}.csv:4": "Needs DMCC"}
    for row, action in decisions.items():
        code, _out, err = cli("decide", str(reports), row, action)
        assert code == 0, err
    code, _out, err = cli("fix", "--report", str(reports), "--root", str(tree["collection"]), "--out", "corrected")
    assert code == 0, err
    code, out, err = cli("release", str(reports), "--root", str(tree["collection"]), "--out", "pkg")
    assert code == 0, err
    assert "held back: 0 rows" in out and "approved, nothing to upload: 3 rows" in out
    deletions = (tmp_path / "pkg" / "deletions.txt").read_text().splitlines()
    assert deletions == [f"SYNTH_Collection/{site_a}/1000001/series1/header_phi.dcm",
                         f"SYNTH_Collection/{site_a}/1000003/series1/header_phi.dcm"]
    assert all((tmp_path / "pkg" / name).is_file() for name in deletions)
    assert {p.name: p.read_bytes() for p in reports.iterdir() if not p.name.startswith(".")} == validator_bytes
    assert "DOE^JANE" not in (tmp_path / "pkg" / "release-manifest.jsonl").read_text()
    assert not os.path.exists(tmp_path / "pkg" / ".validator")
