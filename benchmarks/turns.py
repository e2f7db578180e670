"""What every benchmark here shares: each contender in its own process, reporting its own peak, in turns.

Why VmHWM and not ``ru_maxrss``: on Linux a child's ``ru_maxrss`` survives
``exec`` and starts at the parent's resident size when it was spawned (with
``vfork`` it is the parent's whole peak), so a driver that generated a report
before spawning made every child read the driver's 70 MB. ``VmHWM`` belongs to
the child's own address space, which ``exec`` makes new. And ``RUSAGE_CHILDREN``
is the largest of all children waited for so far, not the one just run.

Why turns: this machine is shared and its speed drifts 10-30% from minute to
minute; contenders that run one after another see different machines. Each
round runs every contender once, the order reversed every other round, and the
ratio is taken from the best and from the median of the rounds.
"""

from __future__ import annotations

import json
import statistics
import subprocess
from collections.abc import Callable, Sequence

# Pasted at the top of a ``python -c`` child: no import beyond the standard library's ``sys``-free basics.
PEAK = """
def peak_mb():
    with open("/proc/self/status", encoding="ascii") as handle:
        for line in handle:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0
"""


def peak_mb() -> float:
    """This process's own peak resident memory (VmHWM), in MB."""
    namespace: dict = {}
    exec(PEAK, namespace)  # one definition, shared with the -c children
    return namespace["peak_mb"]()


def run_json(argv: Sequence[str], timeout: float = 1800) -> dict:
    """Run one child; its last stdout line starting with ``{`` is its result."""
    done = subprocess.run(list(argv), capture_output=True, text=True, timeout=timeout)
    line = next((text for text in reversed(done.stdout.splitlines()) if text.startswith("{")), None)
    if line is None:
        raise SystemExit(f"child {' '.join(argv[:3])}... failed (exit {done.returncode}):\n{done.stderr[-2000:]}")
    return json.loads(line)


def in_turns(contenders: dict[str, Callable[[], dict]], rounds: int) -> dict[str, list[dict]]:
    """Each contender's results over ``rounds`` rounds, taking turns, order reversed every other round."""
    names = list(contenders)
    results: dict[str, list[dict]] = {name: [] for name in names}
    for round_ in range(rounds):
        for name in names if round_ % 2 == 0 else reversed(names):
            results[name].append(contenders[name]())
    return results


def best_median(runs: list[dict], key: str = "seconds") -> tuple[float, float]:
    """(best, median) of ``key`` over the rounds."""
    values = [run[key] for run in runs]
    return min(values), statistics.median(values)


def ratios(ours: list[dict], theirs: list[dict], key: str = "seconds") -> tuple[float, float]:
    """Ratio of bests and ratio of medians."""
    (a, am), (b, bm) = best_median(ours, key), best_median(theirs, key)
    return a / b, am / bm
