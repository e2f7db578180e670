"""`phi-review summary` and `phi-review decide`, in-process and through the installed script."""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from phi_review.core.review.journal import journal_path
from phi_review.core.report.model import DEFAULT_ACTIONS
from phi_review.core.review.session import ReviewSession
from phi_review.tui.cli import main

HEADERS = ["File Name", "Validation Issue", "Detected Value", "Action", "Comments"]
ROWS = [
    ["a/one.dcm", "Possible PHI/PII in Header", "DOE^JANE", "", ""],
    ["a/two.dcm", "Possible PHI/PII in Header", "DOE^JANE", "No Issue / False Positive", ""],
    ["a/two.dcm", "Possible Burned-in PHI/PII (Pixels)", "", "", ""],
    ["b/\x1b]52;c;aGk=\x07evil.dcm", "Missing Required Tags", "PatientID", "", ""],
]


def write_report(path: Path) -> Path:
    if path.suffix == ".csv":
        with open(path, "w", encoding="utf-8", newline="") as handle:
            csv.writer(handle).writerows([HEADERS, *ROWS])
    else:
        from openpyxl import Workbook

        workbook = Workbook()
        sheet = workbook.active
        sheet.append(HEADERS)
        for row in ROWS:
            # openpyxl refuses control characters; the xlsx variant gets a plain name.
            sheet.append([(c.replace("\x1b]52;c;aGk=\x07", "") if c else None) for c in row])
        workbook.save(path)
    return path


@pytest.fixture(params=["csv", "xlsx"])
def report(request, tmp_path: Path) -> Path:
    return write_report(tmp_path / f"report.{request.param}")


@pytest.fixture
def csv_report(tmp_path: Path) -> Path:
    return write_report(tmp_path / "report.csv")


def test_summary_json(report: Path, capsys) -> None:
    assert main(["summary", str(report), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["rows"] == 4 and data["reviewed"] == 1 and data["unreviewed"] == 3
    assert data["by_issue"]["Possible PHI/PII in Header"] == 2
    assert data["by_action"] == {"(unreviewed)": 3, "No Issue / False Positive": 1}
    assert data["by_issue_action"]["Possible PHI/PII in Header"] == {
        "(unreviewed)": 1,
        "No Issue / False Positive": 1,
    }
    assert data["journal_unsaved"] == 0
    assert not journal_path(report).exists(), "summary writes nothing"


def test_summary_table_is_inert_and_mentions_the_journal(csv_report: Path, capsys) -> None:
    with ReviewSession.open(csv_report, reviewer="ann") as session:
        session.decide([0, 2], DEFAULT_ACTIONS[1])  # journaled, not saved
    assert main(["summary", str(csv_report)]) == 0
    out = capsys.readouterr().out
    assert "Rows: 4" in out and "Reviewed: 1" in out and "Unreviewed: 3" in out
    assert "(unreviewed)" in out and "Possible Burned-in PHI/PII (Pixels)" in out
    assert "2 unsaved decisions are in the journal" in out
    assert "\x1b" not in out and "\x07" not in out


def test_decide_by_row_number_and_action_position(report: Path, capsys) -> None:
    assert main(["decide", str(report), "4", "2", "--reviewer", "ann", "--note", "=1+1"]) == 0
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and "row 4" in out and DEFAULT_ACTIONS[1] in out
    with ReviewSession.open(report, read_only=True) as session:
        finding = session.findings[2]
        assert (finding.action, finding.note, finding.reviewer) == (DEFAULT_ACTIONS[1], "=1+1", "ann")
        assert session.journal_pending == 0, "decide saved the report"


def test_decide_by_file_name_and_action_prefix(report: Path, capsys) -> None:
    assert main(["decide", str(report), "a/one.dcm", "needs meta"]) == 0
    assert "row 2" in capsys.readouterr().out
    assert main(["decide", str(report), "a/one.dcm", "needs meta"]) == 0
    assert "nothing to change" in capsys.readouterr().out
    with ReviewSession.open(report, read_only=True) as session:
        assert session.findings[0].action == "Needs Metadata Update"


@pytest.mark.parametrize(
    "row, action, says",
    [
        ("99", "1", "no finding on row 99"),
        ("nope.dcm", "1", "no row names the file"),
        ("a/two.dcm", "1", "several rows (3, 4)"),
        ("2", "6", "no action number 6"),
        ("2", "needs", "matches several actions"),
        ("2", "approve", "unknown action"),
    ],
)
def test_decide_refuses_unknown_row_or_action(csv_report: Path, capsys, row: str, action: str, says: str) -> None:
    assert main(["decide", str(csv_report), row, action]) == 2
    err = capsys.readouterr().err
    assert says in err and err.count("\n") == 1
    with ReviewSession.open(csv_report, read_only=True) as session:
        assert session.progress()[0] == 1, "nothing recorded"


def test_decide_while_another_session_holds_the_report(csv_report: Path, capsys) -> None:
    with ReviewSession.open(csv_report, reviewer="ann"):
        assert main(["decide", str(csv_report), "2", "1"]) == 2
    assert "another phi-review session" in capsys.readouterr().err


def test_decide_also_saves_recovered_journal_decisions(csv_report: Path, capsys) -> None:
    with ReviewSession.open(csv_report, reviewer="ann") as session:
        session.decide([3], DEFAULT_ACTIONS[3])  # left unsaved
    assert main(["decide", str(csv_report), "2", "1"]) == 0
    assert "recovered from the journal" in capsys.readouterr().out
    with ReviewSession.open(csv_report, read_only=True) as session:
        assert [f.action for f in session.findings] == [
            DEFAULT_ACTIONS[0], DEFAULT_ACTIONS[0], "", DEFAULT_ACTIONS[3]
        ]


def _console_script() -> str:
    beside = Path(sys.executable).with_name("phi-review")
    found = str(beside) if beside.exists() else shutil.which("phi-review")
    if not found:
        pytest.skip("the phi-review console script is not installed")
    return found


def test_installed_console_script(csv_report: Path) -> None:
    script = _console_script()
    env = {**os.environ, "NO_COLOR": "1"}
    done = subprocess.run([script, "decide", str(csv_report), "3", "no issue"], capture_output=True, text=True,
                          env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    done = subprocess.run([script, "summary", str(csv_report), "--json"], capture_output=True, text=True,
                          env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["reviewed"] == 1, "row 3 was already 'No Issue / False Positive'"
    done = subprocess.run([script, "decide", str(csv_report), "2", "9"], capture_output=True, text=True,
                          env=env, timeout=60)
    assert done.returncode == 2
    assert done.stderr.startswith("phi-review: ") and done.stderr.count("\n") == 1
    assert "Traceback" not in done.stderr
