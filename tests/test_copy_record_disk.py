"""The manifest under a full disk: a record is written whole or not at all, and never glued to a torn line."""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path

import pytest

from phi_review.core.remedy import output
from phi_review.core.remedy.output import RemedyError, append_manifest, read_manifest
from phi_review.tui.cli import main
from test_copy_record_kill import make_files


@pytest.fixture(autouse=True)
def _secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PHI_REVIEW_FIX_SECRET", "disk-test-secret")


def short_writes(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """os.write writes only half of what it is given (as a full disk does), and says so."""
    real = os.write
    calls: list[int] = []

    def write(fd: int, data: bytes) -> int:
        calls.append(len(data))
        return real(fd, bytes(data)[: max(1, len(data) // 2)])

    monkeypatch.setattr(os, "write", write)
    return calls


def no_space(monkeypatch: pytest.MonkeyPatch) -> None:
    def write(fd: int, data: bytes) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "write", write)


def whole_lines(out: Path) -> list[dict]:
    data = (out / "manifest.jsonl").read_bytes()
    assert data == b"" or data.endswith(b"\n")
    return [json.loads(line) for line in data.splitlines()]


def test_short_write_is_an_error_and_leaves_no_partial_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    append_manifest(tmp_path, {"copy": "a.dcm", "n": 1})
    calls = short_writes(monkeypatch)
    with pytest.raises(RemedyError) as info:
        append_manifest(tmp_path, {"copy": "b.dcm", "n": 2})
    assert calls, "the record goes through one os.write"
    assert "\n" not in str(info.value) and "manifest" in str(info.value)
    monkeypatch.undo()
    assert [r["n"] for r in whole_lines(tmp_path)] == [1]
    append_manifest(tmp_path, {"copy": "c.dcm", "n": 3})
    assert [r["n"] for r in whole_lines(tmp_path)] == [1, 3]


def test_no_space_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    append_manifest(tmp_path, {"copy": "a.dcm", "n": 1})
    no_space(monkeypatch)
    with pytest.raises(RemedyError, match="manifest") as info:
        append_manifest(tmp_path, {"copy": "b.dcm", "n": 2})
    assert "\n" not in str(info.value)
    monkeypatch.undo()
    assert [r["n"] for r in whole_lines(tmp_path)] == [1]


def test_record_is_one_write_of_the_whole_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = os.write
    seen: list[bytes] = []

    def write(fd: int, data: bytes) -> int:
        seen.append(bytes(data))
        return real(fd, data)

    monkeypatch.setattr(os, "write", write)
    append_manifest(tmp_path, {"copy": "a.dcm", "n": 1})
    assert len(seen) == 1 and seen[0].endswith(b"\n") and json.loads(seen[0])["n"] == 1


def test_torn_last_line_is_set_apart_not_glued(tmp_path: Path) -> None:
    append_manifest(tmp_path, {"copy": "a.dcm", "n": 1})
    with open(tmp_path / "manifest.jsonl", "ab") as handle:
        handle.write(b'{"copy": "b.dcm", "n"')  # a crash cut this line short
    append_manifest(tmp_path, {"copy": "c.dcm", "n": 3})
    assert [r["n"] for r in read_manifest(tmp_path)] == [1, 3]
    lines = (tmp_path / "manifest.jsonl").read_bytes().splitlines()
    assert lines[1] == b'{"copy": "b.dcm", "n"' and json.loads(lines[2])["n"] == 3


def test_fix_on_a_full_disk_never_exits_0_with_a_cut_record(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    files = make_files(tmp_path / "in", 4)
    out = tmp_path / "out"
    short_writes(monkeypatch)
    code = main(["fix", "--root", str(tmp_path / "in"), "--out", str(out), *map(str, files)])
    err = capsys.readouterr().err
    monkeypatch.undo()
    assert code != 0 and "Traceback" not in err
    whole_lines(out)  # no record cut short
    # room again: the re-run records every copy once
    code = main(["fix", "--root", str(tmp_path / "in"), "--out", str(out), *map(str, files)])
    assert code == 0, capsys.readouterr().err
    records = whole_lines(out)
    assert sorted(Path(r["copy"]).name for r in records) == sorted(p.name for p in files)


def test_redact_on_a_full_disk_never_exits_0_with_a_cut_record(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    files = make_files(tmp_path / "in", 3)
    out = tmp_path / "out"
    no_space(monkeypatch)
    code = main(["redact", "--root", str(tmp_path / "in"), "--box", "0,0,2,2", "--out", str(out), *map(str, files)])
    err = capsys.readouterr().err
    monkeypatch.undo()
    assert code != 0 and "Traceback" not in err and "manifest" in err
    assert not (out / "manifest.jsonl").exists() or whole_lines(out) == []
    code = main(["redact", "--root", str(tmp_path / "in"), "--box", "0,0,2,2", "--out", str(out), *map(str, files)])
    assert code == 0, capsys.readouterr().err
    assert len(whole_lines(out)) == 3


def test_copy_write_failing_leaves_no_temp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """ENOSPC while the copy itself is written: one line naming the file, and no temp file left."""
    files = make_files(tmp_path / "in", 1)
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", fsync)
    with pytest.raises(RemedyError) as info:
        output.write_copy(files[0], tmp_path / "out" / "x0.dcm", out_dir=tmp_path / "out")
    monkeypatch.setattr(os, "fsync", real_fsync)
    assert "\n" not in str(info.value) and "x0.dcm" in str(info.value)
    assert [p.name for p in (tmp_path / "out").iterdir()] == []
