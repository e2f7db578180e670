"""The report goes back exactly as it came, plus the reviewer's decisions."""

from __future__ import annotations

import csv
import os
import shutil
import stat
import subprocess
import uuid
import zipfile
from pathlib import Path

import openpyxl
import pytest
from lxml import etree

from phi_review.core.common.errors import ReportError
from phi_review.core.report.reader import read_report
from phi_review.core.report.writer import save_report
from phi_review.sample_reports.make_workbook import build_report_workbook, generate_rows

ACTIONS = ("Cleared", "Delete and re-upload", "Fix metadata", "Escalate to DMCC/JPL", "Follow up")
SHEET = "xl/worksheets/sheet1.xml"
NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"


@pytest.fixture
def workbook(tmp_path) -> Path:
    return build_report_workbook(tmp_path / "report.xlsx", generate_rows(40, seed=3), actions=ACTIONS)


def _parts(path: Path) -> list[tuple[str, bytes]]:
    with zipfile.ZipFile(path) as archive:
        return [(info.filename, archive.read(info.filename)) for info in archive.infolist()]


def _cells_except(xml: bytes, skip: set[str]) -> bytes:
    root = etree.fromstring(xml)
    for cell in list(root.iter(f"{NS}c")):
        if cell.get("r") in skip:
            cell.getparent().remove(cell)
    return etree.tostring(root, method="c14n")


def test_two_decisions_change_only_those_cells(workbook):
    before = _parts(workbook)
    report = read_report(workbook)
    assert report.actions == list(ACTIONS)  # from the x14 validation on a hidden sheet
    assert report.header_row == 3
    first, second = report.findings[0], report.findings[7]
    save_report(report, {first.row: {"action": ACTIONS[2]}, second.row: {"action": ACTIONS[0], "note": "=1+1"}})
    after = _parts(workbook)
    assert [name for name, _ in before] == [name for name, _ in after]
    for (name, old), (_, new) in zip(before, after):
        if name != SHEET:
            assert old == new, name
    old_sheet, new_sheet = dict(before)[SHEET], dict(after)[SHEET]
    edited = {f"E{first.row}", f"E{second.row}", f"F{second.row}"}
    assert _cells_except(old_sheet, edited) == _cells_except(new_sheet, edited)
    assert b"x14:dataValidation" in new_sheet and b'mc:Ignorable="x14ac"' in new_sheet
    sheet = openpyxl.load_workbook(workbook)["Reconciliation"]
    assert sheet[f"E{first.row}"].value == ACTIONS[2]
    assert sheet[f"E{second.row}"].value == ACTIONS[0]
    assert sheet[f"F{second.row}"].value == "=1+1" and sheet[f"F{second.row}"].data_type == "s"
    reread = read_report(workbook)
    assert reread.findings[7].note == "=1+1" and reread.findings[0].action == ACTIONS[2]


def test_formula_looking_notes_stay_text(workbook):
    report = read_report(workbook)
    rows = [f.row for f in report.findings[:3]]
    save_report(report, {rows[0]: {"note": "=1+1"}, rows[1]: {"note": "@SUM(A1)"}, rows[2]: {"note": "+cmd|' /C calc'!A0"}})
    sheet = openpyxl.load_workbook(workbook)["Reconciliation"]
    for row, text in zip(rows, ("=1+1", "@SUM(A1)", "+cmd|' /C calc'!A0")):
        assert sheet[f"F{row}"].value == text and sheet[f"F{row}"].data_type == "s"
    assert b"<f>" not in dict(_parts(workbook))[SHEET].split(b"COUNTA")[-1]


def test_missing_columns_are_appended_in_the_header_style(tmp_path):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["File Name", "Issue", "Detected Value"])
    sheet["C1"].font = openpyxl.styles.Font(bold=True)
    sheet.append(["a.dcm", "Possible PHI/PII in Header", "DOE^JANE"])
    path = tmp_path / "plain.xlsx"
    book.save(path)
    report = read_report(path)
    save_report(report, {2: {"action": "Needs Metadata Update", "note": "name in header", "reviewer": "me"}})
    sheet = openpyxl.load_workbook(path).active
    # Every missing decision column, in one fixed order (Action, Reviewer, Reviewed At, Comments).
    assert [c.value for c in sheet[1]] == ["File Name", "Issue", "Detected Value", "Action", "Reviewer", "Reviewed At",
                                           "Comments"]
    assert sheet["D1"].font.bold and sheet["G1"].font.bold
    assert sheet["D2"].value == "Needs Metadata Update" and sheet["G2"].value == "name in header"
    assert b'ref="A1:G2"' in dict(_parts(path))[SHEET]


def test_save_keeps_mode_backs_up_once_and_refuses_a_changed_file(workbook):
    os.chmod(workbook, 0o640)
    original = workbook.read_bytes()
    report = read_report(workbook)
    save_report(report, {report.findings[0].row: {"action": ACTIONS[0]}})
    assert stat.S_IMODE(workbook.stat().st_mode) == 0o640
    backup = workbook.with_name("report.orig.xlsx")
    assert backup.read_bytes() == original
    save_report(report, {report.findings[1].row: {"action": ACTIONS[1]}})
    assert backup.read_bytes() == original  # kept once, never overwritten
    other = read_report(workbook)
    save_report(other, {other.findings[2].row: {"action": ACTIONS[2]}})
    with pytest.raises(ReportError, match="changed on disk"):
        save_report(report, {report.findings[3].row: {"action": ACTIONS[3]}})


def test_lock_file_warns_and_illegal_characters_are_refused(workbook):
    report = read_report(workbook)
    (workbook.parent / "~$report.xlsx").write_bytes(b"x")
    warnings = save_report(report, {report.findings[0].row: {"action": ACTIONS[0]}})
    assert warnings and "open in Excel" in warnings[0]
    with pytest.raises(ReportError, match="U\\+0001"):
        save_report(report, {report.findings[0].row: {"note": "bad \x01 char"}})


def test_csv_round_trip_keeps_other_cells(tmp_path):
    path = tmp_path / "r.csv"
    path.write_text("Title line\nFile;Issue;Value;Extra\na.dcm;Possible PHI/PII in Header;X;keep me\n", encoding="utf-8")
    report = read_report(path)
    assert report.header_row == 2 and report.findings[0].file == "a.dcm"
    save_report(report, {3: {"action": "No Issue / False Positive"}})
    rows = list(csv.reader(path.open(encoding="utf-8"), delimiter=";"))
    assert rows[0] == ["Title line"] and rows[2] == ["a.dcm", "Possible PHI/PII in Header", "X", "keep me", "No Issue / False Positive"]


def test_inline_list_validation_gives_the_vocabulary(tmp_path):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["LabCAS File Name", "Validation Issue", "Reviewer Action"])
    sheet.append(["a.dcm", "Possible PHI/PII in Header", ""])
    rule = openpyxl.worksheet.datavalidation.DataValidation(type="list", formula1='"OK,Delete,Fix"')
    rule.add("C2:C50")
    sheet.add_data_validation(rule)
    path = tmp_path / "inline.xlsx"
    book.save(path)
    assert read_report(path).actions == ["OK", "Delete", "Fix"]


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("old.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100, "save it as .xlsx"),
        ("locked.xlsx", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100, "password-protected"),
        ("notes.txt", b"hello", "not a spreadsheet"),
        ("broken.xlsx", b"PK\x03\x04garbage", "cannot be read"),
    ],
)
def test_bad_files_give_one_line(tmp_path, name, content, message):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(ReportError, match=message) as caught:
        read_report(path)
    assert "\n" not in str(caught.value)


def test_missing_header_unknown_sheet_no_rows(tmp_path):
    with pytest.raises(ReportError, match="not found"):
        read_report(tmp_path / "nothing.xlsx")
    book = openpyxl.Workbook()
    book.active.append(["Name", "Size"])
    book.active.append(["x", "1"])
    book.save(tmp_path / "noheader.xlsx")
    with pytest.raises(ReportError, match="looked for"):
        read_report(tmp_path / "noheader.xlsx")
    book = openpyxl.Workbook()
    book.active.append(["File Name", "Validation Issue"])
    book.save(tmp_path / "empty.xlsx")
    with pytest.raises(ReportError, match="no data rows"):
        read_report(tmp_path / "empty.xlsx")
    with pytest.raises(ReportError, match="no sheet named"):
        read_report(tmp_path / "empty.xlsx", sheet="Nope")


@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice is not installed")
def test_libreoffice_reads_the_saved_decisions(workbook, tmp_path):
    report = read_report(workbook)
    first, second = report.findings[0], report.findings[5]
    save_report(report, {first.row: {"action": ACTIONS[3]}, second.row: {"action": ACTIONS[1], "note": "=1+1"}})
    out = tmp_path / "csv"
    profile = f"file:///tmp/lo-profile-{uuid.uuid4().hex}"
    subprocess.run(
        ["soffice", f"-env:UserInstallation={profile}", "--headless", "--convert-to", "csv", "--outdir", str(out), str(workbook)],
        check=True, capture_output=True, timeout=180,
    )
    rows = list(csv.reader((out / "report.csv").open(encoding="utf-8", errors="replace")))
    assert rows[first.row - 1][4] == ACTIONS[3]
    assert rows[second.row - 1][4] == ACTIONS[1]
    assert rows[second.row - 1][5] == "=1+1"
