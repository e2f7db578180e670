"""Where copies go: same-named outputs refused before writing, nothing under --out followed through a symlink,
a missing --deid-recipe folder refused first, and a killed run's leftovers found at the next start."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from phi_review.core.remedy.output import RemedyError, append_manifest, plan_copies, read_manifest, write_copy
from phi_review.tui.cli import main
from test_copy_record_kill import make_files


@pytest.fixture(autouse=True)
def _secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PHI_REVIEW_FIX_SECRET", "paths-test-secret")


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def one_line(err: str) -> str:
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    return lines[0]


def two_same_names(tmp_path: Path) -> list[Path]:
    files = make_files(tmp_path / "in", 2)  # s0/x0.dcm, s1/x1.dcm
    twin = files[1].with_name("x0.dcm")
    files[1].rename(twin)
    return [files[0], twin]


# ----------------------------------------------------------------------------- same-named outputs


def test_plan_copies_refuses_two_files_to_one_copy(tmp_path: Path) -> None:
    a, b = two_same_names(tmp_path)
    with pytest.raises(RemedyError, match="x0.dcm") as info:
        plan_copies([a, b], [], tmp_path / "out")
    assert "\n" not in str(info.value)
    plan = plan_copies([a, b], [tmp_path / "in"], tmp_path / "out")
    assert plan == {tmp_path / "out" / "s0" / "x0.dcm": a, tmp_path / "out" / "s1" / "x0.dcm": b}


def test_plan_copies_sees_one_file_named_twice(tmp_path: Path) -> None:
    (a,) = make_files(tmp_path / "in", 1)
    with pytest.raises(RemedyError):
        plan_copies([a, tmp_path / "in" / "s0" / ".." / "s0" / "x0.dcm"], [], tmp_path / "out")


@pytest.mark.parametrize("extra", [[], ["--overwrite"]])
def test_redact_refuses_same_named_files_before_writing(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                         extra: list[str]) -> None:
    a, b = two_same_names(tmp_path)
    out = tmp_path / "out"
    code, _, err = run(capsys, "redact", "--box", "0,0,2,2", "--out", str(out), *extra, str(a), str(b))
    assert code == 2 and "x0.dcm" in one_line(err)
    assert not out.exists() or not any(out.rglob("*"))


def test_fix_still_refuses_same_named_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a, b = two_same_names(tmp_path)
    out = tmp_path / "out"
    code, _, err = run(capsys, "fix", "--root", str(a.parent), "--out", str(out), str(a), str(b))
    assert code == 2 and one_line(err)
    assert not out.exists() or not any(out.rglob("*"))


# ----------------------------------------------------------------------------- symlinks under --out


@pytest.mark.parametrize("kind", ["fix", "redact"])
def test_symlinked_subfolder_under_out_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                  kind: str) -> None:
    files = make_files(tmp_path / "in", 4)
    out, elsewhere = tmp_path / "out", tmp_path / "elsewhere"
    out.mkdir()
    elsewhere.mkdir()
    (out / "s2").symlink_to(elsewhere, target_is_directory=True)
    how = ["--box", "0,0,2,2"] if kind == "redact" else []
    code, _, err = run(capsys, kind, "--root", str(tmp_path / "in"), "--out", str(out), *how, *map(str, files))
    assert code == 2 and "symlink" in one_line(err)
    assert list(elsewhere.iterdir()) == []
    assert not (out / "manifest.jsonl").exists()
    assert [p.name for p in out.iterdir()] == ["s2"], "refused before any copy is written"


@pytest.mark.parametrize("kind", ["fix", "redact"])
def test_symlinked_manifest_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str], kind: str) -> None:
    files = make_files(tmp_path / "in", 2)
    out, elsewhere = tmp_path / "out", tmp_path / "elsewhere.jsonl"
    out.mkdir()
    elsewhere.write_text("")
    (out / "manifest.jsonl").symlink_to(elsewhere)
    how = ["--box", "0,0,2,2"] if kind == "redact" else []
    code, _, err = run(capsys, kind, "--root", str(tmp_path / "in"), "--out", str(out), *how, *map(str, files))
    assert code == 2 and "symlink" in one_line(err)
    assert elsewhere.read_text() == ""
    assert not list(out.rglob("*.dcm"))


def test_append_and_read_refuse_a_symlinked_manifest(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere.jsonl"
    elsewhere.write_text('{"n": 1}\n')
    out = tmp_path / "out"
    out.mkdir()
    (out / "manifest.jsonl").symlink_to(elsewhere)
    with pytest.raises(RemedyError, match="symlink"):
        append_manifest(out, {"n": 2})
    with pytest.raises(RemedyError, match="symlink"):
        read_manifest(out)
    assert elsewhere.read_text() == '{"n": 1}\n'


def test_write_copy_does_not_follow_a_symlinked_folder(tmp_path: Path) -> None:
    (src,) = make_files(tmp_path / "in", 1)
    out, elsewhere = tmp_path / "out", tmp_path / "elsewhere"
    (out / "a").mkdir(parents=True)
    elsewhere.mkdir()
    (out / "a" / "b").symlink_to(elsewhere, target_is_directory=True)
    with pytest.raises(RemedyError, match="symlink"):
        write_copy(src, out / "a" / "b" / "c" / "x0.dcm", out_dir=out)
    assert list(elsewhere.iterdir()) == []


def test_write_copy_does_not_replace_a_symlinked_copy(tmp_path: Path) -> None:
    (src,) = make_files(tmp_path / "in", 1)
    out, target = tmp_path / "out", tmp_path / "target.dcm"
    out.mkdir()
    target.write_bytes(b"keep")
    (out / "x0.dcm").symlink_to(target)
    with pytest.raises(RemedyError, match="symlink"):
        write_copy(src, out / "x0.dcm", out_dir=out, overwrite=True)
    assert target.read_bytes() == b"keep" and (out / "x0.dcm").is_symlink()


# ----------------------------------------------------------------------------- --deid-recipe


def test_deid_recipe_into_a_missing_folder_is_refused_before_writing(tmp_path: Path,
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    files = make_files(tmp_path / "in", 2)
    out = tmp_path / "out"
    code, _, err = run(capsys, "redact", "--root", str(tmp_path / "in"), "--box", "0,0,2,2", "--out", str(out),
                       "--deid-recipe", str(tmp_path / "no" / "such" / "recipe.txt"), *map(str, files))
    assert code == 2 and "recipe" in one_line(err)
    assert not out.exists() or not any(out.rglob("*"))


# ----------------------------------------------------------------------------- a killed run's leftovers


def killed_run_leftovers(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[Path, list[Path], Path, Path]:
    """A finished fix, then what kill -9 leaves: a copy with no record and temp files of every kind."""
    files = make_files(tmp_path / "in", 3)
    out = tmp_path / "out"
    code, _, err = run(capsys, "fix", "--root", str(tmp_path / "in"), "--out", str(out), *map(str, files[:2]))
    assert code == 0, err
    orphan = out / "s2" / "x2.dcm"
    orphan.parent.mkdir()
    orphan.write_bytes((out / "s0" / "x0.dcm").read_bytes())
    temp = out / "s0" / ".x0.dcm.k2j4_x9a.tmp"
    temp.write_bytes(b"half a copy")
    for suffix in ("edit", "redact", "clean"):
        (out / "s1" / f".x1.dcm.{suffix}").write_bytes(b"half")
    return out, files, orphan, temp


def test_recover_output_records_an_orphan_and_removes_temps(tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    from phi_review.core.remedy.manifest import recover_output

    out, files, orphan, temp = killed_run_leftovers(tmp_path, capsys)
    found = recover_output(out)
    assert found.recorded == [orphan] and found.removed == []
    assert not temp.exists() and not [p for p in out.rglob(".*")]
    last = read_manifest(out)[-1]
    assert last["action"] == "recovered" and last["verified"] is False
    assert last["copy_sha256"] and Path(last["copy"]) == orphan
    assert len(read_manifest(out)) == 3
    assert recover_output(out).recorded == [], "recorded once"


def test_recover_output_hook_adds_fields_or_removes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from phi_review.core.remedy.manifest import recover_output

    out, files, orphan, _ = killed_run_leftovers(tmp_path, capsys)
    seen: list[Path] = []

    def proof(copy: Path) -> dict:
        seen.append(copy)
        return {"verified": True, "proof": "passed"}

    recover_output(out, on_orphan=proof)
    assert seen == [orphan]
    assert read_manifest(out)[-1]["proof"] == "passed" and read_manifest(out)[-1]["verified"] is True

    other = out / "s3" / "x3.dcm"
    other.parent.mkdir()
    other.write_bytes(orphan.read_bytes())

    def refuse(copy: Path) -> dict:
        raise RemedyError("identifiers remain")

    found = recover_output(out, on_orphan=refuse)
    assert found.removed == [other] and not other.exists()
    assert len(read_manifest(out)) == 3


def test_fix_start_recovers_and_goes_on(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out, files, orphan, temp = killed_run_leftovers(tmp_path, capsys)
    code, text, err = run(capsys, "fix", "--root", str(tmp_path / "in"), "--out", str(out), *map(str, files))
    assert code == 0, err
    assert not [p for p in out.rglob(".*")]
    records = read_manifest(out)
    assert sorted(Path(r["copy"]).relative_to(out).as_posix() for r in records) == [
        "s0/x0.dcm", "s1/x1.dcm", "s2/x2.dcm"]
    assert text.count("wrote ") == 1, "the recorded copies are kept, not written again"


def test_rerun_with_other_settings_is_still_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    files = make_files(tmp_path / "in", 3)
    out = tmp_path / "out"
    assert run(capsys, "fix", "--root", str(tmp_path / "in"), "--out", str(out), *map(str, files[:2]))[0] == 0
    code, _, err = run(capsys, "fix", "--root", str(tmp_path / "in"), "--out", str(out),
                       "--blank", "PatientName", *map(str, files))
    assert code == 2 and "already exists" in one_line(err)
    assert len(read_manifest(out)) == 2


def test_redact_start_recovers_and_goes_on(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    files = make_files(tmp_path / "in", 3)
    out = tmp_path / "out"
    args = ["redact", "--root", str(tmp_path / "in"), "--box", "0,0,2,2", "--out", str(out)]
    assert run(capsys, *args, *map(str, files[:1]))[0] == 0
    (out / "s1").mkdir()
    (out / "s1" / ".x1.dcm.abcdefgh.tmp").write_bytes(b"half")
    (out / "s1" / "x1.dcm").write_bytes((out / "s0" / "x0.dcm").read_bytes())  # renamed, not recorded
    code, _, err = run(capsys, *args, *map(str, files))
    assert code == 0, err
    records = read_manifest(out)
    assert sorted(Path(r["copy"]).name for r in records) == ["x0.dcm", "x1.dcm", "x2.dcm"]
    assert not [p for p in out.rglob(".*")]
    assert json.loads((out / "manifest.jsonl").read_text().splitlines()[1])["action"] == "redact"


def test_a_copy_changed_after_its_record_is_recovered_not_trusted(tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    """Killed between an in-place rewrite (a second fix on the same copy) and its record: the bytes have no record."""
    from phi_review.core.remedy.manifest import recover_output

    files = make_files(tmp_path / "in", 2)
    out = tmp_path / "out"
    assert run(capsys, "fix", "--root", str(tmp_path / "in"), "--out", str(out), *map(str, files))[0] == 0
    copy = out / "s1" / "x1.dcm"
    data = bytearray(copy.read_bytes())
    data[-1] ^= 0xFF
    copy.write_bytes(bytes(data))
    found = recover_output(out)
    assert found.recorded == [copy]
    assert read_manifest(out)[-1]["reason"] == "content differs from its last record"
    assert recover_output(out).recorded == []


def test_an_unrecorded_residual_copy_of_the_plan_is_redone(tmp_path: Path) -> None:
    from phi_review.core.remedy.resume import prepare_output

    (src,) = make_files(tmp_path / "in", 1)
    out = tmp_path / "out"
    aside = out / "residual" / "s0" / "x0.dcm"
    aside.parent.mkdir(parents=True)
    aside.write_bytes(src.read_bytes())
    stranger = out / "residual" / "s9" / "x9.dcm"
    stranger.parent.mkdir(parents=True)
    stranger.write_bytes(src.read_bytes())
    prepared = prepare_output({out / "s0" / "x0.dcm": src}, out, same_job=lambda r: True)
    assert prepared.recovery.removed == [aside] and prepared.recovery.recorded == [stranger]
    assert list(prepared.todo) == [out / "s0" / "x0.dcm"]


def test_the_review_screen_output_folder_is_recovered_when_it_opens(tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    from phi_review.tui.review.remedy import RemedyController

    out, _files, orphan, temp = killed_run_leftovers(tmp_path, capsys)
    controller = RemedyController(None, out)  # type: ignore[arg-type] - the screen is not needed for this
    assert "temp file(s)" in controller.recovered and "recorded as recovered" in controller.recovered
    assert not temp.exists() and read_manifest(out)[-1]["copy"] == str(orphan)
    assert RemedyController(None, out).recovered == ""  # type: ignore[arg-type]


def test_the_review_screen_opens_on_a_symlinked_manifest(tmp_path: Path) -> None:
    from phi_review.tui.review.remedy import RemedyController

    out = tmp_path / "out"
    out.mkdir()
    (tmp_path / "elsewhere.jsonl").write_text("")
    (out / "manifest.jsonl").symlink_to(tmp_path / "elsewhere.jsonl")
    note = RemedyController(None, out).recovered  # type: ignore[arg-type]
    assert "symlink" in note and "\n" not in note


def test_recovery_leaves_a_live_writer_alone(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Temp files of a process still writing (it holds the folder) are not leftovers: nothing is touched."""
    from phi_review.core.remedy.manifest import OutputHold, recover_output

    out, files, orphan, temp = killed_run_leftovers(tmp_path, capsys)
    other = OutputHold(out)  # what a running fix, redact or screen holds while it writes
    found = recover_output(out)
    assert found.busy and "another phi-review process" in found.summary()
    assert temp.exists() and orphan.exists() and len(read_manifest(out)) == 2
    other.close()
    found = recover_output(out)
    assert not found.busy and not temp.exists() and found.recorded == [orphan]


def test_symlinked_residual_folder_is_refused_before_writing(tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    """A copy the proof refuses goes under <out>/residual/: that folder is checked like every other."""
    files = make_files(tmp_path / "in", 2)
    out, elsewhere = tmp_path / "out", tmp_path / "elsewhere"
    out.mkdir()
    elsewhere.mkdir()
    (out / "residual").symlink_to(elsewhere, target_is_directory=True)
    code, _, err = run(capsys, "fix", "--root", str(tmp_path / "in"), "--out", str(out), *map(str, files))
    assert code == 2 and "symlink" in one_line(err)
    assert list(elsewhere.iterdir()) == [] and [p.name for p in out.iterdir()] == ["residual"]


def test_records_from_before_copy_rel_still_name_their_copies(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An older manifest names copies relative to the folder fix ran in; a run from elsewhere still finds them."""
    from phi_review.core.remedy.manifest import recover_output

    (src,) = make_files(tmp_path / "in", 1)
    out = tmp_path / "work" / "corrected"
    (out / "s0").mkdir(parents=True)
    copy = out / "s0" / "x0.dcm"
    copy.write_bytes(src.read_bytes())
    (out / "manifest.jsonl").write_text(json.dumps({"copy": "corrected/s0/x0.dcm", "copy_sha256": "x"}) + "\n")
    monkeypatch.chdir(tmp_path)
    assert recover_output(out).recorded == []
