"""Nothing hidden under a picture (issue 24, item 2), on the screen and in the sixel renderer's output.

Toasts go where no picture is drawn (over the list); a sixel picture under a
toast that still reaches it sends nothing until the toast has gone, then is sent whole.
"""

from __future__ import annotations

import pytest
from PIL import Image

from phi_review.tui.widgets.preview_pane import PreviewPane

from tui_helpers import fresh_demo, make_app, wait_for


def _toasts(app):
    from textual.widgets._toast import Toast

    return list(app.screen.query(Toast))


@pytest.mark.parametrize("mode", ["sixel", "kitty", "halfcell"])
@pytest.mark.parametrize("size", [(120, 40), (100, 30), (80, 24)])
async def test_toasts_are_placed_where_no_picture_is_drawn(tmp_path, mode, size):
    app = make_app(fresh_demo(tmp_path), mode)
    async with app.run_test(size=size, notifications=True) as pilot:
        screen = app.review
        pane = app.query_one(PreviewPane)
        if screen.has_class("narrow"):
            await pilot.press("p")  # a header row: p shows its picture
        await wait_for(pilot, lambda: pane.image_widget is not None and pane.image_widget.display
                       and pane.image_widget.image is not None)
        app.review.notify("Masked 3 likely-PHI line(s) (3 new).", markup=False)
        await wait_for(pilot, lambda: any(t.region for t in _toasts(app)))
        await pilot.pause(0.1)
        image = pane.image_widget.region
        assert image and pane.image_widget.display
        for toast in _toasts(app):
            assert not toast.region.overlaps(image), (toast.region, image)
            assert toast.region.bottom <= app.query_one("#status").region.y  # nor over the status line


def _sixel_pane_app():
    from textual.app import App, ComposeResult
    from textual.widgets import Static

    from phi_review.tui.terminal.graphics import prepare_textual_image, widget_class

    prepare_textual_image((10, 20))

    class PaneApp(App):
        CSS = "#status { height: 1; dock: bottom; }"

        def compose(self) -> ComposeResult:
            yield PreviewPane(widget_class("sixel"), "sixel", (10, 20), id="preview")
            yield Static("status line", id="status")

    return PaneApp()


def _sixel_bytes(pane) -> str:
    impl = pane.image_widget.children[0]
    return "".join(segment.text for strip in impl.render_lines(impl.region.reset_offset) for segment in strip)


async def test_the_sixel_renderer_sends_nothing_while_a_toast_lies_over_it_then_the_whole_picture():
    app = _sixel_pane_app()
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        pane = app.query_one(PreviewPane)
        pane.show_image(Image.new("RGB", pane.pixel_box(), (90, 90, 90)), "caption")
        await pilot.pause()
        assert "\x1bP0;1;0q" in _sixel_bytes(pane)  # drawn
        app.notify("Saved 3 changed rows to report.xlsx.", timeout=1.0)
        await wait_for(pilot, pane.toasts_over_image)
        assert "\x1bP" not in _sixel_bytes(pane)  # under the toast: not a byte of picture
        refreshed = []
        impl = pane.image_widget.children[0]
        original = impl.refresh
        impl.refresh = lambda *a, **k: (refreshed.append(1), original(*a, **k))[1]  # type: ignore[method-assign]
        await wait_for(pilot, lambda: not pane.toasts_over_image(), timeout=5)
        await wait_for(pilot, lambda: bool(refreshed), timeout=2)  # the pane asks for the picture again
        assert "\x1bP0;1;0q" in _sixel_bytes(pane)
