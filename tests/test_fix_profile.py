"""PS3.15 E.1-1 Basic Profile on real files: every action carried out, UIDs and dates consistent."""

from __future__ import annotations

import copy as copy_module
import datetime as dt
import json
import re
import shutil
import subprocess
import warnings
from pathlib import Path
from typing import Any

import pydicom
import pytest
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

from conftest import bundled_dicom_files
from phi_review.core.remedy.output import RemedyError, sha256_file, write_copy
from phi_review.core.remedy.profile import (
    DUMMIES,
    ProfileError,
    ProfileSettings,
    action_for,
    date_offset_days,
    deidentify,
    load_table,
    map_uid,
    option_keys,
    profile_editor,
    shift_date,
)

SECRET = b"test-secret"
BASIC = ProfileSettings(secret=SECRET)
EMPTYISH = ("Z", "X/Z")
DUMMYISH = ("D", "X/D", "X/Z/D", "Z/D")


def bundled_files() -> list[Path]:
    """Every bundled pydicom file (never the online ones) that pydicom reads as DICOM with a SOP class."""
    found = []
    for path in bundled_dicom_files():
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                ds = pydicom.dcmread(path, stop_before_pixels=True)
        except Exception:  # noqa: BLE001 - not DICOM
            continue
        if "SOPClassUID" in ds:
            found.append(path)
    return found


def make_study(folder: Path) -> list[Path]:
    """Two patients: A with a 3-image CT series referencing each other, B with one image.

    Values that must go: names, IDs, dates, institution, free text naming the
    patient, private tags (a text one and a numeric one), a nested sequence.
    """
    base = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    study, series, frame = "1.2.826.0.1.3680043.8.498.1", "1.2.826.0.1.3680043.8.498.2", "1.2.826.0.1.3680043.8.498.3"
    sops = [f"1.2.826.0.1.3680043.8.498.10{i}" for i in range(3)]
    for i, sop in enumerate(sops):
        ds = copy_module.deepcopy(base)
        ds.PatientName = "Doe^Jane"
        ds.PatientID = "MRN-0001"
        ds.PatientBirthDate = "19600214"
        ds.StudyDate = "20200301"
        ds.SeriesDate = "20200301"
        ds.AcquisitionDate = "20200302"
        ds.ContentDate = "20200303"
        ds.InstitutionName = "St Example Hospital"
        ds.StudyDescription = "CT chest for Jane Doe MRN-0001"
        ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.FrameOfReferenceUID = study, series, frame
        ds.SOPInstanceUID = sop
        ds.file_meta.MediaStorageSOPInstanceUID = sop
        ref = Dataset()
        ref.ReferencedSOPClassUID = ds.SOPClassUID
        ref.ReferencedSOPInstanceUID = sops[(i + 1) % 3]
        ds.ReferencedImageSequence = Sequence([ref])
        req = Dataset()
        req.RequestingPhysician = "House^Gregory"
        req.RequestedProcedureID = "RP-77"
        req.StudyInstanceUID = study
        ds.RequestAttributesSequence = Sequence([req])
        region = Dataset()  # a sequence the table does not name: its items are still de-identified
        region.CodeValue = "T-D3000"
        region.OperatorsName = "Tech^Tom"
        region.ReferencedSOPInstanceUID = sops[0]
        ds.AnatomicRegionSequence = Sequence([region])
        ds.StationName, ds.DeviceSerialNumber = "CT-ROOM-3", "SN-12345"
        ds.PatientSex, ds.PatientAge = "F", "060Y"
        block = ds.private_block(0x0009, "PHIREVIEW TEST", create=True)
        block.add_new(0x01, "LO", "Jane Doe private note")
        block.add_new(0x02, "US", 42)
        path = folder / "A" / f"img{i}.dcm"
        path.parent.mkdir(parents=True, exist_ok=True)
        ds.save_as(path, enforce_file_format=True)
        paths.append(path)
    ds = copy_module.deepcopy(base)
    ds.PatientName, ds.PatientID, ds.StudyDate = "Roe^Richard", "MRN-0002", "20200301"
    path = folder / "B" / "img0.dcm"
    path.parent.mkdir(parents=True, exist_ok=True)
    ds.save_as(path, enforce_file_format=True)
    paths.append(path)
    return paths


def fix_all(paths: list[Path], out: Path, settings: ProfileSettings = BASIC) -> list[Path]:
    copies = []
    for path in paths:
        dest = out / path.parent.name / path.name
        write_copy(path, dest, edit_header=profile_editor(settings))
        copies.append(dest)
    return copies


def walk(ds: Dataset, prefix: str = ""):
    for elem in ds:
        yield prefix, elem
        if elem.VR == "SQ":
            for item in elem.value or []:
                yield from walk(item, prefix + elem.keyword + ".")


def uids_in(ds: Dataset) -> set[str]:
    found = set()
    for _, elem in walk(ds):
        if elem.VR == "UI" and elem.value:
            values = elem.value if isinstance(elem.value, list | pydicom.multival.MultiValue) else [elem.value]
            found.update(str(v) for v in values)
    return found


def check_profile(original: Dataset, copy: Dataset, settings: ProfileSettings) -> list[str]:
    """Every Table E.1-1 action visible in the copy; returns what is wrong."""
    table = load_table()
    problems = []
    original_uids = uids_in(original)
    for prefix, elem in walk(copy):
        name = prefix + (elem.keyword or str(elem.tag))
        if elem.tag.is_private and "retain_safe_private" not in settings.options:
            problems.append(f"{name}: private tag kept")
            continue
        row = table.exact.get(int(elem.tag))
        if row is None or elem.tag.group == 0x0012 and elem.keyword.startswith(("Deidentification", "PatientIdentity")):
            continue
        action = action_for(row, settings.options)
        if action == "X":
            problems.append(f"{name}: X but present")
        elif action in EMPTYISH or (action in DUMMYISH and elem.VR == "SQ" and action not in ("D", "X/D")):
            if elem.VR == "SQ" and len(elem.value) and action != "Z":
                continue
            if elem.value not in (None, "", b"") and not (elem.VR == "SQ" and not len(elem.value)):
                problems.append(f"{name}: {action} but holds a value")
        elif action in DUMMYISH and elem.VR not in ("SQ", "UI"):
            if elem.value != DUMMIES[elem.VR] and elem.value not in (None, "", b""):
                problems.append(f"{name}: D but not the dummy")
        elif action in ("U", "X/Z/U*", *DUMMYISH) and elem.VR == "UI" and elem.value:
            if str(elem.value) in original_uids:
                problems.append(f"{name}: U but the original UID")
    if copy.get("PatientIdentityRemoved") != "YES":
        problems.append("PatientIdentityRemoved is not YES")
    return problems


def test_table_is_the_generated_standard_table() -> None:
    table = load_table()
    assert table.edition == "2024d" and table.basic_code == "113100"
    assert len(table.exact) > 600 and table.private["basic"] == "X"
    actions = {row["basic"] for row in table.exact.values()}
    assert actions <= {"D", "Z", "X", "K", "C", "U", "Z/D", "X/Z", "X/D", "X/Z/D", "X/Z/U*"}
    assert {"D", "Z", "X", "U", "X/Z", "X/D", "X/Z/D", "Z/D", "X/Z/U*"} <= actions
    # spot checks against the standard
    assert table.exact[0x00100010]["basic"] == "Z"  # Patient's Name
    assert table.exact[0x00100020]["basic"] == "Z/D"  # Patient ID
    assert table.exact[0x0020000D]["basic"] == "U"  # Study Instance UID
    assert table.exact[0x00080080]["options"]["retain_institution_id"] == "K"
    doc = json.loads((Path(__file__).parent.parent / "core" / "remedy" / "ps3_15_e1_1.json").read_text())
    assert doc["generator"] == "scripts/make_ps3_15_table.py"


def test_every_bundled_file_follows_the_basic_profile(tmp_path: Path) -> None:
    files = bundled_files()
    assert len(files) > 100
    failures: dict[str, list[str]] = {}
    copies: list[Path] = []
    refused: list[str] = []
    for i, path in enumerate(files):
        before = sha256_file(path)
        dest = tmp_path / f"{i:03d}_{path.name}"
        try:
            write_copy(path, dest, edit_header=profile_editor(BASIC))
        except RemedyError:
            refused.append(path.name)  # a one-line refusal (a truncated file), not a crash
            continue
        except Exception as error:  # noqa: BLE001 - reported below with the file name
            failures[path.name] = [f"write_copy: {type(error).__name__}: {error}"]
            continue
        assert sha256_file(path) == before, path.name
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            original = pydicom.dcmread(path, stop_before_pixels=True)
            copy = pydicom.dcmread(dest, stop_before_pixels=True)
        problems = check_profile(original, copy, BASIC)
        if problems:
            failures[path.name] = problems
        copies.append(dest)
    assert not failures, json.dumps(failures, indent=1)[:4000]
    # rtplan_truncated.dcm: a length runs past the end; pydicom reads it leniently, a copy is not made from that
    assert sorted(refused) == ["MR_truncated.dcm", "rtplan_truncated.dcm"]
    if shutil.which("dcmdump"):
        done = subprocess.run(["dcmdump", "-q", *map(str, copies)], capture_output=True, text=True, errors="replace")
        assert "E: " not in done.stderr, done.stderr[:2000]


def test_study_uids_agree_across_files_and_differ_from_originals(tmp_path: Path) -> None:
    paths = make_study(tmp_path / "in")
    copies = fix_all(paths, tmp_path / "out")
    a = [pydicom.dcmread(p) for p in copies[:3]]
    originals = [pydicom.dcmread(p) for p in paths[:3]]
    for kw in ("StudyInstanceUID", "SeriesInstanceUID", "FrameOfReferenceUID"):
        assert len({str(ds[kw].value) for ds in a}) == 1
        assert a[0][kw].value != originals[0][kw].value
        assert a[0][kw].value == map_uid(originals[0][kw].value, BASIC)
    for i, ds in enumerate(a):
        target = a[(i + 1) % 3]
        assert ds.ReferencedImageSequence[0].ReferencedSOPInstanceUID == target.SOPInstanceUID
        assert "RequestAttributesSequence" not in ds  # X on a sequence
        region = ds.AnatomicRegionSequence[0]
        assert region.CodeValue == "T-D3000" and region.OperatorsName == "ANONYMOUS"  # X/Z/D: the dummy
        assert region.ReferencedSOPInstanceUID == a[0].SOPInstanceUID
        assert ds.file_meta.MediaStorageSOPInstanceUID == ds.SOPInstanceUID
        assert ds.SOPInstanceUID != originals[i].SOPInstanceUID
        assert ds.PatientName == "" and ds.PatientID == "ANONYMOUS" and ds.InstitutionName == "ANONYMOUS"
        assert not any(e.tag.is_private for e in ds)
        assert ds.LongitudinalTemporalInformationModified == "REMOVED"
        assert [c.CodeValue for c in ds.DeidentificationMethodCodeSequence] == ["113100"]
    for p, c in zip(paths, copies):
        assert pydicom.dcmread(p).PatientName != ""  # originals untouched


def test_running_twice_gives_identical_copies(tmp_path: Path) -> None:
    paths = make_study(tmp_path / "in")
    before = [sha256_file(p) for p in paths]
    one = fix_all(paths, tmp_path / "one")
    two = fix_all(paths, tmp_path / "two")
    assert [sha256_file(p) for p in one] == [sha256_file(p) for p in two]
    assert [sha256_file(p) for p in paths] == before
    other = fix_all(paths, tmp_path / "three", ProfileSettings(secret=b"another secret"))
    assert pydicom.dcmread(other[0]).StudyInstanceUID != pydicom.dcmread(one[0]).StudyInstanceUID


def days(a: str, b: str) -> int:
    return (dt.date(int(b[:4]), int(b[4:6]), int(b[6:8])) - dt.date(int(a[:4]), int(a[4:6]), int(a[6:8]))).days


def test_modified_dates_move_one_patient_by_one_offset(tmp_path: Path) -> None:
    settings = ProfileSettings(secret=SECRET, options=option_keys(["retain-modified-dates"]))
    paths = make_study(tmp_path / "in")
    copies = fix_all(paths, tmp_path / "out", settings)
    shifts = set()
    for p, c in zip(paths[:3], copies[:3]):
        o, n = pydicom.dcmread(p), pydicom.dcmread(c)
        for kw in ("StudyDate", "SeriesDate", "AcquisitionDate", "ContentDate"):
            shifts.add(days(o[kw].value, n[kw].value))
        assert n.LongitudinalTemporalInformationModified == "MODIFIED"
        assert n.StudyTime == o.StudyTime
        assert "113107" in [x.CodeValue for x in n.DeidentificationMethodCodeSequence]
    assert len(shifts) == 1 and shifts.pop() < 0
    b_orig, b_new = pydicom.dcmread(paths[3]), pydicom.dcmread(copies[3])
    assert days(b_orig.StudyDate, b_new.StudyDate) == date_offset_days(b_orig, settings)
    assert date_offset_days(b_orig, settings) != date_offset_days(pydicom.dcmread(paths[0]), settings)
    assert shift_date("20240229", -1) == "20240228" and shift_date("2024", -1) is None


def _fix_one(tmp_path: Path, options: list[str]) -> tuple[Dataset, Dataset]:
    paths = make_study(tmp_path / "in")
    settings = ProfileSettings(secret=SECRET, options=option_keys(options))
    copy = fix_all(paths[:1], tmp_path / "out", settings)[0]
    return pydicom.dcmread(paths[0]), pydicom.dcmread(copy)


def _assert_only(option: str, keep: list[str], tmp_path: Path) -> None:
    """With the option, these attributes keep their value; everything else is as in basic."""
    original, copy = _fix_one(tmp_path, [option])
    basic = pydicom.dcmread(fix_all([make_study(tmp_path / "b")[0]], tmp_path / "bout")[0])
    for kw in keep:
        assert copy[kw].value == original[kw].value, kw
        assert kw not in basic or basic[kw].value != original[kw].value, kw
    assert not check_profile(original, copy, ProfileSettings(secret=SECRET, options=option_keys([option])))


def test_option_retain_institution_identity(tmp_path: Path) -> None:
    _assert_only("retain-institution-identity", ["InstitutionName"], tmp_path)


def test_option_retain_device_identity(tmp_path: Path) -> None:
    _assert_only("retain-device-identity", ["StationName", "DeviceSerialNumber"], tmp_path)
    original, copy = _fix_one(tmp_path / "d", ["retain-device-identity"])
    assert [c.CodeValue for c in copy.DeidentificationMethodCodeSequence] == ["113100", "113109"]
    assert copy.InstitutionName == "ANONYMOUS"


def test_option_retain_patient_characteristics(tmp_path: Path) -> None:
    _assert_only("retain-patient-characteristics", ["PatientSex", "PatientAge"], tmp_path)


def test_option_retain_uids(tmp_path: Path) -> None:
    original, copy = _fix_one(tmp_path, ["retain-uids"])
    for kw in ("StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID", "FrameOfReferenceUID"):
        assert copy[kw].value == original[kw].value
    assert copy.ReferencedImageSequence[0].ReferencedSOPInstanceUID == original.ReferencedImageSequence[0].ReferencedSOPInstanceUID
    assert copy.file_meta.MediaStorageSOPInstanceUID == original.SOPInstanceUID


def test_option_retain_safe_private(tmp_path: Path) -> None:
    original, copy = _fix_one(tmp_path, ["retain-safe-private"])
    block = copy.private_block(0x0009, "PHIREVIEW TEST")
    assert block[0x02].value == 42  # numeric: safe
    with pytest.raises(KeyError):
        block[0x01]  # text: may name the patient
    basic = pydicom.dcmread(fix_all([make_study(tmp_path / "b")[0]], tmp_path / "bout")[0])
    assert not any(e.tag.is_private for e in basic)


def test_option_clean_descriptors(tmp_path: Path) -> None:
    original, copy = _fix_one(tmp_path, ["clean-descriptors"])
    assert "StudyDescription" in copy
    text = copy.StudyDescription
    assert "Jane" not in text and "Doe" not in text and "MRN-0001" not in text and "CT chest" in text
    basic = pydicom.dcmread(fix_all([make_study(tmp_path / "b")[0]], tmp_path / "bout")[0])
    assert "StudyDescription" not in basic


def test_bad_settings_are_one_line_errors() -> None:
    with pytest.raises(ProfileError, match="unknown option"):
        option_keys(["retain-everything"])
    with pytest.raises(ProfileError, match="UID root"):
        ProfileSettings(secret=SECRET, uid_root="1.2.x")
    ds = Dataset()
    ds.StudyInstanceUID = "1.2.3"
    custom = ProfileSettings(secret=SECRET, uid_root="1.2.826.0.1.3680043.10.999")
    deidentify(ds, custom)
    assert ds.StudyInstanceUID.startswith("1.2.826.0.1.3680043.10.999.") and len(ds.StudyInstanceUID) <= 64


def dciodvfy_errors(path: Path) -> set[str]:
    """dciodvfy's error lines, with values (<...>) blanked so the original's and the copy's compare."""
    done = subprocess.run(["dciodvfy", str(path)], capture_output=True, text=True, errors="replace", timeout=60)
    lines = done.stderr.splitlines()
    if any("read failed" in line for line in lines):
        return {"unreadable"}  # dciodvfy cannot parse it (deflated, cut short): nothing to compare
    texts = (re.sub(r"<[^>]*>", "<>", line.split(" - ", 1)[-1]) for line in lines if line.startswith("Error"))
    return {re.sub(r"(UID\s+)\S+", r"\1<uid>", text) for text in texts}


@pytest.mark.skipif(not shutil.which("dciodvfy"), reason="dicom3tools not installed")
def test_copies_add_no_dciodvfy_errors(tmp_path: Path) -> None:
    """The profile must not break the IOD: no error in a copy that its original did not have."""
    paths = make_study(tmp_path / "in")
    copies = fix_all(paths, tmp_path / "out", ProfileSettings(secret=SECRET, options=option_keys(["retain-modified-dates"])))
    new: dict[str, set[str]] = {}
    for p, c in zip(paths, copies):
        new[str(p)] = dciodvfy_errors(c) - dciodvfy_errors(p)
    for i, path in enumerate(bundled_files()):
        dest = tmp_path / "bundled" / f"{i:03d}.dcm"
        try:
            write_copy(path, dest, edit_header=profile_editor(BASIC))
        except RemedyError:
            continue
        before = dciodvfy_errors(path)
        if "unreadable" not in before:
            new[path.name] = dciodvfy_errors(dest) - before
    new = {k: v for k, v in new.items() if v}
    assert not new, json.dumps({k: sorted(v) for k, v in new.items()}, indent=1)[:3000]


def test_a_pixel_fix_made_first_keeps_its_method_and_code() -> None:
    """Pixels are edited before the header in one copy: the profile adds to their marks, never replaces them."""
    ds = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
    ds.DeidentificationMethod = "phi-review pixel blackout"
    item = Dataset()
    item.CodeValue, item.CodingSchemeDesignator, item.CodeMeaning = "113101", "DCM", "Clean Pixel Data Option"
    ds.DeidentificationMethodCodeSequence = Sequence([item])
    deidentify(ds, ProfileSettings(secret=SECRET, options=option_keys(["retain-uids"])))
    assert [c.CodeValue for c in ds.DeidentificationMethodCodeSequence] == ["113101", "113100", "113110"]
    assert list(ds.DeidentificationMethod)[:2] == ["phi-review pixel blackout", "PS3.15 E.1-1 2024d Basic Profile (phi-review)"]
    with pytest.raises(ProfileError, match="already has the Basic Profile"):  # twice would shift and map again
        deidentify(ds, ProfileSettings(secret=SECRET, options=option_keys(["retain-uids"])))


def test_the_profile_is_not_applied_to_its_own_copy(tmp_path: Path) -> None:
    """A copy that has the profile refuses a second pass: UIDs mapped twice would no longer match the study."""
    from phi_review.core.remedy.tag_edit import write_fixed

    paths = make_study(tmp_path / "in")
    out = tmp_path / "out"
    write_fixed(paths[0], out, profile_editor(BASIC), roots=[tmp_path / "in"])
    copy = out / "A" / "img0.dcm"
    before = sha256_file(copy)
    with pytest.raises(ProfileError):
        write_fixed(paths[0], out, profile_editor(BASIC), roots=[tmp_path / "in"], update_existing=True)
    assert sha256_file(copy) == before and not list((out / "A").glob(".*"))


def test_pixels_and_header_in_one_copy_keep_references(tmp_path: Path) -> None:
    """A blacked-out and de-identified file is one copy; with keep_uids on the pixel step the
    profile's mapping gives the new SOP Instance UID, so other files' references still point at it."""
    from phi_review.core.remedy.redact import Box, Redaction

    paths = make_study(tmp_path / "in")
    dest = tmp_path / "out" / "img1.dcm"
    write_copy(paths[1], dest, pixel_edit=Redaction(boxes=[Box(0, 0, 16, 16)], keep_uids=True),
               edit_header=profile_editor(BASIC))
    ds = pydicom.dcmread(dest)
    assert [c.CodeValue for c in ds.DeidentificationMethodCodeSequence] == ["113101", "113100"]
    box = ds.pixel_array[:16, :16]
    assert ds.PatientName == "" and (box == box.min()).all()
    assert not (pydicom.dcmread(paths[1]).pixel_array[:16, :16] == box).all()
    referencing = pydicom.dcmread(fix_all(paths[:1], tmp_path / "others")[0])
    assert referencing.ReferencedImageSequence[0].ReferencedSOPInstanceUID == ds.SOPInstanceUID
    assert list(tmp_path.joinpath("out").iterdir()) == [dest]
