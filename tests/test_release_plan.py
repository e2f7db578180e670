"""The release plan: a file's rows decide together; names in the package follow the validator's layout."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from phi_review.core.dicom.locate import FileIndex
from phi_review.core.release.copies import CopyIndex
from phi_review.core.release.layout import (
    APPROVED, DELETE, INFORMATICS, METADATA, UNDECIDED, UNKNOWN, category, labcas_name,
)
from phi_review.core.release.plan import plan_release
from phi_review.core.report.model import Finding
from release_tree import APPROVED as BAD_TAGS, META, REVIEW, cli
from validator.make_tree import make_validator_tree


@pytest.mark.parametrize(("action", "expected"), [
    ("No Issue / False Positive", APPROVED), ("no issue", APPROVED), ("Needs Deletion & Re-upload", DELETE),
    ("NEEDS METADATA UPDATE", METADATA), ("Needs DMCC/JPL Review", INFORMATICS), ("Follow-up Needed", INFORMATICS),
    ("", UNDECIDED), ("  ", UNDECIDED), ("Looks fine to me", UNKNOWN),
])
def test_actions_are_read_whatever_their_case_and_punctuation(action: str, expected: str) -> None:
    assert category(action) == expected


def test_labcas_names_follow_the_validator_layout(tmp_path: Path) -> None:
    col = tmp_path / "data" / "Prostate_MRI"
    f = col / "Site_A" / "1234567" / "s1" / "x.dcm"
    assert labcas_name(f, col) == "Prostate_MRI/Site_A/1234567/s1/x.dcm"  # the root is the collection
    assert labcas_name(f, tmp_path) == "Prostate_MRI/Site_A/1234567/s1/x.dcm"  # the root is above it
    assert labcas_name(f, col / "Site_A") == "Prostate_MRI/Site_A/1234567/s1/x.dcm"  # the root is the site
    g = tmp_path / "demo" / "SITE01" / "STUDY_1" / "x.dcm"
    assert labcas_name(g, tmp_path / "demo") == "demo/SITE01/STUDY_1/x.dcm"  # no event folder: root = collection


def _finding(row: int, file: str, action: str, reviewed_at: str = "2020-01-01T00:00:00Z") -> Finding:
    return Finding(row, file, issue="Possible PHI/PII in Header", action=action, reviewer="rev1" if action else "",
                   reviewed_at=reviewed_at if action else "")


def test_a_files_rows_decide_together(tmp_path: Path) -> None:
    os.environ.setdefault("PHI_REVIEW_FIX_SECRET", "release-test-secret")
    collection = make_validator_tree(tmp_path / "tree")["collection"]
    copies = tmp_path / "corrected"
    for rel in (META, BAD_TAGS):
        code, _out, err = cli("fix", str(collection / rel), "--root", str(collection), "--out", str(copies))
        assert code == 0, err
    name = {rel: f"{collection.name}/{rel}" for rel in (META, BAD_TAGS, REVIEW)}
    findings = [
        _finding(2, name[META], "No Issue / False Positive"),  # META: replaced, both rows go with it
        _finding(3, name[META], "Needs Metadata Update"),
        _finding(4, name[BAD_TAGS], "Needs Metadata Update"),  # copy exists, but another row is undecided
        _finding(5, name[BAD_TAGS], ""),
        _finding(6, name[REVIEW], "No Issue / False Positive"),  # one row for the informatics centre: all go
        _finding(7, name[REVIEW], "Needs DMCC/JPL Review"),
        _finding(8, "SYNTH_Collection/Nowhere/1000009/s/gone.dcm", "No Issue / False Positive"),
        _finding(9, "SYNTH_Collection/Nowhere/1000009/s/gone2.dcm", "Needs Metadata Update"),
        _finding(10, "SYNTH_Collection/Nowhere/1000009/s/gone3.dcm", "Perhaps; patient DOE^JANE"),
    ]
    plan = plan_release(findings, lambda f: "r.xlsx", FileIndex.build([collection]), CopyIndex([copies]),
                        [collection])
    assert [(f.labcas, f.category, [r.row for r in f.rows]) for f in plan.files] == [(name[META], METADATA, [2, 3])]
    assert plan.files[0].require == ["PatientIdentityRemoved"]
    rows = {r.row: r for r in plan.rows}
    assert (rows[4].status, rows[5].status) == ("held", "held")
    assert rows[5].reason == "no decision" and "row 5 of r.xlsx is undecided" in rows[4].reason
    assert (rows[6].status, rows[7].status) == (INFORMATICS, INFORMATICS)
    assert rows[8].status == APPROVED and rows[8].name.endswith("gone.dcm")
    assert rows[9].status == "held" and "not found" in rows[9].reason
    assert rows[10].status == "held" and rows[10].action == ""  # typed text is not copied into the release
    assert "DOE" not in str([r.record() for r in plan.rows])
    digests = {plan.digest()}
    index = FileIndex.build([collection])
    for finding, action, when in ((findings[3], "Needs DMCC/JPL Review", "2020-01-02T00:00:00Z"),
                                  (findings[3], "Needs DMCC/JPL Review", "2020-01-03T00:00:00Z")):
        finding.action, finding.reviewed_at = action, when
        digests.add(plan_release(findings, lambda f: "r.xlsx", index, CopyIndex([copies]), [collection]).digest())
    assert len(digests) == 3  # a resumed release is the same release: same fates, decisions and times


def test_identical_files_never_stand_in_for_each_other(tmp_path: Path) -> None:
    """Two slices with the same bytes: the copy of one is not released as the other (found by hash alone)."""
    import shutil

    os.environ.setdefault("PHI_REVIEW_FIX_SECRET", "release-test-secret")
    collection = make_validator_tree(tmp_path / "tree")["collection"]
    twin = collection / "Images_Site_SYNTHa1" / "1000001" / "series1" / "twin.dcm"
    shutil.copyfile(collection / META, twin)
    copies = tmp_path / "corrected"
    code, _out, err = cli("fix", str(collection / META), "--root", str(collection), "--out", str(copies))
    assert code == 0, err
    findings = [_finding(2, f"{collection.name}/{META}", "Needs Metadata Update"),
                _finding(3, f"{collection.name}/{twin.relative_to(collection)}", "Needs Metadata Update")]
    plan = plan_release(findings, lambda f: "r.xlsx", FileIndex.build([collection]), CopyIndex([copies]),
                        [collection])
    assert [f.rows[0].row for f in plan.files] == [2]
    assert [(r.row, r.reason) for r in plan.held] == [(3, f"no corrected copy of this file in {copies}")]


def test_an_original_changed_after_its_copy_was_made_is_held(tmp_path: Path) -> None:
    os.environ.setdefault("PHI_REVIEW_FIX_SECRET", "release-test-secret")
    collection = make_validator_tree(tmp_path / "tree")["collection"]
    copies = tmp_path / "corrected"
    code, _out, err = cli("fix", str(collection / META), "--root", str(collection), "--out", str(copies))
    assert code == 0, err
    with open(collection / META, "ab") as handle:  # a synthetic original, changed after the fix
        handle.write(b"\0" * 8)
    findings = [_finding(2, f"{collection.name}/{META}", "Needs Metadata Update")]
    plan = plan_release(findings, lambda f: "r.xlsx", FileIndex.build([collection]), CopyIndex([copies]),
                        [collection])
    assert plan.files == [] and "not the ones its copy was made from" in plan.held[0].reason


def test_a_name_with_a_line_break_is_held_not_listed(tmp_path: Path) -> None:
    """deletions.txt is one name a line: a name that breaks a line would delete the wrong file."""
    import shutil

    os.environ.setdefault("PHI_REVIEW_FIX_SECRET", "release-test-secret")
    collection = make_validator_tree(tmp_path / "tree")["collection"]
    odd = collection / "Images_Site_SYNTHa1" / "1000001" / "series1" / "a\nb.dcm"
    shutil.copyfile(collection / META, odd)
    copies = tmp_path / "corrected"
    code, _out, err = cli("fix", str(odd), "--root", str(collection), "--out", str(copies))
    assert code == 0, err
    findings = [_finding(2, f"{collection.name}/{odd.relative_to(collection)}", "Needs Metadata Update")]
    plan = plan_release(findings, lambda f: "r.xlsx", FileIndex.build([collection]), CopyIndex([copies]),
                        [collection])
    assert plan.files == [] and "line break" in plan.held[0].reason


def test_the_banner_counts_many_held_rows_by_reason() -> None:
    from phi_review.core.release.summary import SHOWN, banner

    held = [{"source": "r.csv", "row": n, "name": f"C/S/1000000/x{n}.dcm",
             "reason": "no decision" if n % 3 else "no corrected copy of this file in out"} for n in range(2, 302)]
    summary = {"approved": 0, "informatics": 0}
    lines = banner(summary, held, published=False, where="")
    assert "        200  no decision" in lines and "        100  no corrected copy of this file in out" in lines
    assert sum(line.startswith("    r.csv:") for line in lines) == SHOWN
    assert lines[-1] == f"    ... and {300 - SHOWN} more (phi-review summary counts the undecided)"
