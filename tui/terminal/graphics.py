"""Pick how images reach the terminal: Kitty graphics, Sixel, half-cell blocks or none.

textual-image probes the terminal at import time with a 0.1 s timeout: over a
slow SSH link the answer arrives after the probe gave up, and Textual then reads
it as keystrokes (a ``4`` from ``ESC[?62;4c`` would pick an action). So we probe
ourselves, before Textual starts, with a timeout fit for SSH, end the probe with
a device-attributes query every terminal answers (so its reply tells us every
earlier reply has arrived), drain what is left, and only then import
textual-image with its own probe disabled and our cell size filled in.
"""

from __future__ import annotations

import logging
import os
import re
import sys
import time
from dataclasses import dataclass, replace
from typing import Any

MODES = ("auto", "kitty", "sixel", "halfcell", "none")
DEFAULT_TIMEOUT = float(os.environ.get("PHI_REVIEW_PROBE_TIMEOUT", "1.5"))

_KITTY_QUERY = "\x1b_Gi=31,s=1,v=1,a=q,t=d,f=24;AAAA\x1b\\"
_CELL_QUERY = "\x1b[16t"
# XTVERSION: the terminal's name and version (kitty's decides Unicode placeholders).
_VERSION_QUERY = "\x1b[>0q"
# Set a true colour, ask for the current SGR (DECRQSS), reset: a terminal that
# keeps 24-bit colours echoes 38:2:1:2:3 back.
_TRUECOLOR_QUERY = "\x1b[38;2;1;2;3m\x1bP$qm\x1b\\\x1b[0m"
_DA1_QUERY = "\x1b[c"
_DA1_REPLY = re.compile(r"\x1b\[\?([\d;]*)c")
_CELL_REPLY = re.compile(r"\x1b\[6;(\d+);(\d+)t")
_KITTY_OK = re.compile(r"\x1b_Gi=31;OK\x1b\\")
_VERSION_REPLY = re.compile(r"\x1bP>\|([^\x1b]*)\x1b\\")
_SGR_REPLY = re.compile(r"\x1bP1\$r([^\x1b]*)\x1b\\")
_TRUECOLOR_SGR = re.compile(r"38[:;]2[:;]{1,2}1[:;]2[:;]3")
# TERM families whose every emulator of the last twenty years draws 256 colours,
# although terminfo's plain entries (xterm, mlterm, linux: 8 colours) are
# conservative; the Linux console approximates 256-colour SGR itself. This is
# the answer when a slow link's reply comes too late.
_256_FAMILIES = ("xterm", "mlterm", "linux", "rxvt", "screen", "tmux", "putty", "konsole", "gnome", "vte", "kitty",
                 "alacritty", "foot", "wezterm", "st")
# Kitty draws textual-image's Unicode placeholders from 0.28 on (0.26 shows empty boxes).
KITTY_PLACEHOLDERS_SINCE = (0, 28)
# Terminals known to draw 24-bit colour when they name themselves in XTVERSION.
_TRUECOLOR_NAMES = ("xterm", "kitty", "wezterm", "foot", "konsole", "contour", "ghostty", "tmux",
                    "iterm2", "alacritty", "vte", "mintty")


@dataclass(frozen=True)
class TerminalCaps:
    """What the terminal said about itself; all False when it is not a terminal."""

    is_tty: bool = False
    sixel: bool = False
    kitty: bool = False
    cell_size: tuple[int, int] | None = None  # (width, height) in pixels
    size_zero: bool = False
    answered: bool = False
    version: str = ""  # XTVERSION reply, e.g. "kitty(0.26.5)", "XTerm(379)"; untrusted text
    truecolor: bool = False  # the terminal echoed a 24-bit SGR back (DECRQSS)
    da1_level: int = 0  # first DA1 parameter: 62+ is a VT220-class emulator
    dumb: bool = False  # TERM=dumb: nothing was asked

    @property
    def kitty_placeholders(self) -> bool:
        """Whether textual-image's Kitty renderer (Unicode placeholders) will show anything."""
        return self.kitty and terminal_version(self.version)[0] in ("kitty", "ghostty") and (
            terminal_version(self.version)[0] == "ghostty"
            or terminal_version(self.version)[1] >= KITTY_PLACEHOLDERS_SINCE)

    def best_mode(self) -> str:
        if self.dumb:
            return "none"
        if not self.is_tty or self.size_zero:
            return "halfcell" if self.is_tty else "none"
        if self.kitty_placeholders and not os.environ.get("TMUX"):
            return "kitty"
        if self.sixel:
            return "sixel"
        return "halfcell"


def terminal_version(version: str) -> tuple[str, tuple[int, ...]]:
    """Split an XTVERSION reply ("kitty(0.26.5)", "XTerm(379)", "tmux 3.3a") into name and numbers."""
    match = re.match(r"\s*([A-Za-z][\w.-]*)[\s(]*([\d.]*)", version)
    if not match:
        return "", ()
    numbers = tuple(int(n) for n in match.group(2).split(".") if n.isdigit())
    return match.group(1).lower(), numbers


def parse_replies(data: str) -> TerminalCaps:
    """Read capabilities out of whatever the terminal sent back."""
    da1 = _DA1_REPLY.search(data)
    cell = _CELL_REPLY.search(data)
    cell_size = None
    if cell:
        height, width = int(cell.group(1)), int(cell.group(2))
        if height > 0 and width > 0:
            cell_size = (width, height)
    version = _VERSION_REPLY.search(data)
    sgr = _SGR_REPLY.search(data)
    level = da1.group(1).split(";")[0] if da1 else ""
    return TerminalCaps(
        is_tty=True,
        sixel=bool(da1 and "4" in da1.group(1).split(";")),
        kitty=bool(_KITTY_OK.search(data)),
        cell_size=cell_size,
        answered=bool(da1),
        version=version.group(1)[:64] if version else "",
        truecolor=bool(sgr and _TRUECOLOR_SGR.search(sgr.group(1))),
        da1_level=int(level) if level.isdigit() else 0,
    )


def probe_queries(env: dict[str, str] | os._Environ[str] | None = None) -> str:
    """What the probe writes; DA1 last, as every terminal answers it and so ends the wait.

    Inside tmux the Kitty query is left out: tmux takes an APC string as the
    pane's title, and the image never goes through tmux to Kitty anyway.
    """
    env = os.environ if env is None else env
    kitty = "" if env.get("TMUX") else _KITTY_QUERY
    return kitty + _CELL_QUERY + _VERSION_QUERY + _TRUECOLOR_QUERY + _DA1_QUERY


def _terminfo_colors(term: str) -> int:
    """Colours the terminfo entry for TERM declares (-1 when unknown)."""
    try:
        import curses

        curses.setupterm(term, os.open(os.devnull, os.O_WRONLY))
        return int(curses.tigetnum("colors"))
    except Exception:  # noqa: BLE001 - no terminfo entry, no curses: unknown
        return -1


def color_system(caps: TerminalCaps, env: dict[str, str] | os._Environ[str] | None = None) -> str | None:
    """Rich/Textual colour system for this terminal: "truecolor", "256", "standard" or None.

    Debian's TERM=xterm (and mlterm, linux) declares 8 colours in terminfo, so
    Rich and Textual would draw every image in the 16-colour palette although
    the terminal draws 24-bit colour. The terminal's own answers win: an echoed
    24-bit SGR, an XTVERSION name known for true colour, then COLORTERM and
    TERM, then a VT220-class DA1 reply (every such emulator draws 256 colours).
    """
    env = os.environ if env is None else env
    term = env.get("TERM", "")
    if caps.dumb or term == "dumb":
        return None
    if caps.truecolor or env.get("COLORTERM", "").lower() in ("truecolor", "24bit"):
        return "truecolor"
    name, numbers = terminal_version(caps.version)
    if name in _TRUECOLOR_NAMES and not (name == "xterm" and numbers and numbers[0] < 331):
        return "truecolor"
    # mlterm answers neither XTVERSION nor DECRQSS and is left at 256 colours on
    # purpose: mlterm 3.9 paints some of Textual's 24-bit backgrounds white
    # (seen under Xvfb), its 256-colour palette is drawn right.
    if (term.endswith(("256color", "direct")) or term.split("-")[0] in _256_FAMILIES
            or _terminfo_colors(term) >= 256 or caps.da1_level >= 62):
        return "256"
    return "standard"


def apply_color_system(system: str | None) -> None:
    """Make the app's console draw in ``system`` unless TEXTUAL_COLOR_SYSTEM says otherwise.

    Textual reads ``textual.constants.COLOR_SYSTEM`` when the App is built, so this
    must run before ``ReviewApp(...)``; it needs no change in the app itself.
    """
    if os.environ.get("TEXTUAL_COLOR_SYSTEM"):
        return
    import textual.constants

    textual.constants.COLOR_SYSTEM = system  # type: ignore[misc]


def _window_size(fd: int) -> tuple[int, int, int, int]:
    import fcntl
    import struct
    import termios

    packed = fcntl.ioctl(fd, termios.TIOCGWINSZ, b"\0" * 8)
    rows, cols, xpixels, ypixels = struct.unpack("HHHH", packed)
    return rows, cols, xpixels, ypixels


def probe_terminal(timeout: float = DEFAULT_TIMEOUT) -> TerminalCaps:
    """Ask the terminal what it can draw; never leaves a reply behind for Textual."""
    stdin, stdout = sys.__stdin__, sys.__stdout__
    if stdin is None or stdout is None or not stdin.isatty() or not stdout.isatty():
        return TerminalCaps()
    if os.environ.get("TERM") == "dumb":
        return TerminalCaps(is_tty=True, dumb=True)  # a dumb terminal is asked nothing
    import select
    import termios
    import tty

    in_fd, out_fd = stdin.fileno(), stdout.fileno()
    try:
        rows, cols, xpix, ypix = _window_size(out_fd)
    except OSError:
        rows = cols = xpix = ypix = 0
    if rows == 0 or cols == 0:
        return TerminalCaps(is_tty=True, size_zero=True)

    saved = termios.tcgetattr(in_fd)
    data = ""
    try:
        tty.setcbreak(in_fd, termios.TCSANOW)
        attrs = termios.tcgetattr(in_fd)
        attrs[3] &= ~termios.ECHO
        termios.tcsetattr(in_fd, termios.TCSANOW, attrs)
        os.write(out_fd, probe_queries().encode())
        # Kitty's query can leave its payload printed by terminals that do not
        # understand it: clear the line we are on.
        os.write(out_fd, b"\r\x1b[2K")
        deadline = time.monotonic() + timeout
        while not _DA1_REPLY.search(data):
            left = deadline - time.monotonic()
            if left <= 0:
                break
            ready, _, _ = select.select([in_fd], [], [], left)
            if not ready:
                break
            chunk = os.read(in_fd, 4096)
            if not chunk:
                break
            data += chunk.decode("latin-1")
        # Anything still in flight (a slow link) is drained and discarded so
        # that it never reaches the app as keystrokes.
        drain_deadline = time.monotonic() + (0.05 if _DA1_REPLY.search(data) else timeout / 2)
        while time.monotonic() < drain_deadline:
            ready, _, _ = select.select([in_fd], [], [], max(0.0, drain_deadline - time.monotonic()))
            if not ready:
                break
            if not os.read(in_fd, 4096):
                break
        termios.tcflush(in_fd, termios.TCIFLUSH)
    except (OSError, termios.error):
        return TerminalCaps(is_tty=True)
    finally:
        try:
            termios.tcsetattr(in_fd, termios.TCSANOW, saved)
        except termios.error:
            pass
    caps = parse_replies(data)
    if caps.cell_size is None and xpix and ypix:
        caps = replace(caps, cell_size=(max(1, xpix // cols), max(1, ypix // rows)))
    return caps


_textual_image_ready = False
_textual_image_widgets = False


def prepare_textual_image(cell_size: tuple[int, int] | None, widgets: bool = True) -> None:
    """Import textual-image without its own terminal probe and without its log noise.

    ``widgets=False`` (screenless commands) imports only the Rich renderables:
    the widgets pull in ``textual.app`` (about 0.1 s of start-up) and load on first need.
    """
    global _textual_image_ready, _textual_image_widgets
    if _textual_image_ready:
        if widgets and not _textual_image_widgets:
            _import_unprobed("textual_image.widget")
            _textual_image_widgets = True
        return
    logging.getLogger("textual_image").addHandler(logging.NullHandler())
    logging.getLogger("textual_image").propagate = False
    from textual_image import _terminal

    width, height = cell_size or (10, 20)
    _terminal.get_cell_size._result = _terminal.CellSize(width, height)  # type: ignore[attr-defined]
    _import_unprobed("textual_image.renderable")
    _rows_without_getdata()
    _textual_image_ready = True
    if widgets:
        _import_unprobed("textual_image.widget")
        _textual_image_widgets = True


def _rows_without_getdata() -> None:
    """textual-image 0.12 reads pixels with ``Image.getdata``, which Pillow 14 removes (deprecated in 12.1):
    its PixelData reads rows from ``get_flattened_data`` instead, where Pillow has it. Its images are
    already scaled to the cells (or sixel pixels) drawn, so the tuple of their pixels is small."""
    from PIL import Image
    from textual_image import _pixeldata

    if not hasattr(Image.Image, "get_flattened_data") or getattr(_pixeldata.PixelData, "_phi_rows", False):
        return

    def rows(self: Any) -> Any:
        image = self._image
        data = image.get_flattened_data()
        width = max(1, image.width)
        return (data[start: start + width] for start in range(0, len(data), width))

    _pixeldata.PixelData.__iter__ = rows  # type: ignore[method-assign]
    _pixeldata.PixelData._phi_rows = True  # type: ignore[attr-defined]


def _import_unprobed(module: str) -> None:
    """Import a textual-image module with its import-time terminal probe refused (we probed already)."""
    import importlib

    from textual_image import _terminal

    original = _terminal.capture_terminal_response

    def _refuse(*_args: Any, **_kwargs: Any) -> Any:
        raise _terminal.TerminalError("probe done by phi-review")

    _terminal.capture_terminal_response = _refuse  # type: ignore[assignment]
    try:
        importlib.import_module(module)
    finally:
        _terminal.capture_terminal_response = original  # type: ignore[assignment]


@dataclass(frozen=True)
class GraphicsChoice:
    mode: str  # kitty | sixel | halfcell | none
    caps: TerminalCaps
    reason: str
    warning: str = ""  # one line for the reviewer when a forced mode was not confirmed
    colors: str | None = "truecolor"  # Rich colour system the image is drawn in


def preview_off(choice: GraphicsChoice) -> str:
    """Why no image is drawn, naming what decided it: the flag only when the reviewer gave it."""
    if choice.reason == "chosen with --graphics":
        return "Preview off (--graphics none)."
    if choice.caps.dumb or choice.reason == "TERM=dumb":
        return "Preview off: TERM=dumb draws no images (--graphics halfcell to try blocks)."
    return f"Preview off: {choice.reason} (--graphics halfcell to try blocks)."


def _unconfirmed(mode: str, caps: TerminalCaps) -> str:
    """Why a forced mode may print garbage here ('' when the probe confirmed it)."""
    if not caps.is_tty or mode in ("halfcell", "none"):
        return ""
    if caps.dumb:
        return f"--graphics {mode}: TERM=dumb, the terminal was not asked whether it draws {mode}"
    if mode == "sixel" and not caps.sixel:
        return "--graphics sixel: this terminal did not report Sixel support; the image may show as garbage"
    if mode == "kitty" and not caps.kitty:
        return "--graphics kitty: this terminal did not answer the Kitty graphics query; the image may not show"
    if mode == "kitty" and not caps.kitty_placeholders:
        return "--graphics kitty: this terminal cannot draw Kitty Unicode placeholders (kitty 0.28+); the image may not show"
    return ""


def choose_graphics(mode: str = "auto", timeout: float = DEFAULT_TIMEOUT) -> GraphicsChoice:
    """Decide the renderer and the colour depth once, before any Textual app runs.

    Probes the terminal at most once per call (none for TERM=dumb); a mode
    forced with --graphics that the probe did not confirm carries a warning.
    """
    if mode not in MODES:
        raise ValueError(f"unknown graphics mode {mode!r}; choose one of {', '.join(MODES)}")
    is_tty = bool(sys.__stdout__ and sys.__stdout__.isatty())
    if mode == "none" or (mode == "halfcell" and not is_tty):
        caps = TerminalCaps(is_tty=is_tty, dumb=os.environ.get("TERM") == "dumb")
        prepare_textual_image(None, widgets=False)
        colors = color_system(caps) if is_tty else "truecolor"
        if is_tty:
            apply_color_system(colors)
        if caps.dumb:
            os.environ.setdefault("NO_COLOR", "1")
        return GraphicsChoice(mode, caps, "chosen with --graphics", colors=colors)
    caps = probe_terminal(timeout)
    prepare_textual_image(caps.cell_size, widgets=False)
    colors = color_system(caps) if caps.is_tty else "truecolor"
    if caps.is_tty:
        apply_color_system(colors)
    if caps.dumb:
        # Textual draws 24-bit colour whatever the console says; NO_COLOR is the
        # switch it honours (its monochrome filter), so a dumb terminal gets it.
        os.environ.setdefault("NO_COLOR", "1")
    if mode == "auto":
        chosen = caps.best_mode()
        if caps.dumb:
            reason = "TERM=dumb"
        elif caps.size_zero:
            reason = "terminal reported size 0"
        elif not caps.is_tty:
            reason = "not a terminal"
        elif not caps.answered:
            reason = "terminal did not answer the probe in time"
        elif caps.kitty and not caps.kitty_placeholders and chosen != "kitty":
            reason = "probed (Kitty graphics without Unicode placeholders)"
        else:
            reason = "probed"
        return GraphicsChoice(chosen, caps, reason, colors=colors)
    return GraphicsChoice(mode, caps, "chosen with --graphics", warning=_unconfirmed(mode, caps), colors=colors)


def renderable_class(mode: str) -> type | None:
    """The textual-image Rich renderable for a mode already chosen (never probes again)."""
    prepare_textual_image(None, widgets=False)
    from textual_image.renderable import HalfcellImage, SixelImage, TGPImage

    return {"kitty": TGPImage, "sixel": SixelImage, "halfcell": HalfcellImage}.get(mode)


_sixel_widget: type | None = None
_SIXEL_HEAD = re.compile(r'\x1bP[\d;]*q("\d+;\d+;\d+;\d+)?')
_SIXEL_COLOR = re.compile(r"#(\d+);2;(\d+);(\d+);(\d+)")


def palette_first(sixel: str) -> str:
    """Define every colour register before the first pixel, and open with P2=1.

    textual-image defines a register where a colour is first used. xterm
    (-ti vt340) then paints the bands drawn before a later definition with a
    stale register: a band of another colour along the top (red after ``t``,
    where the OCR box colour is defined on the third band). libsixel and the
    VT340 manuals put the palette first; so do we.
    """
    head = _SIXEL_HEAD.match(sixel)
    if not head:
        return sixel
    body = sixel[head.end():]
    definitions = "".join(m.group(0) for m in _SIXEL_COLOR.finditer(body))
    body = _SIXEL_COLOR.sub(lambda m: "#" + m.group(1), body)
    raster = head.group(1) or ""
    return "\x1bP0;1;0q" + raster + definitions + body


def sixel_widget_class() -> type:
    """textual-image's Sixel widget, drawing whole 6-pixel bands and leaving unset pixels alone.

    textual-image opens every image with ``ESC P 0;0;0 q``: P2=0 tells the
    terminal to paint pixels the image leaves unset with colour register 0,
    which xterm does with whatever register 0 held before (a strip of the
    previous image's colour along the top). P2=1 leaves them as they are; every
    pixel of our pictures is set anyway. A picture whose height is not a
    multiple of 6 ends in a partial band the terminal still draws 6 pixels
    tall, so the height is cut to whole bands.
    """
    global _sixel_widget
    if _sixel_widget is not None:
        return _sixel_widget
    prepare_textual_image(None)
    from textual_image.widget.sixel import Image as SixelImage
    from textual_image.widget.sixel import _ImageSixelImpl, _NoopRenderable

    class _WholeBands(_ImageSixelImpl):  # type: ignore[misc,valid-type]
        def render_lines(self, crop: Any) -> Any:
            # A sixel picture is drawn over whatever text is in its cells: while a notification lies over it,
            # nothing is sent (the terminal keeps what it shows, the toast's own cells are text on top); the
            # preview sends the picture whole again once the toast is gone (PreviewPane._after_toasts).
            if toasts_over(self):
                return []
            return super().render_lines(crop)

        def _crop_image(self, image: Any, crop: Any, terminal_sizes: Any) -> Any:
            data = super()._crop_image(image, crop, terminal_sizes)
            height = data.height - data.height % 6
            if 6 <= height < data.height:
                data = data.cropped(0, 0, data.width, height)
            return data

        def _image_to_sixels(self, image: Any, sixel_options: Any = None, background: Any = None) -> str:
            return palette_first(super()._image_to_sixels(image, sixel_options, background))

    class PhiSixelImage(SixelImage, Renderable=_NoopRenderable):  # type: ignore[misc,valid-type,call-arg]
        def compose(self) -> Any:
            yield _WholeBands(self.image, self._sixel_options)

    _sixel_widget = PhiSixelImage
    return PhiSixelImage


def toasts_over(widget: Any) -> bool:
    """Whether a notification (toast) on the widget's screen overlaps it: terminal graphics drawn now
    would paint over the toast's text."""
    try:
        from textual.widgets._toast import Toast

        region = widget.region
        return bool(region) and any(toast.region.overlaps(region) for toast in widget.screen.query(Toast))
    except Exception:  # noqa: BLE001 - no screen yet, another Textual layout: nothing is over it
        return False


def widget_class(mode: str) -> type | None:
    """The textual-image Textual widget for a mode (after choose_graphics)."""
    prepare_textual_image(None)
    from textual_image.widget import HalfcellImage, TGPImage

    if mode == "sixel":
        return sixel_widget_class()
    return {"kitty": TGPImage, "halfcell": HalfcellImage}.get(mode)
