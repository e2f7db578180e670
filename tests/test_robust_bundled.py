"""pydicom's own test files, every ``.dcm`` of them (``meta_missing_tsyntax.dcm``, ``badVR.dcm`` and the rest),
through every file command: header, preview, fix, redact, diff and values (issue 20, item 6).

Each run is in a capped driver process with a per-command alarm (``test_mutation_dicom``'s driver): a
traceback, a hang or a stderr line that is not ours fails the test. OCR is left to the mutation run (minutes).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pydicom.data

from test_mutation_dicom import newer_jobs, run_jobs


def every_bundled_file() -> list[Path]:
    """Every ``.dcm`` in pydicom's own test data folder (local, never downloaded)."""
    root = Path(pydicom.data.__file__).parent / "test_files"
    return sorted(p for p in root.rglob("*.dcm") if p.is_file())


def test_the_odd_files_are_there() -> None:
    names = {p.name for p in every_bundled_file()}
    assert {"meta_missing_tsyntax.dcm", "badVR.dcm"} <= names and len(names) > 50


def test_every_bundled_file_through_every_command_gives_no_traceback_no_hang() -> None:
    files = every_bundled_file()
    with tempfile.TemporaryDirectory(prefix="phi-bundled-") as folder:
        jobs: list[list[object]] = []
        for number, path in enumerate(files):
            jobs += [["header", str(path)], ["preview", str(path)]]
            jobs += newer_jobs(path, Path(folder), f"{number:03d}_{path.stem}")
        result = run_jobs(jobs, batch=200)
    assert result["tracebacks"] == 0 and result["hangs"] == 0 and result["multi_line"] == 0, result
    assert result["driver_crashes"] == 0, result
    assert result["runs"] == 6 * len(files), result
