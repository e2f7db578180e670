"""Make the README's picture of the statistics screen (`s`) from the demo data, a few rows decided.

Textual's own SVG export of a headless run, never a capture of a real reviewer's
terminal. Run:
``.venv/bin/python -m phi_review.sample_reports.make_stats_screenshot docs/stats-screen.svg``
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
    from phi_review.tui.screens.stats_view import StatsScreen as StatsView
    from phi_review.tui.terminal.graphics import GraphicsChoice, TerminalCaps

    with tempfile.TemporaryDirectory() as tmp:
        report = build_demo(Path(tmp) / "demo")
        session = ReviewSession.open(report, reviewer="demo")
        app = ReviewApp(session, graphics=GraphicsChoice("none", TerminalCaps(is_tty=True, cell_size=(10, 20)), "demo"))
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press("1", "1", "3", "2", "4", "1", "5", "1")
            await pilot.press("s")
            loop = asyncio.get_running_loop()
            deadline = loop.time() + 60
            while loop.time() < deadline and not isinstance(app.screen, StatsView):
                await pilot.pause(0.05)
            await pilot.pause(1.0)
            target.write_text(app.export_screenshot(title="phi-review: where the review stands"), encoding="utf-8")
            await pilot.press("escape", "q")
        session.close()


def main() -> None:
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "docs/stats-screen.svg")
    asyncio.run(_shoot(target))
    print(target)


if __name__ == "__main__":
    main()
