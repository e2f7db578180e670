"""`phi-review stats`: counts on the demo report, cleared pixels from the manifest, pace from the journal,
kappa on a hand-computed example, JSON keys and 80-column text."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from phi_review.core.report.model import DEFAULT_ACTIONS
from phi_review.core.report.reader import read_report
from phi_review.core.review.journal import journal_path
from phi_review.core.review.session import ReviewSession
from phi_review.core.review.stats import compute_stats, copy_proofs
from phi_review.core.review.stats_pace import agreement, kappa, progress_of
from phi_review.sample_reports.build_demo import PIXELS, build_demo
from phi_review.tui.cli import main
from phi_review.tui.commands.stats import render_text

NO_ISSUE, DELETE = DEFAULT_ACTIONS[0], DEFAULT_ACTIONS[1]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_demo(tmp_path_factory.mktemp("demo"))


@pytest.fixture()
def decided(tmp_path: Path) -> Path:
    """A fresh demo with three pixel rows and two header rows decided, saved."""
    report = build_demo(tmp_path / "demo")
    with ReviewSession.open(report, reviewer="ann") as session:
        pixels = [i for i, f in enumerate(session.findings) if f.issue == PIXELS]
        headers = [i for i, f in enumerate(session.findings) if f.tag == "InstitutionName"]
        session.decide(pixels[:2], NO_ISSUE)
        session.decide(pixels[2:3], DELETE)
        session.decide(headers[:2], NO_ISSUE)
        session.save()
    return report


def test_demo_counts_before_any_decision(demo: Path) -> None:
    data = compute_stats(read_report(demo))
    assert data["rows"] == 24 and data["reviewed"] == 0 and data["files"] == 24
    assert data["by_issue_action"] == {
        "Possible PHI/PII in Header": {"(unreviewed)": 16},
        "Missing Required Tags": {"(unreviewed)": 1},
        "Possible Burned-in PHI/PII (Pixels)": {"(unreviewed)": 7},
    }
    assert data["pixels"] == {"detected": 7, "cleared": 0, "rejected": 0, "pending": 7}
    assert {tag: e["rows"] for tag, e in data["entities"].items()} == {
        "InstitutionName": 8, "PatientName": 7, "PatientID": 1}
    assert sum(site["rows"] for site in data["by_site"].values()) == 24
    assert data["by_site"]["SITE01"]["rows"] == 9 and data["by_site"]["SITE04"]["rows"] == 6
    assert data["by_patient"] == {} and data["patients_read"] is False


def test_decisions_are_counted_and_paced(decided: Path) -> None:
    report = read_report(decided)
    data = compute_stats(report, journal=journal_path(decided))
    assert data["reviewed"] == 5
    assert data["by_issue_action"]["Possible Burned-in PHI/PII (Pixels)"] == {
        "(unreviewed)": 4, NO_ISSUE: 2, DELETE: 1}
    assert data["pixels"] == {"detected": 7, "cleared": 0, "rejected": 2, "pending": 5}
    assert data["entities"]["InstitutionName"]["rejected"] == 2
    assert data["entities"]["InstitutionName"]["by_action"] == {"(unreviewed)": 6, NO_ISSUE: 2}
    assert data["progress"]["decisions"] == 5
    assert set(data["progress"]["by_reviewer"]) == {"ann"}
    assert data["progress"]["remaining_rows"] == 19


def test_a_copy_is_cleared_only_when_its_manifest_says_clean(decided: Path) -> None:
    report = read_report(decided)
    pixel = [f for f in report.findings if f.issue == PIXELS]
    out = decided.parent / "corrected"
    out.mkdir()
    lines = [{"copy_rel": "a.dcm", "proof": {"status": "clean"}},
             {"copy_rel": "b.dcm", "proof": {"status": "residual-accepted"}},
             {"copy_rel": "c.dcm", "proof": {"status": "clean"}},
             {"copy_rel": "c.dcm", "proof": {"status": "residual"}}]  # the latest line of a copy counts
    (out / "manifest.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines))
    pixel[0].corrected_copy = "corrected/a.dcm"
    pixel[1].corrected_copy = "corrected/b.dcm"
    pixel[2].corrected_copy = "corrected/c.dcm"
    pixel[3].corrected_copy = "corrected/none.dcm"
    data = compute_stats(report, clean_copies=copy_proofs(report))
    assert data["pixels"]["cleared"] == 1
    assert sum(data["pixels"][k] for k in ("cleared", "rejected", "pending")) == data["pixels"]["detected"] == 7


def test_pace_from_a_journal(tmp_path: Path) -> None:
    journal = tmp_path / "j.jsonl"
    steps = [("ann", "2025-01-02T03:00:00Z", 1), ("ann", "2025-01-02T03:00:10Z", 1),
             ("ann", "2025-01-02T03:00:40Z", 3), ("ann", "2025-01-02T05:00:00Z", 1),  # a break: not a pace
             ("bob", "2025-01-02T03:00:05Z", 2)]
    with open(journal, "w") as handle:
        for n, (who, when, count) in enumerate(steps):
            rows = [{"row": 2 + i, "file": "f", "old": {}} for i in range(count)]
            handle.write(json.dumps({"kind": "decide", "step": n * 10 + 1, "n": count, "reviewer": who,
                                     "time": when, "v": 2, "new": {}, "rows": rows}) + "\n")
        handle.write('{"kind":"decide","step":99,"tor')  # a torn last line is no step
    progress = progress_of(journal, remaining=30)
    assert progress["decisions"] == 8
    assert progress["median_seconds_per_row"] == 10.0
    assert progress["remaining_seconds"] == 300.0
    assert progress["by_reviewer"]["ann"]["decisions"] == 6
    assert progress["by_reviewer"]["bob"]["median_seconds_per_row"] is None
    assert progress["decisions_per_hour"] == 360.0


def test_kappa_of_a_hand_computed_example() -> None:
    # 50 rows: both A 20, A/B 5, B/A 10, both B 15 -> po 0.7, pe 0.5*0.6 + 0.5*0.4 = 0.5, kappa 0.4
    pairs = [("A", "A")] * 20 + [("A", "B")] * 5 + [("B", "A")] * 10 + [("B", "B")] * 15
    assert kappa(pairs) == pytest.approx(0.4)
    assert kappa([("A", "A"), ("B", "B")]) == 1.0
    assert kappa([("A", "A")] * 3) is None  # chance agreement is certain: undefined
    assert kappa([]) is None
    rows = [("header", a, b) for a, b in pairs] + [("pixels", "A", "B")]
    result = agreement(rows, ["A", "B", "C", "D", "E"])
    assert (result["reviewed"], result["agreed"], result["disputed"]) == (51, 35, 16)
    assert result["by_issue"]["header"]["kappa"] == pytest.approx(0.4)
    assert result["by_issue"]["header"]["agreement"] == 0.7
    assert result["by_issue"]["pixels"]["agreement"] == 0.0


def test_json_keys(decided: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["stats", str(decided), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    for key in ("rows", "reviewed", "by_issue_action", "by_site", "by_patient", "pixels", "entities",
                "progress", "second_pass"):
        assert key in data
    assert set(data["pixels"]) == {"detected", "cleared", "rejected", "pending"}
    assert {"reviewed", "agreed", "disputed", "agreement", "kappa"} <= set(data["second_pass"])
    assert data["rows"] == 24 and data["reviewed"] == 5


def test_patients_are_numbered_never_named(decided: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["stats", str(decided), "--root", str(decided.parent / "dicom"), "--json"]) == 0
    out = capsys.readouterr().out
    data = json.loads(out)
    assert data["patients_read"] is True
    assert sum(p["rows"] for p in data["by_patient"].values()) == 24
    assert all(label.startswith("P") or label == "(file not found)" for label in data["by_patient"])
    assert "MRN-0042-7781" not in out.split('"report"')[0]


def test_text_fits_80_columns(decided: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["stats", str(decided), "--root", str(decided.parent / "dicom")]) == 0
    out = capsys.readouterr().out
    assert "Pixel findings: 7 detected" in out
    assert max(len(line) for line in out.splitlines()) <= 80
    data = compute_stats(read_report(decided))
    data["entities"]["x" * 200 + "\x1b[31m"] = {"rows": 10**9, "reviewed": 0, "cleared": 0, "rejected": 0,
                                                "by_action": {}}
    text = render_text(data, "r" * 300)
    assert max(len(line) for line in text.splitlines()) <= 80
    assert "\x1b" not in text


def test_files_count_a_file_of_several_rows_once(tmp_path: Path) -> None:
    from phi_review.sample_reports.build_demo import HEADER
    from phi_review.sample_reports.make_workbook import build_report_workbook

    def row(file: str, issue: str, action: str = "") -> dict[str, str]:
        return {"file": file, "issue": issue, "tag": "PatientName" if issue == HEADER else "", "value": "X^Y",
                "action": action, "note": ""}

    report = tmp_path / "r.xlsx"
    build_report_workbook(report, [
        row("S1/1234567/a.dcm", HEADER, NO_ISSUE), row("S1/1234567/a.dcm", PIXELS),  # one file, two rows
        row("S1/1234567/a.dcm", HEADER, NO_ISSUE),  # the same file, issue and action again
        row("S1/7654321/b.dcm", HEADER), row("S2/1111111/c.dcm", PIXELS, DELETE)])
    data = compute_stats(read_report(report))
    assert (data["rows"], data["files"], data["reviewed"]) == (5, 3, 3)
    assert data["files_by_issue_action"]["Possible PHI/PII in Header"] == {NO_ISSUE: 1, "(unreviewed)": 1}
    assert data["by_issue_action"]["Possible PHI/PII in Header"] == {NO_ISSUE: 2, "(unreviewed)": 1}
    s1 = data["by_site"]["S1"]
    assert (s1["rows"], s1["files"], s1["reviewed"]) == (4, 2, 2)
    assert s1["events"]["1234567"] == data["by_event"]["S1/1234567"]
    assert (data["by_event"]["S1/1234567"]["rows"], data["by_event"]["S1/1234567"]["files"]) == (3, 1)
    assert data["by_event"]["S2/1111111"]["by_issue_action"] == {"Possible Burned-in PHI/PII (Pixels)": {DELETE: 1}}


def test_validator_csv_tags_from_details_and_site_event_columns(tmp_path: Path) -> None:
    import csv

    folder = tmp_path / "COLL"
    folder.mkdir()
    rows = [["Site ID", "Event ID", "File Name", "Profile", "Score", "Findings", "Details"]]
    for i in range(3):
        rows.append(["SiteA", "1234567", f"f{i}.dcm", "CT", "1.0", "\U0001f648 Possible PHI/PII in Header",
                     f"(0010,0010) (PatientName), \u00abNAME{i}\u00bb, x"])
    rows.append(["SiteB", "7654321", "g.dcm", "CT", "1.0", "\U0001f648 Possible PHI/PII in Header",
                 "(0008,0080), \u00abHOSP\u00bb"])
    with open(folder / "SiteA.csv", "w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(rows)
    data = compute_stats(read_report(folder / "SiteA.csv"))
    assert {tag: e["rows"] for tag, e in data["entities"].items()} == {"PatientName (0010,0010)": 3,
                                                                       "(0008,0080)": 1}
    assert set(data["by_event"]) == {"SiteA/1234567", "SiteB/7654321"}
    assert data["by_site"]["SiteA"]["files"] == 3
