"""The validator's CSVs as one report, beside the bare csv module, in one run.

A folder of five per-site CSVs in the validator's 1.0.1 layout (header, missing-tag,
pixel and warning rows; half the Details distinct) is generated in a temporary
folder. Measured: ``read_report(folder)`` vs ``csv.reader`` over the same files;
what every row points at (``pointer_of`` on all rows, as grouping does);
saving two decisions in two files vs ``csv.writer`` rewriting them; memory the
open report keeps (tracemalloc, measured separately so it does not slow the timings).

Run: .venv/bin/python benchmarks/validator_csv.py [ROWS...]   (default 100000 500000)
"""

from __future__ import annotations

import csv
import shutil
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

HEADER = ["Site ID", "Event ID", "File Name", "Profile", "Score", "Findings", "Details"]


def row(i: int) -> list[str]:
    site, event, name = "Images_Site_A", str(1000000 + i % 50), f"f{i}.dcm"
    kind = i % 4
    if kind == 0:
        return [site, event, name, "CT standard", "1.0", "\U0001f648 Possible PHI/PII in Header",
                f"(0010,0010) (PatientName), «DOE^JANE{i}», Possible PHI/PII detection (score 1.00): "
                f"Structured name detection «DOE^JANE{i}»"]
    if kind == 1:
        return [site, event, name, "CT standard", "1.0", "\u26a0\ufe0f Missing Required Tags",
                "(0020,0052) (FrameOfReferenceUID), «tag missing», Failed core tag validation: Required tag not found"]
    if kind == 2:
        return [site, event, name, "CT standard", "1.0", "\U0001f5bc\ufe0f Possible Burned-in PHI/PII (Pixels)",
                f"MRN:72{i}, Detected with pattern MRN at frame index 3"]
    return [site, event, name, "CT standard", "1.0", "\U0001f46e Warning",
            "«ct», (0008,0060) Value for Modality matches expected pattern but uses incorrect case"]


def build(folder: Path, rows: int, files: int = 5) -> None:
    for part in range(files):
        with open(folder / f"Site{part}.csv", "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(HEADER)
            writer.writerows(row(i) for i in range(part * rows // files, (part + 1) * rows // files))


def main(sizes: list[int]) -> None:
    from phi_review.core.report.pointer import pointer_of
    from phi_review.core.report.reader import read_report
    from phi_review.core.report.writer import save_report

    print("| rows | measure | phi-review | bare | ratio |")
    print("|---:|---|---:|---:|---:|")
    for rows in sizes:
        folder = Path(tempfile.mkdtemp(prefix="phi-review-bench-"))
        try:
            build(folder, rows)
            paths = sorted(folder.glob("*.csv"))
            start = time.perf_counter()
            bare_rows = [list(csv.reader(open(p, newline="", encoding="utf-8"))) for p in paths]
            bare_read = time.perf_counter() - start
            start = time.perf_counter()
            report = read_report(folder)
            ours_read = time.perf_counter() - start
            start = time.perf_counter()
            for finding in report.findings:
                pointer_of(finding)
            pointers = time.perf_counter() - start
            first, last = report.findings[0], report.findings[-1]
            edits = {(f.source, f.row): {"action": "No Issue / False Positive"} for f in (first, last)}
            start = time.perf_counter()
            save_report(report, edits)
            ours_save = time.perf_counter() - start
            start = time.perf_counter()
            for path, data in zip(paths, bare_rows):
                with open(folder / (path.stem + ".bare"), "w", newline="", encoding="utf-8") as handle:
                    csv.writer(handle).writerows(data)
            bare_save = time.perf_counter() - start
            del report, bare_rows
            tracemalloc.start()
            kept = read_report(folder)
            current, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            del kept
            print(f"| {rows:,} | open the folder as one report | {ours_read:.2f} s | {bare_read:.2f} s (csv.reader) "
                  f"| {ours_read / bare_read:.2f}x |")
            print(f"| {rows:,} | what every row points at (first time) | {pointers:.2f} s | | |")
            print(f"| {rows:,} | save 2 decisions in 2 of 5 files | {ours_save:.2f} s | {bare_save:.2f} s (csv.writer, all 5) "
                  f"| {ours_save / bare_save:.2f}x |")
            print(f"| {rows:,} | memory the open report keeps / peak | {current / 1e6:.0f} / {peak / 1e6:.0f} MB | | |")
        finally:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [100_000, 500_000])
