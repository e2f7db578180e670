"""Per-file work on every core: forked worker processes that die with their parent.

Why not threads: header de-identification is pure Python, so the GIL keeps it
on one core. Why fork: the job (a closure holding the profile and its secret)
reaches the workers without being pickled or written anywhere. Why
``PR_SET_PDEATHSIG``: a worker must not outlive a parent killed with ``kill -9``
(it would go on writing copies and records while a re-run tidies the folder).
"""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import signal
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from typing import Any, TypeVar

Item = TypeVar("Item")
PR_SET_PDEATHSIG = 1
_JOB: Callable[[Any], Any] | None = None


def default_jobs(count: int, *, per_worker: int = 8) -> int:
    """One worker per core, but only when each would get at least ``per_worker`` items (start-up costs)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, min(cores, count // per_worker))


def _die_with_parent() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):  # not Linux: the pool's own pipe closes them at exit
        pass
    if os.getppid() == 1:  # the parent died before the line above ran
        os._exit(1)


def _call(item: Any) -> tuple[bool, Any]:
    assert _JOB is not None
    try:
        return True, _JOB(item)
    except Exception as error:  # noqa: BLE001 - the parent names the item and goes on
        return False, str(error) or type(error).__name__


def run_each(job: Callable[[Item], Any], items: Iterable[Item], jobs: int = 1) -> Iterator[tuple[Item, bool, Any]]:
    """``(item, ok, result or one-line error)`` for each item, in order; ``jobs`` > 1 forks that many workers."""
    items = list(items)
    if jobs <= 1 or len(items) < 2 or "fork" not in multiprocessing.get_all_start_methods():
        for item in items:
            try:
                yield item, True, job(item)
            except Exception as error:  # noqa: BLE001 - same contract as the workers
                yield item, False, str(error) or type(error).__name__
        return
    global _JOB
    _JOB = job
    try:
        context = multiprocessing.get_context("fork")
        with ProcessPoolExecutor(jobs, mp_context=context, initializer=_die_with_parent) as pool:
            for item, (ok, value) in zip(items, pool.map(_call, items, chunksize=2)):
                yield item, ok, value
    finally:
        _JOB = None
