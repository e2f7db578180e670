"""Header findings: every value that names or dates a person, an institution or a device, with a score.

Two ways in, as a reviewer would look: the attribute itself says so (the
PS3.15 list in ``dicom/identifying_tags.py``: the patient, other people,
places and devices, dates and orders; free text only when it holds
something), and patterns in any text value (names in PN values, dates,
phone numbers, e-mail, SSN, MRN-like IDs, or one of the file's own
identifiers found in another tag, a private one included). Every header PHI
row ``validate-dicom-files`` 1.0.1 writes is also one of ours (same file and
tag; ``tests/test_scan_agree_validator.py`` compares them row by row): it
judges each value of a multi-valued element on its own, and flags the
Modified Attributes Sequence as a whole when it holds text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from phi_review.core.common.inert import shorten
from phi_review.core.dicom.header import VALUE_LIMIT, HeaderResult, HeaderRow
from phi_review.core.dicom.identifying_tags import FREE_TEXT, rank
from phi_review.core.ocr.phi_match import PhiTerm, fold, looks_like_date, phi_terms

_TEXT_VRS = frozenset({"AE", "AS", "CS", "DA", "DT", "LO", "LT", "PN", "SH", "ST", "TM", "UC", "UT"})
_RANK_SCORE = (1.0, 0.95, 0.9, 0.85, 0.8)
_RANK_WHY = ("names or dates the patient", "names a person", "names an institution, place or device",
             "dates the study or orders it", "free text")
PATTERNS: tuple[tuple[str, re.Pattern[str], float], ...] = (
    ("e-mail", re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+"), 0.95),
    ("SSN", re.compile(r"(?<!\d)\d{3}-\d{2}-\d{4}(?!\d)"), 0.95),
    ("phone", re.compile(r"(?<!\d)(?:\+?1[ .-]?)?\(?\d{3}\)?[ .-]\d{3}[ .-]\d{4}(?!\d)"), 0.9),
    ("MRN-like ID", re.compile(r"\b(?:MRN|MR#|MR\s*No|Med\.?\s*Rec)\W*[A-Z0-9-]{4,}", re.IGNORECASE), 0.9),
)
# Sequences that keep a file's values from before they were changed (PS3.3 C.12.1.1.9): the validator
# flags (0400,0550) itself when it holds any text, as one row for the sequence; so do we, for both.
HISTORY = frozenset({"ModifiedAttributesSequence", "OriginalAttributesSequence"})
HISTORY_WHY = "keeps values the file held before they were changed"
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


@dataclass(frozen=True)
class HeaderHit:
    tag: int
    value: str
    score: float
    why: str


def cell_text(text: str) -> str:
    """A value fit for one CSV cell: line breaks and tabs as spaces, other control characters as U+FFFD."""
    return _CONTROL.sub("\ufffd", re.sub(r"[\r\n\t]+", " ", text))


def _tag_number(row: HeaderRow) -> int | None:
    found = re.fullmatch(r"\(([0-9A-Fa-f]{4}),([0-9A-Fa-f]{4})\)", row.tag)
    return int(found.group(1) + found.group(2), 16) if found else None


def _anonymized(value: str) -> bool:
    """Values the validator itself skips as already anonymized."""
    low = value.strip().lower()
    return low.startswith("anon") or bool(re.match(r"^(doe|john)[\s^]+(john|doe)$", low.rstrip("^ ")))


def _kept(row: HeaderRow) -> str | None:
    """The row's values that are not anonymized (None when none is left).

    Per value, as the validator judges each value of a multi-valued element: ``ANON\\ROE^RICHARD`` keeps
    ``ROE^RICHARD``."""
    values = row.full_value.split("\\")
    kept = [v for v in values if v.strip() and not _anonymized(v)]
    if not kept:
        return None
    return row.value if len(kept) == len(values) else shorten("\\".join(kept), VALUE_LIMIT)


def _history(rows: list[HeaderRow], start: int) -> str | None:
    """The text values nested under the sequence row ``rows[start]`` that are not anonymized, joined."""
    depth, found = rows[start].depth, []
    for row in rows[start + 1:]:
        if row.depth <= depth:
            break
        if row.vr in _TEXT_VRS and row.full_value.strip() and not _anonymized(row.full_value):
            found.append(row.full_value)
    return shorten(" | ".join(found), VALUE_LIMIT) if found else None


def _pattern(value: str, vr: str, terms: list[PhiTerm], own_field: str) -> tuple[float, str] | None:
    for name, rx, score in PATTERNS:
        if rx.search(value):
            return score, f"pattern {name}"
    if terms:
        hay = fold(value)
        for term in terms:  # exact after folding, five characters or more: fuzzy matching is for OCR
            if len(term.text) >= 5 and term.field != own_field and term.text in hay:
                return 1.0, f"holds the file's {term.field}"
    if vr == "PN" and re.search(r"[A-Za-z]{2}", value):
        return 0.9, "pattern person name"
    if vr not in ("DA", "DT", "TM") and looks_like_date(value):
        return 0.8, "pattern date"
    return None


def header_hits(header: HeaderResult) -> list[HeaderHit]:
    """One hit per element that names or dates someone, in header order (nested elements included)."""
    terms = phi_terms(header.values)
    hits: list[HeaderHit] = []
    for n, row in enumerate(header.rows):
        if row.vr == "SQ" and row.keyword in HISTORY and not row.is_meta and (tag := _tag_number(row)) is not None:
            if (held := _history(header.rows, n)) is not None:
                hits.append(HeaderHit(tag, cell_text(held), 0.95, f"{row.keyword} {HISTORY_WHY}"))
            continue
        if row.is_meta or row.missing or row.vr not in _TEXT_VRS or not row.full_value.strip():
            continue
        tag = _tag_number(row)
        kept = _kept(row)
        if tag is None or kept is None:
            continue
        value = cell_text(kept)
        keyword = row.keyword.strip("[]")
        if row.identifying and keyword not in FREE_TEXT:
            r = rank(keyword)
            found = _pattern(row.full_value, row.vr, terms, keyword)
            score = max(_RANK_SCORE[r], found[0]) if found else _RANK_SCORE[r]
            why = f"{keyword} {_RANK_WHY[r]}" + (f"; {found[1]}" if found else "")
            hits.append(HeaderHit(tag, value, score, why))
            continue
        if row.vr in ("CS", "AE", "AS", "TM") and not row.private_creator:
            continue  # codes, ages and times of day name no one; private values are read whatever their VR
        found = _pattern(row.full_value, row.vr, terms, keyword)
        if found is not None:
            hits.append(HeaderHit(tag, value, found[0], f"{found[1]} in {keyword or 'private tag'}"))
    return hits
