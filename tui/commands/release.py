"""`phi-review release`: the package a site uploads after the review (corrected copies, deletion list, manifest).

The work is ``core.release``; this module reads the arguments, opens the
report the way ``summary`` does (read-only, through the public session API)
and prints the banner. Every name printed passes ``inert()``.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from phi_review.core.common.errors import PhiReviewError
from phi_review.core.common.inert import inert


def register(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    release = sub.add_parser("release", help="build the upload package from the decisions and the corrected copies")
    release.add_argument("report", type=Path, nargs="+",
                         help="the report: an .xlsx or .csv, several CSV files, or a folder of them (one report)")
    release.add_argument("--root", action="append", type=Path, default=[],
                         help="folder holding the original DICOM files (repeatable; default: the report's folder)")
    release.add_argument("--out", type=Path, required=True,
                         help="the package folder to make (new or empty); built beside it and renamed when complete")
    release.add_argument("--copies", action="append", type=Path, default=[],
                         help="output folder of fix/redact holding the corrected copies and their manifest.jsonl "
                              "(repeatable; default: ./corrected and the report folder's corrected/, plus the "
                              "folders the Corrected Copy column names)")
    release.add_argument("--partial", action="store_true",
                         help="release what is ready and list what stayed behind (default: stop on any)")
    release.add_argument("--resume", action="store_true", help="complete a release that was interrupted")
    release.add_argument("--validator", metavar="CMD",
                         help="run this installed validator (validate-dicom-files) on the package too")
    release.add_argument("--sheet", help="sheet that holds the findings (default: the one with the header)")
    release.set_defaults(func=run_release)


def run_release(args: argparse.Namespace) -> int:
    from phi_review.core.dicom.locate import FileIndex
    from phi_review.core.release.build import ReleaseOptions, release
    from phi_review.core.release.copies import CopyIndex
    from phi_review.core.release.plan import plan_release
    from phi_review.core.release.stage import check_target, staging_path
    from phi_review.core.release.validate import validator_command
    from phi_review.core.review.session import ReviewSession

    for root in args.root:
        if not root.is_dir():
            raise PhiReviewError(f"--root {inert(root)} is not a folder")
    for folder in args.copies:
        if not folder.is_dir():
            raise PhiReviewError(f"--copies {inert(folder)} is not a folder")
    command = validator_command(args.validator) if args.validator else None
    check_target(args.out)  # a non-empty or linked package folder is refused before the report is read
    report = args.report[0] if len(args.report) == 1 else list(args.report)
    session = ReviewSession.open(report, sheet=args.sheet, read_only=True)
    try:
        if session.journal_pending:
            raise PhiReviewError(
                f"{session.journal_pending} decisions are in the journal but not saved; open the report with "
                "'phi-review review' and save them (ctrl+s), then release")
        base = session.report.path.parent  # as findings, fix and the screen (its corrected/, its column's paths)
        roots = list(args.root) or [base]
        folders = _copy_folders(args.copies, base, session.findings)
        index = FileIndex.build(roots, exclude=[*folders, args.out, staging_path(args.out)])
        plan = plan_release(session.findings, lambda f: session.report.source_path(f).name, index,
                            CopyIndex(folders), roots)
        names = sorted({source.path.name for source in session.report.sources} or {session.report.path.name})
    finally:
        session.close()
    outcome = release(plan, args.out, ReleaseOptions(partial=args.partial, resume=args.resume, validator=command,
                                                    reports=names))
    for note in outcome.notes:
        print(f"# {note}")
    print("\n".join(outcome.lines))
    return 0 if outcome.published else 1


def _copy_folders(given: list[Path], base: Path, findings: list) -> list[Path]:
    """The output folders to look for copies in: given, else the defaults that exist, plus the column's."""
    from phi_review.core.release.copies import manifest_folder

    folders = list(given) or [p for p in (Path("corrected"), base / "corrected") if p.is_dir()]
    for named in sorted({f.corrected_copy.strip() for f in findings if f.corrected_copy.strip()}):
        path = Path(named) if os.path.isabs(named) else base / named
        folder = manifest_folder(path)
        if folder is not None:
            folders.append(folder)
    unique: dict[str, Path] = {}
    for folder in folders:
        unique.setdefault(os.path.realpath(folder), folder)
    if not unique:
        print("phi-review: warning: no corrected-copies folder found (give --copies)", file=sys.stderr)
    return list(unique.values())
