"""What a report row points at: its kind, the tags, the detected value and the frame.

A row says it in up to four places: the issue label (``Findings`` /
``Validation Issue``), the validator's ``Details`` text, the ``Detected Value``
and the ``Tag`` columns. A tag parsed from Details beats matching the value
(the header pane lands on the tag), and the validator's placeholders
(``tag missing``, ``value missing``) are neither tag names nor a detected value.
The review pane and ``phi-review findings`` both call these functions, so the
screen and the scripts agree.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

from phi_review.core.report.model import Finding
from phi_review.core.report.validator import PLACEHOLDERS, Details, file_frame, kind_of, parse_details

if TYPE_CHECKING:
    from phi_review.core.dicom.locate import FileIndex, Resolution

_TAG_TEXT = re.compile(r"\(?\s*([0-9A-Fa-f]{4})\s*,\s*([0-9A-Fa-f]{4})\s*\)?")
_WORD = re.compile(r"[A-Za-z][A-Za-z0-9]+")


@dataclass(frozen=True, slots=True)
class Pointer:
    """Where one row lands: computed once per row, on first use (``pointer_of``)."""

    kind: str  # pixels, header, missing, warning, error or other
    tags: tuple[str, ...]  # "(gggg,eeee)", Details first, then the Tag column
    value: str  # the detected value; "" when the row has none (placeholders)
    placeholder: bool  # the value cell held a placeholder such as "tag missing"
    frame_index: int | None  # the validator's "frame index k" (within the frames it sampled)
    parsed: bool  # the row had a Details text
    file_frame: int | None = None  # the 0-based file frame a phi-review scan row names (beats frame_index)


@lru_cache(maxsize=4096)
def _keyword_tag(word: str) -> str | None:
    """``PatientName`` -> ``(0010,0010)``; None for a word that is no DICOM keyword."""
    from pydicom.datadict import tag_for_keyword

    number = tag_for_keyword(word)
    if number is None:
        return None
    return f"({number >> 16:04X},{number & 0xFFFF:04X})"


def tag_text(text: str) -> str | None:
    """A tag as ``(gggg,eeee)`` from ``(0010,0010)``, ``0010,0010`` or a keyword; None otherwise."""
    text = text.strip()
    match = _TAG_TEXT.fullmatch(text)
    if match:
        return f"({match.group(1).upper()},{match.group(2).upper()})"
    return _keyword_tag(text.replace(" ", "")) if _WORD.fullmatch(text.replace(" ", "")) else None


def is_placeholder(value: str) -> bool:
    """The validator's stand-ins for "no value" (``tag missing``, ``value missing``...)."""
    return value.strip().strip("«»").strip().lower() in PLACEHOLDERS


def missing_tag_names(value: str) -> list[str]:
    """Tags named by a 'Missing Required Tags' value ("PatientID, StudyDate", "(0020,0052) FrameOfReferenceUID").

    A placeholder is no tag name; tags in ``(gggg,eeee)`` form are kept whole; a
    keyword is kept only when it follows a tag it names, or stands alone.
    """
    if not value.strip() or is_placeholder(value):
        return []
    names: list[str] = []
    seen: set[str] = set()
    rest = value
    for match in _TAG_TEXT.finditer(value):
        tag = f"({match.group(1).upper()},{match.group(2).upper()})"
        if tag not in seen:
            seen.add(tag)
            names.append(tag)
    rest = _TAG_TEXT.sub(" ", value)
    for word in _WORD.findall(rest):
        tag = _keyword_tag(word)
        if tag is not None and tag not in seen:
            seen.add(tag)
            names.append(word)
    return names


def pointer_of(finding: Finding) -> Pointer:
    """The row's Pointer, parsed once and kept on the finding."""
    cached = finding.pointer
    if isinstance(cached, Pointer):
        return cached
    pointer = _compute(finding)
    finding.pointer = pointer
    return pointer


def _compute(finding: Finding) -> Pointer:
    return _pointer(finding.issue, finding.details, finding.value, finding.tag, finding.profile)


@lru_cache(maxsize=1 << 16)
def _kind(issue: str) -> str:
    return kind_of(issue) if issue.strip() else "other"


@lru_cache(maxsize=1 << 16)
def _pointer(issue: str, details_text: str, value: str, tag: str, profile: str) -> Pointer:
    """One Pointer per distinct row text: rows that say the same thing (a tag missing in 5,000 files) share it."""
    kind = _kind(issue)
    tags: list[str] = []
    value = value.strip()
    frame_index: int | None = None
    scan_frame: int | None = None
    placeholder = is_placeholder(value) if value else False
    parsed = bool(details_text.strip())
    if parsed:
        details = (_fast_header(details_text) if kind == "header" else None) or parse_details(
            details_text, None if kind == "other" else kind, profile or None)
        if kind == "other" and details.frame_index is not None:
            kind = "pixels"
        tags.extend(details.tags)
        for keyword in details.keywords:
            named = _keyword_tag(keyword)
            if named is not None and named not in tags and not details.tags:
                tags.append(named)
        if not value or placeholder:
            value, placeholder = details.value, details.placeholder or placeholder
        frame_index, scan_frame = details.frame_index, details.file_frame
    if tag.strip():
        for name in re.split(r"[;|]", tag) if not _TAG_TEXT.fullmatch(tag.strip()) else [tag]:
            found = tag_text(name)
            if found is not None and found not in tags:
                tags.append(found)
    if placeholder:
        value = ""
    return Pointer(kind, tuple(tags), value, placeholder, frame_index, parsed, scan_frame)


# The validator's commonest row, "(gggg,eeee) (Keyword), «value», Possible PHI/PII detection ...",
# read with one regex: 500k rows are grouped in seconds, not tens of seconds. Anything else
# (a tag in the reason, «» inside the value) goes through parse_details; a test holds both equal.
_HEADER_ROW = re.compile(
    r"\(([0-9A-Fa-f]{4}),([0-9A-Fa-f]{4})\) \(([A-Za-z0-9_]+)\), «([^«»]*)», (Possible PHI/PII detection.*)", re.DOTALL)
_TAG_IN_REASON = re.compile(r"\(\s*[0-9A-Fa-f]{4}\s*,\s*[0-9A-Fa-f]{4}\s*\)")


def _fast_header(text: str) -> Details | None:
    """parse_details' answer for the plain header row (tags, value, placeholder), or None to ask it."""
    match = _HEADER_ROW.fullmatch(text)
    if match is None or _TAG_IN_REASON.search(match.group(5)):
        return None
    value = match.group(4).strip()
    placeholder = value == "" or value.lower() in PLACEHOLDERS
    tag = f"({match.group(1).upper()},{match.group(2).upper()})"
    return Details(tags=(tag,), keywords=(match.group(3),), value="" if placeholder else value,
                   placeholder=placeholder, reason=match.group(5))


def match_tags(finding: Finding) -> list[str]:
    """Tags the header pane marks and opens on."""
    return list(pointer_of(finding).tags)


def match_values(finding: Finding) -> list[str]:
    """Values the header pane marks: none when a tag is known (the tag beats the value) or for missing tags."""
    pointer = pointer_of(finding)
    if pointer.tags or not pointer.value or pointer.kind == "missing":
        return []
    if pointer.kind not in ("header", "pixels", "other"):
        return []
    return [pointer.value]


def required_missing(finding: Finding) -> list[str]:
    """Tags to show as MISSING when the file lacks them (read_header adds a row only for an absent tag)."""
    pointer = pointer_of(finding)
    if pointer.kind not in ("missing", "warning"):
        return []
    if pointer.tags:
        return list(pointer.tags)
    if pointer.kind == "missing" and not pointer.parsed:
        return missing_tag_names(finding.value)
    return []


def first_frame(finding: Finding, number_of_frames: int) -> int:
    """The 0-based frame of the file a reviewer is shown first: the pixel row's own frame, else 0.

    The validator's ``frame index k`` counts within the frames it OCRed
    (``validator.file_frame`` maps it); ``-1`` is its way of printing 0.
    """
    pointer = pointer_of(finding)
    if pointer.kind != "pixels" or pointer.frame_index is None:
        return 0
    if pointer.file_frame is not None:
        return min(pointer.file_frame, max(1, number_of_frames) - 1)
    return file_frame(pointer.frame_index, max(1, number_of_frames))


def group_value(finding: Finding) -> str:
    """The value a group of rows shares: never a placeholder (those rows group by tag instead)."""
    pointer = pointer_of(finding)
    if pointer.value:
        return pointer.value
    return ", ".join(pointer.tags)


def resolve_row(index: "FileIndex", finding: Finding) -> "Resolution":
    """The row's own file, from everything the row says: name, folders, Site ID, Event ID, and for a header
    row its detected value in its tag (which picks among files that all fit). The screen and every command
    that takes a report and roots call this, so they agree on which file a row is."""
    pointer = pointer_of(finding)
    value = pointer.value if pointer.kind == "header" else ""
    return index.resolve(finding.file, finding.site, finding.event, value=value, tags=pointer.tags)
