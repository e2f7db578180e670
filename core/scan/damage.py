"""A file whose image the header cannot describe, though it holds pixel data: its pixels went unread.

``dicom.pixels`` says "no pixel data in this file" when Rows or Columns is
missing and "no image to show" when one of them is 0, before looking for the
Pixel Data element (a header-only file is not an image). For the scan the
difference matters: a file that holds pixel data which nothing can read is
damaged, and its pixels are unchecked, so it is one Error row (the validator
also writes an Error row for it, from ``pixel_array``), not a silent pass.
"""

from __future__ import annotations

from pathlib import Path

from phi_review.core.dicom.reading import PIXEL_TAGS, UNDEFINED, read_dicom


def unread_pixels(path: str, why: str) -> str | None:
    """The Error row's reason when ``path`` holds pixel data the header cannot describe; None when it holds none."""
    try:
        result = read_dicom(Path(path))
    except Exception:  # noqa: BLE001 - unreadable here means the header read already said so
        return None
    located = result.pixels is not None and (result.pixels.length > 0 or result.pixels.length == UNDEFINED)
    if not located and not any(tag in result.dataset for tag in PIXEL_TAGS):
        return None
    if "no pixel data" in why:
        why = "Rows or Columns missing"
    return f"it holds pixel data that cannot be read ({why.removeprefix('no image to show: ')})"
