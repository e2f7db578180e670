"""`retain-safe-private` copies keep each kept private value with its creator: dciodvfy finds no
"Private tag without owner" (issue 25, "Show").

The source is built here: CT_small (its GE blocks) plus a site block with numeric (US, FL, DS) and text (LO)
elements and a private sequence, in a group where another creator holds the first block, written explicit
and implicit VR. Each is fixed with `basic --option retain-safe-private`, `tcia`, a private allow-list, and
rules that touch the private group (a group rule, a rule removing a creator): no copy may leave a private
element whose creator is missing or blank, and what dciodvfy says about owners must be nothing.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pydicom
import pytest
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

from phi_review.tui.cli import main

PROFILES = {
    "option": ["--option", "retain-safe-private"],
    "tcia": ["--profile", "tcia"],
    "allow-list": 'base = "basic"\n[private]\nkeep_creators = ["SITE KEEP", "GEMS_PARM_01"]\n',
    "group-rule-empty": 'base = "basic"\noptions = ["retain-safe-private"]\n[[rule]]\ngroup = "0013"\naction = "empty"\n',
    "group-rule-dummy": 'base = "basic"\noptions = ["retain-safe-private"]\n[[rule]]\ngroup = "0013"\naction = "dummy"\n',
    "group-rule-hash": 'base = "basic"\noptions = ["retain-safe-private"]\n[[rule]]\ngroup = "0043"\naction = "hash"\n',
    "creator-removed": 'base = "basic"\noptions = ["retain-safe-private"]\n[[rule]]\ntag = "(0013,0011)"\n'
                       'action = "remove"\n[[rule]]\ntag = "(0043,0010)"\naction = "remove"\n',
}


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PHI_REVIEW_FIX_SECRET", "private-owner-secret")
    monkeypatch.setenv("PHI_REVIEW_CONFIG", str(tmp_path / "cfg" / "config.toml"))


def source(folder: Path, implicit: bool) -> Path:
    """CT_small with a dropped creator in (0013,0010) and SITE KEEP's numeric and text values in block 0x11."""
    ds = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
    ds.private_block(0x0013, "SITE DROP", create=True).add_new(0x01, "LO", "Jane Doe")
    block = ds.private_block(0x0013, "SITE KEEP", create=True)
    block.add_new(0x01, "US", 42)
    block.add_new(0x02, "LO", "Jane Doe")
    block.add_new(0x03, "FL", [1.5, 2.5])
    block.add_new(0x04, "DS", "3.5")
    item = Dataset()
    inner = item.private_block(0x0013, "SITE KEEP", create=True)
    inner.add_new(0x01, "US", 7)
    inner.add_new(0x02, "LO", "Doe")
    block.add_new(0x05, "SQ", Sequence([item]))
    path = folder / f"ct_{'implicit' if implicit else 'explicit'}.dcm"
    folder.mkdir(parents=True, exist_ok=True)
    if implicit:
        ds.file_meta.TransferSyntaxUID = pydicom.uid.ImplicitVRLittleEndian
        ds.save_as(path, implicit_vr=True, little_endian=True, enforce_file_format=True)
    else:
        ds.save_as(path, enforce_file_format=True)
    return path


def fixed(tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, implicit: bool) -> Path:
    path = source(tmp_path / "in", implicit)
    extra = PROFILES[name]
    if isinstance(extra, str):
        profile = tmp_path / f"{name}.toml"
        profile.write_text(extra)
        extra = ["--profile", str(profile)]
    out = tmp_path / "out"
    code = main(["fix", str(path), "--out", str(out), *extra])
    err = capsys.readouterr().err
    assert code == 0, err
    return out / path.name


def orphans(ds: Dataset, where: str = "") -> list[str]:
    """Private data elements whose creator is missing or blank, and blank creators, anywhere in ``ds``."""
    found = []
    for elem in ds:
        tag = elem.tag
        if tag.is_private and tag.element >= 0x0100:
            creator = ds.get((tag.group, tag.element >> 8))
            if creator is None or not str(creator.value or "").strip():
                found.append(f"{where}{tag}")
        elif tag.is_private and 0x0010 <= tag.element <= 0x00FF and not str(elem.value or "").strip():
            found.append(f"{where}{tag} blank creator")
        if elem.VR == "SQ":
            for i, item in enumerate(elem.value or []):
                found += orphans(item, f"{where}{tag}[{i}].")
    return found


@pytest.mark.parametrize("implicit", [False, True], ids=["explicit", "implicit"])
@pytest.mark.parametrize("name", list(PROFILES))
def test_every_kept_private_element_keeps_its_creator(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                      name: str, implicit: bool) -> None:
    copy = pydicom.dcmread(fixed(tmp_path, capsys, name, implicit))
    assert not orphans(copy), orphans(copy)
    creators = {str(e.value) for e in copy if e.tag.is_private and 0x10 <= e.tag.element <= 0xFF}
    assert "SITE DROP" not in creators and "ANONYMOUS" not in creators  # a rule never rewrites an owner
    if name in ("option", "tcia", "allow-list") and not implicit:
        kept = {e.tag.element & 0xFF: e.value for e in copy if e.tag.group == 0x0013 and e.tag.element >= 0x100}
        assert kept.get(0x01) == 42 and 0x02 not in kept  # numeric stays with its creator, text goes


def dciodvfy(path: Path) -> str:
    done = subprocess.run(["dciodvfy", str(path)], capture_output=True, text=True, errors="replace", timeout=60)
    return done.stdout + done.stderr


@pytest.mark.skipif(not shutil.which("dciodvfy"), reason="dciodvfy not installed (apt-get install dicom3tools)")
@pytest.mark.parametrize("implicit", [False, True], ids=["explicit", "implicit"])
@pytest.mark.parametrize("name", list(PROFILES))
def test_dciodvfy_finds_no_private_tag_without_owner(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                     name: str, implicit: bool) -> None:
    copy = fixed(tmp_path, capsys, name, implicit)
    said = dciodvfy(copy)
    assert "without owner" not in said and "Bad private owner" not in said, [
        line for line in said.splitlines() if "owner" in line]
    if name in ("option", "tcia"):
        assert any(e.tag.group == 0x0013 and e.tag.element >= 0x100 for e in pydicom.dcmread(copy)) or implicit


@pytest.mark.skipif(not shutil.which("dciodvfy"), reason="dciodvfy not installed (apt-get install dicom3tools)")
def test_dciodvfy_does_report_an_orphan(tmp_path: Path) -> None:
    """The check above can fail: a private value whose creator was taken away is reported."""
    ds = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
    ds.private_block(0x0013, "SITE KEEP", create=True).add_new(0x01, "US", 42)
    del ds[0x00130010]
    path = tmp_path / "orphan.dcm"
    ds.save_as(path, enforce_file_format=True)
    assert "without owner" in dciodvfy(path)
