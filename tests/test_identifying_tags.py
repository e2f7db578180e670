"""Residual identifiers: the header marks every attribute that still names or dates someone."""

from __future__ import annotations

import json

from pydicom.datadict import tag_for_keyword
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

from phi_review.core.dicom.header import read_header
from phi_review.core.dicom.identifying_tags import IDENTIFYING, is_identifying, rank
from phi_review.tui.cli import main
from phi_review.tui.widgets.header_pane import header_line


def _file(tmp_path):
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.7"
    ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID
    ds.StudyDate = "20240131"
    ds.StudyTime = "104200"  # times are not listed: they name no one without the date
    ds.InstitutionName = "MERCY GENERAL HOSPITAL"
    ds.ReferringPhysicianName = ""  # empty: nothing to look at
    ds.PatientName = "DOE^JANE"
    ds.PatientID = "MRN-0042"
    ds.OtherPatientIDsSequence = []  # a sequence with no items holds nothing
    inner = Dataset()
    inner.PatientID = "ALT-7"
    ds.ReferencedPatientSequence = [inner]
    ds.Modality = "OT"
    path = tmp_path / "ids.dcm"
    ds.save_as(path, enforce_file_format=True)
    return path


def test_every_listed_keyword_is_a_dicom_keyword():
    assert not [k for k in IDENTIFYING if tag_for_keyword(k) is None]


def test_rows_that_name_or_date_someone_are_marked(tmp_path):
    result = read_header(_file(tmp_path), match_values=["DOE^JANE"])
    marked = {(r.keyword, r.depth) for r in result.rows if r.identifying}
    assert marked == {("PatientName", 0), ("PatientID", 0), ("InstitutionName", 0), ("StudyDate", 0),
                      ("PatientID", 2)}  # inside ReferencedPatientSequence's item
    # The flagged value is the finding itself; the rest are listed, the patient's own first.
    assert result.other_identifying() == ["PatientID", "InstitutionName", "StudyDate"]


def test_the_pane_and_the_command_show_the_mark_as_text(tmp_path, capsys):
    path = _file(tmp_path)
    rows = {r.keyword: r for r in read_header(path, match_values=["DOE^JANE"]).rows if r.depth == 0}
    assert header_line(rows["PatientName"]).startswith("▶ ")  # the flagged one keeps its own mark
    assert header_line(rows["InstitutionName"]).startswith("• ")
    assert header_line(rows["StudyTime"]).startswith("  ")
    assert main(["header", str(path)]) == 0
    out = capsys.readouterr().out
    assert "# identifying tags that hold values (*): PatientID, PatientName, InstitutionName, StudyDate" in out
    assert any(line.startswith(" * ") and "InstitutionName" in line for line in out.splitlines())
    assert main(["header", str(path), "--json"]) == 0
    rows_json = json.loads(capsys.readouterr().out)["rows"]
    assert {r["keyword"] for r in rows_json if r["identifying"]} == {"PatientName", "PatientID", "InstitutionName",
                                                                     "StudyDate"}


def test_rank_puts_the_patient_first():
    assert rank("PatientName") < rank("ReferringPhysicianName") < rank("InstitutionName") < rank("StudyDate")
    assert rank("StudyDate") < rank("StudyDescription") < rank("Modality")
    assert is_identifying("StudyDescription", "KNEE") and not is_identifying("Modality", "CT")
    assert not is_identifying("OtherPatientIDsSequence", "<sequence of 0 item(s)>", "SQ")


async def test_header_pane_steps_through_flagged_and_identifying_rows(tmp_path):
    from tui_helpers import fresh_demo, make_app, wait_for

    from phi_review.tui.widgets.findings_list import FindingsList
    from phi_review.tui.widgets.header_pane import HeaderPane

    app = make_app(fresh_demo(tmp_path))
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: 0 in app.review.files.loaded)
        header = app.query_one(HeaderPane)
        await wait_for(pilot, lambda: bool(header.rows))
        assert header.rows[header.cursor].matched  # opens on the flagged row
        header.focus()
        visited = []
        for _ in range(4):
            await pilot.press("greater_than_sign")
            visited.append(header.cursor)
        rows = [header.rows[i] for i in visited]
        assert all(r.matched or r.identifying or r.missing for r in rows)
        assert len(set(visited)) == 4  # each press moves to another such row
        assert header.matches("is:identifying") == [i for i, r in enumerate(header.rows) if r.identifying]
        await pilot.press("less_than_sign")
        assert header.cursor == visited[-2]
        # Scrolled far down, the finding and the identifying list stay pinned on top.
        for _ in range(3):
            await pilot.press("pagedown")
        assert header.scroll_offset.y > 0
        # (long context lines wrap to the pane's width instead of being cut)
        top = ["".join(seg.text for seg in header.render_line(y)) for y in range(header._pinned())]
        assert top[0].startswith("Row 4 · ")
        assert any(line.startswith("Also identifying (•, I lists all): ") for line in top[1:])
        app.query_one(FindingsList).focus()
        await pilot.press("I")  # the whole list, with values
        body = str(app.screen.query_one("#text-body").render())
        assert "▶ (0008,0080) LO InstitutionName: JFK IMAGING CENTER" in body
        assert "• (0010,0010) PN PatientName: " in body and "(0008,0030)" not in body  # no times
        await pilot.press("escape", "q")
