"""The note dialog refuses a note a Latin-1 CSV cannot hold, keeping the dialog and the text; nothing is journaled."""

from __future__ import annotations

from textual.widgets import Input, Static

from phi_review.core.review.journal import journal_path
from phi_review.tui.screens.dialogs import AskTextScreen

from tui_helpers import make_app, wait_for


async def test_a_note_beyond_latin1_keeps_the_dialog_in_a_latin1_csv(tmp_path):
    report = tmp_path / "report.csv"
    report.write_bytes("File Name,Validation Issue,Detected Value\r\nnowhere.dcm,Possible PHI/PII in Header,JOS\xc9\r\n"
                       .encode("latin-1"))
    app = make_app(report)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: 0 in app.review.files.loaded)
        await pilot.press("e")
        await wait_for(pilot, lambda: isinstance(app.screen, AskTextScreen))
        app.screen.query_one(Input).value = "\u5c71\u7530 seen"
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, AskTextScreen)  # still open, text kept, the reason said in one line
        assert app.screen.query_one(Input).value == "\u5c71\u7530 seen"
        problem = str(app.screen.query_one("#ask-problem", Static).render())
        assert "Latin-1" in problem and "U+5C71" in problem and "\n" not in problem.strip()
        app.screen.query_one(Input).value = "caf\u00e9 seen"
        await pilot.press("enter")
        await wait_for(pilot, lambda: not isinstance(app.screen, AskTextScreen))
        assert app.session.findings[0].note == "caf\u00e9 seen"
    app.session.close()
    assert "5c71" not in journal_path(report).read_text(encoding="utf-8").lower()
