"""`phi-review fix`, `diff` and `values`: de-identified header copies, and checking them, without the screen.

Every value, path and file name printed here is untrusted and passes
``inert()``; the manifest lines hold hashes, tags and actions, never values.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from phi_review.core.common.errors import PhiReviewError
from phi_review.core.common.inert import inert, shorten
from phi_review.tui.commands.batch import Failures

DEFAULT_OUT = Path("corrected")


def register(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    fix = sub.add_parser("fix", help="write de-identified copies of DICOM files (PS3.15 Basic Profile, per-tag edits)")
    fix.add_argument("files", type=Path, nargs="*", help="DICOM files to fix (or --report)")
    fix.add_argument("--report", type=Path, help="fix every file the report names")
    fix.add_argument("--root", action="append", type=Path, default=[],
                     help="folder holding the report's DICOM files (repeatable; default: the report's folder)")
    fix.add_argument("--profile", default=None, metavar="NAME|FILE.toml",
                     help="basic (DICOM PS3.15 E.1-1, the default when no per-tag edit is given), tcia, "
                          "hipaa-safe-harbor, none, a named profile (phi-review profile list) or a profile file")
    fix.add_argument("--profiles", type=Path, default=None, metavar="DIR", help="project folder of named profiles")
    fix.add_argument("--pseudonym-prefix", default=None, metavar="TEXT",
                     help="PatientName and PatientID become TEXT + a keyed pseudonym per patient")
    fix.add_argument("--id-map", type=Path, default=None, metavar="FILE",
                     help="CSV original ID -> research ID for PatientName and PatientID (read, never copied)")
    fix.add_argument("--option", action="append", default=[], metavar="NAME",
                     help="profile option (repeatable): retain-modified-dates, retain-full-dates, "
                          "retain-patient-characteristics, retain-device-identity, retain-institution-identity, "
                          "retain-uids, retain-safe-private, clean-descriptors, clean-structured-content")
    fix.add_argument("--blank", action="append", default=[], metavar="TAG", help="empty this attribute")
    fix.add_argument("--remove", action="append", default=[], metavar="TAG", help="remove this attribute")
    fix.add_argument("--set", action="append", default=[], metavar="TAG=VALUE", help="replace the value")
    fix.add_argument("--shift", action="append", default=[], metavar="TAG=DAYS", help="shift a date by whole days")
    fix.add_argument("--out", type=Path, default=DEFAULT_OUT, help="folder for the copies and manifest.jsonl "
                                                                    "(default: ./corrected)")
    fix.add_argument("--uid-root", default=None, help="root of the new UIDs (default 2.25)")
    fix.add_argument("--secret-file", type=Path, default=None,
                     help="secret for UIDs and date offsets (default: $PHI_REVIEW_FIX_SECRET, "
                          "else ~/.config/phi-review/fix-secret, made once)")
    fix.add_argument("--reviewer", help="name recorded in the manifest (default: login name)")
    fix.add_argument("--jobs", type=int, default=0, metavar="N",
                     help="worker processes (default: one per core for batches of 16 files or more; 1: none)")
    fix.add_argument("--accept-residual", default="", metavar="REASON",
                     help="keep PatientIdentityRemoved YES even when the proof finds an identifier left; REASON is recorded")
    fix.add_argument("--sheet", help="sheet that holds the findings (with --report)")
    fix.add_argument("--resume", action="store_true",
                     help="go on after an interrupted run (the default: copies this job recorded are kept)")
    fix.set_defaults(func=run_fix)

    diff = sub.add_parser("diff", help="header differences between an original and its corrected copy")
    diff.add_argument("original", type=Path)
    diff.add_argument("copy", type=Path)
    diff.add_argument("--json", action="store_true", help="one JSON object")
    diff.set_defaults(func=run_diff)

    values = sub.add_parser("values", help="every distinct header value across a report's files or a folder")
    values.add_argument("source", type=Path, help="a report (.xlsx/.csv) or a folder of DICOM files")
    values.add_argument("--root", action="append", type=Path, default=[],
                        help="folder holding the report's DICOM files (repeatable; default: the report's folder)")
    values.add_argument("--free-text", action="store_true", help="free-text attributes")
    values.add_argument("--private", action="store_true", help="private attributes, with their creators")
    values.add_argument("--identifying", action="store_true", help="attributes that name or date someone")
    values.add_argument("--sheet", help="sheet that holds the findings (with a report)")
    values.add_argument("--json", action="store_true", help="one JSON object")
    values.set_defaults(func=run_values)


# ----------------------------------------------------------------------------- shared


def report_files(report: Path, roots: list[Path], sheet: str | None = None) -> tuple[list[Path], int]:
    """The distinct files a report names, resolved as the review screen does; and how many rows did not resolve."""
    from phi_review.core.dicom.locate import FileIndex
    from phi_review.core.report.pointer import resolve_row
    from phi_review.core.review.session import ReviewSession

    for root in roots:
        if not root.is_dir():
            raise PhiReviewError(f"--root {inert(root)} is not a folder")
    session = ReviewSession.open(report, sheet=sheet, read_only=True)
    try:
        index = FileIndex.build(list(roots) or [session.report.path.parent])
        found: dict[Path, None] = {}
        missing = 0
        for finding in session.findings:
            resolution = resolve_row(index, finding)
            if resolution.path is None:
                missing += 1
            else:
                found.setdefault(resolution.path, None)
    finally:
        session.close()
    return list(found), missing


def _split(text: str, what: str) -> tuple[str, str]:
    if "=" not in text:
        raise PhiReviewError(f"--{what} needs TAG=VALUE, got {inert(shorten(text, 40))!r}")
    tag, _, value = text.partition("=")
    return tag, value


def _check_dicom(path: Path) -> None:
    """Refuse what is not a DICOM file at all (not regular, no ``DICM`` marker) before planning.

    Cheap on purpose (132 bytes, no parse): a damaged data set is refused by the copy
    writer's own walk, in the workers, with one line naming the file.
    """
    from phi_review.core.dicom.bounded import check_marker

    check_marker(path)


def _folder_files(folder: Path) -> list[Path]:
    found = []
    for directory, _dirs, names in os.walk(folder):
        for name in sorted(names):
            found.append(Path(directory) / name)
    return sorted(found)


# ----------------------------------------------------------------------------- fix


def run_fix(args: argparse.Namespace) -> int:
    from phi_review.core.remedy.output import plan_copies
    from phi_review.core.remedy.profile import load_secret, option_keys
    from phi_review.core.remedy.tag_edit import TagEdit, combine, edits_editor, write_fixed
    from phi_review.core.review.session import default_reviewer

    edits = [TagEdit.make(t, "blank") for t in args.blank]
    edits += [TagEdit.make(t, "remove") for t in args.remove]
    edits += [TagEdit.make(tag, "set", value) for tag, value in (_split(t, "set") for t in args.set)]
    edits += [TagEdit.make(tag, "shift", days) for tag, days in (_split(t, "shift") for t in args.shift)]
    profile = args.profile or ("basic" if args.option or not edits else "none")
    if profile == "none" and args.option:
        raise PhiReviewError("--option needs --profile basic")
    if profile == "none" and not edits:
        raise PhiReviewError("nothing to do: give --profile basic or a per-tag edit")
    editor, built = None, None
    if profile != "none":
        from phi_review.core.remedy.profile_file import build_editor, load_profile

        option_keys(args.option)  # an unknown option is named before the profile is read
        built = build_editor(load_profile(profile, args.profiles), load_secret(args.secret_file),
                             extra_options=args.option, uid_root=args.uid_root or "2.25",
                             prefix=args.pseudonym_prefix, id_map=args.id_map)
        editor = built.edit
    elif args.uid_root or args.secret_file or args.pseudonym_prefix is not None or args.id_map:
        raise PhiReviewError("--uid-root, --secret-file, --pseudonym-prefix and --id-map need a profile")

    if args.report is not None and args.files:
        raise PhiReviewError("give files or --report, not both")
    if args.report is not None:
        files, missing = report_files(args.report, list(args.root), args.sheet)
        roots = list(args.root) or [args.report.parent]
        if missing:
            print(f"# {missing} row(s) name a file that was not found; they are skipped", file=sys.stderr)
    else:
        files = list(args.files)
        if not files:
            raise PhiReviewError("give DICOM files to fix, or --report REPORT")
        parents = [str(p.resolve().parent) for p in files]
        # Copies mirror each file's path below --root (as redact does); else below the files' common folder.
        roots = list(args.root) or [Path(os.path.commonpath(parents))]
    out = args.out
    total = len(files)
    failures = Failures("fix")  # one bad file is named and skipped; the others go on
    files = _readable(files, failures)
    planned = plan_copies(files, roots, out)  # two files bound for one copy: refused before anything is written
    reviewer = args.reviewer or default_reviewer()
    if built is not None and built.pseudonyms is not None:  # a missing ID or a collision stops the run here
        from phi_review.core.remedy.pseudonym import check_run

        print(f"# {check_run(files, built.pseudonyms)} patient(s), each with its own pseudonym", file=sys.stderr)
    how = {"profile": profile, "options": sorted(args.option), **(built.how if built else {}),
           "edits": [[e.op, f"({e.tag.group:04X},{e.tag.element:04X})"] for e in edits]}
    from phi_review.tui.commands.resume import resume_plan  # kill -9 leftovers tidied; copies this job recorded kept

    planned = resume_plan(planned, out, lambda r: r.get("kind") == "header" and all(r.get(k) == v for k, v in how.items()))
    combined = combine(editor, edits_editor(edits) if edits else None)
    skipped = len(failures)
    from phi_review.core.common.pool import default_jobs, run_each

    def one(path: Path) -> Any:
        return write_fixed(path, out, combined, roots=roots, reviewer=reviewer, how=how,
                           accept_residual=args.accept_residual)

    jobs = args.jobs if args.jobs else default_jobs(len(planned))
    for path, ok, result in run_each(one, list(planned.values()), jobs):
        if not ok:  # one damaged file does not stop the others; it is named
            failures.add(path, result)
            continue
        print(f"wrote {inert(result.copy)} ({len(result.header_changes)} change(s)) from {inert(path)}; "
              f"{getattr(result, 'proof_summary', '')}", flush=True)
    skipped = len(failures) - skipped
    print(f"# {len(planned) - skipped} copy(ies) in {inert(out)}; manifest: {inert(out / 'manifest.jsonl')}"
          + (f"; {len(failures)} file(s) skipped" if failures else ""))
    return failures.finish(total)


def _readable(files: list[Path], failures: "Failures") -> list[Path]:
    """The files that open as DICOM (bounded read); each other one is named in ``failures``."""
    kept = []
    for path in files:
        try:
            _check_dicom(path)
        except Exception as error:  # noqa: BLE001 - named, one line, and the batch goes on
            failures.add(path, error)
            continue
        kept.append(path)
    return kept


# ----------------------------------------------------------------------------- diff


def run_diff(args: argparse.Namespace) -> int:
    from phi_review.core.remedy.header_diff import header_diff

    diff = header_diff(args.original, args.copy)
    if args.json:
        rows = [{k: inert(getattr(r, k)) for k in ("status", "path", "tag", "keyword", "vr", "old", "new",
                                                   "private_creator")} for r in diff.rows]
        print(json.dumps({"original": inert(diff.original), "copy": inert(diff.copy), "summary": diff.summary,
                          "rows": rows}, ensure_ascii=True))
        return 0
    print(f"# {inert(diff.original)} -> {inert(diff.copy)}: {diff.summary_line()}")
    width = max((len(r.path) for r in diff.rows), default=10)
    width = min(width, 48)
    for row in diff.rows:
        old = inert(shorten(row.old, 40))
        new = inert(shorten(row.new, 40))
        name = inert(shorten(row.path, width))
        print(f"{row.status:<8} {row.tag} {name:<{width}}  {old!s:<40} -> {new}")
    return 0


# ----------------------------------------------------------------------------- values


def run_values(args: argparse.Namespace) -> int:
    from phi_review.core.remedy.values import distinct_values

    source = args.source
    if source.is_dir():
        files = _folder_files(source)
        missing = 0
    elif source.is_file():
        files, missing = report_files(source, list(args.root), args.sheet)
    else:
        if source.exists():  # a FIFO or a device: said so, never opened
            from phi_review.core.common.regular import require_regular

            require_regular(source)
        raise PhiReviewError(f"{inert(source)}: no such report or folder")
    base = source if source.is_dir() else source.parent
    result = distinct_values(files, free_text=args.free_text, private=args.private, identifying=args.identifying)
    unreadable = [(p, why) for p, why in result.unreadable]
    status = _values_notes(result, base)  # on stderr: what was skipped and what failed, by name
    if args.json:
        payload = {
            "files": result.files,
            "unreadable": len(unreadable) + len(result.not_dicom),
            "damaged": len(unreadable),
            "not_dicom": len(result.not_dicom),
            "unreadable_values": sum(n for _, n in result.damaged),
            "missing": missing,
            "attributes": [{
                "tag": a.tag, "keyword": inert(a.keyword), "vr": a.vr, "private_creator": inert(a.private_creator),
                "free_text": a.free_text, "identifying": a.identifying,
                "values": [{"value": inert(v.value), "count": v.count, "files": [inert(f) for f in v.files]}
                           for v in a.sorted_values()],
            } for a in result.attributes],
        }
        print(json.dumps(payload, ensure_ascii=True))
        return status
    skipped = len(unreadable) + len(result.not_dicom)
    note = f", {skipped} not DICOM or unreadable" if skipped else ""
    note += f", {missing} report row(s) whose file was not found" if missing else ""
    print(f"# {result.files} file(s){note}; {len(result.attributes)} attribute(s)")
    for attr in result.attributes:
        kind = "free text" if attr.free_text else ("private" if attr.private else ("identifying" if attr.identifying else ""))
        creator = f" [{inert(attr.private_creator)}]" if attr.private_creator else ""
        print(f"{attr.tag} {inert(attr.keyword) or '?'}{creator} {attr.vr}  {kind}  "
              f"{len(attr.values)} distinct value(s)")
        for seen in attr.sorted_values():
            names = ", ".join(inert(os.path.relpath(f, base)) for f in seen.files[:3])
            more = f" and {seen.count - 3} more" if seen.count > 3 else ""
            print(f"  {seen.count:>6}  {inert(shorten(seen.value, 60))!s:<62} {names}{more}")
    return status


def _values_notes(result: Any, base: Path) -> int:
    """Name on stderr the files skipped (not DICOM, not regular), those with values pydicom cannot convert,
    and those that failed (listed at the end); 1 when any failed."""
    def names(paths: list[Path]) -> str:
        shown = ", ".join(inert(os.path.relpath(p, base)) for p in paths[:20])
        return shown + (f" and {len(paths) - 20} more" if len(paths) > 20 else "")

    if result.not_dicom:
        print(f"# {len(result.not_dicom)} file(s) skipped, not DICOM or not a regular file: "
              f"{names(result.not_dicom)}", file=sys.stderr)
    if result.damaged:
        count = sum(n for _, n in result.damaged)
        print(f"# {count} value(s) pydicom cannot read, shown as such, in {len(result.damaged)} file(s): "
              f"{names([p for p, _ in result.damaged])}", file=sys.stderr)
    failures = Failures("values")
    for path, why in result.unreadable:
        failures.add(path, why)
    return 1 if failures.finish(len(result.unreadable) + 1) else 0
