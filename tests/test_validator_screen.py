"""The screen agrees with `findings --json` on the real validator's output (Pilot): every row opens the file
the JSON names, the header pane lands on the tag it names, and a pixel row's preview on the frame it names."""

from __future__ import annotations

import json
from pathlib import Path

from phi_review.core.review.session import ReviewSession
from phi_review.tui.app import ReviewApp
from phi_review.tui.cli import main
from phi_review.tui.terminal.graphics import GraphicsChoice, TerminalCaps, prepare_textual_image
from phi_review.tui.widgets.findings_list import FindingsList
from phi_review.tui.widgets.header_pane import HeaderPane
from phi_review.tui.widgets.preview_pane import PreviewPane

from test_validator_reports import _run_validator
from tui_helpers import wait_for


async def test_screen_agrees_with_findings_json_on_real_validator_output(tmp_path: Path, capsys) -> None:
    from validator.make_tree import make_validator_tree

    manifest = make_validator_tree(tmp_path / "scan")
    _run_validator(manifest["collection"], tmp_path / "out", single=True)
    here = tmp_path / "scan"
    assert main(["findings", str(tmp_path / "out"), "--root", str(here), "--json"]) == 0
    expected = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert expected

    prepare_textual_image((10, 20))
    session = ReviewSession.open(tmp_path / "out", reviewer="tester")
    app = ReviewApp(session, roots=[here], graphics=GraphicsChoice("halfcell", TerminalCaps(is_tty=True), "test"))
    checked = {"tag": 0, "frame": 0}
    async with app.run_test(size=(140, 48)) as pilot:
        screen = app.review
        await wait_for(pilot, lambda: screen.files.file_index is not None, timeout=30)
        listing = app.query_one(FindingsList)
        for index, want in enumerate(expected):
            listing.move_to(index)
            await wait_for(pilot, lambda: screen.files.current_index == index and index in screen.files.loaded)
            loaded = screen.files.loaded[index]
            assert str(loaded.path) == want["path"], (index, want)
            header = app.query_one(HeaderPane)
            if want["kind"] in ("header", "missing", "warning") and want["tags"]:
                await wait_for(pilot, lambda: bool(header.rows))
                flagged = [row.tag for row in header.rows if row.matched or row.missing]
                assert flagged and flagged[0] in want["tags"], (want, flagged)
                checked["tag"] += 1
            if want["kind"] == "pixels" and loaded.info is not None:
                assert app.query_one(PreviewPane).state.frame == want["frame"] - 1, want
                checked["frame"] += 1
    session.close()
    assert checked["tag"] and checked["frame"], checked
