"""The scan's output folder: a journal while it runs, then one validator-layout CSV per site.

Each finished file's rows are appended to ``.phi-review-scan/journal.jsonl``
and fsynced, so ``kill -9`` loses at most the files in flight; a torn last
line is dropped on the next start. When every file is done the CSVs are
written (temporary file, fsync, ``os.replace``) in the validator's order
(event, file path, finding class, score descending), the journal is removed
and ``state.json`` says the scan is complete. The same input gives the same
bytes whether or not the run was interrupted.

The journal holds the rows' values, as the CSVs do: it lives in the output
folder (mode 0700, files 0600), never in a temporary folder, and goes once
the CSVs are written. ``state.json`` holds no value from any file. The hidden
folder and the ``.jsonl`` suffix keep it out of ``summarize-validation-reports``'
``DIR/*/*.csv``.
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path

from phi_review.core.common.errors import PhiReviewError
from phi_review.core.common.inert import inert
from phi_review.core.scan import layout
from phi_review.core.scan.checks import FileResult
from phi_review.core.scan.walk import Target

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


class Sink:
    """The output folder of one scan: what is done, what to write."""

    def __init__(self, out: Path, fingerprint: dict[str, object], restart: bool = False) -> None:
        self.out = out
        self.state_dir = out / STATE_DIR
        self.journal = self.state_dir / "journal.jsonl"
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
            self.journal.unlink(missing_ok=True)
            self.state = {"fingerprint": fingerprint, "complete": False, "written": self.state.get("written", [])}
            self._save_state()
        self.done: dict[str, dict[str, object]] = {} if self.state.get("complete") else self._read_journal()

    @property
    def complete(self) -> bool:
        return bool(self.state.get("complete"))

    def _read_state(self) -> dict[str, object]:
        try:
            data = json.loads(self.state_file.read_text(encoding="utf-8"))
            return data if isinstance(data, dict) else {}
        except (OSError, ValueError):
            return {}

    def _save_state(self) -> None:
        _write_atomic(self.state_file, json.dumps(self.state, sort_keys=True).encode())

    def _read_journal(self) -> dict[str, dict[str, object]]:
        done: dict[str, dict[str, object]] = {}
        if not self.journal.exists():
            return done
        good = 0
        with open(self.journal, "rb") as handle:
            for line in handle:
                try:
                    entry = json.loads(line)
                except ValueError:
                    break  # a line torn by kill -9: this one and anything after it are redone
                if not line.endswith(b"\n"):
                    break
                done[entry["path"]] = entry
                good += len(line)
        with open(self.journal, "r+b") as handle:
            handle.truncate(good)
        return done

    def record(self, result: FileResult) -> None:
        """One finished file, durable before it counts as done."""
        entry = {"path": result.path, "rows": result.rows, "frames": result.frames,
                 "read": result.frames_read, "error": result.error}
        line = json.dumps(entry, ensure_ascii=False, sort_keys=True).encode() + b"\n"
        fd = os.open(self.journal, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW, 0o600)
        try:
            os.write(fd, line)
            os.fsync(fd)
        finally:
            os.close(fd)
        self.done[result.path] = entry

    def finish(self, targets: Iterable[Target]) -> dict[str, int]:
        """Write one CSV per site from the journal, in the validator's order; return the counts."""
        by_site: dict[str, list[tuple[tuple[object, ...], list[str]]]] = defaultdict(list)
        counts = {"files": 0, "errors": 0, "rows": 0, "frames": 0}
        for target in targets:
            entry = self.done.get(target.path)
            if entry is None:
                raise PhiReviewError(f"{inert(target.path)} was not scanned")
            counts["files"] += 1
            counts["errors"] += bool(entry["error"])
            counts["frames"] += int(entry["read"])  # type: ignore[call-overload]
            for n, row in enumerate(entry["rows"]):  # type: ignore[arg-type]
                key = (target.event, target.path, layout.KIND_ORDER.get(row[5], 9), -float(row[4]), n)
                by_site[target.site].append((key, row))
        written = []
        for site, rows in sorted(by_site.items()):
            rows.sort(key=lambda item: item[0])
            buffer = io.StringIO(newline="")
            writer = csv.writer(buffer)
            writer.writerow(layout.COLUMNS)
            writer.writerows(row for _, row in rows)
            name = f"{site}.csv"
            if "/" in name or name.startswith("."):
                name = "_" + name.replace("/", "_")
            _write_atomic(self.out / name, buffer.getvalue().encode("utf-8"))
            os.chmod(self.out / name, 0o644)
            written.append(name)
            counts["rows"] += len(rows)
        for stale in self.state.get("written", []):  # type: ignore[union-attr]
            if stale not in written and (self.out / str(stale)).is_file():
                (self.out / str(stale)).unlink()
        _fsync_dir(self.out)
        self.state.update({"complete": True, "written": written, "counts": counts})
        self._save_state()
        self.journal.unlink(missing_ok=True)
        return counts
