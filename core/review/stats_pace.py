"""The reviewer's pace from the journal, and how far a second reviewer agrees with the first.

Pace: every ``decide`` step in the journal names its reviewer, its time (UTC,
to the second) and how many rows it set. Per reviewer, the gap before a step
divided by that step's rows is the time those rows took; gaps longer than
``IDLE`` are breaks, not work, and are left out. The median of those per-row
times, times the rows still unreviewed, is the time left at that pace.

Agreement: Cohen's kappa over the report's actions (the five of the
procedure, or the report's own list), ``(po - pe) / (1 - pe)`` with ``po`` the
share of rows where both chose the same action and ``pe`` the share expected by
chance from each reviewer's own use of the actions. When ``pe`` is 1 (both used
one and the same action throughout) kappa is undefined: ``None``.
"""

from __future__ import annotations

import calendar
import statistics
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

IDLE = 30 * 60  # seconds: a longer gap between two steps is a break


def _seconds(text: object) -> int | None:
    if not isinstance(text, str):
        return None
    try:
        return calendar.timegm(time.strptime(text, "%Y-%m-%dT%H:%M:%SZ"))
    except ValueError:
        return None


def journal_steps(path: Path) -> tuple[list[tuple[str, str, int, int]], int]:
    """(kind, reviewer, time in seconds, rows) of each change step, and how many lines were damaged."""
    from phi_review.core.review.journal import _parse, read_lines

    steps: list[tuple[str, str, int, int]] = []
    damaged = 0
    for line in read_lines(path):
        record = _parse(line)
        if record is None:
            damaged += 1
            continue
        kind = record["kind"]
        if kind not in ("decide", "note", "undo", "redo", "second"):
            continue
        when = _seconds(record.get("time"))
        if when is None:
            continue
        rows = record.get("rows")
        count = len(rows) if isinstance(rows, list) else 1  # version 1: one line per row
        reviewer = record.get("reviewer")
        steps.append((kind, reviewer if isinstance(reviewer, str) else "", when, count))
    return steps, damaged


def progress_of(path: Path | None, remaining: int) -> dict[str, Any]:
    """Decisions per hour, median seconds per row and the time left, per reviewer and overall."""
    steps, damaged = journal_steps(path) if path is not None else ([], 0)
    per: dict[str, dict[str, Any]] = {}
    last: dict[str, int] = {}
    gaps_all: list[float] = []
    hours: dict[str, int] = {}
    for kind, reviewer, when, count in sorted(steps, key=lambda s: s[2]):
        if kind not in ("decide", "second"):
            continue
        mine = per.setdefault(reviewer, {"decisions": 0, "steps": 0, "first": when, "last": when, "_gaps": []})
        mine["decisions"] += count
        mine["steps"] += 1
        mine["last"] = when
        hour = time.strftime("%Y-%m-%dT%H:00Z", time.gmtime(when))
        hours[hour] = hours.get(hour, 0) + count
        before = last.get(reviewer)
        if before is not None and 0 <= when - before <= IDLE:
            per_row = (when - before) / count
            mine["_gaps"].extend([per_row] * count)
            gaps_all.extend([per_row] * count)
        last[reviewer] = when
    reviewers = {}
    for name, mine in sorted(per.items()):
        gaps = mine.pop("_gaps")
        working = sum(gaps)
        reviewers[name] = {
            "decisions": mine["decisions"],
            "steps": mine["steps"],
            "first": _iso(mine["first"]),
            "last": _iso(mine["last"]),
            "median_seconds_per_row": _round(statistics.median(gaps)) if gaps else None,
            "decisions_per_hour": _round(len(gaps) * 3600 / working) if working else None,
        }
    median = statistics.median(gaps_all) if gaps_all else None
    working = sum(gaps_all)
    return {
        "decisions": sum(mine["decisions"] for mine in reviewers.values()),
        "undone": sum(count for kind, _, _, count in steps if kind == "undo"),
        "decisions_per_hour": _round(len(gaps_all) * 3600 / working) if working else None,
        "median_seconds_per_row": _round(median) if median is not None else None,
        "remaining_rows": remaining,
        "remaining_seconds": _round(median * remaining) if median is not None else None,
        "by_hour": dict(sorted(hours.items())),
        "by_reviewer": reviewers,
        "journal_damaged_lines": damaged,
    }


def _iso(seconds: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


def _round(value: float) -> float:
    return round(value, 3)


def kappa(pairs: Sequence[tuple[str, str]], categories: Sequence[str] = ()) -> float | None:
    """Cohen's kappa of two reviewers' actions (None: no pairs, or agreement by chance is certain)."""
    n = len(pairs)
    if not n:
        return None
    labels = list(dict.fromkeys([*categories, *(a for a, _ in pairs), *(b for _, b in pairs)]))
    first = dict.fromkeys(labels, 0)
    second = dict.fromkeys(labels, 0)
    agreed = 0
    for a, b in pairs:
        first[a] += 1
        second[b] += 1
        agreed += a == b
    observed = agreed / n
    expected = sum(first[label] * second[label] for label in labels) / (n * n)
    if expected >= 1:
        return None
    return round((observed - expected) / (1 - expected), 4)


def _summary(pairs: list[tuple[str, str]], categories: Sequence[str]) -> dict[str, Any]:
    agreed = sum(a == b for a, b in pairs)
    return {
        "reviewed": len(pairs),
        "agreed": agreed,
        "disputed": len(pairs) - agreed,
        "agreement": round(agreed / len(pairs), 4) if pairs else None,
        "kappa": kappa(pairs, categories),
    }


def agreement(rows: Sequence[tuple[str, str, str]], categories: Sequence[str]) -> dict[str, Any]:
    """Second-pass agreement overall and per issue, from (issue, first action, second action) rows."""
    overall = [(first, second) for _, first, second in rows]
    by_issue: dict[str, list[tuple[str, str]]] = {}
    for issue, first, second in rows:
        by_issue.setdefault(issue, []).append((first, second))
    return {**_summary(overall, categories),
            "by_issue": {issue: _summary(pairs, categories) for issue, pairs in sorted(by_issue.items())}}
