"""Built-in profiles (basic, tcia, hipaa-safe-harbor) on a generated two-patient study and pydicom's files.

Every copy a built-in writes is proved (``write_fixed`` -> ``core/proof``): a built-in must never make the
proof fail on its own output.
"""

from __future__ import annotations

import copy as copy_module
import datetime as dt
import shutil
import subprocess
import warnings
from pathlib import Path

import pydicom
import pytest
from pydicom.data import get_testdata_file

from phi_review.core.remedy.claims import ResidualError
from phi_review.core.remedy.profile_file import BUILTINS, build_editor, load_profile
from phi_review.core.remedy.tag_edit import write_fixed
from phi_review.tui.cli import main
from test_fix_profile import bundled_files, make_study

SECRET = "builtin-test-secret"


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PHI_REVIEW_FIX_SECRET", SECRET)
    monkeypatch.setenv("PHI_REVIEW_CONFIG", str(tmp_path / "cfg" / "config.toml"))


def fix(capsys: pytest.CaptureFixture[str], paths: list[Path], out: Path, *extra: str) -> None:
    code = main(["fix", *map(str, paths), "--out", str(out), *extra])
    _, err = capsys.readouterr()
    assert code == 0, err


def copies(out: Path) -> dict[str, pydicom.Dataset]:
    return {f"{p.parent.name}/{p.name}": pydicom.dcmread(p) for p in sorted(out.rglob("*.dcm"))}


def days(a: str, b: str) -> int:
    return (dt.date(int(b[:4]), int(b[4:6]), int(b[6:8])) - dt.date(int(a[:4]), int(a[4:6]), int(a[6:8]))).days


def with_characteristics(paths: list[Path]) -> None:
    """Patient characteristics in group 0010 that the proof reads as patient text unless they are kept on purpose."""
    for path in paths[:3]:
        ds = pydicom.dcmread(path)
        ds.EthnicGroup, ds.Allergies, ds.PatientState = "Caucasian", "Penicillin", "Stable"
        ds.save_as(path)


def test_tcia_two_patients_pseudonyms_intervals_private(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    paths = make_study(tmp_path / "in")
    with_characteristics(paths)
    fix(capsys, paths, tmp_path / "run1", "--profile", "tcia")
    fix(capsys, paths, tmp_path / "run2", "--profile", "tcia")
    one, two = copies(tmp_path / "run1"), copies(tmp_path / "run2")
    assert len(one) == 4
    assert {k: v.PatientID for k, v in one.items()} == {k: v.PatientID for k, v in two.items()}
    assert one["A/img0.dcm"].PatientID == one["A/img2.dcm"].PatientID != one["B/img0.dcm"].PatientID
    assert str(one["A/img0.dcm"].PatientName) == one["A/img0.dcm"].PatientID
    a = one["A/img0.dcm"]
    # Retain Longitudinal Temporal Information with Modified Dates: moved, intervals kept
    assert a.StudyDate != "20200301" and days(a.StudyDate, a.AcquisitionDate) == 1
    assert days(a.StudyDate, a.ContentDate) == 2 and a.LongitudinalTemporalInformationModified == "MODIFIED"
    assert a.PatientSex == "F" and a.PatientAge == "060Y" and a.EthnicGroup == "Caucasian"  # characteristics
    assert a.StationName == "CT-ROOM-3"  # device identity
    # retain safe private: the numeric value stays with its creator, the text one goes
    creator = [e for e in a if e.tag.group == 0x0009 and 0x10 <= e.tag.element <= 0xFF
               and e.value == "PHIREVIEW TEST"]
    assert creator, "the private creator element must stay with its kept values"
    block = creator[0].tag.element << 8
    kept = {e.tag.element & 0xFF: e.value for e in a if e.tag.group == 0x0009 and e.tag.element & 0xFF00 == block}
    assert kept == {0x02: 42}
    manifest = (tmp_path / "run1" / "manifest.jsonl").read_text()
    assert manifest.count('"status": "clean"') == 4 and '"profile": "tcia"' in manifest
    assert SECRET not in manifest


def test_hipaa_safe_harbor_dates_to_year_and_ages_over_89(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    paths = make_study(tmp_path / "in")
    with_characteristics(paths)
    old = pydicom.dcmread(paths[3])
    old.PatientAge, old.PatientBirthDate, old.StudyDate = "093Y", "19270101", "20200101"
    old.save_as(paths[3])
    fix(capsys, paths, tmp_path / "run1", "--profile", "hipaa-safe-harbor")
    fix(capsys, paths, tmp_path / "run2", "--profile", "hipaa-safe-harbor")
    one, two = copies(tmp_path / "run1"), copies(tmp_path / "run2")
    assert {k: v.PatientID for k, v in one.items()} == {k: v.PatientID for k, v in two.items()}
    a, b = one["A/img0.dcm"], one["B/img0.dcm"]
    assert a.PatientID != b.PatientID and a.PatientID.startswith("ANON-")
    assert a.StudyDate == "20200101" and a.ContentDate == "20200101"  # to the year
    assert a.PatientBirthDate == "19600101" and a.PatientAge == "060Y"
    assert b.PatientAge == "090Y" and not b.PatientBirthDate  # over 89: 90, no birth year
    assert b.StudyDate == "20200102"  # a 1 January original never comes back as itself
    for ds in one.values():
        for elem in ds.iterall():
            if elem.VR == "DA" and elem.value:
                assert str(elem.value)[4:] in ("0101", "0102"), elem
    assert "InstitutionName" not in a or a.InstitutionName in ("", "ANONYMOUS")
    assert "phi-review profile hipaa-safe-harbor" in list(a.DeidentificationMethod)
    assert a.LongitudinalTemporalInformationModified == "MODIFIED" and a.PatientIdentityRemoved == "YES"
    manifest = (tmp_path / "run1" / "manifest.jsonl").read_text()
    assert manifest.count('"status": "clean"') == 4


@pytest.mark.parametrize("name", sorted(BUILTINS))
def test_every_copy_a_builtin_writes_passes_the_proof(tmp_path: Path, name: str) -> None:
    """pydicom's bundled files and the study: no built-in leaves what the proof finds."""
    built = build_editor(load_profile(name), SECRET.encode())
    sources = bundled_files() + make_study(tmp_path / "study")
    refused, written = [], 0
    for i, path in enumerate(sources):
        out = tmp_path / "out" / str(i)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                write_fixed(path, out, built.edit, roots=[path.parent], how=built.how)
            written += 1
        except ResidualError as error:
            refused.append(f"{path.name}: {error}")
        except Exception:  # noqa: BLE001 - refused before writing (DICOMDIR, damaged): not a proof failure
            continue
    assert not refused, refused
    assert written > 20


def dciodvfy_lines(path: Path) -> str:
    done = subprocess.run(["dciodvfy", str(path)], capture_output=True, text=True, errors="replace", timeout=60)
    return done.stderr + done.stdout


@pytest.mark.skipif(not shutil.which("dciodvfy"), reason="dicom3tools not installed")
def test_kept_private_values_keep_their_owner_for_dciodvfy(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ds = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
    block = ds.private_block(0x0013, "SITE KEEP", create=True)
    block.add_new(0x01, "US", 42)
    block.add_new(0x02, "LO", "Jane Doe")
    source = tmp_path / "in" / "ct.dcm"
    source.parent.mkdir()
    ds.save_as(source, enforce_file_format=True)
    profile = tmp_path / "keep.toml"
    profile.write_text('base = "basic"\n[private]\nkeep_creators = ["SITE KEEP", "GEMS_PARM_01"]\n')
    fix(capsys, [source], tmp_path / "allow", "--profile", str(profile))
    fix(capsys, [source], tmp_path / "tcia", "--profile", "tcia")
    for out in ("allow", "tcia"):
        copy = tmp_path / out / "ct.dcm"
        kept = pydicom.dcmread(copy)
        assert any(e.tag.is_private and e.tag.element >= 0x100 for e in kept)
        assert "Private tag without owner" not in dciodvfy_lines(copy)
        assert "without owner" not in dciodvfy_lines(copy)


def test_options_add_to_a_builtin_and_are_recorded(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    paths = make_study(tmp_path / "in")
    fix(capsys, paths[:1], tmp_path / "out", "--profile", "hipaa-safe-harbor", "--option", "retain-device-identity")
    ds = copies(tmp_path / "out")["out/img0.dcm"]
    assert ds.StationName == "CT-ROOM-3"
    manifest = (tmp_path / "out" / "manifest.jsonl").read_text()
    assert '"retain-device-identity"' in manifest and '"retain-patient-characteristics"' in manifest
    assert copy_module.copy(ds).PatientID.startswith("ANON-")


def test_safe_harbor_takes_no_date_option(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    paths = make_study(tmp_path / "in")
    code = main(["fix", str(paths[0]), "--out", str(tmp_path / "out"), "--profile", "hipaa-safe-harbor",
                 "--option", "retain-modified-dates"])
    err = capsys.readouterr().err
    assert code == 2 and "no date option" in err and not (tmp_path / "out").exists()


def test_kept_characteristics_and_device_identity_are_still_sought_without_their_option(tmp_path: Path) -> None:
    """The proof skips them only when the option that keeps them was chosen."""
    from phi_review.core.proof.check import kept_kinds, prove_copy

    paths = make_study(tmp_path / "in")
    with_characteristics(paths)
    built = build_editor(load_profile("tcia"), SECRET.encode())
    result = write_fixed(paths[0], tmp_path / "out", built.edit, roots=[tmp_path / "in"], how=built.how)
    assert prove_copy(paths[0], result.copy, kept=kept_kinds(built.how["options"])).clean
    bare = prove_copy(paths[0], result.copy)
    assert {r.kind for r in bare.residuals} >= {"characteristic"}
