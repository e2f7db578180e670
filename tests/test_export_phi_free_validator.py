"""--phi-free on the validator's own CSVs: Details values and OCR excerpts masked, tags and reasons kept.

A folder of validator CSVs exports as one file with a ``Report File`` column;
the validator's placeholders («tag missing») are no value and stay; the
export's refusals for a CSV target inside the reports' folders still hold.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pydicom
import pytest
from pydicom.data import get_testdata_file

from phi_review.core.release.phi_free import MASK, Masker, mask_details
from phi_review.core.proof.identifiers import Identifier
from phi_review.core.report.model import Finding
from phi_review.tui.cli import main

from test_csv_sidecar_summarizer import HDR, MISS, PIX, WARN, _validator_csv


@pytest.fixture
def reports(tmp_path: Path) -> Path:
    top = tmp_path / "reports"
    for collection, sites in (("COLL1", ("SiteA", "SiteB")),):
        (top / collection).mkdir(parents=True)
        for site in sites:
            _validator_csv(top / collection / f"{site}.csv", site, [f"{site.lower()}{i}.dcm" for i in range(2)])
    return top


def _rows(path: Path) -> list[list[str]]:
    return list(csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig"), newline="")))


def test_a_folder_of_validator_csvs_exports_with_details_masked(reports: Path, tmp_path: Path, capsys) -> None:
    folder = reports / "COLL1"
    assert main(["decide", str(folder), "SiteB.csv:4", "1", "--note", "DOE^JANE is the phantom", "--reviewer", "r"]) == 0
    out = tmp_path / "send" / "coll1.csv"
    assert main(["export", str(folder), "--phi-free", "--out", str(out)]) == 0
    captured = capsys.readouterr()
    assert "16 rows" in captured.out and "not found under the roots" in captured.err
    data = out.read_bytes() + out.with_name("coll1.summary.csv").read_bytes()
    assert b"DOE^JANE" not in data.upper() and b"7212121" not in data
    rows = _rows(out)
    assert rows[0][:8] == ["Report File", "Site ID", "Event ID", "File Name", "Profile", "Score", "Findings", "Details"]
    assert len(rows) == 17
    header, missing, pixels, warning = (rows[i][7] for i in (1, 2, 3, 4))
    assert header == ("(0010,0010) (PatientName), «…», Possible PHI/PII detection (score 1.00): "
                      "Structured name detection «…»")
    assert missing.startswith("(0020,0052) (FrameOfReferenceUID), «tag missing», Failed core tag")
    assert pixels == "«…», Detected with pattern MRN at frame index -1"
    assert warning.startswith("«…», (0008,0060) Value for Modality")
    decided = [r for r in rows[1:] if r[8]]
    assert len(decided) == 1 and decided[0][0] == "SiteB.csv" and decided[0][3] == "siteb0.dcm"
    assert decided[0][8:] == ["No Issue / False Positive", "r", decided[0][10], "«…» is the phantom"]
    assert [r[6] for r in rows[1:5]] == [HDR, MISS, PIX, WARN]


def test_a_csv_target_the_summarizer_reads_is_still_refused(reports: Path, capsys) -> None:
    site_a = reports / "COLL1" / "SiteA.csv"
    for target in (reports / "COLL1" / "x.csv", reports / "COLL2" / "x.csv"):
        assert main(["export", str(site_a), "--phi-free", "--out", str(target)]) == 2
        assert "summarize-validation-reports" in capsys.readouterr().err
        assert not target.exists()


def test_identifiers_of_a_found_file_are_sought_in_every_column(tmp_path: Path, capsys) -> None:
    """A user's CSV naming a real file: its patient ID in an extra column refuses; in a note it is masked."""
    dicom = tmp_path / "files" / "ct.dcm"
    dicom.parent.mkdir()
    dicom.write_bytes(Path(get_testdata_file("CT_small.dcm")).read_bytes())
    patient_id = str(pydicom.dcmread(dicom).PatientID)
    report = tmp_path / "mine.csv"
    report.write_text("File Name,Validation Issue,Detected Value,Where Seen,Comments\r\n"
                      f"files/ct.dcm,Possible PHI/PII in Header,X,ward 3,seen {patient_id} twice\r\n"
                      f"files/ct.dcm,Possible PHI/PII in Header,Y,chart {patient_id},\r\n", encoding="utf-8")
    out = tmp_path / "send" / "x.csv"
    assert main(["export", str(report), "--phi-free", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "row 3, column 'Where Seen'" in err and patient_id not in err and not out.exists()
    report.write_text(report.read_text().replace(f"chart {patient_id}", "chart"), encoding="utf-8")
    assert main(["export", str(report), "--phi-free", "--out", str(out)]) == 0
    rows = _rows(out)
    assert rows[1][4] == f"seen {MASK} twice" and patient_id not in out.read_text(encoding="utf-8-sig")


def test_mask_details_shapes() -> None:
    def finding(issue: str, details: str) -> Finding:
        return Finding(row=2, file="a.dcm", issue=issue, details=details)

    masker = Masker([Identifier("Jane Roe", "name", "x")])
    cases = {
        ("header", "(0010,0030) (PatientBirthDate), «19620314», Possible PHI/PII detection (score 0.85): date"):
            "(0010,0030) (PatientBirthDate), «…», Possible PHI/PII detection (score 0.85): date",
        ("pixels", "JANE ROE 1962, Detected with pattern NAME at frame index 2"):
            "«…», Detected with pattern NAME at frame index 2",
        ("warning", "««ct»», (0008,0060) Value for Modality matches expected pattern but uses incorrect case"):
            "«…», (0008,0060) Value for Modality matches expected pattern but uses incorrect case",
        ("missing", "(0008,0020) (StudyDate), «value missing», Failed core tag validation: x"):
            "(0008,0020) (StudyDate), «value missing», Failed core tag validation: x",
    }
    issues = {"header": HDR, "pixels": PIX, "warning": WARN, "missing": MISS}
    for (kind, text), want in cases.items():
        assert masker.mask(mask_details(finding(issues[kind], text), text)) == want
    assert masker.mask("met jane roe; JANE ROE again") == f"met {MASK}; {MASK} again"
