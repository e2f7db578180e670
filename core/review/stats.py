"""Where a review stands: counts by issue, action, site, event and patient; pixel findings cleared.

Kept apart from the session (like ``summary``) so ``phi-review stats`` reads a
report without a lock. Everything here is a count or a label the report
already shows (issue, action, tag keyword, site, event, reviewer); detected
values, file names and patient IDs never enter the result: patients are
numbered ``P1``, ``P2`` ... in the order their first row appears.

One pass over the rows, with the few per-row decisions (issue kind, action
class) cached per distinct text, so 500,000 rows are counted in a fraction of a
second once the report is read.
"""

from __future__ import annotations

import gc
import os
import re
from collections import Counter
from collections.abc import Callable, Sequence
from itertools import repeat
from operator import attrgetter, itemgetter
from pathlib import Path
from typing import Any

from phi_review.core.report.model import Finding, Report
from phi_review.core.review.stats_pace import agreement, progress_of

UNREVIEWED = "(unreviewed)"
NONE = "(none)"
NOT_FOUND = "(file not found)"
_EVENT = re.compile(r"\d{7}")
_TAG = re.compile(r"\(\s*([0-9A-Fa-f]{4})\s*,\s*([0-9A-Fa-f]{4})\s*\)(?:\s*\(([A-Za-z][A-Za-z0-9]*)\))?")

def issue_kind(issue: str) -> str:
    """pixels, header, missing or other, from the issue text (the validator's and the workbook's wordings)."""
    low = issue.lower()
    if "pixel" in low or "burned" in low:
        return "pixels"
    if "missing" in low:
        return "missing"
    if "header" in low or "tag" in low:
        return "header"
    return "other"


def is_rejection(action: str) -> bool:
    """The reviewer said the finding is not PHI (``No Issue / False Positive`` or a report's own wording of it)."""
    low = action.lower()
    return "no issue" in low or "false positive" in low


def site_event(finding: Finding) -> tuple[str, str]:
    """The row's Site ID and Event ID, else as the validator reads a path (the 7-digit folder and the one
    before), else the first folder as the site."""
    site, event = finding.site.strip(), finding.event.strip()
    if site and event:
        return site, event
    folders = re.split(r"[\\/]+", finding.file.strip().strip('"'))[:-1]
    folders = [f for f in folders if f not in ("", ".")]
    derived_site = derived_event = ""
    for n, folder in enumerate(folders):
        if _EVENT.fullmatch(folder):
            derived_site, derived_event = (folders[n - 1] if n else ""), folder
            break
    if not derived_site and folders:
        derived_site = folders[0]
    return site or derived_site or NONE, event or derived_event or NONE


def tag_of(finding: Finding) -> str:
    """The tag a header row names: the Tag column, else the first ``(gggg,eeee)`` in Details."""
    if finding.tag.strip():
        return finding.tag.strip()
    match = _TAG.search(finding.details) if finding.details else None
    if not match:
        return NONE
    tag = f"({match[1].upper()},{match[2].upper()})"
    return f"{match[3]} {tag}" if match[3] else tag  # the validator writes the keyword after the tag


def _bump(counts: dict[str, int], key: str, n: int = 1) -> None:
    counts[key] = counts.get(key, 0) + n


def _by_count(counts: dict[str, int]) -> dict[str, int]:
    return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))


def compute_stats(report: Report, **options: Any) -> dict[str, Any]:
    """``_compute`` with the cyclic collector paused: its passes over 500,000 fresh tuples cost more than
    the counting (the session's open does the same)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _compute(report, **options)
    finally:
        if was_enabled:
            gc.enable()


def _compute(report: Report, *, clean_copies: Callable[[str], bool] | None = None,
                  patients: Sequence[str] | None = None, journal: Path | None = None,
                  second: Sequence[tuple[str, str, str]] | None = None) -> dict[str, Any]:
    """Every number ``phi-review stats`` shows (keys documented in the README).

    ``clean_copies(corrected_copy)``: whether that corrected copy passed the
    proof (see ``copy_proofs``). ``patients``: one label per finding ("" not
    found), or None when no header was read. ``second``: (issue, first action,
    second action) per second-reviewed row; by default read from the report's
    ``Second Review`` column. Rows are counted column-wise (``Counter`` over
    ``zip``): the per-row work runs in C, the Python work once per distinct key.
    """
    findings = report.findings
    issues = list(map(attrgetter("issue"), findings))  # map(attrgetter): the columns at C speed
    actions = list(map(attrgetter("action"), findings))
    files = list(map(attrgetter("file"), findings))
    sites = list(map(attrgetter("site"), findings))
    events = list(map(attrgetter("event"), findings))
    rows = len(findings)
    main = Counter(map(attrgetter("issue", "tag", "action", "corrected_copy"), findings))
    issue_action: Counter = Counter()
    for (issue, _, action, _), n in main.items():
        issue_action[issue, action] += n
    reviewed = sum(n for (_, action), n in issue_action.items() if action.strip())
    by_issue_action: dict[str, dict[str, int]] = {}
    for (issue, action), n in issue_action.items():
        _bump(by_issue_action.setdefault(issue.strip() or NONE, {}), action.strip() or UNREVIEWED, n)
    # Files: most rows name a file no other row names; only rows of a repeated file need a set.
    keys: list = list(zip(sites, events, files)) if any(sites) or any(events) else files
    file_count = len(set(keys))  # a set: twice as fast as a Counter, which only a repeated file needs
    per_key: Counter = Counter(keys) if file_count != rows else Counter()
    files_by = {issue: dict(counts) for issue, counts in by_issue_action.items()}
    if file_count != rows:
        repeated = {key for key, n in per_key.items() if n > 1}
        seen: set = set()
        for issue, action, key in zip(issues, actions, keys):
            if key in repeated:
                pair = (issue.strip() or NONE, action.strip() or UNREVIEWED, key)
                if pair in seen:
                    files_by[pair[0]][pair[1]] -= 1
                seen.add(pair)
    file_places: Counter = Counter()  # files per (site, event, folder): only needed when a file has several rows
    if file_count != rows:
        triples = per_key if keys is not files else (("", "", name) for name in per_key)
        file_places.update((site, event, _folder(name)) for site, event, name in triples)
    del per_key

    if "\\" in "".join(files):
        folders = list(map(_folder, files))
    else:  # the usual names: the folder part at C speed
        folders = list(map(itemgetter(0), map(str.rpartition, files, repeat("/"))))
    by_site: dict[str, dict[str, Any]] = {}
    by_event: dict[str, dict[str, Any]] = {}
    places: dict[tuple[str, str, str], tuple[str, str]] = {}

    def place_of(site: str, event: str, folder: str) -> tuple[str, str]:
        place = places.get((site, event, folder))
        if place is None:
            place = places[site, event, folder] = site_event(Finding(row=0, file=folder + "/x", site=site,
                                                                     event=event))
        return place

    def groups_of(site: str, event: str, folder: str) -> tuple[dict[str, Any], dict[str, Any]]:
        site, event = place_of(site, event, folder)
        site_counts = by_site.get(site)
        if site_counts is None:
            site_counts = by_site[site] = _group()
            site_counts["events"] = {}
        event_counts = by_event.get(f"{site}/{event}")
        if event_counts is None:
            event_counts = by_event[f"{site}/{event}"] = site_counts["events"][event] = _group()
        return site_counts, event_counts

    for (site, event, folder, issue, action), n in Counter(zip(sites, events, folders, issues, actions)).items():
        for group in groups_of(site, event, folder):
            _count(group, issue, action, n)
    for (site, event, folder), n in file_places.items():
        for group in groups_of(site, event, folder):
            group["files"] += n
    if file_count == rows:  # one row per file: as many files as rows in every group
        for group in (*by_site.values(), *by_event.values()):
            group["files"] = group["rows"]
    del folders, file_places

    by_patient: dict[str, dict[str, Any]] = {}
    if patients is not None:
        for (label, issue, action), n in Counter(zip(patients, issues, actions)).items():
            _count(by_patient.setdefault(label or NOT_FOUND, _group()), issue, action, n)
        for label, n in Counter(label for label, _ in set(zip(patients, keys))).items() if file_count != rows else ():
            by_patient[label or NOT_FOUND]["files"] += n
        if file_count == rows:
            for group in by_patient.values():
                group["files"] = group["rows"]

    kinds = {issue: issue_kind(issue) for issue in set(issues)}
    clean: dict[str, bool] = {}

    def cleared_of(copy: str) -> bool:
        if copy not in clean:
            clean[copy] = bool(copy) and clean_copies is not None and clean_copies(copy)
        return clean[copy]

    pixels = {"detected": 0, "cleared": 0, "rejected": 0, "pending": 0}
    entities: dict[str, dict[str, Any]] = {}
    untagged: set[tuple[str, str, str]] = set()
    for (issue, tag, action, copy), n in main.items():
        kind = kinds[issue]
        if kind == "pixels":
            pixels["detected"] += n
            pixels["cleared" if cleared_of(copy) else "rejected" if is_rejection(action) else "pending"] += n
        elif kind == "header":
            if tag.strip():
                _entity(entities, tag.strip(), action, cleared_of(copy), n)
            else:
                untagged.add((issue, action, copy))  # the tag is in Details: read row by row below
    if untagged:
        for f in findings:
            if not f.tag.strip() and (f.issue, f.action, f.corrected_copy) in untagged:
                _entity(entities, tag_of(f), f.action, cleared_of(f.corrected_copy), 1)
    for entity in entities.values():
        entity["by_action"] = _by_count(entity["by_action"])

    if second is None:
        second = second_pass_rows(report)
    return {
        "rows": rows,
        "reviewed": reviewed,
        "unreviewed": rows - reviewed,
        "files": file_count,
        "by_issue_action": {issue: _by_count(counts) for issue, counts in by_issue_action.items()},
        "files_by_issue_action": {issue: _by_count(counts) for issue, counts in files_by.items()},
        "by_site": {site: {**data, "events": dict(sorted(data["events"].items()))}
                    for site, data in sorted(by_site.items())},
        "by_event": dict(sorted(by_event.items())),
        "by_patient": _patient_order(by_patient),
        "patients_read": patients is not None,
        "pixels": pixels,
        "entities": dict(sorted(entities.items(), key=lambda item: (-item[1]["rows"], item[0]))),
        "progress": progress_of(journal, rows - reviewed),
        "second_pass": agreement(second, list(report.actions)),
    }


def _folder(name: str) -> str:
    """The folders of a file name as written ("" for a bare name), either separator."""
    return (name if "\\" not in name else name.replace("\\", "/")).rpartition("/")[0]


def _group() -> dict[str, Any]:
    return {"rows": 0, "reviewed": 0, "files": 0, "by_issue_action": {}}


def _count(group: dict[str, Any], issue: str, action: str, n: int) -> None:
    group["rows"] += n
    if action.strip():
        group["reviewed"] += n
    _bump(group["by_issue_action"].setdefault(issue.strip() or NONE, {}), action.strip() or UNREVIEWED, n)


def _entity(entities: dict[str, dict[str, Any]], name: str, action: str, cleared: bool, n: int) -> None:
    entity = entities.setdefault(name, {"rows": 0, "reviewed": 0, "cleared": 0, "rejected": 0, "by_action": {}})
    entity["rows"] += n
    entity["reviewed"] += n if action.strip() else 0
    entity["cleared"] += n if cleared else 0
    entity["rejected"] += n if not cleared and is_rejection(action) else 0
    _bump(entity["by_action"], action.strip() or UNREVIEWED, n)


def _patient_order(by_patient: dict[str, dict[str, int]]) -> dict[str, dict[str, int]]:
    def order(label: str) -> tuple[int, int]:
        return (1, 0) if not label.startswith("P") or not label[1:].isdigit() else (0, int(label[1:]))

    return {label: by_patient[label] for label in sorted(by_patient, key=order)}


def second_pass_rows(report: Report) -> list[tuple[str, str, str]]:
    """(issue, first action, second action) for each row the second pass looked at (its Second Review)."""
    return [(f.issue.strip() or NONE, f.action.strip(), f.second_review.strip())
            for f in report.findings if f.second_review and f.second_review.strip()]


def copy_proofs(report: Report) -> Callable[[str], bool]:
    """Whether a row's corrected copy passed the proof: its manifest's latest line says ``"proof":
    {"status": "clean"}``. The manifest is found in the nearest folder above the copy that has one."""
    from phi_review.core.remedy.manifest import MANIFEST_NAME, latest_records, read_manifest

    base = report.path if report.path.is_dir() else report.path.parent
    manifests: dict[Path, dict[str, dict[str, Any]] | None] = {}
    answers: dict[str, bool] = {}

    def latest_of(folder: Path) -> dict[str, dict[str, Any]] | None:
        if folder not in manifests:
            manifests[folder] = None
            if (folder / MANIFEST_NAME).is_file():
                try:
                    manifests[folder] = latest_records(folder, read_manifest(folder))
                except (OSError, ValueError):
                    manifests[folder] = {}
        return manifests[folder]

    def clean(copy: str) -> bool:
        if copy in answers:
            return answers[copy]
        path = Path(os.path.normpath(base / copy))
        answer = False
        for folder in path.parents:
            latest = latest_of(folder)
            if latest is not None:
                record = latest.get(path.relative_to(folder).as_posix())
                proof = record.get("proof") if isinstance(record, dict) else None
                answer = isinstance(proof, dict) and proof.get("status") == "clean"
                break
        answers[copy] = answer
        return answer

    return clean
