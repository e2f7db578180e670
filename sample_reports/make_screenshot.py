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
            await pilot.press("q")
        session.close()


def main() -> int:
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "docs/review-screen.svg")
    target.parent.mkdir(parents=True, exist_ok=True)
    asyncio.run(_shoot(target))
    print(target)
    return 0


if __name__ == "__main__":
    sys.exit(main())
