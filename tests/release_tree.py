"""A reviewed tree for the release tests: the validator's layout, decisions made with `decide`, copies with `fix`."""

from __future__ import annotations

import contextlib
import io
import os
from pathlib import Path
from typing import Any

from phi_review.sample_reports.make_workbook import build_report_workbook
from phi_review.tui.cli import main
from validator.make_tree import make_validator_tree

A = "Images_Site_SYNTHa1"
B = "Images_Site_SYNTHb2"
META = f"{A}/1000001/series1/header_phi.dcm"  # Needs Metadata Update, fixed: released
DELETE = f"{A}/1000003/series1/header_phi.dcm"  # Needs Deletion & Re-upload, fixed: released
APPROVED = f"{A}/1000001/series2/bad_tags.dcm"  # No Issue / False Positive
REVIEW = f"{A}/1000002/series1/long_cine.dcm"  # Needs DMCC/JPL Review
UNDECIDED = f"{A}/1000002/series1/short_cine.dcm"  # no decision
RESIDUAL = f"{B}/2000001/series1/single_burned.dcm"  # its copy failed the proof: under residual/
NO_COPY = f"{B}/2000002/series1/localizer.dcm"  # decided, never fixed
FOLLOW = f"{B}/2000001/series2/tiny.dcm"  # Follow-up Needed

DECISIONS = {META: "Needs Metadata Update", DELETE: "Needs Deletion & Re-upload", APPROVED: "No Issue",
             REVIEW: "Needs DMCC", RESIDUAL: "Needs Metadata Update", NO_COPY: "Needs Metadata Update",
             FOLLOW: "Follow-up"}
# What the planted files hold (make_tree): none of it may reach a release's manifest or banner.
PHI = ("DOE^JANE", "DOE", "000-12-3456", "02/03/1971", "ROE^RICHARD", "POE^MARY", "LOE^ALEX", "7212121",
       "7020202", "03/04/1969", "SYNTHETIC GENERAL HOSPITAL")


def cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


def reviewed_tree(base: Path) -> dict[str, Any]:
    """Tree, report (.xlsx), decisions (`decide`) and copies (`fix`), as a site would have them before a release."""
    os.environ.setdefault("PHI_REVIEW_FIX_SECRET", "release-test-secret")
    tree = make_validator_tree(base / "tree")
    collection: Path = tree["collection"]
    names = {rel: f"{collection.name}/{rel}" for rel in tree["files"]}
    rows = [{"file": names[rel], "issue": "Possible PHI/PII in Header", "tag": "", "value": "", "action": "",
             "note": ""} for rel in tree["files"]]
    report = build_report_workbook(base / "report.xlsx", rows)
    for rel, action in DECISIONS.items():
        code, _out, err = cli("decide", str(report), names[rel], action, "--reviewer", "rev1",
                              "--note", "note text stays out of the release")
        assert code == 0, err
    copies = base / "corrected"
    for rel in (META, DELETE):
        code, _out, err = cli("fix", str(collection / rel), "--root", str(collection), "--out", str(copies),
                              "--reviewer", "rev1")
        assert code == 0, err
    # A careless fix that claims the identity removed but keeps the patient ID: the proof puts it aside.
    code, _out, _err = cli("fix", str(collection / RESIDUAL), "--root", str(collection), "--out", str(copies),
                           "--profile", "none", "--blank", "PatientName", "--set", "PatientIdentityRemoved=YES")
    assert code != 0 and (copies / "residual" / RESIDUAL).is_file() and not (copies / RESIDUAL).exists()
    return {"report": report, "collection": collection, "copies": copies, "names": names, "base": base}


def release_args(world: dict[str, Any], pkg: Path, *extra: str) -> list[str]:
    return ["release", str(world["report"]), "--root", str(world["collection"]), "--copies", str(world["copies"]),
            "--out", str(pkg), *extra]
