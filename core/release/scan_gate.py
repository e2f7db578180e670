"""The package scan: the scan's own per-file checks on each staged copy, after its proof, before publishing.

The proof asks "is any of the ORIGINAL's identifiers left?"; the scan asks
what the validator and a reviewer would ask of any file: does a header value
look like PHI (``scan.header_check``), and does a rule (``scan.rules``: an
ultrasound, a secondary capture, BurnedInAnnotation YES) say the pixels must
be read? What stops a file:

- a header finding whose value holds one of the original's identifiers
  (kinds the reviewer kept with ``fix --keep`` excepted; of its dates only
  the patient's: a copy only redacted keeps its study dates), or a pattern that is
  PHI whoever it names: e-mail, SSN, phone, MRN-like ID, a person's name in a
  PN value. Dates (the profile's dummy 19000101 included), institutions,
  device and manufacturer names are the scan's lower-scored findings: counted
  in the manifest, never a stop;
- burned-in text OCR reads on any frame that matches the original's
  identifiers or looks like a full date.

OCR runs only for a copy that claims BurnedInAnnotation NO or that a rule
flags; header-only copies are never OCRed. A copy that claims NO was just
read frame by frame by its proof: ``ocr_frame`` caches lines per file
version and frame, so the scan's reading of the same staged bytes costs no
second OCR. Values never leave here: kinds and places (tag, frame and box)
go to the manifest.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from phi_review.core.common.inert import inert
from phi_review.core.proof.identifiers import DATE, Identifier
from phi_review.core.scan.rules import Rule

PHI_PATTERNS = ("pattern e-mail", "pattern SSN", "pattern phone", "pattern MRN-like ID", "pattern person name")
_TOKEN = re.compile(r"[a-z0-9]+")


@dataclass
class ScanResult:
    """What the package scan found on one staged copy: stops (kind and place) and what it only noted."""

    stops: list[str] = field(default_factory=list)
    noted: int = 0  # header findings judged not PHI (dates, institutions, devices)
    rules: list[str] = field(default_factory=list)
    pixels: str = "not read (no BurnedInAnnotation NO claim, no rule)"

    def record(self) -> dict[str, object]:
        return {"status": "clean" if not self.stops else "phi", "stops": self.stops,
                "header_findings_not_phi": self.noted, "rules": self.rules, "pixels": self.pixels}

    def summary(self) -> str:
        shown = self.stops[:5] + ([f"{len(self.stops) - 5} more"] if len(self.stops) > 5 else [])
        return "the package scan found possible PHI: " + "; ".join(shown)


def _matcher(identifiers: Sequence[Identifier], *, study_dates: bool = True) -> list[tuple[str, str, bool]]:
    """(folded text, kind, whole-word only): short texts must be a whole token, longer ones anywhere.

    Without ``study_dates`` a date counts only when it came from the patient's group (a birth date): the
    study's own dates stay in a header that was never claimed clean (a copy only redacted), as the
    validator's 0.85 date findings that reviewers approve.
    """
    from phi_review.core.ocr.phi_match import fold

    out, seen = [], set()
    for ident in identifiers:
        if not study_dates and ident.kind == DATE and not ident.source.rsplit(">", 1)[-1].startswith("(0010,"):
            continue
        key = fold(ident.text)
        if len(key) >= 3 and key not in seen:
            seen.add(key)
            out.append((key, ident.kind, len(key) < 5))
    return out


def _holds_identifier(value: str, matcher: list[tuple[str, str, bool]]) -> str:
    from phi_review.core.ocr.phi_match import fold

    hay = fold(value)
    tokens = set(_TOKEN.findall(value.lower()))
    for key, kind, whole in matcher:
        if (key in tokens) if whole else (key in hay):
            return kind
    return ""


_NAME_PART = re.compile(r"[^\W\d_](?:[^\W\d_]|['.-])*")


def looks_like_name(value: str) -> bool:
    """A person's name: two or more parts (``^``, comma or space apart), all letters, two of 2+ letters.

    A single word or anything with a digit is not taken for a name here: ``fix --pseudonym-prefix``
    writes one token, and a real name of the original is found as the original's identifier anyway.
    """
    parts = [p for p in re.split(r"[\^,\s=]+", value.strip()) if p]
    if len(parts) < 2 or not all(_NAME_PART.fullmatch(p) for p in parts):
        return False
    return sum(len(p.strip(".'-")) >= 2 for p in parts) >= 2


def _keyword(why: str) -> str:
    """The attribute a hit's reason names ("PatientName names ...", "pattern phone in OtherPatientIDs")."""
    if " in " in why and why.startswith(("pattern ", "holds ")):
        return why.rsplit(" in ", 1)[1]
    return why.split(" ", 1)[0]


def scan_copy(path: Path, identifiers: Sequence[Identifier], rules: Sequence[Rule], *, kept: Sequence[str] = (),
              engine: object = None) -> ScanResult:
    """Scan one staged copy against its original's ``identifiers`` (kept kinds already left out)."""
    from phi_review.core.dicom.header import read_header
    from phi_review.core.scan.header_check import header_hits

    result = ScanResult()
    header = read_header(path)
    if header.error and not header.rows:
        result.stops.append("the header cannot be read")
        return result
    matcher = _matcher(identifiers, study_dates=False)
    for hit in header_hits(header):
        place = f"({hit.tag >> 16:04X},{hit.tag & 0xFFFF:04X}) {_keyword(hit.why)}"
        kind = _holds_identifier(hit.value, matcher)
        pattern = next((p for p in PHI_PATTERNS if p in hit.why), "")
        if pattern == "pattern person name" and ("name" in kept or not looks_like_name(hit.value)):
            pattern = ""  # a keyed pseudonym ("EDRN-G746KR6X") in a PN is an ID the reviewer chose
        if kind:
            result.stops.append(f"header {inert(place)}: the original's {kind}")
        elif pattern:
            result.stops.append(f"header {inert(place)}: {pattern[len('pattern '):]}")
        else:
            result.noted += 1
    top = {row.keyword: row.full_value for row in header.rows if row.depth == 0 and not row.is_meta}
    values = {**top, **header.values}
    creators = {row.private_creator for row in header.rows if row.private_creator}
    result.rules = [rule.name for rule in rules if rule.why(values, creators) is not None]
    claims_no = values.get("BurnedInAnnotation", "").strip().upper() == "NO"
    if not (claims_no or result.rules):
        return result
    _ocr(path, identifiers, result, engine)
    return result


def _ocr(path: Path, identifiers: Sequence[Identifier], result: ScanResult, engine: object) -> None:
    """Every frame through OCR; a line that matches the original or reads as a date stops the copy."""
    from phi_review.core.dicom.pixels import image_info
    from phi_review.core.ocr.engine import has_own_window, ocr_available, ocr_frame_every_view
    from phi_review.core.ocr.phi_match import PhiTerm, norm

    why = ", ".join(result.rules) or "BurnedInAnnotation NO"
    try:
        count = image_info(path).frames
    except Exception as error:  # noqa: BLE001 - no pixel data: a rule on the header alone is not PHI
        if "no pixel data" in str(error) or "no image to show" in str(error):
            result.pixels = "no pixel data"
            return
        result.stops.append(f"pixels ({inert(why)}): the frames do not decode ({type(error).__name__})")
        return
    if not ocr_available():
        result.stops.append(f"pixels ({inert(why)}): OCR is not installed, the frames cannot be read")
        return
    terms = [PhiTerm(key, kind, norm(key)) for key, kind, _whole in _matcher(identifiers)]
    windowed = has_own_window(path)
    for frame in range(count):
        try:
            lines = ocr_frame_every_view(path, frame, terms, engine, windowed)  # type: ignore[arg-type]
        except Exception as error:  # noqa: BLE001 - an unread frame is not a clean frame
            result.stops.append(f"pixels frame {frame + 1}: cannot be read ({type(error).__name__})")
            return
        for line in lines:
            if line.likely_phi:
                reason = line.reason or ""
                kind = reason[len("matches "):] if reason.startswith("matches ") else "a date"
                x0, y0, x1, y1 = line.box
                result.stops.append(f"pixels frame {frame + 1} box {x0},{y0},{x1},{y1}: {inert(kind)}")
    result.pixels = f"ocr: {count} frame(s) ({inert(why)})"
