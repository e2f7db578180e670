"""A row's editable values as the journal holds them, and the second pass's three fields in them.

Apart from journal.py (which re-exports these) to keep that module to its one job, the file format.
A values object read from a journal names the second-pass fields only when
they are not blank (journals written before the second pass never name them),
so every reader takes a missing one as "".
"""

from __future__ import annotations

from collections.abc import Mapping

from phi_review.core.report.model import EDITABLE_FIELDS, SECOND_FIELDS, Finding

Values = dict[str, str]
BLANK: Values = dict.fromkeys(EDITABLE_FIELDS, "")  # shared by every blank values object read; never mutated


def values_of(finding: Finding) -> Values:
    """The editable fields of ``finding`` as a plain dict (keys: EDITABLE_FIELDS)."""
    return {
        "action": finding.action or "",
        "note": finding.note or "",
        "reviewer": finding.reviewer or "",
        "reviewed_at": finding.reviewed_at or "",
        "corrected_copy": finding.corrected_copy or "",
        "second_review": finding.second_review or "",
        "second_reviewer": finding.second_reviewer or "",
        "second_reviewed_at": finding.second_reviewed_at or "",
    }


assert tuple(values_of(Finding(row=0, file=""))) == EDITABLE_FIELDS, "values_of must follow EDITABLE_FIELDS"


def second_of(values: Mapping[str, str]) -> tuple[str, str, str]:
    """The second-pass fields of a values object ("" for each it does not name)."""
    get = values.get
    return get("second_review", ""), get("second_reviewer", ""), get("second_reviewed_at", "")


def full_values(values: Mapping[str, str]) -> Mapping[str, str]:
    """``values`` with every editable field (a journal's object may leave the blank second-pass fields out)."""
    return values if len(values) == len(EDITABLE_FIELDS) else {**BLANK, **values}


def per_row(values: Mapping[str, str]) -> dict[str, str]:
    """Values in the per-row form: the second-pass fields only when not blank (as a step line holds them)."""
    return {name: value for name, value in values.items() if value or name not in SECOND_FIELDS}
