"""What the EDRN validator's CSV rows mean: the finding kind, the Details text, the frame.

``validate-dicom-files`` (PyPI ``jpl-labcas-validation``) writes one row per
finding; ``Findings`` names the kind and ``Details`` packs the tag, the value
and the reason into one comma-joined string whose shape depends on the kind,
the release and even on ``-c 1`` (single process) versus the default process
pool. This module turns that text back into fields, from the validator's own
source (``_classes.py``, ``_findings.py``, ``validators/``,
``phi_pii_recognizers/_simple_scoring.py``), checked against its real output.
Standard library only: the report reader and the TUI both use it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = [
    "KINDS", "COLUMNS_PER_EVENT", "COLUMNS_PER_SITE", "VALIDATED_TAGS", "PLACEHOLDERS",
    "Details", "kind_of", "parse_details", "file_frame", "sampled_frames", "csv_layout",
]

KINDS = ("pixels", "header", "missing", "warning", "error", "other")

# Unreleased snapshots before 1.0 write ``<site>-<event>.csv``; 1.0.0 and 1.0.1 write ``<site>.csv``.
COLUMNS_PER_EVENT = ("Site ID", "Event ID", "File Name", "Score", "Findings", "Details")
COLUMNS_PER_SITE = ("Site ID", "Event ID", "File Name", "Profile", "Score", "Findings", "Details")

# Values the validator writes in place of a value it did not find: never a detected value.
PLACEHOLDERS = frozenset({
    "tag missing", "value missing", "non-text",
    "imagetype tag value has null values", "imageorientationpatient tag value has null values",
})

# Every attribute the validator checks (validators/_core.py, _mr.py): some warning texts name
# the attribute by keyword only ("PixelSpacing tag is missing"), so this gives their tag.
VALIDATED_TAGS: dict[str, str] = {
    "AcquisitionDate": "(0008,0022)", "AcquisitionTime": "(0008,0032)", "BitsAllocated": "(0028,0100)",
    "BitsStored": "(0028,0101)", "Columns": "(0028,0011)", "ContentDate": "(0008,0023)",
    "ContentTime": "(0008,0033)", "FrameOfReferenceUID": "(0020,0052)", "HighBit": "(0028,0102)",
    "ImageOrientationPatient": "(0020,0037)", "ImagePositionPatient": "(0020,0032)",
    "ImageType": "(0008,0008)", "InstanceNumber": "(0020,0013)", "Manufacturer": "(0008,0070)",
    "ManufacturerModelName": "(0008,1090)", "Modality": "(0008,0060)",
    "PhotometricInterpretation": "(0028,0004)", "PixelRepresentation": "(0028,0103)",
    "PixelSpacing": "(0028,0030)", "RepetitionTime": "(0018,0080)", "Rows": "(0028,0010)",
    "SOPClassUID": "(0008,0016)", "SOPInstanceUID": "(0008,0018)", "SeriesDescription": "(0008,103E)",
    "SeriesInstanceUID": "(0020,000E)", "SeriesNumber": "(0020,0011)", "SliceThickness": "(0018,0050)",
    "SoftwareVersions": "(0018,1020)", "SpacingBetweenSlices": "(0018,0088)", "StudyDate": "(0008,0020)",
    "StudyInstanceUID": "(0020,000D)", "WindowCenter": "(0028,1050)", "WindowWidth": "(0028,1051)",
}
_KEYWORD_ALIASES = {"ModelName": "ManufacturerModelName"}  # ModelNameValidator's own wording

_TAG = r"\(\s*([0-9A-Fa-f]{4})\s*,\s*([0-9A-Fa-f]{4})\s*\)"
_LEADING_TAG = re.compile(rf"^\s*(?:{_TAG}\s*(?:\(\s*([A-Za-z0-9_]*)\s*\))?|unknown tag)\s*,\s*")
_PIXEL_TAIL = re.compile(r",?\s*Detected with pattern\s+(\S+)\s+at frame index\s+(-?\d+)\s*$", re.IGNORECASE)
# phi-review scan's phrase at the end of a pixel row's value: "[scan: file frames 6-7 of 8; why]" (1-based).
_SCAN_PHRASE = re.compile(r"\s*\[scan: file frames? (\d+)(?:-\d+)? of (\d+)[^\]]*\]\s*$")
_DETAIL_START = r"(?:Possible PHI/PII detection|Failed core tag validation|Warning)"
_VALUE_END = re.compile(rf"»\s*,\s*(?={_DETAIL_START})")
_SCORE = re.compile(r"\(score\s+(-?[0-9]*\.?[0-9]+)\)", re.IGNORECASE)
_TAG_WITH_KEYWORD = re.compile(rf"{_TAG}(?:\s*\(?\s*([A-Za-z][A-Za-z0-9]*)\b\)?)?")
_KEYWORD_PHRASES = (
    re.compile(r"\bValue for ([A-Za-z][A-Za-z0-9]*) matches\b"),
    re.compile(r"\bhigh-risk (?:sequence )?tag \"([A-Za-z][A-Za-z0-9]*)\""),
)
_REASON_PREFIXES = re.compile(
    r"^(?:Warning:\s*|Failed core tag validation:\s*|Value for tag does not match expected pattern:\s*)+")
_LEADING_KEYWORD = re.compile(r"^([A-Z][A-Za-z0-9]+)\b(?:\s+\"[^\"]*\")?\s+(?:tag|must|value|values|cannot)\b")


@dataclass(frozen=True, slots=True)
class Details:
    """One ``Details`` cell taken apart; ``value`` is "" and ``placeholder`` True when there is no value."""

    tags: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    value: str = ""
    placeholder: bool = False
    reason: str = ""
    score: float | None = None
    pattern: str = ""
    frame_index: int | None = None
    file_frame: int | None = None  # 0-based file frame a phi-review scan row names ("[scan: file frame 7 of 8; ...]")


def _fold(text: str) -> str:
    """Letters, digits, '/' and single spaces, lower case: emoji and variation selectors go."""
    return " ".join(re.sub(r"[^0-9a-z/]+", " ", text.lower()).split())


def kind_of(findings_text: str) -> str:
    """The finding kind of a ``Findings`` cell or a workbook issue label, emoji or not."""
    t = _fold(findings_text or "")
    if "burned" in t or "pixel" in t:
        return "pixels"
    if "header" in t:
        return "header"
    if "missing" in t or "required" in t:
        return "missing"
    if "warning" in t:
        return "warning"
    if "error" in t:
        return "error"
    return "other"


def _norm_tag(group: str, element: str) -> str:
    return f"({group.upper()},{element.upper()})"


def _unwrap(value: str) -> str:
    """Drop «» pairs: ``-c 1`` warnings print the value twice wrapped (``««ct»»``)."""
    value = value.strip()
    while len(value) >= 2 and value.startswith("«") and value.endswith("»"):
        value = value[1:-1].strip()
    return value


def _guess_kind(text: str) -> str:
    if _PIXEL_TAIL.search(text):
        return "pixels"
    if "Possible PHI/PII detection" in text:
        return "header"
    if "Failed core tag validation" in text:
        return "missing"
    if "unexpectedly small" in text or "Unexpected exception" in text:
        return "error"
    if text.lstrip().startswith(("(", "«", "tag missing", "value missing")) or "Warning:" in text:
        return "warning"
    return "other"


def _add(seq: list[str], item: str) -> None:
    if item and item not in seq:
        seq.append(item)


def parse_details(details: str, kind: str | None = None, profile: str | None = None) -> Details:
    """Split a ``Details`` cell into tag(s), keyword(s), value, reason, score, OCR pattern and frame index.

    ``kind`` is ``kind_of(Findings)`` (guessed from the text when None).
    ``profile`` (the 1.0.x ``Profile`` column) settles one ambiguity: a missing
    ImageType is reported as "ImageOrientationPatient tag is missing", and in
    the default mode's warnings no tag tells them apart; for secondary capture
    and segmentation objects, where ImageOrientationPatient is not checked,
    that text means ImageType.
    """
    text = (details or "").replace("\r\n", "\n").strip()
    kind = kind or _guess_kind(text)
    tags: list[str] = []
    keywords: list[str] = []
    value, reason, pattern, frame_index, quoted = "", "", "", None, False
    scan_frame: int | None = None

    pixel = _PIXEL_TAIL.search(text) if kind in ("pixels", "other") else None
    lead = _LEADING_TAG.match(text) if pixel is None else None
    if pixel is not None:
        # "<OCR excerpt>, Detected with pattern NAME at frame index k"
        value, pattern, frame_index = text[:pixel.start()].strip(), pixel.group(1), int(pixel.group(2))
        scan = _SCAN_PHRASE.search(value)
        if scan is not None:
            value, scan_frame = value[:scan.start()].strip(), max(0, int(scan.group(1)) - 1)
        reason = text[pixel.start():].lstrip(", ").strip()
        kind = "pixels"
    elif lead is not None:
        # "(gggg,eeee) (Keyword), «value», reason" (header, missing; warnings with -c 1)
        if lead.group(1):
            _add(tags, _norm_tag(lead.group(1), lead.group(2)))
            _add(keywords, lead.group(3) or "")
        rest = text[lead.end():]
        end = _VALUE_END.search(rest) if rest.startswith("«") else None
        if end is not None:
            value, reason, quoted = rest[:end.start() + 1], rest[end.end():], True
        elif rest.startswith("«") and "»" in rest:
            cut = rest.rindex("»") + 1
            value, reason, quoted = rest[:cut], rest[cut:].lstrip(", "), True
        else:
            value, _, reason = rest.partition(", ")
    elif kind == "error":
        # "<what failed>, <error message>"
        value, _, reason = text.partition(", ")
    else:
        # Default-mode warnings: "<value>, <description>"; case warnings quote the value: "«ct», (0008,0060) ..."
        if text.startswith("«") and "»" in text:
            cut = text.index("»") + 1
            value, reason, quoted = text[:cut], text[cut:].lstrip(", "), True
        else:
            split = re.search(r",\s+(?=[A-Z(])", text)
            if split is None:
                value, reason = "", text
            else:
                value, reason = text[:split.start()], text[split.end():]
    value = _unwrap(value) if (quoted or kind != "pixels") else value.strip()
    reason = reason.strip()
    placeholder = value.lower() in PLACEHOLDERS or value == ""
    if kind in ("pixels", "error") and value:
        placeholder = False

    if kind != "pixels":
        # Tags named in the reason: "(0020,0052) FrameOfReferenceUID", "Tag (0008,0070) (Manufacturer)".
        for m in _TAG_WITH_KEYWORD.finditer(reason):
            _add(tags, _norm_tag(m.group(1), m.group(2)))
            if m.group(3) and (m.group(3) in VALIDATED_TAGS or m.group(3)[0].isupper()) and m.group(3) != "Value":
                _add(keywords, m.group(3))
        for rx in _KEYWORD_PHRASES:
            for m in rx.finditer(reason):
                _add(keywords, m.group(1))
        if not tags:
            # Keyword only: "PixelSpacing tag is missing", "StudyDate must be a valid date ..."
            m = _LEADING_KEYWORD.match(_REASON_PREFIXES.sub("", reason))
            if m:
                word = _KEYWORD_ALIASES.get(m.group(1), m.group(1))
                if (word == "ImageOrientationPatient" and profile
                        and profile.strip().lower().startswith(("secondary capture", "segmentation"))):
                    word = "ImageType"
                _add(keywords, word)
                if word in VALIDATED_TAGS:
                    _add(tags, VALIDATED_TAGS[word])

    score_match = _SCORE.search(reason) if kind in ("header", "other") else None
    return Details(
        tags=tuple(tags), keywords=tuple(keywords), value="" if placeholder else value,
        placeholder=placeholder, reason=reason,
        score=float(score_match.group(1)) if score_match else None,
        pattern=pattern, frame_index=frame_index, file_frame=scan_frame,
    )


def sampled_frames(number_of_frames: int, max_frames: int = 4) -> tuple[int, ...]:
    """The 0-based file frames the validator OCRs (``_simple_scoring.py`` ``_extract_frames``).

    More than 8 frames: every ``n // 4``-th frame, the first four of them.
    8 or fewer: the first four frames only, so frames 4..7 are never read.
    (Multi-frame colour gives a 4-D array the validator cannot turn into an
    image: nothing is read; single-frame colour is read whole as index 0.)
    """
    n = max(1, int(number_of_frames))
    if n > 8 and n >= max_frames:
        step = max(1, n // max_frames)
        return tuple(range(0, n, step))[:max_frames]
    return tuple(range(min(max_frames, n)))


def file_frame(frame_index: int | None, number_of_frames: int) -> int:
    """The 0-based file frame a pixel row's ``frame index k`` names.

    k counts within ``sampled_frames``. The default (process-pool) mode prints
    ``index or -1``, so k = 0 comes out as -1: -1 means frame 0. None (no frame
    in the row) also gives frame 0. Out-of-range k is clamped, never raised.
    """
    n = max(1, int(number_of_frames))
    if frame_index is None or frame_index < 0:
        return 0
    frames = sampled_frames(n)
    if frame_index < len(frames):
        return frames[frame_index]
    step = n // 4 if n > 8 else 1
    return min(n - 1, frame_index * step)


def csv_layout(header: list[str] | tuple[str, ...]) -> str:
    """"per-site" (1.0.x, with Profile), "per-event" (pre-1.0), or "unknown", from a CSV's first row."""
    cells = tuple(c.strip().lstrip("\ufeff") for c in header)
    if cells == COLUMNS_PER_SITE:
        return "per-site"
    if cells == COLUMNS_PER_EVENT:
        return "per-event"
    return "unknown"
