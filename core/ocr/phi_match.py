"""Decide whether a line of burned-in text is likely the patient's own information.

OCR reads ``DOE^JANE`` as ``DOE~JANE``, ``DOB`` as ``D0B`` and runs words
together, and dates come in many spellings, so both sides are normalized
(case, spaces, punctuation, the O/0 and I/l/1 confusions) and compared
fuzzily: a term matches when some stretch of the line is at least
``THRESHOLD`` similar to it. Names match in any component order (each
component is a term of its own); dates match in the formats scanners burn in.

A line that matches nothing but has the shape of a full calendar date is also
marked: under HIPAA Safe Harbor every date more precise than the year is PHI,
whether or not it is this study's date.
"""

from __future__ import annotations

import datetime as _dt
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from difflib import SequenceMatcher

_NON_ALNUM = re.compile(r"[^0-9a-z]+")
_FOLD = str.maketrans("01i", "oll")  # OCR confuses O/0 and I/l/1: compare on one symbol each
THRESHOLD = 0.8
FIELDS = ("PatientName", "PatientID", "PatientBirthDate", "StudyDate", "AccessionNumber", "InstitutionName")
DATE_FIELDS = ("PatientBirthDate", "StudyDate")
_DATE_FORMATS = (
    "%Y%m%d", "%Y-%m-%d", "%Y/%m/%d", "%m/%d/%Y", "%d/%m/%Y", "%d.%m.%Y", "%m-%d-%Y", "%d-%m-%Y",
    "%d-%b-%Y", "%d %b %Y", "%b %d %Y", "%d%b%Y", "%m/%d/%y", "%d/%m/%y", "%d.%m.%y",
)
_MONTHS = "jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec"
_DATE_SHAPES = (
    re.compile(r"(?<!\d)(19|20)\d\d[-/.](0?[1-9]|1[0-2])[-/.](0?[1-9]|[12]\d|3[01])(?!\d)"),
    re.compile(r"(?<!\d)(0?[1-9]|[12]\d|3[01])[-/.](0?[1-9]|[12]\d|3[01])[-/.]((19|20)?\d\d)(?!\d)"),
    re.compile(rf"(?<![a-z0-9])\d{{1,2}}[- ]?({_MONTHS})[a-z]*[- ,]*(19|20)?\d\d(?!\d)", re.IGNORECASE),
    re.compile(rf"(?<![a-z])({_MONTHS})[a-z]*[ .-]?\d{{1,2}},? (19|20)\d\d(?!\d)", re.IGNORECASE),
)


def norm(text: str) -> str:
    """Lower case, letters and digits only: ``Doe, Jane`` and ``DOE^JANE`` both become ``doejane``."""
    return _NON_ALNUM.sub("", text.lower())


def fold(text: str) -> str:
    """``norm`` with OCR's look-alikes folded to one symbol: 0 and o; 1, i and l."""
    return norm(text).translate(_FOLD)


@dataclass(frozen=True)
class PhiTerm:
    """One spelling of a PHI value: folded for matching, normalized for showing, and its field."""

    text: str
    field: str
    spelling: str = ""


def _date_spellings(value: str) -> list[str]:
    digits = re.sub(r"\D", "", value)
    try:
        date = _dt.date(int(digits[:4]), int(digits[4:6]), int(digits[6:8]))
    except (ValueError, IndexError):
        return []
    return [date.strftime(f) for f in _DATE_FORMATS]


def phi_terms(values: Mapping[str, str], detected_value: str = "") -> list[PhiTerm]:
    """All spellings worth looking for: the report's detected value and the file's own identifying values.

    Terms shorter than 3 characters are dropped: they would match half the
    annotations on any frame.
    """
    terms: list[PhiTerm] = []

    def add(text: str, field: str) -> None:
        key = fold(text)
        if len(key) >= 3 and all(t.text != key for t in terms):
            terms.append(PhiTerm(key, field, norm(text)))

    detected = detected_value.strip()
    if detected:
        add(detected, "detected value")
        for part in re.split(r"[\^=,]", detected):
            add(part, "detected value")
        if re.fullmatch(r"\d{8}", norm(detected)):
            for spelling in _date_spellings(detected):
                add(spelling, "detected value")
    for field in FIELDS:
        value = str(values.get(field) or "").strip()
        if not value:
            continue
        if field == "PatientName":
            parts = [p for p in re.split(r"[\^=]", value) if norm(p)]
            add(value, field)
            if len(parts) >= 2:
                add(" ".join(reversed(parts[:2])), field)
            for part in parts:
                add(part, field)
        elif field in DATE_FIELDS:
            for spelling in _date_spellings(value):
                add(spelling, field)
        else:
            add(value, field)
    return terms


def phi_candidates(dataset_values: Mapping[str, str], detected_value: str = "") -> list[str]:
    """The spellings a line is compared with, normalized (``doejane``, ``20240131``, ``31jan2024``)."""
    return [term.spelling for term in phi_terms(dataset_values, detected_value)]


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
    matcher = SequenceMatcher(None)
    matcher.set_seq2(needle)  # SequenceMatcher indexes seq2 once; only seq1 changes below
    for start in range(0, len(hay) - n + 1):
        matcher.set_seq1(hay[start : start + n])
        ratio = matcher.ratio()
        if ratio > best:
            best = ratio
            if best >= 0.99:
                break
    return best


def match_line(text: str, terms: Iterable[PhiTerm]) -> PhiTerm | None:
    """The first term the line contains (fuzzily), or None."""
    hay = fold(text)
    if len(hay) < 3:
        return None
    for term in terms:
        if _similar(term.text, hay) >= THRESHOLD:
            return term
    return None


def looks_like_date(text: str) -> bool:
    """A full calendar date (day and month, not a bare year) in a common burned-in spelling."""
    return any(shape.search(text) for shape in _DATE_SHAPES)


def phi_reason(text: str, terms: Iterable[PhiTerm]) -> str:
    """Why a line is likely PHI ("matches PatientName", "looks like a date"), or "" if it is not."""
    term = match_line(text, terms)
    if term is not None:
        return f"matches {term.field}"
    if looks_like_date(text):
        return "looks like a date"
    return ""
