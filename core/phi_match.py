"""Decide whether a line of burned-in text is likely the patient's own information.

OCR reads ``DOE^JANE`` as ``DOE~JANE`` and dates come in many spellings, so
both sides are normalized (case, spaces, punctuation) and compared fuzzily.
Names match in any component order; dates match in the formats scanners burn in.
"""

from __future__ import annotations

import datetime as _dt
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from difflib import SequenceMatcher

_NON_ALNUM = re.compile(r"[^0-9a-z]+")
THRESHOLD = 0.8
FIELDS = ("PatientName", "PatientID", "PatientBirthDate", "StudyDate", "AccessionNumber", "InstitutionName")


def norm(text: str) -> str:
    return _NON_ALNUM.sub("", text.lower())


@dataclass(frozen=True)
class PhiTerm:
    """One normalized spelling of a PHI value, and the field it came from."""

    text: str
    field: str


def _date_spellings(value: str) -> list[str]:
    digits = re.sub(r"\D", "", value)
    try:
        date = _dt.date(int(digits[:4]), int(digits[4:6]), int(digits[6:8]))
    except (ValueError, IndexError):
        return []
    formats = ("%Y%m%d", "%Y-%m-%d", "%m/%d/%Y", "%d/%m/%Y", "%d.%m.%Y", "%d-%b-%Y", "%m/%d/%y", "%d %b %Y")
    return [date.strftime(f) for f in formats]


def phi_terms(values: Mapping[str, str], detected_value: str = "") -> list[PhiTerm]:
    """All spellings worth looking for: the detected value and the file's own identifying values."""
    terms: list[PhiTerm] = []

    def add(text: str, field: str) -> None:
        key = norm(text)
        if len(key) >= 3 and all(t.text != key for t in terms):
            terms.append(PhiTerm(key, field))

    if detected_value.strip():
        add(detected_value, "detected value")
        if "^" in detected_value:
            for part in detected_value.split("^"):
                if len(norm(part)) >= 3:
                    add(part, "detected value")
    for field in FIELDS:
        value = (values.get(field) or "").strip()
        if not value:
            continue
        if field == "PatientName":
            parts = [p for p in re.split(r"[\^=]", value) if len(norm(p)) >= 2]
            add(value, field)
            if len(parts) >= 2:
                add(" ".join(reversed(parts[:2])), field)
            for part in parts:
                if len(norm(part)) >= 3:
                    add(part, field)
        elif field in ("PatientBirthDate", "StudyDate"):
            for spelling in _date_spellings(value):
                add(spelling, field)
        else:
            add(value, field)
    return terms


def _similar(needle: str, hay: str) -> float:
    """Best similarity of ``needle`` to any equally long stretch of ``hay``."""
    if not needle or not hay:
        return 0.0
    if needle in hay:
        return 1.0
    n = len(needle)
    if len(hay) <= n:
        return SequenceMatcher(None, needle, hay).ratio()
    best = 0.0
    for start in range(0, len(hay) - n + 1):
        ratio = SequenceMatcher(None, needle, hay[start : start + n]).ratio()
        if ratio > best:
            best = ratio
            if best >= 0.99:
                break
    return best


def match_line(text: str, terms: Iterable[PhiTerm]) -> PhiTerm | None:
    """The first term the line contains (fuzzily), or None."""
    hay = norm(text)
    if len(hay) < 3:
        return None
    for term in terms:
        if _similar(term.text, hay) >= THRESHOLD:
            return term
    return None
