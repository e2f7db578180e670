"""The validator 1.0.1 CSV row, as ``validate-dicom-files`` writes it, and our one addition to it.

Columns ``Site ID,Event ID,File Name,Profile,Score,Findings,Details``; the
Findings words and emoji and the Details shapes come from the validator's
``_findings.py`` / ``_classes.py`` (default process-pool mode):

- header: ``(gggg,eeee) (Keyword), «value», Possible PHI/PII detection (score 0.90): why``
- pixels: ``<words>, Detected with pattern NAME at frame index K`` (K = -1 for 0, as the pool mode prints)
- error:  ``FAIL! what, why``

What the validator's syntax cannot say (which frames of the file, why the
file was read) goes in one bracketed phrase at the end of a pixel row's
value, before ``, Detected with pattern``::

    DOE JANE 1962 [scan: file frames 6-7 of 8; all frames read], Detected with pattern ocr:identifier at frame index 5

Frames in the phrase count from 1, as a reviewer reads them. The summarizer
reduces every pixel row to one issue whatever its Details say; phi-review's
report parser reads the phrase and opens the first frame of the range. K is
chosen so that a reader that does not know the phrase still maps it to the
right file frame where the validator's own numbering can (every frame of a
file of 8 frames or fewer; multiples of n//4 beyond that).
"""

from __future__ import annotations

import re

from pydicom.datadict import keyword_for_tag

COLUMNS = ("Site ID", "Event ID", "File Name", "Profile", "Score", "Findings", "Details")
HEADER = "\U0001f648 Possible PHI/PII in Header"
PIXELS = "\U0001f5bc\ufe0f Possible Burned-in PHI/PII (Pixels)"
ERROR = "\u274c Error"
# The validator sorts a file's rows by its finding class name: ErrorFinding, HeaderFinding, ImageFinding.
KIND_ORDER = {ERROR: 0, HEADER: 1, PIXELS: 2}
IMAGE_SCORE = 0.8  # the validator's fixed score for pixel findings

_SPECIAL = {"localizer", "scout", "survey", "surview", "top", "topogram", "scanogram"}
_DERIVED = {"derived", "reformatted", "mpr", "mip", "minip", "average", "subtracted", "projection"}
_NOT_WORD = re.compile(r"[^A-Za-z0-9_.:-]+")


def profile_name(sop_class: str, image_type: list[str]) -> str:
    """The Profile cell, by ``PotentialFile._determine_profile_name``'s rules."""
    kinds = {t.strip().lower() for t in image_type if t.strip()}
    for prefix, name in (("1.2.840.10008.5.1.4.1.1.2", "CT"), ("1.2.840.10008.5.1.4.1.1.4", "MR")):
        if sop_class.startswith(prefix):
            if kinds & _SPECIAL:
                return f"{name} localizer"
            if kinds & _DERIVED:
                return f"{name} derived or post-processed"
            return "Missing ImageType" if not kinds else f"{name} standard"
    if sop_class.startswith("1.2.840.10008.5.1.4.1.1.128"):
        return "PET standard"
    if sop_class.startswith("1.2.840.10008.5.1.4.1.1.7"):
        return "Secondary capture"
    if sop_class.startswith("1.2.840.10008.5.1.4.1.1.66.4"):
        return "Segmentation objects"
    return "Generic"


def tag_cell(tag: int) -> str:
    """``(0010,0010) (PatientName)`` as pydicom's ``str(Tag)`` and ``keyword_for_tag`` print it."""
    return f"({tag >> 16:04X},{tag & 0xFFFF:04X}) ({keyword_for_tag(tag)})"


def header_details(tag: int, value: str, score: float, why: str) -> str:
    return f"{tag_cell(tag)}, «{value}», Possible PHI/PII detection (score {score:.2f}): {why}"


def pattern_word(text: str) -> str:
    """A pattern name without spaces (the parsers read ``pattern (\\S+)``)."""
    return _NOT_WORD.sub("-", text).strip("-") or "unknown"


def validator_index(first: int, frames: int) -> int:
    """The ``frame index K`` whose validator meaning is file frame ``first`` (0-based), as near as it can be.

    The validator counts K within the frames it sampled: every frame of a file of 8 or fewer (K = frame),
    else every n//4-th. K = 0 prints as -1 in its default mode, and so here.
    """
    step = frames // 4 if frames > 8 else 1
    k = first // step if step > 1 else first
    if first > 0 and k == 0:
        k = 1  # never claim frame 0 for a later frame: a reader that knows the phrase reads the true one
    return -1 if k == 0 else k


def scan_phrase(first: int, last: int, frames: int, why: str) -> str:
    """``[scan: file frames 6-7 of 8; why]`` for 0-based ``first``..``last``."""
    span = f"file frame {first + 1}" if first == last else f"file frames {first + 1}-{last + 1}"
    return f"[scan: {span} of {frames}; {why}]"


def pixel_details(words: str, pattern: str, first: int, last: int, frames: int, why: str) -> str:
    return (f"{words} {scan_phrase(first, last, frames, why)}, Detected with pattern {pattern_word(pattern)} "
            f"at frame index {validator_index(first, frames)}")


def error_details(what: str, why: str) -> str:
    return f"FAIL! {what}, {why}"


_PHRASE_AND_TAIL = re.compile(r"(\[scan: [^\]]*)\](, Detected with pattern \S+ at frame index -?\d+)$")


def with_note(row: list[str], note: str) -> list[str]:
    """``row`` with ``note`` said in its Details where every reader still parses it.

    A pixel row takes it inside its ``[scan: ...]`` phrase (the tail the parsers read stays last); a header or
    error row at the end of its reason."""
    details = row[6]
    if row[5] == PIXELS:
        details = _PHRASE_AND_TAIL.sub(lambda m: f"{m.group(1)}; {note}]{m.group(2)}", details, count=1)
    else:
        details = f"{details}; {note}"
    return [*row[:6], details]
