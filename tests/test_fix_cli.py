"""`phi-review fix`, `diff`, `values` and the core they stand on: per-tag edit plans, distinct values, header diff."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pydicom
import pytest
from pydicom.data import get_testdata_file

from phi_review.core.remedy.header_diff import header_diff
from phi_review.core.remedy.output import read_manifest, sha256_file
from phi_review.core.remedy.tag_edit import TagEditError, plan_tag_edit
from phi_review.core.remedy.values import distinct_values, files_holding
from phi_review.tui.cli import main
from test_fix_profile import make_study


@pytest.fixture(autouse=True)
def _secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PHI_REVIEW_FIX_SECRET", "cli-test-secret")


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_fix_writes_copies_and_a_manifest_without_values(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    paths = make_study(tmp_path / "in")
    before = [sha256_file(p) for p in paths]
    out = tmp_path / "out"
    code, text, err = run(capsys, "fix", *map(str, paths), "--out", str(out), "--option", "retain-modified-dates",
                          "--set", "StudyDescription=CT chest", "--reviewer", "jdoe")
    assert code == 0, err
    assert text.count("wrote ") == 4
    copies = [out / "A" / "img0.dcm", out / "A" / "img1.dcm", out / "A" / "img2.dcm", out / "B" / "img0.dcm"]
    for copy in copies:
        ds = pydicom.dcmread(copy)
        assert ds.PatientName == "" and ds.StudyDescription == "CT chest"
    assert [sha256_file(p) for p in paths] == before
    records = read_manifest(out)
    assert len(records) == 4 and records[0]["reviewer"] == "jdoe" and records[0]["profile"] == "basic"
    assert records[0]["options"] == ["retain-modified-dates"]
    manifest = (out / "manifest.jsonl").read_text()
    for secret in ("Doe", "Jane", "MRN-0001", "19600214", "20200301", "St Example", "1.2.826.0.1.3680043.8.498"):
        assert secret not in manifest
    # the same command again: the copies exist, one line, exit 2, nothing written
    code, text, err = run(capsys, "fix", *map(str, paths), "--out", str(out))
    assert code == 2 and "already exists" in err and len(err.strip().splitlines()) == 1
    assert len(read_manifest(out)) == 4


@pytest.mark.parametrize("argv, message", [
    (["--blank", "NoSuchTag"], "unknown tag"),
    (["--option", "retain-everything"], "unknown option"),
    (["--set", "PatientAge=sixty"], "cannot hold that value"),
    (["--set", "Rows=-5"], "cannot hold that value"),
    (["--shift", "PatientName=3"], "not a date"),
    (["--set", "PatientName"], "TAG=VALUE"),
    (["--uid-root", "1.2.abc"], "UID root"),
])
def test_fix_bad_input_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str],
                                   message: str) -> None:
    src = get_testdata_file("CT_small.dcm")
    code, _, err = run(capsys, "fix", src, "--out", str(tmp_path / "o"), *argv)
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "o").exists()


def test_fix_not_dicom_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "notes.dcm"
    bad.write_text("\x1b]52;c;aGk=\x07 not dicom")
    good = get_testdata_file("CT_small.dcm")
    code, _, err = run(capsys, "fix", good, str(bad), "--out", str(tmp_path / "o"))
    # The bad file is named in one line and listed at the end; the batch goes on (issue 20): exit 1.
    assert code == 1 and "not a readable DICOM file" in err and "\x1b" not in err and "Traceback" not in err
    assert err.strip().splitlines()[-1].endswith("1 of 2 file(s) failed: notes.dcm")
    assert len(read_manifest(tmp_path / "o")) == 1  # the good file was corrected


def test_diff_lists_what_the_profile_changed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    paths = make_study(tmp_path / "in")
    out = tmp_path / "out"
    assert run(capsys, "fix", str(paths[0]), "--out", str(out))[0] == 0
    copy = out / "img0.dcm"
    diff = header_diff(paths[0], copy)
    by_path = {r.path: r for r in diff.rows}
    assert by_path["PatientName"].status == "modified" and by_path["PatientName"].old == "Doe^Jane"
    assert by_path["RequestAttributesSequence"].status == "removed"
    assert by_path["PatientIdentityRemoved"].status == "added"
    assert by_path["(0009,1101)[PHIREVIEW TEST]"].status == "removed"
    assert by_path["AnatomicRegionSequence[0].OperatorsName"].new == "ANONYMOUS"
    assert diff.summary["unchanged"] > 10 and "Rows" not in by_path
    code, text, _ = run(capsys, "diff", str(paths[0]), str(copy), "--json")
    payload = json.loads(text)
    assert code == 0 and payload["summary"] == diff.summary
    code, text, _ = run(capsys, "diff", str(paths[0]), str(copy))
    assert code == 0 and "removed" in text and "PatientName" in text
    code, _, err = run(capsys, "diff", str(paths[0]), str(tmp_path / "nope.dcm"))
    assert code == 2 and "no such file" in err


def test_values_every_distinct_value_once(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    paths = make_study(tmp_path / "in")
    (tmp_path / "in" / "readme.txt").write_text("not dicom")
    result = distinct_values(paths, identifying=True)
    names = next(a for a in result.attributes if a.keyword == "PatientName")
    assert {v.value: v.count for v in names.values.values()} == {"Doe^Jane": 3, "Roe^Richard": 1}
    assert files_holding(result, "(0010,0010)", "Doe^Jane") == paths[:3]
    everything = distinct_values(paths, free_text=True, private=True)
    kinds = [("free" if a.free_text else "private" if a.private else "other") for a in everything.attributes]
    assert kinds == sorted(kinds, key=["free", "private", "other"].index)  # free text first, then private
    private = [a for a in everything.attributes if a.private_creator == "PHIREVIEW TEST"]
    assert {a.tag for a in private} >= {"(0009,1101)", "(0009,1102)"}
    code, text, _ = run(capsys, "values", str(tmp_path / "in"), "--private", "--json")
    payload = json.loads(text)
    assert code == 0 and payload["files"] == 4 and payload["unreadable"] == 1
    assert all(int(a["tag"][1:5], 16) % 2 == 1 for a in payload["attributes"])
    code, text, _ = run(capsys, "values", str(tmp_path / "in"), "--free-text")
    assert code == 0 and "CT chest for Jane Doe" in text


def test_values_output_is_inert(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ds = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
    ds.StudyDescription = "\x1b]52;c;aGk=\x07[bold]x[/bold]"
    ds.save_as(tmp_path / "evil.dcm")
    code, text, _ = run(capsys, "values", str(tmp_path), "--free-text")
    assert code == 0 and "\x1b" not in text and "\x07" not in text and "\\x1b" in text


def test_plan_tag_edit_counts_then_applies_one_copy_per_file(tmp_path: Path) -> None:
    paths = make_study(tmp_path / "in")
    plan = plan_tag_edit(paths, "PatientName", "blank", only_value="Doe^Jane")
    assert plan.count == 3 and plan.other_value == [paths[3]] and "blank PatientName in 3 file(s)" in plan.summary()
    out = tmp_path / "out"
    results = plan.apply(out, roots=[tmp_path / "in"], reviewer="jdoe")
    assert [r.copy for r in results] == [out / "A" / f"img{i}.dcm" for i in range(3)]
    assert pydicom.dcmread(results[0].copy).PatientName == ""
    assert pydicom.dcmread(results[0].copy).PatientID == "MRN-0001"  # only the one tag
    # a second edit on the same files lands in the same copies (one copy per file)
    second = plan_tag_edit(paths[:3], "PatientID", "set", "ANON-1").apply(out, roots=[tmp_path / "in"])
    ds = pydicom.dcmread(second[0].copy)
    assert ds.PatientName == "" and ds.PatientID == "ANON-1"
    assert sorted(p.name for p in (out / "A").iterdir()) == ["img0.dcm", "img1.dcm", "img2.dcm"]
    assert len(read_manifest(out)) == 6
    shift = plan_tag_edit(paths[:1], "StudyDate", "shift", -10).apply(tmp_path / "o2", roots=[tmp_path / "in"])
    assert pydicom.dcmread(shift[0].copy).StudyDate == "20200220"
    with pytest.raises(TagEditError):
        plan_tag_edit(paths, "PatientName", "explode")
    missing = plan_tag_edit(paths + [tmp_path / "in" / "nope.dcm"], "RequestAttributesSequence", "remove")
    assert missing.count == 3 and missing.without_tag == [paths[3]] and len(missing.unreadable) == 1


@pytest.mark.skipif(not shutil.which("dcmdump"), reason="DCMTK not installed")
def test_dcmdump_reads_the_copy(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    paths = make_study(tmp_path / "in")
    assert run(capsys, "fix", *map(str, paths), "--out", str(tmp_path / "o"), "--option", "retain-safe-private")[0] == 0
    done = subprocess.run(["dcmdump", str(tmp_path / "o" / "A" / "img0.dcm")], capture_output=True, text=True)
    assert done.returncode == 0 and "PatientIdentityRemoved" in done.stdout and "YES" in done.stdout


def test_secret_is_made_once_private_and_reused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from phi_review.core.remedy.profile import ProfileError, load_secret

    monkeypatch.delenv("PHI_REVIEW_FIX_SECRET", raising=False)
    monkeypatch.setenv("PHI_REVIEW_CONFIG", str(tmp_path / "cfg" / "config.toml"))
    first = load_secret()
    target = tmp_path / "cfg" / "fix-secret"
    assert target.stat().st_mode & 0o777 == 0o600 and len(first) == 64
    assert load_secret() == first  # the same UIDs and offsets next run
    monkeypatch.setenv("PHI_REVIEW_FIX_SECRET", "from-env")
    assert load_secret() == b"from-env"
    (tmp_path / "empty").write_bytes(b"")
    with pytest.raises(ProfileError, match="empty"):
        load_secret(tmp_path / "empty")
