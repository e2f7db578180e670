"""`phi-review stats --html`: one self-contained page that holds none of the report's identifiers."""

from __future__ import annotations

from pathlib import Path

import lxml.html
import pytest

from phi_review.core.common.errors import PhiReviewError
from phi_review.core.proof.identifiers import Identifier, collect_identifiers
from phi_review.core.proof.search import ByteSearch
from phi_review.core.report.reader import read_report
from phi_review.core.review.stats_files import refuse_identifiers
from phi_review.sample_reports.build_demo import HEADER, PIXELS, build_demo
from phi_review.sample_reports.make_workbook import build_report_workbook
from phi_review.tui.cli import main


def _identifiers_of(report: Path) -> list[Identifier]:
    """Every identifier of every demo file, and every detected value: found independently of stats."""
    found = [Identifier(f.value, "value", "") for f in read_report(report).findings
             if len(f.value) >= 3 and f.issue != "Missing Required Tags"]
    for path in (report.parent / "dicom").rglob("*.dcm"):
        found.extend(collect_identifiers(path))
    return found


def test_demo_page_holds_no_identifier_and_parses(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    report = build_demo(tmp_path / "demo")
    out = tmp_path / "stats.html"
    assert main(["stats", str(report), "--root", str(report.parent / "dicom"), "--html", str(out)]) == 0
    capsys.readouterr()
    data = out.read_bytes()
    identifiers = _identifiers_of(report)
    assert len(identifiers) > 20
    assert ByteSearch(identifiers).search_plain(data) == []
    for needle in (b"Lestrade", b"DOE^JANE", b"MRN-0042-7781", b"JFK IMAGING", b"CompressedSamples"):
        assert needle.lower() not in data.lower()
    page = lxml.html.fromstring(data)
    assert page.find(".//title") is not None
    assert len(page.findall(".//svg")) > 5
    text = data.lower()
    assert b"<script" not in text and b" src=" not in text and b"href=" not in text and b"@import" not in text
    assert b"Pixel findings (7 detected)" in data


def test_page_with_a_detected_value_in_a_label_is_refused(tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    report = tmp_path / "r.xlsx"
    rows = [{"file": "a/b.dcm", "issue": PIXELS, "tag": "", "value": "Holmes^Sherlock", "action": "", "note": ""},
            # a header row whose Tag cell holds a name: the tag is a label of the page
            {"file": "a/c.dcm", "issue": HEADER, "tag": "Holmes^Sherlock", "value": "Holmes^Sherlock",
             "action": "", "note": ""}]
    build_report_workbook(report, rows)
    out = tmp_path / "stats.html"
    assert main(["stats", str(report), "--html", str(out)]) == 2
    err = capsys.readouterr().err
    assert "not writing stats.html" in err and "row(s)" in err
    assert "holmes" not in err.lower()
    assert not out.exists()


def test_refusal_names_rows_never_values() -> None:
    owners = {Identifier("Watson^John", "name", "(0010,0010)"): 12, Identifier("19620314", "date", ""): 40}
    with pytest.raises(PhiReviewError) as caught:
        refuse_identifiers(b"<p>watson^john was here on 19620314</p>", owners, "x.html")
    message = str(caught.value)
    assert "12, 40" in message and "watson" not in message.lower() and "1962" not in message
    refuse_identifiers(b"<p>nothing here 1962031499</p>", owners, "x.html")  # inside a longer number: no hit


def test_html_through_a_symlink_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    report = build_demo(tmp_path / "demo")
    target = tmp_path / "elsewhere.html"
    target.write_text("keep")
    link = tmp_path / "stats.html"
    link.symlink_to(target)
    assert main(["stats", str(report), "--html", str(link)]) == 2
    assert "symlink" in capsys.readouterr().err
    assert target.read_text() == "keep"


def test_page_shows_the_second_pass_and_pace(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from phi_review.core.report.model import DEFAULT_ACTIONS
    from phi_review.core.review.session import ReviewSession

    report = build_demo(tmp_path / "demo")
    with ReviewSession.open(report, reviewer="ann") as session:
        session.decide([0, 1], DEFAULT_ACTIONS[0])
        session.save()
    with ReviewSession.open(report, reviewer="bob") as session:
        session.second_review([0], DEFAULT_ACTIONS[0])
        session.second_review([1], DEFAULT_ACTIONS[1], note="a name in the corner")
        session.save()
    out = tmp_path / "s.html"
    assert main(["stats", str(report), "--html", str(out)]) == 0
    capsys.readouterr()
    page = lxml.html.fromstring(out.read_bytes())
    text = page.text_content()
    assert "2 checked, 1 agreed, 1 disputed, 50.0%" in text
    assert "bob" in text and "ann" in text  # reviewers' decisions, from the journal
    assert "a name in the corner" not in text  # notes never reach the page
