"""`fix`, `redact`, `diff` and `values` on hostile input (issue 20, item 6): never a hang, never a traceback.

A FIFO among the files, a valid file followed by a long run of zeros, pydicom's own odd files, a damaged file
in a batch, a file that already had the profile: each gives one line that names the file, the batch goes on,
and the exit status is not zero when something failed. Hangs are caught by running the CLI in a child process
with a timeout: a timeout fails the test.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pydicom
import pytest
from pydicom.data import get_testdata_file

from phi_review.core.remedy.output import read_manifest
from phi_review.tui.cli import main

CT = Path(get_testdata_file("CT_small.dcm"))
MR = Path(get_testdata_file("MR_small.dcm"))
PHI_REVIEW = [sys.executable, "-c", "import sys; from phi_review.tui.cli import main; sys.exit(main())"]


@pytest.fixture(autouse=True)
def _secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PHI_REVIEW_FIX_SECRET", "robust-test-secret")


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def run_child(*argv: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    """The CLI in a child process; a hang raises TimeoutExpired (a failure, never a skip)."""
    env = dict(os.environ, PHI_REVIEW_FIX_SECRET="robust-test-secret")
    return subprocess.run(PHI_REVIEW + list(argv), capture_output=True, text=True, timeout=timeout, env=env)


def one_line_per_failure(err: str) -> list[str]:
    lines = err.strip().splitlines()
    assert "Traceback" not in err, err
    assert all(line.startswith("phi-review") or line.startswith("#") for line in lines), err
    return lines


# ----------------------------------------------------------------------------- FIFOs


@pytest.fixture
def folder_with_fifo(tmp_path: Path) -> Path:
    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(CT, folder / "ct.dcm")
    os.mkfifo(folder / "pipe.dcm")
    return folder


def test_values_of_a_folder_with_a_fifo_does_not_block(folder_with_fifo: Path) -> None:
    done = run_child("values", str(folder_with_fifo), timeout=30)
    one_line_per_failure(done.stderr)
    assert "pipe.dcm" in done.stdout + done.stderr  # the FIFO is named, not read
    assert "1 file(s)" in done.stdout  # the real file was read


def test_diff_with_a_fifo_is_one_line(folder_with_fifo: Path) -> None:
    for argv in (("diff", str(folder_with_fifo / "pipe.dcm"), str(CT)), ("diff", str(CT), str(folder_with_fifo / "pipe.dcm"))):
        done = run_child(*argv, timeout=30)
        lines = one_line_per_failure(done.stderr)
        assert done.returncode == 2 and len(lines) == 1 and "pipe.dcm" in lines[0] and "FIFO" in lines[0], done.stderr


def test_fix_and_redact_name_a_fifo_and_go_on(folder_with_fifo: Path, tmp_path: Path) -> None:
    pipe, good = folder_with_fifo / "pipe.dcm", folder_with_fifo / "ct.dcm"
    for argv in (("fix", str(pipe), str(good), "--out", str(tmp_path / "o1")),
                 ("redact", str(pipe), str(good), "--box", "0,0,4,4", "--out", str(tmp_path / "o2"))):
        done = run_child(*argv, timeout=60)
        lines = one_line_per_failure(done.stderr)
        assert done.returncode == 1, done.stderr
        assert any("pipe.dcm" in line for line in lines)
    assert (tmp_path / "o1" / "ct.dcm").exists() and (tmp_path / "o2" / "ct.dcm").exists()


# ----------------------------------------------------------------------------- a zero tail


def _zero_tail(source: Path, target: Path, megabytes: int) -> Path:
    shutil.copy(source, target)
    with open(target, "r+b") as handle:  # sparse: costs no disk
        handle.truncate(source.stat().st_size + megabytes * 1024 * 1024)
    return target


def _timed(*argv: str) -> tuple[float, subprocess.CompletedProcess[str]]:
    start = time.monotonic()
    done = run_child(*argv, timeout=120)
    return time.monotonic() - start, done


def test_fix_and_redact_of_a_file_with_a_zero_tail_cost_about_a_plain_file(tmp_path: Path) -> None:
    # At 0.26 s per MB of zeros (pydicom reading them as empty elements) the 64 MB tail costs ~17 s;
    # bounded, it costs a hash of the file. Compared with the same command on the plain file, same run.
    big = _zero_tail(CT, tmp_path / "big.dcm", 64)
    no_pixels = tmp_path / "rtplan.dcm"
    _zero_tail(Path(get_testdata_file("rtplan.dcm")), no_pixels, 64)
    plain, done = _timed("fix", str(CT), "--out", str(tmp_path / "p"))
    assert done.returncode == 0, done.stderr
    for argv in (("fix", str(big), "--out", str(tmp_path / "f")),
                 ("fix", str(no_pixels), "--out", str(tmp_path / "g")),
                 ("redact", str(big), "--box", "0,0,4,4", "--out", str(tmp_path / "r")),
                 ("values", str(tmp_path)),
                 ("diff", str(big), str(CT))):
        spent, done = _timed(*argv)
        lines = one_line_per_failure(done.stderr)
        # A copy is written, or the zeros are refused as damage in one line naming the file: either way, fast.
        assert done.returncode == 0 or (done.returncode == 2 and len(lines) == 1 and Path(argv[1]).name in lines[0]), \
            (argv, done.stderr)
        assert spent < 3 * plain + 4, (argv, spent, plain)
        if argv[0] == "fix" and done.returncode == 0 and "big" in argv[1]:
            copy = pydicom.dcmread(tmp_path / "f" / "big.dcm")
            assert copy.Rows == 128 and len(copy.PixelData) == 128 * 128 * 2  # the image whole, the zeros gone
            assert (tmp_path / "f" / "big.dcm").stat().st_size < 100_000
        if argv[0] in ("values", "diff"):
            assert done.returncode == 0, done.stderr  # read as header reads it: up to the zeros


# ----------------------------------------------------------------------------- pydicom's odd files


@pytest.mark.parametrize("name, command", [
    ("meta_missing_tsyntax.dcm", "fix"), ("meta_missing_tsyntax.dcm", "redact"),
    ("badVR.dcm", "fix"), ("badVR.dcm", "redact"), ("badVR.dcm", "values"), ("badVR.dcm", "diff"),
])
def test_pydicom_odd_files_give_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str,
                                         command: str) -> None:
    src = get_testdata_file(name)
    argv = {"fix": ["fix", src, "--out", str(tmp_path / "o")],
            "redact": ["redact", src, "--box", "0,0,1,1", "--out", str(tmp_path / "o")],
            "values": ["values", str(_alone(src, tmp_path))],
            "diff": ["diff", src, src]}[command]
    code, _, err = run(capsys, *argv)
    lines = one_line_per_failure(err)
    assert code in (0, 2), err
    if code:
        assert len(lines) == 1 and name in lines[0], err


def _alone(src: str, tmp_path: Path) -> Path:
    folder = tmp_path / "alone"
    folder.mkdir(exist_ok=True)
    shutil.copy(src, folder / Path(src).name)
    return folder


# ----------------------------------------------------------------------------- batches go on


def _damaged(tmp_path: Path) -> Path:
    """A DICOM file whose Rows (US) has an odd length: pydicom raises while it converts the value."""
    data = bytearray(MR.read_bytes())
    at = data.find(b"\x28\x00\x10\x00US\x02\x00")
    assert at > 0
    data[at + 6: at + 8] = b"\x03\x00"  # 3-byte US
    path = tmp_path / "odd_us.dcm"
    path.write_bytes(bytes(data))
    return path


def test_a_damaged_file_does_not_stop_a_fix_batch(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "notes.dcm"
    bad.write_text("\x1b]52;c;aGk=\x07 not dicom")
    damaged = _damaged(tmp_path)
    good = tmp_path / "CT_small.dcm"
    shutil.copy(CT, good)
    code, out, err = run(capsys, "fix", str(bad), str(damaged), str(good), "--out", str(tmp_path / "o"))
    lines = one_line_per_failure(err)
    assert code == 1, err
    assert (tmp_path / "o" / "CT_small.dcm").exists()
    assert any("notes.dcm" in line for line in lines) and "\x1b" not in err
    assert "failed" in lines[-1] and "notes.dcm" in lines[-1]  # the list at the end


def test_a_damaged_file_does_not_stop_a_redact_batch(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "notes.dcm"
    bad.write_text("not dicom")
    badvr = tmp_path / "badVR.dcm"
    shutil.copy(get_testdata_file("badVR.dcm"), badvr)
    code, out, err = run(capsys, "redact", str(bad), str(badvr), str(CT), "--box", "0,0,4,4",
                         "--out", str(tmp_path / "o"))
    lines = one_line_per_failure(err)
    assert code == 1, err
    assert (tmp_path / "o" / "CT_small.dcm").exists()
    assert "failed" in lines[-1] and "notes.dcm" in lines[-1] and "badVR.dcm" in lines[-1]


def test_a_file_that_already_had_the_profile_is_named_and_the_batch_goes_on(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "fix", str(CT), "--out", str(tmp_path / "first"))[0] == 0
    profiled = tmp_path / "first" / "CT_small.dcm"
    other = tmp_path / "mr" / "MR_small.dcm"
    other.parent.mkdir()
    shutil.copy(MR, other)
    code, out, err = run(capsys, "fix", str(profiled), str(other), "--out", str(tmp_path / "second"))
    lines = one_line_per_failure(err)
    assert code == 1, err
    assert any("CT_small.dcm" in line and "Basic Profile" in line for line in lines), err
    assert (tmp_path / "second" / "mr" / "MR_small.dcm").exists()
    assert len(read_manifest(tmp_path / "second")) == 1


def test_values_names_damaged_files_at_the_end(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(CT, folder / "ct.dcm")
    shutil.copy(_damaged(tmp_path), folder / "odd_us.dcm")
    code, out, err = run(capsys, "values", str(folder))
    one_line_per_failure(err)
    assert "odd_us.dcm" in err or "odd_us.dcm" in out
    assert "2 file(s)" in out or "1 file(s)" in out


def test_the_copy_writer_reads_no_further_than_the_first_zero_tag_after_the_pixels(tmp_path: Path) -> None:
    # write_copy's own read (behind the damage check): after Pixel Data, elements must ascend, so a zero
    # tail ends the read at once instead of costing 0.26 s per MB of zeros.
    from phi_review.core.common.regular import open_regular
    from phi_review.core.remedy import output

    big = _zero_tail(CT, tmp_path / "big.dcm", 256)
    start = time.monotonic()
    with open_regular(big) as handle:
        ds, syntax, element = output._read_original(handle, big, for_pixels=True)
    assert time.monotonic() - start < 5
    assert element is not None and element.length == 128 * 128 * 2 and "PatientName" in ds
    assert 0 not in [int(tag) for tag in ds.keys()]  # nothing read from the zeros (the file's own padding is kept)


def test_the_copy_writer_names_the_file_for_any_parse_failure(tmp_path: Path) -> None:
    from phi_review.core.common.regular import open_regular
    from phi_review.core.remedy import output

    bad = tmp_path / "short.dcm"
    bad.write_bytes(b"\x1b[31m not DICOM at all")
    with open_regular(bad) as handle, pytest.raises(output.RemedyError, match=r"^short\.dcm: ") as raised:
        output._read_original(handle, bad, for_pixels=False)
    assert "\n" not in str(raised.value)
