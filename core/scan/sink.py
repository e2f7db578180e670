"""The scan's output folder: a journal while it runs, then one validator-layout CSV per site.

Each finished file's rows go into ``.phi-review-scan/journal.sqlite`` in one
committed transaction (WAL, synchronous FULL), so ``kill -9`` loses at most
the files in flight and never half a file. When every file is done the CSVs
are written straight from the journal in the validator's order (event, file
path, finding class, score descending), read through an index so neither
memory nor a temporary sort file grows with the tree; each CSV is a temporary
file, fsynced, then ``os.replace``d. The journal is then removed and
``state.json`` says the scan is complete. The same input gives the same bytes
whether or not the run was interrupted.

The journal holds the rows' values, as the CSVs do: it lives in the output
folder (mode 0700, files 0600), never in a temporary folder, and goes once
the CSVs are written. ``state.json`` holds no value from any file: the fingerprint, the counts,
the CSVs written, and the files read through a symbolic link to outside the
trees (``links``: link path, and the real path it led to when it was read),
which the review screen may then open under the same trees
(``scan.links``). The hidden
folder and the ``.sqlite`` suffix keep it out of ``summarize-validation-reports``'
``DIR/*/*.csv``.
"""

from __future__ import annotations

import csv
import io
import json
import os
import sqlite3
from collections.abc import Iterable
from pathlib import Path

from phi_review.core.common.errors import PhiReviewError
from phi_review.core.common.inert import inert
from phi_review.core.scan import layout
from phi_review.core.scan.checks import FileResult
from phi_review.core.scan.walk import OUTSIDE_NOTE, Target

STATE_DIR = ".phi-review-scan"


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_atomic(path: Path, data: bytes) -> None:
    temp = path.with_name(f".{path.name}.tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temp, path)


_SCHEMA = """
CREATE TABLE IF NOT EXISTS files (path TEXT PRIMARY KEY, frames INTEGER, read INTEGER, error INTEGER);
CREATE TABLE IF NOT EXISTS rows (site TEXT, event TEXT, path TEXT, kind INTEGER, score REAL, n INTEGER, cells TEXT);
CREATE INDEX IF NOT EXISTS rows_order ON rows (site, event, path, kind, score DESC, n);
"""


def _links(targets: Iterable[Target]) -> list[list[str]]:
    """(absolute link path, real path) of each file the walk read through a link to outside the trees."""
    return sorted([os.path.abspath(t.path), os.path.realpath(t.path)] for t in targets if t.note == OUTSIDE_NOTE)


class Sink:
    """The output folder of one scan: what is done, what to write."""

    def __init__(self, out: Path, fingerprint: dict[str, object], restart: bool = False) -> None:
        self.out = out
        self.state_dir = out / STATE_DIR
        self.journal = self.state_dir / "journal.sqlite"
        self.state_file = self.state_dir / "state.json"
        self.fingerprint = fingerprint
        for folder in (out, self.state_dir):
            if folder.is_symlink():
                raise PhiReviewError(f"{inert(str(folder))} is a symbolic link: give a real folder for --out")
        if out.exists() and not out.is_dir():
            raise PhiReviewError(f"--out {inert(str(out))} is not a folder")
        if out.is_dir() and not self.state_dir.is_dir() and any(out.iterdir()):
            raise PhiReviewError(f"--out {inert(str(out))} holds files of something else: give a new or empty folder")
        out.mkdir(parents=True, exist_ok=True)
        self.state_dir.mkdir(mode=0o700, exist_ok=True)
        self.state = self._read_state()
        if restart or self.state.get("fingerprint") != fingerprint:
            if self.state and not restart and not self.state.get("complete"):
                raise PhiReviewError(f"the scan in {inert(str(out))} was started with other trees or options: "
                                     "give the same ones to continue, or --restart")
            self._drop_journal()
            self.state = {"fingerprint": fingerprint, "complete": False, "written": self.state.get("written", [])}
            self._save_state()
        self.db: sqlite3.Connection | None = None
        self.done: set[str] = set()
        if not self.complete:
            self.db = self._open()
            self.done = {path for (path,) in self.db.execute("SELECT path FROM files")}

    @property
    def complete(self) -> bool:
        return bool(self.state.get("complete"))

    def _drop_journal(self) -> None:
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(f"{self.journal}{suffix}").unlink(missing_ok=True)

    def _open(self) -> sqlite3.Connection:
        if self.journal.is_symlink():
            raise PhiReviewError(f"{inert(str(self.journal))} is a symbolic link")
        fd = os.open(self.journal, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
        os.close(fd)
        db = sqlite3.connect(self.journal, isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=FULL")
        db.execute("PRAGMA temp_store=MEMORY")  # nothing of the rows in a temporary file elsewhere
        db.executescript(_SCHEMA)
        return db

    def _read_state(self) -> dict[str, object]:
        try:
            data = json.loads(self.state_file.read_text(encoding="utf-8"))
            return data if isinstance(data, dict) else {}
        except (OSError, ValueError):
            return {}

    def _save_state(self) -> None:
        _write_atomic(self.state_file, json.dumps(self.state, sort_keys=True).encode())

    def record(self, target: Target, result: FileResult) -> None:
        """One finished file, committed (durable) before it counts as done."""
        assert self.db is not None
        rows = [(target.site, target.event, target.path, layout.KIND_ORDER.get(row[5], 9), float(row[4]), n,
                 json.dumps(row, ensure_ascii=False)) for n, row in enumerate(result.rows)]
        with self.db:
            self.db.execute("BEGIN")
            self.db.execute("INSERT OR REPLACE INTO files VALUES (?, ?, ?, ?)",
                            (result.path, result.frames, result.frames_read, int(result.error)))
            self.db.execute("DELETE FROM rows WHERE path = ?", (target.path,))
            self.db.executemany("INSERT INTO rows VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
        self.done.add(result.path)

    def finish(self, targets: Iterable[Target]) -> dict[str, int]:
        """Write one CSV per site from the journal, in the validator's order; return the counts."""
        assert self.db is not None
        db = self.db
        targets = list(targets)
        with db:
            db.execute("BEGIN")
            db.execute("CREATE TEMP TABLE IF NOT EXISTS current (path TEXT PRIMARY KEY)")
            db.execute("DELETE FROM current")
            db.executemany("INSERT OR IGNORE INTO current VALUES (?)", ((t.path,) for t in targets))
        missing = db.execute("SELECT count(*) FROM current WHERE path NOT IN (SELECT path FROM files)").fetchone()[0]
        if missing:
            raise PhiReviewError(f"{missing} file(s) were not scanned: run the scan again to finish it")
        files, errors, frames = db.execute(
            "SELECT count(*), coalesce(sum(error), 0), coalesce(sum(read), 0) FROM files "
            "WHERE path IN (SELECT path FROM current)").fetchone()
        counts = {"files": files, "errors": errors, "rows": 0, "frames": frames}
        written: list[str] = []
        site: str | None = None
        handle: io.TextIOWrapper | None = None
        writer = None
        query = ("SELECT site, cells FROM rows INDEXED BY rows_order WHERE path IN (SELECT path FROM current) "
                 "ORDER BY site, event, path, kind, score DESC, n")
        try:
            for row_site, cells in db.execute(query):
                if row_site != site:
                    if handle is not None and site is not None:
                        written.append(self._close_site(site, handle))
                    site, handle = row_site, self._open_site(row_site)
                    writer = csv.writer(handle)
                    writer.writerow(layout.COLUMNS)
                assert writer is not None
                writer.writerow(json.loads(cells))
                counts["rows"] += 1
            if handle is not None and site is not None:
                written.append(self._close_site(site, handle))
                handle = None
        finally:
            if handle is not None:
                handle.close()
        for stale in self.state.get("written", []):  # type: ignore[union-attr]
            if stale not in written and (self.out / str(stale)).is_file():
                (self.out / str(stale)).unlink()
        _fsync_dir(self.out)
        self.state.update({"complete": True, "written": written, "counts": counts, "links": _links(targets)})
        self._save_state()
        db.close()
        self.db = None
        self._drop_journal()
        return counts

    def _site_name(self, site: str) -> str:
        name = f"{site}.csv"
        return "_" + name.replace("/", "_") if "/" in name or name.startswith(".") else name

    def _open_site(self, site: str) -> io.TextIOWrapper:
        """A site's CSV is written as a hidden temporary file, streamed from the journal (no site in memory)."""
        temp = self.out / f".{self._site_name(site)}.tmp"
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o644)
        return open(fd, "w", encoding="utf-8", newline="")

    def _close_site(self, site: str, handle: io.TextIOWrapper) -> str:
        name = self._site_name(site)
        handle.flush()
        os.fsync(handle.fileno())
        handle.close()
        os.replace(self.out / f".{name}.tmp", self.out / name)
        return name
