"""CSV reports: repeated header lines, where our backup lives, and one fixed order of appended columns."""

from __future__ import annotations

import csv
import glob
import io
import os
from pathlib import Path

import openpyxl

from phi_review.core.report.reader import read_report
from phi_review.core.report.writer import save_report
from phi_review.core.review.session import ReviewSession
from phi_review.tui.cli import main

NO_ISSUE = "No Issue / False Positive"
HEAD = ["Site ID", "Event ID", "File Name", "Profile", "Score", "Findings", "Details"]
ORDER = ["Action", "Reviewer", "Reviewed At", "Comments"]


def _rows(site: str, names: list[str]) -> list[list[str]]:
    return [[site, "E1", name, "CT", "1.0", "Possible PHI/PII in Header", "(0010,0010) \u00abX\u00bb"] for name in names]


def _write(path: Path, rows: list[list[str]], bom: bool = False) -> bytes:
    out = io.StringIO(newline="")
    csv.writer(out, lineterminator="\r\n").writerows(rows)
    data = (b"\xef\xbb\xbf" if bom else b"") + out.getvalue().encode("utf-8")
    path.write_bytes(data)
    return data


def _header(path: Path) -> list[str]:
    return next(csv.reader(io.StringIO(path.read_bytes().decode("utf-8-sig"), newline="")))


def _reviewed(path: Path) -> Path:
    """Where a save of a file with the validator's header writes (core.report.csv_reviewed): the file stays as is."""
    return path.with_name(f".{path.name}.reviewed")


# ----------------------------------------------------------------------------- repeated header lines


def test_a_repeated_header_line_is_a_header_not_a_finding(tmp_path: Path) -> None:
    path = tmp_path / "Site.csv"
    # Two validator CSVs concatenated (cat a.csv b.csv): the second keeps its BOM and header.
    first = _write(tmp_path / "a.csv", [HEAD, *_rows("S1", ["a.dcm", "b.dcm"])], bom=True)
    second = _write(tmp_path / "b.csv", [HEAD, *_rows("S2", ["c.dcm"])], bom=True)
    path.write_bytes(first + second)
    (tmp_path / "a.csv").unlink()
    (tmp_path / "b.csv").unlink()
    report = read_report(path)
    assert [(f.file, f.row) for f in report.findings] == [("a.dcm", 2), ("b.dcm", 3), ("c.dcm", 5)]
    original = path.read_bytes()
    with ReviewSession.open(path, reviewer="rev") as session:
        session.decide([2], NO_ISSUE)
        session.save()
    assert path.read_bytes() == original
    lines = _reviewed(path).read_bytes().decode("utf-8-sig").split("\r\n")
    assert lines[0].endswith(",Action,Reviewer,Reviewed At,Comments")
    assert lines[3] == "\ufeff" + lines[0]  # the repeated header names our columns too
    assert next(csv.reader([lines[4]]))[7:9] == [NO_ISSUE, "rev"]
    again = read_report(path)
    assert [(f.file, f.row, f.action) for f in again.findings] == [
        ("a.dcm", 2, ""), ("b.dcm", 3, ""), ("c.dcm", 5, NO_ISSUE)]


def test_a_header_repeated_in_other_case_and_shorter_is_still_a_header(tmp_path: Path) -> None:
    path = tmp_path / "Site.csv"
    _write(path, [HEAD, *_rows("S1", ["a.dcm"]), [h.upper() for h in HEAD[:6]], *_rows("S1", ["b.dcm"])])
    assert [f.file for f in read_report(path).findings] == ["a.dcm", "b.dcm"]


# ----------------------------------------------------------------------------- backups


def test_a_users_orig_csv_is_part_of_the_report(tmp_path: Path) -> None:
    folder = tmp_path / "out"
    folder.mkdir()
    _write(folder / "Site.csv", [HEAD, *_rows("Site", ["a.dcm"])])
    _write(folder / "Site.orig.csv", [HEAD, *_rows("Site.orig", ["b.dcm", "c.dcm"])])
    report = read_report(folder)
    assert sorted(f.file for f in report.findings) == ["a.dcm", "b.dcm", "c.dcm"]
    files = sorted(glob.glob(str(folder / "*.csv")))
    assert sorted(f.file for f in read_report([Path(p) for p in files]).findings) == ["a.dcm", "b.dcm", "c.dcm"]


def test_our_backup_is_found_by_no_glob_of_the_report_folder(tmp_path: Path) -> None:
    top = tmp_path / "reports"
    folder = top / "collection"
    folder.mkdir(parents=True)
    # A user's own CSV (not the validator's header) is saved in place, its original kept as a backup.
    own = ["File Name", "Validation Issue", "Detected Value"]
    original = _write(folder / "Site.csv", [own, ["a.dcm", "Possible PHI/PII in Header", "X"],
                                            ["b.dcm", "Possible PHI/PII in Header", "Y"]])
    with ReviewSession.open(folder, reviewer="rev") as session:
        session.decide([0], NO_ISSUE)
        session.save()
        session.decide([1], NO_ISSUE)
        session.save()
    # summarize-validation-reports reads every DIR/*/*.csv (glob.iglob); pathlib globs see hidden names.
    assert sorted(glob.glob(f"{top}/*/*.csv")) == [str(folder / "Site.csv")]
    assert sorted(p.name for p in top.glob("*/*.csv")) == ["Site.csv"]
    assert sorted(p.name for p in folder.glob("*.csv")) == ["Site.csv"]
    assert sorted(p.name for p in folder.rglob("*.csv")) == ["Site.csv"]
    kept = [p for p in folder.iterdir() if p.name.startswith(".") and p.read_bytes() == original]
    assert len(kept) == 1  # the untouched original, kept once, hidden
    assert len(read_report(folder).findings) == 2


def test_an_old_style_backup_of_ours_is_still_left_out(tmp_path: Path) -> None:
    folder = tmp_path / "out"
    folder.mkdir()
    rows = [HEAD, *_rows("Site", ["a.dcm", "b.dcm"])]
    original = _write(folder / "Site.orig.csv", rows)  # what an earlier phi-review kept: the untouched original
    saved = [rows[0] + ORDER, rows[1] + [NO_ISSUE, "rev", "2026-01-01T00:00:00Z", ""], rows[2]]
    _write(folder / "Site.csv", saved)
    report = read_report(folder)
    assert [f.file for f in report.findings] == ["a.dcm", "b.dcm"]
    assert any("Site.orig.csv" in w for w in report.warnings)
    with ReviewSession.open(folder, reviewer="rev") as session:
        session.decide([1], NO_ISSUE)
        session.save()
    hidden = [p.name for p in folder.iterdir() if "orig" in p.name]
    assert hidden == [".Site.csv.orig"]  # kept once, moved out of every *.csv glob (core.report.csv_carry_over)
    assert (folder / "Site.csv").read_bytes() == original  # the decisions went to .Site.csv.reviewed


# ----------------------------------------------------------------------------- one order of appended columns


def test_appended_columns_have_one_order_whatever_came_first(tmp_path: Path) -> None:
    heads = []
    for first in ("note", "decision"):
        path = tmp_path / f"{first}.csv"
        _write(path, [HEAD, *_rows("S", ["a.dcm", "b.dcm"])])
        with ReviewSession.open(path, reviewer="rev") as session:
            if first == "note":
                session.set_note(0, "look again")
                session.save()
                session.decide([1], NO_ISSUE)
            else:
                session.decide([1], NO_ISSUE)
                session.save()
                session.set_note(0, "look again")
            session.save()
        heads.append(_header(_reviewed(path)))
    cli = tmp_path / "cli.csv"
    _write(cli, [HEAD, *_rows("S", ["a.dcm", "b.dcm"])])
    assert main(["decide", str(cli), "2", "1", "--note", "ok", "--reviewer", "rev"]) == 0
    heads.append(_header(_reviewed(cli)))
    assert _header(cli) == HEAD
    assert heads == [HEAD + ORDER] * 3


def test_the_workbook_writer_appends_the_same_order(tmp_path: Path) -> None:
    heads = []
    for first in ("note", "decision"):
        book = openpyxl.Workbook()
        book.active.append(["File Name", "Issue", "Detected Value"])
        book.active.append(["a.dcm", "Possible PHI/PII in Header", "X"])
        path = tmp_path / f"{first}.xlsx"
        book.save(path)
        edits = [{"note": "n"}, {"action": NO_ISSUE, "reviewer": "r", "reviewed_at": "t"}]
        for fields in edits if first == "note" else edits[::-1]:
            save_report(read_report(path), {2: fields})
        sheet = openpyxl.load_workbook(path).active
        heads.append([c.value for c in sheet[1]])
        assert sheet["G2"].value == "n" and sheet["D2"].value == NO_ISSUE
    assert heads == [["File Name", "Issue", "Detected Value", *ORDER]] * 2
    for path in tmp_path.iterdir():
        assert not path.name.startswith(".") or not path.name.endswith(".tmp"), os.listdir(tmp_path)


def test_a_second_header_of_another_layout_is_refused_in_one_line(tmp_path: Path) -> None:
    import pytest

    from phi_review.core.common.errors import ReportError

    path = tmp_path / "Site.csv"
    old_layout = ["Site ID", "Event ID", "File Name", "Score", "Findings", "Details"]
    _write(path, [HEAD, *_rows("S1", ["a.dcm"]), old_layout, ["S1", "E1", "b.dcm", "1.0", "Warning", "x"]])
    with pytest.raises(ReportError) as error:
        read_report(path)
    assert "row 3" in str(error.value) and "\n" not in str(error.value)
