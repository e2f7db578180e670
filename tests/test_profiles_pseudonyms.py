"""Per-patient pseudonyms: keyed, stable, distinct, with a site prefix; or a site's own ID map."""

from __future__ import annotations

from pathlib import Path

import pydicom
import pytest

from phi_review.core.remedy import pseudonym as pseudonym_module
from phi_review.core.remedy.pseudonym import Pseudonyms, PseudonymError, check_run, load_id_map
from phi_review.tui.cli import main
from test_fix_profile import make_study

SECRET = "pseudonym-test-secret-value"


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PHI_REVIEW_FIX_SECRET", SECRET)
    monkeypatch.setenv("PHI_REVIEW_CONFIG", str(tmp_path / "cfg" / "config.toml"))


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def ids(folder: Path) -> dict[str, tuple[str, str]]:
    return {f"{p.parent.name}/{p.name}": (str(pydicom.dcmread(p).PatientID), str(pydicom.dcmread(p).PatientName))
            for p in sorted(folder.rglob("*.dcm"))}


def test_prefix_pseudonyms_are_distinct_stable_and_hide_the_secret(tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    paths = make_study(tmp_path / "in")
    for out in ("run1", "run2"):
        code, _, err = run(capsys, "fix", *map(str, paths), "--out", str(tmp_path / out),
                           "--pseudonym-prefix", "SITE01-")
        assert code == 0, err
        assert "2 patient(s)" in err
    first, second = ids(tmp_path / "run1"), ids(tmp_path / "run2")
    assert first == second  # stable across runs and sessions
    a = {first[f"A/img{i}.dcm"] for i in range(3)}
    assert len(a) == 1  # one pseudonym for every file of one patient
    (pid_a, name_a), (pid_b, name_b) = a.pop(), first["B/img0.dcm"]
    assert pid_a == name_a and pid_b == name_b and pid_a != pid_b
    assert pid_a.startswith("SITE01-") and pid_b.startswith("SITE01-")
    for path in (tmp_path / "run1").rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert SECRET.encode() not in data and b"MRN-000" not in data


def test_basic_without_pseudonyms_still_says_anonymous(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    paths = make_study(tmp_path / "in")
    code, _, err = run(capsys, "fix", *map(str, paths), "--out", str(tmp_path / "out"))
    assert code == 0, err
    assert all(v[0] in ("", "ANONYMOUS") for v in ids(tmp_path / "out").values())


def test_a_collision_among_the_run_is_an_error_and_nothing_is_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    paths = make_study(tmp_path / "in")
    monkeypatch.setattr(pseudonym_module, "DIGEST_CHARS", 0)  # every patient gets the bare prefix
    code, out, err = run(capsys, "fix", *map(str, paths), "--out", str(tmp_path / "out"), "--profile", "tcia")
    assert code == 2 and "share one pseudonym" in err and len(err.strip().splitlines()) == 1
    assert not list((tmp_path / "out").rglob("*.dcm"))


def test_id_map_gives_research_ids_and_is_never_copied(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    paths = make_study(tmp_path / "in")
    id_map = tmp_path / "ids.csv"
    id_map.write_text("original_id,research_id\nMRN-0001,EDRN-17\nMRN-0002,EDRN-18\n")
    code, _, err = run(capsys, "fix", *map(str, paths), "--out", str(tmp_path / "out"), "--id-map", str(id_map))
    assert code == 0, err
    found = ids(tmp_path / "out")
    assert found["A/img0.dcm"] == ("EDRN-17", "EDRN-17") and found["B/img0.dcm"] == ("EDRN-18", "EDRN-18")
    manifest = (tmp_path / "out" / "manifest.jsonl").read_text()
    assert "MRN-0001" not in manifest and "ids.csv" not in manifest and "EDRN" not in manifest


def test_an_id_missing_from_the_map_names_the_file_not_the_id(tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    paths = make_study(tmp_path / "in")
    id_map = tmp_path / "ids.csv"
    id_map.write_text("MRN-0001,EDRN-17\n")
    code, _, err = run(capsys, "fix", *map(str, paths), "--out", str(tmp_path / "out"), "--id-map", str(id_map))
    assert code == 2 and "ids.csv" in err and "MRN-0002" not in err and len(err.strip().splitlines()) == 1
    assert not list((tmp_path / "out").rglob("*.dcm"))


@pytest.mark.parametrize("text, line", [
    ("MRN-1,R1\nMRN-1,R2\n", 2),  # one original, two research IDs
    ("MRN-1,R1\nMRN-2,R1\n", 2),  # one research ID, two patients
    ("MRN-1\n", 1),
    ("MRN-1,bad\\value\n", 1),
])
def test_bad_id_maps_name_file_and_line(tmp_path: Path, text: str, line: int) -> None:
    path = tmp_path / "map.csv"
    path.write_text(text)
    with pytest.raises(PseudonymError) as caught:
        load_id_map(path)
    assert f"map.csv:{line}:" in str(caught.value)
    assert "MRN-1" not in str(caught.value)


def test_bad_prefix_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    paths = make_study(tmp_path / "in")
    code, _, err = run(capsys, "fix", str(paths[0]), "--out", str(tmp_path / "out"), "--pseudonym-prefix", "A^B")
    assert code == 2 and "prefix" in err


def test_pseudonyms_depend_on_the_secret_and_the_patient() -> None:
    one, two = Pseudonyms(b"k1", "P-"), Pseudonyms(b"k2", "P-")
    assert one.for_key("id:1") == one.for_key("id:1") != one.for_key("id:2")
    assert one.for_key("id:1") != two.for_key("id:1")
    assert len(one.for_key("id:1")) == 2 + pseudonym_module.DIGEST_CHARS


def test_check_run_counts_patients(tmp_path: Path) -> None:
    paths = make_study(tmp_path / "in")
    assert check_run(paths, Pseudonyms(b"k")) == 2


def test_a_fifo_as_id_map_or_profile_is_named_never_opened(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import os

    paths = make_study(tmp_path / "in")
    fifo = tmp_path / "ids.csv"
    os.mkfifo(fifo)
    code, _, err = run(capsys, "fix", str(paths[0]), "--out", str(tmp_path / "out"), "--id-map", str(fifo))
    assert code == 2 and "ids.csv" in err and "not a file" in err
    toml = tmp_path / "p.toml"
    os.mkfifo(toml)
    code, _, err = run(capsys, "fix", str(paths[0]), "--out", str(tmp_path / "out"), "--profile", str(toml))
    assert code == 2 and "p.toml" in err and "not a file" in err
