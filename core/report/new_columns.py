"""Which columns a save appends, and in which order: one fixed order for CSV files and workbooks.

Appending only the columns one save needs made the order depend on what the
reviewer did first (a note before any decision put ``Comments`` before
``Action``). So when any decision column is missing, all missing decision
columns are appended at once, always as Action, Reviewer, Reviewed At, Comments
(the order the design names them); ``Corrected Copy`` comes after, when needed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

NEW_HEADERS = {"action": "Action", "reviewer": "Reviewer", "reviewed_at": "Reviewed At", "note": "Comments",
               "corrected_copy": "Corrected Copy", "second_review": "Second Review",
               "second_reviewer": "Second Reviewer", "second_reviewed_at": "Second Reviewed At"}
DECISION_FIELDS = ("action", "reviewer", "reviewed_at", "note")
SECOND_FIELDS = ("second_review", "second_reviewer", "second_reviewed_at")
APPEND_ORDER = (*DECISION_FIELDS, "corrected_copy", *SECOND_FIELDS)


def fields_to_append(missing: Callable[[str], bool], needed: Iterable[str]) -> list[str]:
    """The fields to append, in order: ``missing(field)`` says the file has no column for it."""
    needed = set(needed)
    out: list[str] = []
    if any(missing(f) for f in DECISION_FIELDS if f in needed):
        out = [f for f in DECISION_FIELDS if missing(f)]
    if "corrected_copy" in needed and missing("corrected_copy"):
        out.append("corrected_copy")
    if any(missing(f) for f in SECOND_FIELDS if f in needed):  # the second pass's three, together, last
        out += [f for f in SECOND_FIELDS if missing(f)]
    return out
