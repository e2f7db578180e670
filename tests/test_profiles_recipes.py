"""Recipes from CTP and deid imported as profiles: conservative, reviewable, and usable by fix."""

from __future__ import annotations

from pathlib import Path

import pydicom
import pytest

from phi_review.core.remedy.profile import ProfileError
from phi_review.core.remedy.profile_file import build_editor, parse_profile
from phi_review.core.remedy.profile_recipes import import_ctp, import_deid
from phi_review.tui.cli import main
from test_fix_profile import make_study

CTP = """<script>
  <p t="DATEINC">-3210</p>
  <e en="T" t="00100010" n="PatientName">@empty()</e>
  <e en="T" t="00100020" n="PatientID">@lookup(this,ptid)</e>
  <e en="T" t="00080020" n="StudyDate">@incrementdate(this,@DATEINC)</e>
  <e en="T" t="0020000d" n="StudyInstanceUID">@hashuid(@UIDROOT,this)</e>
  <e en="T" t="00081030" n="StudyDescription">@keep()</e>
  <e en="T" t="00080080" n="InstitutionName">EDRN SITE</e>
  <e en="T" t="00081010" n="StationName">@append(){x}</e>
  <e en="F" t="00080050" n="AccessionNumber">@keep()</e>
  <e en="T" t="00280010" n="Rows">@incrementdate(this,@DATEINC)</e>
  <k en="T" t="safeprivateelements">Keep safe private elements</k>
  <r en="T" t="unspecifiedelements">Remove unspecified elements</r>
</script>
"""

DEID = """FORMAT dicom

%header
ADD PatientIdentityRemoved YES
BLANK PatientName
REPLACE InstitutionName EDRN SITE
REPLACE StudyInstanceUID func:generate_uid
REPLACE PatientID var:id
JITTER StudyDate -5
KEEP (0008,1030)
REMOVE AccessionNumber

%filter graylist
LABEL Burned in
"""


def test_ctp_script_becomes_a_profile_that_loosens_only_where_it_says() -> None:
    imported = import_ctp(CTP, "site.script")
    profile = parse_profile(imported.text, "site.toml")
    rules = {(r.tag, r.action) for r in profile.extras.rules}
    tag = pydicom.tag.Tag
    assert (tag("PatientName"), "empty") in rules and (tag("PatientID"), "pseudonym") in rules
    assert (tag("StudyDate"), "shift") in rules and (tag("StudyInstanceUID"), "hash") in rules
    assert (tag("StudyDescription"), "keep") in rules and (tag("StationName"), "remove") in rules
    assert (tag("Rows"), "remove") in rules  # a date shift cannot write US: removed, never kept
    assert not any(t == tag("AccessionNumber") for t, _ in rules)  # en="F" is switched off
    assert "retain-safe-private" in profile.options and profile.pseudonym and profile.base == "basic"
    assert imported.loosened == 1 and any("append" in n for n in imported.notes)
    assert "# site.script:8" in imported.text  # each rule names the recipe's line


def test_deid_recipe_becomes_a_profile() -> None:
    imported = import_deid(DEID, "deid.dicom")
    profile = parse_profile(imported.text, "deid.toml")
    rules = {(r.tag, r.action, r.value) for r in profile.extras.rules}
    tag = pydicom.tag.Tag
    assert (tag("PatientName"), "empty", None) in rules
    assert (tag("InstitutionName"), "replace", "EDRN SITE") in rules
    assert (tag("StudyInstanceUID"), "hash", None) in rules and (tag("PatientID"), "remove", None) in rules
    assert (tag("StudyDate"), "shift", None) in rules and (tag("StudyDescription"), "keep", None) in rules
    assert any("filter" in n for n in imported.notes)


@pytest.mark.parametrize("text, line", [
    ("FORMAT dicom\n%header\nKEEP contains:Patient\n", 3),  # REMOVE contains: is expanded over the dictionary
    ("FORMAT dicom\n%header\nSCRAMBLE PatientName\n", 3),
])
def test_deid_selectors_we_cannot_express_are_errors_with_the_line(text: str, line: int) -> None:
    with pytest.raises(ProfileError, match=rf"r.dicom:{line}:"):
        import_deid(text, "r.dicom")


def test_ctp_refuses_entities_and_bad_xml() -> None:
    with pytest.raises(ProfileError, match="entity"):
        import_ctp('<!DOCTYPE x [<!ENTITY a "b">]><script/>', "a.script")
    with pytest.raises(ProfileError, match=r"a.script:3:"):
        import_ctp("<script>\n<e t='00100010'>\n</script>", "a.script")


def test_import_command_writes_a_profile_fix_can_use(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("PHI_REVIEW_FIX_SECRET", "recipe-secret")
    monkeypatch.setenv("PHI_REVIEW_CONFIG", str(tmp_path / "cfg" / "config.toml"))
    recipe = tmp_path / "site.dicom"
    recipe.write_text(DEID)
    assert main(["profile", "import", str(recipe), "--format", "deid", "--name", "site-deid"]) == 0
    out = capsys.readouterr().out
    assert "review them" in out and (tmp_path / "cfg" / "profiles" / "site-deid.toml").is_file()
    paths = make_study(tmp_path / "in")
    code = main(["fix", *map(str, paths), "--out", str(tmp_path / "out"), "--profile", "site-deid"])
    err = capsys.readouterr().err
    # the recipe keeps StudyDescription, which names patient A: the proof puts those copies aside
    assert code == 1 and "3 of 4" in err and "name in (0008,1030)" in err
    copy = pydicom.dcmread(tmp_path / "out" / "B" / "img0.dcm")
    assert copy.InstitutionName == "EDRN SITE" and copy.PatientName == ""
    built = build_editor(parse_profile(import_deid(DEID, "d").text, "d.toml"), b"k")
    assert built.how["profile"] == "d"
