"""A report row resolves to ITS file or to no file (core and CLI).

The tree holds one file name under three sites and events; a site's files are
deleted, ``--root`` points at the wrong site, a report names an absolute path
outside every root, corrected copies sit under the report's folder. Nothing may
resolve to a same-named file that contradicts the row, nothing outside the
roots is read, and output folders are never originals.
"""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

import numpy as np
import pytest
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

from phi_review.core.dicom.locate import FileIndex
from phi_review.tui.cli import main

HEADER = ["Site ID", "Event ID", "File Name", "Profile", "Score", "Findings", "Details"]
HDR = "\U0001f648 Possible PHI/PII in Header"
PIX = "\U0001f5bc\ufe0f Possible Burned-in PHI/PII (Pixels)"

# (site, event, patient name, patient id, study date, accession): invented, never real.
SITES = [
    ("SITE_A", "1000001", "VANTRELL^OSKAR", "MRN4411", "20240131", "ACC111"),
    ("SITE_B", "2000001", "ANONYMIZED", "ANON0001", "20240131", "ACC222"),
    ("SITE_C", "3000001", "ELDERKIN^JOSIAH^R", "MRN7788", "20230705", "ACC333"),
]
NAMES = ("IMG_0001.dcm", "IMG_0002.dcm")


def write_dicom(path: Path, name: str, pid: str, date: str, accession: str) -> Path:
    """A small CT-like file with an image and the identifying values given."""
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.7"
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID, ds.SOPInstanceUID = meta.MediaStorageSOPClassUID, meta.MediaStorageSOPInstanceUID
    ds.Modality = "OT"
    ds.PatientName, ds.PatientID, ds.StudyDate, ds.AccessionNumber = name, pid, date, accession
    ds.Rows = ds.Columns = 16
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 8, 8, 7, 0
    ds.PixelData = (np.arange(256, dtype=np.uint8) % 200).tobytes()
    path.parent.mkdir(parents=True, exist_ok=True)
    ds.save_as(path, enforce_file_format=True)
    return path


def header_details(tag: str, keyword: str, value: str) -> str:
    return f"{tag} ({keyword}), «{value}», Possible PHI/PII detection (score 1.00): Structured name detection «{value}»"


def build_tree(base: Path) -> dict[str, object]:
    """COLL/<site>/<event>/series1/{IMG_0001,IMG_0002}.dcm for three sites; a per-site report of 7 + 2 rows.

    Rows 0..6 name SITE_A's two files (the ones tests delete); rows 7, 8 name SITE_C's IMG_0001.
    """
    collection = base / "COLL"
    for site, event, name, pid, date, accession in SITES:
        for file_name in NAMES:
            write_dicom(collection / site / event / "series1" / file_name, name, pid, date, accession)
    rows: list[list[str]] = [HEADER]
    a_site, a_event, a_name, a_pid, a_date, _ = SITES[0]
    for file_name in NAMES:
        rows.append([a_site, a_event, file_name, "SC", "1.0", HDR, header_details("(0010,0010)", "PatientName", a_name)])
        rows.append([a_site, a_event, file_name, "SC", "1.0", HDR, header_details("(0010,0020)", "PatientID", a_pid)])
        rows.append([a_site, a_event, file_name, "SC", "1.0", PIX,
                     "MRN: 4411, Detected with pattern MRN_like at frame index -1"])
    rows.append([a_site, a_event, NAMES[0], "SC", "1.0", HDR, header_details("(0008,0020)", "StudyDate", a_date)])
    c_site, c_event, c_name = SITES[2][:3]
    rows.append([c_site, c_event, NAMES[0], "SC", "1.0", HDR, header_details("(0010,0010)", "PatientName", c_name)])
    rows.append([c_site, c_event, NAMES[0], "SC", "1.0", PIX, "MRN: 7788, Detected with pattern MRN_like at frame index -1"])
    reports = base / "reports"
    reports.mkdir(parents=True, exist_ok=True)
    report = reports / "SITES.csv"
    with report.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(rows)
    return {"collection": collection, "report": report, "rows": rows[1:]}


def delete_site_a(collection: Path) -> None:
    for file_name in NAMES:
        (collection / "SITE_A" / "1000001" / "series1" / file_name).unlink()


def findings_json(report: Path, *roots: Path, capsys) -> list[dict]:  # type: ignore[no-untyped-def]
    args = ["findings", str(report), "--json"]
    for root in roots:
        args += ["--root", str(root)]
    assert main(args) == 0
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


# ----------------------------------------------------------------------------- constraints


def test_root_at_the_wrong_site_never_yields_another_sites_file(tmp_path: Path, capsys) -> None:
    tree = build_tree(tmp_path)
    collection = tree["collection"]
    lines = findings_json(tree["report"], collection / "SITE_B", capsys=capsys)
    assert len(lines) == 9
    # Every row names SITE_A or SITE_C: SITE_B's same-named files are never the row's file.
    assert all(line["path"] is None for line in lines), [line["path"] for line in lines]
    index = FileIndex.build([collection / "SITE_B"])
    resolution = index.resolve("IMG_0001.dcm", "SITE_A", "1000001")
    assert resolution.path is None
    assert "not found where the report says (SITE_A/1000001" in resolution.message
    assert "SITE_B" in resolution.message and resolution.elsewhere  # offered, only through c


def test_deleted_files_resolve_to_nothing_not_to_a_twin(tmp_path: Path, capsys) -> None:
    tree = build_tree(tmp_path)
    collection = tree["collection"]
    delete_site_a(collection)
    (collection / "SITE_C" / "3000001" / "series1" / NAMES[1]).unlink()  # leaves one same-named file for IMG_0002
    lines = findings_json(tree["report"], collection, capsys=capsys)
    for line in lines[:7]:
        assert line["path"] is None, line
    assert lines[7]["path"].endswith("SITE_C/3000001/series1/IMG_0001.dcm")
    resolution = FileIndex.build([collection]).resolve("IMG_0002.dcm", "SITE_A", "1000001")
    assert resolution.path is None and resolution.status == "elsewhere"
    assert [p.parts[-4] for p in resolution.elsewhere] == ["SITE_B"]


def test_a_folder_in_the_name_is_a_constraint(tmp_path: Path) -> None:
    tree = build_tree(tmp_path)
    collection = tree["collection"]
    delete_site_a(collection)
    (collection / "SITE_C" / "3000001" / "series1" / NAMES[0]).unlink()
    index = FileIndex.build([collection])
    assert index.resolve("1000001/series1/IMG_0001.dcm").path is None  # only SITE_B's is left: it contradicts
    foreign = "/scanner/COLL/SITE_A/1000001/series1/IMG_0001.dcm"  # the validator's -c 1 path, tree moved
    assert index.resolve(foreign).path is None
    moved = index.resolve("/scanner/COLL/SITE_B/2000001/series1/IMG_0001.dcm")
    assert moved.path == collection / "SITE_B" / "2000001" / "series1" / "IMG_0001.dcm"
    # With no site column, the validator's own path says site and event (the folder before the 7-digit one).
    index = FileIndex.build([collection / "SITE_B"])
    assert index.resolve("/scanner/COLL/SITE_A/2000001/series1/IMG_0001.dcm").path is None


# ----------------------------------------------------------------------------- only the roots


def test_an_absolute_path_outside_the_roots_is_never_read(tmp_path: Path, capsys) -> None:
    tree = build_tree(tmp_path)
    outside = write_dicom(tmp_path / "elsewhere" / "LEAK_0001.dcm", "SECRET^NAME", "SECRETID", "19990101", "ACC999")
    report = tmp_path / "reports" / "leak.csv"
    with report.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        writer.writerow(["SITE_X", "9000001", str(outside), "SC", "1.0", HDR,
                         header_details("(0010,0010)", "PatientName", "SECRET^NAME")])
    root = tree["collection"]
    resolution = FileIndex.build([root]).resolve(str(outside))
    assert resolution.path is None and resolution.status == "outside" and "outside the roots" in resolution.message
    lines = findings_json(report, root, capsys=capsys)
    assert lines[0]["path"] is None
    assert main(["values", str(report), "--root", str(root), "--identifying", "--json"]) == 0
    out = capsys.readouterr().out
    assert "19990101" not in out and "ACC999" not in out and "SECRETID" not in out
    assert json.loads(out)["files"] == 0


def test_a_symlink_out_of_the_roots_is_not_indexed(tmp_path: Path) -> None:
    outside = write_dicom(tmp_path / "elsewhere" / "LINKED.dcm", "SECRET^NAME", "X", "19990101", "A")
    root = tmp_path / "root"
    root.mkdir()
    os.symlink(outside, root / "LINKED.dcm")
    (root / "inside").mkdir()
    write_dicom(root / "inside" / "REAL.dcm", "A^B", "1", "20000101", "B")
    os.symlink(root / "inside" / "REAL.dcm", root / "ALIAS.dcm")
    index = FileIndex.build([root])
    assert index.resolve("LINKED.dcm").path is None
    assert index.resolve("ALIAS.dcm").path == root / "ALIAS.dcm"  # a link that stays inside is a file like any


def test_output_folders_are_never_originals(tmp_path: Path, capsys) -> None:
    """Corrected copies under the report's folder (the screen's default) and a release package with our manifest."""
    from phi_review.core.remedy.output import append_manifest

    tree = build_tree(tmp_path)
    base = tmp_path / "reports"
    collection = tree["collection"]
    for out in (base / "corrected", base / "packages" / "release-1"):
        for site, event, *_ in SITES:
            for file_name in NAMES:
                copy = out / "COLL" / site / event / "series1" / file_name
                copy.parent.mkdir(parents=True, exist_ok=True)
                copy.write_bytes((collection / site / event / "series1" / file_name).read_bytes())
        append_manifest(out, {"original": "COLL/x.dcm", "copy": "x.dcm", "version": "0"})
    os.rename(collection, base / "COLL")  # originals now under the report's folder too, the default root
    lines = findings_json(tree["report"], capsys=capsys)
    assert all(line["path"] is not None and line["candidates"] == [] for line in lines), lines
    assert all("corrected" not in line["path"] and "packages" not in line["path"] for line in lines)
    index = FileIndex.build([base])
    assert sum(1 for _ in base.rglob("*.dcm")) == 3 * 3 * len(NAMES)
    assert index.count == 3 * len(NAMES) + len(list(base.glob("*.*")))  # originals and the report's folder only
    assert sorted(p.name for p in index.skipped) == ["corrected", "release-1"]


# ----------------------------------------------------------------------------- true ambiguity


def test_the_rows_value_narrows_true_candidates_and_says_so(tmp_path: Path, capsys) -> None:
    """A bare name, no site column: three files fit; only one holds the row's PatientName."""
    tree = build_tree(tmp_path)
    report = tmp_path / "bare.csv"
    with report.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["File Name", "Findings", "Details"])
        writer.writerow(["IMG_0001.dcm", HDR, header_details("(0010,0010)", "PatientName", "ELDERKIN^JOSIAH^R")])
        writer.writerow(["IMG_0001.dcm", HDR, header_details("(0008,0020)", "StudyDate", "20240131")])  # 2 hold it
        writer.writerow(["IMG_0001.dcm", PIX, "MRN: 1, Detected with pattern MRN_like at frame index -1"])
    lines = findings_json(report, tree["collection"], capsys=capsys)
    assert lines[0]["path"].endswith("SITE_C/3000001/series1/IMG_0001.dcm")
    assert lines[1]["path"] is None and len(lines[1]["candidates"]) == 2
    assert lines[2]["path"] is None and len(lines[2]["candidates"]) == 3

    from phi_review.core.report.pointer import resolve_row
    from phi_review.core.report.reader import read_report

    findings = read_report(report).findings
    index = FileIndex.build([tree["collection"]])
    narrowed = resolve_row(index, findings[0])
    assert narrowed.status == "narrowed" and len(narrowed.candidates) == 3
    assert "PatientName" in narrowed.message and "ELDERKIN" not in narrowed.message  # says how, not the value
    assert resolve_row(index, findings[1]).candidates and resolve_row(index, findings[1]).path is None


def test_chooser_values_show_what_differs(tmp_path: Path) -> None:
    from phi_review.core.dicom.locate_values import candidate_values

    tree = build_tree(tmp_path)
    collection = tree["collection"]
    paths = [collection / site / event / "series1" / NAMES[0] for site, event, *_ in SITES[:2]]
    values = candidate_values(paths, ["(0010,0010)"])
    # SITE_A and SITE_B share StudyDate: it does not tell them apart, so it is not shown.
    assert values[paths[0]] == [("PatientName", "VANTRELL^OSKAR"), ("PatientID", "MRN4411"), ("AccessionNumber", "ACC111")]
    assert values[paths[1]][0] == ("PatientName", "ANONYMIZED")
    single = candidate_values(paths[:1], [])
    assert ("StudyDate", "20240131") in single[paths[0]]  # one file: its identifying values, all of them


@pytest.mark.parametrize("name", ["IMG_0001.dcm", "series1/IMG_0001.dcm", "SITE_C/3000001/series1/IMG_0001"])
def test_a_row_that_says_enough_still_resolves(tmp_path: Path, name: str) -> None:
    tree = build_tree(tmp_path)
    resolution = FileIndex.build([tree["collection"]]).resolve(name, "SITE_C", "3000001")
    assert resolution.path == tree["collection"] / "SITE_C" / "3000001" / "series1" / "IMG_0001.dcm"
    assert resolution.status == "found"


def test_the_screens_output_folder_is_left_out_before_its_manifest_exists(tmp_path: Path) -> None:
    """A killed first copy leaves a copy and no manifest line yet: the folder named as output is still no original."""
    tree = build_tree(tmp_path)
    base = tmp_path / "reports"
    os.rename(tree["collection"], base / "COLL")
    copy = base / "corrected" / "COLL" / "SITE_A" / "1000001" / "series1" / NAMES[0]
    copy.parent.mkdir(parents=True)
    copy.write_bytes((base / "COLL" / "SITE_A" / "1000001" / "series1" / NAMES[0]).read_bytes())
    assert FileIndex.build([base]).resolve(NAMES[0], "SITE_A", "1000001").status == "ambiguous"
    index = FileIndex.build([base], exclude=[base / "corrected"])
    assert index.resolve(NAMES[0], "SITE_A", "1000001").path == base / "COLL" / "SITE_A" / "1000001" / "series1" / NAMES[0]
