"""Bad input, randomized: truncated DICOMs cut at random places, random bytes named .dcm, an empty file, a folder
named x.dcm, a huge declared element length, whole files whose pixel data the header cannot describe (no rows,
no columns, 7 bits, a billion frames), a file nobody may read. Each is one ``❌ Error`` row; the scan exits 0,
says how many files it could not read, and prints no traceback (the workers' stderr included).

The seed is random and printed; ``PHI_REVIEW_SEED=N`` replays one run.
"""

from __future__ import annotations

import csv
import os
import random
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import pydicom
import pytest

from phi_review.core.scan import layout
from phi_review.sample_reports.make_dicom import burned_in_text_image

PHI_REVIEW = str(Path(sys.executable).with_name("phi-review"))
PATIENT = {"PatientName": "DOE^JANE", "PatientID": "MRN-0042-7781", "PatientBirthDate": "19620314"}


def _good(path: Path, rng: random.Random) -> Path:
    size = (rng.choice((48, 64, 96)), rng.choice((48, 64, 96)))
    return burned_in_text_image(path, [], size=size, modality="OT", patient=PATIENT)


def _value_offset(data: bytes, value: bytes) -> int:
    at = data.find(value)
    assert at > 0, value
    return at


def _truncated(path: Path, rng: random.Random) -> str:
    """A good file cut where no reader can take what is left for a whole file; returns where."""
    data = _good(path, rng).read_bytes()
    pixels = _value_offset(data, b"\xe0\x7f\x10\x00")  # (7FE0,0010) in explicit VR little endian
    name = _value_offset(data, b"DOE^JANE")
    where, cut = rng.choice((
        ("inside the pixel data", lambda: rng.randrange(pixels + 13, len(data) - 1)),
        ("inside a value", lambda: name + rng.randrange(1, 7)),
        ("inside an element's tag, VR or length", lambda: name - rng.randrange(1, 8)),
        ("inside the preamble or marker", lambda: rng.randrange(1, 132)),
    ))
    path.write_bytes(data[:cut()])
    return where


def _huge_length(path: Path, rng: random.Random) -> None:
    """A good header, then a UT element (4-byte length) declaring up to 4 GB over a few bytes."""
    _good(path, rng)
    ds = pydicom.dcmread(path, stop_before_pixels=True)
    ds.save_as(path, enforce_file_format=True)
    length = rng.choice((0xFFFFFFF0, 0x7FFFFFFF, 0x10000000))
    with open(path, "ab") as handle:
        handle.write(struct.pack("<HH2sHI", 0x0040, 0xA160, b"UT", 0, length) + os.urandom(rng.randrange(0, 64)))


def _pixels_unreadable(path: Path, rng: random.Random) -> str:
    """A whole file whose Pixel Data cannot be read as its header describes it; returns how."""
    _good(path, rng)
    ds = pydicom.dcmread(path)
    how = rng.choice(("no rows", "rows missing", "columns missing", "bits allocated 7", "a billion frames"))
    if how == "no rows":
        ds.Rows = 0
    elif how == "rows missing":
        del ds.Rows
    elif how == "columns missing":
        del ds.Columns
    elif how == "bits allocated 7":
        ds.BitsAllocated = 7
    else:
        ds.NumberOfFrames = 1_000_000_000
    ds.save_as(path, enforce_file_format=True)
    return how


def _tree(root: Path, rng: random.Random) -> tuple[Path, list[str], list[str]]:
    """(collection, names that must each be one Error row, names that must have no Error row)."""
    event = root / "Collection" / "Images_Site_X" / "1234567"
    event.mkdir(parents=True)
    bad: list[str] = []
    for n in range(rng.randrange(8, 16)):
        name = f"cut{n}.dcm"
        _truncated(event / name, rng)
        bad.append(name)
    for n in range(rng.randrange(4, 9)):
        marker = rng.choice((b"", b"\0" * 128 + b"DICM"))
        (event / f"noise{n}.dcm").write_bytes(marker + rng.randbytes(rng.randrange(0, 40_000)))
        bad.append(f"noise{n}.dcm")
    for n in range(rng.randrange(2, 6)):
        _pixels_unreadable(event / f"pixels{n}.dcm", rng)
        bad.append(f"pixels{n}.dcm")
    (event / "empty.dcm").write_bytes(b"")
    bad.append("empty.dcm")
    _huge_length(event / "huge.dcm", rng)
    bad.append("huge.dcm")
    _good(event / "x.dcm" / "inside.dcm", rng)  # a folder named like a file: one row, and what it holds is read
    bad.append("x.dcm")
    _good(event / "fine.dcm", rng)
    return event.parent.parent, bad, ["fine.dcm", "inside.dcm"]


def _scan(coll: Path, out: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([PHI_REVIEW, "scan", str(coll), "--out", str(out), "--no-ocr", "--quiet",
                           "--workers", "2", "--timeout", "30", "--memory", "1024"],
                          capture_output=True, text=True, timeout=300, env={**os.environ, "PYTHONWARNINGS": "ignore"})


def _errors(out: Path) -> tuple[dict[str, int], set[str]]:
    """(Error rows per file name, every file name with a row)."""
    count: dict[str, int] = {}
    named: set[str] = set()
    for csv_path in out.glob("*.csv"):
        with open(csv_path, newline="", encoding="utf-8") as handle:
            for row in list(csv.reader(handle))[1:]:
                assert len(row) == 7 and "\n" not in row[6]
                named.add(row[2])
                if row[5] == layout.ERROR:
                    count[row[2]] = count.get(row[2], 0) + 1
                    assert row[6].startswith("FAIL! "), row
    return count, named


def test_each_bad_file_is_one_error_row(tmp_path: Path) -> None:
    seed = int(os.environ.get("PHI_REVIEW_SEED", random.randrange(2**32)))
    print(f"PHI_REVIEW_SEED={seed}")
    rng = random.Random(seed)
    coll, bad, good = _tree(tmp_path, rng)
    out = tmp_path / "reports" / "Collection"
    done = _scan(coll, out)
    assert done.returncode == 0, (seed, done.stderr[-2000:])
    assert "Traceback" not in done.stderr + done.stdout, (seed, done.stderr[-2000:])
    assert f"; {len(bad)} file(s) could not be read" in done.stdout, (seed, done.stdout)
    errors, named = _errors(out)
    assert errors == {name: 1 for name in bad}, seed
    assert set(good) <= named  # the good files (the one in the folder named x.dcm too) were read
    assert "named like a DICOM file" in (out / "Images_Site_X.csv").read_text(encoding="utf-8")


def test_a_file_nobody_may_read_is_one_error_row(tmp_path: Path) -> None:
    """Mode 000: one Error row that says so. Root reads it anyway (and a scan run as another user from here
    cannot start its workers: the interpreter lives under /root), so then the test is skipped."""
    event = tmp_path / "Collection" / "Images_Site_X" / "1234567"
    locked = _good(event / "locked.dcm", random.Random(1))
    _good(event / "open.dcm", random.Random(2))
    locked.chmod(0)
    try:
        try:
            locked.open("rb").close()
            pytest.skip("this user (root) reads a mode-000 file anyway")
        except PermissionError:
            pass
        out = tmp_path / "out"
        done = _scan(tmp_path / "Collection", out)
        assert done.returncode == 0, done.stderr[-2000:]
        assert "Traceback" not in done.stderr + done.stdout
        assert "; 1 file(s) could not be read" in done.stdout, done.stdout
        errors, named = _errors(out)
        assert errors == {"locked.dcm": 1} and "open.dcm" in named
        assert "Permission denied" in (out / "Images_Site_X.csv").read_text(encoding="utf-8")
    finally:
        locked.chmod(0o644)


def test_names_that_are_not_utf8_are_error_rows(tmp_path: Path) -> None:
    """A file or site folder whose name is not UTF-8 cannot be named in a UTF-8 CSV as it is: one Error row each,
    the name shown with \\x escapes (the validator drops such files without a word); the scan finishes."""
    event = tmp_path / "Collection" / "Images_Site_X" / "1234567"
    good = _good(event / "ok.dcm", random.Random(3))
    shutil.copy(good, os.fsencode(event) + b"/\xff\xfe bad.dcm")
    other = os.fsencode(tmp_path / "Collection") + b"/Images_Site_\xe9/7654321"
    os.makedirs(other)
    shutil.copy(good, other + b"/x.dcm")
    out = tmp_path / "out"
    done = _scan(tmp_path / "Collection", out)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "; 2 file(s) could not be read" in done.stdout, done.stdout
    errors, named = _errors(out)
    assert errors == {"\\xff\\xfe bad.dcm": 1, "x.dcm": 1} and "ok.dcm" in named
    assert (out / "Images_Site_\\xe9.csv").is_file()
