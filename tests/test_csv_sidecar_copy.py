"""The reviewed copy of a validator CSV: where it lives, what it holds, when it is refused, how it goes back.

A CSV whose first record is the validator's header is never written; a save
writes ``.<name>.reviewed`` beside it (original bytes + our columns) and
``.<name>.reviewed.json`` (sizes and digests). A user's own CSV is saved in place.
"""

from __future__ import annotations

import csv
import glob
import io
import json
import os
from pathlib import Path

import pytest

from phi_review.core.common.errors import ReportError
from phi_review.core.report.reader import read_report
from phi_review.core.review.journal import journal_path
from phi_review.core.review.session import ReviewSession
from phi_review.tui.cli import main

HEADER = ["Site ID", "Event ID", "File Name", "Profile", "Score", "Findings", "Details"]
HEADER_EVENT = ["Site ID", "Event ID", "File Name", "Score", "Findings", "Details"]
OURS = ["Action", "Reviewer", "Reviewed At", "Comments"]
NO_ISSUE = "No Issue / False Positive"
HDR = "\U0001f648 Possible PHI/PII in Header"


def _csv(rows: list[list[str]]) -> bytes:
    out = io.StringIO(newline="")
    csv.writer(out).writerows(rows)
    return out.getvalue().encode("utf-8")


def _rows(n: int = 4, header: list[str] = HEADER) -> list[list[str]]:
    body = []
    for i in range(n):
        row = ["SiteA", "E1", f"f{i}.dcm", "CT", "1.0", HDR, f"(0010,0010) (PatientName), \u00abNAME{i}\u00bb, x"]
        body.append(row if header is HEADER else row[:3] + row[4:])
    return [header, *body]


def _copy(path: Path) -> Path:
    return path.with_name(f".{path.name}.reviewed")


def _meta(path: Path) -> Path:
    return path.with_name(f".{path.name}.reviewed.json")


def _decide(path: Path, indexes: list[int], note: str | None = None) -> None:
    with ReviewSession.open(path, reviewer="rev") as session:
        session.decide(indexes, NO_ISSUE, note=note)
        session.save()


@pytest.fixture
def site(tmp_path: Path) -> Path:
    folder = tmp_path / "reports" / "COLL"
    folder.mkdir(parents=True)
    path = folder / "SiteA.csv"
    path.write_bytes(_csv(_rows()))
    return path


@pytest.mark.parametrize("header", [HEADER, HEADER_EVENT], ids=["1.0.x", "per-event"])
def test_the_copy_is_the_original_plus_our_columns_and_no_glob_finds_it(tmp_path: Path, header: list[str]) -> None:
    path = tmp_path / "COLL" / "SiteA.csv"
    path.parent.mkdir()
    original = _csv(_rows(3, header))
    path.write_bytes(original)
    _decide(path, [1], note="seen")
    assert path.read_bytes() == original
    copy = _copy(path).read_bytes()
    lines, old = copy.split(b"\r\n"), original.split(b"\r\n")
    assert lines[0] == old[0] + b"," + ",".join(OURS).encode()
    assert lines[1] == old[1] and lines[3] == old[3]
    assert lines[2].startswith(old[2] + b"," + NO_ISSUE.encode() + b",rev,") and lines[2].endswith(b",seen")
    assert glob.glob(f"{tmp_path}/*/*.csv") == [str(path)]
    assert [p.name for p in tmp_path.rglob("*.csv")] == ["SiteA.csv"]
    meta = json.loads(_meta(path).read_text())
    assert set(meta) == {"format", "version", "original", "reviewed"}  # sizes and digests: no cell text
    assert meta["original"]["size"] == len(original) and meta["reviewed"]["size"] == len(copy)
    assert "NAME" not in _meta(path).read_text() and "seen" not in _meta(path).read_text()
    again = read_report(path)
    assert [(f.action, f.note) for f in again.findings] == [("", ""), (NO_ISSUE, "seen"), ("", "")]
    assert again.headers == header + OURS


def test_a_users_own_csv_is_still_saved_in_place(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    path.write_bytes(_csv([["LabCAS File Name", "Validation Issue", "Detected Value"],
                           ["a.dcm", "Possible PHI/PII in Header", "X"]]))
    _decide(path, [0])
    assert _header(path) == ["LabCAS File Name", "Validation Issue", "Detected Value", *OURS]
    assert not _copy(path).exists() and not _meta(path).exists()
    # A validator header with a column of the user's own is the user's file too.
    other = tmp_path / "Site.csv"
    other.write_bytes(_csv([HEADER + ["Mine"], _rows(1)[1] + ["x"]]))
    _decide(other, [0])
    assert _header(other) == HEADER + ["Mine", *OURS] and not _copy(other).exists()


def test_a_validator_csv_an_earlier_version_saved_into_says_what_stops_the_summarizer(tmp_path: Path) -> None:
    path = tmp_path / "Site.csv"
    rows = _rows(2)
    path.write_bytes(_csv([rows[0] + OURS, rows[1] + [NO_ISSUE, "rev", "2026-01-01T00:00:00Z", ""], rows[2]]))
    (tmp_path / ".Site.csv.orig").write_bytes(_csv(rows))
    report = read_report(path)
    said = [w for w in report.warnings if "summarize-validation-reports" in w]
    assert len(said) == 1 and ".Site.csv.orig" in said[0] and "\n" not in said[0]
    assert report.findings[0].action == NO_ISSUE
    _decide(path, [1])  # the first save carries the decisions over to the copy and puts the validator's file back
    assert [f.action for f in read_report(path).findings] == [NO_ISSUE, NO_ISSUE] and _copy(path).exists()
    assert path.read_bytes() == _csv(rows)


def _header(path: Path) -> list[str]:
    return next(csv.reader(io.StringIO(path.read_text(encoding="utf-8"), newline="")))


def test_an_original_that_changed_since_the_copy_is_refused_in_one_line(site: Path, capsys) -> None:
    _decide(site, [0, 2])
    rows = _rows()
    rows[1], rows[2] = rows[2], rows[1]  # the validator ran again: same rows, another order
    site.write_bytes(_csv(rows))
    with pytest.raises(ReportError) as error:
        read_report(site)
    message = str(error.value)
    assert "\n" not in message and "changed since its reviewed copy" in message and "NAME" not in message
    assert main(["summary", str(site)]) == 2
    assert "changed since its reviewed copy" in capsys.readouterr().err
    with pytest.raises(ReportError):
        ReviewSession.open(site.parent, reviewer="rev")  # the folder too
    assert _copy(site).exists()  # nothing was removed or rewritten


def test_the_copy_is_no_more_readable_than_the_original(site: Path) -> None:
    import stat

    site.chmod(0o600)
    _decide(site, [0])
    for path in (_copy(site), _meta(site)):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_opening_the_copy_itself_names_the_file_to_open(site: Path, capsys) -> None:
    _decide(site, [0])
    for path in (_copy(site), _meta(site)):
        assert main(["summary", str(path)]) == 2
        err = capsys.readouterr().err.strip()
        assert "\n" not in err and "reviewed copy" in err and "open SiteA.csv" in err


def test_without_digests_the_copy_is_taken_only_when_its_rows_are_the_originals(site: Path) -> None:
    _decide(site, [1])
    _meta(site).unlink()  # a save killed between the copy and its digests, or a copy made elsewhere
    assert read_report(site).findings[1].action == NO_ISSUE
    site.write_bytes(site.read_bytes().replace(b"f3.dcm", b"f9.dcm"))
    with pytest.raises(ReportError, match="changed since its reviewed copy"):
        read_report(site)


def test_a_rewritten_original_with_the_same_rows_keeps_its_decisions(site: Path) -> None:
    _decide(site, [3])
    data = site.read_bytes()
    site.write_bytes(b"")
    site.write_bytes(data)  # same bytes, new time: the digests hold
    assert read_report(site).findings[3].action == NO_ISSUE
    json_meta = json.loads(_meta(site).read_text())
    json_meta["original"]["sha256"] = "0" * 64
    _meta(site).write_text(json.dumps(json_meta))  # digests no longer hold: the rows decide
    assert read_report(site).findings[3].action == NO_ISSUE


def test_unsaved_decisions_recover_from_the_journal_named_after_the_validators_file(site: Path) -> None:
    session = ReviewSession.open(site, reviewer="rev")
    session.decide([2], NO_ISSUE, note="later")
    session.close()  # no save: a crash
    assert journal_path(site).exists() and journal_path(site).name.startswith(".SiteA.csv")
    assert not _copy(site).exists()
    with ReviewSession.open(site, reviewer="rev") as again:
        assert again.recovered == 1 and again.findings[2].note == "later"
        said = again.save()  # the first save says where the decisions went, once
        assert any(".SiteA.csv.reviewed" in w and "export" in w for w in said)
    with ReviewSession.open(site, reviewer="rev") as third:
        assert third.recovered == 0 and third.findings[2].action == NO_ISSUE
        third.decide([0], NO_ISSUE)
        assert not third.save()  # a second save splices into the copy, not the original
    assert [f.action for f in read_report(site).findings] == [NO_ISSUE, "", NO_ISSUE, ""]
    assert _header(site) == HEADER


def test_a_copy_made_by_someone_else_after_we_read_stops_our_save(site: Path) -> None:
    session = ReviewSession.open(site, reviewer="rev")
    try:
        session.decide([0], NO_ISSUE)
        _copy(site).write_bytes(site.read_bytes())  # another writer, not through our lock
        with pytest.raises(ReportError, match="changed on disk"):
            session.save()
    finally:
        session.close()


def test_a_link_in_the_copys_place_is_neither_read_nor_written_through(site: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.write_bytes(b"secret")
    _copy(site).symlink_to(elsewhere)
    with pytest.raises(ReportError, match="reviewed copy") as error:
        read_report(site)
    assert "\n" not in str(error.value)
    _copy(site).unlink()
    session = ReviewSession.open(site, reviewer="rev")
    try:
        session.decide([0], NO_ISSUE)
        _meta(site).symlink_to(elsewhere)
        with pytest.raises(ReportError, match="link"):
            session.save()
    finally:
        session.close()
    assert elsewhere.read_bytes() == b"secret"


def test_export_writes_the_reviewed_csv_and_refuses_what_the_summarizer_would_read(site: Path, tmp_path: Path,
                                                                                  capsys) -> None:
    out = tmp_path / "send" / "SiteA-reviewed.csv"
    assert main(["export", str(site), "--out", str(out)]) == 2  # nothing decided yet: nothing to send back
    assert "no decision is saved" in capsys.readouterr().err and not out.exists()
    out.parent.mkdir()
    out.write_bytes(b"an older export")
    session = ReviewSession.open(site, reviewer="rev")
    session.decide([1], NO_ISSUE)
    session.close()  # journaled, not saved: export says so instead of sending less than was decided
    assert main(["export", str(site), "--out", str(out), "--force"]) == 2
    assert "not saved" in capsys.readouterr().err
    _decide(site, [])  # opening recovers the journal; saving writes it
    assert read_report(site).findings[1].action == NO_ISSUE
    assert main(["export", str(site), "--out", str(out)]) == 2
    assert "--force" in capsys.readouterr().err
    assert main(["export", str(site), "--out", str(out), "--force"]) == 0
    assert out.read_bytes() == _copy(site).read_bytes()
    # Another collection of the same reports folder, or a folder holding validator CSVs anywhere: refused.
    other = tmp_path / "other-reports" / "X"
    other.mkdir(parents=True)
    (other / "SiteZ.csv").write_bytes(_csv(_rows(1)))
    for target in (site.parent / "x.csv", site.parent.parent / "COLL-reviewed" / "x.csv", other / "x.csv"):
        assert main(["export", str(site), "--out", str(target)]) == 2
        err = capsys.readouterr().err.strip()
        assert "summarize-validation-reports" in err and "\n" not in err and not target.exists()
    # Below the report's folder: opening that folder (it walks subfolders) would read the rows twice.
    assert main(["export", str(site), "--out", str(site.parent / "sent" / "x.csv")]) == 2
    assert "twice" in capsys.readouterr().err and not (site.parent / "sent").exists()
    # A folder report exports every decided file to a folder, and names the others.
    (site.parent / "SiteB.csv").write_bytes(_csv(_rows(2)))
    assert main(["export", str(site.parent), "--out", str(tmp_path / "all")]) == 0
    assert (tmp_path / "all" / "SiteA.csv").read_bytes() == _copy(site).read_bytes()
    assert not (tmp_path / "all" / "SiteB.csv").exists()
    assert "SiteB.csv: no decision saved" in capsys.readouterr().out


def test_export_output_is_inert(tmp_path: Path, capsys) -> None:
    folder = tmp_path / "r"
    folder.mkdir()
    path = folder / "Site\x1b]52;c;aGk=\x07.csv"
    path.write_bytes(_csv(_rows(1)))
    _decide(path, [0])
    assert main(["export", str(path), "--out", str(tmp_path / "out.csv")]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\x07" not in out
    assert os.path.exists(tmp_path / "out.csv")
