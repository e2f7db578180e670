"""Worker processes that scan one file at a time, each with a deadline and a memory ceiling.

Not ``ProcessPoolExecutor``: one hostile file must cost one Error row, and
an executor can neither stop one task that hangs in a decoder nor survive a
worker killed by the memory limit (the whole pool breaks). Here each worker
is a process of its own with a pipe; a worker past its deadline is killed
and replaced, a worker that dies is replaced, and the file it held becomes
an Error row. ``RLIMIT_AS`` bounds each worker's memory, so a decompression
bomb fails inside its worker instead of taking the machine.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait

from phi_review.core.scan.checks import FileResult, Options, error_row, scan_file
from phi_review.core.scan.walk import Target


def default_workers() -> int:
    """One per core the process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:
        return max(1, os.cpu_count() or 1)


def _limit_memory(megabytes: int) -> None:
    if megabytes <= 0:
        return
    try:
        import resource

        limit = megabytes * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    except (ImportError, ValueError, OSError):
        pass


def _worker(conn: Connection, options: Options, memory_mb: int, ocr_threads: int) -> None:
    """Scan what the parent sends until it sends None."""
    import signal

    from phi_review.core.common.quiet import silence_libraries

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # ctrl+c is the parent's to handle: no traceback from a worker

    silence_libraries()
    _limit_memory(memory_mb)
    if options.ocr:
        from phi_review.core.ocr.engine import configure_shared

        configure_shared(threads=ocr_threads)
    from phi_review.core.scan import checks

    checks.ON_FRAME[:] = [lambda: conn.send(None)]  # a heartbeat: the deadline counts from the last frame
    while True:
        try:
            task = conn.recv()
        except (EOFError, OSError):
            return
        if task is None:
            return
        conn.send(scan_file(task, options))


@dataclass
class _Slot:
    process: multiprocessing.process.BaseProcess
    conn: Connection
    target: Target | None = None
    started: float = 0.0


class Pool:
    """``run(targets)`` yields one FileResult per target (in completion order).

    ``timeout`` is how long a worker may go without finishing a frame (or the header), not a whole file:
    a cine loop of 2,000 frames is slow, not stuck."""

    def __init__(self, options: Options, workers: int, timeout: float, memory_mb: int) -> None:
        self.options, self.workers, self.timeout, self.memory_mb = options, max(1, workers), timeout, memory_mb
        self.context = multiprocessing.get_context("spawn")  # no state (threads, OCR models) copied in
        self.ocr_threads = max(1, default_workers() // self.workers)
        self.frames = 0  # frames decoded so far, from the workers' heartbeats

    def _spawn(self) -> _Slot:
        parent, child = self.context.Pipe()
        process = self.context.Process(target=_worker, args=(child, self.options, self.memory_mb, self.ocr_threads),
                                       daemon=True)
        process.start()
        child.close()
        return _Slot(process, parent)

    @staticmethod
    def _stop(slot: _Slot) -> None:
        slot.process.kill()
        slot.process.join(5)
        slot.conn.close()

    def run(self, targets: Iterable[Target], tick: Callable[[], None] = lambda: None) -> Iterator[FileResult]:
        pending = iter(targets)
        slots: list[_Slot] = []
        try:
            for _ in range(self.workers):
                slots.append(self._spawn())
            idle = list(slots)
            busy = 0
            exhausted = False
            while True:
                while idle and not exhausted:
                    target = next(pending, None)
                    if target is None:
                        exhausted = True
                        break
                    slot = idle.pop()
                    slot.target, slot.started = target, time.monotonic()
                    slot.conn.send(target)
                    busy += 1
                if busy == 0:
                    return
                working = [s for s in slots if s.target is not None]
                ready = wait([s.conn for s in working] + [s.process.sentinel for s in working], timeout=0.5)
                tick()
                now = time.monotonic()
                for n, slot in enumerate(slots):
                    if slot.target is None:
                        continue
                    result: FileResult | None = None
                    dead = False
                    try:
                        while slot.conn in ready and result is None and slot.conn.poll():
                            result = slot.conn.recv()
                            if result is None:  # a heartbeat
                                self.frames += 1
                                slot.started = now
                    except (EOFError, OSError):
                        dead = True
                    why = ""
                    if result is None and (dead or (slot.process.sentinel in ready and not slot.process.is_alive())):
                        why = "the reader stopped (memory limit reached, or a decoder crashed)"
                    elif result is None and now - slot.started > self.timeout:
                        why = f"no answer in {self.timeout:g} s (stopped)"
                    if why:
                        result = FileResult(slot.target.path, [error_row(slot.target, "Could not read the file", why)],
                                            error=True)
                        self._stop(slot)
                        slot = slots[n] = self._spawn()
                    if result is None:
                        continue
                    slot.target = None
                    idle.append(slot)
                    busy -= 1
                    yield result
        finally:
            for slot in slots:
                try:
                    slot.conn.send(None)
                except (OSError, ValueError):
                    pass
            for slot in slots:
                slot.process.join(1)
                if slot.process.is_alive():
                    slot.process.kill()
                    slot.process.join(1)
