"""Each profile action on each VR it can meet writes a value valid for that VR (issue 25, "Show").

Every combination runs twice: as a rule on the tag itself (where the profile file accepts it; where it
does not, the refusal names the file and line) and as a rule on the tag's whole group, which reaches
every VR without the file's checks. The copy is written and read back with pydicom's validation set to
RAISE, and each value is checked again here for what pydicom does not check (IS range, real calendar
dates and times, control characters, a value's multiplicity). Originals include edge cases: values at
the VR's length limit, multi-valued, fractional times, datetimes with an offset, a leap day.
"""

from __future__ import annotations

import datetime as dt
import io
import re

import pydicom
import pytest
from pydicom import config
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.valuerep import DA, DT, TM

from phi_review.core.remedy.profile_file import build_editor, parse_profile
from phi_review.core.remedy.profile_table import ProfileError

SECRET = b"show-vrs-secret"
LONG_PN = "Averyveryverylongfamilynamethatgoeson^Givennamewhichalsogoesonlong"[:64]
CASES: dict[str, tuple[str, list[object]]] = {  # keyword -> (VR, originals)
    "PatientName": ("PN", ["Doe^Jane", LONG_PN, ["Doe^Jane", "Roe^Richard"]]),
    "PatientID": ("LO", ["MRN-0001", "M" * 64]),
    "StationName": ("SH", ["CT-ROOM-3", "ABCDEFGHIJKLMNOP"]),
    "StudyDate": ("DA", ["20200301", "20200229", "19000101"]),
    "AcquisitionDateTime": ("DT", ["20200301101500", "20200301101500.123456+0100", "2020", "202003"]),
    "StudyTime": ("TM", ["101500", "235959.999999", "10"]),
    "StudyInstanceUID": ("UI", ["1.2.3.4.5", "1.2.840.10008." + "1" * 50]),
    "PatientAge": ("AS", ["060Y", "093Y", "005M"]),
    "ImageType": ("CS", [["ORIGINAL", "PRIMARY", "AXIAL"], "DERIVED"]),
    "SeriesNumber": ("IS", ["7", "-2147483648", "2147483647"]),
    "ReferencedFrameNumber": ("IS", [["1", "2", "3"]]),
    "SliceThickness": ("DS", ["2.5", "-1.23456789E+10"]),
    "PixelSpacing": ("DS", [["0.5", "0.5"]]),
    "InstitutionAddress": ("ST", ["1 Main St, Springfield", "A" * 1024]),
    "ImageComments": ("LT", ["Jane Doe MRN-0001\r\nsecond line", "B" * 10240]),
    "TextValue": ("UT", ["Jane Doe was seen on 20200301", "C" * 20000]),
    "RequestAttributesSequence": ("SQ", ["items"]),
}
REPLACE = {"PN": "Research^Subject", "LO": "RESEARCH", "SH": "RESEARCH", "DA": "20000101", "DT": "20000101120000",
           "TM": "120000", "UI": "1.2.3", "AS": "050Y", "CS": "RESEARCH", "IS": "42", "DS": "1.5",
           "ST": "research text", "LT": "research text", "UT": "research text"}
ACTIONS = ("remove", "empty", "dummy", "keep", "hash", "shift", "replace-value", "replace-regex", "pseudonym")
_ALL = {"PN", "LO", "SH", "DA", "DT", "TM", "UI", "AS", "CS", "IS", "DS", "ST", "LT", "UT", "SQ"}
MEANINGFUL = {  # the VRs each action must be accepted on as a rule on the tag itself
    "remove": _ALL, "empty": _ALL, "dummy": _ALL, "keep": _ALL, "hash": _ALL - {"SQ"}, "shift": {"DA", "DT"},
    "replace-value": _ALL - {"SQ"}, "replace-regex": {"PN", "LO", "SH", "CS", "ST", "LT", "UT", "DA", "DT", "TM"},
    "pseudonym": {"PN", "LO", "SH", "ST", "LT", "UT"},
}
# a regular expression that would break every VR: the value three times over, a digit made a letter
REGEX = 'pattern = "^(.*)$"\nwith = "\\\\1-\\\\1-\\\\1x"\n'
CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1a\x1c-\x1f\x7f]")
ONE_LINE = re.compile(r"[\x00-\x1a\x1c-\x1f\x7f]")
MAX_LEN = {"AE": 16, "CS": 16, "SH": 16, "LO": 64, "PN": 64, "UI": 64, "DS": 16, "IS": 12, "ST": 1024,
           "LT": 10240, "AS": 4, "DA": 8, "TM": 14, "DT": 26, "UC": 2**32 - 2, "UT": 2**32 - 2}


def sequence() -> Sequence:
    item = Dataset()
    item.RequestingPhysician = "House^Gregory"
    item.RequestedProcedureID = "RP-77"
    item.StudyInstanceUID = "1.2.3.4.5"
    return Sequence([item])


def sample(keyword: str, original: object) -> Dataset:
    ds = Dataset()
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.2"
    ds.SOPInstanceUID = "1.2.3.4.5.6"
    ds.PatientName, ds.PatientID, ds.StudyDate = "Doe^Jane", "MRN-0001", "20200301"
    setattr(ds, keyword, sequence() if original == "items" else original)
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = pydicom.uid.ExplicitVRLittleEndian
    return ds


def invalid_values(ds: Dataset, where: str = "") -> list[str]:
    """What is not valid for its VR in ``ds`` (already read back with validation RAISE)."""
    found = []
    for elem in ds:
        here = f"{where}{elem.keyword or elem.tag}"
        if elem.VR == "SQ":
            for i, item in enumerate(elem.value or []):
                found += invalid_values(item, f"{here}[{i}].")
            continue
        value = elem.value
        values = [] if value in (None, "", b"") else (list(value) if isinstance(value, pydicom.multival.MultiValue)
                                                     else [value])
        for v in values:
            text = str(v)
            problem = _problem(elem.VR, text, v)
            if problem:
                found.append(f"{here} ({elem.VR}) {problem}: {text[:40]!r}")
    return found


def _problem(vr: str, text: str, value: object) -> str:
    if len(text) > MAX_LEN.get(vr, 10**9) and vr not in ("PN",):
        return f"longer than {MAX_LEN[vr]}"
    if vr in ("PN", "LO", "SH", "CS", "AE", "UC") and ONE_LINE.search(text):
        return "control character"
    if vr in ("ST", "LT", "UT") and CONTROL.search(text):
        return "control character"
    if vr in ("PN", "LO", "SH", "CS", "AE", "DA", "TM", "DT", "IS", "DS", "UI", "AS") and "\\" in text:
        return "backslash inside one value"
    if vr == "PN" and (any(len(group) > 64 for group in text.split("=")) or text.count("=") > 2
                       or any(group.count("^") > 4 for group in text.split("="))):
        return "not a person name"
    if vr == "IS" and not -2**31 <= int(text) <= 2**31 - 1:
        return "outside the IS range"
    if vr == "DS" and not re.fullmatch(r" *[+-]?(\d+|\d+\.\d*|\.\d+)([eE][+-]?\d+)? *", text):
        return "not a decimal string"
    if vr == "AS" and not re.fullmatch(r"\d{3}[DWMY]", text):
        return "not an age"
    if vr == "UI" and not re.fullmatch(r"(0|[1-9]\d*)(\.(0|[1-9]\d*))*", text):
        return "not a UID"
    try:
        if vr == "DA":
            DA(text) if re.fullmatch(r"\d{8}", text) else dt.date.fromisoformat("x")
        elif vr == "TM":
            TM(text)
        elif vr == "DT":
            DT(text)
    except ValueError:
        return "not a real date or time"
    return ""


def written(ds: Dataset) -> Dataset:
    """Write ``ds`` and read it back, pydicom's validation raising on any value invalid for its VR."""
    buffer = io.BytesIO()
    old = config.settings.writing_validation_mode, config.settings.reading_validation_mode
    config.settings.writing_validation_mode = config.settings.reading_validation_mode = config.RAISE
    try:
        ds.save_as(buffer, enforce_file_format=False, implicit_vr=False, little_endian=True)
        back = pydicom.dcmread(io.BytesIO(buffer.getvalue()), force=True)
        for elem in back.iterall():
            _ = elem.value  # converting raw values runs pydicom's validators
    finally:
        config.settings.writing_validation_mode, config.settings.reading_validation_mode = old
    return back


def rule_text(selector: str, action: str, vr: str) -> str:
    verb = action.split("-")[0]
    text = f'base = "none"\npseudonym = true\npseudonym_prefix = "SITE-0001-"\n[[rule]]\n{selector}\naction = "{verb}"\n'
    if action == "replace-value":
        text += f'value = "{REPLACE.get(vr, "text")}"\n'
    elif action == "replace-regex":
        text += REGEX
    return text


def run(text: str, ds: Dataset) -> Dataset:
    built = build_editor(parse_profile(text, "site.toml", "site"), SECRET)
    built.edit(ds)
    return written(ds)


@pytest.mark.parametrize("action", ACTIONS)
@pytest.mark.parametrize("keyword", list(CASES))
def test_a_rule_on_the_tag_writes_a_valid_value_or_is_refused_with_the_line(keyword: str, action: str) -> None:
    vr, originals = CASES[keyword]
    text = rule_text(f'keyword = "{keyword}"', action, vr)
    try:
        parse_profile(text, "site.toml", "site")
    except ProfileError as error:  # the file says this action cannot apply to this VR: only where it cannot
        assert re.match(r"site\.toml:\d+: ", str(error)), error
        assert vr not in MEANINGFUL[action], (action, vr, error)
        return
    assert vr in MEANINGFUL[action] or action in ("replace-regex",), (action, vr, "accepted")
    for original in originals:
        out = run(text, sample(keyword, original))
        assert not invalid_values(out), (keyword, original, invalid_values(out))
        if action == "remove":
            assert keyword not in out
        elif action == "empty":
            assert out[keyword].value in (None, "", b"") or (vr == "SQ" and len(out[keyword].value) == 0)
        elif action == "keep":
            assert keyword in out
        elif action in ("hash", "shift", "pseudonym", "replace-value") and vr != "SQ" \
                and not (action == "shift" and len(str(original)) < 8):  # a year or month cannot move by days
            assert out[keyword].value not in (None, ""), (keyword, original)


@pytest.mark.parametrize("action", ACTIONS)
@pytest.mark.parametrize("keyword", list(CASES))
def test_a_rule_on_the_group_writes_only_valid_values(keyword: str, action: str) -> None:
    """A group rule reaches every VR in the group, without the file's per-tag checks."""
    vr, originals = CASES[keyword]
    group = pydicom.datadict.tag_for_keyword(keyword) >> 16
    text = rule_text(f'group = "{group:04X}"', action, vr)
    for original in originals:
        out = run(text, sample(keyword, original))
        assert not invalid_values(out), (keyword, original, invalid_values(out))


@pytest.mark.parametrize("base", ["basic", "none"])
def test_every_action_under_each_base_on_a_full_header_is_valid(base: str) -> None:
    """All the cases in one file under both bases (the base's values meet the rules' values)."""
    for action in ACTIONS:
        ds = sample("PatientName", "Doe^Jane")
        for keyword, (_vr, originals) in CASES.items():
            setattr(ds, keyword, sequence() if originals[0] == "items" else originals[-1])
        text = f'base = "{base}"\npseudonym = true\n'
        for group in ("0008", "0010", "0018", "0020", "0028", "0040"):
            text += f'[[rule]]\ngroup = "{group}"\naction = "{action.split("-")[0]}"\nallow_keep = true\n'
            text += {"replace-value": 'value = "Research Subject"\n', "replace-regex": REGEX}.get(action, "")
        out = run(text, ds)
        assert not invalid_values(out), (base, action, invalid_values(out))


def test_the_validator_itself_catches_what_it_must() -> None:
    """The checks above can fail: invalid values of each kind are named."""
    ds = Dataset()
    ds.SeriesNumber = "2147483648"
    ds.AcquisitionDateTime = "20200230101500"
    ds.StudyTime = "246000"
    ds.StationName = "LINE\nBREAK"
    assert len(invalid_values(ds)) == 4
    bad = Dataset()
    bad.StationName = "X" * 17
    bad.file_meta = FileMetaDataset()
    bad.file_meta.TransferSyntaxUID = pydicom.uid.ExplicitVRLittleEndian
    with pytest.raises(ValueError):
        written(bad)


def test_a_pseudonym_in_a_short_vr_keeps_patients_apart() -> None:
    """SH holds 16 characters: a long site prefix is cut, the keyed part is kept, so two patients differ."""
    text = ('base = "none"\npseudonym = true\npseudonym_prefix = "' + "P" * 40 + '"\n'
            '[[rule]]\nkeyword = "StationName"\naction = "pseudonym"\n')
    names = set()
    for pid in ("MRN-0001", "MRN-0002"):
        ds = sample("StationName", "CT-ROOM-3")
        ds.PatientID = pid
        out = run(text, ds)
        assert len(out.StationName) == 16 and not invalid_values(out)
        names.add(out.StationName)
    assert len(names) == 2
