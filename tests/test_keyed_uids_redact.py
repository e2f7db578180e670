"""A blacked-out copy's new SOP Instance UID is keyed by the de-identification secret.

Before, the new UID was a hash of the old one with a fixed label: anyone with
the original UID could recompute it and link the copy back. Now it is
``profile.map_uid`` under the same secret the header profile uses, so the
mapping cannot be recomputed without the secret, the same secret gives the same
UID on every run, and a file blacked out and then profiled (or profiled on its
own) ends with the same SOP Instance UID as the rest of its study.
"""

from __future__ import annotations

from pathlib import Path

import pydicom
import pytest
from pydicom.data import get_testdata_file
from pydicom.uid import PYDICOM_ROOT_UID, generate_uid

from phi_review.core.remedy.output import derived_uid, write_copy
from phi_review.core.remedy.profile import ProfileSettings, map_uid
from phi_review.core.remedy.redact import Box, Redaction
from phi_review.tui.cli import main

SECRET = b"keyed-uid-test-secret-0123456789"


def _unkeyed(uid: str) -> str:
    """What the old code wrote: recomputable by anyone holding the original UID."""
    return str(generate_uid(prefix=PYDICOM_ROOT_UID, entropy_srcs=["phi-review corrected copy", uid]))


def test_redacted_uid_is_keyed_not_recomputable(tmp_path: Path) -> None:
    src = Path(get_testdata_file("CT_small.dcm"))
    old = str(pydicom.dcmread(src).SOPInstanceUID)
    copy = pydicom.dcmread(write_copy(src, tmp_path / "a.dcm", pixel_edit=Redaction([Box(0, 0, 8, 8)], secret=SECRET)).copy)
    assert copy.SOPInstanceUID != old
    assert copy.SOPInstanceUID != _unkeyed(old)
    assert copy.SOPInstanceUID == map_uid(old, ProfileSettings(SECRET))  # the profile's own derivation
    assert copy.file_meta.MediaStorageSOPInstanceUID == copy.SOPInstanceUID
    again = pydicom.dcmread(write_copy(src, tmp_path / "b.dcm", pixel_edit=Redaction([Box(0, 0, 8, 8)], secret=SECRET)).copy)
    assert again.SOPInstanceUID == copy.SOPInstanceUID  # the same secret, the same UID
    other = pydicom.dcmread(write_copy(src, tmp_path / "c.dcm",
                                       pixel_edit=Redaction([Box(0, 0, 8, 8)], secret=b"another secret")).copy)
    assert other.SOPInstanceUID != copy.SOPInstanceUID


def test_derived_uid_needs_the_secret() -> None:
    uid = "1.2.3.4.5"
    assert derived_uid(uid, secret=SECRET) == map_uid(uid, ProfileSettings(SECRET))
    assert derived_uid(uid, secret=SECRET) != derived_uid(uid, secret=b"other")
    assert derived_uid(uid, secret=SECRET) != _unkeyed(uid)
    assert derived_uid(uid, "1.2.999", secret=SECRET).startswith("1.2.999.")
    assert pydicom.uid.UID(derived_uid(uid, "1.2.999", secret=SECRET)).is_valid


def test_default_secret_is_the_profiles(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No secret given: the same one ``fix`` and the review screen load (env, else the config file)."""
    monkeypatch.setenv("PHI_REVIEW_FIX_SECRET", "env-secret-for-test")
    src = Path(get_testdata_file("CT_small.dcm"))
    old = str(pydicom.dcmread(src).SOPInstanceUID)
    copy = pydicom.dcmread(write_copy(src, tmp_path / "a.dcm", pixel_edit=Redaction([Box(0, 0, 8, 8)])).copy)
    assert copy.SOPInstanceUID == map_uid(old, ProfileSettings(b"env-secret-for-test"))


def _all_bytes(folder: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file())


def test_cli_secret_file_and_no_secret_in_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = Path(get_testdata_file("CT_small.dcm"))
    old = str(pydicom.dcmread(src).SOPInstanceUID)
    secret_file = tmp_path / "s.key"
    secret_file.write_bytes(SECRET + b"\n")
    out = tmp_path / "out"
    assert main(["redact", str(src), "--box", "0,0,8,8", "--out", str(out), "--reviewer", "t",
                 "--secret-file", str(secret_file)]) == 0
    copy = pydicom.dcmread(out / src.name)
    assert copy.SOPInstanceUID == map_uid(old, ProfileSettings(SECRET))
    blob = _all_bytes(out) + capsys.readouterr().out.encode()
    assert SECRET not in blob and SECRET.hex().encode() not in blob
    assert old.encode() not in (out / "manifest.jsonl").read_bytes()


def test_cli_missing_secret_file_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = Path(get_testdata_file("CT_small.dcm"))
    code = main(["redact", str(src), "--box", "0,0,8,8", "--out", str(tmp_path / "o"), "--reviewer", "t",
                 "--secret-file", str(tmp_path / "nope")])
    err = capsys.readouterr().err
    assert code != 0 and "Traceback" not in err and "secret" in err
    assert not (tmp_path / "o" / src.name).exists()


def test_redact_then_profile_gives_the_profiles_uid(tmp_path: Path) -> None:
    """Pixels first, then the header profile on that copy: the SOP Instance UID is mapped once, as the profile alone maps it."""
    from phi_review.core.remedy.profile import profile_editor

    src = Path(get_testdata_file("CT_small.dcm"))
    original = pydicom.dcmread(src)
    settings = ProfileSettings(SECRET)
    redacted = write_copy(src, tmp_path / "r.dcm", pixel_edit=Redaction([Box(0, 0, 8, 8)], secret=SECRET)).copy
    both = pydicom.dcmread(write_copy(redacted, tmp_path / "rp.dcm", edit_header=profile_editor(settings)).copy)
    alone = pydicom.dcmread(write_copy(src, tmp_path / "p.dcm", edit_header=profile_editor(settings)).copy)
    assert both.SOPInstanceUID == alone.SOPInstanceUID == map_uid(original.SOPInstanceUID, settings)
    assert both.StudyInstanceUID == alone.StudyInstanceUID
    # a profiled copy blacked out afterwards keeps the profile's UIDs
    later = pydicom.dcmread(write_copy(tmp_path / "p.dcm", tmp_path / "pr.dcm",
                                       pixel_edit=Redaction([Box(0, 0, 8, 8)], secret=SECRET)).copy)
    assert later.SOPInstanceUID == alone.SOPInstanceUID


def test_forged_mark_does_not_keep_an_original_uid(tmp_path: Path) -> None:
    """A file that merely claims its UID is already keyed (no valid mark) still gets a new one."""
    from phi_review.core.remedy.profile import profile_editor

    src = Path(get_testdata_file("CT_small.dcm"))
    ds = pydicom.dcmread(src)
    old = str(ds.SOPInstanceUID)
    redacted = write_copy(src, tmp_path / "r.dcm", pixel_edit=Redaction([Box(0, 0, 8, 8)], secret=SECRET)).copy
    mark = [str(v) for v in pydicom.dcmread(redacted).DeidentificationMethod]
    ds.DeidentificationMethod = mark + ["PS3.15 E.1-1 2024d Basic Profile (phi-review)"]
    ds.PatientIdentityRemoved = "YES"
    forged = tmp_path / "forged.dcm"
    ds.save_as(forged)
    copy = pydicom.dcmread(write_copy(forged, tmp_path / "f.dcm", pixel_edit=Redaction([Box(0, 0, 8, 8)], secret=SECRET)).copy)
    assert copy.SOPInstanceUID != old
    other = pydicom.dcmread(write_copy(redacted, tmp_path / "o.dcm",
                                       edit_header=profile_editor(ProfileSettings(b"other secret"))).copy)
    assert other.SOPInstanceUID != pydicom.dcmread(redacted).SOPInstanceUID  # another secret's mark is no mark
