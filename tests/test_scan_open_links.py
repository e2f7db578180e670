"""The scan's own output opens in the review screen on the right file and frame, also for a file the scan read
through a symbolic link to outside the scanned trees.

The review reads only files under its roots and leaves out links that lead out of them; the scan follows them
(as the validator does) and names the file by the link's path. Before, such a row opened nothing and said the
file was "not found" under the very tree that holds the link. Now the scan records each (link, real path) it
read, and the review of that scan's output with the same trees as roots opens exactly those links, only while
each still leads where it led; any other link to outside is refused in one line that says how to allow it."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np
import pytest

from phi_review.core.dicom.locate import FileIndex
from phi_review.core.dicom.pixels import render_frame
from phi_review.core.ocr.engine import OCR_PRESET
from phi_review.core.report.pointer import first_frame, resolve_row
from phi_review.core.review.session import ReviewSession
from phi_review.core.scan import checks, run
from phi_review.core.scan.checks import FileResult, Options
from phi_review.core.scan.links import scan_links
from phi_review.core.scan.sink import STATE_DIR
from phi_review.core.scan.walk import Target
from phi_review.sample_reports.make_dicom import burned_in_text_image

from scan_tree import PATIENT, text_on_one_frame

TEXT_FRAME = 6  # 0-based: the 7th of 12 frames, one the validator never reads (it reads 0, 3, 6, 9: k*(12//4))
FRAMES = 12


class InProcessPool:
    """The scan's pool, in this process, so the test's stand-in OCR is the one that reads."""

    def __init__(self, options: Options, workers: int, timeout: float, memory_mb: int) -> None:
        self.options, self.frames = options, 0

    def run(self, targets: Iterable[Target], tick: object = None) -> Iterator[FileResult]:
        for target in targets:
            yield checks.scan_file(target, self.options)


def _scanned(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path, Path]:
    """(collection, scan output, the link): far.dcm in the event folder is a link to a 12-frame file outside the
    collection with a name burned into frame 7 only."""
    coll = tmp_path / "Collection"
    event = coll / "Images_Site_A" / "1234567"
    burned_in_text_image(event / "near.dcm", [], size=(40, 30), modality="OT", patient=PATIENT)
    real = text_on_one_frame(tmp_path / "elsewhere" / "cine.dcm", frames=FRAMES, text_frame=TEXT_FRAME)
    link = event / "far.dcm"
    os.symlink(real, link)
    burned_in_text_image(tmp_path / "series" / "deep.dcm", [], size=(40, 30), modality="OT", patient=PATIENT)
    os.symlink(tmp_path / "series", event / "linked_series")  # a link to a folder outside: its files too
    blank = render_frame(str(real), 0, preset=OCR_PRESET)  # the picture the scan reads

    def fake_ocr(image: np.ndarray, terms: list[object]) -> tuple[tuple[str, ...], str, str]:
        if image.shape == blank.shape and not np.array_equal(image, blank):
            return ("DOE JANE",), "ocr:identifier", "matches PatientName"
        return (), "", ""

    monkeypatch.setattr(checks, "_ocr_lines", fake_ocr)
    monkeypatch.setattr(run, "Pool", InProcessPool)
    out = tmp_path / "out"
    summary = run.scan([str(coll)], out, Options(ocr=True), workers=1, progress=None)
    assert summary.outside == 2 and summary.errors == 0
    return coll, out, link


def _far_pixel_row(session: ReviewSession) -> int:
    (index,) = [n for n, f in enumerate(session.findings) if f.file == "far.dcm" and "ocr:" in f.details]
    return index


def test_a_scan_row_through_a_link_to_outside_opens_on_its_frame(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    coll, out, link = _scanned(tmp_path, monkeypatch)
    state = json.loads((out / STATE_DIR / "state.json").read_text())
    deep = link.parent / "linked_series" / "deep.dcm"
    assert state["links"] == [[str(link), os.path.realpath(link)], [str(deep), os.path.realpath(deep)]]
    session = ReviewSession.open(out, reviewer="tester")
    try:
        finding = session.findings[_far_pixel_row(session)]
        assert first_frame(finding, FRAMES) == TEXT_FRAME  # lands on frame 7 (1-based)

        allowed = FileIndex.build([coll], links=scan_links(out, [coll]))
        assert resolve_row(allowed, finding).path == link  # the link's own path under the tree
        deep_rows = [f for f in session.findings if f.file == "deep.dcm"]  # header rows, files under a folder link
        assert deep_rows and all(resolve_row(allowed, f).path == deep for f in deep_rows)

        plain = FileIndex.build([coll])  # any other report, or no scan state: refused, in one line saying why
        refused = resolve_row(plain, finding)
        assert refused.path is None and refused.status == "outside"
        assert "symbolic link to outside the roots" in refused.message and "--root" in refused.message
        assert "\n" not in refused.message
    finally:
        session.close()


def test_a_link_retargeted_since_the_scan_or_under_other_roots_is_refused(tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    coll, out, link = _scanned(tmp_path, monkeypatch)
    other_root = tmp_path / "elsewhere"
    assert scan_links(out, [other_root]) == {}  # the link is not under the roots given now
    assert str(link) in scan_links(out, [coll])
    secret = tmp_path / "secret.dcm"
    burned_in_text_image(secret, [], size=(40, 30), modality="OT", patient=PATIENT)
    link.unlink()
    os.symlink(secret, link)  # a link the scan did not read: not what the scan allowed
    assert str(link) not in scan_links(out, [coll])
    links = {str(link): os.path.realpath(tmp_path / "elsewhere" / "cine.dcm")}
    index = FileIndex.build([coll], links=links)  # even when handed the old pair, the index checks it again
    session = ReviewSession.open(out, reviewer="tester")
    try:
        assert resolve_row(index, session.findings[_far_pixel_row(session)]).path is None
    finally:
        session.close()


async def test_the_review_screen_opens_the_linked_file_on_frame_7(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    from phi_review.tui.app import ReviewApp
    from phi_review.tui.terminal.graphics import GraphicsChoice, TerminalCaps, prepare_textual_image
    from phi_review.tui.widgets.findings_list import FindingsList
    from phi_review.tui.widgets.preview_pane import PreviewPane

    from tui_helpers import wait_for

    coll, out, link = _scanned(tmp_path, monkeypatch)
    prepare_textual_image((10, 20))
    session = ReviewSession.open(out, reviewer="tester")
    app = ReviewApp(session, roots=[coll], graphics=GraphicsChoice("halfcell", TerminalCaps(is_tty=True), "test"))
    try:
        async with app.run_test(size=(140, 48)) as pilot:
            screen = app.review
            await wait_for(pilot, lambda: screen.files.file_index is not None, timeout=30)
            index = _far_pixel_row(session)
            app.query_one(FindingsList).move_to(index)
            await wait_for(pilot, lambda: screen.files.current_index == index and index in screen.files.loaded)
            loaded = screen.files.loaded[index]
            assert loaded.path == link and loaded.info is not None and loaded.info.frames == FRAMES
            assert app.query_one(PreviewPane).state.frame == TEXT_FRAME
    finally:
        session.close()


def test_findings_names_the_same_file_and_frame_as_the_screen(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    from phi_review.tui.cli import main

    coll, out, link = _scanned(tmp_path, monkeypatch)
    capsys.readouterr()
    assert main(["findings", str(out), "--root", str(coll), "--json"]) == 0
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    far = [r for r in records if r["path"] == str(link) and r["kind"] == "pixels" and r["frame"] == TEXT_FRAME + 1]
    assert len(far) == 1, records
