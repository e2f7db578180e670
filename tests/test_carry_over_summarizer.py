"""A folder an earlier phi-review saved decisions into IN PLACE is carried over on the first save.

Earlier versions appended Action/Comments/Reviewer/Reviewed At to the validator's
``SiteA.csv`` and kept ``SiteA.orig.csv`` beside it: the real
``summarize-validation-reports`` stopped on that folder (or read rows twice).
After one save with today's phi-review, the decisions live in
``.SiteA.csv.reviewed``, ``SiteA.csv`` is the validator's own bytes again, the
old backup is hidden, and the summarizer gives the summary of the untouched
validator output. Missing summarizer: fails under CI, skipped elsewhere.
"""

from __future__ import annotations

import csv
import glob
import io
import subprocess
from pathlib import Path

import pytest

from phi_review.core.report.csv_carry_over import strip_our_columns
from phi_review.core.report.reader import read_report
from phi_review.core.review.session import ReviewSession
from phi_review.tui.cli import main

from test_csv_sidecar_summarizer import _main_summarizer, _validator_csv, summarize

OLD_COLUMNS = ["Action", "Comments", "Reviewer", "Reviewed At"]  # the order the earlier version wrote


def _decorate(data: bytes, decisions: dict[int, list[str]]) -> bytes:
    """What the earlier version left: every record + our four fields (header names them), CRLF kept."""
    rows = list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))
    out = []
    for number, row in enumerate(rows, start=1):
        extra = OLD_COLUMNS if number == 1 else decisions.get(number, ["", "", "", ""])
        out.append(row + extra)
    text = io.StringIO(newline="")
    csv.writer(text).writerows(out)
    return text.getvalue().encode("utf-8")


def _folder(tmp_path: Path) -> tuple[Path, dict[str, bytes]]:
    top = tmp_path / "reports"
    originals: dict[str, bytes] = {}
    for collection, sites in (("COLL1", ("SiteA", "SiteB")), ("COLL2", ("SiteC",))):
        (top / collection).mkdir(parents=True)
        for site in sites:
            path = top / collection / f"{site}.csv"
            originals[str(path)] = _validator_csv(path, site, [f"{site.lower()}{i}.dcm" for i in range(3)])
    return top, originals


def _old_version_left(site: Path, with_backup: bool) -> None:
    data = site.read_bytes()
    if with_backup:
        (site.parent / f"{site.stem}.orig.csv").write_bytes(data)
    site.write_bytes(_decorate(data, {2: ["No Issue / False Positive", "old note", "olga", "2025-01-02 10:00"],
                                      4: ["Needs Metadata Update", "", "olga", "2025-01-02 10:01"]}))


def _snapshot(top: Path) -> dict[str, bytes]:
    return {p: Path(p).read_bytes() for p in sorted(glob.glob(f"{top}/*/*.csv"))}


@pytest.mark.parametrize("with_backup", [True, False], ids=["old-backup", "no-backup"])
def test_first_save_carries_the_decisions_over_and_the_summary_is_the_validators(
        with_backup: bool, tmp_path: Path, capsys) -> None:
    exe = _main_summarizer()
    top, originals = _folder(tmp_path)
    before = summarize(exe, top, tmp_path / "before.csv")
    site_a = top / "COLL1" / "SiteA.csv"
    _old_version_left(site_a, with_backup)
    broken = subprocess.run([exe, "--output", str(tmp_path / "broken.csv"), str(top)], capture_output=True,
                            timeout=120, cwd=tmp_path)
    assert broken.returncode != 0 or (tmp_path / "broken.csv").read_bytes() != before  # the problem is real

    assert main(["decide", str(site_a), "3", "2", "--reviewer", "rev"]) == 0
    err = capsys.readouterr().err
    carried = [line for line in err.splitlines() if "earlier phi-review" in line]
    assert len(carried) == 1 and ".SiteA.csv.reviewed" in carried[0]
    assert ("SiteA.orig.csv moved to .SiteA.csv.orig" in carried[0]) is with_backup

    assert _snapshot(top) == originals  # the validator's bytes, and no other *.csv (the old backup is hidden)
    assert summarize(exe, top, tmp_path / "after.csv") == before
    assert (site_a.parent / ".SiteA.csv.orig").is_file() is with_backup
    report = read_report(site_a)
    assert report.sources[0].reviewed is not None and report.sources[0].reviewed.exists
    assert [(f.row, f.action, f.note, f.reviewer) for f in report.findings if f.action] == [
        (2, "No Issue / False Positive", "old note", "olga"), (3, "Needs Deletion & Re-upload", "", "rev"),
        (4, "Needs Metadata Update", "", "olga")]
    # A second save goes to the copy as for any validator file; the folder opens as one report, rows once.
    assert main(["decide", str(top / "COLL1"), "SiteA.csv:5", "1", "--reviewer", "rev"]) == 0
    with ReviewSession.open(top / "COLL1", read_only=True) as session:
        decided = {(f.source, f.row) for f in session.findings if f.action}
        assert decided == {("SiteA.csv", 2), ("SiteA.csv", 3), ("SiteA.csv", 4), ("SiteA.csv", 5)}
        assert len(session.findings) == 24
    assert _snapshot(top) == originals
    assert summarize(exe, top, tmp_path / "again.csv") == before


def test_opening_says_what_the_next_save_does(tmp_path: Path) -> None:
    top, _ = _folder(tmp_path)
    site_a = top / "COLL1" / "SiteA.csv"
    _old_version_left(site_a, True)
    report = read_report(site_a)
    notes = [w for w in report.warnings if "earlier phi-review" in w]
    assert len(notes) == 1 and "next save" in notes[0] and "SiteA.orig.csv" in notes[0]


def test_stripping_gives_the_validators_bytes_back(tmp_path: Path) -> None:
    top, originals = _folder(tmp_path)
    site = top / "COLL2" / "SiteC.csv"
    decorated = _decorate(site.read_bytes(), {3: ["x", "a, \"quoted\"\r\nnote", "r", "t"]})
    assert strip_our_columns(decorated, site.name, 7) == originals[str(site)]


def test_a_reviewed_copy_with_other_rows_refuses_the_save(tmp_path: Path, capsys) -> None:
    top, originals = _folder(tmp_path)
    site_a = top / "COLL1" / "SiteA.csv"
    _old_version_left(site_a, True)
    (site_a.parent / ".SiteA.csv.reviewed").write_bytes(originals[str(top / "COLL1" / "SiteB.csv")])
    decorated = site_a.read_bytes()
    assert main(["decide", str(site_a), "3", "2", "--reviewer", "rev"]) != 0
    err = capsys.readouterr().err
    assert ".SiteA.csv.reviewed" in err and "DOE" not in err
    assert site_a.read_bytes() == decorated and (site_a.parent / "SiteA.orig.csv").is_file()


def test_a_carry_over_killed_after_the_copy_is_finished_by_the_next_save(tmp_path: Path, capsys) -> None:
    """Killed after step 1 (the copy written, the validator's file still decorated): the next save ends it."""
    from phi_review.core.report.csv_reviewed import ReviewedCopy, fingerprint_of, meta_path, reviewed_path, write_reviewed

    top, originals = _folder(tmp_path)
    site_a = top / "COLL1" / "SiteA.csv"
    _old_version_left(site_a, True)
    decorated = site_a.read_bytes()
    original = originals[str(site_a)]
    write_reviewed(ReviewedCopy(reviewed_path(site_a), meta_path(site_a), fingerprint_of(original, site_a)),
                   site_a, decorated)
    assert main(["decide", str(site_a), "5", "4", "--reviewer", "rev"]) == 0
    assert "earlier phi-review" in capsys.readouterr().err
    assert _snapshot(top) == originals
    actions = {f.row: f.action for f in read_report(site_a).findings if f.action}
    assert actions == {2: "No Issue / False Positive", 4: "Needs Metadata Update", 5: "Needs DMCC/JPL Review"}


def test_one_session_saves_again_after_the_carry_over(tmp_path: Path) -> None:
    top, originals = _folder(tmp_path)
    site_a = top / "COLL1" / "SiteA.csv"
    _old_version_left(site_a, False)
    with ReviewSession.open(site_a, reviewer="rev") as session:
        session.decide([2], "Follow-up Needed")
        warnings = session.save()
        assert any("earlier phi-review" in w for w in warnings)
        session.decide([3], "Needs DMCC/JPL Review")
        session.save()
    assert _snapshot(top) == originals
    actions = {f.row: f.action for f in read_report(site_a).findings if f.action}
    assert actions == {2: "No Issue / False Positive", 4: "Follow-up Needed", 5: "Needs DMCC/JPL Review"}
