"""What a workbook cell can hold, checked when text is typed, and how we write it.

XML 1.0 cannot carry most C0 control characters, Excel stops a cell at 32,767
characters, and the spreadsheet escape ``_xHHHH_`` means a character to every
reader: a note that contains that text literally must be escaped as
``_x005F_xHHHH_`` (ECMA-376 Part 1, 22.9.2.19 ST_Xstring) or it comes back
changed. Refusing at typing time, not at save time, is what keeps one bad
value from blocking every later save.
"""

from __future__ import annotations

import re

from phi_review.core.common.errors import PhiReviewError

MAX_CELL_CHARS = 32_767  # Excel's limit on the text of one cell
MAX_COLUMNS = 16_384  # A..XFD
UNSTORABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_ESCAPE_LIKE = re.compile(r"_(x[0-9A-Fa-f]{4}_)")


def cell_text_problem(text: str, what: str) -> str | None:
    """Why ``text`` cannot be stored in a cell, as one line, or None when it can."""
    bad = UNSTORABLE.search(text)
    if bad:
        return f"the {what} holds a control character (\\x{ord(bad.group(0)):02x}) that the report cannot store; remove it"
    if len(text) > MAX_CELL_CHARS:
        return (
            f"the {what} has {len(text):,} characters; a spreadsheet cell holds at most {MAX_CELL_CHARS:,}: shorten it"
        )
    return None


def check_cell_text(text: str, what: str) -> None:
    """Raise PhiReviewError when ``text`` cannot be stored (see cell_text_problem)."""
    problem = cell_text_problem(text, what)
    if problem:
        raise PhiReviewError(problem)


def xml_cell_text(text: str) -> str:
    """``text`` as the content of ``<t xml:space="preserve">``, read back exactly by Excel-compatible readers.

    ``&``/``<``/``>`` are entities; a literal ``_xHHHH_`` gets its underscore
    escaped as ``_x005F_``; CR is written ``&#13;`` because XML parsers turn a
    raw CR into LF.
    """
    return _escape(_ESCAPE_LIKE.sub(r"_x005F_\1", text)).replace("\r", "&#13;")


def _escape(text: str) -> str:
    """XML text escaping (what xml.sax.saxutils.escape does, without its 20 ms import of urllib)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
