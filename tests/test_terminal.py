"""Terminal probing and the keyboard guard, without a real terminal."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
import time

from phi_review.tui.terminal.graphics import TerminalCaps, choose_graphics, parse_replies
from phi_review.tui.terminal.input_guard import ReplyFilter, guarded_parser


def test_parse_replies_reads_sixel_kitty_and_cell_size():
    caps = parse_replies("\x1b_Gi=31;OK\x1b\\\x1b[6;20;10t\x1b[?62;4;22c")
    assert caps.kitty and caps.sixel and caps.answered
    assert caps.cell_size == (10, 20)


def test_parse_replies_plain_vt220():
    caps = parse_replies("\x1b[?62;22c")
    assert not caps.sixel and not caps.kitty and caps.answered


def test_best_mode_falls_back():
    assert TerminalCaps().best_mode() == "none"
    assert TerminalCaps(is_tty=True, size_zero=True, sixel=True).best_mode() == "halfcell"
    assert TerminalCaps(is_tty=True, sixel=True).best_mode() == "sixel"
    assert TerminalCaps(is_tty=True).best_mode() == "halfcell"


def test_reply_filter_drops_replies_keeps_keys():
    f = ReplyFilter()
    assert f.feed("j\x1b[?62;4ck") == "jk"
    assert f.feed("\x1b[?6") == ""  # held: may be the start of a reply
    assert f.feed("2;4cn") == "n"
    assert f.feed("\x1b_Gi=31;OK\x1b\\1") == "1"
    assert f.feed("\x1b") == "\x1b"  # a lone Escape key press is never held
    assert f.dropped == 3


def test_guarded_parser_gives_only_real_keys():
    parser = guarded_parser()
    keys = [e.key for e in parser.feed("\x1b[?62;4c") if hasattr(e, "key")]
    keys += [e.key for e in parser.feed("j\x1b[A") if hasattr(e, "key")]
    assert keys == ["j", "up"]


def test_choose_graphics_without_terminal_is_none():
    choice = choose_graphics("auto", timeout=0.2)
    assert choice.mode == "none"  # pytest's stdout is not a terminal


PROBE = (
    "import sys, time\n"
    "from phi_review.tui.terminal.graphics import probe_terminal\n"
    "from phi_review.tui.terminal.input_guard import ReplyFilter\n"
    "caps = probe_terminal(timeout=float(sys.argv[1]))\n"
    "import tty, termios, select, os\n"
    "tty.setcbreak(0)\n"  # like the app's driver, before anything else is read
    "print('CAPS', caps.sixel, caps.answered, caps.cell_size, flush=True)\n"
    "r, _, _ = select.select([0], [], [], float(sys.argv[2]))\n"
    "raw = os.read(0, 100) if r else b''\n"
    "print('RAW', len(raw), 'LEFT', repr(ReplyFilter().feed(raw.decode('latin-1'))), flush=True)\n"
)


def _run_fake_terminal(reply_delay: float, timeout: float, after_probe: bool = False, wait: float = 1.5) -> str:
    """Run the probe on a pty whose 'terminal' answers DA1 after ``reply_delay`` seconds.

    With ``after_probe`` the answer is sent only once the probe has returned
    (the child printed CAPS): a reply later than any timeout, whatever the
    machine's load, which the app must still never see as keys.
    """
    pid, fd = pty.fork()
    if pid == 0:  # child: the program
        os.execv(sys.executable, [sys.executable, "-c", PROBE, str(timeout), str(wait)])
    import fcntl
    import select
    import struct
    import termios

    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    output = b""
    answered = False
    start = time.monotonic()
    while time.monotonic() - start < 30:
        ready, _, _ = select.select([fd], [], [], 0.05)
        if ready:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                break
            if not chunk:
                break
            output += chunk
        trigger = b"CAPS" in output if after_probe else (
            b"\x1b[c" in output and time.monotonic() - start >= reply_delay)
        if not answered and trigger:
            os.write(fd, b"\x1b[?62;4c")
            answered = True
        if b"LEFT" in output and output.rstrip().endswith(b"'"):
            break
    os.waitpid(pid, 0)
    return output.decode("latin-1")


def test_probe_on_a_pty_reads_the_reply_and_leaves_nothing_behind():
    out = _run_fake_terminal(reply_delay=0.2, timeout=5.0)
    assert "CAPS True True" in out
    assert "RAW 0 LEFT ''" in out


def test_late_reply_is_drained_not_left_for_the_app():
    # The terminal answers only after the probe gave up: the reply reaches the
    # program's input (RAW > 0) and the keyboard guard the app reads through
    # keeps all of it out (LEFT ''). Deterministic: no race with the probe's timer.
    out = _run_fake_terminal(reply_delay=0.0, timeout=0.3, after_probe=True, wait=10.0)
    assert "CAPS False False" in out
    assert "RAW 0" not in out and "LEFT ''" in out, out


# ----- the preview fits the space it is given (issue 10, item 3) and t is legible (item 6) -----

def _pane_app(mode: str, size_lines: int):  # type: ignore[no-untyped-def]
    from textual.app import App, ComposeResult
    from textual.widgets import Static

    from phi_review.tui.terminal.graphics import prepare_textual_image, widget_class
    from phi_review.tui.widgets.preview_pane import PreviewPane

    prepare_textual_image((10, 20))

    class PaneApp(App):
        def compose(self) -> ComposeResult:
            yield PreviewPane(widget_class(mode), mode, (10, 20), id="preview")
            yield Static("status line", id="status")

        CSS = "#status { height: 1; dock: bottom; }"

    return PaneApp()


async def test_image_fits_the_space_left_by_the_text_panel_at_every_size():
    from PIL import Image

    from phi_review.tui.widgets.preview_pane import PreviewPane

    tall = Image.new("RGB", (300, 900), (200, 200, 200))  # taller than any pane here
    for size in ((80, 24), (120, 40), (50, 16)):
        app = _pane_app("halfcell", size[1])
        async with app.run_test(size=size) as pilot:
            pane = app.query_one(PreviewPane)
            pane.show_text_lines("\n".join(f"line {n}" for n in range(5)))
            await pilot.pause()
            box = pane.pixel_box()
            from phi_review.core.dicom.pixels import fit
            import numpy as np

            pane.show_image(Image.fromarray(fit(np.asarray(tall), box)), "caption")
            await pilot.pause()
            image = pane.image_widget
            assert image is not None
            panel = pane.query_one("#preview-ocr")
            # The image starts below the text panel and ends inside the pane, above the status line.
            assert image.region.y >= panel.region.bottom
            assert image.region.bottom <= pane.region.bottom <= app.query_one("#status").region.y
            # The picture is exactly the widget's cells in pixels: drawn 1:1, never cut.
            assert image.image.size == (image.content_size.width * 10, image.content_size.height * 20)
            lines = app.screen._compositor.render_update(full=True)  # noqa: F841 - renders without error


def test_sixel_pixel_box_is_whole_sixel_bands():
    from phi_review.tui.widgets.preview_pane import whole_cells
    from PIL import Image

    picture = whole_cells(Image.new("RGB", (37, 50)), (100, 66), (10, 22))
    assert picture.size == (100, 66)
    shrunk = whole_cells(Image.new("RGB", (400, 400)), (100, 60), (10, 20))
    assert shrunk.size == (100, 60)  # space shrank since the render: fitted, not cut


def test_legible_zoom_makes_a_text_line_8_rows_tall_in_halfcell():
    from phi_review.tui.widgets.preview_pane import legible_zoom

    # A 640x480 ultrasound with a 14-pixel-tall name line, shown in a 60x20-cell half-cell view.
    box = (20, 10, 300, 24)
    zoom, (cx, cy) = legible_zoom(box, (640, 480), (60, 20), "halfcell", (10, 20))
    fit_scale = min(60 / 640, 40 / 480)
    assert (box[3] - box[1]) * fit_scale * zoom >= 16  # >= 16 half-cells = 8 terminal rows
    # The line is wider than the view at this zoom: the view starts at the line's left end.
    shown_w = 60 / (fit_scale * zoom)
    assert cx * 640 - shown_w / 2 <= box[0]
    # Sixel draws real pixels: a much smaller zoom is enough.
    sixel_zoom, _ = legible_zoom(box, (640, 480), (60, 20), "sixel", (10, 20))
    assert sixel_zoom < zoom


async def test_sixel_widget_draws_whole_bands_and_leaves_unset_pixels_alone():
    """Item 4: the sixel string starts with P2=1 and its height is a multiple of 6 at any cell height."""
    import re

    from PIL import Image

    from phi_review.tui.widgets.preview_pane import PreviewPane

    app = _pane_app("sixel", 24)
    async with app.run_test(size=(80, 24)) as pilot:
        pane = app.query_one(PreviewPane)
        pane.cell_size = (10, 17)  # 17-pixel cells: no row of cells is whole bands
        from textual_image import _terminal

        _terminal.get_cell_size._result = _terminal.CellSize(10, 17)  # type: ignore[attr-defined]
        try:
            pane.show_image(Image.new("RGB", pane.pixel_box(), (90, 90, 90)), "caption")
            await pilot.pause()
            impl = pane.image_widget.children[0]
            strips = impl.render_lines(impl.region.reset_offset)
            data = "".join(seg.text for seg in strips[-1])
        finally:
            _terminal.get_cell_size._result = _terminal.CellSize(10, 20)  # type: ignore[attr-defined]
    header = re.search(r'\x1bP(\d);(\d);(\d)q"1;1;(\d+);(\d+)', data)
    assert header, data[:80]
    assert header.group(2) == "1"
    assert int(header.group(5)) % 6 == 0


def test_palette_first_moves_every_colour_definition_before_the_pixels():
    from phi_review.tui.terminal.graphics import palette_first

    encoded = '\x1bP0;0;0q"1;1;4;12#0;2;1;1;1!4~-#0!2~$#2;2;100;16;16!2?!2~-\x1b\\'
    out = palette_first(encoded)
    assert out == '\x1bP0;1;0q"1;1;4;12#0;2;1;1;1#2;2;100;16;16#0!4~-#0!2~$#2!2?!2~-\x1b\\'


async def test_sixel_image_waits_until_start_up_messages_over_the_pane_are_gone():
    """Item 5: a sixel image would paint over a toast; it is held until the toast closes."""
    from PIL import Image

    from phi_review.tui.widgets.preview_pane import PreviewPane

    app = _pane_app("sixel", 24)
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        pane = app.query_one(PreviewPane)
        app.notify("Recovered 3 unsaved decisions from the journal.", timeout=1.0)
        await pilot.pause(0.2)
        pane.show_image(Image.new("RGB", pane.pixel_box(), (90, 90, 90)), "caption")
        await pilot.pause()
        assert pane.toasts_over_image()
        assert not pane.image_widget.display  # held: the message stays readable
        assert "image after the messages" in str(pane.query_one("#preview-caption").render())
        for _ in range(60):
            if pane.image_widget.display:
                break
            await pilot.pause(0.1)
        assert pane.image_widget.display and not pane.toasts_over_image()


async def test_a_sixel_image_is_sent_whole_again_after_a_toast_over_it_goes():
    """Seen in xterm -ti vt340: a toast over a shown sixel picture left a hole when it went (only its
    cells were repainted); the picture is refreshed whole once the toast is gone."""
    from PIL import Image

    from phi_review.tui.widgets.preview_pane import PreviewPane

    app = _pane_app("sixel", 24)
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        pane = app.query_one(PreviewPane)
        pane.show_image(Image.new("RGB", pane.pixel_box(), (90, 90, 90)), "caption")
        await pilot.pause()
        assert pane.image_widget.display
        impl = pane.image_widget.children[0]
        refreshed: list[object] = []
        real_refresh = impl.refresh
        impl.refresh = lambda *args, **kwargs: refreshed.append(args) or real_refresh(*args, **kwargs)
        app.notify("No rows match this filter (Esc clears it).", timeout=0.6)
        for _ in range(20):
            await pilot.pause(0.05)
            if pane.toasts_over_image():
                break
        assert pane.toasts_over_image()
        refreshed.clear()  # what the toast's own arrival repainted does not count
        for _ in range(60):
            await pilot.pause(0.1)
            if not pane.toasts_over_image() and refreshed:
                break
        assert not pane.toasts_over_image()
        assert refreshed, "the picture was not sent again after the toast went"
