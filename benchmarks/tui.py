"""Review-screen speed, beside the bare libraries, in one run.

1. Start to first painted list for a 100,000-row report vs python-calamine's bare read.
2. Keystroke (j) to painted preview of the next file, with prefetch, vs a bare
   ``dcmread(...).pixel_array`` of the same file (median and p95).
3. The groups list with 50,000 groups painted, vs Textual's OptionList holding
   the same labels (the widget it replaced).

Run: .venv/bin/python benchmarks/tui.py [--rows 100000] [--steps 20] [--groups 50000]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / ".bench"


def big_report(rows: int) -> Path:
    from phi_review.sample_reports.make_workbook import cached_report

    return cached_report(BENCH, rows)


def bare_calamine(path: Path) -> float:
    from python_calamine import CalamineWorkbook

    start = time.perf_counter()
    workbook = CalamineWorkbook.from_path(str(path))
    name = next(n for n in workbook.sheet_names if n.lower() != "lists")
    workbook.get_sheet_by_name(name).to_python()
    return time.perf_counter() - start


def _app(report: Path):
    from phi_review.core.review.session import ReviewSession
    from phi_review.tui.app import ReviewApp
    from phi_review.tui.terminal.graphics import GraphicsChoice, TerminalCaps, prepare_textual_image

    prepare_textual_image((10, 20))
    session = ReviewSession.open(report, reviewer="bench")
    return ReviewApp(session, graphics=GraphicsChoice("halfcell", TerminalCaps(is_tty=True, cell_size=(10, 20)), "bench"))


async def first_paint(report: Path) -> float:
    start = time.perf_counter()
    mono_start = time.monotonic()
    app = _app(report)
    async with app.run_test(size=(160, 50)) as pilot:
        while app.review.first_paint_at is None:
            await pilot.pause(0.001)
        elapsed = app.review.first_paint_at - mono_start
        await pilot.press("q")
    app.session.close()
    del start
    return elapsed


async def next_preview(report: Path, steps: int) -> tuple[list[float], list[float]]:
    import pydicom
    from textual import events

    app = _app(report)
    ours: list[float] = []
    bare: list[float] = []
    async with app.run_test(size=(160, 50)) as pilot:
        async def shown(index: int, after: float) -> None:
            while not (app.review.preview_shown and app.review.preview_shown[0] == index and app.review.preview_shown[1] >= after):
                await pilot.pause(0.002)

        await shown(0, 0)
        for _ in range(steps):
            from phi_review.tui.widgets.findings_list import FindingsList

            listing = app.query_one(FindingsList)
            target = listing.order[listing.cursor + 1] if listing.cursor + 1 < len(listing.order) else None
            if target is None:
                break
            await asyncio.sleep(0.4)  # a reviewer looks at a file before moving on: prefetch runs meanwhile
            start = time.monotonic()
            # Post the key like the terminal driver does (pilot.press also waits for the
            # whole screen to go idle, which would be measured instead of the preview).
            app.post_message(events.Key("j", "j"))
            loaded_ok = True
            try:
                await asyncio.wait_for(shown(target, start), timeout=10)
                await pilot.pause(0)  # the paint of the new image
            except asyncio.TimeoutError:
                loaded_ok = False
            if not loaded_ok or app.review.files.loaded.get(target) is None or app.review.files.loaded[target].info is None:
                continue
            ours.append(time.monotonic() - start)
            path = app.review.files.loaded[target].path
            t = time.perf_counter()
            try:
                pydicom.dcmread(path).pixel_array
            except Exception:  # noqa: BLE001 - a file the bare library cannot decode is not a comparison
                ours.pop()
                continue
            bare.append(time.perf_counter() - t)
        await pilot.press("q")
    app.session.close()
    return ours, bare


async def groups_paint(count: int) -> tuple[float, float]:
    """Seconds to a painted list of ``count`` groups: ours, then OptionList."""
    from textual.app import App, ComposeResult
    from textual.widgets import OptionList
    from textual.widgets.option_list import Option

    from phi_review.core.review.session import Group
    from phi_review.tui.widgets.groups_list import GroupsList, group_text

    groups = [Group("Possible PHI/PII in Header", f"DOE^JANE {n}", [n], 0) for n in range(count)]

    class Host(App[None]):
        def __init__(self, bare: bool) -> None:
            super().__init__()
            self.bare = bare

        def compose(self) -> ComposeResult:
            if self.bare:
                yield OptionList(*[Option(group_text(g)) for g in groups])
            else:
                widget = GroupsList()
                widget.set_groups(groups)
                yield widget

    times = []
    for bare in (False, True):
        start = time.perf_counter()
        app = Host(bare)
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.pause()
            times.append(time.perf_counter() - start)
    return times[0], times[1]


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--groups", type=int, default=50_000)
    args = parser.parse_args()

    report = big_report(args.rows)
    paint = asyncio.run(first_paint(report))
    calamine = min(bare_calamine(report) for _ in range(3))
    print(f"{'measure':<46} {'phi-review':>11} {'bare':>11} {'ratio':>7}")
    print(f"{f'start -> first painted list, {args.rows:,} rows':<46} {paint:>10.3f}s {calamine:>10.3f}s {paint / calamine:>6.2f}x")

    from phi_review.sample_reports.build_demo import build_demo

    with tempfile.TemporaryDirectory() as tmp:
        demo = build_demo(Path(tmp) / "demo")
        ours, bare = asyncio.run(next_preview(demo, args.steps))
    if ours and bare:
        print(f"{'j -> painted preview, median (n=%d)' % len(ours):<46} {statistics.median(ours) * 1000:>9.1f}ms "
              f"{statistics.median(bare) * 1000:>9.1f}ms {statistics.median(ours) / statistics.median(bare):>6.2f}x")
        print(f"{'j -> painted preview, p95':<46} {p95(ours) * 1000:>9.1f}ms {p95(bare) * 1000:>9.1f}ms "
              f"{p95(ours) / p95(bare):>6.2f}x")
    ours_groups, option_list = asyncio.run(groups_paint(args.groups))
    print(f"{f'groups view painted, {args.groups:,} groups (vs OptionList)':<46} {ours_groups:>10.3f}s "
          f"{option_list:>10.3f}s {ours_groups / option_list:>6.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
