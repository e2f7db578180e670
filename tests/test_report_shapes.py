"""Randomized sheet shapes (seeded): two decisions change only the decided cells, whatever the XML looks like.

Rows and cells with and without ``r``, either quote and spaces around ``=``,
shared, inline and rich strings, numbers, shared formulas (also with their
master in the Action column), comments and CDATA that look like rows, a table
part. After two decisions every other zip part is byte-identical, every other
cell is unchanged, and openpyxl, python-calamine (and LibreOffice, where
installed) read the decisions back.
"""

from __future__ import annotations

import csv
import random
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import openpyxl
import pytest
from lxml import etree
from python_calamine import CalamineWorkbook

from phi_review.core.report.action_list import column_index, column_letter
from phi_review.core.report.reader import read_report
from phi_review.core.report.writer import save_report

NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
HEADERS = ["File Name", "Validation Issue", "Detected Value", "Action", "Comments", "Extra"]
ACTION, NOTE = 3, 4
SHAPES = 40
SHEET = "xl/worksheets/sheet1.xml"


def _attr(rng: random.Random, name: str, value: str) -> str:
    return rng.choice([f' {name}="{value}"', f" {name}='{value}'", f' {name} = "{value}"', f"\n\t{name}='{value}'"])


class Shape:
    """One random workbook: sheet XML plus shared strings, built cell by cell."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.shared: list[str] = []
        self.row_r = self.rng.choice(["all", "none", "some"])
        self.cell_r = self.rng.choice(["all", "none", "some"])
        self.master_in_action = self.rng.random() < 0.3

    def text_cell(self, ref: str, text: str) -> str:
        rng = self.rng
        r = _attr(rng, "r", ref) if self.cell_r == "all" or (self.cell_r == "some" and rng.random() < 0.5) else ""
        kind = rng.choice(["shared", "inline", "rich"])
        if kind == "shared":
            self.shared.append(text)
            return f'<c{r}{_attr(rng, "t", "s")}><v>{len(self.shared) - 1}</v></c>'
        if kind == "inline":
            return f'<c{r} t="inlineStr"><is><t>{text}</t></is></c>'
        half = 0 if "&" in text else len(text) // 2
        return (f'<c{r} t="inlineStr"><is><r><t>{text[:half]}</t></r>'
                f'<r><rPr><b/></rPr><t xml:space="preserve">{text[half:]}</t></r></is></c>')

    def build(self, rows: int) -> bytes:
        rng = self.rng
        parts = []
        for number in range(1, rows + 2):
            cells = []
            if number == 1:
                cells = [self.text_cell(f"{column_letter(i)}1", h) for i, h in enumerate(HEADERS)]
            else:
                cells.append(self.text_cell(f"A{number}", f"s{number}/f{rng.randrange(999)}.dcm"))
                cells.append(self.text_cell(f"B{number}", "Possible PHI/PII in Header"))
                cells.append(self.text_cell(f"C{number}", rng.choice(["DOE^J", "a &amp; b", "x&lt;y", "\u00e9t\u00e9"])))
                if self.master_in_action:
                    ref = f' ref="D2:D{rows + 1}"' if number == 2 else ""
                    body = f"C{number}&amp;&quot;!&quot;" if number == 2 else ""
                    f = f'<f t="shared"{ref} si="0">{body}</f>' if body else '<f t="shared" si="0"/>'
                    cells.append(f'<c r="D{number}" t="str">{f}<v>x</v></c>')
                elif rng.random() < 0.4:
                    cells.append(self.text_cell(f"D{number}", "Follow-up Needed"))
                else:
                    cells.append(None)  # a gap: the next cell must carry r
                if rng.random() < 0.5:
                    cells.append(self.text_cell(f"E{number}", "old note"))
                else:
                    cells.append(None)
                value = rng.randrange(100)
                if number == 2:
                    cells.append(f'<c r="F2"><f t="shared" ref="F2:F{rows + 1}" si="1">A2&amp;"x"</f><v>{value}</v></c>')
                else:
                    cells.append(rng.choice([f'<c r="F{number}"><f t="shared" si="1"/><v>{value}</v></c>',
                                             f'<c r="F{number}" s="0"><v>{value}</v></c>']))
            written = []
            gap = False
            for column, cell in enumerate(cells):
                if cell is None:
                    gap = True
                    continue
                if gap and not re.search(r"\sr\s*=", cell.split(">")[0]):
                    cell = cell.replace("<c", f'<c r="{column_letter(column)}{number}"', 1)
                gap = False
                written.append(cell)
            explicit = self.row_r == "all" or (self.row_r == "some" and rng.random() < 0.5)
            r = _attr(rng, "r", str(number)) if explicit else ""
            spans = _attr(rng, "spans", "1:6") if rng.random() < 0.5 else ""
            noise = rng.choice(["", '<!-- <row r="999"> -->', "<?pi <row r='5'/> ?>"]) if number > 1 else ""
            parts.append(f"{noise}<row{r}{spans}>{''.join(written)}</row>")
        dim = _attr(rng, "ref", f"A1:F{rows + 1}")
        return (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            f'<worksheet xmlns="{MAIN}"><dimension{dim}/><sheetData>{"".join(parts)}</sheetData>'
            '<tableParts count="1"><tablePart xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships" r:id="rId1"/></tableParts>'
            "</worksheet>"
        ).encode()

    def shared_xml(self) -> bytes:
        items = "".join(f"<si><t>{t}</t></si>" for t in self.shared)
        return (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<sst xmlns="{MAIN}" '
                f'count="{len(self.shared)}" uniqueCount="{len(self.shared)}">{items}</sst>').encode()


def write_workbook(path: Path, shape: Shape, rows: int) -> None:
    sheet = shape.build(rows)
    rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    ct = ("application/vnd.openxmlformats-officedocument.spreadsheetml")
    parts = {
        "[Content_Types].xml": (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            f'<Override PartName="/xl/workbook.xml" ContentType="{ct}.sheet.main+xml"/>'
            f'<Override PartName="/xl/worksheets/sheet1.xml" ContentType="{ct}.worksheet+xml"/>'
            f'<Override PartName="/xl/sharedStrings.xml" ContentType="{ct}.sharedStrings+xml"/>'
            f'<Override PartName="/xl/tables/table1.xml" ContentType="{ct}.table+xml"/>'
            "</Types>"),
        "_rels/.rels": (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            f'<Relationship Id="rId1" Type="{rel}/officeDocument" Target="xl/workbook.xml"/></Relationships>'),
        "xl/workbook.xml": (
            f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<workbook xmlns="{MAIN}" xmlns:r="{rel}">'
            '<sheets><sheet name="Findings" sheetId="1" r:id="rId1"/></sheets></workbook>'),
        "xl/_rels/workbook.xml.rels": (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            f'<Relationship Id="rId1" Type="{rel}/worksheet" Target="worksheets/sheet1.xml"/>'
            f'<Relationship Id="rId2" Type="{rel}/sharedStrings" Target="sharedStrings.xml"/></Relationships>'),
        "xl/worksheets/_rels/sheet1.xml.rels": (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            f'<Relationship Id="rId1" Type="{rel}/table" Target="../tables/table1.xml"/></Relationships>'),
        "xl/tables/table1.xml": (
            f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<table xmlns="{MAIN}" id="1" name="T" '
            f'displayName="T" ref="A1:F{rows + 1}"><autoFilter ref="A1:F{rows + 1}"/><tableColumns count="6">'
            + "".join(f'<tableColumn id="{i + 1}" name="{h}"/>' for i, h in enumerate(HEADERS))
            + '</tableColumns></table>'),
    }
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in parts.items():
            archive.writestr(name, text)
        archive.writestr(SHEET, sheet)
        archive.writestr("xl/sharedStrings.xml", shape.shared_xml())


def cell_map(xml: bytes) -> dict[tuple[int, int], bytes]:
    """(row, column) -> canonical cell XML without ``r``, numbering rows and cells the way the spec implies."""
    root = etree.fromstring(xml)
    found: dict[tuple[int, int], bytes] = {}
    number = 0
    for row in root.find(f"{NS}sheetData").findall(f"{NS}row"):
        number = int(row.get("r")) if row.get("r") else number + 1
        column = -1
        for cell in row.findall(f"{NS}c"):
            ref = cell.get("r")
            column = column_index("".join(ch for ch in ref if ch.isalpha())) if ref else column + 1
            cell.attrib.pop("r", None)
            found[(number, column)] = etree.tostring(cell, method="c14n")
    return found


def _parts(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {info.filename: archive.read(info.filename) for info in archive.infolist()}


def test_random_sheet_shapes_change_only_the_decided_cells(tmp_path):
    decided_files: list[tuple[Path, dict[int, str], dict[int, str]]] = []
    for seed in range(SHAPES):
        shape = Shape(seed)
        rows = shape.rng.randrange(3, 12)
        path = tmp_path / f"shape{seed}.xlsx"
        write_workbook(path, shape, rows)
        before = _parts(path)
        report = read_report(path)
        assert len(report.findings) == rows, seed
        first, second = shape.rng.sample(report.findings, 2)
        actions = {first.row: "No Issue / False Positive", second.row: "Needs Metadata Update"}
        notes = {second.row: f"seed {seed}: line\r\nnext & <b> _x0041_"}
        save_report(report, {first.row: {"action": actions[first.row]},
                             second.row: {"action": actions[second.row], "note": notes[second.row]}})
        after = _parts(path)
        assert list(before) == list(after), seed
        for name in before:
            if name != SHEET:
                assert before[name] == after[name], (seed, name)
        old, new = cell_map(before[SHEET]), cell_map(after[SHEET])
        edited = {(first.row, ACTION), (second.row, ACTION), (second.row, NOTE)}
        others_old = {k: v for k, v in old.items() if k not in edited}
        others_new = {k: v for k, v in new.items() if k not in edited}
        if shape.master_in_action:  # the shared formula's master moved to the next cell of its group
            moved = {k for k in others_new if k[1] == ACTION and b"ref=" in others_new[k]}
            assert len(moved) <= 1, seed
            for key in moved:
                others_old.pop(key)
                others_new.pop(key)
        assert others_old == others_new, seed
        values = CalamineWorkbook.from_path(str(path)).get_sheet_by_name("Findings").to_python(skip_empty_area=False)
        for row, action in actions.items():
            assert values[row - 1][ACTION] == action, seed
        assert values[second.row - 1][NOTE] == notes[second.row], seed
        sheet = openpyxl.load_workbook(path)["Findings"]
        for row, action in actions.items():
            assert sheet.cell(row=row, column=ACTION + 1).value == action, seed
        assert sheet.cell(row=second.row, column=NOTE + 1).value.startswith(f"seed {seed}: line\r\nnext & <b>")
        decided_files.append((path, actions, notes))
    if shutil.which("soffice") is None:
        return
    out = tmp_path / "lo"
    profile = (tmp_path / "profile").as_uri()
    subject = decided_files[:: max(1, len(decided_files) // 4)]
    done = subprocess.run(
        ["soffice", f"-env:UserInstallation={profile}", "--headless", "--convert-to",
         "csv:Text - txt - csv (StarCalc):44,34,76,1", "--outdir", str(out),
         *[str(p) for p, _, _ in subject]],
        capture_output=True, timeout=180,
    )
    assert done.returncode == 0, done.stderr[-500:]
    for path, actions, notes in subject:
        with open(out / f"{path.stem}.csv", newline="", encoding="utf-8") as handle:
            rows = list(csv.reader(handle))
        for row, action in actions.items():
            assert rows[row - 1][ACTION] == action, path.name
        for row, note in notes.items():
            assert rows[row - 1][NOTE].replace("\r\n", "\n").replace("\r", "\n") == note.replace("\r\n", "\n"), path.name
