"""Counts of a report's findings, for `phi-review summary` and the status line.

Kept apart from the session so scripts can summarise a report without a lock.
"""

from __future__ import annotations

from collections.abc import Iterable

from phi_review.core.report.model import Finding

UNREVIEWED = "(unreviewed)"
NO_ISSUE = "(no issue)"


def summarize(findings: Iterable[Finding]) -> dict[str, object]:
    """rows, reviewed, unreviewed, by_issue, by_action, by_issue_action.

    Unreviewed rows count under ``"(unreviewed)"`` in the action breakdowns, so
    every breakdown adds up to ``rows``. Dicts are ordered by count, largest first.
    """
    rows = reviewed = 0
    by_issue: dict[str, int] = {}
    by_action: dict[str, int] = {}
    by_issue_action: dict[str, dict[str, int]] = {}
    for finding in findings:
        rows += 1
        reviewed += finding.reviewed
        issue = finding.issue.strip() or NO_ISSUE
        action = finding.action.strip() or UNREVIEWED
        by_issue[issue] = by_issue.get(issue, 0) + 1
        by_action[action] = by_action.get(action, 0) + 1
        nested = by_issue_action.setdefault(issue, {})
        nested[action] = nested.get(action, 0) + 1
    return {
        "rows": rows,
        "reviewed": reviewed,
        "unreviewed": rows - reviewed,
        "by_issue": _by_count(by_issue),
        "by_action": _by_count(by_action),
        "by_issue_action": {issue: _by_count(by_issue_action[issue]) for issue in _by_count(by_issue)},
    }


def _by_count(counts: dict[str, int]) -> dict[str, int]:
    return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))
