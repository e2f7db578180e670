"""The real default recipes of deid and CTP imported rule by rule: every line mapped to the rule it
should give, or named as not carried, with the counts.

deid: its default ``deid/data/deid.dicom`` from the installed package (the ``test`` extra). Our
dictionary expansion of its ``endswith:``/``contains:`` selectors is checked against deid's own matcher.

CTP: the DicomAnonymizer stage's default script is ``source/files/examples/example-ctp-dicom-anonymizer.script``
(``DicomAnonymizer.java``: ``defaultScript``) in github.com/johnperry/CTP, read at commit
361e90f8032fbb343000f3397159ae24a001229a. It is not copied here: ``CTP_CONSTRUCTS`` below is written for
this test, one line for each kind of construct that script enables (the same functions, ``@always()``
prefixes, disabled lines and ``<k>``/``<r>``/``<p>`` elements). The real script is read when it is at hand
(``PHI_REVIEW_CTP_SCRIPT``, or a local clone at ``PHI_REVIEW_CTP_REPO``), else that test is skipped.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections import Counter
from pathlib import Path

import pytest
from pydicom.datadict import DicomDictionary, dictionary_has_tag, tag_for_keyword

from phi_review.core.remedy.profile_export import dictionary_tags
from phi_review.core.remedy.profile_file import parse_profile
from phi_review.core.remedy.profile_recipes import deid_expand, import_ctp, import_deid

MARKS = {0x00120062, 0x00120063, 0x00120064, 0x00280303}
CTP_COMMIT = "361e90f8032fbb343000f3397159ae24a001229a"
CTP_PATH = "source/files/examples/example-ctp-dicom-anonymizer.script"

CTP_CONSTRUCTS = """<script>
 <p t="DATEINC">-3210</p>
 <p t="UIDROOT">1.2.3.4</p>
 <e en="T" t="00080005" n="SpecificCharacterSet">@keep()</e>
 <e en="F" t="00080008" n="ImageType"></e>
 <e en="T" t="00080012" n="InstanceCreationDate">@incrementdate(this,@DATEINC)</e>
 <e en="T" t="00080018" n="SOPInstanceUID">@hashuid(@UIDROOT,this)</e>
 <e en="T" t="00080050" n="AccessionNumber">@hash(this,16)</e>
 <e en="T" t="00080090" n="ReferringPhysicianName">@empty()</e>
 <e en="T" t="00081010" n="StationName">@remove()</e>
 <e en="T" t="00100010" n="PatientName">@hashname(this,6,2)</e>
 <e en="T" t="00120062" n="PatientIdentityRemoved">@always()YES</e>
 <e en="T" t="00120063" n="DeIdentificationMethod">@always()@append(){Site default}</e>
 <e en="T" t="00120064" n="DeIdentificationMethodCodeSeq">113100/113105</e>
 <e en="T" t="00280303" n="LongitudinalTemporalInformationModified">@always()MODIFIED</e>
 <e en="T" t="00540016" n="RadiopharmaceuticalInformationSeq">@always()@process()</e>
 <e en="T" t="50000000" n="CurveGroup">@remove()</e>
 <k en="F" t="0018">Keep group 0018</k>
 <k en="F" t="safeprivateelements">Keep safe private elements</k>
 <r en="T" t="curves">Remove curves</r>
 <r en="T" t="privategroups">Remove private groups</r>
 <r en="F" t="unspecifiedelements">Remove unchecked elements</r>
</script>
"""

_CTP_EXPECTED = [("@remove(", "remove"), ("@keep(", "keep"), ("@empty(", "empty"), ("@incrementdate(", "shift"),
                 ("@hashuid(", "hash"), ("@hashname(", "hash"), ("@hash(", "hash"), ("@process(", "skipped")]


def _ctp_expected(tag: int, body: str) -> str:
    """What a CTP line should become, decided here apart from the importer."""
    if tag in MARKS or not dictionary_has_tag(tag):
        return "skipped"
    body = re.sub(r"^(@always\(\))+", "", body.strip()).lower()
    return next((action for prefix, action in _CTP_EXPECTED if body.startswith(prefix)), "?")


def _ctp_rule_by_rule(text: str) -> Counter[str]:
    imported = import_ctp(text, "anonymizer.script")
    profile = parse_profile(imported.text, "ctp.toml")
    rules = {(r.tag, r.action) for r in profile.extras.rules}
    expected: Counter[str] = Counter()
    for number, line in enumerate(text.splitlines(), start=1):
        found = re.search(r'<e en="T" t="([0-9a-fA-F]{8})"[^>]*>(.*)</e>', line)
        if found:
            tag = int(found[1], 16)
            want = _ctp_expected(tag, found[2])
            assert imported.outcome.get(number) == want, (number, line)
            if want != "skipped":
                assert (tag, want) in rules, (number, line)
            else:  # named, never dropped in silence
                assert any(n.startswith(f"line {number}: ") for n in imported.notes), number
            expected[want] += 1
        elif re.search(r'<r en="T"', line):
            assert imported.outcome.get(number) == "skipped"
            expected["<r>"] += 1
        elif re.search(r'en="F"|<p ', line):
            assert number not in imported.outcome  # switched off by the script itself, or a parameter
    assert sum(expected.values()) == len(imported.outcome)
    assert imported.loosened == expected["keep"] and "retain-safe-private" not in profile.options
    return expected


def test_ctp_constructs_rule_by_rule() -> None:
    counts = _ctp_rule_by_rule(CTP_CONSTRUCTS)
    assert counts == Counter({"skipped": 6, "hash": 3, "keep": 1, "shift": 1, "empty": 1, "remove": 1, "<r>": 2})


def _real_ctp_script() -> str | None:
    if os.environ.get("PHI_REVIEW_CTP_SCRIPT"):
        return Path(os.environ["PHI_REVIEW_CTP_SCRIPT"]).read_text("utf-8")
    repo = os.environ.get("PHI_REVIEW_CTP_REPO", "/work/.mirror/johnperry+CTP/repo")
    if not Path(repo).is_dir():
        return None
    done = subprocess.run(["git", "--git-dir", repo, "show", f"{CTP_COMMIT}:{CTP_PATH}"], capture_output=True,
                          text=True, check=False)
    return done.stdout if done.returncode == 0 else None


def test_ctp_real_default_script_rule_by_rule() -> None:
    text = _real_ctp_script()
    if text is None:
        pytest.skip("CTP's default anonymizer script is not at hand (PHI_REVIEW_CTP_SCRIPT)")
    counts = _ctp_rule_by_rule(text)
    # 287 enabled <e> lines and 3 enabled <r> lines at that commit
    assert counts == Counter({"remove": 183, "keep": 37, "hash": 28, "shift": 25, "empty": 8, "skipped": 6,
                              "<r>": 3})


def _deid_default() -> tuple[str, str]:
    deid = pytest.importorskip("deid")
    path = Path(deid.__file__).parent / "data" / "deid.dicom"
    return path.read_text("utf-8"), str(path)


def test_deid_default_recipe_rule_by_rule() -> None:
    text, source = _deid_default()
    imported = import_deid(text, source)
    profile = parse_profile(imported.text, "deid.toml")
    rules = {(r.tag, r.action, r.value) for r in profile.extras.rules}
    section, counts = "", Counter()
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if line.startswith("%"):
            section = line[1:].split()[0]
            continue
        if section != "header" or not line:
            continue
        action, field, *rest = line.split(None, 2)
        value = rest[0] if rest else None
        if ":" in field:  # an expander: every dictionary attribute it selects gets the rule
            tags = [t for t in deid_expand(*field.split(":", 1)) if t not in MARKS]
            assert tags and all((t, "remove", None) in rules for t in tags), number
            want = "remove"
        elif tag_for_keyword(field) is None:
            want = "skipped"  # no such attribute: named
        elif int(tag_for_keyword(field)) in MARKS:
            want = "skipped"
        elif action == "REMOVE":
            want = "remove"
            assert (tag_for_keyword(field), "remove", None) in rules, number
        elif action == "ADD" and value and not value.startswith("var:"):
            want = "replace"
            assert (tag_for_keyword(field), "replace", value) in rules, number
        else:
            want = "remove"  # a variable filled in at run time: removed, never kept
            assert (tag_for_keyword(field), "remove", None) in rules, number
        assert imported.outcome.get(number) == want, (number, line)
        if want == "skipped" or value is not None:
            assert any(n.startswith(f"line {number}: ") for n in imported.notes), number
        counts[want] += 1
    assert counts == Counter({"remove": 69, "replace": 1, "skipped": 3})
    assert sum(counts.values()) == len(imported.outcome) == 73
    assert imported.loosened == 0  # deid's default keeps nothing the Basic Profile changes


def test_our_expansion_of_deid_selectors_matches_deid() -> None:
    """deid matches endswith:/contains: against the attributes of a file; we against the dictionary: the same set."""
    pytest.importorskip("deid")
    from deid.dicom.fields import expand_field_expression, get_fields_with_lookup
    from pydicom.dataset import FileDataset, FileMetaDataset

    ds = FileDataset("synthetic", {}, file_meta=FileMetaDataset(), preamble=b"\0" * 128)
    values = {"DA": "20200101", "TM": "101010", "DT": "20200101", "LO": "x", "SH": "x", "CS": "X", "PN": "A^B",
              "UI": "1.2.3", "LT": "x", "ST": "x", "UT": "x", "IS": "1", "DS": "1", "US": 1, "UL": 1, "AE": "A"}
    for tag in dictionary_tags():
        vr = DicomDictionary[tag][0]
        if vr in values:
            ds.add_new(tag, vr, values[vr])
    fields = get_fields_with_lookup(ds)
    text, _ = _deid_default()
    expressions = sorted(set(re.findall(r"^REMOVE ((?:startswith|endswith|contains):\S+)", text, re.M)))
    assert len(expressions) >= 8
    for expression in expressions:
        theirs = {int(f.element.tag) for f in expand_field_expression(expression, ds, fields).values()}
        ours = {t for t in deid_expand(*expression.split(":", 1)) if t in ds}
        assert theirs == ours and ours, expression
