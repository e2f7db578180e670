"""`phi-review scan TREE... --out DIR`: every header, every frame, in the validator's CSV layout."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from phi_review.core.common.errors import PhiReviewError
from phi_review.core.common.inert import inert


def register(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    scan = sub.add_parser(
        "scan", help="scan DICOM trees (every header, every frame) into validator-layout CSVs, one per site")
    scan.add_argument("tree", nargs="+", help="a LabCAS collection folder (site/event/... below it) or a file")
    scan.add_argument("--out", type=Path, required=True,
                      help="folder for the CSVs (new, empty, or an earlier scan's: it is continued)")
    scan.add_argument("--no-ocr", action="store_true",
                      help="decode every frame but read no text (header and rules only)")
    scan.add_argument("--ocr-frames", choices=("all", "sampled"), default="all",
                      help="frames to OCR: all (identical frames once) or sampled (the validator's four, middle, last)")
    scan.add_argument("--rules", type=Path, help="TOML rules that flag files for pixel review (default: US, "
                                                 "BurnedInAnnotation YES, ImageType SECONDARY)")
    scan.add_argument("--workers", type=int, help="worker processes (default: one per core)")
    scan.add_argument("--timeout", type=float, default=120.0,
                      help="seconds a worker may spend on one frame or header before the file is an Error row")
    scan.add_argument("--memory", type=int, default=4096, help="memory ceiling of each worker, in MB (0: none)")
    scan.add_argument("--dask", metavar="ADDRESS",
                      help="scan on a Dask distributed scheduler (tcp://host:8786) instead of local workers")
    scan.add_argument("--restart", action="store_true", help="scan again from the start into --out")
    scan.add_argument("--quiet", action="store_true", help="no progress line")
    scan.add_argument("--open", action="store_true", help="open the result in the review screen when done")
    scan.add_argument("--reviewer", help="with --open: name recorded with each decision")
    scan.set_defaults(func=run_scan)


def run_scan(args: argparse.Namespace) -> int:
    from phi_review.core.scan.checks import Options
    from phi_review.core.scan.pool import default_workers
    from phi_review.core.scan.rules import load_rules
    from phi_review.core.scan.run import scan

    if args.workers is not None and args.workers < 1:
        raise PhiReviewError("--workers must be 1 or more")
    if args.timeout <= 0:
        raise PhiReviewError("--timeout must be more than 0 seconds")
    options = Options(ocr=not args.no_ocr, ocr_frames=args.ocr_frames, rules=tuple(load_rules(args.rules)))
    if options.ocr:
        from phi_review.core.ocr.engine import ocr_available

        if not ocr_available():
            raise PhiReviewError("OCR is not installed (pip install 'phi-review[ocr]'); or scan with --no-ocr")
    summary = scan(args.tree, args.out, options, workers=args.workers or default_workers(), timeout=args.timeout,
                   memory_mb=args.memory, restart=args.restart, progress=None if args.quiet else sys.stderr,
                   dask=args.dask)
    if summary.already_complete:
        print(f"{inert(str(args.out))}: this scan is already complete ({summary.files} files); "
              "--restart scans again")
    else:
        resumed = f" ({summary.resumed} from the interrupted run)" if summary.resumed else ""
        print(f"scanned {summary.files} files{resumed}, {summary.frames} frames: {summary.rows} rows in "
              f"{len(summary.csvs)} CSV file(s) in {inert(str(args.out))}; "
              f"{summary.errors} file(s) could not be read")
        for count, what in ((summary.outside, "file(s) read through links to outside the scanned trees"),
                            (summary.loops, "link(s) to a folder above them not followed (a loop)"),
                            (summary.repeats, "folder path(s) not entered: reached through too many links"),
                            (summary.system, "link(s) to folders in /proc, /sys or /dev not followed")):
            if count:
                print(f"{count} {what}")
    if args.open:
        from phi_review.tui.commands.review import open_review

        roots = [Path(t) if Path(t).is_dir() else Path(t).parent for t in args.tree]
        if not summary.csvs:
            print("nothing to review: the scan found nothing")
            return 0
        return open_review(args.out, roots=roots, sheet=None, reviewer=args.reviewer, graphics=None,
                           read_only=False, mouse=False)
    return 0
