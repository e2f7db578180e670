"""Shared test setup.

pydicom's ``get_testdata_files`` also lists files hosted online and tries to
download them; this machine (and CI) has no network, so every lookup is kept
to the files bundled inside the pydicom wheel.

A developer's own ``~/.config/phi-review/config.toml`` must not change what the
tests see, so the config path points at a file that does not exist unless a
test sets one.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

import pydicom.data
import pydicom.data.data_manager as _data_manager

_data_manager.online_test_file_dummy_paths = lambda: {}  # type: ignore[assignment]

os.environ["PHI_REVIEW_CONFIG"] = os.path.join(os.path.dirname(__file__), "no-such-config.toml")
# Copies get UIDs keyed by the fix secret; without one, load_secret() would make it beside that config path.
os.environ.setdefault("PHI_REVIEW_FIX_SECRET", "tests-only-secret-not-for-real-data")

BUNDLED = Path(pydicom.data.__file__).parent / "test_files"


def bundled_dicom_files() -> list[Path]:
    """Every DICOM file bundled with pydicom (local only)."""
    return sorted(p for p in BUNDLED.rglob("*") if p.is_file() and p.suffix.lower() in {".dcm", ""} and p.stat().st_size > 132)


# Under CI (.ci/run installs tmux, DCMTK, dicom3tools, LibreOffice, tesseract, the validator and the OCR
# extra), a test skipped because a tool is missing is a failure: a green run must not hide a missing install.
_MISSING_TOOL = re.compile(r"not installed|needs the ocr extra", re.IGNORECASE)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):  # type: ignore[no-untyped-def]
    outcome = yield
    report = outcome.get_result()
    if not os.environ.get("CI") or not report.skipped or not isinstance(report.longrepr, tuple):
        return
    reason = str(report.longrepr[2])
    if _MISSING_TOOL.search(reason) and "labcas-validator" not in reason:  # the validator tests keep their own rule
        # (its releases are required under CI by tests/test_validator_real.py; the pre-1.0 snapshot stays optional)
        report.outcome = "failed"
        report.longrepr = f"required under CI, but skipped: {reason}"
