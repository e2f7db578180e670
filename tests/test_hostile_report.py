"""Issue 11: the report, save and journal promises under hostile input, one test per item.

Every workbook is generated here (openpyxl, xlsxwriter or hand-written XML).
"""

from __future__ import annotations

import io
import os
import random
import string
import subprocess
import zipfile
from pathlib import Path

import openpyxl
import pytest
from lxml import etree
from python_calamine import CalamineWorkbook

from phi_review.core.common.errors import LockedError, PhiReviewError, ReportError
from phi_review.core.report.model import DEFAULT_ACTIONS
from phi_review.core.report.reader import read_report
from phi_review.core.report.writer import save_report
from phi_review.core.review.journal import journal_path, read_records
from phi_review.core.review.session import ReviewSession
from phi_review.tui.cli import main

NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
HEADERS = ["File Name", "Validation Issue", "Detected Value", "Action", "Comments"]
HEADER_ISSUE = "Possible PHI/PII in Header"
NO_ISSUE, DELETE, METADATA = DEFAULT_ACTIONS[0], DEFAULT_ACTIONS[1], DEFAULT_ACTIONS[2]


def openpyxl_report(path: Path, files: list[str], headers: list[str] = HEADERS) -> Path:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "Findings"
    sheet.append(headers)
    for number, name in enumerate(files):
        sheet.append([name, HEADER_ISSUE, f"DOE^{number}", None, None][: len(headers)])
    workbook.save(path)
    return path


CONTENT_TYPES = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    b'<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    b'<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    b'<Default Extension="xml" ContentType="application/xml"/>'
    b'<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    b'<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    b"</Types>"
)
ROOT_RELS = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    b'<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    b'<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>'
    b"</Relationships>"
)
WORKBOOK = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    b'<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    b'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
    b'<sheets><sheet name="Findings" sheetId="1" r:id="rId1"/></sheets></workbook>'
)
WORKBOOK_RELS = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    b'<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    b'<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>'
    b"</Relationships>"
)
SHEET_OPEN = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
)


def istr(text: str, ref: str = "") -> str:
    r = f' r="{ref}"' if ref else ""
    return f'<c{r} t="inlineStr"><is><t>{text}</t></is></c>'


def handmade_report(path: Path, sheet_data: str, tail: str = "", head: str = "") -> Path:
    """A minimal valid workbook around hand-written ``<sheetData>`` content."""
    sheet = f"{SHEET_OPEN}{head}<sheetData>{sheet_data}</sheetData>{tail}</worksheet>".encode()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", CONTENT_TYPES)
        archive.writestr("_rels/.rels", ROOT_RELS)
        archive.writestr("xl/workbook.xml", WORKBOOK)
        archive.writestr("xl/_rels/workbook.xml.rels", WORKBOOK_RELS)
        archive.writestr("xl/worksheets/sheet1.xml", sheet)
    return path


def header_row(ref: bool = True) -> str:
    cells = "".join(istr(h, f"{'ABCDE'[i]}1" if ref else "") for i, h in enumerate(HEADERS))
    return f'<row r="1">{cells}</row>' if ref else f"<row>{cells}</row>"


def sheet_xml(path: Path) -> bytes:
    with zipfile.ZipFile(path) as archive:
        return archive.read("xl/worksheets/sheet1.xml")


def calamine_rows(path: Path, sheet: str = "Findings") -> list[list[object]]:
    return CalamineWorkbook.from_path(str(path)).get_sheet_by_name(sheet).to_python(skip_empty_area=False)


# ----------------------------------------------------------------------------- 1


def test_item01_moved_rows_are_found_by_file_name_and_unplaced_ones_stay(tmp_path):
    path = openpyxl_report(tmp_path / "report.xlsx", ["a.dcm", "b.dcm", "c.dcm", "gone.dcm"])
    with ReviewSession.open(path, reviewer="r") as session:
        by_file = {f.file: i for i, f in enumerate(session.findings)}
        session.decide([by_file["b.dcm"]], DELETE)
        session.decide([by_file["gone.dcm"]], METADATA)
        # Someone sorts the report in Excel and drops a row meanwhile.
        workbook = openpyxl.load_workbook(path)
        sheet = workbook.active
        sheet.delete_rows(2, 4)
        for name in ("c.dcm", "b.dcm", "a.dcm"):
            sheet.append([name, HEADER_ISSUE, "DOE", None, None])
        workbook.save(path)
        with pytest.raises(ReportError, match="come back"):
            session.save()
    with ReviewSession.open(path, reviewer="r") as session:
        found = {f.file: f for f in session.findings}
        assert found["b.dcm"].action == DELETE and found["b.dcm"].row == 3
        assert session.recovered == 1
        text = " ".join(session.messages)
        assert "could not be placed" in text and "gone.dcm" in text
        session.save()
    assert [r[:4] for r in calamine_rows(path)[1:]] == [
        ["c.dcm", HEADER_ISSUE, "DOE", ""], ["b.dcm", HEADER_ISSUE, "DOE", DELETE], ["a.dcm", HEADER_ISSUE, "DOE", ""]]
    # The decision that could not be placed was not saved: it stays, and is said again.
    with ReviewSession.open(path, reviewer="r") as session:
        assert "gone.dcm" in " ".join(session.messages)


# ----------------------------------------------------------------------------- 2


def test_item02_symlinked_report_writes_and_locks_the_target(tmp_path):
    real = openpyxl_report(tmp_path / "shared" / "real.xlsx" if False else tmp_path / "real.xlsx", ["a.dcm", "b.dcm"])
    link = tmp_path / "link.xlsx"
    link.symlink_to(real)
    with ReviewSession.open(link, reviewer="r") as session:
        with pytest.raises(LockedError):
            ReviewSession.open(real, reviewer="x", allow_read_only_fallback=False)
        session.decide([0], NO_ISSUE)
        session.save()
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert calamine_rows(real)[1][3] == NO_ISSUE


# ----------------------------------------------------------------------------- 3


@pytest.mark.parametrize("style", ["no-r", "single-quotes", "spaces"])
def test_item03_rows_and_cells_without_r_or_odd_quoting(tmp_path, style):
    def row(number: int, cells: list[str]) -> str:
        def quoted(value: str) -> str:
            return {"no-r": "", "single-quotes": f" r='{value}'", "spaces": f' r = "{value}" '}[style]

        body = "".join(f'<c{quoted(f"{chr(65 + i)}{number}")} t="inlineStr"><is><t>{c}</t></is></c>'
                       for i, c in enumerate(cells))
        return f"<row{quoted(str(number))}>{body}</row>"

    data = row(1, HEADERS[:3] + ["Action"]) + "".join(
        row(n, [f"f{n}.dcm", HEADER_ISSUE, "DOE"]) for n in range(2, 6))
    path = handmade_report(tmp_path / "report.xlsx", data)
    report = read_report(path)
    assert [f.file for f in report.findings] == ["f2.dcm", "f3.dcm", "f4.dcm", "f5.dcm"]
    save_report(report, {3: {"action": NO_ISSUE}, 5: {"action": DELETE}})
    root = etree.fromstring(sheet_xml(path))
    rows = root.find(f"{NS}sheetData").findall(f"{NS}row")
    assert len(rows) == 5  # no duplicate <row> appended
    assert [r[3] for r in calamine_rows(path)] == ["Action", "", NO_ISSUE, "", DELETE]
    sheet = openpyxl.load_workbook(path)["Findings"]
    assert sheet["D3"].value == NO_ISSUE and sheet["D5"].value == DELETE and sheet["A3"].value == "f3.dcm"


# ----------------------------------------------------------------------------- 4


def test_item04_owner_and_group_are_kept(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("needs root to give the report another owner")
    path = openpyxl_report(tmp_path / "report.xlsx", ["a.dcm"])
    os.chown(path, 1234, 1234)
    report = read_report(path)
    save_report(report, {2: {"action": NO_ISSUE}})
    info = path.stat()
    assert (info.st_uid, info.st_gid) == (1234, 1234)
    assert calamine_rows(path)[1][3] == NO_ISSUE


# ----------------------------------------------------------------------------- 5


@pytest.fixture
def small_disk(tmp_path):
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {done.stderr.decode(errors='replace').strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def test_item05_backup_is_never_torn_on_a_full_disk(small_disk):
    rng = random.Random(5)
    files = ["".join(rng.choices(string.ascii_letters, k=400)) + ".dcm" for _ in range(1200)]
    path = openpyxl_report(small_disk / "report.xlsx", files)
    original = path.read_bytes()
    assert 300_000 < len(original) < 650_000
    filler = small_disk / "filler"
    free = os.statvfs(small_disk).f_bavail * os.statvfs(small_disk).f_frsize
    filler.write_bytes(b"\0" * (free - len(original) // 2))
    backup = small_disk / "report.orig.xlsx"
    with ReviewSession.open(path, reviewer="r") as session:
        session.decide([0], NO_ISSUE)
        with pytest.raises(ReportError) as error:
            session.save()
        assert "\n" not in str(error.value) and "journal" in str(error.value)
        assert not backup.exists() or backup.read_bytes() == original
        filler.unlink()
        session.save()
    assert backup.read_bytes() == original
    assert calamine_rows(path)[1][3] == NO_ISSUE


# ----------------------------------------------------------------------------- 6


def test_item06_failed_decide_leaves_nothing_and_one_command_is_one_record(tmp_path, capsys):
    path = openpyxl_report(tmp_path / "report.xlsx", ["a.dcm", "b.dcm"])
    assert main(["decide", str(path), "2", "1", "--note", "bad\x01note", "--reviewer", "r"]) == 2
    assert "control character" in capsys.readouterr().err
    records, _ = read_records(journal_path(path))
    assert records == []
    assert main(["decide", str(path), "3", "2", "--reviewer", "r"]) == 0
    rows = calamine_rows(path)
    assert rows[1][3] == "" and rows[2][3] == DELETE
    # An action with a note is one step, written as one record.
    assert main(["decide", str(path), "2", "1", "--note", "seen", "--reviewer", "r"]) == 0
    records, _ = read_records(journal_path(path))
    steps = [r for r in records if r["kind"] != "saved"]
    assert len(steps) == 2 and steps[-1]["new"]["action"] == NO_ISSUE and steps[-1]["new"]["note"] == "seen"


def test_item06_a_step_torn_by_a_kill_is_not_half_applied(tmp_path):
    path = openpyxl_report(tmp_path / "report.xlsx", ["a.dcm", "b.dcm", "c.dcm"])
    with ReviewSession.open(path, reviewer="r") as session:
        session.decide([0, 1, 2], NO_ISSUE)
    journal = journal_path(path)
    data = journal.read_bytes()
    assert data.count(b"\n") == 1  # one step is one line, written at once
    journal.write_bytes(data[: len(data) // 2])  # killed while the step was written: a line without its end
    with ReviewSession.open(path, reviewer="r") as session:
        assert session.recovered == 0
        assert [f.action for f in session.findings] == ["", "", ""]


# ----------------------------------------------------------------------------- 7


def test_item07_unstorable_action_from_the_list_and_bad_journal_note_are_refused(tmp_path):
    import xlsxwriter

    path = tmp_path / "report.xlsx"
    workbook = xlsxwriter.Workbook(str(path))
    sheet = workbook.add_worksheet("Findings")
    lists = workbook.add_worksheet("Lists")
    for col, header in enumerate(HEADERS):
        sheet.write_string(0, col, header)
    for row in range(1, 4):
        sheet.write_string(row, 0, f"f{row}.dcm")
        sheet.write_string(row, 1, HEADER_ISSUE)
    for row, action in enumerate(["Cleared", "Bad\x1b[2JAction", "Escalate"]):
        lists.write_string(row, 0, action)
    sheet.data_validation("D2:D4", {"validate": "list", "source": "=Lists!$A$1:$A$3"})
    workbook.close()
    assert b"_x001B_" in zipfile.ZipFile(path).read("xl/sharedStrings.xml")
    with ReviewSession.open(path, reviewer="r") as session:
        assert "Bad\x1b[2JAction" in session.actions
        with pytest.raises(PhiReviewError, match="control character"):
            session.decide([0], "Bad\x1b[2JAction")
        session.decide([1], "Cleared")
        session.save()
    # A journal note with a control character (an older version, a hand edit) is not placed.
    with open(journal_path(path), "a", encoding="ascii") as handle:
        handle.write(
            '{"kind":"note","seq":90,"step":90,"row":4,"file":"f3.dcm","sheet":"Findings",'
            '"old":{"action":"","note":"","reviewer":"","reviewed_at":""},'
            '"new":{"action":"","note":"x\\u0007y","reviewer":"r","reviewed_at":""},"reviewer":"r","time":"t","v":1}\n'
        )
    with ReviewSession.open(path, reviewer="r") as session:
        assert session.findings[2].note == ""
        assert "could not be placed" in " ".join(session.messages)
        session.decide([0], "Escalate")
        session.save()
    assert [r[3] for r in calamine_rows(path)[1:]] == ["Escalate", "Cleared", ""]


# ----------------------------------------------------------------------------- 9


def test_item09_shared_formula_master_in_the_action_column(tmp_path):
    rows = header_row() + "".join(
        f'<row r="{n}">{istr(f"f{n}.dcm", f"A{n}")}{istr(HEADER_ISSUE, f"B{n}")}{istr("DOE", f"C{n}")}'
        + (f'<c r="D{n}" t="str"><f t="shared" ref="D2:D4" si="0">B{n}&amp;"!"</f><v>x</v></c>' if n == 2
           else f'<c r="D{n}" t="str"><f t="shared" si="0"/><v>x</v></c>')
        + "</row>"
        for n in range(2, 5))
    path = handmade_report(tmp_path / "report.xlsx", rows)
    report = read_report(path)
    save_report(report, {2: {"action": NO_ISSUE}})
    root = etree.fromstring(sheet_xml(path))
    formulas = {c.get("r"): c.find(f"{NS}f") for c in root.iter(f"{NS}c") if c.find(f"{NS}f") is not None}
    assert set(formulas) == {"D3", "D4"}
    master = formulas["D3"]
    assert master.get("ref") == "D3:D4" and master.get("si") == "0" and master.text == 'B3&"!"'
    assert openpyxl.load_workbook(path)["Findings"]["D4"].value == '=B4&"!"'
    assert calamine_rows(path)[1][3] == NO_ISSUE


# ----------------------------------------------------------------------------- 10


def test_item10_strict_ooxml_is_refused_at_open_with_one_line(tmp_path):
    source = openpyxl_report(tmp_path / "plain.xlsx", ["a.dcm"])
    strict = tmp_path / "strict.xlsx"
    swaps = [
        (b"http://schemas.openxmlformats.org/spreadsheetml/2006/main", b"http://purl.oclc.org/ooxml/spreadsheetml/main"),
        (b"http://schemas.openxmlformats.org/officeDocument/2006/relationships",
         b"http://purl.oclc.org/ooxml/officeDocument/relationships"),
    ]
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(strict, "w") as new:
        for info in old.infolist():
            data = old.read(info.filename)
            for a, b in swaps:
                data = data.replace(a, b)
            new.writestr(info, data)
    with pytest.raises(ReportError) as error:
        ReviewSession.open(strict, reviewer="r")
    assert "Strict" in str(error.value) and "\n" not in str(error.value)


# ----------------------------------------------------------------------------- 11


def test_item11_notes_round_trip_and_over_long_notes_are_refused(tmp_path):
    from phi_review.core.review.session import note_problem

    path = openpyxl_report(tmp_path / "report.xlsx", ["a.dcm", "b.dcm"])
    note = "first\r\nsecond\rthird _x0041_ and _X00e9_ stay"
    with ReviewSession.open(path, reviewer="r") as session:
        session.set_note(0, note)
        assert note_problem("x" * 32767) is None
        assert "32,767" in (note_problem("x" * 32768) or "")
        with pytest.raises(PhiReviewError, match="32,767"):
            session.set_note(1, "x" * 32768)
        session.save()
    assert calamine_rows(path)[1][4] == note
    assert read_report(path).findings[0].note == note


# ----------------------------------------------------------------------------- 12


def test_item12_columns_past_xfd_are_refused(tmp_path):
    path = tmp_path / "report.xlsx"
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["File Name", "Validation Issue", "Detected Value"])
    sheet.cell(row=1, column=16384, value="Last")
    sheet.append(["a.dcm", HEADER_ISSUE, "DOE"])
    workbook.save(path)
    report = read_report(path)
    assert any("XFD" in warning for warning in report.warnings)  # said at open already
    before = path.read_bytes()
    with pytest.raises(ReportError, match="XFD"):
        save_report(report, {2: {"action": NO_ISSUE}})
    assert path.read_bytes() == before


# ----------------------------------------------------------------------------- 13


def test_item13_stale_temp_copies_are_removed_on_open(tmp_path):
    path = openpyxl_report(tmp_path / "report.xlsx", ["a.dcm"])
    stale = tmp_path / ".report.xlsx.k3j_9xq2.tmp"
    stale.write_bytes(b"PK half a report")
    stale.chmod(0o600)
    other = tmp_path / ".other.xlsx.k3j_9xq2.tmp"
    other.write_bytes(b"not ours")
    with ReviewSession.open(path, reviewer="r") as session:
        assert not stale.exists() and other.exists()
        assert any("temporary" in m for m in session.messages)


# ----------------------------------------------------------------------------- 22


@pytest.mark.parametrize("tail", [
    "<mergeCells><mergeCell ref='A1:B1'></mergeCells>",  # malformed after </sheetData>
    "<dataValidations count='1'><dataValidation type='list' sqref='D2'><formula1>\"A,B\"</formula1>",
])
def test_item22_sheet_malformed_after_sheet_data_gives_one_line(tmp_path, tail, capsys):
    data = header_row() + f'<row r="2">{istr("a.dcm", "A2")}{istr(HEADER_ISSUE, "B2")}</row>'
    path = handmade_report(tmp_path / "report.xlsx", data, tail=tail)
    code = main(["decide", str(path), "2", "1", "--reviewer", "r"])
    err = capsys.readouterr().err
    assert "Traceback" not in err
    if code == 0:
        assert calamine_rows(path)[1][3] == NO_ISSUE
    else:
        assert code == 2 and err.count("\n") == 1


def test_item22_doctype_in_the_sheet_is_refused(tmp_path, capsys):
    data = header_row() + f'<row r="2">{istr("a.dcm", "A2")}{istr(HEADER_ISSUE, "B2")}{istr("&lol;", "C2")}</row>'
    path = handmade_report(tmp_path / "report.xlsx", data)
    xml = sheet_xml(path).replace(
        b"<worksheet", b'<!DOCTYPE worksheet [<!ENTITY lol "lol">]><worksheet', 1)
    with zipfile.ZipFile(path) as old:
        parts = [(i, old.read(i.filename)) for i in old.infolist()]
    with zipfile.ZipFile(path, "w") as new:
        for info, content in parts:
            new.writestr(info, xml if info.filename.endswith("sheet1.xml") else content)
    assert main(["summary", str(path)]) == 2
    err = capsys.readouterr().err
    assert "DOCTYPE" in err and err.count("\n") == 1


def test_item22_journal_line_of_brackets_is_a_damaged_line(tmp_path):
    path = openpyxl_report(tmp_path / "report.xlsx", ["a.dcm"])
    journal_path(path).write_bytes(b"[" * 200_000 + b"\n")
    with ReviewSession.open(path, reviewer="r") as session:
        assert any("damaged" in m for m in session.messages)
        session.decide([0], NO_ISSUE)
        session.save()
    assert calamine_rows(path)[1][3] == NO_ISSUE


# ----------------------------------------------------------------------------- generators


def _generated(path: Path, maker: str) -> Path:
    rows = [[f"s/f{n}.dcm", HEADER_ISSUE, f"DOE^{n}", None, "old" if n % 2 else None] for n in range(6)]
    if maker == "openpyxl":
        return openpyxl_report(path, [r[0] for r in rows])
    if maker == "xlsxwriter":
        import xlsxwriter

        workbook = xlsxwriter.Workbook(str(path))
        sheet = workbook.add_worksheet("Findings")
        sheet.write_row(0, 0, HEADERS)
        for number, row in enumerate(rows, start=1):
            sheet.write_row(number, 0, [c for c in row if c is not None][:3])
        sheet.freeze_panes(1, 0)
        sheet.autofilter(0, 0, len(rows), len(HEADERS) - 1)
        workbook.close()
        return path
    import pandas

    engine = maker.split(":")[1]
    pandas.DataFrame(rows, columns=HEADERS).to_excel(path, sheet_name="Findings", index=False, engine=engine)
    return path


@pytest.mark.parametrize("maker", ["openpyxl", "xlsxwriter", "pandas:openpyxl", "pandas:xlsxwriter"])
def test_generated_workbooks_change_only_the_decided_cells(tmp_path, maker):
    path = _generated(tmp_path / "report.xlsx", maker)
    with zipfile.ZipFile(path) as archive:
        before = {i.filename: archive.read(i.filename) for i in archive.infolist()}
    report = read_report(path)
    rows = [report.findings[1].row, report.findings[4].row]
    save_report(report, {rows[0]: {"action": NO_ISSUE}, rows[1]: {"action": DELETE, "note": "a\r\nb _x0041_"}})
    with zipfile.ZipFile(path) as archive:
        after = {i.filename: archive.read(i.filename) for i in archive.infolist()}
    assert list(before) == list(after)
    assert [n for n in before if before[n] != after[n]] == ["xl/worksheets/sheet1.xml"]
    values = calamine_rows(path)
    assert values[rows[0] - 1][3] == NO_ISSUE and values[rows[1] - 1][3] == DELETE
    assert values[rows[1] - 1][4] == "a\r\nb _x0041_"
    sheet = openpyxl.load_workbook(path)["Findings"]
    assert sheet.cell(row=rows[0], column=4).value == NO_ISSUE and sheet.cell(row=rows[1], column=4).value == DELETE


def test_item04_owner_that_cannot_be_kept_is_said(tmp_path):
    """A save by another user (a forked process that drops to uid 1234) keeps what it may and says what not."""
    if os.geteuid() != 0:
        pytest.skip("needs root to run the save as another user")
    import shutil
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix="phi-shared-"))
    try:
        folder.chmod(0o777)
        path = openpyxl_report(folder / "report.xlsx", ["a.dcm"])
        os.chown(path, 4321, 4321)
        path.chmod(0o666)
        read_end, write_end = os.pipe()
        child = os.fork()
        if child == 0:  # pragma: no cover - runs in the child
            code = 1
            try:
                os.close(read_end)
                os.setgroups([])
                os.setgid(1234)
                os.setuid(1234)
                warnings = save_report(read_report(path), {2: {"action": NO_ISSUE}})
                os.write(write_end, "\n".join(warnings).encode())
                code = 0
            except BaseException as error:  # noqa: BLE001 - reported to the parent
                os.write(write_end, f"ERROR {error!r}".encode())
            finally:
                os._exit(code)
        os.close(write_end)
        with os.fdopen(read_end, "rb") as pipe:
            said = pipe.read().decode()
        _, status = os.waitpid(child, 0)
        assert os.waitstatus_to_exitcode(status) == 0, said
        assert "owner and group could not be kept" in said
        info = path.stat()
        assert (info.st_uid, info.st_gid) == (1234, 1234)
        assert calamine_rows(path)[1][3] == NO_ISSUE
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def test_item06_full_disk_during_a_step_leaves_no_part_of_it(small_disk):
    path = openpyxl_report(small_disk / "report.xlsx", ["a.dcm", "b.dcm"])
    journal = journal_path(path)
    with ReviewSession.open(path, reviewer="r") as session:
        session.decide([0], NO_ISSUE)
        before = journal.read_bytes()
        filler = small_disk / "filler"
        fd = os.open(filler, os.O_WRONLY | os.O_CREAT)
        try:
            while True:
                os.write(fd, b"\0" * 4096)
        except OSError:
            pass
        finally:
            os.close(fd)
        with pytest.raises(PhiReviewError, match="not recorded"):
            session.decide([1], DELETE, note="n" * 20_000)
        assert journal.read_bytes() == before  # no torn half step left for the next record to glue onto
        assert session.findings[1].action == "" and session.findings[1].note == ""
        filler.unlink()
        session.decide([1], METADATA, note="after")
    with ReviewSession.open(path, reviewer="r") as session:
        assert session.recovered == 2 and session.messages[0].startswith("Recovered 2")
        assert [(f.action, f.note) for f in session.findings] == [(NO_ISSUE, ""), (METADATA, "after")]


def test_item01_rows_of_one_file_are_told_apart_by_their_other_cells(tmp_path):
    path = tmp_path / "report.xlsx"
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(HEADERS)
    sheet.append(["same.dcm", HEADER_ISSUE, "DOE^JANE", None, None])
    sheet.append(["same.dcm", "Possible Burned-in PHI/PII (Pixels)", "", None, None])
    sheet.append(["other.dcm", HEADER_ISSUE, "X", None, None])
    workbook.save(path)
    with ReviewSession.open(path, reviewer="r") as session:
        session.decide([1], DELETE)  # the pixel finding of same.dcm
        workbook = openpyxl.load_workbook(path)
        sheet = workbook.active
        sheet.move_range("A2:E4", rows=10)
        sheet.move_range("A13:E13", rows=-11)  # pixels row first now
        sheet.move_range("A12:E12", rows=-9)
        sheet.move_range("A14:E14", rows=-10)
        workbook.save(path)
        with pytest.raises(ReportError):
            session.save()
    with ReviewSession.open(path, reviewer="r") as session:
        decided = [(f.file, f.issue, f.action) for f in session.findings if f.action]
        assert decided == [("same.dcm", "Possible Burned-in PHI/PII (Pixels)", DELETE)]
        assert session.findings[0].issue.startswith("Possible Burned-in") and session.findings[0].action == DELETE


def test_item09_a_two_dimensional_shared_formula_group_is_refused_with_one_line(tmp_path):
    rows = header_row() + "".join(
        f'<row r="{n}">{istr(f"f{n}.dcm", f"A{n}")}{istr(HEADER_ISSUE, f"B{n}")}'
        + (f'<c r="D{n}" t="str"><f t="shared" ref="D2:E3" si="0">B{n}&amp;"!"</f><v>x</v></c>' if n == 2
           else f'<c r="D{n}" t="str"><f t="shared" si="0"/><v>x</v></c>')
        + f'<c r="E{n}" t="str"><f t="shared" si="0"/><v>x</v></c></row>'
        for n in range(2, 4))
    path = handmade_report(tmp_path / "report.xlsx", rows)
    before = path.read_bytes()
    with pytest.raises(ReportError, match="shared formula") as error:
        save_report(read_report(path), {2: {"action": NO_ISSUE}})
    assert "\n" not in str(error.value) and path.read_bytes() == before


def test_item02_a_symlinked_csv_report_stays_a_link(tmp_path):
    real = tmp_path / "real.csv"
    real.write_text("File Name,Validation Issue,Action\na.dcm,Possible PHI/PII in Header,\n", encoding="utf-8")
    link = tmp_path / "link.csv"
    link.symlink_to(real)
    with ReviewSession.open(link, reviewer="r") as session:
        session.decide([0], NO_ISSUE)
        session.save()
    assert link.is_symlink() and NO_ISSUE in real.read_text(encoding="utf-8")
    assert (tmp_path / ".real.csv.orig").exists() and not (tmp_path / ".link.csv.orig").exists()  # CSV backups are hidden


def test_item02_atomic_replace_and_backup_through_a_link_write_the_target(tmp_path):
    from phi_review.core.common.atomic_file import backup_once, replace_atomically

    real = tmp_path / "real.csv"
    real.write_bytes(b"old")
    link = tmp_path / "link.csv"
    link.symlink_to(real)
    assert backup_once(link) == tmp_path / "real.orig.csv"
    replace_atomically(link, lambda handle: handle.write(b"new"))
    assert link.is_symlink() and real.read_bytes() == b"new" and (tmp_path / "real.orig.csv").read_bytes() == b"old"


def test_item03_a_row_lookalike_in_a_comment_or_cdata_is_not_a_row(tmp_path):
    def row(n: int) -> str:
        return f'<row r="{n}">{istr(f"f{n}.dcm", f"A{n}")}{istr(HEADER_ISSUE, f"B{n}")}</row>'

    data = (header_row() + row(2) + '<!-- <row r="3"><c r="D3"/></row> -->'
            + f'<row r="3">{istr(f"f3.dcm", "A3")}<c r="B3" t="inlineStr"><is><t><![CDATA[<row r="4"></row>]]></t></is></c></row>'
            + row(4))
    path = handmade_report(tmp_path / "report.xlsx", data)
    save_report(read_report(path), {3: {"action": NO_ISSUE}, 4: {"action": DELETE}})
    xml = sheet_xml(path)
    assert b'<!-- <row r="3"><c r="D3"/></row> -->' in xml and b'<![CDATA[<row r="4"></row>]]>' in xml
    rows = calamine_rows(path)
    assert [r[3] for r in rows[1:]] == ["", NO_ISSUE, DELETE] and rows[2][1] == '<row r="4"></row>'
