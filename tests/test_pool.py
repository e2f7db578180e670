"""Per-file work on every core (core/common/pool.py): order kept, errors named, no worker outlives its parent."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from phi_review.core.common.pool import default_jobs, run_each


def _square_or_fail(n: int) -> int:
    if n == 3:
        raise ValueError("three is refused")
    return n * n


def test_results_come_in_order_and_a_failure_is_one_line():
    got = list(run_each(_square_or_fail, range(6), jobs=2))
    assert [(item, ok) for item, ok, _ in got] == [(0, True), (1, True), (2, True), (3, False), (4, True), (5, True)]
    assert got[3][2] == "three is refused"
    assert [value for _, ok, value in got if ok] == [0, 1, 4, 16, 25]
    assert list(run_each(_square_or_fail, range(6), jobs=1)) == got


def test_a_closure_reaches_the_workers_without_pickling():
    secret = object()  # not picklable by reference in a child without fork

    def job(n: int) -> bool:
        return secret is not None and n >= 0

    assert all(ok and value for _, ok, value in run_each(job, range(10), jobs=2))


def test_small_batches_stay_in_one_process():
    assert default_jobs(3) == 1
    assert default_jobs(10_000) >= 1


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return "State:\tZ" not in state


def test_no_worker_outlives_a_parent_killed_with_sigkill(tmp_path):
    script = textwrap.dedent(f"""
        import os, time
        from phi_review.core.common.pool import run_each
        def job(n):
            open(os.path.join({str(tmp_path)!r}, f"worker-{{os.getpid()}}"), "w").close()
            time.sleep(30)
        for _ in run_each(job, range(8), jobs=2):
            pass
    """)
    parent = subprocess.Popen([sys.executable, "-c", script])
    deadline = time.monotonic() + 30
    while len(list(tmp_path.glob("worker-*"))) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    workers = [int(p.name.split("-")[1]) for p in tmp_path.glob("worker-*")]
    assert len(workers) == 2
    os.kill(parent.pid, signal.SIGKILL)
    parent.wait(timeout=10)
    deadline = time.monotonic() + 10
    while any(_alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [pid for pid in workers if _alive(pid)]
