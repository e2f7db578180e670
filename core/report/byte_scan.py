"""``bytes.find`` and ``bytes.count`` over a large sheet, in windows.

One C-level scan of a 139 MB sheet holds the GIL for over 100 ms, and the save
runs beside the screen in a thread: scans go in windows so the screen gets its turn.
"""

from __future__ import annotations

WINDOW = 1 << 22


def find(xml: bytes, sub: bytes, start: int = 0, end: int | None = None) -> int:
    """``xml.find(sub, start, end)`` in windows of at most 4 MB."""
    end = len(xml) if end is None else end
    pos = start
    while pos < end:
        stop = min(end, pos + WINDOW + len(sub) - 1)
        at = xml.find(sub, pos, stop)
        if at >= 0 or stop >= end:
            return at
        pos = stop - len(sub) + 1
    return -1


def count(xml: bytes, sub: bytes, start: int, end: int) -> int:
    """``xml.count(sub, start, end)`` in windows, for a ``sub`` that cannot overlap itself (a tag)."""
    total, pos = 0, start
    while pos < end:
        stop = min(end, pos + WINDOW)
        total += xml.count(sub, pos, min(end, stop + len(sub) - 1))
        pos = stop
    return total
