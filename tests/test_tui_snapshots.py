"""Deterministic pictures of the review screen (half-cell forced), compared by pytest-textual-snapshot.

Update after an intended change with ``pytest tests/test_tui_snapshots.py --snapshot-update``
and look at the SVGs in ``tests/__snapshots__``.
"""

from __future__ import annotations

import pytest

from phi_review.tui.widgets.findings_list import FindingsList
from phi_review.tui.widgets.header_pane import HeaderPane
from phi_review.tui.widgets.preview_pane import PreviewPane

from tui_helpers import fresh_demo, make_app, wait_for


@pytest.fixture(autouse=True)
def _fresh_ocr(monkeypatch):
    """A picture must not depend on which tests ran before in this process (the OCR engine keeps state)."""
    from phi_review.core.ocr import engine

    monkeypatch.setattr(engine, "_SHARED", None)
    engine.clear_cache()


@pytest.fixture
def demo_report(tmp_path_factory):
    return fresh_demo(tmp_path_factory.mktemp("snap"))


def _ready(index_of):
    async def run_before(pilot):
        app = pilot.app
        await wait_for(pilot, lambda: bool(app.screen.query(FindingsList)) and app.query_one(FindingsList).size.height > 0)
        index = index_of(app.session.findings)
        app.query_one(FindingsList).move_to(index)
        await wait_for(pilot, lambda: index in app.review.files.loaded)
        header = app.query_one(HeaderPane)
        await wait_for(pilot, lambda: header.centered)
        preview = app.query_one(PreviewPane)
        loaded = app.review.files.loaded[index]
        if loaded.info is not None and app.review.is_pixel_finding(index):
            key = (str(loaded.path), 0)
            await wait_for(pilot, lambda: key in app.review.ocr.lines or key in app.review.ocr.errors, timeout=60)
            await wait_for(pilot, lambda: app.review.ocr.done_at > 0 and app.review.preview_shown is not None and app.review.preview_shown[1] > app.review.ocr.done_at)
        if loaded.info is not None and preview.display:
            await wait_for(pilot, lambda: preview.image_widget is not None and preview.image_widget.display)
        await pilot.pause()

    return run_before


def test_snapshot_header_finding_wide(snap_compare, demo_report):
    app = make_app(demo_report)
    assert snap_compare(app, terminal_size=(120, 36), run_before=_ready(lambda f: 0))


def test_snapshot_burned_in_pixels_wide(snap_compare, demo_report):
    app = make_app(demo_report)
    find = lambda fs: next(i for i, f in enumerate(fs) if "US_00001" in f.file)  # noqa: E731
    assert snap_compare(app, terminal_size=(120, 36), run_before=_ready(find))


def test_snapshot_hostile_header_is_inert(snap_compare, demo_report):
    app = make_app(demo_report)
    find = lambda fs: next(i for i, f in enumerate(fs) if "STUDY_0302" in f.file)  # noqa: E731
    assert snap_compare(app, terminal_size=(120, 36), run_before=_ready(find))


def test_snapshot_80x24(snap_compare, demo_report):
    app = make_app(demo_report)
    assert snap_compare(app, terminal_size=(80, 24), run_before=_ready(lambda f: 3))
