"""`phi-review stats`: where the review stands, as bar charts in 80 columns, JSON, or one HTML page."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from phi_review.core.common.errors import PhiReviewError
from phi_review.core.common.inert import inert

LABEL = 24
BAR = 30
NUMBERS = 80 - LABEL - BAR - 4  # what is left of 80 columns for the numbers beside each bar


def register(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """Add ``stats`` to the parser."""
    stats = sub.add_parser("stats", help="where the review stands: counts, cleared pixels, pace, second-pass agreement")
    stats.add_argument("report", type=Path, nargs="+",
                       help="the report: an .xlsx or .csv, several CSV files, or a folder of them (one report)")
    stats.add_argument("--root", action="append", type=Path, default=[],
                       help="folder holding the DICOM files (repeatable): counts by patient, read from the headers")
    stats.add_argument("--sheet", help="sheet that holds the findings (default: the one with the header)")
    stats.add_argument("--json", action="store_true", help="print every number as one JSON object")
    stats.add_argument("--html", type=Path, metavar="OUT.html",
                       help="also write one self-contained HTML page (refused if it would hold an identifier)")
    stats.set_defaults(func=run_stats)


def run_stats(args: argparse.Namespace) -> int:
    from phi_review.core.review.journal import journal_path
    from phi_review.core.review.session import ReviewSession
    from phi_review.core.review.stats import compute_stats, copy_proofs

    if args.html is not None:
        _check_out(args.html)
    report_arg: Any = args.report[0] if len(args.report) == 1 else args.report
    session = ReviewSession.open(report_arg, sheet=args.sheet, read_only=True)
    try:
        report = session.report
        pending = session.journal_pending
        paths = None
        if args.root:
            from phi_review.core.review.stats_files import locate_rows

            for root in args.root:
                if not root.is_dir():
                    raise PhiReviewError(f"--root {inert(root)} is not a folder")
            paths = locate_rows(report, args.root)
        patients = None
        if paths is not None:
            from phi_review.core.review.stats_files import patient_labels

            patients = patient_labels(paths)
        data = compute_stats(report, clean_copies=copy_proofs(report), patients=patients,
                             journal=journal_path(report.path))
        data["journal_unsaved"] = pending
        if args.html is not None:
            _write_html(args.html, data, report, paths)
    finally:
        session.close()
    if pending:
        print(f"phi-review: {pending} decision(s) are in the journal and not yet saved; the counts are the "
              "report as saved, the pace is the journal's", file=sys.stderr)
    if args.json:
        print(json.dumps({**data, "report": str(report.path), "sheet": report.sheet}, ensure_ascii=True))
    else:
        print(render_text(data, report.path.name))
    if args.html is not None:
        print(f"Wrote {inert(args.html)} (searched: it holds none of the report's identifiers).", file=sys.stderr)
    return 0


def _check_out(out: Path) -> None:
    if out.is_symlink():
        raise PhiReviewError(f"{inert(out)} is a symlink; nothing is written through a link")
    if out.exists() and not out.is_file():
        raise PhiReviewError(f"{inert(out)} is not a file")
    if not out.parent.is_dir() if str(out.parent) else False:
        raise PhiReviewError(f"{inert(out.parent)} is not a folder")


def _write_html(out: Path, data: dict, report: Any, paths: list | None) -> None:
    """Render, search the bytes for every identifier of the report's rows and files, then write atomically."""
    from phi_review.core.common.atomic_file import replace_atomically
    from phi_review.core.review.stats_files import locate_rows, refuse_identifiers, report_identifiers
    from phi_review.core.review.stats_html import render_html

    if paths is None:  # without --root the files are sought beside the report, as `findings` does
        base = report.path if report.path.is_dir() else report.path.parent
        paths = locate_rows(report, [base])
    page = render_html(data, report.path.name).encode("utf-8")
    refuse_identifiers(page, report_identifiers(report, paths), inert(out.name))
    _check_out(out)
    replace_atomically(out, lambda handle: handle.write(page))
    try:
        os.chmod(out, 0o600)  # a summary of a review: private until its owner shares it
    except OSError:
        pass


# ----------------------------------------------------------------------------- text


def _bar(parts: list[tuple[int, str]], largest: int) -> str:
    """Stacked bar of ``BAR`` cells: each part its own character, scaled to ``largest`` (at least one cell
    for a non-zero part)."""
    out = ""
    for value, char in parts:
        cells = round(BAR * value / largest) if largest else 0
        if value and not cells:
            cells = 1
        out += char * cells
    return out[:BAR].ljust(BAR)


def _fit(text: str, width: int) -> str:
    """Inert text cut to ``width`` columns with an ellipsis (shorten's "(+n chars)" would overflow 80)."""
    text = inert(text)
    return text if len(text) <= width else text[: width - 1] + "…"


def _chart(title: str, rows: list[tuple[str, list[tuple[int, str]], str]]) -> list[str]:
    largest = max((sum(v for v, _ in parts) for _, parts, _ in rows), default=0)
    lines = [title]
    if not rows:
        lines.append("  (none)")
    for label, parts, numbers in rows:
        lines.append(f"  {_fit(label, LABEL - 2):<{LABEL - 2}} {_bar(parts, largest)} {_fit(numbers, NUMBERS)}")
    return lines + [""]


def _done(data: dict[str, dict[str, Any]]) -> list[tuple[str, list[tuple[int, str]], str]]:
    return [(label, [(d["reviewed"], "#"), (d["rows"] - d["reviewed"], ".")],
             f"{d['reviewed']}/{d['rows']}" + (f", {d['files']} files" if "files" in d else ""))
            for label, d in data.items()]


def _num(value: object) -> str:
    return "-" if value is None else str(value)


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.1f}%"


def render_text(data: dict[str, Any], name: str) -> str:
    """Every section as a chart that fits 80 columns (# done, . to do, x disputed or pending)."""
    lines = [f"Report: {_fit(name, 70)}",
             f"Rows {data['rows']} in {data['files']} files; reviewed {data['reviewed']}, "
             f"to go {data['unreviewed']}", ""]
    lines += _chart("Reviewed", _done({"all rows": {"rows": data["rows"], "reviewed": data["reviewed"]}}))
    for issue, counts in data["by_issue_action"].items():
        files = data["files_by_issue_action"].get(issue, {})
        lines += _chart(f"{_fit(issue, 60)} (rows, files)", [
            (action, [(n, "." if action == "(unreviewed)" else "#")], f"{n} rows, {files.get(action, 0)} files")
            for action, n in counts.items()])
    pixels = data["pixels"]
    lines += _chart(f"Pixel findings: {pixels['detected']} detected", [
        ("cleared (proven clean)", [(pixels["cleared"], "#")], str(pixels["cleared"])),
        ("rejected (no issue)", [(pixels["rejected"], "=")], str(pixels["rejected"])),
        ("pending", [(pixels["pending"], "x")], str(pixels["pending"]))])
    lines += _chart("Header findings by tag (# cleared, = rejected)", [
        (tag, [(d["cleared"], "#"), (d["rejected"], "="), (d["rows"] - d["cleared"] - d["rejected"], ".")],
         f"{d['rows']} rows, {d['reviewed']} reviewed") for tag, d in data["entities"].items()])
    lines += _chart("By site", _done(data["by_site"]))
    lines += _chart("By site/event", _done(data["by_event"]))
    if data.get("patients_read"):
        lines += _chart("By patient (numbered, never the ID)", _done(data["by_patient"]))
    progress = data["progress"]
    hours = progress["remaining_seconds"]
    lines += [
        "Pace (from the journal)",
        f"  {progress['decisions']} decisions; {_num(progress['decisions_per_hour'])} per hour; "
        f"median {_num(progress['median_seconds_per_row'])} s a row",
        f"  {progress['remaining_rows']} rows left: "
        + ("-" if hours is None else f"about {hours / 3600:.1f} hours at that pace"),
        "",
    ]
    lines += _chart("Decisions by reviewer", [
        (who, [(d["decisions"], "#")], f"{d['decisions']}, median {_num(d['median_seconds_per_row'])} s")
        for who, d in progress["by_reviewer"].items()])
    second = data["second_pass"]
    lines += _chart("Second pass (# agreed, x disputed)", [
        (label, [(d["agreed"], "#"), (d["disputed"], "x")],
         f"{d['agreed']}/{d['reviewed']} {_pct(d['agreement'])} k={_num(d['kappa'])}")
        for label, d in [("all issues", second), *second["by_issue"].items()]])
    return "\n".join(lines).rstrip() + "\n"
