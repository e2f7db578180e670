"""Make untrusted text (DICOM values, report cells) inert for a terminal.

Every control character, ESC included, is replaced by a visible escape, so an
ANSI/OSC sequence (an OSC 52 clipboard write, a title change, a cursor move) is
displayed, never interpreted. Rich markup is left to the UI layer, which shows
text through ``rich.text.Text`` and never parses it as markup.
"""

from __future__ import annotations

import re

# C0 controls except none, DEL, C1 controls, and the Unicode line/paragraph
# separators and bidi overrides that can reorder what a reviewer sees.
_UNSAFE = re.compile(
    "[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]"
)


def _visible(match: re.Match[str]) -> str:
    char = match.group(0)
    code = ord(char)
    if code <= 0xFF:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}"


def inert(text: object) -> str:
    """Return ``text`` as a string whose control characters are shown as ``\\xNN``."""
    value = text if isinstance(text, str) else str(text)
    if value.isascii() and value.isprintable():  # the common case, checked in C
        return value
    return _UNSAFE.sub(_visible, value)


def shorten(text: str, limit: int) -> str:
    """Cut ``text`` to ``limit`` characters with an ellipsis that says how much was cut."""
    if len(text) <= limit:
        return text
    cut = len(text) - limit
    return f"{text[:limit]}… (+{cut} chars)"
