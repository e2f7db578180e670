"""Unreadable, damaged and hostile files: one Error row each, never a traceback or a hang; the scan finishes
and says how many files it could not read."""

from __future__ import annotations

import csv
import os
from pathlib import Path

import pydicom
import pytest

from phi_review.core.scan import layout
from phi_review.sample_reports.make_dicom import burned_in_text_image
from phi_review.tui.cli import main


def _hostile(folder: Path, outside: Path) -> list[str]:
    folder.mkdir(parents=True)
    names = []

    def add(name: str, data: bytes) -> None:
        (folder / name).write_bytes(data)
        names.append(name)

    add("zeros.dcm", bytes(100_000))
    add("random.dcm", b"\0" * 128 + b"DICM" + os.urandom(20_000))
    add("empty.dcm", b"")
    add("README.txt", b"not an image\n")
    good = burned_in_text_image(folder / "cut.dcm", [], size=(64, 64), modality="OT")
    data = good.read_bytes()
    good.write_bytes(data[:400])  # cut inside the header
    names.append("cut.dcm")
    big = burned_in_text_image(folder / "bomb.dcm", [], size=(64, 64), modality="OT")
    ds = pydicom.dcmread(big)
    ds.Rows = ds.Columns = 65535  # declares 4 GB a frame over a few kilobytes
    ds.save_as(big, enforce_file_format=True)
    names.append("bomb.dcm")
    os.mkfifo(folder / "fifo.dcm")
    names.append("fifo.dcm")
    outside.write_bytes(data)
    os.symlink(outside, folder / "link.dcm")  # read, as the validator reads it, and said (not an Error row)
    return names


def test_each_bad_file_is_one_error_row(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    coll = tmp_path / "Collection"
    names = _hostile(coll / "Images_Site_X" / "1234567", tmp_path / "outside.dcm")
    out = tmp_path / "reports" / "Collection"
    assert main(["scan", str(coll), "--out", str(out), "--no-ocr", "--quiet", "--timeout", "30"]) == 0
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err + captured.out
    assert f"{len(names)} file(s) could not be read" in captured.out
    with open(out / "Images_Site_X.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))[1:]
    errors = [r for r in rows if r[5] == layout.ERROR]
    assert sorted(r[2] for r in errors) == sorted(names)  # one each
    assert all(r[6].startswith("FAIL! ") and "\n" not in r[6] for r in errors)
    linked = [r for r in rows if r[2] == "link.dcm"]
    assert linked and all("outside the scanned trees" in r[6] for r in linked)
    assert any("budget" in r[6] for r in errors if r[2] == "bomb.dcm")


def test_a_frame_over_the_worker_memory_ceiling_is_one_error_row(tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    """Each worker runs under RLIMIT_AS (--memory): a frame too large for it fails in its worker, alone."""
    from phi_review.sample_reports.make_dicom import large_multiframe_file

    event = tmp_path / "Collection" / "Images_Site_X" / "1234567"
    large_multiframe_file(event / "big.dcm", frames=1, size=8192)  # 128 MB a frame, 256 MB more windowed in float32
    burned_in_text_image(event / "fine.dcm", [], size=(64, 64), modality="OT")
    out = tmp_path / "out"
    assert main(["scan", str(tmp_path / "Collection"), "--out", str(out), "--no-ocr", "--quiet", "--workers", "1",
                 "--memory", "300"]) == 0
    assert "1 file(s) could not be read" in capsys.readouterr().out
    with open(out / "Images_Site_X.csv", newline="", encoding="utf-8") as handle:
        errors = [r for r in list(csv.reader(handle))[1:] if r[5] == layout.ERROR]
    assert [r[2] for r in errors] == ["big.dcm"]
    assert "not enough memory" in errors[0][6] or "memory limit" in errors[0][6]


def test_a_worker_past_its_deadline_is_stopped_and_the_file_is_one_error_row(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--timeout is the time a worker may take for one frame: a file stuck longer is an Error row, and the scan
    still finishes (the stuck worker is killed and replaced)."""
    from phi_review.sample_reports.make_dicom import large_multiframe_file

    event = tmp_path / "Collection" / "Images_Site_X" / "1234567"
    large_multiframe_file(event / "slow.dcm", frames=2, size=4096)  # no frame decodes and windows in 10 ms
    out = tmp_path / "out"
    assert main(["scan", str(tmp_path / "Collection"), "--out", str(out), "--no-ocr", "--quiet", "--workers", "1",
                 "--timeout", "0.01"]) == 0
    assert "1 file(s) could not be read" in capsys.readouterr().out
    with open(out / "Images_Site_X.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))[1:]
    errors = [r[6] for r in rows if r[5] == layout.ERROR]
    assert errors == ["FAIL! Could not read the file, no answer in 0.01 s (stopped)"]
