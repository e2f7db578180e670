"""`phi-review review` and `phi-review demo`: open the review screen."""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

from phi_review.core.common.errors import PhiReviewError


def register(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    review = sub.add_parser("review", help="review a reconciliation report in the terminal")
    review.add_argument("report", type=Path, help="the reconciliation report (.xlsx or .csv)")
    _add_screen_options(review)
    review.add_argument("--root", action="append", type=Path, default=[],
                        help="folder holding the DICOM files (repeatable; default: the report's folder)")
    review.add_argument("--sheet", help="sheet that holds the findings (default: the one with the header)")
    review.add_argument("--read-only", action="store_true", help="look without recording decisions")
    review.set_defaults(func=run_review)

    demo = sub.add_parser("demo", help="build a writable demo report and DICOM files, then review them")
    demo.add_argument("dir", nargs="?", type=Path, help="where to put the demo copy (default: a new folder)")
    _add_screen_options(demo)
    demo.add_argument("--no-screen", action="store_true", help="only build the demo and print its summary")
    demo.set_defaults(func=run_demo)


def _add_screen_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--reviewer", help="name recorded with each decision (default: login name)")
    parser.add_argument("--graphics", choices=("auto", "kitty", "sixel", "halfcell", "none"),
                        help="how to draw the preview (default: auto, probed)")
    parser.add_argument("--mouse", action="store_true", help="enable mouse support (off by default)")


def run_review(args: argparse.Namespace) -> int:
    return open_review(args.report, roots=args.root, sheet=args.sheet, reviewer=args.reviewer,
                       graphics=args.graphics, read_only=args.read_only, mouse=args.mouse)


def open_review(report: Path, *, roots: list[Path], sheet: str | None, reviewer: str | None,
                graphics: str | None, read_only: bool, mouse: bool) -> int:
    from phi_review.core.common.config import load_config
    from phi_review.core.review.session import ReviewSession

    config = load_config()
    if config.ocr_passes or config.ocr_threads:
        from phi_review.core.ocr.engine import configure_shared

        configure_shared(config.ocr_passes, config.ocr_threads)
    for root in roots:
        if not root.is_dir():
            raise PhiReviewError(f"--root {root} is not a folder")
    session = ReviewSession.open(report, sheet=sheet, reviewer=reviewer or config.reviewer, read_only=read_only)
    try:
        if not sys.stdout.isatty() and not os.environ.get("PHI_REVIEW_FORCE_SCREEN"):
            raise PhiReviewError("the review screen needs a terminal; use 'phi-review summary' for scripts")
        from phi_review.tui.terminal import input_guard
        from phi_review.tui.terminal.graphics import choose_graphics

        choice = choose_graphics(graphics or config.graphics or "auto")
        input_guard.install()
        from phi_review.tui.app import ReviewApp

        app = ReviewApp(session, roots=roots, graphics=choice, keymap=config.keys)
        app.run(mouse=mouse)
    finally:
        session.close()
    reviewed, total = session.progress()
    state = f"{session.unsaved} unsaved decisions kept in the journal" if session.unsaved else "all decisions saved"
    print(f"{report}: {reviewed}/{total} reviewed, {state}.")
    return 0


def run_demo(args: argparse.Namespace) -> int:
    from phi_review.sample_reports.build_demo import build_demo

    target = args.dir or Path(tempfile.mkdtemp(prefix="phi-review-demo-", dir=os.getcwd()))
    report = build_demo(target)
    print(f"Demo report: {report}")
    if args.no_screen:
        from phi_review.tui.cli import main

        return main(["summary", str(report)])
    return open_review(report, roots=[report.parent], sheet=None, reviewer=args.reviewer,
                       graphics=args.graphics, read_only=False, mouse=args.mouse)
