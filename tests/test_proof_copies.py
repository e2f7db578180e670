"""Copies and their claims end to end: fix and redact write, the proof judges, the manifest tells (no values).

The mutation run feeds damaged variants of a file carrying a known identity
through ``fix --profile basic`` and counts, with a plain byte search written
here (not the proof's), how many copies that kept their claim still hold a
planted string: it must be none.
"""

from __future__ import annotations

import json
import random
import struct
import warnings
from pathlib import Path

import pydicom
import pytest
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

from phi_review.core.remedy.claims import ResidualError
from phi_review.core.remedy.output import RemedyError
from phi_review.core.remedy.profile import ProfileSettings, profile_editor
from phi_review.core.remedy.tag_edit import write_fixed

PLANTED = ("QUILLFEATHER", "OSWALD", "QF559913", "19610422")


def _identity(path: Path) -> Path:
    """A CT slice whose identity is planted in many places a profile can miss."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
    ds.PatientName, ds.PatientID, ds.PatientBirthDate = "QUILLFEATHER^OSWALD", "QF559913", "19610422"
    ds.OtherPatientIDs = "QF559913"
    ds.ImageComments = "Oswald seen 1961-04-22"
    inner = Dataset()
    inner.ValueType, inner.TextValue = "TEXT", "Key images of QUILLFEATHER^OSWALD MRN QF559913"
    outer = Dataset()
    outer.ValueType, outer.ContentSequence = "CONTAINER", Sequence([inner])
    ds.ContentSequence = Sequence([outer])
    block = ds.private_block(0x0029, "ACME 1.0", create=True)
    block.add_new(0x10, "OB", "Oswald Quillfeather".encode("utf-16-le"))
    ds.add_new(0x00089997, "LO", "QUILLFEATHER")
    ds.file_meta.PrivateInformationCreatorUID = "1.2.3.4"
    ds.file_meta.PrivateInformation = b"QUILLFEATHER^OSWALD QF559913"
    ds.save_as(path, enforce_file_format=True)
    return path


def _holds_planted(data: bytes) -> list[str]:
    """The test's own search: every planted string, any case, four encodings, anywhere in the file."""
    low = data.lower()
    hits = []
    for text in PLANTED:
        for encoding in ("utf-8", "utf-16-le", "utf-16-be"):
            if text.lower().encode(encoding) in low:
                hits.append(f"{text}/{encoding}")
    return hits


def _keep_comments_editor(ds: Dataset) -> list[dict]:
    """A careless editor: claims the identity is removed but keeps the comments."""
    ds.PatientName, ds.PatientID, ds.PatientBirthDate = "ANON", "X1", ""
    for keyword in ("OtherPatientIDs", "ContentSequence"):
        if keyword in ds:
            delattr(ds, keyword)
    ds.remove_private_tags()
    if (0x0008, 0x9997) in ds:
        del ds[0x00089997]
    ds.PatientIdentityRemoved = "YES"
    return [{"tag": "(0010,0010)", "action": "set"}]


def test_a_copy_the_proof_refuses_is_put_aside_without_its_claim(tmp_path):
    (tmp_path / "in").mkdir()
    original = _identity(tmp_path / "in" / "a.dcm")
    out = tmp_path / "out"
    with pytest.raises(ResidualError) as caught:
        write_fixed(original, out, _keep_comments_editor, roots=[tmp_path / "in"], how={"profile": "custom"})
    assert not (out / "a.dcm").exists()
    aside = out / "residual" / "a.dcm"
    assert aside.is_file()
    assert str(pydicom.dcmread(aside).PatientIdentityRemoved) == "NO"
    assert {(r.kind, r.where) for r in caught.value.proof.residuals} >= {("name", "(0020,4000)")}
    manifest = (out / "manifest.jsonl").read_text(encoding="utf-8")
    record = json.loads(manifest.strip().splitlines()[-1])
    assert record["proof"]["status"] == "residual"
    assert record["copy"].endswith("residual/a.dcm")
    assert not _holds_planted(manifest.encode())  # the record names kinds and tags, never a value


def test_an_accepted_residual_keeps_the_claim_and_records_why(tmp_path):
    (tmp_path / "in").mkdir()
    original = _identity(tmp_path / "in" / "a.dcm")
    out = tmp_path / "out"
    write_fixed(original, out, _keep_comments_editor, roots=[tmp_path / "in"], reviewer="rev1",
                how={"profile": "custom"}, accept_residual="first name only, reviewed with the site")
    assert str(pydicom.dcmread(out / "a.dcm").PatientIdentityRemoved) == "YES"
    record = json.loads((out / "manifest.jsonl").read_text(encoding="utf-8").splitlines()[-1])
    assert record["proof"]["status"] == "residual-accepted"
    assert record["accepted_residual"] == {"reason": "first name only, reviewed with the site", "reviewer": "rev1"}


def test_no_unproven_file_is_left_beside_a_copy(tmp_path):
    (tmp_path / "in").mkdir()
    original = _identity(tmp_path / "in" / "a.dcm")
    out = tmp_path / "out"
    with pytest.raises(ResidualError):
        write_fixed(original, out, _keep_comments_editor, roots=[tmp_path / "in"])
    assert not [p for p in out.rglob("*") if ".unproven" in p.name]


def _mutate(data: bytes, rng: random.Random) -> bytes:
    """One random kind of damage, in the header where identities live."""
    buf = bytearray(data)
    header_end = buf.find(struct.pack("<HH", 0x7FE0, 0x0010)) or len(buf)
    op = rng.randrange(7)
    at = rng.randrange(132, max(133, header_end))
    if op == 0:  # flip a byte
        buf[at] ^= 1 << rng.randrange(8)
    elif op == 1:  # a short length grows or shrinks
        pos = buf.find(b"LO", at, header_end)
        if pos != -1:
            (length,) = struct.unpack_from("<H", buf, pos + 2)
            struct.pack_into("<H", buf, pos + 2, max(0, length + rng.choice((-8, -2, 2, 16, 64, 300))))
    elif op == 2:  # a tag's element number changes (PatientName becomes an unknown group-0010 tag, ...)
        pos = buf.find(struct.pack("<H", 0x0010), at, header_end)
        if pos != -1 and pos + 4 <= len(buf):
            struct.pack_into("<H", buf, pos + 2, rng.randrange(0x10000))
    elif op == 3:  # a VR becomes UN or garbage
        pos = buf.find(rng.choice((b"PN", b"LO", b"SQ", b"LT")), at, header_end)
        if pos != -1:
            buf[pos : pos + 2] = rng.choice((b"UN", b"XX", b"OB"))
    elif op == 4:  # bytes cut out
        del buf[at : at + rng.randrange(1, 40)]
    elif op == 5:  # bytes repeated
        buf[at:at] = buf[at : at + rng.randrange(1, 40)]
    else:  # truncated
        del buf[rng.randrange(132, len(buf)) :]
    return bytes(buf)


@pytest.mark.parametrize(("command", "count"), [("fix", 520), ("redact", 500)])
def test_mutants_no_copy_keeps_its_claim_with_a_planted_string(tmp_path, command, count):
    from phi_review.core.remedy.redact import Box, Redaction, redact_file

    source = _identity(tmp_path / "identity.dcm").read_bytes()
    rng = random.Random(19)
    editor = profile_editor(ProfileSettings(secret=b"s" * 32))
    root = tmp_path / "mutants"
    root.mkdir()
    outcomes = {"claimed": 0, "residual": 0, "refused": 0}
    leaks, crashes = [], []
    for index in range(count):
        path = root / f"m{index:03d}.dcm"
        path.write_bytes(_mutate(source, rng))
        try:
            if command == "fix":
                result = write_fixed(path, tmp_path / "out", editor, roots=[root], how={"profile": "basic"})
            else:
                result = redact_file(path, tmp_path / "out" / path.name, Redaction([Box(0, 0, 40, 20)], None),
                                     edit_header=editor, manifest_dir=tmp_path / "out")
        except ResidualError:
            outcomes["residual"] += 1
            continue
        except RemedyError:
            outcomes["refused"] += 1
            continue
        except Exception as error:  # noqa: BLE001 - counted: a crash is reported, never a claim
            crashes.append(f"{path.name}: {type(error).__name__}")
            continue
        outcomes["claimed"] += 1
        hits = _holds_planted(Path(result.copy).read_bytes())
        if hits:
            leaks.append(f"{path.name}: {hits}")
    print(outcomes, len(crashes))
    assert outcomes["claimed"] > count // 5  # much damage is survivable; the run is not vacuous
    assert leaks == []


def test_an_out_folder_that_is_a_symlink_is_refused(tmp_path, capsys):
    from phi_review.tui.cli import main

    (tmp_path / "in").mkdir()
    original = _identity(tmp_path / "in" / "a.dcm")
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "real")
    code = main(["fix", str(original), "--out", str(tmp_path / "link")])
    said = capsys.readouterr()
    assert code != 0 and "symbolic link" in said.err
    assert list((tmp_path / "real").iterdir()) == []


def test_a_valid_file_padded_with_zeros_is_copied_without_its_padding(tmp_path):
    """Zero padding after a whole data set is not damage: the copy is written (and proved), the zeros dropped."""
    (tmp_path / "in").mkdir()
    original = _identity(tmp_path / "in" / "a.dcm")
    size = original.stat().st_size
    with open(original, "ab") as handle:
        handle.write(b"\0" * (8 << 20))
    editor = profile_editor(ProfileSettings(secret=b"s" * 32))
    result = write_fixed(original, tmp_path / "out", editor, roots=[tmp_path / "in"], how={"profile": "basic"})
    assert Path(result.copy).stat().st_size < size
    assert "passed" in result.proof_summary
    assert not _holds_planted(Path(result.copy).read_bytes())
