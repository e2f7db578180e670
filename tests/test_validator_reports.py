"""The EDRN validator's CSV reports: one file, several or a folder as one report; what each row points at."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from phi_review.core.common.errors import ReportError
from phi_review.core.dicom.locate import FileIndex
from phi_review.core.report.csv_report import neutralize, split_records, unneutralize
from phi_review.core.report.model import Finding
from phi_review.core.report.pointer import (
    first_frame,
    match_tags,
    match_values,
    missing_tag_names,
    pointer_of,
    required_missing,
)
from phi_review.core.report.reader import read_report
from phi_review.core.review.journal import journal_path, read_records
from phi_review.core.review.session import ReviewSession
from phi_review.tui.cli import main

HEADER = ["Site ID", "Event ID", "File Name", "Profile", "Score", "Findings", "Details"]
HEADER_EVENT = ["Site ID", "Event ID", "File Name", "Score", "Findings", "Details"]
HDR = "\U0001f648 Possible PHI/PII in Header"
PIX = "\U0001f5bc\ufe0f Possible Burned-in PHI/PII (Pixels)"
MISS = "\u26a0\ufe0f Missing Required Tags"
WARN = "\U0001f46e Warning"
ERR = "\u274c Error"


def _csv_text(rows: list[list[str]], delimiter: str = ",", newline: str = "\r\n", quoting: int = csv.QUOTE_MINIMAL) -> str:
    out = io.StringIO(newline="")
    csv.writer(out, delimiter=delimiter, lineterminator=newline, quoting=quoting).writerows(rows)
    return out.getvalue()


def site_rows() -> list[list[str]]:
    return [
        HEADER,
        ["SiteA", "1000001", "a.dcm", "CT standard", "1.0", HDR,
         "(0010,0010) (PatientName), «DOE^JANE», Possible PHI/PII detection (score 1.00): Structured name detection «DOE^JANE»"],
        ["SiteA", "1000001", "a.dcm", "CT standard", "1.0", MISS,
         "(0020,0052) (FrameOfReferenceUID), «tag missing», Failed core tag validation: Required tag not found"],
        ["SiteA", "1000002", "a.dcm", "CT standard", "1.0", PIX,
         "MRN: 7212121\nline two, Detected with pattern MRN at frame index 3"],
        ["SiteA", "1000002", "b.dcm", "CT standard", "1.0", WARN,
         "«ct», (0008,0060) Value for Modality matches expected pattern but uses incorrect case; Modality must be"],
    ]


def event_rows() -> list[list[str]]:
    return [
        HEADER_EVENT,
        ["SiteB", "2000001", "c.dcm", "1.0", MISS,
         "(0008,0070) (Manufacturer), «value missing», Failed core tag validation: Tag found but missing a value"],
        ["SiteB", "2000001", "c.dcm", "1.0", ERR, "FAIL! File is unexpectedly small (1.6 kB), Skipping file"],
    ]


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """Two CSVs of different releases: BOM + CRLF + ',' and Latin-1-free LF + ';' with every field quoted."""
    out = tmp_path / "out"
    out.mkdir()
    (out / "SiteA.csv").write_bytes(b"\xef\xbb\xbf" + _csv_text(site_rows()).encode("utf-8"))
    (out / "SiteB-2000001.csv").write_bytes(
        _csv_text(event_rows(), delimiter=";", newline="\n", quoting=csv.QUOTE_ALL).encode("utf-8"))
    (out / "log.txt").write_text("not a report\n")
    return out


def test_folder_opens_as_one_report_each_row_keeps_its_source(folder: Path) -> None:
    report = read_report(folder)
    assert [s.name for s in report.sources] == ["SiteA.csv", "SiteB-2000001.csv"]
    assert [(f.source, f.row) for f in report.findings] == [
        ("SiteA.csv", 2), ("SiteA.csv", 3), ("SiteA.csv", 4), ("SiteA.csv", 5),
        ("SiteB-2000001.csv", 2), ("SiteB-2000001.csv", 3)]
    # Different layouts (with and without Profile) line up under one header.
    assert report.headers == HEADER
    last = report.findings[-1]
    assert last.site == "SiteB" and last.event == "2000001" and last.file == "c.dcm"
    assert "Profile" in report.headers and report.source_path(last) == folder / "SiteB-2000001.csv"


def test_save_keeps_every_byte_but_the_appended_cells(folder: Path) -> None:
    before = {p.name: p.read_bytes() for p in folder.glob("*.csv")}
    with ReviewSession.open(folder, reviewer="rev") as session:
        first, last = session.findings[3], session.findings[5]
        session.decide([3, 5], session.actions[0])
        session.set_note(5, "=HYPERLINK(\"http://x\")")
        session.save()
    for name, old in before.items():
        # The validator's files stay as written (its summarizer reads DIR/*/*.csv, 7 fields a row):
        # the decisions go to the hidden reviewed copy, the original's bytes with our cells spliced in.
        assert (folder / name).read_bytes() == old
        new = (folder / f".{name}.reviewed").read_bytes()
        assert new.startswith(b"\xef\xbb\xbf") == old.startswith(b"\xef\xbb\xbf")
        text_old, text_new = old.decode("utf-8-sig"), new.decode("utf-8-sig")
        rec_old, rec_new = split_records(text_old), split_records(text_new)
        assert len(rec_old) == len(rec_new)
        edited = {0, (first.row if name == "SiteA.csv" else last.row) - 1}
        delimiter = "," if name == "SiteA.csv" else ";"
        for number, (a, b) in enumerate(zip(rec_old, rec_new)):
            old_rec, new_rec = text_old[a[0]:a[2]], text_new[b[0]:b[2]]
            if number in edited:
                # Our cells are appended after the row's own fields, before its own line ending.
                body_old = text_old[a[0]:a[1]]
                assert new_rec.startswith(body_old + delimiter)
                assert new_rec.endswith(old_rec[len(body_old):])
            else:
                assert new_rec == old_rec
        rows = list(csv.reader(io.StringIO(text_new, newline=""), delimiter=delimiter))
        assert rows[0][-4:] == ["Action", "Reviewer", "Reviewed At", "Comments"]  # one order, whatever came first
    b_rows = list(csv.reader(io.StringIO((folder / ".SiteB-2000001.csv.reviewed").read_text(), newline=""),
                             delimiter=";"))
    assert b_rows[last.row - 1][len(HEADER_EVENT) + 3] == "'=HYPERLINK(\"http://x\")"  # neutralized for Excel
    assert not list(folder.glob("*.orig.orig.csv")) and sorted(p.name for p in folder.glob("*.csv")) == sorted(before)
    # Reopened: the same decisions and the note as typed; nothing pending in the journal; backups not read.
    with ReviewSession.open(folder, reviewer="rev") as again:
        assert again.recovered == 0 and not again.messages
        assert again.findings[3].action == again.actions[0] and again.findings[5].note == "=HYPERLINK(\"http://x\")"
        assert len(again.findings) == 6


def test_unsaved_decisions_of_several_files_recover_by_source(folder: Path) -> None:
    session = ReviewSession.open(folder, reviewer="rev")
    session.decide([1], session.actions[2])  # SiteA.csv row 3
    session.decide([4], session.actions[1])  # SiteB-2000001.csv row 2
    session.record_path(0, "/data/a.dcm")
    session.decide([0], session.actions[0])
    session.close()  # no save: a crash
    records, _ = read_records(journal_path(folder))
    assert {r.get("source") for r in records} == {"SiteA.csv", "SiteB-2000001.csv"}
    assert [r.get("path") for r in records if r["row"] == 2 and r.get("source") == "SiteA.csv"] == ["/data/a.dcm"]
    with ReviewSession.open(folder, reviewer="rev") as again:
        assert again.recovered == 3
        assert [f.action for f in again.findings][:5] == [
            again.actions[0], again.actions[2], "", "", again.actions[1]]


def test_neutralize_round_trips() -> None:
    for text in ("=1+1", "+x", "-3", "@SUM(A1)", "\tx", "'=x", "''@y", "plain", "'quoted'", ""):
        assert unneutralize(neutralize(text)) == text
    assert neutralize("=1+1") == "'=1+1" and neutralize("No Issue") == "No Issue"


def test_huge_field_opens_and_no_header_says_what_it_saw(tmp_path: Path) -> None:
    big = tmp_path / "big.csv"
    rows = site_rows()
    rows[1][-1] = "x" * (300 * 1024)
    big.write_text(_csv_text(rows), encoding="utf-8")
    assert len(read_report(big).findings[0].details) == 300 * 1024
    odd = tmp_path / "odd.csv"
    odd.write_text("Patient,Study,Image\r\nx,y,z\r\n", encoding="utf-8")
    with pytest.raises(ReportError, match="columns seen: Patient, Study, Image"):
        read_report(odd)


def test_several_files_on_the_command_line_and_decide_all_rows(folder: Path, capsys) -> None:
    files = [str(folder / "SiteA.csv"), str(folder / "SiteB-2000001.csv")]
    assert main(["decide", *files, "SiteB-2000001.csv:2", "1", "--all-rows", "--reviewer", "rev"]) == 0
    assert "2 rows of c.dcm" in capsys.readouterr().out
    report = read_report([Path(f) for f in files])
    assert [f.action for f in report.findings if f.file == "c.dcm"] == [report.actions[0]] * 2
    # a.dcm is in two events: by name it is ambiguous, by a row number it is that row's file.
    assert main(["decide", *files, "a.dcm", "2", "--all-rows"]) == 2
    assert "names 2 different files" in capsys.readouterr().err
    assert main(["decide", *files, "2", "2"]) == 2
    assert "several report files" in capsys.readouterr().err
    assert main(["decide", *files, "SiteA.csv:2", "2", "--all-rows"]) == 0
    report = read_report([Path(f) for f in files])
    assert [f.action for f in report.findings][:3] == [report.actions[1]] * 2 + [""]


def test_findings_json_keys_and_values(folder: Path, tmp_path: Path, capsys) -> None:
    tree = tmp_path / "tree" / "COLL"
    _plant(tree / "SiteA" / "1000001" / "s1" / "a.dcm")
    _plant(tree / "SiteA" / "1000002" / "s1" / "a.dcm", frames=30)
    assert main(["findings", str(folder), "--root", str(tmp_path / "tree"), "--json"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert all(list(line) == ["row", "source", "file", "path", "candidates", "kind", "tags", "value", "frame",
                              "action", "note"] for line in lines)
    assert [line["kind"] for line in lines] == ["header", "missing", "pixels", "warning", "missing", "error"]
    assert lines[0]["tags"] == ["(0010,0010)"] and lines[0]["value"] == "DOE^JANE"
    assert lines[1]["tags"] == ["(0020,0052)"] and lines[1]["value"] == ""
    assert lines[0]["path"].endswith("1000001/s1/a.dcm") and lines[2]["path"].endswith("1000002/s1/a.dcm")
    assert lines[2]["frame"] == 3 * (30 // 4) + 1
    assert lines[3]["path"] is None and lines[3]["candidates"] == []
    assert lines[5]["source"] == str(folder / "SiteB-2000001.csv")


def _plant(path: Path, frames: int = 1) -> Path:
    import numpy as np
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, generate_uid

    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.7"
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID, ds.SOPInstanceUID = meta.MediaStorageSOPClassUID, meta.MediaStorageSOPInstanceUID
    ds.Rows = ds.Columns = 8
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 8, 8, 7, 0
    if frames > 1:
        ds.NumberOfFrames = frames
    ds.PixelData = np.zeros((frames, 8, 8), np.uint8).tobytes()
    path.parent.mkdir(parents=True, exist_ok=True)
    ds.save_as(path, enforce_file_format=True)
    return path


# ----------------------------------------------------------------------------- pointer


def _finding(issue: str, details: str = "", value: str = "", tag: str = "", profile: str = "") -> Finding:
    return Finding(row=2, file="f.dcm", issue=issue, value=value, tag=tag, details=details, profile=profile)


@pytest.mark.parametrize(
    ("issue", "details", "value", "tag", "tags", "values", "missing"),
    [
        (HDR, "(0010,0010) (PatientName), «DOE^JANE», Possible PHI/PII detection (score 1.00): x", "", "",
         ["(0010,0010)"], [], []),
        (MISS, "(0020,0052) (FrameOfReferenceUID), «tag missing», Failed core tag validation: y", "", "",
         ["(0020,0052)"], [], ["(0020,0052)"]),
        (WARN, "tag missing, Required tag not found in DICOM dataset: (0020,0052) FrameOfReferenceUID", "", "",
         ["(0020,0052)"], [], ["(0020,0052)"]),
        # Workbooks without Details: the placeholder is not split into tag names; the Tag column counts.
        ("Missing Required Tags", "", "tag missing", "(0008,0070)", ["(0008,0070)"], [], ["(0008,0070)"]),
        ("Missing Required Tags", "", "value missing", "", [], [], []),
        ("Missing Required Tags", "", "PatientID, StudyDate", "", [], [], ["PatientID", "StudyDate"]),
        ("Possible PHI/PII in Header", "", "DOE^JANE", "", [], ["DOE^JANE"], []),
        ("Possible PHI/PII in Header", "", "DOE^JANE", "PatientName", ["(0010,0010)"], [], []),
    ],
)
def test_pointer_table(issue, details, value, tag, tags, values, missing) -> None:
    finding = _finding(issue, details, value, tag)
    assert match_tags(finding) == tags
    assert match_values(finding) == values
    assert required_missing(finding) == missing


def test_missing_tag_names_never_splits_placeholders_or_tags() -> None:
    assert missing_tag_names("tag missing") == [] and missing_tag_names("«value missing»") == []
    assert missing_tag_names("(0020,0052) FrameOfReferenceUID") == ["(0020,0052)"]
    assert missing_tag_names("PatientID; StudyDate / Modality") == ["PatientID", "StudyDate", "Modality"]


@pytest.mark.parametrize(("index", "frames", "expected"), [(3, 30, 21), (2, 6, 2), (-1, 1, 0), (0, 12, 0), (1, 12, 3)])
def test_first_frame_follows_the_validators_sampling(index: int, frames: int, expected: int) -> None:
    finding = _finding(PIX, f"MRN: 1, Detected with pattern MRN at frame index {index}")
    assert pointer_of(finding).kind == "pixels"
    assert first_frame(finding, frames) == expected
    assert first_frame(_finding(HDR, "(0010,0010) (PatientName), «X», Possible PHI/PII detection"), 30) == 0


def test_groups_never_join_different_tags_under_a_placeholder(folder: Path) -> None:
    with ReviewSession.open(folder, read_only=True) as session:
        values = {g.value for g in session.groups()}
        assert "tag missing" not in {v.lower() for v in values} and "(0020,0052)" in values
        by_file = session.groups(by="file")
        assert sorted(len(g.indexes) for g in by_file) == [1, 1, 2, 2]
        assert {g.value for g in session.groups(by="tag")} >= {"(0020,0052)", "(0008,0070)"}
        assert session.rows_of_file(0) == [0, 1]  # a.dcm of event 1000001, not the one in 1000002
        assert session.filter("issue:warning") == [3] and session.filter("issue:error") == [5]
        assert session.filter("incorrect case") == [3]  # Details is searched
        assert session.filter("1000002") == [2, 3] and session.filter("kind:missing") == [1, 4]


# ----------------------------------------------------------------------------- names


@pytest.mark.parametrize(
    ("name", "site", "event", "expected"),
    [
        ("a.dcm", "SiteA", "1000001", "COLL/SiteA/1000001/s1/a.dcm"),
        ("a.dcm", "SiteA", "1000002", "COLL/SiteA/1000002/s1/a.dcm"),
        ("a.dcm", "", "", None),  # ambiguous without site/event
        ("1000002/s1/a.dcm", "", "", "COLL/SiteA/1000002/s1/a.dcm"),
        ("/scanner/mnt/COLL/SiteA/1000001/s1/a.dcm", "", "", "COLL/SiteA/1000001/s1/a.dcm"),
        ("C:\\scan\\COLL\\SiteA\\1000002\\s1\\a.dcm", "", "", "COLL/SiteA/1000002/s1/a.dcm"),
        ("b", "", "", "COLL/SiteB/2/b"),  # the exact name beats b.dcm
        ("b.dcm", "", "", "COLL/SiteB/1/b.dcm"),
    ],
)
def test_name_resolution(tmp_path: Path, name: str, site: str, event: str, expected: str | None) -> None:
    for rel in ("COLL/SiteA/1000001/s1/a.dcm", "COLL/SiteA/1000002/s1/a.dcm", "COLL/SiteB/1/b.dcm", "COLL/SiteB/2/b"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes(b"x")
    resolution = FileIndex.build([tmp_path]).resolve(name, site, event)
    if expected is None:
        assert resolution.path is None and len(resolution.candidates) == 2
    else:
        assert resolution.path == tmp_path / expected


# ----------------------------------------------------------------------------- the real validator


OTHER_RELEASES = ("/opt/labcas-validator/venv-1.0.0/bin/validate-dicom-files",  # per-site, no WindowWidth check
                  "/opt/labcas-validator/venv-git0/bin/validate-dicom-files")  # pre-1.0: one CSV per event


def _run_validator(collection: Path, out: Path, single: bool, exe: str | None = None) -> str:
    """Run the real validate-dicom-files on ``collection``; its version. Fails under CI when it is missing."""
    import os
    import shutil
    import subprocess

    exe = exe or os.environ.get("PHI_REVIEW_VALIDATOR", "/opt/labcas-validator/venv/bin/validate-dicom-files")
    if not os.access(exe, os.X_OK) or shutil.which("tesseract") is None:
        problem = f"the EDRN validator ({exe}) or tesseract is not installed: run .ci/install-validator.sh"
        if os.environ.get("CI"):
            pytest.fail(problem)
        pytest.skip(problem)
    version = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=60).stdout.strip()
    out.mkdir(parents=True)
    done = subprocess.run([exe, "-q", "-c", "1" if single else "2", "-o", str(out), str(collection)],
                          cwd=out, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    return version


def _workbook_from(csvs: list[Path], target: Path) -> Path:
    """What the informatics center makes: one sheet, a title row, the usual names, labels without emoji."""
    from openpyxl import Workbook

    renamed = {"File Name": "LabCAS File Name", "Findings": "Validation Issue"}
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["Reconciliation report (synthetic)"])
    header_done = False
    for path in csvs:
        rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"), newline="")))
        header = [renamed.get(h, h) for h in rows[0]]
        if not header_done:
            sheet.append(header)
            header_done = True
        for row in rows[1:]:
            cells = dict(zip(header, row))
            cells["Validation Issue"] = cells["Validation Issue"].encode("ascii", "ignore").decode().strip()
            sheet.append([cells.get(h, "") for h in header])
    workbook.save(target)
    return target


def _releases() -> list:
    import os

    return [pytest.param(None, id="main")] + [
        pytest.param(exe, id=Path(exe).parents[1].name,
                     marks=pytest.mark.skipif(not os.path.exists(exe), reason=f"{exe} not installed"))
        for exe in OTHER_RELEASES]


@pytest.mark.parametrize("exe", _releases())
def test_real_validator_output_lands_on_what_each_row_names(exe: str | None, tmp_path: Path, capsys) -> None:
    from phi_review.core.dicom.header import read_header
    from phi_review.core.report.validator import parse_details
    from validator.make_tree import expected, make_validator_tree

    manifest = make_validator_tree(tmp_path / "scan")
    collection = manifest["collection"]
    version = _run_validator(collection, tmp_path / "out", single=False, exe=exe)
    _run_validator(collection, tmp_path / "out-c1", single=True, exe=exe)
    # The tree moves after the scan: -c 1's absolute paths are now foreign and resolve by their suffix.
    here = tmp_path / "here"
    (tmp_path / "scan").rename(here)
    index = FileIndex.build([here])
    files = manifest["files"]
    csvs = sorted((tmp_path / "out").glob("*.csv"))
    workbook = _workbook_from(csvs, tmp_path / "reconciliation.xlsx")

    checked = {"header": 0, "missing": 0, "warning": 0, "pixels": 0}
    for report_path in (tmp_path / "out", tmp_path / "out-c1", workbook):
        report = read_report(report_path)
        assert len(report.findings) >= 20
        for finding in report.findings:
            resolution = index.resolve(finding.file, finding.site, finding.event)
            assert resolution.path is not None, (finding.file, resolution.message)
            entry = files[resolution.path.relative_to(here / collection.name).as_posix()]
            pointer = pointer_of(finding)
            details = parse_details(finding.details, pointer.kind, finding.profile or None)
            if pointer.kind in ("header", "missing", "warning"):
                assert list(pointer.tags) == list(details.tags) and len(pointer.tags) == 1, finding.details
                assert pointer.tags[0] in expected(entry, version, pointer.kind)
                header = read_header(resolution.path, match_values=match_values(finding),
                                     match_tags=match_tags(finding), required_missing=required_missing(finding))
                landed = [row.tag for row in header.rows if row.matched or row.missing]
                assert landed == [pointer.tags[0]], (finding.details, landed)
                assert not is_placeholder_value(pointer.value)
                checked[pointer.kind] += 1
            elif pointer.kind == "pixels":
                planted = {p["frame"] for p in entry["pixels"] if p["sampled"]}
                assert first_frame(finding, entry["frames"]) in planted
                checked["pixels"] += 1
    assert all(checked.values()), checked

    # A per-file decision on the raw CSVs saves and comes back; the validator's own summarizer
    # (it reads tmp_path/*/*.csv: out/ and out-c1/) gives the same summary before and after.
    from test_csv_sidecar_summarizer import _main_summarizer, summarize

    summarizer = _main_summarizer() if exe is None else None
    before = summarize(summarizer, tmp_path, tmp_path / "before.csv") if summarizer else b""
    with ReviewSession.open(tmp_path / "out", reviewer="rev") as session:
        target = next(i for i, f in enumerate(session.findings) if f.file == "bad_tags.dcm")
        rows = session.rows_of_file(target)
        assert len(rows) >= 4
        session.decide_rows(rows, session.actions[2])
        session.save()
    again = read_report(tmp_path / "out")
    decided = [i for i, f in enumerate(again.findings) if f.action]
    assert decided == rows
    if summarizer:
        assert summarize(summarizer, tmp_path, tmp_path / "after.csv") == before

    # findings --json agrees: every name resolves, pixel rows show the planted frame first.
    assert main(["findings", str(tmp_path / "out-c1"), "--root", str(here), "--json"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(lines) == len(read_report(tmp_path / "out-c1").findings)
    for line in lines:
        assert line["path"] is not None and line["candidates"] == []
        if line["kind"] == "pixels":
            entry = files[Path(line["path"]).relative_to(here / collection.name).as_posix()]
            assert line["frame"] - 1 in {p["frame"] for p in entry["pixels"] if p["sampled"]}


def is_placeholder_value(value: str) -> bool:
    from phi_review.core.report.pointer import is_placeholder

    return bool(value) and is_placeholder(value)


@pytest.mark.parametrize("text", [
    "(0010,0010) (PatientName), «DOE^JANE», Possible PHI/PII detection (score 1.00): Structured name detection «DOE^JANE»",
    '(0008,0090) (ReferringPhysicianName), «ROE^R», Possible PHI/PII detection (score 0.85): Strict high-risk tag "ReferringPhysicianName" may need closer look',
    "(0010,4000) (PatientComments), «DOB: 02/03/1971, seen by Dr Roe», Possible PHI/PII detection (score 1.00): Using pattern DOB_like",
    "(0010,4000) (PatientComments), «x», Possible PHI/PII detection (score 1.00): see (0010,0010) PatientName",
    "(0010,0010) (PatientName), «tag missing», Possible PHI/PII detection (score 1.00): odd",
    "(0010,0010) (PatientName), «««nested»»», Possible PHI/PII detection (score 1.00): x",
])
def test_fast_header_path_equals_the_parser(text: str) -> None:
    from phi_review.core.report.validator import parse_details

    slow = parse_details(text, "header")
    pointer = pointer_of(_finding(HDR, text))
    assert (pointer.tags, pointer.value, pointer.placeholder) == (slow.tags, slow.value, slow.placeholder)


def test_latin1_tab_and_stray_quotes_keep_their_bytes(tmp_path: Path) -> None:
    """A Latin-1, tab-separated file with a stray quote in an unquoted field and a quoted line break."""
    path = tmp_path / "odd.csv"
    lines = ["File Name\tValidation Issue\tDetected Value", "a.dcm\tPossible PHI/PII in Header\t5\" disk caf\xe9",
             "b.dcm\tPossible PHI/PII in Header\t\"two\nlines\"", "c.dcm\tMissing Required Tags\tPatientID"]
    original = ("\n".join(lines) + "\n").encode("latin-1")
    path.write_bytes(original)
    with ReviewSession.open(path, reviewer="rev") as session:
        assert session.findings[0].value == "5\" disk caf\xe9" and session.findings[1].value == "two\nlines"
        session.decide([2], session.actions[0])
        session.set_note(2, "@ok")
        session.save()
    new = path.read_bytes()
    head, _, rest = new.partition(b"\n")
    assert head == b"File Name\tValidation Issue\tDetected Value\tAction\tReviewer\tReviewed At\tComments"
    assert rest.startswith(original.partition(b"\n")[2].rsplit(b"\n", 2)[0] + b"\n")
    assert b"c.dcm\tMissing Required Tags\tPatientID\tNo Issue / False Positive\trev\t" in new and new.endswith(b"\t'@ok\n")
    assert read_report(path).findings[2].note == "@ok"


def test_issue_labels_of_both_run_modes_are_one_issue(tmp_path: Path) -> None:
    rows = site_rows()
    nbsp = [r[:] for r in rows]
    nbsp[2][5] = "\u26a0\ufe0f\xa0 Missing Required Tags"  # what -c 1 writes
    (tmp_path / "pool.csv").write_text(_csv_text(rows), encoding="utf-8")
    (tmp_path / "c1.csv").write_text(_csv_text(nbsp), encoding="utf-8")
    report = read_report([tmp_path / "pool.csv", tmp_path / "c1.csv"])
    assert len({f.issue for f in report.findings if pointer_of(f).kind == "missing"}) == 1


def test_the_journal_of_a_folder_is_private(folder: Path) -> None:
    import stat

    for path in folder.glob("*.csv"):
        path.chmod(0o600)
    folder.chmod(0o755)
    with ReviewSession.open(folder, reviewer="rev") as session:
        session.decide([0], session.actions[0])
    assert stat.S_IMODE(journal_path(folder).stat().st_mode) & 0o077 == 0


def test_findings_output_is_inert(tmp_path: Path, capsys) -> None:
    path = tmp_path / "r.csv"
    rows = site_rows()
    rows[1][2] = "\x1b]52;c;aGk=\x07evil.dcm"
    rows[1][6] = rows[1][6].replace("DOE^JANE", "[bold]DOE\x1b[31m")
    path.write_text(_csv_text(rows), encoding="utf-8")
    for extra in ([], ["--json"]):
        assert main(["findings", str(path), "--root", str(tmp_path), *extra]) == 0
        out = capsys.readouterr().out
        assert "\x1b" not in out and "\x07" not in out
        assert "\\x1b]52" in out.replace("\\\\", "\\")


def test_our_columns_never_overwrite_a_field_without_a_header(tmp_path: Path) -> None:
    path = tmp_path / "ragged.csv"
    path.write_text("File Name,Validation Issue,Detected Value\r\na.dcm,Possible PHI/PII in Header,X,extra\r\n",
                    encoding="utf-8")
    with ReviewSession.open(path, reviewer="rev") as session:
        session.decide([0], session.actions[0])
        session.save()
    rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"), newline="")))
    assert rows[1][:5] == ["a.dcm", "Possible PHI/PII in Header", "X", "extra", session.actions[0]]
    assert rows[0][3:5] == ["", "Action"]
    with ReviewSession.open(path, reviewer="rev") as again:
        assert again.findings[0].action == again.actions[0]


def test_review_takes_several_csv_files(folder: Path, capsys, monkeypatch) -> None:
    from phi_review.tui.commands.review import prepare_review

    files = [folder / "SiteA.csv", folder / "SiteB-2000001.csv"]
    monkeypatch.setenv("PHI_REVIEW_FORCE_SCREEN", "1")
    session, app = prepare_review(files, roots=[], sheet=None, reviewer="rev", graphics="none", read_only=True)
    try:
        assert [source.path for source in session.report.sources] == files  # opened as one report
        assert app.session is session
    finally:
        session.close()
    monkeypatch.delenv("PHI_REVIEW_FORCE_SCREEN", raising=False)
    assert main(["review", *map(str, files), "--read-only"]) == 2  # no terminal here: said before any read
    assert "needs a terminal" in capsys.readouterr().err
