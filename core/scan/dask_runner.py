"""``--dask ADDRESS``: the same per-file work on a Dask distributed cluster instead of the local pool.

Optional (``pip install 'phi-review[dask]'``). Each task is ``checks.scan_file`` for one file, so rows,
journal and CSVs are exactly the local pool's. At most ``window`` tasks are in flight, so a tree of millions
of files is not turned into millions of futures at once. What the local pool does and Dask does not: a task
cannot be stopped past ``--timeout`` (set the workers' own limits: ``--memory-limit``, lifetime); a task whose
worker dies again and again (Dask's ``allowed-failures``) becomes that file's Error row.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

from phi_review.core.common.errors import PhiReviewError
from phi_review.core.common.inert import inert
from phi_review.core.scan.checks import FileResult, Options, error_row, scan_file
from phi_review.core.scan.walk import Target


def run_dask(address: str, targets: Iterable[Target], options: Options, tick: Callable[[], None] = lambda: None,
             window: int = 0, connect_timeout: float = 30) -> Iterator[FileResult]:
    """One FileResult per target, computed on the cluster at ``address`` (completion order)."""
    try:
        from distributed import Client, as_completed
    except ImportError:
        raise PhiReviewError("--dask needs Dask's distributed scheduler: pip install 'phi-review[dask]'") from None
    try:
        client = Client(address, timeout=connect_timeout)
    except Exception as error:  # noqa: BLE001 - an address that does not answer is one line
        raise PhiReviewError(f"cannot reach the Dask scheduler at {inert(address)} ({inert(type(error).__name__)})")\
            from None
    try:
        cores = sum(client.nthreads().values()) or 1
        window = window or 4 * cores
        pending = iter(targets)
        running: dict[object, Target] = {}
        done = as_completed()
        for target in pending:
            future = client.submit(scan_file, target, options, pure=False)
            running[future] = target
            done.add(future)
            if len(running) >= window:
                break
        for future in done:
            target = running.pop(future)
            try:
                result = future.result()
            except Exception as error:  # noqa: BLE001 - KilledWorker and the like: this file's Error row
                result = FileResult(target.path, [error_row(
                    target, "Could not read the file", f"the Dask worker failed ({type(error).__name__})")], error=True)
            future.release()
            tick()
            yield result
            following = next(pending, None)
            if following is not None:
                nxt = client.submit(scan_file, following, options, pure=False)
                running[nxt] = following
                done.add(nxt)
    finally:
        client.close()
