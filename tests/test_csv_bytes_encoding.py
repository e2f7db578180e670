"""CSV reports keep their encoding and BOM byte for byte; text the encoding cannot hold is refused when given."""

from __future__ import annotations

from pathlib import Path

import pytest

from phi_review.core.common.errors import PhiReviewError, ReportError
from phi_review.core.report.csv_report import split_records
from phi_review.core.report.reader import read_report
from phi_review.core.review.journal import journal_path
from phi_review.core.review.session import ReviewSession
from phi_review.tui.cli import main

NO_ISSUE = "No Issue / False Positive"
BOM8 = b"\xef\xbb\xbf"
HEAD = "Site ID,Event ID,File Name,Score,Findings,Details"
ROWS = ["S1,E1,a.dcm,1.0,Possible PHI/PII in Header,\u00abJOS\u00c9\u00bb",
        "S1,E1,b.dcm,1.0,Possible PHI/PII in Header,\u00abZO\u00cb\u00bb",
        "S1,E1,c.dcm,1.0,Missing Required Tags,\"(0010,0020)\""]


def _text() -> str:
    return "\r\n".join([HEAD, *ROWS]) + "\r\n"


def _decide_and_save(path: Path, index: int, note: str | None = None, reviewer: str = "rev") -> None:
    before = path.read_bytes()
    with ReviewSession.open(path, reviewer=reviewer) as session:
        session.decide([index], NO_ISSUE, note=note)
        session.save()
    assert path.read_bytes() == before  # the validator's layout: the file itself is never written


def _saved(path: Path) -> bytes:
    """What the saves wrote: these files have the validator's header, so their decisions go to the hidden
    reviewed copy beside them (core.report.csv_reviewed), spliced into the original's bytes."""
    return (path.parent / f".{path.name}.reviewed").read_bytes()


def test_a_utf8_bom_file_with_latin1_bytes_keeps_one_bom(tmp_path: Path) -> None:
    path = tmp_path / "Site.csv"
    original = BOM8 + _text().encode("latin-1")
    path.write_bytes(original)
    report = read_report(path)
    assert report.headers[0] == "Site ID" and report.findings[0].details.endswith("JOS\u00c9\u00bb")
    _decide_and_save(path, 0)
    _decide_and_save(path, 1, note="vu \u00e0 l'\u00e9cran")
    data = _saved(path)
    assert data.startswith(BOM8) and not data[3:].startswith(BOM8) and data.count(BOM8) == 1
    lines = data[3:].split(b"\r\n")
    assert lines[0] == b"Site ID,Event ID,File Name,Score,Findings,Details,Action,Reviewer,Reviewed At,Comments"
    assert lines[1].startswith(ROWS[0].encode("latin-1") + b",No Issue / False Positive,rev,")
    assert lines[2].endswith(b",vu \xe0 l'\xe9cran") and lines[3] == ROWS[2].encode("latin-1")
    assert read_report(path).findings[1].note == "vu \u00e0 l'\u00e9cran"


def test_a_file_damaged_by_repeated_boms_opens_and_keeps_them(tmp_path: Path) -> None:
    path = tmp_path / "Site.csv"
    path.write_bytes(BOM8 * 3 + _text().encode("utf-8"))
    report = read_report(path)
    assert report.headers[0] == "Site ID" and len(report.findings) == 3
    _decide_and_save(path, 2)
    assert _saved(path).startswith(BOM8 * 3 + b"Site ID,")


@pytest.mark.parametrize("codec,bom", [("utf-16-le", b"\xff\xfe"), ("utf-16-be", b"\xfe\xff")])
def test_utf16_with_bom_is_read_and_kept_as_utf16(tmp_path: Path, codec: str, bom: bytes) -> None:
    path = tmp_path / "Site.csv"
    path.write_bytes(bom + _text().encode(codec))
    report = read_report(path)
    assert report.headers == HEAD.split(",") and [f.file for f in report.findings] == ["a.dcm", "b.dcm", "c.dcm"]
    assert report.findings[0].details == "\u00abJOS\u00c9\u00bb"
    _decide_and_save(path, 1, note="\u65e5\u672c OK")  # UTF-16 holds any character
    data = _saved(path)
    assert data.startswith(bom) and not data[2:].startswith(bom) and len(data) % 2 == 0
    text = data[2:].decode(codec)
    lines = text.split("\r\n")
    assert lines[0] == HEAD + ",Action,Reviewer,Reviewed At,Comments"
    assert lines[1] == ROWS[0] and lines[3] == ROWS[2]
    assert lines[2].startswith(ROWS[1] + ",No Issue / False Positive,rev,") and lines[2].endswith(",\u65e5\u672c OK")
    again = read_report(path)
    assert again.findings[1].note == "\u65e5\u672c OK" and again.findings[1].action == NO_ISSUE


def test_utf16_without_bom_keeps_having_none(tmp_path: Path) -> None:
    path = tmp_path / "Site.csv"
    path.write_bytes(_text().encode("utf-16-le"))
    assert [f.file for f in read_report(path).findings] == ["a.dcm", "b.dcm", "c.dcm"]
    _decide_and_save(path, 0)
    text = _saved(path).decode("utf-16-le")
    assert text.startswith(HEAD + ",Action,") and "a.dcm" in text


def test_utf32_is_refused_in_one_line_before_anything_is_written(tmp_path: Path) -> None:
    path = tmp_path / "Site.csv"
    original = b"\xff\xfe\x00\x00" + _text().encode("utf-32-le")
    path.write_bytes(original)
    with pytest.raises(ReportError) as error:
        read_report(path)
    assert "UTF-32" in str(error.value) and "\n" not in str(error.value)
    assert path.read_bytes() == original and [p.name for p in tmp_path.iterdir()] == ["Site.csv"]


def _latin1_file(tmp_path: Path) -> Path:
    path = tmp_path / "Site.csv"
    path.write_bytes(_text().encode("latin-1"))
    return path


def test_a_latin1_file_refuses_a_note_it_cannot_hold_when_given(tmp_path: Path) -> None:
    path = _latin1_file(tmp_path)
    with ReviewSession.open(path, reviewer="rev") as session:
        with pytest.raises(PhiReviewError) as error:
            session.set_note(0, "patient \u5c71\u7530")
        message = str(error.value)
        assert "\n" not in message and "Latin-1" in message and "U+5C71" in message
        with pytest.raises(PhiReviewError):
            session.decide([1], NO_ISSUE, note="\u2713 checked")
        assert session.findings[0].note == "" and session.findings[1].action == ""
        session.set_note(0, "caf\u00e9 ok")  # Latin-1 holds it
        session.decide([2], NO_ISSUE)
        session.save()  # the refused notes never reached the journal: nothing blocks the save
    journal = journal_path(path)
    text = journal.read_text(encoding="utf-8") if journal.exists() else ""
    assert "\u5c71" not in text and "\\u5c71" not in text.lower() and "2713" not in text
    data = _saved(path)
    assert "caf\u00e9 ok".encode("latin-1") in data and NO_ISSUE.encode() in data


def test_a_reviewer_name_the_file_cannot_hold_is_refused(tmp_path: Path) -> None:
    path = _latin1_file(tmp_path)
    with ReviewSession.open(path, reviewer="\u0141ukasz") as session:
        with pytest.raises(PhiReviewError) as error:
            session.decide([0], NO_ISSUE)
        assert "reviewer" in str(error.value) and "\n" not in str(error.value)
        assert session.findings[0].action == "" and not session.unsaved
    _decide_and_save(path, 0, reviewer="Zo\u00eb")  # in Latin-1: fine
    assert b",Zo\xeb," in _saved(path)


def test_cli_decide_refuses_a_note_the_file_cannot_hold(tmp_path: Path, capsys) -> None:
    path = _latin1_file(tmp_path)
    before = path.read_bytes()
    assert main(["decide", str(path), "2", "1", "--note", "\u2603 snow", "--reviewer", "rev"]) != 0
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "Latin-1" in err and "U+2603" in err
    assert path.read_bytes() == before
    # Nothing was journaled: a later decision on another row saves.
    assert main(["decide", str(path), "3", "1", "--note", "caf\u00e9", "--reviewer", "rev"]) == 0
    assert path.read_bytes() == before and b",caf\xe9" in _saved(path) and "\u2603" not in journal_path(path).read_text(encoding="utf-8")


def test_a_utf8_file_holds_any_note(tmp_path: Path) -> None:
    path = tmp_path / "Site.csv"
    path.write_bytes(_text().encode("utf-8"))
    _decide_and_save(path, 0, note="\u5c71\u7530 \U0001f600", reviewer="\u0141ukasz")
    assert read_report(path).findings[0].note == "\u5c71\u7530 \U0001f600"


@pytest.mark.parametrize("codec,prefix", [("utf-8", b""), ("utf-8", BOM8), ("latin-1", b""), ("latin-1", BOM8),
                                          ("utf-16-le", b"\xff\xfe"), ("utf-16-be", b"\xfe\xff")])
def test_every_record_not_decided_keeps_its_bytes(tmp_path: Path, codec: str, prefix: bytes) -> None:
    import random

    rng = random.Random(f"{codec}{prefix!r}")
    alphabet = "abc \u00e9\u00ff\"\n,;x\u00c9" + ("\u5c71\u2603" if codec != "latin-1" else "")
    rows = [HEAD] + [f"S1,E1,f{i}.dcm,1.0,Possible PHI/PII in Header,\"" +
                     "".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 12))).replace('"', '""') + '"'
                     for i in range(60)]
    newline = rng.choice(["\r\n", "\n"])
    path = tmp_path / "Site.csv"
    path.write_bytes(prefix + newline.join(rows).encode(codec) + newline.encode(codec))
    decided = sorted(rng.sample(range(60), 7))
    original = path.read_bytes()
    with ReviewSession.open(path, reviewer="rev") as session:
        assert [f.file for f in session.findings] == [f"f{i}.dcm" for i in range(60)]
        session.decide(decided, NO_ISSUE, note="\u00e9t\u00e9")
        session.save()
    assert path.read_bytes() == original
    data = _saved(path)
    assert data.startswith(prefix) and not data[len(prefix):].startswith(prefix or b"-")
    old_text, new_text = newline.join(rows) + newline, data[len(prefix):].decode(codec)
    old_records, new_records = split_records(old_text), split_records(new_text)
    assert len(old_records) == len(new_records) == 61
    for number, (a, b) in enumerate(zip(old_records, new_records)):
        if number - 1 in decided or number == 0:  # our cells after the record's own, its line ending kept
            assert new_text[b[0]:b[1]].startswith(old_text[a[0]:a[1]] + ",")
            assert new_text[b[1]:b[2]] == old_text[a[1]:a[2]]
        else:
            assert new_text[b[0]:b[2]] == old_text[a[0]:a[2]]
    again = read_report(path)
    assert [f.note for f in again.findings if f.action] == ["\u00e9t\u00e9"] * 7
