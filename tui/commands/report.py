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
    summary.add_argument("report", type=Path, nargs="+", help=REPORT_HELP)
    summary.add_argument("--sheet", help="sheet that holds the findings (default: the one with the header)")
    summary.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    summary.set_defaults(func=run_summary)

    decide = sub.add_parser("decide", help="record one decision in the report and save it")
    decide.add_argument("report", type=Path, nargs="+", help=REPORT_HELP)
    decide.add_argument("row", help="spreadsheet row number (SOURCE.csv:ROW when several CSVs), "
                                    "or the file name as written in the report")
    decide.add_argument("action", help="action text (or a unique start of it), or its number in the list")
    decide.add_argument("--note", help="note to record with the decision")
    decide.add_argument("--reviewer", help="name recorded with the decision (default: login name)")
    decide.add_argument("--sheet", help="sheet that holds the findings (default: the one with the header)")
    decide.add_argument("--all-rows", action="store_true",
                        help="decide every row of that file (same name, Site ID and Event ID), as one step")
    decide.add_argument("--second-pass", action="store_true",
                        help="record a second review of a decided row: the same action confirms, another "
                             "disputes (a dispute needs --note); saved in Second Review columns")
    decide.add_argument("--allow-same-reviewer", metavar="REASON",
                        help="with --second-pass: let the first reviewer record it, and record why")
    decide.set_defaults(func=run_decide)

    export = sub.add_parser("export", help="write a CSV report with its decisions to a file you choose (to send back)")
    export.add_argument("report", type=Path, nargs="+", help=REPORT_HELP)
    export.add_argument("--out", type=Path, required=True,
                        help="the CSV file to write (a folder when the report is several CSV files); "
                             "never inside a folder summarize-validation-reports reads")
    export.add_argument("--force", action="store_true", help="replace --out when it exists")
    export.add_argument("--phi-free", action="store_true",
                        help="write OUT.xlsx or OUT.csv (+ OUT.summary.csv) safe for any channel: the rows and "
                             "decisions with every detected value, Details value, OCR text and identifying note "
                             "text masked, checked for the files' identifiers before it is written (any report)")
    export.add_argument("--root", action="append", type=Path, default=[],
                        help="with --phi-free: folder holding the DICOM files (repeatable; default: the report's folder)")
    export.set_defaults(func=run_export)

    findings = sub.add_parser("findings", help="one line per row: what it points at (file, tags, value, frame)")
    findings.add_argument("report", type=Path, nargs="+", help=REPORT_HELP)
    findings.add_argument("--root", action="append", type=Path, default=[],
                          help="folder holding the DICOM files (repeatable; default: the report's folder)")
    findings.add_argument("--sheet", help="sheet that holds the findings (default: the one with the header)")
    findings.add_argument("--json", action="store_true", help="one JSON object per line")
    findings.set_defaults(func=run_findings)


REPORT_HELP = "the report: an .xlsx or .csv, several CSV files, or a folder of them (one report)"


def _report_arg(paths: list[Path]) -> Path | list[Path]:
    """One path as itself; several CSV files stay a list (ReviewSession.open reads them as one report)."""
    return paths[0] if len(paths) == 1 else paths


# ----------------------------------------------------------------------------- summary


def run_summary(args: argparse.Namespace) -> int:
    """Summarise the report as saved; unsaved journal decisions are counted, not applied."""
    from phi_review.core.review.session import ReviewSession
    from phi_review.core.review.summary import summarize

    session = ReviewSession.open(_report_arg(args.report), sheet=args.sheet, read_only=True)
    try:
        data = summarize(session.findings)
        pending = session.journal_pending
        journal_note(pending)
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


def journal_note(pending: int) -> None:
    """Say on stderr that the journal holds decisions the report does not yet (a save stopped half way,
    or a session is open): the counts and rows printed come from the report alone."""
    if pending:
        print(f"phi-review: {pending} decision(s) are in the journal and not yet saved to the report; "
              "what is printed is the report as saved ('phi-review review' recovers and saves them)",
              file=sys.stderr)


def _count_lines(counts: dict[str, int], indent: int, width: int) -> list[str]:
    """One ``label  count`` line per entry, counts right-aligned in one column."""
    return [f"{' ' * indent}{shorten(inert(key), 50):<{width}}{count:>7}" for key, count in counts.items()]


# ----------------------------------------------------------------------------- decide


def run_decide(args: argparse.Namespace) -> int:
    """Record one decision (journal first) and save the report."""
    from phi_review.core.review.session import ReviewSession

    session = ReviewSession.open(
        _report_arg(args.report), sheet=args.sheet, reviewer=args.reviewer, allow_read_only_fallback=False
    )
    try:
        indexes = resolve_file_rows(session, args.row) if args.all_rows else [resolve_row(session, args.row)]
        index = indexes[0]
        action = resolve_action(session, args.action)
        finding = session.findings[index]
        # Action and note are one journal step: a refused note leaves no action behind.
        if args.second_pass:
            changed = bool(session.second_review(indexes, action, note=args.note,
                                                 allow_same_reviewer=args.allow_same_reviewer))
        elif args.allow_same_reviewer is not None:
            raise PhiReviewError("--allow-same-reviewer goes with --second-pass")
        else:
            changed = bool(session.decide_rows(indexes, action, note=args.note))
        recovered = session.recovered
        warnings = session.save() if session.unsaved else []
    finally:
        session.close()
    where = f"row {finding.row} ({shorten(inert(finding.file), 80)})"
    if len(indexes) > 1:
        where = f"{len(indexes)} rows of {shorten(inert(finding.file), 80)}"
    if changed and args.second_pass:
        verdict = "confirms" if action == finding.action else "disputes"
        line = (f"{where}: second review {verdict} {inert(finding.action)}"
                + (f" (second reviewer chose {inert(action)})" if verdict == "disputes" else "")
                + f"; saved {inert(report_name(session))}.")
    elif changed:
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
    report = session.report
    if len(report.sources) > 1:
        return f"{report.path.name} ({len(report.sources)} CSV files)"
    if report.sources and report.sources[0].reviewed is not None:  # the validator's file is never written
        copy = report.sources[0].reviewed
        return f"{report.path.name}'s decisions to {getattr(copy, 'path', report.path).name} (the validator's file unchanged)"
    return report.path.name


# ----------------------------------------------------------------------------- export


def run_export(args: argparse.Namespace) -> int:
    """Write the saved decisions of a CSV report (the validator's CSVs: their reviewed copies) to --out."""
    from phi_review.core.report.csv_export import export_csv
    from phi_review.core.review.session import ReviewSession

    session = ReviewSession.open(_report_arg(args.report), read_only=True)
    try:
        if session.journal_pending:
            raise PhiReviewError(
                f"{session.journal_pending} decisions are in the journal but not saved; open the report with "
                "'phi-review review' and save them (ctrl+s), then export")
        if args.phi_free:
            return _export_phi_free(session, args)
        if args.root:
            raise PhiReviewError("--root is for --phi-free (it says where the report's DICOM files are)")
        done = export_csv(session.report, args.out, force=args.force)
    finally:
        session.close()
    for item in done:
        if item.decided:
            print(f"{inert(item.source.name)} -> {inert(item.target)}")
        else:
            print(f"{inert(item.source.name)}: no decision saved for it yet; not exported")
    return 0


def _export_phi_free(session: "ReviewSession", args: argparse.Namespace) -> int:
    """The report without identifying values (core.release.phi_free_write); one line of what was done."""
    from phi_review.core.release.phi_free_write import export_phi_free

    for root in args.root:
        if not root.is_dir():
            raise PhiReviewError(f"--root {inert(root)} is not a folder")
    roots = list(args.root) or [session.report.path if session.report.path.is_dir() else session.report.path.parent]
    done = export_phi_free(session.report, session.findings, session.actions, args.out, roots, force=args.force)
    extra = f" and {inert(done.summary)}" if done.summary is not None else " (counts on its Summary sheet)"
    print(f"{done.rows} rows -> {inert(done.target)}{extra}: {done.masked} cells masked; no identifier of "
          f"{done.files} files found in it")
    if done.unresolved:
        print(f"phi-review: {done.unresolved} rows name a file not found under the roots: for them only the "
              "report's detected values were sought (give --root)", file=sys.stderr)
    if done.unreadable:
        print(f"phi-review: {done.unreadable} files could not be read: their identifiers were not sought",
              file=sys.stderr)
    return 0


def resolve_row(session: "ReviewSession", text: str) -> int:
    """Index of the finding named by a spreadsheet row number (``SOURCE:ROW``) or a file name as written."""
    wanted = text.strip()
    source, sep, number_text = wanted.rpartition(":")
    if sep and number_text.isdigit() and source:
        for index, finding in enumerate(session.findings):
            if finding.row == int(number_text) and finding.source and source in (
                finding.source, Path(finding.source).name
            ):
                return index
    if wanted.isdigit():
        number = int(wanted)
        hits = [index for index, finding in enumerate(session.findings) if finding.row == number]
        if len(hits) > 1:
            names = ", ".join(inert(session.findings[i].source) for i in hits[:5])
            raise PhiReviewError(f"row {number} is in several report files ({names}); give FILE.csv:{number}")
        if hits:
            return hits[0]
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


def resolve_file_rows(session: "ReviewSession", text: str) -> list[int]:
    """Every row of the file a row number or a file name names (same name, Site ID and Event ID)."""
    wanted = text.strip()
    try:
        return session.rows_of_file(resolve_row(session, wanted))
    except PhiReviewError:
        matches = [i for i, finding in enumerate(session.findings) if finding.file.strip() == wanted]
        if not matches:
            raise
    files = {(session.findings[i].site, session.findings[i].event) for i in matches}
    if len(files) > 1:
        where = ", ".join(f"{inert(site)}/{inert(event)}" for site, event in sorted(files)[:5])
        raise PhiReviewError(
            f"{shorten(inert(wanted), 80)} names {len(files)} different files (site/event {where}); "
            "give one of its row numbers with --all-rows"
        )
    return matches


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


# ----------------------------------------------------------------------------- findings


def run_findings(args: argparse.Namespace) -> int:
    """Print what every row points at, as the review screen resolves it."""
    from phi_review.core.dicom.locate import FileIndex
    from phi_review.core.review.session import ReviewSession

    session = ReviewSession.open(_report_arg(args.report), sheet=args.sheet, read_only=True)
    try:
        journal_note(session.journal_pending)
        for root in args.root:
            if not root.is_dir():
                raise PhiReviewError(f"--root {root} is not a folder")
        roots = list(args.root) or [session.report.path.parent]
        from phi_review.core.scan.links import scan_links

        index = FileIndex.build(roots, links=scan_links(Path(session.report.path), roots))  # as the screen does
        for line in finding_records(session, index):
            if args.json:
                print(json.dumps(line, ensure_ascii=True))
            else:
                print(_finding_line(line))
    finally:
        session.close()
    return 0


def finding_records(session: "ReviewSession", index: object) -> "list[dict[str, object]]":
    """One dict per row with the keys of ``findings --json``; every string inert."""
    from phi_review.core.report.pointer import first_frame, pointer_of, resolve_row

    frames: dict[Path, int | None] = {}
    out: list[dict[str, object]] = []
    report = session.report
    for finding in session.findings:
        pointer = pointer_of(finding)
        resolution = resolve_row(index, finding)  # type: ignore[arg-type]
        frame: int | None = 1
        if pointer.kind == "pixels" and pointer.frame_index not in (None, 0, -1):
            count = _frame_count(resolution.path, frames) if resolution.path is not None else None
            frame = first_frame(finding, count) + 1 if count is not None else None
        out.append({
            "row": finding.row,
            "source": inert(report.source_path(finding)),
            "file": inert(finding.file),
            "path": inert(resolution.path) if resolution.path is not None else None,
            "candidates": [inert(c) for c in resolution.candidates],
            "kind": pointer.kind,
            "tags": list(pointer.tags),
            "value": inert(pointer.value),
            "frame": frame,
            "action": inert(finding.action),
            "note": inert(finding.note),
        })
    return out


def _frame_count(path: Path, cache: "dict[Path, int | None]") -> int | None:
    """NumberOfFrames of a file (header only, cached); None when it cannot be read."""
    if path not in cache:
        from phi_review.core.dicom.bounded import read_header

        try:
            dataset = read_header(path)  # regular files only, bounded: a FIFO named like a DICOM file cannot block
            cache[path] = max(1, int(dataset.get("NumberOfFrames", 1) or 1))
        except Exception:  # noqa: BLE001 - an unreadable file has no frame to show; the line says so
            cache[path] = None
    return cache[path]


def _finding_line(record: "dict[str, object]") -> str:
    source = Path(str(record["source"])).name
    tags = " ".join(record["tags"]) or "-"  # type: ignore[arg-type]
    value = shorten(str(record["value"]), 40) if record["value"] else "-"
    if record["path"] is not None:
        where = str(record["path"])
    elif record["candidates"]:
        where = f"ambiguous: {len(record['candidates'])} files"  # type: ignore[arg-type]
    else:
        where = "not found"
    frame = f"frame {record['frame']}" if record["frame"] is not None else "frame ?"
    action = str(record["action"]) or "unreviewed"
    return f"{source}:{record['row']}  {record['file']}  {record['kind']}  {tags}  {value}  {frame}  {action}  -> {where}"
