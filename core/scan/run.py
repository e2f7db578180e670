"""A whole scan: walk the trees, skip what the journal already holds, run the pool, write the CSVs."""

from __future__ import annotations

import itertools
import os
import sys
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from phi_review.core.common.errors import PhiReviewError
from phi_review.core.common.inert import inert
from phi_review.core.scan import layout
from phi_review.core.scan.checks import FileResult, Options, error_row
from phi_review.core.scan.pool import Pool, WorkersFailed
from phi_review.core.scan.sink import Sink
from phi_review.core.scan.walk import Target, WalkStats, walk

FORMAT_VERSION = 1


@dataclass
class Summary:
    files: int
    errors: int
    rows: int
    frames: int
    csvs: list[str]
    resumed: int  # files taken from the journal of an interrupted run
    already_complete: bool = False
    loops: int = 0  # links to a folder already on the path, not followed
    repeats: int = 0  # folders reached through too many paths, not entered again
    outside: int = 0  # files read through a link to outside the trees
    system: int = 0  # links to folders in /proc, /sys or /dev, not entered


def _duration(seconds: float) -> str:
    seconds = int(max(0, seconds))
    if seconds >= 3600:
        return f"{seconds // 3600}h {seconds % 3600 // 60:02d}m"
    if seconds >= 60:
        return f"{seconds // 60}m {seconds % 60:02d}s"
    return f"{seconds}s"


class Progress:
    """Files, frames, rate and time left: one line rewritten on a terminal, plain lines every few seconds elsewhere."""

    def __init__(self, stream: TextIO, total: int, done: int, every: float = 5.0) -> None:
        self.stream, self.total, self.done, self.errors = stream, total, done, 0
        self.tty = bool(getattr(stream, "isatty", lambda: False)())
        self.start = time.monotonic()
        self.first = done
        self.frames = 0
        self.last = 0.0
        self.every = 0.25 if self.tty else every

    def line(self) -> str:
        elapsed = max(1e-6, time.monotonic() - self.start)
        rate = (self.done - self.first) / elapsed
        left = (self.total - self.done) / rate if rate > 0 else None
        eta = f", about {_duration(left)} left" if left is not None else ""
        bad = f", {self.errors} unreadable" if self.errors else ""
        return (f"scan: {self.done}/{self.total} files, {self.frames} frames, {rate:.1f} files/s "
                f"({self.frames / elapsed:.1f} frames/s){eta}{bad}")

    def fit(self, line: str) -> str:
        """The line cut to the terminal's width: a line that wraps cannot be rewritten in place (80 columns)."""
        try:
            width = os.get_terminal_size(self.stream.fileno()).columns
        except (AttributeError, OSError, ValueError):
            return line
        if width <= 0 or len(line) < width:
            return line
        short = line.replace(" files/s (", " files/s, ").replace(" frames/s)", " frames/s").replace("about ", "")
        return short if len(short) < width else short[:max(1, width - 2)] + "…"

    def show(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self.last < self.every:
            return
        self.last = now
        if self.tty:
            self.stream.write("\r\x1b[K" + self.fit(self.line()))
        else:
            self.stream.write(self.line() + "\n")
        self.stream.flush()

    def end(self) -> None:
        self.show(force=True)
        if self.tty:
            self.stream.write("\n")
            self.stream.flush()


def _answered(results: Iterable[FileResult]) -> Iterator[FileResult]:
    """The workers' results; a worker that cannot start, or dies where no file can take the blame, is one line.

    Only the pool's own writes are guarded here: a BrokenPipeError reaching the CLI reads as a closed stdout
    (exit 0, nothing said), which would hide a scan that stopped."""
    try:
        yield from results
    except (BrokenPipeError, WorkersFailed):
        raise PhiReviewError("the scan's worker processes could not be started or stopped answering; what is done "
                             "is kept: run the same command again to continue") from None


def _problem(target: Target) -> FileResult:
    """The Error row of a path the walk already knows is not a readable file (never sent to a worker)."""
    return FileResult(target.path, [error_row(target, "Could not read the file", target.problem)], error=True)


def _noted(target: Target, result: FileResult) -> FileResult:
    """What the walk knows of the file (read through a link to outside the trees) said in each of its rows."""
    if target.note:
        result.rows = [layout.with_note(row, target.note) for row in result.rows]
    return result


def scan(trees: Sequence[str], out: Path, options: Options, *, workers: int, timeout: float = 120.0,
         memory_mb: int = 4096, restart: bool = False, progress: TextIO | None = sys.stderr,
         dask: str | None = None) -> Summary:
    """Scan ``trees`` into ``out``; resumes an interrupted scan of the same trees and options.

    ``dask``: a scheduler address; the files are scanned there instead of in the local pool."""
    for tree in trees:
        if not Path(tree).exists() and not Path(tree).is_symlink():
            raise PhiReviewError(f"{inert(tree)}: no such file or folder")
    fingerprint = {
        "version": FORMAT_VERSION, "trees": list(trees), "ocr": options.ocr, "ocr_frames": options.ocr_frames,
        "rules": [repr(rule) for rule in options.rules],
    }
    sink = Sink(out, fingerprint, restart=restart)
    if sink.complete:
        counts = sink.state.get("counts", {})
        return Summary(int(counts.get("files", 0)), int(counts.get("errors", 0)), int(counts.get("rows", 0)),
                       int(counts.get("frames", 0)), list(sink.state.get("written", [])), 0, already_complete=True)
    stats = WalkStats()
    targets = sorted(set(walk(trees, stats)))
    known = [t for t in targets if t.path not in sink.done and t.problem]  # Error rows before any read
    todo = [t for t in targets if t.path not in sink.done and not t.problem]
    by_path = {t.path: t for t in todo + known}
    resumed = len(targets) - len(todo) - len(known)
    meter = Progress(progress, len(targets), resumed) if progress is not None else None
    pool = Pool(options, workers, timeout, memory_mb)

    def tick() -> None:
        if meter is not None:
            meter.frames = meter.frames if dask else pool.frames
            meter.show()

    if dask:
        from phi_review.core.scan.dask_runner import run_dask

        results = run_dask(dask, todo, options, tick)
    else:
        results = pool.run(todo, tick)
    for result in itertools.chain((_problem(t) for t in known), _answered(results)):
        sink.record(by_path[result.path], _noted(by_path[result.path], result))
        if meter is not None:
            meter.frames += result.frames_read if dask else 0
            meter.done += 1
            meter.errors += result.error
            tick()
    if meter is not None:
        meter.frames = meter.frames if dask else pool.frames
        meter.end()
    counts = sink.finish(targets)
    return Summary(counts["files"], counts["errors"], counts["rows"], counts["frames"],
                   list(sink.state.get("written", [])), resumed, loops=stats.loops, repeats=stats.repeats,
                   outside=stats.outside, system=stats.system)
