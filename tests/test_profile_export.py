"""`profile export NAME --deid OUT`: the base expanded per attribute, the rules after it, nothing dropped
in silence; the recipe read back by our importer gives the same effect per attribute, and deid reads it."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydicom.datadict import keyword_for_tag

from phi_review.core.remedy.profile_export import EXPRESSIBLE, MARKS, effects, export_deid
from phi_review.core.remedy.profile_file import load_profile, parse_profile
from phi_review.core.remedy.profile_recipes import import_deid
from phi_review.core.remedy.profile_table import load_table
from phi_review.tui.cli import main

SITE = '''base = "basic"
options = ["retain-device-identity"]
[[rule]]
keyword = "StudyDescription"
action = "replace"
value = "RESEARCH CT"
[[rule]]
keyword = "SeriesDescription"
action = "keep"
allow_keep = true
[[rule]]
keyword = "InstitutionName"
action = "dummy"
[[rule]]
group = "0018"
action = "empty"
[[rule]]
keyword = "AccessionNumber"
action = "hash"
[[rule]]
keyword = "ImageComments"
action = "replace"
pattern = "(?i)dr\\\\.? \\\\w+"
with = ""
allow_keep = true
[[rule]]
creator = "GEMS_ACQU_01"
action = "remove"
'''


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PHI_REVIEW_FIX_SECRET", "export-secret")
    monkeypatch.setenv("PHI_REVIEW_CONFIG", str(tmp_path / "cfg" / "config.toml"))


def _header(text: str) -> list[str]:
    return [ln for ln in text.splitlines()[text.splitlines().index("%header") + 1:] if ln and not ln.startswith("#")]


def test_basic_is_expanded_row_by_row() -> None:
    """Every row of E.1-1 the profile acts on has its own line: deid keeps whatever a recipe leaves out."""
    exported = export_deid(load_profile("basic"))
    named = {line.split()[1] for line in _header(exported.text)}
    table = load_table()
    silent = []
    known = effects(load_profile("basic"))
    for tag in table.exact:
        effect = known.get(tag)
        if tag in MARKS or effect is None or effect.action in ("recurse", "unchanged", "content"):
            continue
        if (keyword_for_tag(tag) or f"({tag >> 16:04X},{tag & 0xFFFF:04X})") not in named:
            silent.append(tag)
    assert not silent
    assert "REMOVE PatientAddress" in exported.text and "BLANK PatientName" in exported.text
    assert "REPLACE ReferringPhysicianName ANONYMOUS" not in exported.text  # Z in the table: BLANK
    assert "BLANK ReferringPhysicianName" in exported.text
    assert "REMOVE contains:^[0-9a-f]{3}[13579bdf][0-9a-f]{4}$" in exported.text  # private groups
    assert exported.lines == len(_header(exported.text)) > 1000


@pytest.mark.parametrize("name", ["basic", "tcia", "hipaa-safe-harbor", "site"])
def test_round_trip_gives_the_same_effect_per_attribute(name: str) -> None:
    """export -> import -> the effect on each attribute equals the original's wherever deid can say it."""
    profile = parse_profile(SITE, "site.toml") if name == "site" else load_profile(name)
    exported = export_deid(profile)
    back = parse_profile(import_deid(exported.text, f"{name}.dicom").text, f"{name}-back.toml")
    before, after = effects(profile), effects(back)
    compared = 0
    for tag, effect in before.items():
        if effect.action in EXPRESSIBLE or effect.action == "uid":
            assert (after[tag].action, after[tag].value) == (effect.action, effect.value), keyword_for_tag(tag)
            compared += 1
    assert compared > 300
    # what deid cannot say came back no looser than the stand-in written for it
    for tag, effect in before.items():
        if effect.action in ("shift", "clean", "hash", "pseudonym", "regex"):
            assert after[tag].action in ("remove", "empty"), keyword_for_tag(tag)


def test_the_site_rules_win_over_the_base() -> None:
    text = export_deid(parse_profile(SITE, "site.toml")).text
    lines = _header(text)
    assert "REPLACE StudyDescription RESEARCH CT" in lines and "KEEP SeriesDescription" in lines
    assert "REPLACE InstitutionName ANONYMOUS" in lines
    assert "BLANK KVP" in lines  # the group rule, per attribute
    assert "KEEP StationName" in lines and "BLANK DeviceSerialNumber" in lines  # K in the table; the 0018 rule
    assert not any(line.split()[1] == "StudyDescription" and line != "REPLACE StudyDescription RESEARCH CT"
                   for line in lines)


def test_what_deid_cannot_say_is_named_in_the_recipe_and_the_list() -> None:
    exported = export_deid(parse_profile(SITE, "site.toml"))
    assert not exported.complete
    joined = "\n".join(exported.unsupported)
    for what in ("keyed hash", "regular-expression", "private creator rule", "keyed UID map", "Clean"):
        assert what in joined, what
        assert what in exported.text
    assert "AccessionNumber (profile line" in joined  # a rule is named with its profile line
    assert "# UNSUPPORTED AccessionNumber (profile line 19): keyed hash" in exported.text
    assert "BLANK AccessionNumber" in exported.text  # the stricter stand-in
    allow = parse_profile(SITE.replace('action = "remove"', 'action = "remove"\n') +
                          '[private]\nkeep_creators = ["GEMS_ACQU_01"]\n', "s.toml")
    assert any("allow-list GEMS_ACQU_01" in line for line in export_deid(allow).unsupported)


def test_a_plain_profile_exports_complete(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    profile = tmp_path / "plain.toml"
    profile.write_text('base = "none"\n[[rule]]\nkeyword = "PatientName"\naction = "remove"\n'
                       '[[rule]]\nkeyword = "InstitutionName"\naction = "replace"\nvalue = "SITE A"\n')
    out = tmp_path / "plain.dicom"
    assert main(["profile", "export", str(profile), "--deid", str(out)]) == 0
    std = capsys.readouterr()
    assert not std.err and "2 %header line(s)" in std.out
    assert _header(out.read_text()) == ["REPLACE InstitutionName SITE A", "REMOVE PatientName"]  # tag order
    assert main(["profile", "export", str(profile), "--deid", str(out)]) == 2  # never over a file
    assert "already exists" in capsys.readouterr().err


def test_export_of_an_incomplete_profile_exits_1_naming_each_construct(tmp_path: Path,
                                                                       capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "tcia.dicom"
    assert main(["profile", "export", "tcia", "--deid", str(out)]) == 1
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert any("pseudonym" in line for line in lines) and any("Retain Safe Private" in line for line in lines)
    assert any("patient's keyed offset" in line for line in lines) and "export incomplete" in lines[-1]
    assert "export-secret" not in out.read_text() + err
    text = out.read_text()
    for line in lines[:-1]:  # each construct on stderr is a comment in the recipe too
        note = line.split("not expressible in deid: ", 1)[1].split(": ")[0]
        assert f": {note}" in text, note


def test_deid_reads_the_exported_recipe(tmp_path: Path) -> None:
    config = pytest.importorskip("deid.config")
    for name in ("basic", "tcia"):
        exported = export_deid(load_profile(name))
        path = tmp_path / f"{name}.dicom"
        path.write_text(exported.text)
        recipe = config.DeidRecipe(str(path))
        actions = recipe.get_actions()
        assert recipe.get_format() == "dicom" and len(actions) == exported.lines
        assert {"action": "BLANK", "field": "PatientName"} in actions
        assert {"action": "REPLACE", "field": "StudyInstanceUID", "value": "deid_func:pydicom_uuid"} in actions


def test_deid_runs_the_exported_recipe(tmp_path: Path) -> None:
    """deid itself applies our recipe: names and IDs gone, UIDs replaced, private groups removed."""
    pytest.importorskip("deid")
    import pydicom
    from deid.config import DeidRecipe
    from deid.dicom import replace_identifiers
    from pydicom.data import get_testdata_file

    path = tmp_path / "basic.dicom"
    path.write_text(export_deid(load_profile("basic")).text)
    source = get_testdata_file("CT_small.dcm")
    original = pydicom.dcmread(source)
    written = replace_identifiers([source], deid=DeidRecipe(str(path)), save=True, output_folder=str(tmp_path))
    copy = pydicom.dcmread(written[0])
    assert copy.PatientName == "" and copy.StudyInstanceUID != original.StudyInstanceUID
    assert not any(e.tag.is_private for e in copy) and any(e.tag.is_private for e in original)
    assert copy.get("StudyDate", "") == "" and "PatientAddress" not in copy and copy.PatientIdentityRemoved == "YES"


def test_each_rule_deid_cannot_say_gets_its_own_line() -> None:
    text = ('base = "none"\n[[rule]]\nkeyword = "AccessionNumber"\naction = "hash"\n'
            '[[rule]]\nkeyword = "StudyID"\naction = "hash"\n')
    lines = export_deid(parse_profile(text, "two.toml")).unsupported
    assert len(lines) == 2 and "profile line 4" in lines[0] and "profile line 7" in lines[1]
    private = export_deid(parse_profile('base = "none"\n[[rule]]\ngroup = "0019"\naction = "keep"\n', "p.toml"))
    assert private.unsupported == ["a private group rule: left to the private lines [rule at profile line 4]: "
                                   "group 0019 (profile line 4)"]
