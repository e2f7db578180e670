"""`tcia` and `hipaa-safe-harbor` on a generated two-patient study, each run twice as separate
`phi-review fix` processes with one secret file (issue 25, "Show").

Pseudonyms: one per patient, distinct, the same in both runs. tcia: every date of a patient moves by one
offset (the same in every file, both runs), so intervals within a study and across a patient's studies
are kept. Safe Harbor: every date reduced to its year, an age over 89 written 090Y and the birth date
removed, an age of 89 kept. The secret appears in no output file.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import pydicom
import pytest

from test_fix_profile import make_study

SECRET = b"two-runs-secret-0123456789abcdef"


def study(folder: Path) -> list[Path]:
    """make_study's two patients, with a datetime, a second study for B, and ages at the Safe Harbor edge.

    A (3 images): born 1930-10-15, 89 at the study (PatientAge 089Y). B: born 1925-06-15, two studies a
    year apart, 94 and 95 (PatientAge 094Y on the first, none on the second: the age comes from the dates).
    """
    paths = make_study(folder)
    for path in paths[:3]:
        ds = pydicom.dcmread(path)
        ds.PatientBirthDate, ds.PatientAge = "19301015", "089Y"
        ds.AcquisitionDateTime = "20200302101500.25+0100"
        ds.save_as(path)
    b = pydicom.dcmread(paths[3])
    b.PatientBirthDate, b.PatientAge, b.StudyDate, b.ContentDate = "19250615", "094Y", "20200301", "20200301"
    b.AcquisitionDateTime = "20200301093000"
    b.save_as(paths[3])
    b.StudyInstanceUID = b.StudyInstanceUID + ".2"
    b.SeriesInstanceUID = b.SeriesInstanceUID + ".2"
    b.SOPInstanceUID = b.file_meta.MediaStorageSOPInstanceUID = b.SOPInstanceUID + ".2"
    b.StudyDate, b.ContentDate, b.AcquisitionDateTime = "20210301", "20210302", "20210302120000"
    del b.PatientAge
    later = paths[3].parent / "img1.dcm"
    b.save_as(later)
    return paths + [later]


def fix_twice(tmp_path: Path, profile: str) -> tuple[dict[str, pydicom.Dataset], dict[str, pydicom.Dataset]]:
    """Two separate processes, one secret file; the copies of each run by patient folder and file name."""
    paths = study(tmp_path / "in")
    secret = tmp_path / "secret.key"
    secret.write_bytes(SECRET)
    env = {k: v for k, v in os.environ.items() if k != "PHI_REVIEW_FIX_SECRET"}
    env["PHI_REVIEW_CONFIG"] = str(tmp_path / "cfg" / "config.toml")
    runs = []
    for run in ("run1", "run2"):
        out = tmp_path / run
        done = subprocess.run([sys.executable, "-m", "phi_review.tui.cli", "fix", *map(str, paths), "--out", str(out),
                               "--profile", profile, "--secret-file", str(secret)],
                              capture_output=True, text=True, env=env, timeout=120)
        assert done.returncode == 0, done.stderr
        assert "Traceback" not in done.stderr
        manifest = (out / "manifest.jsonl").read_text()
        assert manifest.count('"status": "clean"') == len(paths), manifest[-2000:]
        for path in out.rglob("*"):
            if path.is_file():
                assert SECRET not in path.read_bytes(), path
        runs.append({f"{p.parent.name}/{p.name}": pydicom.dcmread(p) for p in sorted(out.rglob("*.dcm"))})
    return runs[0], runs[1]


def day(text: str) -> dt.date:
    return dt.date(int(text[:4]), int(text[4:6]), int(text[6:8]))


def dates(ds: pydicom.Dataset) -> dict[str, str]:
    return {e.keyword: str(e.value) for e in ds.iterall() if e.VR in ("DA", "DT") and e.value}


def same_patient_files(copies: dict[str, pydicom.Dataset]) -> dict[str, list[str]]:
    return {p: sorted(k for k in copies if k.startswith(p + "/")) for p in ("A", "B")}


def check_pseudonyms(one: dict[str, pydicom.Dataset], two: dict[str, pydicom.Dataset]) -> None:
    """One pseudonym per patient in every file, distinct between the two, identical in both runs."""
    names = {}
    for patient, keys in same_patient_files(one).items():
        given = {(str(one[k].PatientID), str(one[k].PatientName)) for k in keys}
        again = {(str(two[k].PatientID), str(two[k].PatientName)) for k in keys}
        assert len(given) == 1 and given == again, (patient, given, again)
        (pid, name), = given
        assert pid == name and pid.startswith("ANON-") and "MRN" not in pid
        names[patient] = pid
    assert names["A"] != names["B"]


def test_tcia_two_runs_keep_pseudonyms_and_each_patients_intervals(tmp_path: Path) -> None:
    one, two = fix_twice(tmp_path, "tcia")
    assert len(one) == 5
    check_pseudonyms(one, two)
    originals = {f"{p.parent.name}/{p.name}": pydicom.dcmread(p) for p in sorted((tmp_path / "in").rglob("*.dcm"))}
    offsets: dict[str, set[int]] = {"A": set(), "B": set()}
    for key, copy in one.items():
        assert dates(copy) == dates(two[key])  # the same offset in the second run
        before = dates(originals[key])
        for keyword, value in dates(copy).items():
            if keyword in before and len(before[keyword]) >= 8:
                offsets[key[0]].add((day(value) - day(before[keyword])).days)
                assert value[8:] == before[keyword][8:], keyword  # the time of day and its offset stay
    assert len(offsets["A"]) == 1 and len(offsets["B"]) == 1, offsets  # one offset per patient, every file
    assert offsets["A"].pop() < 0 and offsets["B"].pop() < 0
    a0, b0, b1 = one["A/img0.dcm"], one["B/img0.dcm"], one["B/img1.dcm"]
    assert (day(a0.ContentDate) - day(a0.StudyDate)).days == 2
    assert (day(b1.StudyDate) - day(b0.StudyDate)).days == 365  # across the patient's studies
    assert a0.LongitudinalTemporalInformationModified == "MODIFIED"
    assert a0.PatientAge == "089Y" and b0.PatientAge == "094Y"  # Retain Patient Characteristics


def test_safe_harbor_two_runs_dates_to_year_and_ages_over_89(tmp_path: Path) -> None:
    one, two = fix_twice(tmp_path, "hipaa-safe-harbor")
    check_pseudonyms(one, two)
    originals = {f"{p.parent.name}/{p.name}": pydicom.dcmread(p) for p in sorted((tmp_path / "in").rglob("*.dcm"))}
    for key, copy in one.items():
        assert dates(copy) == dates(two[key])
        before = dates(originals[key])
        for elem in copy.iterall():
            if elem.VR == "DA" and elem.value:
                assert str(elem.value)[4:] in ("0101", "0102"), (key, elem.keyword)
            if elem.VR == "DT" and elem.value:
                assert len(str(elem.value)) == 4, (key, elem.keyword)  # the year alone
            if elem.VR in ("DA", "DT") and elem.value and elem.keyword in before:
                assert str(elem.value)[:4] == before[elem.keyword][:4], (key, elem.keyword)
            if elem.VR == "DA" and elem.value and elem.keyword in before:
                assert str(elem.value) != before[elem.keyword]
    for key in ("A/img0.dcm", "A/img1.dcm", "A/img2.dcm"):  # 89: age and birth year stay
        assert one[key].PatientAge == "089Y" and one[key].PatientBirthDate == "19300101"
    b0, b1 = one["B/img0.dcm"], one["B/img1.dcm"]
    assert b0.PatientAge == "090Y" and not b0.get("PatientBirthDate")  # over 89: 90, no birth year
    assert "PatientAge" not in b1 and not b1.get("PatientBirthDate")  # 95 by the dates: the birth year goes
    assert b0.StudyDate == "20200101" and b1.StudyDate == "20210101"


@pytest.mark.parametrize("profile", ["tcia", "hipaa-safe-harbor"])
def test_another_secret_gives_other_pseudonyms(tmp_path: Path, profile: str) -> None:
    """Stable because of the secret, not in spite of it: no one without it derives the same names."""
    from phi_review.core.remedy.profile_file import build_editor, load_profile

    ds = pydicom.dcmread(study(tmp_path / "in")[0])
    first = build_editor(load_profile(profile), SECRET).pseudonyms.for_dataset(ds)  # type: ignore[union-attr]
    other = build_editor(load_profile(profile), b"another secret").pseudonyms.for_dataset(ds)  # type: ignore[union-attr]
    assert first != other and "MRN-0001" not in first
