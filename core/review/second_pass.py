"""The second pass: another reviewer looks at decided rows again; the same action confirms, another disputes.

It is a decision like any other: one journal step (kind ``second``), durable
before it returns, undone and redone like a decision, recovered after a crash,
and saved in three columns appended like our others (``Second Review``: the
second reviewer's action, ``Second Reviewer``, ``Second Reviewed At``). A
dispute needs a note, added to the row's Comments as ``Second review (NAME):
NOTE``, so the first reviewer reads why. The first reviewer cannot be the
second (names compared without case or surrounding space) unless a reason is
given; the reason goes into the journal step (``same_reviewer_reason``) and
the Comments.
"""

from __future__ import annotations

from collections.abc import Sequence

from phi_review.core.common.errors import PhiReviewError
from phi_review.core.report.csv_encoding import check_holdable
from phi_review.core.review.journal import Change, Step, utc_now, values_of


def _same(a: str, b: str) -> bool:
    return a.strip().casefold() == b.strip().casefold()


def _with_note(note: str, line: str) -> str:
    return f"{note}\n{line}" if note else line


class SecondPassMixin:
    """``second_review`` for the session (which owns findings, journal, undo; see session.py)."""

    def second_review(self, indexes: Sequence[int], action: str, note: str | None = None,
                      allow_same_reviewer: str | None = None) -> list[int]:
        """Record the second reviewer's ``action`` on rows already decided, as one undo step.

        Returns the changed indexes (a row whose second review already says
        ``action``, with no new note, is left as it is). Raises, changing
        nothing, when a row is undecided, a dispute has no note, or the
        session's reviewer made a row's first decision and no reason is given.
        """
        from phi_review.core.review.session import check_storable

        session = self  # type: ignore[assignment]
        session._require_writable()  # type: ignore[attr-defined]
        if action not in session.actions:  # type: ignore[attr-defined]
            raise PhiReviewError(f"'{action}' is not one of this report's actions")
        note = (note or "").strip() or None
        reason = (allow_same_reviewer or "").strip() or None
        reviewer: str = session.reviewer  # type: ignore[attr-defined]
        for text, what in ((action, "action"), (note or "", "note"), (reason or "", "reason")):
            check_storable(text, what)
        now = utc_now()
        changes: list[Change] = []
        same_rows: list[int] = []
        for index in dict.fromkeys(indexes):
            finding = session._check_index(index)  # type: ignore[attr-defined]
            if not finding.action.strip():
                raise PhiReviewError(f"row {finding.row} has no first decision yet; a second review checks one")
            if finding.action != action and note is None:
                raise PhiReviewError(f"row {finding.row}: a second review that disputes the first decision "
                                     "needs a note saying why (--note)")
            if _same(finding.reviewer, reviewer):
                if reason is None:
                    raise PhiReviewError(
                        f"row {finding.row} was decided by the same reviewer; a second review is someone "
                        "else's (give --allow-same-reviewer REASON to record it anyway)")
                same_rows.append(index)
            if finding.second_review == action and note is None and _same(finding.second_reviewer, reviewer):
                continue
            old = values_of(finding)
            new = dict(old, second_review=action, second_reviewer=reviewer, second_reviewed_at=now)
            lines = []
            if note is not None:
                lines.append(f"Second review ({reviewer}): {note}")
            if index in same_rows:
                lines.append(f"Second review by the first reviewer ({reviewer}): {reason}")
            for line in lines:
                new["note"] = _with_note(new["note"], line)
            check_storable(new["note"], "note")
            changes.append(Change(index, finding.row, finding.file, old, new, True, finding.source,
                                  session.paths.get(index, "")))  # type: ignore[attr-defined]
        if not changes:
            return []
        check_holdable(session.report, [c.index for c in changes],  # type: ignore[attr-defined]
                       {"note": "\n".join(c.new["note"] for c in changes), "action": action, "reviewer name": reviewer})
        extra = {"same_reviewer_reason": reason} if same_rows else None
        step = session._record("second", changes, extra=extra)  # type: ignore[attr-defined]
        session._undo.append(Step("second", step, changes))  # type: ignore[attr-defined]
        session._redo.clear()  # type: ignore[attr-defined]
        return [change.index for change in changes]
