"""`phi-review header` and `preview` on real files: hostile values inert, bad files one line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from phi_review.sample_reports.make_dicom import hostile_header_file
from phi_review.tui.cli import main

from conftest import BUNDLED

SCRIPT = Path(sys.executable).with_name("phi-review")
DANGEROUS = (b"\x1b", b"\x07", b"\x00", b"\r", b"\x9b", "\x9b".encode("utf-8"))


def test_hostile_header_is_printed_inert_by_the_installed_command(tmp_path):
    path = hostile_header_file(tmp_path / "evil.dcm")
    out = subprocess.run([str(SCRIPT), "header", str(path)], capture_output=True, check=True)
    for raw in DANGEROUS:
        assert raw not in out.stdout, raw
    text = out.stdout.decode()
    assert "[bold red]markup[/]" in text
    assert "\\x1b]52;c;ZXZpbA==\\x07" in text  # the clipboard write, shown not sent
    assert out.stderr == b""


def test_header_json_and_find(capsys):
    assert main(["header", str(BUNDLED / "CT_small.dcm"), "--json", "--find", "PatientName"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert any(r["keyword"] == "PatientName" and r["matched"] for r in data["rows"])


def test_not_dicom_is_exit_2_with_one_line(tmp_path):
    bad = tmp_path / "report.pdf"
    bad.write_bytes(b"%PDF-1.4 not a dicom file" * 20)
    out = subprocess.run([str(SCRIPT), "header", str(bad)], capture_output=True, text=True)
    assert out.returncode == 2
    assert out.stderr.count("\n") == 1 and "Traceback" not in out.stderr
    missing = subprocess.run([str(SCRIPT), "preview", str(tmp_path / "nope.dcm")], capture_output=True, text=True)
    assert missing.returncode == 2 and "not found" in missing.stderr or "cannot read" in missing.stderr


def test_preview_without_terminal_and_forced_halfcell(capsys):
    path = BUNDLED / "SC_rgb_rle_2frame.dcm"
    assert main(["preview", str(path), "--frame", "2", "--graphics", "none"]) == 0
    assert "frame 2/2" in capsys.readouterr().out
    assert main(["preview", str(path), "--graphics", "halfcell", "--width", "30"]) == 0
    out = capsys.readouterr().out
    assert "▀" in out or "▄" in out
    assert main(["preview", str(path), "--frame", "3"]) == 2
