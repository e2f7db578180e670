"""Scan speed and yield: `phi-review scan` beside the EDRN validator `validate-dicom-files`, same tree, same cores.

The tree (``benchmarks/scan_tree.py``) holds files with burned-in names, IDs
and dates (fonts and sizes the tests do not use; some on frames the validator
never samples, ultrasound, RGB multi-frame, 16-bit, small files) and clean
files. Every file says BurnedInAnnotation NO, so only reading the pixels finds
the text. Both tools (and, for scale, ``phi-review scan --no-ocr``) run as
subprocesses with the same number of processes, taking turns (ours, no-ocr,
validator, ours, ...); the table keeps the fastest of ``--repeat`` runs of each
(on a shared machine the minimum is the least disturbed) and counts findings
on the last run's CSVs. frames/s is the tree's frames over the time for both
tools, though the validator decodes at most four frames of a file and none of
the files it skips (ultrasound, small files).

"found" = the file has a pixel row whose text holds at least one planted word
(letters and digits compared, case and spacing ignored); "words" = planted
words seen in the pixel rows. Prints numbers only: no absolute-time claims.

Run: .venv/bin/python benchmarks/scan.py [--repeat 3] [--processes 2] [--keep DIR]
"""

from __future__ import annotations

import argparse
import csv
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

VALIDATOR = os.environ.get("PHI_REVIEW_VALIDATOR", "/opt/labcas-validator/venv/bin/validate-dicom-files")
OURS = str(Path(sys.executable).with_name("phi-review"))


def _fold(text: str) -> str:
    """Letters and digits only, upper case: tesseract joins words, OCR drops punctuation."""
    return re.sub(r"[^0-9A-Z]", "", text.upper())


def _commands(tree: Path, out: Path, processes: int) -> dict[str, list[str]]:
    return {
        "phi-review": [OURS, "scan", str(tree), "--out", str(out / "ours"), "--quiet", "--workers", str(processes)],
        "no-ocr": [OURS, "scan", str(tree), "--out", str(out / "no-ocr"), "--quiet", "--no-ocr", "--workers",
                   str(processes)],
        "validator": [VALIDATOR, "-q", "-c", str(processes), "-o", str(out / "validator"), str(tree)],
    }


def _run(cmd: list[str], out: Path) -> float:
    """Seconds one run takes, from an empty output folder; a failed run stops the benchmark."""
    out.mkdir(parents=True, exist_ok=False)
    start = time.perf_counter()
    done = subprocess.run(cmd, cwd=out, capture_output=True, text=True, timeout=900)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"{Path(cmd[0]).name} failed (exit {done.returncode}): {done.stderr.strip()[-300:]}")
    return seconds


def _tally(out: Path, files: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Counts from one tool's CSVs: burned-in files found, planted words seen, header rows, flags on clean files."""
    from phi_review.core.report.validator import kind_of, parse_details

    pixel_text: dict[str, str] = {name: "" for name in files}
    flagged: set[str] = set()
    header_rows = header_files = errors = 0
    seen_header: set[str] = set()
    for path in sorted(out.glob("*.csv")):
        with path.open(newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
        for row in rows:
            name = row["File Name"].rsplit("/", 1)[-1]
            kind = kind_of(row["Findings"])
            if kind == "pixels":
                flagged.add(name)
                value = parse_details(row["Details"], kind, row.get("Profile")).value or row["Details"]
                pixel_text[name] = pixel_text.get(name, "") + " " + value
            elif kind == "header":
                header_rows += 1
                seen_header.add(name)
            elif kind == "error":
                errors += 1
    header_files = len(seen_header)
    burned = {n: e for n, e in files.items() if e["words"]}
    found = {n for n, e in burned.items() if any(_fold(w) in _fold(pixel_text[n]) for w in e["words"])}
    words = sum(_fold(w) in _fold(pixel_text[n]) for n, e in burned.items() for w in e["words"])
    return {"found": found, "words": words, "header_rows": header_rows, "header_files": header_files,
            "clean_flagged": len(flagged - set(burned)), "errors": errors}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs of each tool, alternating (fastest kept)")
    parser.add_argument("--processes", type=int, default=os.cpu_count() or 1, help="processes for each tool")
    parser.add_argument("--keep", type=Path, help="build the tree and outputs here (kept) instead of a temp folder")
    args = parser.parse_args(argv)
    if not (os.path.isfile(VALIDATOR) and os.access(VALIDATOR, os.X_OK)):
        sys.exit(f"validator not installed at {VALIDATOR} (run .ci/install-validator.sh or set PHI_REVIEW_VALIDATOR)")

    import scan_tree

    with tempfile.TemporaryDirectory(prefix="phi-scan-bench-") as tmp:
        root = args.keep or Path(tmp)
        root.mkdir(parents=True, exist_ok=True)
        made = scan_tree.build(root)
        tree, files = made["collection"], made["files"]
        n_files, n_frames = len(files), sum(e["frames"] for e in files.values())
        burned = {n: e for n, e in files.items() if e["words"]}
        n_words = sum(len(e["words"]) for e in burned.values())
        times: dict[str, list[float]] = {"phi-review": [], "no-ocr": [], "validator": []}
        last: dict[str, Path] = {}
        for turn in range(args.repeat):
            for tool, cmd in _commands(tree, root / f"run{turn}", args.processes).items():
                out = Path(cmd[cmd.index("--out") + 1] if "--out" in cmd else cmd[cmd.index("-o") + 1])
                times[tool].append(_run(cmd, out))
                last[tool] = out
        tallies = {tool: _tally(last[tool], files) for tool in times}

    print(f"tree: {n_files} files, {n_frames} frames; {len(burned)} with burned-in text ({n_words} words), "
          f"{n_files - len(burned)} clean; {args.processes} processes each; fastest of {args.repeat}, alternating")
    head = (f"{'tool':<11} {'best s':>7} {'files/s':>8} {'frames/s':>9} {'burned found':>13} {'words':>8} "
            f"{'header rows':>12} {'hdr files':>10} {'clean flagged':>14} {'errors':>7}")
    print(head)
    print("-" * len(head))
    for tool, runs in times.items():
        best, t = min(runs), tallies[tool]
        print(f"{tool:<11} {best:>7.2f} {n_files / best:>8.2f} {n_frames / best:>9.2f} "
              f"{len(t['found']):>6}/{len(burned):<6} {t['words']:>3}/{n_words:<4} {t['header_rows']:>12} "
              f"{t['header_files']:>4}/{n_files:<5} {t['clean_flagged']:>6}/{n_files - len(burned):<7} {t['errors']:>7}")
    ours, theirs = min(times["phi-review"]), min(times["validator"])
    print(f"time ratio phi-review/validator: {ours / theirs:.2f}x; no-ocr/validator: "
          f"{min(times['no-ocr']) / theirs:.2f}x  (all runs: "
          f"phi-review {', '.join(f'{s:.1f}' for s in times['phi-review'])} s; "
          f"validator {', '.join(f'{s:.1f}' for s in times['validator'])} s)")
    print("burned-in files, case: phi-review / validator (no-ocr: header and rules only, for scale)")
    for name, entry in burned.items():
        marks = ["yes" if name in tallies[tool]["found"] else "-" for tool in ("phi-review", "validator")]
        print(f"  {name:<18} {entry['why']:<36} {marks[0]:>3} / {marks[1]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
