"""kill -9 at any point of a release leaves no package (or the whole one); --resume completes the same release."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from phi_review.core.remedy.manifest import sha256_file
from release_tree import cli, release_args, reviewed_tree

# Runs the real CLI in a child that SIGKILLs itself at one chosen point of the release.
KILLER = r'''
import os, signal, sys
from phi_review.core.release import stage

point = sys.argv[1]
S = stage.Staging

def die():
    os.kill(os.getpid(), signal.SIGKILL)

if point == "started":
    first = S.append
    def appending(self, record):
        if record.get("kind") == "release":
            die()
        first(self, record)
    S.append = appending
elif point == "mid-copy":
    make_temp = stage.create_temp
    def create_temp(folder, name):
        fd, temp = make_temp(folder, name)
        os.write(fd, b"partial")
        die()
    stage.create_temp = create_temp
elif point == "placed":
    place = S.place
    def placed(self, *args):
        place(self, *args)
        die()
    S.place = placed
elif point == "journaled":
    append = S.append
    def appended(self, record):
        append(self, record)
        if record.get("kind") == "file":
            die()
    S.append = appended
elif point == "manifest-written":
    S.publish = lambda self, state: die()
elif point == "renaming":
    rename = os.rename
    def renaming(src, dst, *args, **kwargs):
        if str(src).endswith(".release-partial"):
            die()
        return rename(src, dst, *args, **kwargs)
    os.rename = renaming

from phi_review.tui.cli import main
sys.exit(main(sys.argv[2:]))
'''

POINTS = ["started", "mid-copy", "placed", "journaled", "manifest-written", "renaming"]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    world = reviewed_tree(tmp_path_factory.mktemp("release-kill"))
    reference = world["base"] / "reference"
    code, _out, err = cli(*release_args(world, reference, "--partial"))
    assert code == 0, err
    world["reference"] = reference
    return world


def _files(pkg: Path) -> dict[str, str]:
    return {p.relative_to(pkg).as_posix(): sha256_file(p) for p in sorted(pkg.rglob("*")) if p.is_file()
            and p.suffix == ".dcm"}


def _facts(pkg: Path) -> list[Any]:
    """The manifest without its times: what was released and held, and why."""
    lines = [json.loads(line) for line in (pkg / "release-manifest.jsonl").read_text().splitlines()]
    return [{k: v for k, v in line.items() if k not in ("time",)} for line in lines[1:]]


@pytest.mark.parametrize("point", POINTS)
def test_kill_9_then_resume_completes_the_same_release(world: dict[str, Any], tmp_path: Path, point: str) -> None:
    pkg = tmp_path / "pkg"
    argv = release_args(world, pkg, "--partial")
    child = subprocess.run([sys.executable, "-c", KILLER, point, *argv], capture_output=True, text=True, timeout=120)
    assert child.returncode == -9, child.stderr[-2000:]
    assert not pkg.exists()  # no package: only the hidden build folder beside it
    assert (tmp_path / ".pkg.release-partial").is_dir()

    code, _out, err = cli(*argv)  # without --resume: refused, naming the interrupted release
    assert code == 2 and "--resume" in err

    code, out, err = cli(*argv, "--resume")
    assert code == 0, err
    assert "Release written to" in out
    assert not (tmp_path / ".pkg.release-partial").exists()
    assert not any(p.name.endswith(".tmp") or p.name.startswith(".release") for p in pkg.rglob("*"))
    reference = world["reference"]
    assert _files(pkg) == _files(reference)
    assert (pkg / "deletions.txt").read_text() == (reference / "deletions.txt").read_text()
    assert _facts(pkg) == _facts(reference)


def test_resume_refuses_when_the_decisions_changed(world: dict[str, Any], tmp_path: Path) -> None:
    pkg = tmp_path / "pkg"
    argv = release_args(world, pkg, "--partial")
    child = subprocess.run([sys.executable, "-c", KILLER, "journaled", *argv], capture_output=True, timeout=120)
    assert child.returncode == -9
    code, _out, err = cli(*release_args(world, pkg), "--resume")  # without --partial: another release
    assert code == 2 and "changed since the interrupted release" in err
    assert not pkg.exists()
