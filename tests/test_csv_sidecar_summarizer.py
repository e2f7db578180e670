"""The EDRN validator's own summarizer still reads a report folder after phi-review decided and saved rows.

``summarize-validation-reports DIR`` (jpl-labcas-validation) reads every
``DIR/*/*.csv`` and unpacks exactly 7 fields per row: decision columns
appended to the validator's CSVs in place made it stop ("too many values to
unpack"). The real summarizer runs here, from the validator's venv
(``.ci/install-validator.sh``): ``/opt/labcas-validator/venv`` (1.0.1), or the
path in ``PHI_REVIEW_SUMMARIZER``; missing, the test fails under CI and is
skipped elsewhere. The 1.0.0 install beside it is run too when present.
"""

from __future__ import annotations

import csv
import glob
import io
import os
import subprocess
from pathlib import Path

import pytest

from phi_review.core.report.reader import read_report
from phi_review.core.review.journal import journal_path
from phi_review.core.review.session import ReviewSession
from phi_review.tui.cli import main

from tui_helpers import make_app, wait_for

DEFAULT = "/opt/labcas-validator/venv/bin/summarize-validation-reports"
OPTIONAL = ("/opt/labcas-validator/venv-1.0.0/bin/summarize-validation-reports",)
HEADER = ["Site ID", "Event ID", "File Name", "Profile", "Score", "Findings", "Details"]
HDR = "\U0001f648 Possible PHI/PII in Header"
PIX = "\U0001f5bc\ufe0f Possible Burned-in PHI/PII (Pixels)"
MISS = "\u26a0\ufe0f Missing Required Tags"
WARN = "\U0001f46e Warning"
NO_ISSUE = "No Issue / False Positive"


def _main_summarizer() -> str:
    path = os.environ.get("PHI_REVIEW_SUMMARIZER", DEFAULT)
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        problem = f"summarizer not installed at {path} (run .ci/install-validator.sh or set PHI_REVIEW_SUMMARIZER)"
        if os.environ.get("CI"):
            pytest.fail(problem)
        pytest.skip(problem)
    return path


def _summarizers() -> list[object]:
    params: list[object] = [pytest.param("main", id="main")]
    for path in OPTIONAL:
        params.append(pytest.param(path, id=Path(path).parents[1].name,
                                   marks=pytest.mark.skipif(not os.path.exists(path), reason=f"{path} not installed")))
    return params


def _validator_csv(path: Path, site: str, names: list[str]) -> bytes:
    """Rows as validate-dicom-files 1.0.1 writes them: csv.writer's excel dialect, CRLF, UTF-8, no BOM."""
    rows = [HEADER]
    for n, name in enumerate(names):
        event = f"{1000 + n % 2}"
        rows += [
            [site, event, name, "CT standard", "1.0", HDR,
             "(0010,0010) (PatientName), \u00abDOE^JANE\u00bb, Possible PHI/PII detection (score 1.00): "
             "Structured name detection \u00abDOE^JANE\u00bb"],
            [site, event, name, "CT standard", "1.0", MISS,
             "(0020,0052) (FrameOfReferenceUID), \u00abtag missing\u00bb, Failed core tag validation: Required tag not found"],
            [site, event, name, "CT standard", "0.9", PIX, "MRN 7212121, Detected with pattern MRN at frame index -1"],
            [site, event, name, "CT standard", "1.0", WARN,
             "\u00abct\u00bb, (0008,0060) Value for Modality matches expected pattern but uses incorrect case"],
        ]
    out = io.StringIO(newline="")
    csv.writer(out).writerows(rows)
    data = out.getvalue().encode("utf-8")
    path.write_bytes(data)
    return data


@pytest.fixture
def reports(tmp_path: Path) -> Path:
    """``reports/<collection>/<site>.csv``, the layout the summarizer reads."""
    top = tmp_path / "reports"
    for collection, sites in (("COLL1", ("SiteA", "SiteB")), ("COLL2", ("SiteC",))):
        (top / collection).mkdir(parents=True)
        for site in sites:
            _validator_csv(top / collection / f"{site}.csv", site, [f"{site.lower()}{i}.dcm" for i in range(3)])
    return top


def summarize(exe: str, top: Path, out: Path) -> bytes:
    """Run the real summarizer; it must exit 0. Returns its summary.csv."""
    done = subprocess.run([exe, "--output", str(out), str(top)], capture_output=True, text=True, timeout=120,
                          cwd=out.parent)
    assert done.returncode == 0, done.stderr[-2000:]
    return out.read_bytes()


def _snapshot(top: Path) -> dict[str, bytes]:
    return {p: Path(p).read_bytes() for p in sorted(glob.glob(f"{top}/*/*.csv"))}


@pytest.mark.parametrize("which", _summarizers())
def test_cli_decide_leaves_the_summary_as_it_was(which: str, reports: Path, tmp_path: Path, capsys) -> None:
    exe = _main_summarizer() if which == "main" else which
    before = summarize(exe, reports, tmp_path / "before.csv")
    assert before.count(b"\n") >= 4
    originals = _snapshot(reports)
    site_a = reports / "COLL1" / "SiteA.csv"
    # One file, then its folder as one report, then a second decision on the same file.
    assert main(["decide", str(site_a), "2", "1", "--note", "seen", "--reviewer", "rev"]) == 0
    said = capsys.readouterr().out
    assert main(["decide", str(reports / "COLL1"), "SiteB.csv:3", "3", "--reviewer", "rev"]) == 0
    assert main(["decide", str(site_a), "sitea1.dcm", "2", "--all-rows", "--reviewer", "rev"]) == 0
    assert summarize(exe, reports, tmp_path / "after.csv") == before
    assert _snapshot(reports) == originals  # the validator's files, byte for byte; no new *.csv
    assert "the validator's file unchanged" in said
    # Reopened (the file, and the folder): the decisions are there; the journal has nothing pending.
    report = read_report(site_a)
    assert [(f.row, f.action, f.note) for f in report.findings if f.action] == [
        (2, NO_ISSUE, "seen"), *[(row, "Needs Deletion & Re-upload", "") for row in range(6, 10)]]
    with ReviewSession.open(reports / "COLL1", reviewer="rev") as session:
        decided = {(f.source, f.row): f.action for f in session.findings if f.action}
        assert decided[("SiteB.csv", 3)] == "Needs Metadata Update" and len(decided) == 6
        assert session.recovered == 0 and session.journal_pending == 0
    assert (site_a.parent / ".SiteA.csv.reviewed").is_file() and (site_a.parent / ".SiteA.csv.reviewed.json").is_file()
    assert journal_path(site_a).name.startswith(".SiteA.csv")  # still named after the validator's file


@pytest.mark.parametrize("which", _summarizers())
async def test_a_screen_save_leaves_the_summary_as_it_was(which: str, reports: Path, tmp_path: Path) -> None:
    exe = _main_summarizer() if which == "main" else which
    before = summarize(exe, reports, tmp_path / "before.csv")
    originals = _snapshot(reports)
    folder = reports / "COLL1"
    app = make_app(folder)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("1", "2")  # the first two rows: an action each, by position
        await pilot.press("e")
        await pilot.pause()
        await pilot.press(*"ok", "enter")
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: not app.review.decisions.saving and app.session.unsaved == 0)
        await pilot.press("q")
        await wait_for(pilot, lambda: app.return_code is not None)
    app.session.close()
    assert summarize(exe, reports, tmp_path / "after.csv") == before
    assert _snapshot(reports) == originals
    again = read_report(folder)
    assert [f.action for f in again.findings[:3]] == [NO_ISSUE, "Needs Deletion & Re-upload", ""]
    assert [f.note for f in again.findings[:3]] == ["", "", "ok"]  # the note went on the row the cursor moved to


@pytest.mark.parametrize("which", _summarizers())
def test_an_export_beside_the_reports_is_refused_and_elsewhere_the_summary_holds(
        which: str, reports: Path, tmp_path: Path, capsys) -> None:
    exe = _main_summarizer() if which == "main" else which
    before = summarize(exe, reports, tmp_path / "before.csv")
    site_a = reports / "COLL1" / "SiteA.csv"
    assert main(["decide", str(site_a), "3", "1", "--reviewer", "rev"]) == 0
    capsys.readouterr()
    for target in (reports / "COLL1" / "SiteA-reviewed.csv", reports / "COLL2" / "x.csv",
                   reports / "new-folder" / "SiteA.csv"):
        assert main(["export", str(site_a), "--out", str(target)]) == 2
        err = capsys.readouterr().err
        assert "summarize-validation-reports" in err and len(err.strip().splitlines()) == 1
        assert not target.exists()
    out = tmp_path / "send-back" / "SiteA.csv"
    assert main(["export", str(site_a), "--out", str(out)]) == 0
    assert summarize(exe, reports, tmp_path / "after.csv") == before
    rows = list(csv.reader(io.StringIO(out.read_text(encoding="utf-8"), newline="")))
    assert rows[0] == HEADER + ["Action", "Reviewer", "Reviewed At", "Comments"]
    assert rows[2][7:9] == [NO_ISSUE, "rev"] and all(len(r) == 7 for r in rows[3:])
