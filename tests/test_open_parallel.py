"""Opening fast: the action list streamed without the cells, and the report read beside the screen's imports."""

from __future__ import annotations

import io
import random
import zipfile
from pathlib import Path

import pytest
from lxml import etree

from phi_review.core.report.action_list import list_formulas, read_without_cells, without_cells
from phi_review.core.report.reader import read_report

SHEETS = [
    b'<?xml version="1.0" encoding="UTF-8"?>\n<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><cols><col min="1" max="2"/></cols>'
    b'<sheetData><row r="1"><c t="inlineStr"><is><t>sheetData &lt;/sheetData&gt; sheetData</t></is></c></row>'
    b'</sheetData><dataValidations count="1"><dataValidation type="list" sqref="B2:B9"><formula1>"A,B"</formula1>'
    b"</dataValidation></dataValidations></worksheet>",
    b'<x:worksheet xmlns:x="urn:m"><x:sheetData/><x:dataValidations/></x:worksheet>',
    b'<x:worksheet xmlns:x="urn:m"><x:sheetData >' + b'<x:row r="1"/>' * 3000 + b"</x:sheetData ><x:ext/></x:worksheet>",
    b"<worksheet/>",
]


@pytest.mark.parametrize("sheet", SHEETS)
def test_cells_are_dropped_the_same_however_the_stream_is_cut(sheet: bytes) -> None:
    whole = without_cells([sheet])
    etree.fromstring(whole)  # still well-formed
    assert b"<row" not in whole and b"<x:row" not in whole
    rng = random.Random(len(sheet))
    for _ in range(300):
        cuts = sorted(rng.sample(range(1, len(sheet)), min(len(sheet) - 1, rng.randint(1, 8))))
        chunks = [sheet[a:b] for a, b in zip([0, *cuts], [*cuts, len(sheet)])]
        assert without_cells(iter(chunks)) == whole


def test_what_follows_the_cells_is_kept_and_found() -> None:
    assert list_formulas(SHEETS[0], 1) == ['"A,B"']
    assert b"dataValidations" in without_cells([SHEETS[0]])


def test_cells_that_never_end_are_refused_not_read_on() -> None:
    with pytest.raises(ValueError):
        without_cells([b"<worksheet><sheetData><row/>"])


def test_a_big_sheet_is_never_held_whole(tmp_path: Path) -> None:
    """The stream keeps a chunk and what surrounds the cells, not the 20 MB of rows."""
    rows = b"".join(b'<row r="%d"><c t="inlineStr"><is><t>x</t></is></c></row>' % n for n in range(1, 400_000))
    sheet = b'<worksheet xmlns="urn:m"><sheetData>' + rows + b"</sheetData><dataValidations/></worksheet>"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/worksheets/sheet1.xml", sheet)
    seen: list[int] = []

    def recording(chunks):
        for chunk in chunks:
            seen.append(len(chunk))
            yield chunk

    with zipfile.ZipFile(io.BytesIO(buffer.getvalue())) as archive, archive.open("xl/worksheets/sheet1.xml") as part:
        kept = without_cells(recording(iter(lambda: part.read(1 << 16), b"")))
    assert kept == b'<worksheet xmlns="urn:m"><dataValidations/></worksheet>'
    assert sum(seen) == len(sheet) and max(seen) <= 1 << 16
    with zipfile.ZipFile(io.BytesIO(buffer.getvalue())) as archive:
        assert read_without_cells(archive, "xl/worksheets/sheet1.xml") == kept


def test_the_report_list_comes_from_a_sheet_other_than_the_first_guess(tmp_path: Path) -> None:
    """The list is read in a thread for the first sheet; a header found on another sheet reads that one's."""
    from openpyxl import Workbook
    from openpyxl.worksheet.datavalidation import DataValidation

    book = Workbook()
    book.active.title = "Notes"
    book.active["A1"] = "nothing here"
    sheet = book.create_sheet("Findings")
    sheet.append(["File Name", "Validation Issue", "Detected Value", "Action"])
    sheet.append(["a.dcm", "Possible PHI/PII in Header", "DOE^JANE", ""])
    validation = DataValidation(type="list", formula1='"Keep,Drop,Ask"')
    validation.add("D2:D100")
    sheet.add_data_validation(validation)
    path = tmp_path / "two.xlsx"
    book.save(path)
    report = read_report(path)
    assert report.sheet == "Findings"
    assert report.actions == ["Keep", "Drop", "Ask"]


def test_prepare_review_says_a_bad_report_in_one_line(tmp_path: Path, monkeypatch, capsys) -> None:
    """The read runs in a thread: its error still reaches the reviewer as one line, exit 2, no traceback."""
    from phi_review.tui.cli import main

    monkeypatch.setenv("PHI_REVIEW_FORCE_SCREEN", "1")
    bad = tmp_path / "bad.xlsx"
    bad.write_bytes(b"PK\x03\x04 not really a zip")
    assert main(["review", str(bad), "--graphics", "none"]) == 2
    err = capsys.readouterr().err
    assert "bad.xlsx" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_prepare_review_freezes_the_rows_and_leaves_the_collector_as_it_was(tmp_path: Path, monkeypatch) -> None:
    import gc

    from phi_review.sample_reports.make_workbook import build_report_workbook, generate_rows
    from phi_review.tui.commands.review import prepare_review

    monkeypatch.setenv("PHI_REVIEW_FORCE_SCREEN", "1")
    path = build_report_workbook(tmp_path / "r.xlsx", generate_rows(300))
    frozen = gc.get_freeze_count()
    assert gc.isenabled()
    session, _app = prepare_review(path, roots=[], sheet=None, reviewer="rev", graphics="none", read_only=False)
    try:
        assert gc.isenabled()
        assert gc.get_freeze_count() > frozen  # the rows were frozen: no later collection walks them
        assert len(session.findings) == 300 and not session.read_only
    finally:
        session.close()
        gc.unfreeze()


def test_ctrl_c_while_the_report_is_read_leaves_no_lock(tmp_path: Path, monkeypatch) -> None:
    """Ctrl-C during start-up: the session the thread goes on opening is closed, so the report opens writable again."""
    import threading

    from phi_review.core.review.session import ReviewSession
    from phi_review.sample_reports.make_workbook import build_report_workbook, generate_rows
    from phi_review.tui.commands import review as command

    monkeypatch.setenv("PHI_REVIEW_FORCE_SCREEN", "1")
    path = build_report_workbook(tmp_path / "r.xlsx", generate_rows(200))
    opened = threading.Event()
    real_open = ReviewSession.open

    def slow_open(*args, **kwargs):
        session = real_open(*args, **kwargs)
        opened.set()
        return session

    def interrupted() -> None:
        opened.wait(30)  # the thread holds the lock now
        raise KeyboardInterrupt

    monkeypatch.setattr(ReviewSession, "open", slow_open)
    monkeypatch.setattr(command, "_warm_first_paint", interrupted)
    with pytest.raises(KeyboardInterrupt):
        command.prepare_review(path, roots=[], sheet=None, reviewer="rev", graphics="none", read_only=False)
    monkeypatch.setattr(ReviewSession, "open", real_open)
    import time

    deadline = time.monotonic() + 10  # the thread may still be returning its session: it is closed when it does
    while True:
        with ReviewSession.open(path, reviewer="rev") as again:
            if not again.read_only or time.monotonic() > deadline:
                break
        time.sleep(0.05)
    assert not again.read_only


def test_freed_memory_goes_back_to_the_system() -> None:
    """What a big read frees is returned (glibc keeps it otherwise, and the save's buffer comes on top)."""
    import sys

    from phi_review.core.common.memory import release_freed_memory

    def resident_mb() -> float:
        with open("/proc/self/statm") as handle:
            return int(handle.read().split()[1]) * 4096 / 2**20

    if not sys.platform.startswith("linux"):
        pytest.skip("resident memory read from /proc")
    rows = [[None] * 100 for _ in range(200_000)]  # 160 MB of row arrays from the C heap, like a parsed sheet
    later = [[0] * 100 for _ in range(200)]  # allocated after them: the heap's top is not free
    del rows
    before = resident_mb()
    assert release_freed_memory()
    assert resident_mb() < before - 100
    assert len(later) == 200
