"""`phi-review profile list | show | new | disable | enable | preview`."""

from __future__ import annotations

from pathlib import Path

import pytest

from phi_review.core.remedy.output import sha256_file
from phi_review.tui.cli import main
from test_fix_profile import make_study

SECRET = "profile-cli-secret"


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PHI_REVIEW_FIX_SECRET", SECRET)
    monkeypatch.setenv("PHI_REVIEW_CONFIG", str(tmp_path / "cfg" / "config.toml"))


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_list_show_new_disable_enable(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "profile", "list")
    assert code == 0 and all(n in out for n in ("basic", "tcia", "hipaa-safe-harbor"))
    code, out, _ = run(capsys, "profile", "show", "hipaa-safe-harbor")
    assert code == 0 and "164.514" in out and 'dates = "year"' in out
    code, out, err = run(capsys, "profile", "new", "site", "--from", "tcia")
    target = tmp_path / "cfg" / "profiles" / "site.toml"
    assert code == 0, err
    assert target.is_file() and "retain-safe-private" in target.read_text()
    code, out, _ = run(capsys, "profile", "list")
    assert "site" in out and "site.toml" in out
    code, _, err = run(capsys, "profile", "new", "site")
    assert code == 2 and "already exists" in err
    code, _, err = run(capsys, "profile", "new", "tcia")
    assert code == 2 and "built-in" in err
    code, _, _ = run(capsys, "profile", "disable", "site")
    assert code == 0 and "(disabled)" in run(capsys, "profile", "list")[1]
    paths = make_study(tmp_path / "in")
    code, _, err = run(capsys, "fix", str(paths[0]), "--out", str(tmp_path / "out"), "--profile", "site")
    assert code == 2 and "disabled" in err and not (tmp_path / "out").exists()
    run(capsys, "profile", "enable", "site")
    code, _, err = run(capsys, "fix", str(paths[0]), "--out", str(tmp_path / "out"), "--profile", "site")
    assert code == 0, err


def test_new_from_template_parses_and_project_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    project = tmp_path / "proj"
    code, _, err = run(capsys, "profile", "--profiles", str(project), "new", "mine")
    assert code == 0, err and (project / "mine.toml").is_file()
    code, out, _ = run(capsys, "profile", "show", "mine", "--profiles", str(project))
    assert code == 0 and 'pseudonym_prefix = "SITE01-"' in out
    paths = make_study(tmp_path / "in")
    code, _, err = run(capsys, "fix", *map(str, paths), "--out", str(tmp_path / "out"), "--profiles", str(project),
                       "--profile", "mine")
    assert code == 0, err
    assert "SITE01-" in (tmp_path / "out" / "A" / "img0.dcm").read_bytes().decode("latin-1")


def test_preview_shows_the_diff_and_writes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    paths = make_study(tmp_path / "in")
    before = {p: sha256_file(p) for p in (tmp_path / "in").rglob("*") if p.is_file()}
    code, out, err = run(capsys, "profile", "preview", "hipaa-safe-harbor", str(paths[0]), str(paths[3]))
    assert code == 0, err
    assert out.count("# ") >= 2 and "PatientID" in out and "ANON-" in out
    assert "StudyDate" in out and "20200101" in out
    assert SECRET not in out
    after = {p: sha256_file(p) for p in (tmp_path / "in").rglob("*") if p.is_file()}
    assert before == after
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in"]  # no copy, no config written


def test_preview_of_a_bad_profile_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    paths = make_study(tmp_path / "in")
    bad = tmp_path / "bad.toml"
    bad.write_text('base = "basic"\n[[rule]]\nkeyword = "PatientName"\naction = "sparkle"\n')
    code, out, err = run(capsys, "profile", "preview", str(bad), str(paths[0]))
    assert code == 2 and "bad.toml:4:" in err and len(err.strip().splitlines()) == 1 and not out
