"""Symbolic links in a scanned tree: followed as the validator follows them (``os.walk(followlinks=True)``),
once per path it would report, safely: no loop, no FIFO opened, a link to nothing or to outside the tree said.
"""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
from contextlib import redirect_stdout
from pathlib import Path

import pytest

from phi_review.core.scan import layout
from phi_review.core.scan.walk import MAX_ENTRIES, OUTSIDE_NOTE, WalkStats, walk
from phi_review.sample_reports.make_dicom import burned_in_text_image
from phi_review.tui.cli import main

VALIDATOR_PYTHON = "/opt/labcas-validator/venv/bin/python"
PATIENT = {"PatientName": "DOE^JANE", "PatientID": "MRN-0042-7781"}


def _dicom(path: Path) -> Path:
    return burned_in_text_image(path, [], size=(64, 64), modality="OT", patient=PATIENT)


def _linked_tree(root: Path) -> tuple[Path, Path]:
    """(collection, a folder outside it): links to files and folders inside and outside, no loop."""
    coll = root / "Collection"
    event = coll / "Images_Site_A" / "1234567"
    _dicom(event / "s1" / "a.dcm")
    os.symlink("a.dcm", event / "s1" / "alias.dcm")  # a second name for a file: the validator reports both
    os.symlink("s1", event / "s2")  # a second path to a folder
    (coll / "Images_Site_B").mkdir()
    os.symlink(event, coll / "Images_Site_B" / "7654321")  # the same event under another site and event
    outside = root / "elsewhere"
    _dicom(outside / "far.dcm")
    os.symlink(outside / "far.dcm", event / "far.dcm")
    os.symlink(outside, event / "far_folder")
    return coll, outside


def _paths(targets: list) -> list[str]:
    return sorted(t.path for t in targets)


def test_links_to_files_and_folders_are_followed_once_per_path(tmp_path: Path) -> None:
    coll, _ = _linked_tree(tmp_path)
    stats = WalkStats()
    targets = list(walk([str(coll)], stats))
    rel = sorted(os.path.relpath(t.path, coll) for t in targets)
    inside = ["s1/a.dcm", "s1/alias.dcm", "s2/a.dcm", "s2/alias.dcm", "far.dcm", "far_folder/far.dcm"]
    assert rel == sorted([f"Images_Site_A/1234567/{p}" for p in inside] + [f"Images_Site_B/7654321/{p}" for p in inside])
    assert not any(t.problem for t in targets)
    far = [t for t in targets if "far" in t.file_name]
    assert len(far) == 4 and all(t.note == OUTSIDE_NOTE for t in far) and stats.outside == 4
    assert all(t.note == "" for t in targets if t not in far)
    assert stats.loops == 0
    # Site and Event come from the path as walked, as the validator takes them from its path string.
    assert {(t.site, t.event) for t in targets} == {("Images_Site_A", "1234567"), ("Images_Site_B", "7654321")}


def test_the_walk_names_the_paths_the_validator_walks(tmp_path: Path) -> None:
    """The validator's own ``iterate_paths`` on the same linked tree (no loop: it would walk one ~40 levels)."""
    if not os.access(VALIDATOR_PYTHON, os.X_OK):
        pytest.skip(f"{VALIDATOR_PYTHON} not installed (labcas-validator: run .ci/install-validator.sh)")
    coll, _ = _linked_tree(tmp_path)
    os.symlink("nothing-here.dcm", coll / "Images_Site_A" / "1234567" / "dangling.dcm")
    code = ("import json,sys\nfrom jpl.labcas.validation._functions import iterate_paths\n"
            "from jpl.labcas.validation._files import PotentialFile\n"
            "paths = sorted(iterate_paths(sys.argv[1]))\n"
            "print(json.dumps([[p, *PotentialFile._organization_re.search(p).groups()[:2]] for p in paths]))")
    done = subprocess.run([VALIDATOR_PYTHON, "-c", code, str(coll)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-1000:]
    theirs = json.loads(done.stdout)
    ours = sorted([t.path, t.site, t.event] for t in walk([str(coll)]))
    assert ours == theirs


def test_a_loop_is_walked_once(tmp_path: Path) -> None:
    coll = tmp_path / "Collection"
    event = coll / "Images_Site_A" / "1234567"
    _dicom(event / "a.dcm")
    os.symlink("..", event / "up")  # back to the site folder
    os.symlink(".", event / "here")
    os.symlink(coll, event / "top")
    stats = WalkStats()
    targets = list(walk([str(coll)], stats))
    assert _paths(targets) == [str(event / "a.dcm")]
    assert stats.loops == 3


def test_a_folder_reached_through_too_many_paths_is_not_entered_again(tmp_path: Path) -> None:
    """Links that do not loop can still multiply paths (each level links twice to the next): bounded."""
    coll = tmp_path / "Collection"
    levels = [coll / f"L{n}" for n in range(12)]
    for level in levels:
        level.mkdir(parents=True)
    _dicom(levels[-1] / "x.dcm")
    for upper, lower in zip(levels, levels[1:]):
        os.symlink(lower, upper / "a")
        os.symlink(lower, upper / "b")
    stats = WalkStats()
    targets = list(walk([str(coll)], stats))
    assert stats.repeats > 0
    assert 1 <= len(targets) <= MAX_ENTRIES + 1  # 2**11 paths without the bound


def test_dangling_link_fifo_and_outside_link_in_a_scan(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    coll, _ = _linked_tree(tmp_path)
    event = coll / "Images_Site_A" / "1234567"
    os.symlink("nothing-here.dcm", event / "dangling.dcm")
    os.mkfifo(event / "pipe.dcm")
    os.symlink("pipe.dcm", event / "pipe_link.dcm")
    os.symlink("..", event / "loop")
    os.symlink("/sys", event / "sys")
    out = tmp_path / "reports" / "Collection"
    said = io.StringIO()
    with redirect_stdout(said):
        assert main(["scan", str(coll), "--out", str(out), "--no-ocr", "--quiet", "--timeout", "60"]) == 0
    text = said.getvalue()
    assert "Traceback" not in text + capsys.readouterr().err
    with open(out / "Images_Site_A.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))[1:]
    errors = {r[2]: r[6] for r in rows if r[5] == layout.ERROR}
    assert set(errors) == {"dangling.dcm", "pipe.dcm", "pipe_link.dcm"}, errors
    assert "link to nothing" in errors["dangling.dcm"]
    assert "FIFO" in errors["pipe.dcm"] and "FIFO" in errors["pipe_link.dcm"]
    header = [r for r in rows if r[5] == layout.HEADER]
    assert {r[2] for r in header} >= {"a.dcm", "alias.dcm", "far.dcm"}
    assert sum(1 for r in header if r[2] == "a.dcm" and "(PatientName)" in r[6]) == 2  # s1/ and s2/
    far = [r for r in rows if r[2] == "far.dcm"]
    assert far and all(r[6].endswith(OUTSIDE_NOTE) or f"; {OUTSIDE_NOTE}]" in r[6] for r in far)
    assert not any(OUTSIDE_NOTE in r[6] for r in rows if r[2] != "far.dcm")
    # Each of the three twice: the event is also reached as Images_Site_B/7654321; the loop once on each path.
    assert "6 file(s) could not be read" in text
    assert "4 file(s) read through links to outside the scanned trees" in text
    assert "2 link(s) to a folder above them not followed (a loop)" in text
    assert "2 link(s) to folders in /proc, /sys or /dev not followed" in text


def test_a_folder_that_cannot_be_listed_is_one_problem(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The validator's os.walk skips it without a word; here it is a target with its reason (one Error row)."""
    coll = tmp_path / "Collection"
    event = coll / "Images_Site_A" / "1234567"
    _dicom(event / "open" / "a.dcm")
    _dicom(event / "closed" / "b.dcm")
    real = os.scandir

    def scandir(path: str) -> object:
        if os.path.basename(path) == "closed":
            raise PermissionError(13, "Permission denied", path)
        return real(path)

    monkeypatch.setattr(os, "scandir", scandir)
    targets = list(walk([str(coll)]))
    assert [(os.path.relpath(t.path, event), t.problem) for t in targets] == [
        ("closed", "a folder that cannot be listed (Permission denied)"), ("open/a.dcm", "")]
    assert targets[0].site == "Images_Site_A" and targets[0].file_name == "closed"


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="no /proc here")
def test_links_into_proc_sys_and_dev_are_not_followed(tmp_path: Path) -> None:
    """Their files are not data (some block a reader, /proc/kmsg waits for the kernel) and /proc holds one folder
    per process: a folder link there is not entered (counted), a file link there is one Error row, never read."""
    coll = tmp_path / "Collection"
    event = coll / "Images_Site_A" / "1234567"
    _dicom(event / "a.dcm")
    os.symlink("/proc/self", event / "me")
    os.symlink("/sys", event / "sys")
    os.symlink("/proc/version", event / "version.dcm")
    os.symlink("/dev/zero", event / "zero.dcm")
    stats = WalkStats()
    targets = {t.file_name: t for t in walk([str(coll)], stats)}
    assert set(targets) == {"a.dcm", "version.dcm", "zero.dcm"}
    assert "/proc" in targets["version.dcm"].problem and "/dev" in targets["zero.dcm"].problem
    assert stats.system == 2
