"""Header values that tell same-named files apart: the row's own value, and what a chooser shows.

Only files the index returned are read (they lie under the roots), header only,
and only the few attributes asked for. Values are returned raw: callers show
them through ``inert`` and never log them.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

# What a reviewer compares to tell two patients' or studies' files apart.
IDENTIFYING = ("PatientName", "PatientID", "StudyDate", "AccessionNumber")
_TAG = re.compile(r"\(?\s*([0-9A-Fa-f]{4})\s*,\s*([0-9A-Fa-f]{4})\s*\)?")


def _tag_number(tag: str) -> int | None:
    match = _TAG.fullmatch(tag.strip())
    return int(match.group(1) + match.group(2), 16) if match else None


def _keyword(number: int) -> str:
    from pydicom.datadict import keyword_for_tag

    return keyword_for_tag(number) or f"({number >> 16:04X},{number & 0xFFFF:04X})"


def _read(path: Path, numbers: Sequence[int] | None) -> Any:
    """The header (only ``numbers`` when given), or None when the file cannot be read."""
    import warnings

    import pydicom

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return pydicom.dcmread(path, stop_before_pixels=True,
                                   specific_tags=list(numbers) if numbers is not None else None)
    except Exception:  # noqa: BLE001 - an unreadable candidate simply holds no value
        return None


def _text(element: Any) -> str | None:
    """An element's value as the validator prints it; None for bytes, sequences and the like."""
    from pydicom.multival import MultiValue

    value = element.value
    if value is None:
        return ""
    if isinstance(value, (bytes, bytearray)) or element.VR == "SQ":
        return None
    if isinstance(value, MultiValue):
        return "\\".join(str(v) for v in value)
    return str(value)


def _fold(text: str) -> str:
    return " ".join(text.strip().strip("«»").split()).casefold()


def holding_value(paths: Sequence[Path], tags: Sequence[str], value: str) -> tuple[list[Path], str]:
    """Which files hold ``value`` in one of ``tags`` (any top-level text attribute when no tag is named).

    Returns the files and the attribute keyword that held it (for the row's
    message: the keyword is said, the value is not).
    """
    wanted = _fold(value)
    numbers = [n for n in (_tag_number(t) for t in tags) if n is not None]
    holders: list[Path] = []
    keyword = ", ".join(_keyword(n) for n in numbers) or "header"
    for path in paths:
        dataset = _read(path, numbers or None)
        if dataset is None:
            continue
        elements = [dataset[n] for n in numbers if n in dataset] if numbers else list(dataset)
        for element in elements:
            text = _text(element)
            if text is not None and _fold(text) == wanted:
                holders.append(path)
                if not numbers:
                    keyword = element.keyword or keyword
                break
    return holders, keyword


def candidate_values(paths: Sequence[Path], tags: Sequence[str] = ()) -> dict[Path, list[tuple[str, str]]]:
    """For each file: (keyword, value) of the identifying attributes (and the row's tags) that differ between them.

    With one file, all of them: there is nothing to compare, and the reviewer
    still needs to see whose file it is. An attribute a file lacks shows as "(absent)".
    """
    from pydicom.datadict import tag_for_keyword

    numbers: list[int] = []
    for tag in tags:
        number = _tag_number(tag)
        if number is not None and number not in numbers:
            numbers.append(number)
    for keyword in IDENTIFYING:
        number = tag_for_keyword(keyword)
        if number is not None and number not in numbers:
            numbers.append(number)
    table: dict[Path, dict[int, str]] = {}
    for path in paths:
        dataset = _read(path, numbers)
        row: dict[int, str] = {}
        for number in numbers:
            if dataset is None:
                row[number] = "(unreadable)"
            elif number in dataset:
                text = _text(dataset[number])
                row[number] = "(not text)" if text is None else text
            else:
                row[number] = "(absent)"
        table[path] = row
    shown = [n for n in numbers if len(paths) == 1 or len({table[p][n] for p in paths}) > 1]
    return {path: [(_keyword(n), table[path][n]) for n in shown] for path in paths}
