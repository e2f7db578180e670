"""The release plan: every report row's fate, decided from the saved decisions before anything is written.

Rows are grouped by the file they resolve to (``report.pointer.resolve_row``,
as the screen and ``findings`` resolve them). A file is released only when
every row naming it is decided: one undecided row holds the whole file, one
row for the informatics centre sends the whole file there, and otherwise a
replacing action (deletion & re-upload, metadata update) ships its newest
corrected copy. What is held back is said per row, with the reason.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from phi_review.core.common.inert import inert
from phi_review.core.proof.check import HEADER_CLAIM, kept_kinds
from phi_review.core.release.copies import Copy, CopyIndex
from phi_review.core.release.layout import (
    APPROVED, DELETE, INFORMATICS, METADATA, REPLACING, UNDECIDED, UNKNOWN, category, labcas_name, parse_time, root_of,
)
from phi_review.core.remedy.manifest import sha256_file
from phi_review.core.report.model import Finding

HELD = "held"
_CHOSEN = {DELETE: "Needs Deletion & Re-upload", METADATA: "Needs Metadata Update"}


@dataclass
class RowEntry:
    """One report row in the release's lists: where it is, what was decided, and (held) why not released."""

    source: str  # the report file's name
    row: int
    name: str  # the LabCAS name when the row resolved, else the file as the report writes it
    status: str  # approved, informatics, held, or released (its file's copy is in the package)
    action: str
    reviewer: str
    decided_at: str
    reason: str = ""

    def record(self) -> dict[str, object]:
        out: dict[str, object] = {"kind": "row", "source": self.source, "row": self.row, "name": self.name,
                                  "status": self.status, "action": self.action, "reviewer": self.reviewer,
                                  "decided_at": self.decided_at}
        if self.reason:
            out["reason"] = self.reason
        return out


@dataclass
class FileItem:
    """A file the package replaces: its original, its corrected copy, and what the proof must check."""

    original: Path
    labcas: str
    category: str
    rows: list[RowEntry]
    reviewer: str
    decided_at: str
    original_sha256: str
    copy: Copy
    require: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)

    @property
    def decision(self) -> str:
        return _CHOSEN[self.category]


@dataclass
class Plan:
    files: list[FileItem]
    rows: list[RowEntry]  # every row not released with a file: approved, informatics, held

    @property
    def held(self) -> list[RowEntry]:
        return [r for r in self.rows if r.status == HELD]

    def digest(self) -> str:
        """What makes two runs the same release: files, copies' bytes, and every row's fate."""
        rows = [*self.rows, *(r for f in self.files for r in f.rows)]
        facts = {
            "files": [[f.labcas, f.original_sha256, str(f.copy.record.get("copy_sha256", "")), f.category, f.copy.rel]
                      for f in self.files],
            "rows": sorted([r.source, r.row, r.name, r.status, r.reason, r.action, r.reviewer, r.decided_at]
                           for r in rows),
        }
        return hashlib.sha256(json.dumps(facts, sort_keys=True).encode()).hexdigest()


def plan_release(findings: Sequence[Finding], source_name: Callable[[Finding], str], index: object,
                 copies: CopyIndex, roots: Sequence[Path]) -> Plan:
    """Decide every row's fate from its saved decision, its file under ``roots`` and the recorded copies."""
    from phi_review.core.report.pointer import resolve_row

    groups: dict[str, list[tuple[Finding, RowEntry]]] = {}
    paths: dict[str, Path] = {}
    rows: list[RowEntry] = []
    root_list = [Path(r) for r in roots]
    for finding in findings:
        kind = category(finding.action)
        entry = RowEntry(source_name(finding), finding.row, finding.file, "", finding.action.strip(),
                         finding.reviewer.strip(), finding.reviewed_at.strip())
        if kind == UNKNOWN:
            entry.action = ""  # free text typed into the cell is not copied into a release
        resolution = resolve_row(index, finding)  # type: ignore[arg-type]
        root = root_of(resolution.path, root_list) if resolution.path is not None else None
        if resolution.path is None or root is None:
            rows.append(_unresolved(entry, kind, _not_found(resolution)))
            continue
        entry.name = labcas_name(resolution.path, root)
        key = os.path.realpath(resolution.path)
        paths.setdefault(key, Path(resolution.path))
        groups.setdefault(key, []).append((finding, entry))
    files: list[FileItem] = []
    for key, members in groups.items():
        item = _file_item(paths[key], members, copies, rows)
        if item is not None:
            files.append(item)
    rows.sort(key=lambda r: (r.source, r.row))
    files.sort(key=lambda f: f.labcas)
    return Plan(files, rows)


def _unresolved(entry: RowEntry, kind: str, reason: str) -> RowEntry:
    """A row whose file is not found: fine when nothing is uploaded for it, held when a copy should replace it."""
    if kind == APPROVED:
        entry.status = APPROVED
    elif kind == INFORMATICS:
        entry.status = INFORMATICS
    else:
        entry.status = HELD
        entry.reason = _why_undecided(kind) or f"its file was not found: {reason}"
    return entry


def _not_found(resolution: object) -> str:
    """Why a row has no file, in words that do not change between runs (a resume compares them)."""
    status = getattr(resolution, "status", "")
    if status == "ambiguous":
        return f"{len(getattr(resolution, 'candidates', []))} files under --root fit the row (ambiguous)"
    if status == "outside":
        return "the report names a path outside --root"
    if getattr(resolution, "path", None) is not None:
        return "the file is outside --root"
    return "no file under --root fits the row"


def _why_undecided(kind: str) -> str:
    if kind == UNDECIDED:
        return "no decision"
    if kind == UNKNOWN:
        return "an action that is not one of the five the release knows"
    return ""


def _disputed(finding: Finding) -> bool:
    """The second pass chose another action than the first decision (a confirmation repeats it)."""
    second = str(getattr(finding, "second_review", "") or "").strip()
    return bool(second) and second.casefold() != finding.action.strip().casefold()


def _latest(entries: list[RowEntry]) -> RowEntry:
    """The row decided last (a row without a readable time counts as oldest)."""
    def when(entry: RowEntry) -> tuple[int, object]:
        moment = parse_time(entry.decided_at)
        return (1, moment) if moment is not None else (0, entry.row)
    return max(entries, key=when)


def _file_item(original: Path, members: list[tuple[Finding, RowEntry]], copies: CopyIndex,
               rows: list[RowEntry]) -> FileItem | None:
    entries = [entry for _finding, entry in members]
    kinds = [category(finding.action) for finding, _entry in members]
    undecided = [entry for entry, kind in zip(entries, kinds) if kind in (UNDECIDED, UNKNOWN)]
    disputed = [entry for finding, entry in members if _disputed(finding)]
    if disputed and not undecided:  # a second reviewer disagrees: nobody's decision stands yet
        first = disputed[0]
        for entry in entries:
            entry.status = HELD
            entry.reason = (f"disputed in the second pass (row {first.row} of {first.source}): "
                            "resolve the dispute before releasing")
        rows.extend(entries)
        return None
    if undecided:
        first = undecided[0]
        for entry, kind in zip(entries, kinds):
            entry.status = HELD
            entry.reason = _why_undecided(kind) or f"held with its file: row {first.row} of {first.source} is undecided"
        rows.extend(entries)
        return None
    if INFORMATICS in kinds:
        for entry in entries:
            entry.status = INFORMATICS
        rows.extend(entries)
        return None
    if not any(kind in REPLACING for kind in kinds):
        for entry in entries:
            entry.status = APPROVED
        rows.extend(entries)
        return None
    chosen = DELETE if DELETE in kinds else METADATA
    latest = _latest(entries)
    reason = "its path holds a line break: it cannot be listed for deletion" if any(
        c in entries[0].name for c in "\r\n") else ""
    sha = ""
    copy = None
    if not reason:
        try:
            sha = sha256_file(original)
        except OSError as error:
            reason = f"the original cannot be read ({inert(error.strerror)})"
    if not reason:
        copy = copies.newest(original, sha)
        reason = _copy_problem(copy, latest, copies)
        if not reason and copy is not None and copy.made_from and sha not in copy.made_from:
            reason = "the original's bytes are not the ones its copy was made from (changed since?)"
    if reason or copy is None:
        for entry in entries:
            entry.status, entry.reason = HELD, reason
        rows.extend(entries)
        return None
    for entry in entries:
        entry.status = "released"
    require = [HEADER_CLAIM] if chosen == METADATA else []
    options = copy.record.get("options") or []
    return FileItem(original, entries[0].name, chosen, entries, latest.reviewer, latest.decided_at, sha, copy,
                    require, kept_kinds([str(o) for o in options] if isinstance(options, list) else []))


def _copy_problem(copy: Copy | None, latest: RowEntry, copies: CopyIndex) -> str:
    """Why the newest copy cannot stand for the original ("" when it can, subject to the proof at release)."""
    if copy is None:
        where = ", ".join(inert(f) for f in copies.folders) or "no copies folder"
        return f"no corrected copy of this file in {where}"
    if copy.residual or copy.status == "residual":
        return "the newest copy failed its proof (put under residual/ without its claims)"
    if copy.status == "residual-accepted":
        return "the copy's proof found identifiers left (accepted at fix time); only proven copies are released"
    if copy.status != "clean":
        return "the copy's record does not say it was proven clean"
    made, decided = parse_time(str(copy.record.get("time", ""))), parse_time(latest.decided_at)
    if made is not None and decided is not None and made < decided:
        return (f"the copy (made {made.isoformat(timespec='seconds')}) is older than the latest decision "
                f"({decided.isoformat(timespec='seconds')}, row {latest.row}): make the copy again")
    return ""
