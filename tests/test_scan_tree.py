"""`phi-review scan` on a LabCAS-shaped tree: the validator's layout, its consumers, and what it misses.

Most tests share one scan without OCR (seconds); one scans an 8-frame file with OCR (the text sits on
frame 7, which the validator never reads) and checks that phi-review's own reader lands on that frame.
The real ``summarize-validation-reports`` and the validator's own path parsing run from its venv
(``/opt/labcas-validator/venv``): missing, those tests fail under CI and are skipped elsewhere.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
from pathlib import Path

import pytest

from phi_review.core.report.reader import read_report
from phi_review.core.scan import layout
from phi_review.tui.cli import main

from scan_tree import TEXT_FRAME, build_tree, text_on_one_frame

VALIDATOR_PYTHON = "/opt/labcas-validator/venv/bin/python"
SUMMARIZER = os.environ.get("PHI_REVIEW_SUMMARIZER", "/opt/labcas-validator/venv/bin/summarize-validation-reports")


def _need(path: str) -> str:
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        problem = f"{path} not installed (run .ci/install-validator.sh)"
        if os.environ.get("CI"):
            pytest.fail(problem)
        pytest.skip(problem)
    return path


def _rows(out: Path) -> list[list[str]]:
    rows: list[list[str]] = []
    for name in sorted(os.listdir(out)):
        if name.endswith(".csv"):
            with open(out / name, newline="", encoding="utf-8") as handle:
                table = list(csv.reader(handle))
            assert tuple(table[0]) == layout.COLUMNS
            rows += table[1:]
    return rows


@pytest.fixture(scope="module")
def scanned(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, str]:
    """(collection, output folder, what the command printed): the whole tree, no OCR."""
    root = tmp_path_factory.mktemp("scan")
    coll = build_tree(root)
    out = root / "reports" / "Collection"
    import io
    from contextlib import redirect_stdout

    said = io.StringIO()
    with redirect_stdout(said):
        assert main(["scan", str(coll), "--out", str(out), "--no-ocr", "--quiet"]) == 0
    return coll, out, said.getvalue()


def test_one_csv_per_site_in_the_validator_layout(scanned: tuple[Path, Path, str]) -> None:
    coll, out, said = scanned
    names = sorted(p.name for p in out.glob("*.csv"))
    assert names == ["Images_Site_A.csv", "Images_Site_B.csv", "«unknown site».csv"]
    rows = _rows(out)
    assert {r[5] for r in rows} <= {layout.HEADER, layout.PIXELS, layout.ERROR}
    assert all(len(r) == 7 for r in rows)
    # The same file name in two sites, each in its own CSV with its own event.
    same = {(r[0], r[1]) for r in rows if r[2] == "same.dcm"}
    assert same == {("Images_Site_A", "1234567"), ("Images_Site_B", "7654321")}
    assert not any(r[2] == "DICOMDIR" for r in rows)  # the validator ignores it too
    name = next(r for r in rows if r[2] == "cine.dcm" and "(PatientName)" in r[6])
    assert name[6] == ("(0010,0010) (PatientName), «DOE^JANE», Possible PHI/PII detection (score 1.00): "
                       "PatientName names or dates the patient; pattern person name")
    assert name[3] == "MR standard" and name[4] == "1.0"
    assert "scanned 9 files, 16 frames" in said and "1 file(s) could not be read" in said


def test_site_and_event_are_the_validators_own(scanned: tuple[Path, Path, str]) -> None:
    python = _need(VALIDATOR_PYTHON)
    coll, out, _ = scanned
    from phi_review.core.scan.walk import walk

    targets = list(walk([str(coll)]))
    code = ("import json,sys\nfrom jpl.labcas.validation._files import PotentialFile\n"
            "print(json.dumps([[PotentialFile(p).site_id, PotentialFile(p).event_id] for p in json.load(sys.stdin)]))")
    done = subprocess.run([python, "-c", code], input=json.dumps([t.path for t in targets]), capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-1000:]
    assert json.loads(done.stdout) == [[t.site, t.event] for t in targets]


def test_the_real_summarizer_reads_the_output(scanned: tuple[Path, Path, str], tmp_path: Path) -> None:
    exe = _need(SUMMARIZER)
    _, out, _ = scanned
    summary = tmp_path / "summary.csv"
    done = subprocess.run([exe, "--output", str(summary), str(out.parent)], capture_output=True, text=True,
                          timeout=120, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    text = summary.read_text(encoding="utf-8")
    assert "Possible burned-in PHI/PII (pixels)" in text and "(0010,0010) (PatientName) possible PHI/PII" in text


def test_every_kind_the_validator_misses_is_read(scanned: tuple[Path, Path, str]) -> None:
    _, out, _ = scanned
    rows = _rows(out)
    by_file: dict[str, list[list[str]]] = {}
    for r in rows:
        by_file.setdefault(f"{r[0]}/{r[2]}", []).append(r)
    us = by_file["Images_Site_A/us.dcm"]
    assert any("rule:Ultrasound" in r[6] and "ultrasound (no PHI scan in validator 1.0.x)" in r[6] for r in us)
    rgb = by_file["Images_Site_B/rgb.dcm"]
    assert any("multi-frame colour" in r[6] and "file frames 1-2 of 2" in r[6] for r in rgb)
    assert any("12-bit with the file's window" in r[6] for r in by_file["Images_Site_B/deep.dcm"])
    small = by_file["Images_Site_B/small.dcm"]
    assert any(r[5] == layout.HEADER for r in small) and not any(r[5] == layout.ERROR for r in small)
    assert any("small file" in r[6] for r in small)


def test_a_damaged_file_is_one_error_row(scanned: tuple[Path, Path, str]) -> None:
    _, out, _ = scanned
    errors = [r for r in _rows(out) if r[5] == layout.ERROR]
    assert len(errors) == 1 and errors[0][2] == "damaged.dcm"
    assert errors[0][6].startswith("FAIL! ") and "truncated" in errors[0][6]


def test_phi_review_reads_the_output_like_validator_output(scanned: tuple[Path, Path, str]) -> None:
    _, out, _ = scanned
    report = read_report(out)
    assert len(report.findings) == len(_rows(out))
    assert {f.file for f in report.findings} >= {"cine.dcm", "same.dcm", "us.dcm", "damaged.dcm"}


@pytest.fixture(scope="module")
def ocr_scanned(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """One 8-frame file, text on frame 7 only, scanned with OCR (two distinct frames: two OCR calls)."""
    from phi_review.core.ocr.engine import ocr_available

    if not ocr_available():
        pytest.skip("OCR not installed")
    root = tmp_path_factory.mktemp("scan_ocr")
    coll = root / "Collection"
    text_on_one_frame(coll / "Images_Site_A" / "1234567" / "s1" / "cine.dcm")
    out = root / "reports" / "Collection"
    assert main(["scan", str(coll), "--out", str(out), "--quiet", "--workers", "1"]) == 0
    return coll, out


def test_ocr_finds_text_on_a_frame_the_validator_never_reads(ocr_scanned: tuple[Path, Path]) -> None:
    _, out = ocr_scanned
    ocr = [r for r in _rows(out) if "ocr:" in r[6]]
    assert len(ocr) == 1, ocr
    assert f"[scan: file frame {TEXT_FRAME + 1} of 8; matches PatientName" in ocr[0][6]
    assert "frames the validator never reads" in ocr[0][6]
    assert "JANE" in ocr[0][6].upper() and ocr[0][4] == "1.0"


def test_findings_json_points_at_the_frame(ocr_scanned: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    coll, out = ocr_scanned
    assert main(["findings", str(out), "--root", str(coll), "--json"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.strip()]
    ocr = [line for line in lines if line["kind"] == "pixels" and line["value"].upper().find("JANE") >= 0]
    assert len(ocr) == 1
    assert ocr[0]["frame"] == TEXT_FRAME + 1 and ocr[0]["path"].endswith("cine.dcm")
    rules = [line for line in lines if line["kind"] == "pixels" and line is not ocr[0]]
    assert rules and all(line["frame"] == 1 for line in rules)


def test_open_hands_the_output_to_the_review_screen(scanned: tuple[Path, Path, str], monkeypatch) -> None:
    coll, out, _ = scanned
    seen: dict[str, object] = {}

    def fake_open(report: Path, **kw: object) -> int:
        seen.update(kw, report=report)
        return 0

    monkeypatch.setattr("phi_review.tui.commands.review.open_review", fake_open)
    assert main(["scan", str(coll), "--out", str(out), "--no-ocr", "--quiet", "--open"]) == 0  # already complete
    assert seen["report"] == out and seen["roots"] == [coll]


@pytest.mark.slow
def test_ocr_reads_ultrasound_rgb_and_16_bit(tmp_path: Path) -> None:
    """The whole tree with OCR (about a dozen distinct frames): words on every kind the validator misses."""
    from phi_review.core.ocr.engine import ocr_available

    if not ocr_available():
        pytest.skip("OCR not installed")
    coll = build_tree(tmp_path)
    out = tmp_path / "reports" / "Collection"
    assert main(["scan", str(coll), "--out", str(out), "--quiet"]) == 0
    ocr = {r[2]: r for r in _rows(out) if "ocr:" in r[6]}
    assert "matches PatientName" in ocr["us.dcm"][6]
    assert "matches PatientBirthDate" in ocr["rgb.dcm"][6] and "file frames 1-2 of 2" in ocr["rgb.dcm"][6]
    assert "matches PatientName" in ocr["deep.dcm"][6]
    assert "file frame 7 of 8" in ocr["cine.dcm"][6]
    assert not {"same.dcm", "small.dcm", "loose.dcm"} & set(ocr)  # clean frames: no OCR row


def test_rows_name_files_as_the_real_validator_does(scanned: tuple[Path, Path, str], tmp_path: Path) -> None:
    """validate-dicom-files 1.0.1 on the same tree: every file it names, we name with the same Site ID, Event ID,
    File Name and Profile; where it finds no burned-in text (a frame it skips, ultrasound, multi-frame colour,
    16-bit), nothing here depends on it."""
    exe = _need(str(Path(VALIDATOR_PYTHON).with_name("validate-dicom-files")))
    coll, out, _ = scanned
    theirs_dir = tmp_path / "validator"
    done = subprocess.run([exe, "-o", str(theirs_dir), str(coll)], capture_output=True, text=True, timeout=300,
                          cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    theirs = _rows(theirs_dir)
    ours = _rows(out)
    named = {tuple(r[:4]) for r in ours}
    assert theirs and {tuple(r[:4]) for r in theirs} - named == set()
    their_pixels = {r[2] for r in theirs if r[5] == layout.PIXELS}
    assert not their_pixels & {"cine.dcm", "us.dcm", "rgb.dcm"}  # the gaps this command exists for
