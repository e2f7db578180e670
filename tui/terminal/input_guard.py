"""Keep terminal replies out of the keyboard.

A terminal answers queries (device attributes, Kitty graphics, cell size,
DECRQSS/XTGETTCAP strings) on stdin. Textual reissues a reply it does not know
as ordinary key presses: ``ESC[?62;4c`` arrives as ``[ ? 6 2 ; 4 c``, and ``6``,
``2`` and ``4`` pick actions in this app. Over a slow SSH link a reply to our
start-up probe can arrive after the app started, so every chunk of input is
stripped of complete replies before Textual's parser sees it, and a reply split
across reads is held back until it completes.
"""

from __future__ import annotations

import re

# Complete replies: DA1/DA2/DA3, cell/window size reports, Kitty graphics APC,
# DCS strings (XTGETTCAP, DECRQSS) and OSC colour replies.
REPLY = re.compile(
    r"\x1b\[[?>=][\d;]*c"  # device attributes
    r"|\x1b\[[4-9];\d+;\d+t"  # window/cell size reports
    r"|\x1b_G[^\x1b]*\x1b\\"  # kitty graphics reply
    r"|\x1bP[^\x1b]*\x1b\\"  # DCS reply
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)"  # OSC reply
)
# The start of a reply that has not finished arriving.
PARTIAL = re.compile(
    r"(\x1b\[[?>=][\d;]*|\x1b\[[4-9];[\d;]*|\x1b_G[^\x1b]*\x1b?|\x1bP[^\x1b]*\x1b?|\x1b\][^\x07\x1b]*\x1b?)\Z"
)
# A partial reply held longer than this is released as input after all.
MAX_HELD = 512


class ReplyFilter:
    """Stateful filter: feed it raw input text, get back what is really typed."""

    def __init__(self) -> None:
        self._held = ""
        self.dropped = 0

    def feed(self, data: str) -> str:
        text = self._held + data
        self._held = ""
        text, count = REPLY.subn("", text)
        self.dropped += count
        partial = PARTIAL.search(text)
        if partial and partial.group(0) != "\x1b" and len(partial.group(0)) < MAX_HELD:
            self._held = partial.group(0)
            text = text[: partial.start()]
        return text


def install() -> bool:
    """Make Textual's Linux driver parse input through ReplyFilter. Returns True if applied."""
    try:
        from textual._xterm_parser import XTermParser
        from textual.drivers import linux_driver
    except ImportError:  # pragma: no cover - other platforms
        return False
    if getattr(linux_driver.XTermParser, "_phi_review_guard", False):
        return True

    class GuardedParser(XTermParser):  # type: ignore[misc,valid-type]
        _phi_review_guard = True

        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__(*args, **kwargs)
            self._reply_filter = ReplyFilter()

        def feed(self, data: str):  # type: ignore[no-untyped-def]
            if not data:  # end of input: let Textual flush
                return super().feed(data)
            typed = self._reply_filter.feed(data)
            # An all-reply chunk must not look like end of input ("").
            return super().feed(typed) if typed else iter(())

    linux_driver.XTermParser = GuardedParser  # type: ignore[misc]
    return True


def guarded_parser():  # type: ignore[no-untyped-def]
    """A parser as the app's driver would use it (for tests)."""
    install()
    from textual.drivers import linux_driver

    return linux_driver.XTermParser()
