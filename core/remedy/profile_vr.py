"""Whether a value a profile writes is valid for its VR (PS3.5 6.2), and how a rule's result is made to fit.

Why its own module: the profile file checks a rule's literal value when it is read, and the rules check
what they compute (a regular expression's result, a value a group rule writes into an attribute of another
VR) when they run; both must agree on one definition of "valid", stricter than pydicom's own checks (real
calendar dates and times, the IS range, no control character in a one-line value).
"""

from __future__ import annotations

import re

from pydicom.valuerep import DA, DT, TM

_PATTERN = {"DA": r"\d{8}", "TM": r"\d{2}(\d{2}(\d{2}(\.\d{1,6})?)?)?",
            "DT": r"\d{4}(\d{2}(\d{2}(\d{2}(\d{2}(\d{2}(\.\d{1,6})?)?)?)?)?)?([+-]\d{4})?",
            "IS": r" *[+-]?\d{1,11} *", "DS": r" *[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)? *", "AS": r"\d{3}[DWMY]",
            "CS": r"[A-Z0-9 _]{0,16}", "US": r"\d+", "UL": r"\d+", "SS": r"-?\d+", "SL": r"-?\d+",
            "FL": r"[+-]?\d+(\.\d*)?", "FD": r"[+-]?\d+(\.\d*)?", "UI": r"(0|[1-9]\d*)(\.(0|[1-9]\d*))*"}
MAX_LENGTH = {"SH": 16, "AE": 16, "LO": 64, "PN": 64, "CS": 16, "UI": 64, "DS": 16, "IS": 12, "ST": 1024,
              "LT": 10240, "AS": 4, "DA": 8, "TM": 14, "DT": 26}
FREE_TEXT = frozenset({"SH", "LO", "PN", "ST", "LT", "UT", "UC"})  # what a too-long result may be cut to
_ONE_LINE = frozenset({"AE", "AS", "CS", "DA", "DS", "DT", "IS", "LO", "PN", "SH", "TM", "UC", "UI"})
_CONTROL_ONE_LINE = re.compile(r"[\x00-\x1a\x1c-\x1f\x7f]")  # ESC (0x1B) switches character sets
_CONTROL_TEXT = re.compile(r"[\x00-\x08\x0b\x0e-\x1a\x1c-\x1f\x7f]")  # ST, LT, UT keep TAB, LF, FF, CR
_RANGE = {"IS": (-2**31, 2**31 - 1), "US": (0, 2**16 - 1), "SS": (-2**15, 2**15 - 1), "UL": (0, 2**32 - 1),
          "SL": (-2**31, 2**31 - 1)}


def valid_one(text: str, vr: str) -> bool:
    """One value (no backslash split) valid for ``vr``."""
    if len(text) > MAX_LENGTH.get(vr, 2**32 - 2):
        return False
    if (_CONTROL_ONE_LINE if vr in _ONE_LINE else _CONTROL_TEXT).search(text):
        return False
    if vr in _PATTERN and not re.fullmatch(_PATTERN[vr], text):
        return False
    if vr in _RANGE:
        low, high = _RANGE[vr]
        if not low <= int(text) <= high:
            return False
    if vr == "PN":
        groups = text.split("=")
        if len(groups) > 3 or any(len(g) > 64 or g.count("^") > 4 for g in groups):
            return False
    try:
        if vr == "DA":
            DA(text)
        elif vr == "TM":
            TM(text)
        elif vr == "DT":
            DT(text)
    except (ValueError, OverflowError):
        return False
    return True


def valid_for(value: str, vr: str) -> bool:
    """A value as a profile file writes it (``\\`` separates values, except in ST, LT, UT) valid for ``vr``."""
    parts = [value] if vr in ("ST", "LT", "UT", "UR") else value.split("\\")
    return all(valid_one(part, vr) for part in parts)


def fitted(values: list[str], vr: str) -> list[str] | None:
    """What a rule computed, made valid for ``vr``: free text cut to the VR's length; None when it cannot be.

    None means the attribute is emptied: a value invalid for its VR is never written, and the original is
    never put back in its place.
    """
    out = []
    for value in values:
        if vr in FREE_TEXT and vr in MAX_LENGTH:
            value = value[: MAX_LENGTH[vr]]
        if (vr not in ("ST", "LT", "UT", "UR") and "\\" in value) or not valid_one(value, vr):
            return None
        out.append(value)
    return out
