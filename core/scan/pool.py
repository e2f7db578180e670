"""Worker processes that scan one file at a time, each with a deadline and a memory ceiling.

Not ``ProcessPoolExecutor``: one hostile file must cost one Error row, and
an executor can neither stop one task that hangs in a decoder nor survive a
worker killed by the memory limit (the whole pool breaks). Here each worker
is a process of its own with a pipe; a worker past its deadline is killed
and replaced, and its file becomes an Error row. A worker that dies (killed,
out of memory, a decoder that crashed) is replaced, idle or working; the file
it held is read once more by a fresh worker, since the death may not be the
file's doing (the kernel's OOM killer picks a process, not a file), and
becomes one Error row only when its second worker dies too. ``RLIMIT_AS``
bounds each worker's memory, so a decompression bomb fails inside its worker
instead of taking the machine. Workers that die before they are ready, again
and again, stop the scan (``WorkersFailed``): no file is to blame.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait

from phi_review.core.scan.checks import FileResult, Options, error_row, scan_file
from phi_review.core.scan.walk import Target

READY = "ready"  # a worker's first message: it started and can read files
DIED = "the worker reading this file died twice (killed, out of memory, or a decoder crashed)"
START_FAILURES = 3  # workers in a row that die before they are ready: the workers cannot run here


class WorkersFailed(Exception):
    """Worker processes die before they can read any file: the scan cannot go on."""


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
    conn.send(READY)
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
    ready: bool = False  # the worker said READY: a death from now on is not a failure to start


class Pool:
    """``run(targets)`` yields one FileResult per target (in completion order).

    ``timeout`` is how long a worker may go without finishing a frame (or the header), not a whole file:
    a cine loop of 2,000 frames is slow, not stuck."""

    def __init__(self, options: Options, workers: int, timeout: float, memory_mb: int) -> None:
        self.options, self.workers, self.timeout, self.memory_mb = options, max(1, workers), timeout, memory_mb
        self.context = multiprocessing.get_context("spawn")  # no state (threads, OCR models) copied in
        self.ocr_threads = max(1, default_workers() // self.workers)
        self.frames = 0  # frames decoded so far, from the workers' heartbeats
        self.replaced = 0  # workers that died or were stopped, and were replaced
        self.slots: list[_Slot] = []
        self._failed_starts = 0  # workers in a row that died before they were ready

    def pids(self) -> list[int | None]:
        """The workers' process ids (tests kill one)."""
        return [slot.process.pid for slot in self.slots]

    def _spawn(self) -> _Slot:
        parent, child = self.context.Pipe()
        process = self.context.Process(target=_worker, args=(child, self.options, self.memory_mb, self.ocr_threads),
                                       daemon=True)
        try:
            process.start()
        except OSError as error:
            parent.close()
            raise WorkersFailed(f"a worker process could not start ({error.strerror or error})") from None
        finally:
            child.close()
        return _Slot(process, parent)

    @staticmethod
    def _stop(slot: _Slot) -> None:
        slot.process.kill()
        slot.process.join(5)
        slot.conn.close()

    def _replace(self, n: int) -> _Slot:
        """Slot ``n``'s worker is dead or stopped: a new one takes its place (none after too many failed starts)."""
        old = self.slots[n]
        if not old.ready:
            self._failed_starts += 1
            if self._failed_starts >= START_FAILURES:
                raise WorkersFailed(f"{self._failed_starts} worker processes in a row died before they were ready")
        self._stop(old)
        self.replaced += 1
        self.slots[n] = self._spawn()
        return self.slots[n]

    def _give(self, n: int, target: Target) -> None:
        """Send ``target`` to slot ``n``'s worker; an idle worker that died meanwhile is replaced first."""
        while True:
            slot = self.slots[n]
            if slot.process.is_alive():
                try:
                    slot.conn.send(target)
                    slot.target, slot.started = target, time.monotonic()
                    return
                except (OSError, ValueError):  # its pipe is closed: it died between files
                    pass
            try:
                self._drain(slot)  # a READY it sent before it died: not a failure to start
            except (EOFError, OSError):
                pass
            self._replace(n)

    def _drain(self, slot: _Slot) -> FileResult | None:
        """Messages the worker sent: READY, heartbeats, then its result (None while it works). EOFError: it died."""
        while slot.conn.poll():
            message = slot.conn.recv()
            if message is None:  # a heartbeat
                self.frames += 1
                slot.started = time.monotonic()
            elif message == READY:
                slot.ready = True
                self._failed_starts = 0
            else:
                return message  # type: ignore[no-any-return]
        return None

    def run(self, targets: Iterable[Target], tick: Callable[[], None] = lambda: None) -> Iterator[FileResult]:
        pending = iter(targets)
        again: deque[Target] = deque()  # files whose worker died once: read first, by a fresh worker
        died: set[str] = set()
        self.slots = []
        try:
            for _ in range(self.workers):
                self.slots.append(self._spawn())
            exhausted = False
            while True:
                for n in range(len(self.slots)):
                    if self.slots[n].target is not None:
                        continue
                    target = again.popleft() if again else (None if exhausted else next(pending, None))
                    if target is None:
                        exhausted = True
                        break
                    self._give(n, target)
                if not any(slot.target is not None for slot in self.slots):
                    return
                ready = wait([s.conn for s in self.slots] + [s.process.sentinel for s in self.slots], timeout=0.5)
                tick()
                now = time.monotonic()
                for n, slot in enumerate(self.slots):
                    result: FileResult | None = None
                    dead = False
                    try:
                        if slot.conn in ready or slot.process.sentinel in ready:  # what it said before it died
                            result = self._drain(slot)
                    except (EOFError, OSError):
                        dead = True
                    dead = dead or (result is None and slot.process.sentinel in ready and not slot.process.is_alive())
                    target = slot.target
                    if target is None:
                        if dead:
                            self._replace(n)  # an idle worker died: ready for the next file
                        continue
                    why = ""
                    if dead and not slot.ready:
                        again.appendleft(target)  # it never started: not the file's doing
                    elif dead and target.path not in died:
                        died.add(target.path)
                        again.appendleft(target)
                    elif dead:
                        why = DIED
                    elif result is None and now - slot.started > self.timeout:
                        why = f"no answer in {self.timeout:g} s (stopped)"
                    if dead or why:
                        slot.target = None
                        slot.ready = slot.ready or bool(why)  # stopped on time out: a started worker
                        self._replace(n)
                    if why:
                        result = FileResult(target.path, [error_row(target, "Could not read the file", why)],
                                            error=True)
                    if result is None:
                        continue
                    self.slots[n].target = None
                    yield result
        finally:
            for slot in self.slots:
                try:
                    slot.conn.send(None)
                except (OSError, ValueError):
                    pass
            for slot in self.slots:
                slot.process.join(1)
                if slot.process.is_alive():
                    slot.process.kill()
                    slot.process.join(1)
