"""Make the README's picture of the review screen from the demo data.

Textual's own SVG export of a headless run (half-cell preview forced), never a
capture of a real reviewer's terminal. Run:
``.venv/bin/python -m phi_review.sample_reports.make_screenshot docs/review-screen.svg``
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from pathlib import Path


async def _shoot(target: Path) -> None:
    from phi_review.core.review.session import ReviewSession
    from phi_review.sample_reports.build_demo import build_demo
    from phi_review.tui.app import ReviewApp
    from phi_review.tui.widgets.findings_list import FindingsList
    from phi_review.tui.terminal.graphics import GraphicsChoice, TerminalCaps, prepare_textual_image

    prepare_textual_image((10, 20))
    with tempfile.TemporaryDirectory() as tmp:
        report = build_demo(Path(tmp) / "demo")
        session = ReviewSession.open(report, reviewer="demo")
        app = ReviewApp(session, graphics=GraphicsChoice("halfcell", TerminalCaps(is_tty=True, cell_size=(10, 20)), "demo"))
        async with app.run_test(size=(140, 42)) as pilot:
            index = next(i for i, f in enumerate(session.findings) if "US_00001" in f.file)
            await pilot.press("1", "1")
            app.query_one(FindingsList).move_to(index)
            loop = asyncio.get_running_loop()
            deadline = loop.time() + 60
            while loop.time() < deadline:
                loaded = app.review.files.loaded.get(index)
                if loaded is not None and loaded.path is not None and (str(loaded.path), 0) in app.review.ocr.lines:
                    if app.review.ocr.done_at > 0 and app.review.preview_shown and app.review.preview_shown[1] > app.review.ocr.done_at:
                        break
                await pilot.pause(0.05)
            await pilot.pause(0.2)
            target.write_text(app.export_screenshot(title="phi-review demo"), encoding="utf-8")
            await _shoot_copy(app, pilot, target.with_name("blackout-copy.svg"))
            await pilot.press("q")
        session.close()


async def _wait(pilot, predicate, timeout: float = 120.0) -> None:  # type: ignore[no-untyped-def]
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate() and loop.time() < deadline:
        await pilot.pause(0.05)


async def _shoot_copy(app, pilot, target: Path) -> None:  # type: ignore[no-untyped-def]
    """The same row after M (mask the likely-PHI lines) and R: the corrected copy shown, verified by OCR."""
    from phi_review.tui.screens.dialogs import ConfirmScreen, PickScreen

    screen = app.review
    await pilot.press("M", "R")
    await _wait(pilot, lambda: isinstance(app.screen, PickScreen))
    await pilot.press("enter")
    await _wait(pilot, lambda: isinstance(app.screen, ConfirmScreen))
    await pilot.press("y")
    await _wait(pilot, lambda: any(s.verified is not None or s.error for s in screen.remedy.copies.values()))
    shown = screen.preview_shown[1] if screen.preview_shown else 0
    await _wait(pilot, lambda: screen.preview_shown is not None and screen.preview_shown[1] > shown, 10)
    await pilot.pause(0.3)
    target.write_text(app.export_screenshot(title="phi-review demo: the corrected copy"), encoding="utf-8")


def main() -> int:
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "docs/review-screen.svg")
    target.parent.mkdir(parents=True, exist_ok=True)
    asyncio.run(_shoot(target))
    print(target)
    return 0


if __name__ == "__main__":
    sys.exit(main())
