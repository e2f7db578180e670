"""The release's package scan: what the proof does not look for (patterns, rules, pixels of header-only copies)."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import pydicom
import pytest

from phi_review.core.ocr.engine import TextLine
from phi_review.core.remedy.manifest import append_manifest, sha256_file
from phi_review.sample_reports.make_workbook import build_report_workbook
from release_tree import META, cli
from validator.make_tree import make_validator_tree


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    os.environ.setdefault("PHI_REVIEW_FIX_SECRET", "release-test-secret")
    base = tmp_path_factory.mktemp("release-scan")
    collection = make_validator_tree(base / "tree")["collection"]
    rows = [{"file": f"{collection.name}/{META}", "issue": "Possible PHI/PII in Header", "tag": "", "value": "",
             "action": "Needs Metadata Update", "note": ""}]
    fixed = base / "fixed"
    code, _out, err = cli("fix", str(collection / META), "--root", str(collection), "--out", str(fixed))
    assert code == 0, err
    return {"report": build_report_workbook(base / "report.xlsx", rows), "collection": collection,
            "fixed": fixed / META}


def _copy(world: dict[str, Any], folder: Path, **values: str) -> Path:
    """The fixed copy with ``values`` set afterwards (its record names the new bytes, as a careless tool's would)."""
    copy = folder / META
    copy.parent.mkdir(parents=True)
    shutil.copyfile(world["fixed"], copy)
    if values:
        ds = pydicom.dcmread(copy)
        for keyword, value in values.items():
            setattr(ds, keyword, value)
        ds.save_as(copy)
    original = world["collection"] / META
    append_manifest(folder, {"original": str(original), "original_sha256": sha256_file(original),
                             "copy": str(copy), "copy_sha256": sha256_file(copy), "action": "fix",
                             "proof": {"status": "clean"}, "time": "2030-01-01T00:00:00+00:00"})
    return copy


def _release(world: dict[str, Any], copies: Path, pkg: Path, *extra: str) -> tuple[int, str, str]:
    return cli("release", str(world["report"]), "--root", str(world["collection"]), "--copies", str(copies),
               "--out", str(pkg), *extra)


def _files(pkg: Path) -> list[dict[str, Any]]:
    lines = [json.loads(x) for x in (pkg / "release-manifest.jsonl").read_text().splitlines()]
    return [x for x in lines if x["kind"] == "file"]


def test_a_new_name_and_an_email_the_proof_cannot_know_stop_the_release(world: dict[str, Any],
                                                                      tmp_path: Path) -> None:
    copies = tmp_path / "corrected"
    _copy(world, copies, PerformingPhysicianName="SMITHERS^WAYLON", ImageComments="mail wsmithers@example.org")
    code, out, err = _release(world, copies, tmp_path / "pkg")
    assert code == 1 and not (tmp_path / "pkg").exists(), err
    assert "the package scan found possible PHI" in out
    assert "(0008,1050) PerformingPhysicianName: person name" in out and "ImageComments: e-mail" in out
    assert "SMITHERS" not in out.upper() and "example.org" not in out
    code, out, err = _release(world, copies, tmp_path / "pkg2", "--partial")
    assert code == 0, err
    assert _files(tmp_path / "pkg2") == [] and (tmp_path / "pkg2" / "deletions.txt").read_text() == ""
    text = (tmp_path / "pkg2" / "release-manifest.jsonl").read_text() + (tmp_path / "pkg2" / "RELEASE.txt").read_text()
    assert "PerformingPhysicianName: person name" in text
    assert "SMITHERS" not in text.upper() and "example.org" not in text


def test_devices_institutions_and_dummy_dates_do_not_stop_it(world: dict[str, Any], tmp_path: Path) -> None:
    copies = tmp_path / "corrected"
    _copy(world, copies, Manufacturer="ACME MEDICAL", ManufacturerModelName="X-1", StationName="CTROOM7",
          DeviceSerialNumber="SN-99812", InstitutionName="NORTHWIND IMAGING")
    code, out, err = _release(world, copies, tmp_path / "pkg")
    assert code == 0, out + err
    (record,) = _files(tmp_path / "pkg")
    assert record["scan"]["status"] == "clean" and record["scan"]["header_findings_not_phi"] == 4  # dummy date, station, serial, institution
    assert record["scan"]["pixels"].startswith("not read")


def test_the_original_s_birth_date_left_in_a_header_stops_it(world: dict[str, Any], tmp_path: Path) -> None:
    """A kept value the proof's byte search would also find; the scan names it on its own."""
    from phi_review.core.proof.identifiers import collect_identifiers
    from phi_review.core.release.scan_gate import scan_copy

    copy = _copy(world, tmp_path / "corrected", PatientBirthDate="19710203")
    found = scan_copy(copy, collect_identifiers(world["collection"] / META), [])
    assert found.stops == ["header (0010,0030) PatientBirthDate: the original's date"]
    assert scan_copy(world["fixed"], collect_identifiers(world["collection"] / META), []).stops == []


def test_header_only_copies_are_never_ocred(world: dict[str, Any], tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    import phi_review.core.ocr.engine as engine

    def refuse(*_args: object, **_kw: object) -> list[TextLine]:
        raise AssertionError("OCR ran on a header-only copy")

    monkeypatch.setattr(engine, "ocr_frame", refuse)
    copies = tmp_path / "corrected"
    _copy(world, copies)
    code, out, err = _release(world, copies, tmp_path / "pkg")
    assert code == 0, out + err
    (record,) = _files(tmp_path / "pkg")
    assert record["scan"]["rules"] == [] and record["scan"]["pixels"].startswith("not read")


def test_a_rule_sends_a_header_only_copy_to_ocr_and_burned_in_text_stops_it(
        world: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An ultrasound fixed for its header only: the rules read its pixels, which the proof never does."""
    import phi_review.core.ocr.engine as engine

    calls: list[int] = []

    def read(_path: object, frame: int, terms: object = (), _engine: object = None,
             preset: str = "full") -> list[TextLine]:
        if preset == "full":  # a copy with a window of its own is read as shown too
            calls.append(frame)
        return [TextLine("EXAM 01/31/2024", 0.9, (4, 5, 60, 12), True, "looks like a date")]

    monkeypatch.setattr(engine, "ocr_available", lambda: True)
    monkeypatch.setattr(engine, "ocr_frame", read)
    copies = tmp_path / "corrected"
    _copy(world, copies, Modality="US")
    code, out, err = _release(world, copies, tmp_path / "pkg", "--partial")
    assert code == 0, err
    assert calls == [0]
    assert "pixels frame 1 box 4,5,60,12: a date" in out and "01/31/2024" not in out
    manifest = (tmp_path / "pkg" / "release-manifest.jsonl").read_text()
    assert "pixels frame 1 box 4,5,60,12: a date" in manifest and "01/31/2024" not in manifest
    assert _files(tmp_path / "pkg") == []
    # the same copy with nothing burned in: read, listed, released
    monkeypatch.setattr(engine, "ocr_frame", lambda *_a, **_k: calls.append(9) or [])
    code, out, err = _release(world, copies, tmp_path / "pkg2")
    assert code == 0, out + err
    (record,) = _files(tmp_path / "pkg2")
    assert record["scan"]["rules"] == ["Ultrasound"] and record["scan"]["pixels"].startswith("ocr: 1 frame")


@pytest.mark.parametrize("options", [["--pseudonym-prefix", "EDRN-"], ["--pseudonym-prefix", "SUBJ"],
                                     ["--option", "retain-institution-identity", "--option", "retain-full-dates"]],
                         ids=["pseudonym", "letters-prefix", "retained"])
def test_pseudonyms_and_what_an_option_keeps_are_released(world: dict[str, Any], tmp_path: Path,
                                                            options: list[str]) -> None:
    """A keyed pseudonym in PatientName is an ID, not a person; what the reviewer chose to keep is not a stop."""
    copies = tmp_path / "corrected"
    code, out, err = cli("fix", str(world["collection"] / META), "--root", str(world["collection"]),
                         "--out", str(copies), *options)
    assert code == 0, out + err
    code, out, err = _release(world, copies, tmp_path / "pkg")
    assert code == 0, out + err
    (record,) = _files(tmp_path / "pkg")
    assert record["scan"]["status"] == "clean"


def test_what_looks_like_a_person_name() -> None:
    from phi_review.core.release.scan_gate import looks_like_name

    for value in ("SMITH^ANNA", "Smith^Anna^B^Dr.", "O'NEIL^MARY-KATE", "SMITH ANNA", "Smith, Anna"):
        assert looks_like_name(value), value
    for value in ("EDRN-G746KR6XTJWN", "SUBJGQKRXTWNABCD", "SUBJ^G746KR6X", "PATIENT 1", "^", "A^B", "SMITH"):
        assert not looks_like_name(value), value
