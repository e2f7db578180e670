"""Give the memory a finished read freed back to the system.

Reading a big report frees a lot at once (calamine's parsed sheet, per-column
lists), but glibc keeps freed heap pages for reuse by small objects, while the
save's one large buffer (the sheet XML, 139 MB at 500,000 rows) is mapped anew:
the two add up. Trimming after a big read (core.report.reader) returns those pages, so the save's
peak sits on what the rows really use (593 -> 521 MB at 500,000 rows).
"""

from __future__ import annotations

import ctypes


def release_freed_memory() -> bool:
    """``malloc_trim(0)`` where the C library has it (glibc); True when it ran. Costs a few ms."""
    try:
        trim = ctypes.CDLL(None).malloc_trim  # the C library the interpreter runs on
    except (OSError, AttributeError):  # musl, macOS: nothing to trim this way
        return False
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    trim(0)
    return True
