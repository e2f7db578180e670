"""The whole path on one tree, as README's walkthrough tells it: open, decide, fix, prove, release, send.

A generated LabCAS tree -> its validator-layout CSVs (``phi-review scan``, or the real validator when it is
installed) -> decisions in the review screen (Pilot), saved with ctrl+s -> ``fix`` and ``redact`` copies ->
``release --partial`` -> the package scanned again, clean -> the deletion list -> ``export --phi-free``
holding none of the tree's identifiers -> ``summarize-validation-reports`` reads the reports folder as before.
"""

from __future__ import annotations

import csv
import glob
import io
import os
import re
import shutil
import subprocess
import time
import zipfile
from pathlib import Path

import pydicom
import pytest

from phi_review.core.ocr.engine import ocr_available
from phi_review.core.review.session import ReviewSession
from phi_review.tui.app import ReviewApp
from phi_review.tui.terminal.graphics import GraphicsChoice, TerminalCaps, prepare_textual_image
from phi_review.tui.widgets.findings_list import FindingsList
from release_tree import PHI, cli
from tui_helpers import wait_for
from validator.make_tree import make_validator_tree

SUMMARIZER = "/opt/labcas-validator/venv/bin/summarize-validation-reports"
A, B = "Images_Site_SYNTHa1", "Images_Site_SYNTHb2"
META = f"{A}/1000001/series1/header_phi.dcm"
DELETE = f"{A}/1000003/series1/header_phi.dcm"
BURNED = f"{B}/2000001/series1/single_burned.dcm"
UNDECIDED = f"{A}/1000002/series1/short_cine.dcm"
# The digit pressed on every row of each file (1 No Issue, 2 Deletion & Re-upload, 3 Metadata Update,
# 4 DMCC/JPL Review, 5 Follow-up); the burned-in file is redacted only when OCR can prove the copy.
DIGITS = {META: "3", DELETE: "2", f"{A}/1000001/series2/bad_tags.dcm": "1", f"{A}/1000002/series1/long_cine.dcm": "4",
          BURNED: "2", f"{B}/2000002/series1/localizer.dcm": "5", f"{B}/2000001/series2/tiny.dcm": "1"}


def _summarizer() -> str | None:
    path = os.environ.get("PHI_REVIEW_SUMMARIZER", SUMMARIZER)
    if os.path.isfile(path) and os.access(path, os.X_OK):
        return path
    if os.environ.get("CI"):
        pytest.fail(f"summarizer not installed at {path} (run .ci/install-validator.sh)")
    return None


def _summary(exe: str, top: Path, out: Path) -> bytes:
    done = subprocess.run([exe, "--output", str(out), str(top)], capture_output=True, text=True, timeout=120,
                          cwd=out.parent)
    assert done.returncode == 0, done.stderr[-2000:]
    return out.read_bytes()


def _reports(source: str, collection: Path, out: Path) -> None:
    if source == "validator":
        from test_validator_reports import _run_validator  # skips, or fails under CI, when it is missing

        _run_validator(collection, out, single=True)
    else:
        code, _out, err = cli("scan", str(collection), "--out", str(out), "--no-ocr", "--quiet")
        assert code == 0, err
        shutil.rmtree(out / ".phi-review-scan", ignore_errors=True)


def _identifiers(collection: Path) -> set[str]:
    """The planted strings and every patient name and ID of the tree (5+ characters)."""
    found = set(PHI)
    for path in collection.rglob("*.dcm"):
        ds = pydicom.dcmread(path, stop_before_pixels=True, force=True)
        for keyword in ("PatientName", "PatientID", "OtherPatientIDs", "AccessionNumber", "InstitutionName"):
            value = str(ds.get(keyword, "") or "").strip()
            if len(value) >= 5 and not value.upper().startswith("ANON"):
                found.add(value)
    return found


def _leaks(data: bytes, needles: set[str]) -> list[str]:
    """Which identifiers appear in ``data`` as whole words ("DOE", not "does"), case-insensitive, UTF-8 or -16."""
    hay = data.lower()
    found = []
    for needle in needles:
        for encoded in (needle.lower().encode(), needle.lower().encode("utf-16-le")):
            if re.search(rb"(?<![a-z0-9])" + re.escape(encoded) + rb"(?![a-z0-9])", hay):
                found.append(needle)
                break
    return sorted(found)


def _key(finding: object) -> tuple[str, str, str]:
    return (getattr(finding, "site"), getattr(finding, "event"), os.path.basename(getattr(finding, "file")))


@pytest.mark.parametrize("source", ["scan", "validator"])
async def test_from_report_to_upload(source: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    started = time.monotonic()
    monkeypatch.setenv("PHI_REVIEW_FIX_SECRET", "walkthrough-secret")
    here = tmp_path / "scan"
    collection: Path = make_validator_tree(here)["collection"]
    top = tmp_path / "reports"
    reports = top / collection.name
    _reports(source, collection, reports)
    validator_bytes = {p: Path(p).read_bytes() for p in sorted(glob.glob(f"{reports}/*.csv"))}
    assert validator_bytes
    summarizer = _summarizer()
    before = _summary(summarizer, top, tmp_path / "before.csv") if summarizer else b""
    pixels = ocr_available()
    digits = {tuple(rel.split("/")[:2]) + (rel.rsplit("/", 1)[1],): d for rel, d in DIGITS.items()
              if pixels or rel != BURNED}

    # 1-2. Open the report in the review screen and decide every row of each file; ctrl+s saves.
    prepare_textual_image((10, 20))
    session = ReviewSession.open(reports, reviewer="rev1")
    app = ReviewApp(session, roots=[here], graphics=GraphicsChoice("halfcell", TerminalCaps(is_tty=True), "test"))
    actions = session.actions
    wanted: dict[int, str] = {}
    async with app.run_test(size=(140, 48)) as pilot:
        await wait_for(pilot, lambda: app.review.files.file_index is not None, timeout=30)
        listing = app.query_one(FindingsList)
        for index, finding in enumerate(session.findings):
            digit = digits.get(_key(finding))
            if digit is None:
                continue
            listing.move_to(index)
            await wait_for(pilot, lambda: app.review.files.current_index == index)
            await pilot.press(digit)
            if app.screen is not app.review:  # a confirmation (several rows, or PHI still there)
                await pilot.press("y")
            await wait_for(pilot, lambda: finding.action == actions[int(digit) - 1])
            wanted[index] = actions[int(digit) - 1]
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: app.session.unsaved == 0 and not app.review.decisions.saving, timeout=30)
        await pilot.press("q")
        await wait_for(pilot, lambda: app.return_code is not None)
    session.close()
    assert wanted  # the validator's CSVs are byte for byte its own; decisions went to hidden reviewed copies
    assert {p: Path(p).read_bytes() for p in sorted(glob.glob(f"{reports}/*.csv"))} == validator_bytes
    with ReviewSession.open(reports, read_only=True) as saved:
        assert {i: f.action for i, f in enumerate(saved.findings) if f.action} == wanted
        assert saved.journal_pending == 0

    def rows_for(rel: str) -> bool:
        return any(_key(f) == (*rel.split("/")[:2], rel.rsplit("/", 1)[1]) for f in session.findings)

    # 3. Fix the headers, black out the burned-in text (its copy claims BurnedInAnnotation NO).
    copies = tmp_path / "corrected"
    code, out, err = cli("fix", str(collection / META), str(collection / DELETE), "--root", str(collection),
                         "--out", str(copies), "--reviewer", "rev1")
    assert code == 0, out + err
    if pixels:
        code, out, err = cli("redact", str(collection / BURNED), "--root", str(collection), "--out", str(copies),
                             "--box", "0,150,512,330", "--confirm-clean", "--reviewer", "rev1")
        assert code == 0, out + err

    # 4-5. Release what is ready; the short cine has no decision and stays behind.
    pkg = tmp_path / "pkg"
    code, out, err = cli("release", str(reports), "--root", str(here), "--copies", str(copies), "--out", str(pkg),
                         "--partial")
    assert code == 0, out + err
    expected = sorted(f"{collection.name}/{rel}" for rel in (META, DELETE, *([BURNED] if pixels else []))
                      if rows_for(rel))
    assert len(expected) >= 2
    assert sorted(str(p.relative_to(pkg)) for p in pkg.rglob("*.dcm")) == expected
    assert (pkg / "deletions.txt").read_text().splitlines() == expected
    manifest = (pkg / "release-manifest.jsonl").read_bytes()
    assert manifest.count(b'"kind": "file"') == len(expected) and b'"status": "clean"' in manifest
    if rows_for(UNDECIDED):
        assert "no decision" in out
    needles = _identifiers(collection)
    assert not _leaks(manifest + (pkg / "RELEASE.txt").read_bytes() + out.encode(), needles)

    # The package scanned on its own: no Error row, no value of the tree in any row.
    code, scanned, err = cli("scan", str(pkg / collection.name), "--out", str(tmp_path / "pkg-scan"), "--no-ocr",
                             "--quiet")
    assert code == 0, scanned + err
    rows = [row for path in sorted((tmp_path / "pkg-scan").glob("*.csv"))
            for row in csv.reader(io.StringIO(path.read_text(encoding="utf-8"), newline=""))][1:]
    assert not [r for r in rows if "Error" in r[5]]
    assert not _leaks("\n".join(",".join(r) for r in rows).encode(), needles)
    # What is left is what the release's scan does not call PHI: the profile's dummy dates, and the study
    # dates a copy that was only redacted keeps; nothing names or dates the patient or a person.
    said = " ".join(r[6] for r in rows)
    assert not [w for w in ("the patient", "names a person", "pattern") if w in said], said

    # 6. Send the decisions back: a PHI-free export holds none of the tree's identifiers.
    send = tmp_path / "send"
    for name in ("report.csv", "report.xlsx"):
        code, out, err = cli("export", str(reports), "--phi-free", "--root", str(here), "--out", str(send / name))
        assert code == 0, out + err
    sent = b"".join(p.read_bytes() for p in send.glob("*.csv"))
    with zipfile.ZipFile(send / "report.xlsx") as book:
        sent += b"".join(book.read(name) for name in book.namelist())
    assert b"rev1" in sent and not _leaks(sent, needles)

    # The validator's own summarizer still reads the reports folder, and counts as before the review.
    if summarizer:
        assert _summary(summarizer, top, tmp_path / "after.csv") == before
    assert time.monotonic() - started < 60
