"""Keys and words (issue 20, item 8): digits pick in a dialog that numbers its choices, the status line says
one consistent thing about saving, ``--note -x`` gets a clear line, and ``summary``/``findings`` say when the
journal holds decisions the report does not yet.
"""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

import pytest

from phi_review.core.review.session import ReviewSession
from phi_review.tui.cli import main
from phi_review.tui.screens.dialogs import PickScreen
from tui_helpers import make_app, wait_for


def _file_report(path: Path) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["Site ID", "Event ID", "File Name", "Profile", "Score", "Findings", "Details"])
        for tag, kw in (("(0010,0010)", "PatientName"), ("(0010,0020)", "PatientID"), ("(0008,0020)", "StudyDate"),
                        ("(0008,0030)", "StudyTime")):
            writer.writerow(["SITE1", "1234567", "a.dcm", "CT", "0.9", "🙈 Possible PHI/PII in Header",
                             f"{tag} ({kw}), «X», Possible PHI/PII detection (score 0.9): r"])
    return path


# ----------------------------------------------------------------------------- digits in the F dialog


@pytest.mark.parametrize("digit", ["4", "2", "5"])
async def test_a_digit_picks_in_the_decide_file_dialog(tmp_path: Path, digit: str) -> None:
    # Before: digits did nothing and Enter took the highlighted first action ("No Issue" for four rows).
    app = make_app(_file_report(tmp_path / "SITE1.csv"))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("F")
        await wait_for(pilot, lambda: isinstance(app.screen, PickScreen))
        await pilot.press(digit)
        await wait_for(pilot, lambda: not isinstance(app.screen, PickScreen))
        wanted = app.session.actions[int(digit) - 1]
        assert [f.action for f in app.session.findings] == [wanted] * 4


async def test_a_digit_past_the_choices_picks_nothing_and_enter_still_picks(tmp_path: Path) -> None:
    app = make_app(_file_report(tmp_path / "SITE1.csv"))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("F")
        await wait_for(pilot, lambda: isinstance(app.screen, PickScreen))
        await pilot.press("9")  # five actions: 9 is no choice
        await pilot.pause()
        assert isinstance(app.screen, PickScreen)
        assert "1-5" in str(app.screen.query_one("#pick-hint").render())  # the dialog says digits pick
        await pilot.press("down", "enter")
        await wait_for(pilot, lambda: not isinstance(app.screen, PickScreen))
        assert [f.action for f in app.session.findings] == [app.session.actions[1]] * 4


async def test_unnumbered_choices_ignore_digits() -> None:
    from textual.app import App

    picked: list[int | None] = []

    class Host(App):
        def on_mount(self) -> None:
            self.push_screen(PickScreen("Which file?", ["a.dcm", "b.dcm"]), picked.append)

    app = Host()
    async with app.run_test() as pilot:
        await pilot.press("2")
        await pilot.pause()
        assert picked == [] and isinstance(app.screen, PickScreen)
        await pilot.press("enter")
        await pilot.pause()
        assert picked == [0]


# ----------------------------------------------------------------------------- status words


def _status(app) -> str:  # type: ignore[no-untyped-def]
    return str(app.screen.query_one("#status").render())


async def test_the_status_line_never_says_0_unsaved_with_unsaved_changes(tmp_path: Path) -> None:
    app = make_app(_file_report(tmp_path / "SITE1.csv"))
    async with app.run_test(size=(160, 40)) as pilot:
        await wait_for(pilot, lambda: "reviewed" in _status(app))
        assert "0 unsaved" in _status(app) or "saved" in _status(app)
        await pilot.press("1")
        await wait_for(pilot, lambda: "1 unsaved" in _status(app))
        await pilot.press("u")
        await wait_for(pilot, lambda: "0/4 reviewed" in _status(app))
        status = _status(app)
        assert "unsaved changes" not in status and "not saved yet" not in status, status
        await pilot.press("1")
        await wait_for(pilot, lambda: "1 unsaved" in _status(app))
        assert "saved" not in _status(app).replace("unsaved", ""), _status(app)  # no "saved" beside a count


def test_status_words_are_one_reading_of_the_count() -> None:
    from phi_review.tui.widgets.status_words import save_words

    assert save_words(0, "unsaved changes") == ["0 unsaved", "saved"]
    assert save_words(0, "saved 10:01:02") == ["0 unsaved", "saved 10:01:02"]
    assert save_words(3, "saved 10:01:02") == ["3 unsaved", "last saved 10:01:02"]
    assert save_words(3, "not saved yet") == ["3 unsaved"]
    assert save_words(3, "saving…") == ["3 unsaved", "saving…"]
    assert save_words(0, "SAVE FAILED") == ["0 unsaved", "saved"]
    assert save_words(2, "SAVE FAILED") == ["2 unsaved", "SAVE FAILED"]


# ----------------------------------------------------------------------------- --note -x


def _csv(path: Path) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows([["File Name", "Validation Issue", "Action", "Comments"],
                                      ["a.dcm", "Possible PHI/PII in Header", "", ""]])
    return path


def test_a_note_that_starts_with_a_dash(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    report = _csv(tmp_path / "r.csv")
    with pytest.raises(SystemExit) as raised:
        main(["decide", str(report), "2", "1", "--note", "-x"])
    err = capsys.readouterr().err
    assert raised.value.code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "--note=-x" in lines[0] and "usage:" not in err, err
    assert main(["decide", str(report), "2", "1", "--note=-x"]) == 0
    assert "-x" in report.read_text(encoding="utf-8")


def test_double_dash_ends_the_options(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    report = tmp_path / "r.csv"
    with report.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows([["File Name", "Validation Issue", "Action", "Comments"],
                                      ["-x.dcm", "Possible PHI/PII in Header", "", ""]])
    assert main(["decide", "--note", "seen", "--", str(report), "-x.dcm", "1"]) == 0
    assert "seen" in report.read_text(encoding="utf-8")
    capsys.readouterr()
    with pytest.raises(SystemExit) as raised:  # an unknown option: one line that names it and points to --help
        main(["decide", str(report), "2", "1", "--nope"])
    err = capsys.readouterr().err
    assert raised.value.code == 2 and len(err.strip().splitlines()) == 1 and "--nope" in err, err


# ----------------------------------------------------------------------------- the journal ahead of the report


def _half_saved(tmp_path: Path) -> Path:
    """A folder of two CSV files whose save stopped after the first: one decision only in the journal."""
    folder = tmp_path / "rep"
    folder.mkdir()
    for name, files in (("A.csv", ("a.dcm", "b.dcm")), ("B.csv", ("c.dcm", "d.dcm"))):
        with (folder / name).open("w", newline="", encoding="utf-8") as handle:
            csv.writer(handle).writerows([["File Name", "Validation Issue", "Action"],
                                          *[[f, "Possible PHI/PII in Header", ""] for f in files]])
    session = ReviewSession.open(folder, reviewer="t")
    session.decide([0], session.actions[0])
    session.decide([2], session.actions[1])
    import phi_review.core.report.csv_report as csv_report

    real, calls = csv_report.replace_atomically, []

    def second_fails(path, write):  # type: ignore[no-untyped-def]
        calls.append(path)
        if len(calls) == 2:
            raise OSError(28, "No space left on device")
        return real(path, write)

    csv_report.replace_atomically = second_fails
    try:
        with pytest.raises(Exception):
            session.save()
    finally:
        csv_report.replace_atomically = real
        session.close()
    return folder


@pytest.mark.parametrize("argv", [["summary"], ["summary", "--json"], ["findings"], ["findings", "--json"]])
def test_summary_and_findings_say_the_journal_holds_more(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                        argv: list[str]) -> None:
    folder = _half_saved(tmp_path)
    assert main([argv[0], str(folder), *argv[1:]]) == 0
    out, err = capsys.readouterr()
    note = [line for line in err.splitlines() if "in the journal" in line]
    assert len(note) == 1 and "1 decision(s)" in note[0] and "not yet saved to the report" in note[0], err
    if "--json" in argv:  # stdout stays parseable
        for line in out.strip().splitlines():
            json.loads(line)


def test_no_note_when_the_report_holds_every_decision(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    report = _csv(tmp_path / "r.csv")
    assert main(["decide", str(report), "2", "1"]) == 0
    capsys.readouterr()
    for command in ("summary", "findings"):
        assert main([command, str(report)]) == 0
        assert "journal" not in capsys.readouterr().err


def test_findings_does_not_block_on_a_fifo_named_in_the_report(tmp_path: Path) -> None:
    import subprocess
    import sys

    report = tmp_path / "r.csv"
    with report.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows([["File Name", "Validation Issue", "Detected Value", "Details"],
                                      ["pipe.dcm", "Possible Burned-in PHI/PII (Pixels)", "", "frame index 3"]])
    os.mkfifo(tmp_path / "pipe.dcm")
    done = subprocess.run([sys.executable, "-c", "import sys; from phi_review.tui.cli import main; sys.exit(main())",
                           "findings", str(report)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and "pipe.dcm" in done.stdout and "Traceback" not in done.stderr, done
