"""core.review.patients and the session's patient:/is:disputed filters and patient groups (no Textual)."""

from __future__ import annotations

import csv
from pathlib import Path

import pydicom
from pydicom.data import get_testdata_file

from phi_review.core.review.patients import read_patients
from phi_review.core.review.session import ReviewSession


def _dicom(folder: Path, name: str, patient_id: str, study: str, patient_name: str = "ROE^RICHARD") -> Path:
    ds = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
    ds.PatientID = patient_id
    ds.PatientName = patient_name
    ds.PatientAge = "045Y"
    ds.PatientSex = "F"
    ds.StudyInstanceUID = study
    path = folder / name
    ds.save_as(path)
    return path


def test_patients_are_numbered_by_first_row_counted_once_per_file_and_report_progress(tmp_path):
    a = _dicom(tmp_path, "a.dcm", "ID-B", "1.2.3")
    b = _dicom(tmp_path, "b.dcm", "ID-A", "1.2.4", "SMITH^ANN")
    c = _dicom(tmp_path, "c.dcm", "ID-B", "1.2.5")
    broken = tmp_path / "broken.dcm"
    broken.write_bytes(b"not dicom")
    seen: list[tuple[int, int]] = []
    index = read_patients([a, None, b, a, c, broken], lambda d, t: seen.append((d, t)), every=2)
    assert index.labels == ["P1", "", "P2", "P1", "P1", ""]
    assert index.unknown == [1, 5]
    p1 = index.patients["P1"]
    assert (p1.name, p1.age, p1.sex) == ("ROE^RICHARD", "45Y", "F")
    assert len(p1.studies) == 2 and len(p1.files) == 2 and p1.indexes == [0, 3, 4]
    assert seen[-1] == (4, 4) and (2, 4) in seen
    assert "ROE" not in repr(p1) and "ID-B" not in repr(index)


def _report(tmp_path: Path) -> Path:
    report = tmp_path / "report.csv"
    with report.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["File Name", "Validation Issue", "Detected Value", "Action", "Reviewer",
                         "Second Review", "Second Reviewer"])
        writer.writerow(["a.dcm", "Possible PHI/PII in Header", "X1", "No Issue / False Positive", "ann",
                         "No Issue / False Positive", "bob"])
        writer.writerow(["b.dcm", "Possible PHI/PII in Header", "X2", "No Issue / False Positive", "ann",
                         "Needs Metadata Update", "bob"])
        writer.writerow(["c.dcm", "Possible PHI/PII in Header", "X3", "", "", "", ""])
    return report


def test_session_filters_disputed_rows_and_patients_and_groups_by_patient(tmp_path):
    session = ReviewSession.open(_report(tmp_path), reviewer="carl", read_only=True)
    try:
        assert session.filter("is:disputed") == [1]
        assert session.filter("patient:P1") == []  # headers not read: no patient matches
        session.patient_labels = ["P2", "P1", ""]
        assert session.filter("patient:P1") == [1]
        assert session.filter("patient:p2 is:disputed") == []
        groups = session.groups(by="patient")
        assert sorted((g.value, g.indexes) for g in groups) == [("P1", [1]), ("P2", [0])]  # unknown: no group
    finally:
        session.close()
