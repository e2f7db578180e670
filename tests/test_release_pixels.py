"""Pixel claims at release: a copy that says BurnedInAnnotation NO has every frame read again by OCR."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pydicom
import pytest

from phi_review.core.ocr.engine import ocr_available
from phi_review.core.remedy.manifest import append_manifest, sha256_file
from phi_review.sample_reports.make_workbook import build_report_workbook
from release_tree import RESIDUAL as BURNED, cli
from validator.make_tree import make_validator_tree

pytestmark = pytest.mark.skipif(not ocr_available(), reason="OCR is not installed")


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    os.environ.setdefault("PHI_REVIEW_FIX_SECRET", "release-test-secret")
    base = tmp_path_factory.mktemp("release-pixels")
    collection = make_validator_tree(base / "tree")["collection"]
    rows = [{"file": f"{collection.name}/{BURNED}", "issue": "Possible Burned-in PHI/PII (Pixels)", "tag": "",
             "value": "", "action": "Needs Deletion & Re-upload", "note": ""}]
    return {"report": build_report_workbook(base / "report.xlsx", rows), "collection": collection, "base": base}


def _release(world: dict[str, Any], copies: Path, pkg: Path) -> tuple[int, str, str]:
    return cli("release", str(world["report"]), "--root", str(world["collection"]), "--copies", str(copies),
               "--out", str(pkg), "--partial")


def test_a_redacted_copy_is_read_again_frame_by_frame(world: dict[str, Any], tmp_path: Path) -> None:
    copies = tmp_path / "corrected"
    code, _out, err = cli("redact", str(world["collection"] / BURNED), "--root", str(world["collection"]),
                          "--out", str(copies), "--box", "0,150,512,330", "--confirm-clean")
    assert code == 0, err
    pkg = tmp_path / "pkg"
    code, out, err = _release(world, copies, pkg)
    assert code == 0, err
    lines = [json.loads(x) for x in (pkg / "release-manifest.jsonl").read_text().splitlines()]
    (record,) = [x for x in lines if x["kind"] == "file"]
    assert record["proof"]["status"] == "clean" and record["proof"]["required"] == ["BurnedInAnnotation"]
    assert any(c.startswith("ocr: 1 frame") for c in record["proof"]["checked"])
    assert str(pydicom.dcmread(pkg / record["labcas"]).BurnedInAnnotation) == "NO"


def test_a_record_that_says_clean_over_burned_in_text_is_caught(world: dict[str, Any], tmp_path: Path) -> None:
    """A copy whose header says NO and whose record says clean, over pixels nobody blacked out."""
    copies = tmp_path / "corrected"
    copy = copies / BURNED
    copy.parent.mkdir(parents=True)
    ds = pydicom.dcmread(world["collection"] / BURNED)
    ds.BurnedInAnnotation = "NO"
    ds.save_as(copy)
    original = world["collection"] / BURNED
    append_manifest(copies, {"original": str(original), "original_sha256": sha256_file(original),
                             "copy": str(copy), "copy_sha256": sha256_file(copy), "action": "redact",
                             "proof": {"status": "clean"}, "time": "2030-01-01T00:00:00+00:00"})
    pkg = tmp_path / "pkg"
    code, out, err = _release(world, copies, pkg)
    assert code == 0, err
    held = [line for line in out.splitlines() if BURNED in line]
    assert held and "proof failed: date in frame 1 box" in held[0]
    assert not list(pkg.rglob("*.dcm")) and (pkg / "deletions.txt").read_text() == ""
    assert "03/04/1969" not in (pkg / "release-manifest.jsonl").read_text() + out
