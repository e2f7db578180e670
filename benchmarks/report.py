"""Report open and save speed beside the bare libraries, in one run.

Open: ``read_report`` vs python-calamine's bare read of the same sheet vs openpyxl's load.
Save: ``save_report`` after one decision vs openpyxl's load + save (which would also drop
the x14 validation). Reports are generated once under .bench/ (10,000 and 100,000 rows).

Run: .venv/bin/python benchmarks/report.py
"""

from __future__ import annotations

import shutil
import sys
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / ".bench"


def report_of(rows: int) -> Path:
    from phi_review.sample_reports.make_workbook import cached_report

    return cached_report(BENCH, rows)


def best(fn, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> int:
    # openpyxl warns that it drops the x14 validation: that is the point of the comparison, not news.
    warnings.simplefilter("ignore", UserWarning)
    import openpyxl
    from python_calamine import CalamineWorkbook

    from phi_review.core.report.reader import read_report
    from phi_review.core.report.writer import save_report

    print(f"{'rows':>8} {'measure':<34} {'phi-review':>11} {'bare':>11} {'ratio':>7}   {'openpyxl':>9}")
    for rows in (10_000, 100_000):
        source = report_of(rows)
        ours = best(lambda: read_report(source))
        bare = best(lambda: CalamineWorkbook.from_path(str(source)).get_sheet_by_name("Reconciliation").to_python())
        heavy = best(lambda: openpyxl.load_workbook(source), repeat=1)
        print(f"{rows:>8} {'open (to a ready report)':<34} {ours:>10.3f}s {bare:>10.3f}s {ours / bare:>6.2f}x   {heavy:>8.3f}s")

        work = BENCH / f"save_{rows}.xlsx"
        timings = []
        for n in range(3):
            shutil.copyfile(source, work)
            report = read_report(work)
            start = time.perf_counter()
            save_report(report, {report.findings[n].row: {"action": report.actions[0]}})
            timings.append(time.perf_counter() - start)
            work.with_name(f"{work.stem}.orig{work.suffix}").unlink(missing_ok=True)
        ours_save = min(timings)
        shutil.copyfile(source, work)

        def openpyxl_save() -> None:
            book = openpyxl.load_workbook(work)
            book["Reconciliation"]["E4"] = "No Issue / False Positive"
            book.save(work)

        theirs = best(openpyxl_save, repeat=1)
        print(f"{rows:>8} {'save after one decision':<34} {ours_save:>10.3f}s {theirs:>10.3f}s {ours_save / theirs:>6.2f}x   (openpyxl load+save)")
        work.unlink(missing_ok=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
