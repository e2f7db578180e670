"""`phi-review stats` on big reports, beside python-calamine's bare read of the same workbook, in one run.

For each size (generated once under .bench/, as benchmarks/report.py does), each
measure in its own process, best of 3:

- calamine: python-calamine reading the sheet to Python lists, nothing else;
- stats: what `phi-review stats --json` does before printing (open read-only,
  check the journal, count everything, build the JSON text);
- counting: compute_stats alone on the report already read (the part stats adds).

Run: .venv/bin/python benchmarks/stats.py [--sizes 10000,100000,500000]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / ".bench"


def child(kind: str, path: Path) -> float:
    if kind == "calamine":
        start = time.perf_counter()
        from python_calamine import CalamineWorkbook

        CalamineWorkbook.from_path(str(path)).get_sheet_by_name("Reconciliation").to_python()
        return time.perf_counter() - start
    from phi_review.core.review.journal import journal_path
    from phi_review.core.review.session import ReviewSession
    from phi_review.core.review.stats import compute_stats, copy_proofs

    start = time.perf_counter()
    session = ReviewSession.open(path, read_only=True)
    read = time.perf_counter()
    data = compute_stats(session.report, clean_copies=copy_proofs(session.report),
                         journal=journal_path(session.report.path))
    json.dumps(data, ensure_ascii=True)
    session.close()
    end = time.perf_counter()
    return end - read if kind == "counting" else end - start


def run(kind: str, path: Path) -> float:
    times = []
    for _ in range(3):
        done = subprocess.run([sys.executable, __file__, "--child", kind, str(path)], capture_output=True,
                              text=True, timeout=1800)
        if done.returncode != 0:
            raise SystemExit(f"{kind} on {path.name} failed:\n{done.stderr[-2000:]}")
        times.append(float(done.stdout.strip().splitlines()[-1]))
    return min(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10000,100000,500000")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("path", nargs="?", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(child(args.child, args.path))
        return 0
    from phi_review.sample_reports.make_workbook import cached_report

    print(f"{'rows':>8}  {'calamine s':>10}  {'stats s':>8}  {'ratio':>6}  {'counting s':>10}")
    for size in (int(s) for s in args.sizes.split(",")):
        path = cached_report(BENCH, size)
        bare, ours, counting = run("calamine", path), run("stats", path), run("counting", path)
        print(f"{size:>8}  {bare:>10.2f}  {ours:>8.2f}  {ours / bare:>5.2f}x  {counting:>10.2f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
