"""The proof (core/proof): a copy's claims hold only when its bytes and frames carry none of the original's identifiers."""

from __future__ import annotations

import json
import struct
import warnings
from pathlib import Path

import pydicom
import pytest
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

from phi_review.core.proof.check import Prover, prove_copy
from phi_review.core.proof.identifiers import collect_identifiers
from phi_review.core.proof.rawwalk import walk_bytes

NAME, MRN, BIRTH = "QUILLFEATHER^OSWALD", "QF559913", "19610422"


def _planted(path: Path) -> Path:
    """CT_small with one identity: name, MRN and birth date, some of it in free text."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
    ds.PatientName, ds.PatientID, ds.PatientBirthDate = NAME, MRN, BIRTH
    ds.ImageComments = "seen 2023-04-15 by ward staff"
    ds.save_as(path)
    return path


def _copy_with(original: Path, dest: Path, plant) -> Path:
    """A would-be clean copy (identity blanked, claim made) with ``plant`` putting something back."""
    ds = pydicom.dcmread(original)
    ds.PatientName, ds.PatientID, ds.PatientBirthDate, ds.ImageComments = "ANON", "X1", "", "none"
    for keyword in ("OtherPatientIDs", "InstitutionName", "StudyDate", "SeriesDate", "AcquisitionDate", "ContentDate",
                    "InstanceCreationDate", "OtherPatientIDsSequence", "ReferringPhysicianName", "StudyID",
                    "AccessionNumber"):
        if keyword in ds:
            delattr(ds, keyword)
    ds.remove_private_tags()
    ds.PatientIdentityRemoved = "YES"
    plant(ds)
    ds.save_as(dest)
    return dest


def test_a_clean_copy_passes_and_says_what_was_checked(tmp_path):
    original = _planted(tmp_path / "o.dcm")
    proof = prove_copy(original, _copy_with(original, tmp_path / "c.dcm", lambda ds: None))
    assert proof.clean, proof.summary()
    assert proof.checked == ["bytes"]


def _nested_sr(ds: Dataset) -> None:
    inner = Dataset()
    inner.ValueType, inner.TextValue = "TEXT", "Key images of QUILLFEATHER^OSWALD MRN QF559913"
    outer = Dataset()
    outer.ValueType, outer.ContentSequence = "CONTAINER", Sequence([inner])
    ds.ContentSequence = Sequence([outer])


def _utf16_private(ds: Dataset) -> None:
    block = ds.private_block(0x0029, "ACME 1.0", create=True)
    block.add_new(0x10, "OB", "Oswald Quillfeather".encode("utf-16-le"))


def _utf16_be(ds: Dataset) -> None:
    block = ds.private_block(0x0029, "ACME 1.0", create=True)
    block.add_new(0x11, "OB", b"\x00" + "QF559913".encode("utf-16-be"))


def _unknown_public(ds: Dataset) -> None:
    ds.add_new(0x00089997, "LO", "QUILLFEATHER")


def _birth_date_written(ds: Dataset) -> None:
    ds.StudyDescription = "follow-up, born 22/04/1961"


def _date_in_comment(ds: Dataset) -> None:
    ds.ImageComments = "seen 15.04.2023"


@pytest.mark.parametrize(("plant", "kind", "where"), [
    (_nested_sr, "name", "(0040,A730)[0]>(0040,A730)[0]>(0040,A160)"),
    (_utf16_private, "name", "(0029,1010)"),
    (_utf16_be, "id", "(0029,1011)"),
    (_unknown_public, "name", "(0008,9997)"),
    (_birth_date_written, "date", "(0008,1030)"),
    (_date_in_comment, "date", "(0020,4000)"),
])
def test_every_planted_identifier_is_found_by_kind_and_place(tmp_path, plant, kind, where):
    original = _planted(tmp_path / "o.dcm")
    proof = prove_copy(original, _copy_with(original, tmp_path / "c.dcm", plant))
    assert not proof.clean
    assert (kind, where) in {(r.kind, r.where) for r in proof.residuals}, proof.summary()
    record = json.dumps(proof.record())
    for secret in ("QUILLFEATHER", "OSWALD", "QF559913", "1961", "2023"):
        assert secret.lower() not in record.lower()  # kinds and places only, never the value


def test_words_inside_other_words_and_dates_inside_uids_are_not_residuals(tmp_path):
    original = tmp_path / "o.dcm"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
    ds.PatientName, ds.PatientID, ds.PatientBirthDate = "ANN^LEE", "PT123", "20230415"
    ds.save_as(original)

    def plant(copy: Dataset) -> None:
        copy.StudyDescription = "SCANNER ALLEE"  # ANN and LEE inside words
        copy.SeriesInstanceUID = "1.2.826.0.1.20230415.7"  # a date inside a UID
        copy.PatientID = "XPT1234"

    proof = prove_copy(original, _copy_with(original, tmp_path / "c.dcm", plant))
    assert proof.clean, proof.summary()


def test_a_copy_without_claims_is_not_held_to_them(tmp_path):
    original = _planted(tmp_path / "o.dcm")
    ds = pydicom.dcmread(original)
    ds.save_as(tmp_path / "c.dcm")  # still names the patient, but claims nothing
    assert prove_copy(original, tmp_path / "c.dcm").clean
    assert not prove_copy(original, tmp_path / "c.dcm", require=["PatientIdentityRemoved"]).clean


def test_an_element_swallowed_by_an_overlong_value_still_gives_its_identity(tmp_path):
    """Damage in the original cannot hide a name from the proof: the raw scan reads the tag's own bytes."""
    original = _planted(tmp_path / "o.dcm")
    data = bytearray(original.read_bytes())
    at = data.find(struct.pack("<HH", 0x0010, 0x0010) + b"PN")
    # The element before PatientName claims 40 more bytes than it has: PatientName is inside its value.
    before = data.rfind(struct.pack("<HH", 0x0008, 0x1090), 0, at)
    assert before != -1
    (length,) = struct.unpack_from("<H", data, before + 6)
    struct.pack_into("<H", data, before + 6, length + 40)
    damaged = tmp_path / "damaged.dcm"
    damaged.write_bytes(bytes(data))
    texts = {i.text for i in collect_identifiers(damaged)}
    assert "QUILLFEATHER" in texts and "QF559913" in texts


def test_the_walker_finds_claims_and_pixels_in_every_encoding():
    for name in ("CT_small.dcm", "MR_small_bigendian.dcm", "MR_small_implicit.dcm", "JPEG2000.dcm", "image_dfl.dcm"):
        walk = walk_bytes(Path(get_testdata_file(name)).read_bytes())
        assert walk.complete, (name, walk.problem)
        if name != "image_dfl.dcm":
            assert walk.pixel_start is not None and walk.pixel_end is not None


def test_a_deflated_copy_is_inflated_and_searched(tmp_path):
    original = _planted(tmp_path / "o.dcm")
    ds = pydicom.dcmread(original)
    ds.PatientIdentityRemoved = "YES"
    ds.file_meta.TransferSyntaxUID = pydicom.uid.DeflatedExplicitVRLittleEndian
    ds.save_as(tmp_path / "c.dcm", enforce_file_format=True)
    assert b"QUILLFEATHER" not in (tmp_path / "c.dcm").read_bytes()  # compressed: a plain grep sees nothing
    proof = Prover(original).prove(tmp_path / "c.dcm")
    assert proof.claims.get("PatientIdentityRemoved") == "YES"
    assert any(r.where.startswith("deflated dataset>") for r in proof.residuals), proof.summary()
