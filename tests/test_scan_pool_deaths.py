"""A worker that dies (SIGKILL, the OOM killer) is replaced, idle or working; its file is read again once, and is
one Error row only when its second worker dies too. The scan always finishes and every other file is scanned.

Before, a death while working made the file an Error row at once (a worker the OOM killer picked for another
process's memory cost a file its scan), and a worker killed between files stopped the whole scan: the parent's
next write to its pipe raised BrokenPipeError."""

from __future__ import annotations

import csv
import os
import signal
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from phi_review.core.scan.checks import Options
from phi_review.core.scan.layout import ERROR
from phi_review.core.scan.pool import Pool
from phi_review.core.scan.rules import Rule
from phi_review.core.scan.run import scan
from phi_review.core.scan.walk import walk
from phi_review.sample_reports.make_dicom import burned_in_text_image

from scan_tree import PATIENT


@dataclass(frozen=True)
class KillOn(Rule):
    """A rule that kills its own worker (SIGKILL) on the file whose PatientID is ``patient_id``.

    With ``marker``, only the first time (the marker file remembers it across processes)."""

    patient_id: str = ""
    marker: str = ""

    def why(self, values: Mapping[str, str], creators: set[str]) -> str | None:
        if values.get("PatientID", "").strip() == self.patient_id:
            if not self.marker or not os.path.exists(self.marker):
                if self.marker:
                    Path(self.marker).touch()
                os.kill(os.getpid(), signal.SIGKILL)
        return None


def _tree(root: Path, files: int = 8) -> Path:
    coll = root / "Collection"
    for n in range(files):
        burned_in_text_image(coll / "Images_Site_A" / "1234567" / f"f{n:02d}.dcm", [], size=(32, 24),
                             modality="OT", patient={**PATIENT, "PatientID": f"P{n:04d}"})
    return coll


def _rows(out: Path) -> list[list[str]]:
    rows: list[list[str]] = []
    for path in sorted(out.glob("*.csv")):
        with path.open(encoding="utf-8", newline="") as handle:
            rows.extend(list(csv.reader(handle))[1:])
    return rows


def test_a_worker_killed_on_one_file_twice_gives_one_error_row_and_the_scan_finishes(tmp_path: Path) -> None:
    coll = _tree(tmp_path)
    out = tmp_path / "out"
    options = Options(ocr=False, rules=(KillOn("killer", patient_id="P0003"),))
    summary = scan([str(coll)], out, options, workers=2, progress=None)
    rows = _rows(out)
    errors = [row for row in rows if row[5] == ERROR]
    assert summary.files == 8 and summary.errors == 1
    assert len(errors) == 1 and errors[0][2] == "f03.dcm", errors
    assert "the worker reading this file died" in errors[0][6]
    assert {row[2] for row in rows} == {f"f{n:02d}.dcm" for n in range(8)}  # every other file scanned
    assert all(row[5] != ERROR for row in rows if row[2] != "f03.dcm")


def test_a_worker_killed_once_is_replaced_and_the_file_read_again(tmp_path: Path) -> None:
    coll = _tree(tmp_path)
    out = tmp_path / "out"
    marker = tmp_path / "killed-once"
    options = Options(ocr=False, rules=(KillOn("killer", patient_id="P0005", marker=str(marker)),))
    summary = scan([str(coll)], out, options, workers=2, progress=None)
    assert marker.exists()  # it did die once
    rows = _rows(out)
    assert summary.errors == 0 and not [row for row in rows if row[5] == ERROR]
    assert "f05.dcm" in {row[2] for row in rows}


def test_an_idle_worker_killed_between_files_is_replaced(tmp_path: Path) -> None:
    coll = _tree(tmp_path, files=4)
    targets = sorted(walk([str(coll)]))
    pool = Pool(Options(ocr=False), workers=1, timeout=60, memory_mb=0)
    results = pool.run(targets)
    first = next(results)  # the one worker is idle now: the next file is not sent until we ask
    assert not first.error
    (pid,) = pool.pids()
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    pool.slots[0].process.join(10)
    rest = list(results)
    assert len(rest) == 3 and not any(r.error for r in rest)
    assert {r.path for r in [first, *rest]} == {t.path for t in targets}
    assert pool.replaced == 1 and pool.pids() != [pid]
