"""The same study through `fix --profile basic` and dicognito: each row of the README's comparison table, checked."""

from __future__ import annotations

from pathlib import Path

import pydicom
import pytest
from pydicom.dataset import Dataset

from phi_review.core.remedy.profile import ProfileSettings, option_keys
from test_fix_profile import fix_all, make_study

Anonymizer = pytest.importorskip("dicognito.anonymizer").Anonymizer


def run_dicognito(paths: list[Path], out: Path, seed: str = "peer") -> list[Path]:
    anonymizer = Anonymizer(seed=seed)
    copies = []
    for path in paths:
        ds = pydicom.dcmread(path)
        anonymizer.anonymize(ds)
        dest = out / path.parent.name / path.name
        dest.parent.mkdir(parents=True, exist_ok=True)
        ds.save_as(dest)
        copies.append(dest)
    return copies


@pytest.fixture()
def outputs(tmp_path: Path) -> tuple[list[Dataset], list[Dataset], list[Dataset]]:
    paths = make_study(tmp_path / "in")
    ours = fix_all(paths, tmp_path / "ours", ProfileSettings(secret=b"peer"))
    theirs = run_dicognito(paths, tmp_path / "dicognito")
    read = lambda ps: [pydicom.dcmread(p) for p in ps]  # noqa: E731
    return read(paths), read(ours), read(theirs)


def test_names_ids_and_institution(outputs) -> None:
    orig, ours, dg = outputs
    assert ours[0].PatientName == "" and ours[0].PatientID == "ANONYMOUS" and ours[0].InstitutionName == "ANONYMOUS"
    assert dg[0].PatientName not in ("", orig[0].PatientName)  # a made-up name instead
    assert dg[0].PatientID not in ("", orig[0].PatientID)
    assert dg[0].InstitutionName not in ("", orig[0].InstitutionName)


def test_dates(outputs, tmp_path: Path) -> None:
    orig, ours, dg = outputs
    assert ours[0].StudyDate == ""  # E.1-1: Study Date is Z without the dates option
    assert dg[0].StudyDate not in ("", orig[0].StudyDate)
    # dicognito shifts both patients by the same offset; ours (with the option) one offset per patient
    assert (dg[0].StudyDate == dg[3].StudyDate) and orig[0].StudyDate == orig[3].StudyDate
    paths = make_study(tmp_path / "again")
    shifted = fix_all(paths, tmp_path / "shifted", ProfileSettings(secret=b"peer", options=option_keys(["retain-modified-dates"])))
    a, b = pydicom.dcmread(shifted[0]), pydicom.dcmread(shifted[3])
    assert a.StudyDate != b.StudyDate


def test_free_text_and_private_tags(outputs) -> None:
    orig, ours, dg = outputs
    assert "StudyDescription" not in ours[0]
    assert dg[0].StudyDescription == orig[0].StudyDescription  # still names the patient
    assert not any(e.tag.is_private for e in ours[0])
    block = dg[0].private_block(0x0009, "PHIREVIEW TEST")
    assert block[0x01].value == "Jane Doe private note"


def test_uids_agree_within_the_study_in_both(outputs) -> None:
    orig, ours, dg = outputs
    for out in (ours, dg):
        assert len({ds.StudyInstanceUID for ds in out[:3]}) == 1
        assert out[0].StudyInstanceUID != orig[0].StudyInstanceUID
        assert out[0].ReferencedImageSequence[0].ReferencedSOPInstanceUID == out[1].SOPInstanceUID


def test_deidentification_marks(outputs) -> None:
    orig, ours, dg = outputs
    assert ours[0].PatientIdentityRemoved == "YES" and ours[0].DeidentificationMethodCodeSequence[0].CodeValue == "113100"
    assert ours[0].LongitudinalTemporalInformationModified == "REMOVED"
    assert "PatientIdentityRemoved" not in dg[0]  # dicognito sets it only when BurnedInAnnotation is NO
    assert dg[0].DeidentificationMethod == "DICOGNITO"
