"""Build the package from a plan: copy, prove again, validate, write the manifest, then rename into place.

Each file is copied into the hidden build folder (``stage``), proved there
with the project's own proof (``proof.check.Prover``, which shares no code with
what made the copy), then scanned there (``scan_gate``: the scan's header check
and rules, OCR of every frame for a copy that claims BurnedInAnnotation NO or
that a rule flags), and journaled. A file that fails stops the release (the
hidden folder is removed: no package), or with ``partial`` stays behind and
is listed. The manifest holds names, hashes, decisions, reviewers, times and
the proof's and the scan's kinds and places: no value, no OCR text, no note.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from phi_review import __version__
from phi_review.core.common.errors import PhiReviewError
from phi_review.core.common.inert import inert
from phi_review.core.proof.check import Proof, Prover
from phi_review.core.release.plan import HELD, FileItem, Plan, RowEntry
from phi_review.core.release.stage import (
    BANNER, DELETIONS, MANIFEST, ReleaseError, Staging, _complete, check_target,
)
from phi_review.core.release.summary import banner, count_package
from phi_review.core.remedy.manifest import sha256_file, utc_now


@dataclass
class ReleaseOptions:
    partial: bool = False
    resume: bool = False
    validator: list[str] | None = None  # the command, checked (validate.validator_command)
    reports: list[str] = field(default_factory=list)  # the report files' names, for the manifest
    engine: object = None  # OCR engine for the pixel claim (None: the default one)
    rules: tuple[Any, ...] | None = None  # the package scan's rules (scan.rules.Rule; None: the default rules)


@dataclass
class Outcome:
    """What happened: published or stopped, the summary, the held rows, the lines to show."""

    published: bool
    summary: dict[str, Any]
    held: list[dict[str, Any]]
    lines: list[str]
    notes: list[str] = field(default_factory=list)


def release(plan: Plan, pkg: Path, options: ReleaseOptions) -> Outcome:
    """Release ``plan`` into ``pkg`` (absent or empty), or complete an interrupted one with ``resume``."""
    pkg = Path(pkg)
    state = check_target(pkg)
    if state == "complete":
        if not options.resume:
            raise ReleaseError(f"{inert(pkg)} already holds a complete release: give a new folder")
        return _finished(pkg)
    digest = _digest(plan, options)
    staging = Staging(pkg)
    notes: list[str] = []
    if staging.exists():
        if not options.resume:
            staging.open(create=True)  # refuses, naming the interrupted release
        staging.open(create=False)
        if _complete(staging.path / MANIFEST):  # killed after the manifest, before the rename
            staging.publish(state)
            return _finished(pkg, ["completed the interrupted release (it was only left to rename)"])
        journal = staging.journal()
        head = next((r for r in journal if r.get("kind") == "release"), None)
        if not journal:  # killed before its first line: nothing was done yet
            staging.append({"kind": "release", "digest": digest, "version": __version__, "time": utc_now()})
        elif head is None or head.get("digest") != digest:
            staging.close()
            raise ReleaseError(f"the decisions, copies or options changed since the interrupted release at "
                               f"{inert(staging.path)} started: remove that folder and release again")
        notes.append(f"resumed the interrupted release ({staging.tidy()} temp file(s) of it removed)")
    else:
        if plan.held and not options.partial:
            return _stopped(plan, [])
        staging.open(create=True)
        staging.append({"kind": "release", "digest": digest, "version": __version__, "time": utc_now()})
    try:
        return _build(plan, pkg, state, staging, options, notes)
    finally:
        staging.close()


def _digest(plan: Plan, options: ReleaseOptions) -> str:
    facts = [plan.digest(), options.partial, options.validator or []]
    return hashlib.sha256(json.dumps(facts).encode()).hexdigest()


def _build(plan: Plan, pkg: Path, state: str, staging: Staging, options: ReleaseOptions,
           notes: list[str]) -> Outcome:
    last: dict[str, dict[str, Any]] = {}
    for record in staging.journal():
        if record.get("kind") in ("file", "held-file", "withdrawn"):
            last[str(record.get("labcas"))] = record
    records: dict[str, dict[str, Any]] = {}
    held_files: dict[str, str] = {}
    for item in plan.files:
        done = last.get(item.labcas)
        if done is not None and done["kind"] != "file":
            held_files[item.labcas] = str(done.get("reason", ""))
            continue
        if done is not None and _still_there(staging.path / item.labcas, done):
            records[item.labcas] = done
            continue
        record, reason = _release_file(item, staging, options)
        if reason:
            if not options.partial:
                staging.discard()
                return _stopped(plan, [], {item.labcas: reason})
            staging.append({"kind": "held-file", "labcas": item.labcas, "reason": reason})
            held_files[item.labcas] = reason
            continue
        staging.append(record)
        records[item.labcas] = record
    if options.validator and records:
        stop = _validate(staging, options, records, held_files)
        if stop is not None:
            staging.discard()
            return _stopped(plan, [], stop)
    return _publish(plan, pkg, state, staging, options, records, held_files, notes)


def _still_there(path: Path, record: dict[str, Any]) -> bool:
    try:
        return sha256_file(path) == record.get("copy_sha256")
    except OSError:
        return False


def _release_file(item: FileItem, staging: Staging, options: ReleaseOptions) -> tuple[dict[str, Any], str]:
    """Copy one corrected copy into the package and prove it there; (manifest line, "") or ({}, why not)."""
    from phi_review.core.remedy.errors import RemedyError

    expected = str(item.copy.record.get("copy_sha256", ""))
    try:
        sha = staging.place(item.labcas, item.copy.path, item.copy.folder)
    except FileNotFoundError:
        return {}, "the corrected copy is missing"
    except (OSError, RemedyError, PhiReviewError) as error:
        return {}, f"the corrected copy cannot be read ({inert(getattr(error, 'strerror', None) or error)})"
    if sha != expected:
        staging.remove(item.labcas)
        return {}, "the corrected copy changed since it was made (its bytes are not the ones its record names)"
    staged = staging.path / item.labcas
    prover = None
    try:
        prover = Prover(item.original, kept=item.kept)
        proof = prover.prove(staged, require=item.require, engine=options.engine)
    except Exception as error:  # noqa: BLE001 - a proof that cannot run proves nothing
        proof = Proof({}, unproven=[f"the proof could not run ({type(error).__name__})"])
    reason, scan = "", None
    if not proof.clean:
        reason = f"not released, {proof.summary()}"
    elif not proof.checked:
        reason = ("the copy carries no claim the proof can check (PatientIdentityRemoved YES from fix, "
                  "BurnedInAnnotation NO from redact --confirm-clean)")
    elif prover is not None:
        scan = _scan(staged, prover, item, options)
        if scan.stops:
            reason = f"not released, {scan.summary()}"
    if reason:
        staging.remove(item.labcas)
        return {}, reason
    record = item.copy.record
    return {
        "kind": "file",
        "labcas": item.labcas,
        "rows": [{"source": r.source, "row": r.row} for r in item.rows],
        "decision": item.decision,
        "done": "corrected copy released; the original is on the deletion list",
        "reviewer": item.reviewer,
        "decided_at": item.decided_at,
        "copy": item.copy.rel,
        "copy_step": str(record.get("action") or f"fix ({record.get('kind', 'header')})"),
        "copy_made_at": record.get("time", ""),
        "copy_made_by": record.get("reviewer", ""),
        "original_sha256": item.original_sha256,
        "copy_sha256": sha,
        "proof": {**proof.record(), "required": sorted(set(item.require) | set(_claimed(proof)))},
        "scan": scan.record() if scan is not None else {},
        "validator": "not run",
    }, ""


def _scan(staged: Path, prover: Prover, item: FileItem, options: ReleaseOptions) -> Any:
    """The package scan of one proven copy (``scan_gate``); a scan that cannot run stops the copy."""
    from phi_review.core.release.scan_gate import ScanResult, scan_copy
    from phi_review.core.scan.rules import load_rules

    rules = options.rules if options.rules is not None else tuple(load_rules(None))
    try:
        return scan_copy(staged, prover.identifiers, rules, kept=item.kept, engine=options.engine)
    except Exception as error:  # noqa: BLE001 - a scan that cannot run has not shown the copy clean
        return ScanResult(stops=[f"the scan could not run ({type(error).__name__})"])


def _claimed(proof: Proof) -> list[str]:
    return [claim for claim, value in proof.claims.items()
            if (claim, str(value)) in (("PatientIdentityRemoved", "YES"), ("BurnedInAnnotation", "NO"))]


def _validate(staging: Staging, options: ReleaseOptions, records: dict[str, dict[str, Any]],
              held_files: dict[str, str]) -> dict[str, str] | None:
    """Run the real validator on the package; flagged files stop it (or leave with ``partial``)."""
    from phi_review.core.release.validate import run_validator

    assert options.validator is not None
    names = {labcas: labcas for labcas in records}
    result = run_validator(options.validator, staging.path, {n.split("/", 1)[0] for n in names}, names)
    if result.unplaced:
        return {"": f"the validator reported PHI in {result.unplaced} file(s) the release cannot place"}
    flagged = {labcas: f"the validator found possible PHI ({', '.join(kinds)})"
               for labcas, kinds in sorted(result.flagged.items())}
    if flagged and not options.partial:
        return flagged
    for labcas, reason in flagged.items():
        staging.remove(labcas)
        staging.append({"kind": "withdrawn", "labcas": labcas, "reason": reason})
        held_files[labcas] = reason
        records.pop(labcas, None)
    for record in records.values():
        record["validator"] = f"{result.command}: no PHI finding"
    return None


def _rows(plan: Plan, held_files: dict[str, str]) -> list[RowEntry]:
    rows = list(plan.rows)
    for item in plan.files:
        for row in item.rows:
            if item.labcas in held_files:
                rows.append(RowEntry(row.source, row.row, row.name, HELD, row.action, row.reviewer,
                                     row.decided_at, held_files[item.labcas]))
            else:
                rows.append(row)
    return sorted(rows, key=lambda r: (r.source, r.row))


def _counts(rows: list[RowEntry]) -> dict[str, int]:
    return {status: sum(r.status == status for r in rows) for status in ("approved", "informatics", "released")}


def _stopped(plan: Plan, notes: list[str], held_files: dict[str, str] | None = None) -> Outcome:
    rows = _rows(plan, held_files or {})
    extra = [{"source": "(package)", "row": 0, "name": "-", "reason": why}
             for key, why in (held_files or {}).items() if key == ""]
    held = [r.record() for r in rows if r.status == HELD] + extra
    summary = {**_counts(rows), "held": len(held)}
    return Outcome(False, summary, held, banner(summary, held, published=False, where=""), notes)


def _publish(plan: Plan, pkg: Path, state: str, staging: Staging, options: ReleaseOptions,
             records: dict[str, dict[str, Any]], held_files: dict[str, str], notes: list[str]) -> Outcome:
    rows = _rows(plan, held_files)
    held = [r.record() for r in rows if r.status == HELD]
    released = sorted(records)
    summary = {**count_package(staging.path / name for name in released), **_counts(rows),
               "deletions": len(released), "held": len(held)}
    head = {"kind": "release", "version": __version__, "time": utc_now(), "reports": options.reports,
            "partial": options.partial,
            "validator": Path(options.validator[0]).name if options.validator else "not run"}
    lines = [head, *(records[name] for name in released), *(r.record() for r in rows)]
    lines.append({"kind": "complete", **summary, "held_rows": [[h["source"], h["row"], h.get("reason", "")]
                                                               for h in held]})
    staging.write_text(DELETIONS, "".join(f"{name}\n" for name in released))
    text = banner(summary, held, published=True, where=str(pkg))
    staging.write_text(BANNER, "\n".join(text) + "\n")
    staging.write_text(MANIFEST, "".join(json.dumps(line, ensure_ascii=True, sort_keys=True) + "\n"
                                         for line in lines))
    staging.publish(state)
    return Outcome(True, summary, held, text, notes)


def _finished(pkg: Path, notes: list[str] | None = None) -> Outcome:
    """A package already complete: its own manifest says what it holds."""
    lines = [json.loads(raw) for raw in (pkg / MANIFEST).read_bytes().splitlines() if raw.strip()]
    summary = {k: v for k, v in lines[-1].items() if k not in ("kind", "held_rows")}
    held = [line for line in lines if line.get("kind") == "row" and line.get("status") == HELD]
    return Outcome(True, summary, held, banner(summary, held, published=True, where=str(pkg)),
                   notes or [f"{inert(pkg)} already holds this release; nothing to do"])
