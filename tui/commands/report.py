"""`phi-review summary` and `phi-review decide`: the report without a screen, for scripts."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from phi_review.core.common.errors import PhiReviewError
from phi_review.core.common.inert import inert, shorten

if TYPE_CHECKING:
    from phi_review.core.review.session import ReviewSession


def register(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """Add this module's sub-commands to the parser."""
    summary = sub.add_parser("summary", help="count a report's rows by issue and action")
    summary.add_argument("report", type=Path, help="the reconciliation report (.xlsx or .csv)")
    summary.add_argument("--sheet", help="sheet that holds the findings (default: the one with the header)")
    summary.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    summary.set_defaults(func=run_summary)

    decide = sub.add_parser("decide", help="record one decision in the report and save it")
    decide.add_argument("report", type=Path, help="the reconciliation report (.xlsx or .csv)")
    decide.add_argument("row", help="spreadsheet row number, or the file name as written in the report")
    decide.add_argument("action", help="action text (or a unique start of it), or its number in the list")
    decide.add_argument("--note", help="note to record with the decision")
    decide.add_argument("--reviewer", help="name recorded with the decision (default: login name)")
    decide.add_argument("--sheet", help="sheet that holds the findings (default: the one with the header)")
    decide.set_defaults(func=run_decide)


# ----------------------------------------------------------------------------- summary


def run_summary(args: argparse.Namespace) -> int:
    """Summarise the report as saved; unsaved journal decisions are counted, not applied."""
    from phi_review.core.review.session import ReviewSession
    from phi_review.core.review.summary import summarize

    session = ReviewSession.open(args.report, sheet=args.sheet, read_only=True)
    try:
        data = summarize(session.findings)
        pending = session.journal_pending
        if args.json:
            data = {
                **data,
                "report": str(session.report.path),
                "sheet": session.report.sheet,
                "actions": session.actions,
                "journal_unsaved": pending,
            }
            # ASCII escapes keep every untrusted character inert on any terminal.
            print(json.dumps(data, ensure_ascii=True, indent=None))
        else:
            print(_summary_table(session, data, pending))
    finally:
        session.close()
    return 0


def _summary_table(session: "ReviewSession", data: dict, pending: int) -> str:
    report = session.report
    labels = [*data["by_issue"], *data["by_action"]]
    width = max((len(shorten(inert(label), 50)) for label in labels), default=0) + 2
    lines = [
        f"Report: {inert(report.path.name)}" + (f"  (sheet {inert(report.sheet)})" if report.sheet else ""),
        f"Rows: {data['rows']}   Reviewed: {data['reviewed']}   Unreviewed: {data['unreviewed']}",
        "",
        "By issue:",
        *_count_lines(data["by_issue"], 2, width),
        "",
        "By action:",
        *_count_lines(data["by_action"], 2, width),
        "",
        "By issue and action:",
    ]
    for issue, actions in data["by_issue_action"].items():
        lines.append(f"  {shorten(inert(issue), 60)}")
        lines.extend(_count_lines(actions, 4, width - 2))
    if pending:
        lines += [
            "",
            f"Journal: {pending} unsaved decisions are in the journal (not counted above); "
            "open the report with 'phi-review review' to recover and save them.",
        ]
    return "\n".join(lines)


def _count_lines(counts: dict[str, int], indent: int, width: int) -> list[str]:
    """One ``label  count`` line per entry, counts right-aligned in one column."""
    return [f"{' ' * indent}{shorten(inert(key), 50):<{width}}{count:>7}" for key, count in counts.items()]


# ----------------------------------------------------------------------------- decide


def run_decide(args: argparse.Namespace) -> int:
    """Record one decision (journal first) and save the report."""
    from phi_review.core.review.session import ReviewSession

    session = ReviewSession.open(
        args.report, sheet=args.sheet, reviewer=args.reviewer, allow_read_only_fallback=False
    )
    try:
        index = resolve_row(session, args.row)
        action = resolve_action(session, args.action)
        finding = session.findings[index]
        changed = bool(session.decide([index], action))
        if args.note is not None and args.note != finding.note:
            session.set_note(index, args.note)
            changed = True
        recovered = session.recovered
        warnings = session.save() if session.unsaved else []
    finally:
        session.close()
    where = f"row {finding.row} ({shorten(inert(finding.file), 80)})"
    if changed:
        line = f"{where}: {inert(action)}" + (" with note" if args.note else "") + f"; saved {inert(report_name(session))}."
    else:
        line = f"{where} already has {inert(action)}" + (" and that note" if args.note else "") + "; nothing to change."
    if recovered:
        line += f" Also saved {recovered} decisions recovered from the journal."
    print(line)
    for warning in warnings:
        print(f"phi-review: warning: {inert(warning)}", file=sys.stderr)
    return 0


def report_name(session: "ReviewSession") -> str:
    return session.report.path.name


def resolve_row(session: "ReviewSession", text: str) -> int:
    """Index of the finding named by a spreadsheet row number or a file name as written."""
    wanted = text.strip()
    if wanted.isdigit():
        number = int(wanted)
        for index, finding in enumerate(session.findings):
            if finding.row == number:
                return index
    matches = [index for index, finding in enumerate(session.findings) if finding.file.strip() == wanted]
    if len(matches) == 1:
        return matches[0]
    if len(matches) > 1:
        rows = ", ".join(str(session.findings[i].row) for i in matches[:10])
        more = "…" if len(matches) > 10 else ""
        raise PhiReviewError(f"{shorten(inert(wanted), 80)} is on several rows ({rows}{more}); give the row number")
    if wanted.isdigit():
        first, last = (session.findings[0].row, session.findings[-1].row) if session.findings else (0, 0)
        raise PhiReviewError(f"no finding on row {wanted}: the findings are on rows {first}-{last}")
    raise PhiReviewError(f"no row names the file {shorten(inert(wanted), 80)}; give the file name as written in the report or a row number")


def resolve_action(session: "ReviewSession", text: str) -> str:
    """The action named by its number, its text (any case) or a unique start of it."""
    wanted = text.strip()
    actions = session.actions
    listing = "; ".join(f"{n}={inert(a)}" for n, a in enumerate(actions, start=1))
    if wanted.isdigit():
        number = int(wanted)
        if 1 <= number <= len(actions):
            return actions[number - 1]
        raise PhiReviewError(f"no action number {number}; the actions are {listing}")
    folded = wanted.casefold()
    if folded:
        exact = [a for a in actions if a.casefold() == folded]
        if exact:
            return exact[0]
        prefixed = [a for a in actions if a.casefold().startswith(folded)]
        if len(prefixed) == 1:
            return prefixed[0]
        if len(prefixed) > 1:
            raise PhiReviewError(f"'{inert(wanted)}' matches several actions; the actions are {listing}")
    raise PhiReviewError(f"unknown action '{inert(wanted)}'; the actions are {listing}")
