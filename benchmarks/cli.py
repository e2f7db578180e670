"""Command start-up beside the floor and the field's tool, in one run.

``phi-review header FILE`` and ``phi-review --help`` against ``python -c pass``
(the interpreter alone), ``python -c "import pydicom"`` (the library header
needs) and DCMTK's ``dcmdump`` on the same file. Wall-clock of whole processes,
best of N taken in turns, order reversed every other round (the machine may be shared; the
minimum is the least disturbed run), and the median.
Target: ``header`` within 1.2x of ``import pydicom`` alone.

Run: .venv/bin/python benchmarks/cli.py [--repeat 15] [FILE]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
PHI_REVIEW = str(Path(PYTHON).with_name("phi-review"))


# Like an installed copy: our modules compiled once (pip byte-compiles pydicom at install), the
# bytecode kept under .bench/ rather than beside the sources, whatever PYTHONDONTWRITEBYTECODE says.
ENV = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
ENV["PYTHONPYCACHEPREFIX"] = str(ROOT / ".bench" / "pycache")


def once(argv: list[str]) -> float:
    """Seconds of ``argv`` run to completion, output discarded."""
    start = time.perf_counter()
    subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False, env=ENV)
    return time.perf_counter() - start


def timed_in_turns(commands: dict[str, list[str]], repeat: int) -> dict[str, tuple[float, float]]:
    """(best, median) seconds of each command; the commands take turns, round after round, the order
    reversed every other round, so a slow spell of this shared machine hits each alike (one after
    another, it once made header 1.7x)."""
    times: dict[str, list[float]] = {name: [] for name in commands}
    for round_ in range(repeat):
        for name in commands if round_ % 2 == 0 else reversed(list(commands)):
            times[name].append(once(commands[name]))
    return {name: (min(values), statistics.median(values)) for name, values in times.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("file", nargs="?", help="DICOM file (default: pydicom's CT_small.dcm)")
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    from pydicom.data import get_testdata_file

    path = args.file or get_testdata_file("CT_small.dcm")
    dcmdump = shutil.which("dcmdump")
    commands: list[tuple[str, list[str] | None]] = [
        ("python -c pass", [PYTHON, "-c", "pass"]),
        ('python -c "import pydicom"', [PYTHON, "-c", "import pydicom"]),
        ("phi-review --help", [PHI_REVIEW, "--help"]),
        ("phi-review header FILE", [PHI_REVIEW, "header", path]),
        ("dcmdump FILE (DCMTK)", [dcmdump, path] if dcmdump else None),
    ]
    runnable = {name: argv for name, argv in commands if argv is not None}
    for argv in runnable.values():
        once(argv)  # warm the page cache and compile our modules once
    results = timed_in_turns(runnable, args.repeat)
    load = os.getloadavg()[0]
    print(f"file: {Path(path).name}; best of {args.repeat} runs in turns; load average {load:.1f} on {os.cpu_count()} cores")
    base = results['python -c "import pydicom"'][0]
    print(f"{'command':<28} {'best':>9} {'median':>9} {'/ import pydicom':>17} {'/ dcmdump':>10}")
    dump = results.get("dcmdump FILE (DCMTK)", (0.0, 0.0))[0]
    for name, (best, median) in results.items():
        versus_dump = f"{best / dump:>9.1f}x" if dump else f"{'-':>10}"
        print(f"{name:<28} {best * 1000:>7.0f}ms {median * 1000:>7.0f}ms {best / base:>16.2f}x {versus_dump}")
    if not dcmdump:
        print("dcmdump not found: apt-get install -y dcmtk")
    header, header_median = results["phi-review header FILE"]
    median_ratio = header_median / results['python -c "import pydicom"'][1]
    print(f"target: header within 1.2x of import pydicom: {header / base:.2f}x best, {median_ratio:.2f}x median, "
          f"{'met' if max(header / base, median_ratio) <= 1.2 else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
