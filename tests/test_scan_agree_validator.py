"""Header agreement with the real validator, row by row: every header PHI row ``validate-dicom-files`` 1.0.1
writes on the scan tree (``tests/scan_tree.py``, plus four files whose headers hold what its recognizer looks
for) is also a row of ``phi-review scan``, same file and tag, its value among ours; every row only we write
says why (a listed identifying attribute, a pattern, or one of the file's own identifiers).

Required-tag rows (``Missing Required Tags``, ``Warning``) are the validator's job and left out on both sides.
"""

from __future__ import annotations

import csv
import os
import re
import subprocess
from pathlib import Path

import pydicom
import pytest
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

from phi_review.core.scan import layout
from phi_review.sample_reports.make_dicom import burned_in_text_image
from phi_review.tui.cli import main

from scan_tree import PATIENT, SIZE, _as_mr, build_tree

VALIDATOR = os.environ.get("PHI_REVIEW_VALIDATOR", "/opt/labcas-validator/venv/bin/validate-dicom-files")
_TAG = re.compile(r"^\(([0-9A-F]{4}),([0-9A-F]{4})\)")
_VALUE = re.compile(r"«(.*?)»")
# Why a row of ours that the validator does not write is there: one of these closes its Details.
_JUSTIFIED = re.compile(
    r": (?:[A-Za-z]+ (?:names or dates the patient|names a person|names an institution, place or device|"
    r"dates the study or orders it|free text|keeps values the file held before they were changed)"
    r"(?:; (?:pattern [\w -]+|holds the file's [A-Za-z]+))?|pattern [\w -]+ in [\w ]+|holds the file's [A-Za-z]+ in [\w ]+)$")


def headers_file(path: Path) -> Path:
    """An MR file whose header holds every shape the validator's recognizer flags (all values invented)."""
    burned_in_text_image(path, [], size=SIZE, modality="OT", patient=PATIENT)
    _as_mr(path)
    ds = pydicom.dcmread(path)
    ds.OtherPatientNames = ["ANON", "ROE^RICHARD"]  # one value anonymized, the other not
    ds.OtherPatientIDs = "XK42"
    ds.PatientComments = "see chart"
    ds.OperatorsName = "Smith"
    ds.ReferringPhysicianName = "Kay^Alan"
    ds.PerformingPhysicianName = "Jones^Mary"
    ds.PhysiciansOfRecord = "Anonymized"
    ds.PatientAddress = "12 Elm St, phone 555-867-5309"
    ds.DeviceSerialNumber = "SSN 123-45-6789"
    ds.Occupation = "jane@example.org"
    ds.EthnicGroup = "MRN 99887766"
    ds.StudyDescription = "Jane Roe follow-up"
    ds.ImageComments = "call 555-123-4567"
    ds.PatientBirthName = "Roe Jane"
    ds.PatientMotherBirthName = "ROE^ANNA"
    before = Dataset()
    before.PatientName, before.PatientID = "ROE^JANE", "Medical Record 7788990"
    ds.ModifiedAttributesSequence = Sequence([before])
    other = Dataset()
    other.PatientName, other.PatientBirthDate = "ROE^JANE^Q", "19620314"
    ds.ReferencedPatientSequence = Sequence([other])
    ds.save_as(path, enforce_file_format=True)
    return path


def odd_files(folder: Path) -> None:
    """Strict tags written as UN, an implicit-VR file with a private sequence, multi-valued and placeholder values."""
    from pydicom.dataelem import DataElement

    def base(name: str, patient: dict[str, str] = PATIENT) -> tuple[Path, Dataset]:
        path = burned_in_text_image(folder / name, [], size=SIZE, modality="OT", patient=patient)
        _as_mr(path)
        return path, pydicom.dcmread(path)

    path, ds = base("un.dcm")
    ds.add(DataElement(0x00081070, "UN", b"Smith^Operator "))
    ds.add(DataElement(0x00104000, "UN", b"call 555-123-4567 re chart"))
    ds.save_as(path, enforce_file_format=True)
    path, ds = base("implicit.dcm")
    ds.OperatorsName = "Lee^Tom"
    block = ds.private_block(0x0011, "ACME 1.0", create=True)
    block.add_new(0x01, "LO", "Jane Roe 555-222-3333")
    nested = Dataset()
    nested.PatientName, nested.OtherPatientIDs = "ROE^JANE", "A12345678"
    block.add_new(0x02, "SQ", Sequence([nested]))
    ds.file_meta.TransferSyntaxUID = pydicom.uid.ImplicitVRLittleEndian
    ds.save_as(path, enforce_file_format=True)
    path, ds = base("values.dcm", {"PatientName": "Doe^Jane^^^", "PatientID": "12345"})
    ds.OtherPatientIDs = ["A1", "ANONYMOUS", "Medical Record 4455667"]
    ds.PhysiciansOfRecord = ["ANON^X", "Kay^Alan"]
    ds.NameOfPhysiciansReadingStudy = "none"
    ds.PatientComments = "DOB: 03/14/1962"
    ds.RequestingPhysician = "Who^Doctor"
    ds.ReferringPhysicianName = "REFPHYS554793"
    ds.save_as(path, enforce_file_format=True)


def _need_validator() -> str:
    if not (os.path.isfile(VALIDATOR) and os.access(VALIDATOR, os.X_OK)):
        pytest.skip(f"{VALIDATOR} not installed (labcas-validator: run .ci/install-validator.sh)")
    return VALIDATOR


def _header_rows(folder: Path) -> list[list[str]]:
    rows: list[list[str]] = []
    for csv_path in sorted(folder.glob("*.csv")):
        with open(csv_path, newline="", encoding="utf-8") as handle:
            rows += [r for r in list(csv.reader(handle))[1:] if r[5] == layout.HEADER]
    return rows


def _key(row: list[str]) -> tuple[str, str, str, str]:
    found = _TAG.match(row[6])
    assert found, row[6]
    return row[0], row[1], row[2], f"({found.group(1)},{found.group(2)})"


@pytest.fixture(scope="module")
def both(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[list[str]], list[list[str]]]:
    """(validator header rows, scan header rows) on the same tree."""
    exe = _need_validator()
    root = tmp_path_factory.mktemp("agree")
    coll = build_tree(root)
    headers_file(coll / "Images_Site_C" / "3456789" / "s1" / "headers.dcm")
    odd_files(coll / "Images_Site_C" / "3456789" / "s2")
    theirs_dir = root / "validator"
    env = {**os.environ, "TMPDIR": str(root)}  # its findings database (values included) stays in the test's folder
    done = subprocess.run([exe, "-o", str(theirs_dir), str(coll)], capture_output=True, text=True, timeout=300,
                          cwd=root, env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    ours_dir = root / "reports" / "Collection"
    assert main(["scan", str(coll), "--out", str(ours_dir), "--no-ocr", "--quiet"]) == 0
    return _header_rows(theirs_dir), _header_rows(ours_dir)


def test_every_validator_header_row_is_ours(both: tuple[list[list[str]], list[list[str]]]) -> None:
    theirs, ours = both
    assert theirs, "the validator wrote no header row: nothing was compared"
    ours_by_key: dict[tuple[str, str, str, str], list[str]] = {}
    for row in ours:
        ours_by_key.setdefault(_key(row), []).append(_VALUE.search(row[6]).group(1))  # type: ignore[union-attr]
    their_keys = {_key(r) for r in theirs}
    our_keys = set(ours_by_key)
    only_theirs, shared, only_ours = their_keys - our_keys, their_keys & our_keys, our_keys - their_keys
    print(f"\nheader rows (file + tag): ours only {len(only_ours)}, both {len(shared)}, theirs only {len(only_theirs)}"
          f" (validator {len(theirs)} rows, scan {len(ours)} rows)")
    assert not only_theirs, sorted(only_theirs)
    # Row by row: the value the validator shows (one value of a multi-valued element, cut at 80 characters)
    # is within one of our rows for that file and tag.
    missed = []
    for row in theirs:
        value = _VALUE.search(row[6]).group(1).rstrip("…")  # type: ignore[union-attr]
        if not any(value in ours_value for ours_value in ours_by_key[_key(row)]):
            missed.append((_key(row), value))
    assert not missed, missed
    assert len(shared) >= 30  # the added files hold more than twenty of its shapes


def test_rows_only_we_write_say_why(both: tuple[list[list[str]], list[list[str]]]) -> None:
    theirs, ours = both
    their_keys = {_key(r) for r in theirs}
    only_ours = [r for r in ours if _key(r) not in their_keys]
    assert only_ours
    unjustified = [r[6] for r in only_ours if not _JUSTIFIED.search(r[6])]
    assert not unjustified, unjustified[:5]
