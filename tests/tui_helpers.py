"""Helpers shared by the review-screen tests: a demo copy and an app on it."""

from __future__ import annotations

import asyncio
from pathlib import Path

from phi_review.core.review.session import ReviewSession
from phi_review.sample_reports.build_demo import build_demo
from phi_review.tui.app import ReviewApp
from phi_review.tui.terminal.graphics import GraphicsChoice, TerminalCaps, prepare_textual_image

_DEMO_CACHE: dict[str, Path] = {}


def fresh_demo(tmp_path: Path) -> Path:
    """A writable demo report in ``tmp_path`` (built once per test run, then copied)."""
    import shutil

    cached = _DEMO_CACHE.get("demo")
    if cached is None or not cached.exists():
        import tempfile

        base = Path(tempfile.mkdtemp(prefix="phi-review-demo-cache-"))
        cached = build_demo(base / "demo")
        _DEMO_CACHE["demo"] = cached
    target = tmp_path / "demo"
    shutil.copytree(cached.parent, target)
    return target / cached.name


def make_app(report: Path, mode: str = "halfcell", **session_kwargs: object) -> ReviewApp:
    prepare_textual_image((10, 20))
    session = ReviewSession.open(report, reviewer="tester", **session_kwargs)  # type: ignore[arg-type]
    return ReviewApp(session, graphics=GraphicsChoice(mode, TerminalCaps(is_tty=True, cell_size=(10, 20)), "test"))


async def wait_for(pilot, predicate, timeout: float = 10.0) -> None:  # type: ignore[no-untyped-def]
    """Let workers finish until ``predicate()`` holds (no fixed sleeps)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError("condition not reached in time")
        await pilot.pause(0.05)
