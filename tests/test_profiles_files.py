"""Profile files: every rule action on every VR it takes, allow_keep, the private allow-list, bad files."""

from __future__ import annotations

import copy as copy_module
import io
import re
from pathlib import Path

import pydicom
import pytest
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset

from phi_review.core.remedy.profile import ProfileError, date_offset_days, ProfileSettings, shift_date
from phi_review.core.remedy.profile_file import build_editor, load_profile, parse_profile
from phi_review.tui.cli import main

SECRET = b"rules-secret"
VALID = {  # what a value of each VR may look like (PS3.5 6.2), as written back and read again
    "PN": r"[^\\]{0,64}", "LO": r"[^\\]{0,64}", "SH": r"[^\\]{0,16}", "CS": r"[A-Z0-9 _]{0,16}",
    "DA": r"\d{8}", "TM": r"\d{6}", "DT": r"\d{14}", "UI": r"[0-9.]{1,64}", "IS": r"-?\d{1,12}",
    "DS": r"[-+0-9.eE]{1,16}", "US": r"\d+", "AS": r"\d{3}[DWMY]", "LT": r".{0,10240}", "ST": r".{0,1024}",
}
SAMPLES = {  # keyword -> (VR, original value)
    "PatientName": ("PN", "Doe^Jane"), "PatientID": ("LO", "MRN-0001"), "StationName": ("SH", "CT-ROOM-3"),
    "Modality": ("CS", "CT"), "StudyDate": ("DA", "20200301"), "StudyTime": ("TM", "101500"),
    "AcquisitionDateTime": ("DT", "20200301101500"), "StudyInstanceUID": ("UI", "1.2.3.4.5"),
    "SeriesNumber": ("IS", "7"), "SliceThickness": ("DS", "2.5"), "Rows": ("US", 64),
    "PatientAge": ("AS", "060Y"), "ImageComments": ("LT", "Jane Doe MRN-0001"),
    "InstitutionAddress": ("ST", "1 Main St"),
}
ACTION_VRS = {
    "remove": list(SAMPLES), "empty": list(SAMPLES), "dummy": list(SAMPLES), "keep": list(SAMPLES),
    "hash": list(SAMPLES), "shift": ["StudyDate", "AcquisitionDateTime"],
    "pseudonym": ["PatientName", "PatientID", "StationName", "ImageComments", "InstitutionAddress"],
}


def sample() -> Dataset:
    ds = Dataset()
    for keyword, (_, value) in SAMPLES.items():
        setattr(ds, keyword, value)
    ds.file_meta = pydicom.dataset.FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = pydicom.uid.ExplicitVRLittleEndian
    return ds


def roundtrip(ds: Dataset) -> Dataset:
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=False, implicit_vr=False, little_endian=True)
    return pydicom.dcmread(io.BytesIO(buffer.getvalue()), force=True)


def profile(text: str, name: str = "t.toml") -> object:
    return parse_profile(text, name, "t")


def apply(text: str, ds: Dataset, **kw: object) -> Dataset:
    built = build_editor(profile(text), SECRET, **kw)  # type: ignore[arg-type]
    built.edit(ds)
    return roundtrip(ds)


@pytest.mark.parametrize("action, keyword", [(a, k) for a, ks in ACTION_VRS.items() for k in ks])
def test_each_action_on_each_vr_writes_a_valid_value(action: str, keyword: str) -> None:
    vr, original = SAMPLES[keyword]
    text = f'base = "none"\npseudonym = true\n[[rule]]\nkeyword = "{keyword}"\naction = "{action}"\n'
    out = apply(text, sample())
    if action == "remove":
        assert keyword not in out
        return
    elem = out[keyword]
    assert elem.VR == vr
    value = "" if elem.value is None else str(elem.value)
    if action == "empty":
        assert value == ""
    elif action == "keep":
        assert value == str(original)
    else:
        assert re.fullmatch(VALID[vr], value), (action, keyword, value)
        assert value != str(original) or action == "dummy" and keyword == "Modality"
    if action == "hash":  # keyed: the same value gives the same hash; another secret another one
        again = apply(text, sample())[keyword].value
        other = build_editor(profile(text), b"other-secret")
        ds = sample()
        other.edit(ds)
        assert str(again) == value and str(ds[keyword].value) != value
    if action == "shift":
        days = date_offset_days(sample(), ProfileSettings(secret=SECRET))
        assert value == shift_date(str(original), days)


def test_replace_by_value_and_by_pattern() -> None:
    text = ('base = "none"\n[[rule]]\nkeyword = "ImageComments"\naction = "replace"\npattern = "(?i)jane doe"\n'
            'with = "X"\n[[rule]]\nkeyword = "SeriesNumber"\naction = "replace"\nvalue = "42"\n')
    out = apply(text, sample())
    assert out.ImageComments == "X MRN-0001" and out.SeriesNumber == 42


def test_rules_on_group_and_private_creator() -> None:
    ds = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
    text = ('base = "none"\n[[rule]]\ngroup = "0043"\naction = "remove"\n'
            '[[rule]]\ncreator = "GEMS_IDEN_01"\nelement = "0x01"\naction = "empty"\n')
    out = apply(text, ds)
    assert not [e for e in out if e.tag.group == 0x0043]
    assert out[0x00091001].value in (None, "", b"")
    assert out[0x00091002].value  # another element of that creator is untouched


def test_keep_over_the_base_needs_allow_keep(tmp_path: Path) -> None:
    bad = 'base = "basic"\n\n[[rule]]\nkeyword = "StudyDescription"\naction = "keep"\n'
    with pytest.raises(ProfileError) as caught:
        profile(bad, "site.toml")
    assert re.match(r"site\.toml:5: .*allow_keep", str(caught.value))
    ds = sample()
    ds.StudyDescription = "CT chest"
    out = apply(bad + "allow_keep = true\n", ds)
    assert out.StudyDescription == "CT chest" and out.PatientName != "Doe^Jane"
    # what the base keeps anyway needs no allow_keep
    profile('base = "basic"\n[[rule]]\nkeyword = "Modality"\naction = "keep"\n')


def test_private_allow_list_keeps_creator_and_numeric_values_only() -> None:
    ds = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
    block = ds.private_block(0x0013, "SITE KEEP", create=True)
    block.add_new(0x01, "US", 42)
    block.add_new(0x02, "LO", "Jane Doe")
    other = ds.private_block(0x0015, "SITE DROP", create=True)
    other.add_new(0x01, "US", 7)
    out = apply('base = "basic"\n[private]\nkeep_creators = ["SITE KEEP"]\n', ds)
    privates = {e.tag: e.value for e in out if e.tag.is_private}
    assert privates[pydicom.tag.Tag(0x0013, 0x0010)] == "SITE KEEP"
    assert privates[pydicom.tag.Tag(0x0013, 0x1001)] == 42
    assert pydicom.tag.Tag(0x0013, 0x1002) not in privates  # text goes
    assert all(t.group == 0x0013 for t in privates)  # every creator not listed goes


BAD = [
    ('base = "basic"\noptions = ["retain-everything"]\n', 2, "unknown option"),
    ('base = "strict"\n', 1, "base must be"),
    ('base = "basic"\n\n[[rule]]\nkeyword = "PatientName"\naction = "obliterate"\n', 5, "unknown action"),
    ('base = "basic"\n[[rule]]\ntag = "(0010,00ZZ)"\naction = "remove"\n', 3, "tag"),
    ('base = "basic"\n[[rule]]\nkeyword = "NoSuchKeyword"\naction = "remove"\n', 3, "unknown keyword"),
    ('base = "basic"\n[[rule]]\ntag = "(0008,0003)"\naction = "remove"\n', 3, "unknown tag"),
    ('base = "none"\n[[rule]]\nkeyword = "Rows"\naction = "shift"\n', 4, "shift needs a date"),
    ('base = "none"\n[[rule]]\nkeyword = "StudyDate"\naction = "replace"\nvalue = "March"\n', 5, "not valid for VR"),
    ('base = "none"\n[[rule]]\nkeyword = "StudyDate"\naction = "replace"\npattern = "("\n', 5, "regular expression"),
    ('base = "basic"\ncolour = "red"\n', 2, "unknown setting"),
    ('base = "basic"\npseudonym = "yes"\n', 2, "true or false"),
    ('base = "basic"\n[[rule]]\nkeyword = "StudyDescription"\naction = "keep"\nallow_keep = "yes"\n', 5,
     "true or false"),
    ('base = "none"\n[[rule]]\nkeyword = "ReferencedImageSequence"\naction = "replace"\nvalue = "x"\n', 4,
     "replace cannot"),
    ('base = "basic"\n[[rule]]\ntag = "(0010,0010)"\n[[rule]]\nkeyword = "PatientID"\naction = "keep"\n', 2,
     "unknown action"),
    ('base = "basic"\n\n[private]\nkeep_creators = "GEMS"\n', 4, "keep_creators"),
    ('base = "basic"\noptions = [\n', 2, "not valid TOML"),
]


@pytest.mark.parametrize("text, line, words", BAD)
def test_bad_profile_files_give_one_line_with_file_and_line(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                           monkeypatch: pytest.MonkeyPatch, text: str, line: int,
                                                           words: str) -> None:
    monkeypatch.setenv("PHI_REVIEW_FIX_SECRET", "x")
    path = tmp_path / "bad.toml"
    path.write_text(text)
    source = Path(get_testdata_file("CT_small.dcm"))
    original = tmp_path / "in" / "ct.dcm"
    original.parent.mkdir()
    original.write_bytes(source.read_bytes())
    code = main(["fix", "--profile", str(path), str(original), "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert f"bad.toml:{line}:" in err and words in err, err
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").rglob("*.dcm"))


def test_named_profiles_from_the_project_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PHI_REVIEW_CONFIG", str(tmp_path / "cfg" / "config.toml"))
    folder = tmp_path / "profiles"
    folder.mkdir()
    (folder / "site.toml").write_text('base = "basic"\noptions = ["retain-modified-dates"]\n')
    assert load_profile("site", folder).options == ["retain-modified-dates"]
    with pytest.raises(ProfileError, match="no profile named"):
        load_profile("site")
    (tmp_path / "cfg" / "profiles").mkdir(parents=True)
    (tmp_path / "cfg" / "profiles" / "mine.toml").write_text('base = "none"\n')
    assert load_profile("mine").base == "none"
    assert copy_module.copy(load_profile("tcia")).pseudonym


def test_group_and_creator_rules_on_sequences_bytes_and_numbers_write_valid_files() -> None:
    ds = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
    block = ds.private_block(0x0013, "SITE", create=True)
    block.add_new(0x01, "US", 42)
    block.add_new(0x02, "OB", b"\x01\x02")
    text = ('base = "none"\n[[rule]]\ncreator = "SITE"\naction = "replace"\nvalue = "abc"\n'
            '[[rule]]\ngroup = "0008"\naction = "hash"\n')
    date, charset = ds.StudyDate, ds.get("SpecificCharacterSet")
    out = apply(text, ds)
    assert out.get("SpecificCharacterSet") == charset  # a group rule never rewrites how the text is encoded
    assert out[0x00131001].value in (None, b"", "")  # text for a number: emptied, never guessed
    assert out[0x00131002].value == b"\x01\x02"  # bytes are left to the base
    assert re.fullmatch(r"\d{8}", str(out.StudyDate)) and out.StudyDate != date


def test_a_profile_that_is_not_utf8_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "latin.toml"
    path.write_bytes(b'base = "basic" # \xe9\n')
    with pytest.raises(ProfileError, match="latin.toml: cannot read the profile"):
        load_profile(str(path))


def test_rules_reach_into_sequences_with_the_original_values(tmp_path: Path) -> None:
    from phi_review.core.remedy.profile_rules import hashed
    from test_fix_profile import make_study

    path = make_study(tmp_path / "in")[0]
    ds = pydicom.dcmread(path)
    vr = ds.RequestAttributesSequence[0]["RequestedProcedureID"].VR
    out = apply('base = "none"\n[[rule]]\nkeyword = "RequestedProcedureID"\naction = "hash"\n', ds)
    assert out.RequestAttributesSequence[0].RequestedProcedureID == hashed("RP-77", vr, SECRET)
    # under the base: a sequence it keeps is reached; one it removes stays removed
    text = ('base = "basic"\n[[rule]]\nkeyword = "OperatorsName"\naction = "replace"\nvalue = "TECH"\n'
            '[[rule]]\nkeyword = "RequestedProcedureID"\naction = "hash"\n')
    out = apply(text, pydicom.dcmread(path))
    assert out.AnatomicRegionSequence[0].OperatorsName == "TECH"
    assert out.AnatomicRegionSequence[0].CodeValue == "T-D3000"
    assert "RequestAttributesSequence" not in out


def test_a_pseudonym_rule_without_pseudonyms_is_refused() -> None:
    text = 'base = "basic"\n[[rule]]\nkeyword = "OtherPatientNames"\naction = "pseudonym"\n'
    with pytest.raises(ProfileError, match=r"t.toml:4: action pseudonym needs"):
        build_editor(profile(text), SECRET)
    ds = sample()
    ds.OtherPatientNames = "Roe^Jane"
    built = build_editor(profile(text), SECRET, prefix="S-")
    built.edit(ds)
    assert str(ds.OtherPatientNames).startswith("S-") and ds.PatientID == str(ds.OtherPatientNames)
