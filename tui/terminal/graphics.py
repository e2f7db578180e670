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
from dataclasses import dataclass
from typing import Any

MODES = ("auto", "kitty", "sixel", "halfcell", "none")
DEFAULT_TIMEOUT = float(os.environ.get("PHI_REVIEW_PROBE_TIMEOUT", "1.5"))

_KITTY_QUERY = "\x1b_Gi=31,s=1,v=1,a=q,t=d,f=24;AAAA\x1b\\"
_CELL_QUERY = "\x1b[16t"
_DA1_QUERY = "\x1b[c"
_DA1_REPLY = re.compile(r"\x1b\[\?([\d;]*)c")
_CELL_REPLY = re.compile(r"\x1b\[6;(\d+);(\d+)t")
_KITTY_OK = re.compile(r"\x1b_Gi=31;OK\x1b\\")


@dataclass(frozen=True)
class TerminalCaps:
    """What the terminal said about itself; all False when it is not a terminal."""

    is_tty: bool = False
    sixel: bool = False
    kitty: bool = False
    cell_size: tuple[int, int] | None = None  # (width, height) in pixels
    size_zero: bool = False
    answered: bool = False

    def best_mode(self) -> str:
        if not self.is_tty or self.size_zero:
            return "halfcell" if self.is_tty else "none"
        if self.kitty and not os.environ.get("TMUX"):
            return "kitty"
        if self.sixel:
            return "sixel"
        return "halfcell"


def parse_replies(data: str) -> TerminalCaps:
    """Read capabilities out of whatever the terminal sent back."""
    da1 = _DA1_REPLY.search(data)
    cell = _CELL_REPLY.search(data)
    cell_size = None
    if cell:
        height, width = int(cell.group(1)), int(cell.group(2))
        if height > 0 and width > 0:
            cell_size = (width, height)
    return TerminalCaps(
        is_tty=True,
        sixel=bool(da1 and "4" in da1.group(1).split(";")),
        kitty=bool(_KITTY_OK.search(data)),
        cell_size=cell_size,
        answered=bool(da1),
    )


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
        os.write(out_fd, (_KITTY_QUERY + _CELL_QUERY + _DA1_QUERY).encode())
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
        caps = TerminalCaps(
            is_tty=True,
            sixel=caps.sixel,
            kitty=caps.kitty,
            cell_size=(max(1, xpix // cols), max(1, ypix // rows)),
            answered=caps.answered,
        )
    return caps


_textual_image_ready = False


def prepare_textual_image(cell_size: tuple[int, int] | None) -> None:
    """Import textual-image without its own terminal probe and without its log noise."""
    global _textual_image_ready
    if _textual_image_ready:
        return
    logging.getLogger("textual_image").addHandler(logging.NullHandler())
    logging.getLogger("textual_image").propagate = False
    from textual_image import _terminal

    width, height = cell_size or (10, 20)
    _terminal.get_cell_size._result = _terminal.CellSize(width, height)  # type: ignore[attr-defined]

    original = _terminal.capture_terminal_response

    def _refuse(*_args: Any, **_kwargs: Any) -> Any:
        raise _terminal.TerminalError("probe done by phi-review")

    _terminal.capture_terminal_response = _refuse  # type: ignore[assignment]
    try:
        import textual_image.renderable  # noqa: F401
        import textual_image.widget  # noqa: F401
    finally:
        _terminal.capture_terminal_response = original  # type: ignore[assignment]
    _textual_image_ready = True


@dataclass(frozen=True)
class GraphicsChoice:
    mode: str  # kitty | sixel | halfcell | none
    caps: TerminalCaps
    reason: str


def choose_graphics(mode: str = "auto", timeout: float = DEFAULT_TIMEOUT) -> GraphicsChoice:
    """Decide the renderer once, before any Textual app runs."""
    if mode not in MODES:
        raise ValueError(f"unknown graphics mode {mode!r}; choose one of {', '.join(MODES)}")
    if mode in ("halfcell", "none"):
        caps = TerminalCaps(is_tty=bool(sys.__stdout__ and sys.__stdout__.isatty()))
        prepare_textual_image(None)
        return GraphicsChoice(mode, caps, "chosen with --graphics")
    caps = probe_terminal(timeout)
    prepare_textual_image(caps.cell_size)
    if mode == "auto":
        chosen = caps.best_mode()
        if caps.size_zero:
            reason = "terminal reported size 0"
        elif not caps.is_tty:
            reason = "not a terminal"
        elif not caps.answered:
            reason = "terminal did not answer the probe in time"
        else:
            reason = "probed"
        return GraphicsChoice(chosen, caps, reason)
    return GraphicsChoice(mode, caps, "chosen with --graphics")


def renderable_class(mode: str) -> type | None:
    """The textual-image Rich renderable for ``--graphics MODE`` (probes for auto)."""
    chosen = choose_graphics(mode).mode
    from textual_image.renderable import HalfcellImage, SixelImage, TGPImage

    return {"kitty": TGPImage, "sixel": SixelImage, "halfcell": HalfcellImage}.get(chosen)


def widget_class(mode: str) -> type | None:
    """The textual-image Textual widget for a mode (after choose_graphics)."""
    prepare_textual_image(None)
    from textual_image.widget import HalfcellImage, SixelImage, TGPImage

    return {"kitty": TGPImage, "sixel": SixelImage, "halfcell": HalfcellImage}.get(mode)
