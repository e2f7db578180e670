"""Make untrusted text (DICOM values, report cells, file names) inert for a terminal.

Every control character, ESC included, is replaced by a visible escape, so an
ANSI/OSC sequence (an OSC 52 clipboard write, a title change, a cursor move) is
displayed, never interpreted. Invisible format characters (zero-width spaces
and joiners, soft hyphens, bidi marks, overrides and isolates) are escaped too:
``DOE\\u200bZW`` must not read as ``DOEZW``, and a right-to-left override must
not reorder what a reviewer sees. Rich markup is left to the UI layer, which
shows text through ``rich.text.Text`` and never parses it as markup.

This is the one inert path: every module that shows an untrusted string calls
``inert()``.
"""

from __future__ import annotations

import unicodedata


def _visible(char: str) -> str:
    code = ord(char)
    if code <= 0xFF:
        return f"\\x{code:02x}"
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def _unsafe(char: str) -> bool:
    """Not printable and not a plain space: controls (Cc), format characters (Cf: zero-width,
    bidi), line/paragraph separators, surrogates, private-use and unassigned code points."""
    return not char.isprintable() and unicodedata.category(char) != "Zs"


def inert(text: object) -> str:
    """Return ``text`` as a string whose control and invisible characters are shown as ``\\xNN``/``\\uNNNN``."""
    value = text if isinstance(text, str) else str(text)
    if value.isprintable():  # the common case, checked in C: nothing to escape
        return value
    return "".join(_visible(char) if _unsafe(char) else char for char in value)


def shorten(text: str, limit: int) -> str:
    """Cut ``text`` to ``limit`` characters with an ellipsis that says how much was cut."""
    if len(text) <= limit:
        return text
    cut = len(text) - limit
    return f"{text[:limit]}… (+{cut} chars)"
