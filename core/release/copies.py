"""Which corrected copy stands for an original: read from the copies' own manifests (``remedy.manifest``).

Each copy's last record says what it is now (a later redact or confirm-clean
on the same copy replaces the earlier line). A record is tied to an original
by the original's path or by its SHA-256, so a copy made from the same bytes
under another mount point still counts. When an original has several copies,
the newest wins: a newer copy put under ``residual/`` means the latest attempt
failed its proof, and nothing older is released in its place.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from phi_review.core.remedy.claims import RESIDUAL_DIR
from phi_review.core.remedy.manifest import MANIFEST_NAME, latest_records, read_manifest


@dataclass
class Copy:
    """One recorded copy: its folder, its place below it, its last record and where it stands in time."""

    folder: Path
    rel: str
    record: dict[str, Any]
    order: tuple[str, int]  # (record time, line number): newest last
    made_from: frozenset[str] = frozenset()  # the original's SHA-256 as the copy's records name it

    @property
    def path(self) -> Path:
        return self.folder / self.rel

    @property
    def residual(self) -> bool:
        return self.rel.split("/", 1)[0] == RESIDUAL_DIR

    @property
    def mirrored(self) -> tuple[str, ...]:
        """The original's path tail the copy's place mirrors (``residual/`` left out)."""
        parts = tuple(self.rel.split("/"))
        return parts[1:] if self.residual else parts

    @property
    def status(self) -> str:
        proof = self.record.get("proof")
        return str(proof.get("status", "")) if isinstance(proof, dict) else ""


class CopyIndex:
    """Every copy recorded in the given output folders, by original path and by original hash."""

    def __init__(self, folders: list[Path]) -> None:
        self.folders = [Path(f) for f in folders]
        self._by_path: dict[str, list[Copy]] = {}
        self._by_hash: dict[str, list[Copy]] = {}
        for folder in self.folders:
            self._read(folder)

    def _read(self, folder: Path) -> None:
        records = read_manifest(folder)
        origins: dict[str, str] = {}
        hashes: dict[str, set[str]] = {}
        for record in records:  # the first record naming an original tells which original a copy is of
            rel = record.get("copy_rel") or _rel(folder, record.get("copy"))
            if not isinstance(rel, str):
                continue
            original = _original_of(record, folder, rel)
            if original and rel not in origins:
                origins[rel] = original
            if original and record.get("original_sha256"):
                hashes.setdefault(rel, set()).add(str(record["original_sha256"]))
        line_of = {id(record): line for line, record in enumerate(records)}
        for rel, record in latest_records(folder, records).items():
            if record.get("action") == "removed":
                continue
            made_from = frozenset(hashes.get(rel, set()))
            copy = Copy(folder, rel, record, (str(record.get("time", "")), line_of[id(record)]), made_from)
            if rel in origins:
                self._by_path.setdefault(os.path.realpath(origins[rel]), []).append(copy)
            for key in made_from:
                self._by_hash.setdefault(key, []).append(copy)

    def newest(self, original: Path, sha256: str) -> Copy | None:
        """The newest copy of ``original``: recorded under its path, or made from its bytes at its place.

        A copy found by hash alone must mirror the original's path (``remedy.output.copy_path``): two
        files with the same bytes (a study's identical slices) never stand in for each other.
        """
        tail = Path(os.path.abspath(original)).parts
        found = {id(c): c for c in self._by_path.get(os.path.realpath(original), [])}
        for copy in self._by_hash.get(sha256, []):
            if copy.mirrored and tail[-len(copy.mirrored):] == copy.mirrored:
                found.setdefault(id(copy), copy)
        return max(found.values(), key=lambda c: c.order, default=None)


def _rel(folder: Path, copy: object) -> str | None:
    if not copy:
        return None
    rel = os.path.relpath(os.path.abspath(str(copy)), os.path.abspath(folder))
    return None if rel.startswith("..") or rel == "." else Path(rel).as_posix()


def _original_of(record: dict[str, Any], folder: Path, rel: str) -> str | None:
    """The record's original, unless it is the copy itself (a step run on an existing copy)."""
    original = record.get("original")
    if not original:
        return None
    if os.path.realpath(str(original)) == os.path.realpath(folder / rel):
        return None
    return str(original)


def manifest_folder(copy: Path, limit: int = 12) -> Path | None:
    """The output folder holding a copy: the nearest parent with our manifest."""
    for parent in list(Path(os.path.abspath(copy)).parents)[:limit]:
        if (parent / MANIFEST_NAME).is_file() and not (parent / MANIFEST_NAME).is_symlink():
            return parent
    return None
