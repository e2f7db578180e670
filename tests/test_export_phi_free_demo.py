"""`phi-review export REPORT --phi-free --out OUT.xlsx|OUT.csv`: a report safe for any channel.

The demo report's export holds none of the demo files' identifiers (the proof's
``collect_identifiers`` of every file; searched in the xlsx's unzipped parts and
in the CSV's bytes), keeps every row and decision, keeps the tag beside a
masked value, masks a patient's name typed into a note, and refuses (naming the
row, never the value) when a column it does not mask holds an identifier.
"""

from __future__ import annotations

import csv
import shutil
import subprocess
import uuid
import io
import zipfile
from pathlib import Path

import openpyxl
import pytest

from phi_review.core.proof.identifiers import collect_identifiers
from phi_review.core.proof.search import ByteSearch
from phi_review.core.report.reader import read_report
from phi_review.sample_reports.build_demo import build_demo
from phi_review.tui.cli import main

NO_ISSUE = "No Issue / False Positive"
NOTE = "Called about Doe^Archibald (archibald doe): fine"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    report = build_demo(tmp_path_factory.mktemp("demo"))
    assert main(["decide", str(report), "4", "1", "--reviewer", "rev"]) == 0
    assert main(["decide", str(report), "18", "3", "--note", NOTE, "--reviewer", "rev"]) == 0
    assert main(["decide", str(report), "20", "2", "--reviewer", "rev"]) == 0
    return report


def _identifiers(demo: Path) -> list:
    found = {}
    for path in sorted((demo.parent / "dicom").rglob("*.dcm")):
        for ident in collect_identifiers(path):
            found.setdefault(ident.text.lower(), ident)
    report = read_report(demo)
    values = {f.value for f in report.findings if f.value and "Missing" not in f.issue}
    return list(found.values()), sorted(values)


def _assert_clean(blobs: dict[str, bytes], demo: Path) -> None:
    identifiers, values = _identifiers(demo)
    assert len(identifiers) > 50 and "Doe^Archibald" in values
    search = ByteSearch(identifiers)
    for name, blob in blobs.items():
        assert search.plain_residuals(blob) == [], name
        text = blob.decode("utf-8", "replace").lower()
        for ident in identifiers:  # independent of the search's boundary rules: long ones anywhere
            if len(ident.text) >= 6:
                assert ident.text.lower() not in text, (name, ident.kind)
        for value in values:
            assert value.lower() not in text and value.lower().replace("&", "&amp;") not in text, name


def test_the_xlsx_holds_no_identifier_and_every_row_and_decision(demo: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "send" / "report.xlsx"
    assert main(["export", str(demo), "--phi-free", "--out", str(out)]) == 0
    said = capsys.readouterr().out
    assert "24 rows" in said and "Summary" in said
    with zipfile.ZipFile(out) as archive:
        _assert_clean({n: archive.read(n) for n in archive.namelist()}, demo)
    book = openpyxl.load_workbook(out)
    assert book.sheetnames[:2] == ["Summary", "Report"]
    sheet = book["Report"]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == ("LabCAS File Name", "Validation Issue", "Tag", "Detected Value", "Action", "Comments",
                       "Reviewer", "Reviewed At")
    original = read_report(demo).findings
    assert len(rows) - 1 == len(original) == 24
    assert [r[0] for r in rows[1:]] == [f.file for f in original]
    assert [r[4] or "" for r in rows[1:]] == [f.action for f in original]
    assert rows[1][2:5] == ("InstitutionName", "«…»", NO_ISSUE)  # the tag kept, the value masked
    assert rows[15][2:6] == ("PatientName", "«…»", "Needs Metadata Update", "Called about «…» («…»): fine")
    assert rows[9][3] == "PatientIdentityRemoved, DeidentificationMethod"  # attribute names, no value
    rules = sheet.data_validations.dataValidation
    assert len(rules) == 1 and str(rules[0].sqref) == "E2:E25" and rules[0].formula1 == "Actions!$A$1:$A$5"
    assert [c.value for c in book["Actions"]["A"]][:2] == [NO_ISSUE, "Needs Deletion & Re-upload"]
    summary = {r[0]: r[1] for r in book["Summary"].iter_rows(values_only=True) if r[0]}
    assert summary["Rows"] == "24" and summary["Reviewed"] == "3" and summary[NO_ISSUE] == "1"


def test_the_csv_holds_no_identifier_and_its_summary_is_beside_it(demo: Path, tmp_path: Path) -> None:
    out = tmp_path / "send" / "report.csv"
    assert main(["export", str(demo), "--phi-free", "--out", str(out)]) == 0
    summary = out.with_name("report.summary.csv")
    _assert_clean({out.name: out.read_bytes(), summary.name: summary.read_bytes()}, demo)
    rows = list(csv.reader(io.StringIO(out.read_text(encoding="utf-8-sig"), newline="")))
    original = read_report(demo).findings
    assert len(rows) - 1 == len(original)
    assert [r[4] for r in rows[1:]] == [f.action for f in original]
    assert rows[15][5] == "Called about «…» («…»): fine"
    assert all(r[3] in ("«…»", "PatientIdentityRemoved, DeidentificationMethod") for r in rows[1:])
    counts = dict(r for r in csv.reader(io.StringIO(summary.read_text(encoding="utf-8-sig"))) if len(r) == 2)
    assert counts["Rows"] == "24" and counts["Cells masked"] == "24"
    # Again without --force: refused, nothing replaced.
    before = out.read_bytes()
    assert main(["export", str(demo), "--phi-free", "--out", str(out)]) == 2
    assert out.read_bytes() == before


def test_an_identifier_in_a_column_not_masked_refuses_naming_the_row(demo: Path, tmp_path: Path, capsys) -> None:
    # The reviewer column is kept as read: a reviewer named like a patient of the report's files.
    copy = tmp_path / "demo.xlsx"
    copy.write_bytes(demo.read_bytes())
    (tmp_path / "dicom").symlink_to(demo.parent / "dicom")
    assert main(["decide", str(copy), "7", "1", "--reviewer", "Archibald"]) == 0
    capsys.readouterr()
    for out in (tmp_path / "x.xlsx", tmp_path / "x.csv"):
        assert main(["export", str(copy), "--phi-free", "--out", str(out), "--root", str(demo.parent)]) == 2
        err = capsys.readouterr().err
        assert "row 7, column 'Reviewer'" in err and "nothing written" in err and len(err.strip().splitlines()) == 1
        assert "archibald" not in err.lower()
        assert not out.exists() and not out.with_name("x.summary.csv").exists()


def test_an_unknown_suffix_and_a_missing_root_are_refused(demo: Path, tmp_path: Path, capsys) -> None:
    assert main(["export", str(demo), "--phi-free", "--out", str(tmp_path / "x.txt")]) == 2
    assert ".xlsx or a .csv" in capsys.readouterr().err
    assert main(["export", str(demo), "--phi-free", "--out", str(tmp_path / "x.csv"),
                 "--root", str(tmp_path / "nope")]) == 2
    assert "not a folder" in capsys.readouterr().err


@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice is not installed")
def test_libreoffice_reads_the_export_as_literal_text(demo: Path, tmp_path: Path) -> None:
    copy = tmp_path / "demo.xlsx"
    copy.write_bytes(demo.read_bytes())
    (tmp_path / "dicom").symlink_to(demo.parent / "dicom")
    assert main(["decide", str(copy), "5", "2", "--note", "=1+1", "--reviewer", "rev"]) == 0
    out = tmp_path / "send" / "x.xlsx"
    assert main(["export", str(copy), "--phi-free", "--out", str(out)]) == 0
    converted = tmp_path / "lo"
    profile = f"file:///tmp/lo-profile-{uuid.uuid4().hex}"
    # UTF-8 (76), sheet 2 (the Report; the 12th option, LibreOffice 7.2+)
    subprocess.run(["soffice", f"-env:UserInstallation={profile}", "--headless", "--convert-to",
                    "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,false,false,false,2",
                    "--outdir", str(converted), str(out)], check=True, capture_output=True, timeout=180)
    written = sorted(converted.glob("*.csv"))
    assert len(written) == 1
    rows = list(csv.reader(written[0].open(encoding="utf-8", newline="")))
    assert rows[0][0] == "LabCAS File Name" and len(rows) == 25
    assert rows[2][3:6] == ["«…»", "Needs Deletion & Re-upload", "=1+1"]  # literal text, not a formula's 2
