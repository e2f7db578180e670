"""`phi-review review` and `phi-review demo`: open the review screen."""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from phi_review.core.common.errors import PhiReviewError

if TYPE_CHECKING:
    from concurrent.futures import Future

    from phi_review.core.review.session import ReviewSession
    from phi_review.tui.app import ReviewApp


def register(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    review = sub.add_parser("review", help="review a reconciliation report in the terminal")
    review.add_argument("report", type=Path, nargs="+",
                        help="the report: an .xlsx or .csv, several CSV files, or a folder of them (one report)")
    _add_screen_options(review)
    review.add_argument("--root", action="append", type=Path, default=[],
                        help="folder holding the DICOM files (repeatable; default: the report's folder)")
    review.add_argument("--sheet", help="sheet that holds the findings (default: the one with the header)")
    review.add_argument("--read-only", action="store_true", help="look without recording decisions")
    review.add_argument("--second-pass", action="store_true",
                        help="review decided rows again: a confirms the first decision, d disputes it (with a note)")
    review.add_argument("--out", type=Path,
                        help="folder for corrected copies (default: corrected/ beside the report)")
    review.add_argument("--take-over", action="store_true",
                        help="if another session holds the report, ask it to save and exit, then open writable")
    review.add_argument("--force", action="store_true",
                        help="with --take-over: when the holder cannot be proven to be a phi-review session, "
                             "ask (on a terminal) whether to signal it anyway")
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
    report = args.report[0] if len(args.report) == 1 else args.report  # several CSVs are one report
    return open_review(report, roots=args.root, sheet=args.sheet, reviewer=args.reviewer,
                       graphics=args.graphics, read_only=args.read_only, mouse=args.mouse,
                       take_over=args.take_over, out_dir=args.out, force=args.force,
                       second_pass=getattr(args, "second_pass", False))


def open_review(report: Path | list[Path], *, roots: list[Path], sheet: str | None, reviewer: str | None,
                graphics: str | None, read_only: bool, mouse: bool, take_over: bool = False,
                out_dir: Path | None = None, force: bool = False, notice: str = "",
                second_pass: bool = False) -> int:
    from phi_review.tui.commands.take_over import FORCE, force_after_dialog
    from phi_review.tui.terminal import input_guard

    while True:
        session, app = prepare_review(report, roots=roots, sheet=sheet, reviewer=reviewer, graphics=graphics,
                                      read_only=read_only, take_over=take_over, out_dir=out_dir, force=force)
        offer = getattr(app, "take_over_offer", None)
        app.second_pass = second_pass
        if notice:
            session.messages.insert(0, notice)  # shown on the screen as it starts (the demo's folder)
        try:
            input_guard.install()
            answer = app.run(mouse=mouse)
        finally:
            session.close()
        if answer != FORCE or offer is None:
            break
        force_after_dialog(session, offer.pid)  # yes in the dialog: signal, then open again
        take_over = force = False
    reviewed, total = session.progress()
    if session.read_only:
        state = "opened read-only, nothing recorded here"
    elif session.unsaved:
        state = f"{session.unsaved} unsaved decisions kept in the journal"
    else:
        state = "all decisions saved"
    from phi_review.core.common.inert import inert

    print(f"{inert(session.report.path)}: {reviewed}/{total} reviewed, {state}.")
    _leave_now()
    return 0


def prepare_review(report: Path | list[Path], *, roots: list[Path], sheet: str | None, reviewer: str | None,
                   graphics: str | None, read_only: bool, take_over: bool = False,
                   out_dir: Path | None = None, force: bool = False) -> "tuple[ReviewSession, ReviewApp]":
    """Open the session and build the app, side by side: what runs between the command and the first paint.

    The report is read in a thread while this one imports the screens and probes
    the terminal: calamine parses the cells without the GIL, so the start-up costs
    little more than the read (benchmarks/tui.py measures this very function).
    """
    from concurrent.futures import ThreadPoolExecutor

    from phi_review.core.common.config import load_config

    config = load_config()
    if config.ocr_passes or config.ocr_threads:
        from phi_review.core.ocr.engine import configure_shared

        configure_shared(config.ocr_passes, config.ocr_threads)
    for root in roots:
        if not root.is_dir():
            raise PhiReviewError(f"--root {root} is not a folder")
    if not sys.stdout.isatty() and not os.environ.get("PHI_REVIEW_FORCE_SCREEN"):
        raise PhiReviewError("the review screen needs a terminal; use 'phi-review summary' for scripts")

    # Imported here, not in the thread: two threads importing one cycle of modules can deadlock.
    from phi_review.core.review.session import ReviewSession

    def reopen() -> ReviewSession:
        return ReviewSession.open(report, sheet=sheet, reviewer=reviewer or config.reviewer, read_only=read_only)

    import gc

    offer = None  # an unproven holder the screen offers to signal (--take-over --force)
    # The report's rows live until exit and hold no cycles: the collector stays off
    # while they are built, then they are frozen, so no later pass walks them (no
    # stall on screen, and no full collection before the first paint).
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="open-report")
        opening = pool.submit(reopen)
        pool.shutdown(wait=False)
        try:
            from phi_review.tui.terminal.graphics import choose_graphics

            choice = choose_graphics(graphics or config.graphics or "auto")
            from phi_review.tui.app import ReviewApp

            _warm_first_paint()
            session = opening.result()
        except BaseException:  # Ctrl-C or a failed probe while the report is read: its lock must not stay
            opening.add_done_callback(_close_opened)
            raise
        if session.read_only and not read_only:
            from phi_review.tui.commands.take_over import take_over_if_wanted

            opened = take_over_if_wanted(session, reopen, take_over, force)
            session, offer = opened.session, opened.offer
        gc.freeze()
    finally:
        if was_enabled:
            gc.enable()
    from phi_review.core.common.memory import release_freed_memory

    release_freed_memory()  # and what start-up freed beside it (imports, the recovery's parse)
    try:
        app = ReviewApp(session, roots=roots, graphics=choice, keymap=config.keys, out_dir=out_dir)
        if offer is not None:
            from phi_review.tui.commands.take_over import offer_in_app

            app.take_over_offer = offer  # type: ignore[attr-defined]  # open_review signals it after a yes
            offer_in_app(app, offer)
    except BaseException:
        session.close()
        raise
    return session, app


def _close_opened(opening: "Future[ReviewSession]") -> None:
    """A session that finished opening after the command gave up: release its lock and journal."""
    if not opening.cancelled() and opening.exception() is None:
        opening.result().close()


def _warm_first_paint() -> None:
    """Import, while the report is read, what the first paint needs besides the screens.

    The list shows each row's kind, which names a tag from its keyword through
    pydicom's dictionary, and the first preview decodes with pydicom: importing it
    here (one thread imports, the other reads) keeps 0.2 s off the first paint.
    """
    import pydicom.datadict  # noqa: F401


def _leave_now() -> None:
    """Quitting exits at once: the journal and the save are durable and the lock released by now.

    Tearing down the interpreter with half a million rows in memory takes over a second,
    and a worker stuck in a slow read (a huge or hostile file) would keep the process alive.
    """
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def run_demo(args: argparse.Namespace) -> int:
    from phi_review.sample_reports.build_demo import build_demo

    target = args.dir or Path(tempfile.mkdtemp(prefix="phi-review-demo-", dir=os.getcwd()))
    report = build_demo(target)
    print(f"Demo report: {report}")
    if args.no_screen:
        from phi_review.tui.cli import main

        return main(["summary", str(report)])
    return open_review(report, roots=[report.parent], sheet=None, reviewer=args.reviewer,
                       graphics=args.graphics, read_only=False, mouse=args.mouse,
                       notice=demo_notice(report))


def demo_notice(report: Path) -> str:
    """The demo's folder, named on the screen as it starts (it stays after you quit)."""
    from phi_review.core.common.inert import inert

    return f"Demo folder: {inert(report.parent)} (kept after you quit; delete it when done)."
