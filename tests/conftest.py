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
from pathlib import Path

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
