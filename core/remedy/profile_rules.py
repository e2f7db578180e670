"""Carry out a profile file's rules on a dataset the base profile has already de-identified.

Why its own module: the Basic Profile (``profile.py``) decides each table action;
a site's profile adds rules on top (remove, empty, dummy, keep, hash, shift,
replace, pseudonym), a private-creator allow-list, per-patient pseudonyms, dates
reduced to the year and ages capped (HIPAA Safe Harbor). Every rule reads the
ORIGINAL value (captured before the base runs) and writes a value valid for the
VR; nothing here logs or returns a value, only tags and actions.
"""

from __future__ import annotations

import copy as copy_module
import datetime as _dt
import hashlib
import hmac
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset
from pydicom.multival import MultiValue
from pydicom.sequence import Sequence
from pydicom.tag import BaseTag, Tag

from phi_review.core.remedy.profile import NUMERIC_VRS, numeric_private  # noqa: F401 - NUMERIC_VRS re-exported
from phi_review.core.remedy.profile_vr import fitted
from phi_review.core.remedy.pseudonym import DIGEST_CHARS

ACTIONS = ("remove", "empty", "dummy", "keep", "hash", "shift", "replace", "pseudonym")
HASH_VRS = frozenset({"UI", "DA", "TM", "DT", "IS", "DS", "US", "UL", "SS", "SL", "UV", "SV", "FL", "FD", "AS",
                      "CS", "SH", "AE", "LO", "PN", "UC", "LT", "ST", "UT"})
SHIFT_VRS = frozenset({"DA", "DT"})
PSEUDONYM_VRS = frozenset({"PN", "LO", "SH", "UC", "LT", "ST", "UT"})
_MAX = {"SH": 16, "AE": 16, "CS": 16, "LO": 64, "PN": 64, "UC": 64, "LT": 64, "ST": 64, "UT": 64}
_OPAQUE = frozenset({"SQ", "OB", "OW", "OF", "OD", "OL", "OV", "UN"})
_TEXT_CHECKED = frozenset({"AE", "AS", "CS", "DA", "DS", "DT", "IS", "LO", "LT", "PN", "SH", "ST", "TM", "UC",
                           "UI", "UT"})
_INT_RANGE = {"US": 1 << 16, "UL": 1 << 32, "SS": 1 << 15, "SL": 1 << 31, "UV": 1 << 63, "SV": 1 << 63}


@dataclass(frozen=True)
class Rule:
    """One ``[[rule]]``: what it selects (tag, group or private creator) and what it does."""

    action: str
    line: int
    tag: int | None = None
    group: int | None = None
    creator: str | None = None
    element: int | None = None  # low byte inside a private creator's block
    value: str | None = None
    pattern: str | None = None
    replacement: str = ""
    allow_keep: bool = False

    def matches(self, tag: BaseTag, creator: str) -> bool:
        """Whether this rule names ``tag`` (``creator``: its private block's creator, or "")."""
        if self.tag is not None:
            return int(tag) == self.tag
        if int(tag) == 0x00080005 or tag.element == 0:  # the character set and group lengths: only by tag
            return False
        if tag.is_private and tag.element < 0x0100:  # a block's owner: only a rule naming its tag touches it
            return False
        if self.creator is not None:
            if not tag.is_private or creator != self.creator:
                return False
            return self.element is None or (tag.element & 0xFF) == self.element
        return self.group is not None and tag.group == self.group


@dataclass
class Extras:
    """What a profile adds to its base: rules, the private allow-list, pseudonyms, dates to year, age cap."""

    rules: list[Rule] = field(default_factory=list)
    keep_creators: frozenset[str] = frozenset()
    dates_to_year: bool = False
    age_cap: int | None = None


def _values(elem: DataElement) -> list[Any]:
    value = elem.value
    if value is None or value == "" or value == b"":
        return []
    if isinstance(value, (list, MultiValue)):
        return list(value)
    return [value]


def _set(elem: DataElement, values: list[Any]) -> None:
    elem.value = values if len(values) > 1 else (values[0] if values else None)


def _creator(ds: Dataset, tag: BaseTag) -> str:
    if not tag.is_private or tag.element < 0x0100:
        return ""
    ctag = Tag(tag.group, tag.element >> 8)
    try:
        return str(ds[ctag].value or "").strip() if ctag in ds else ""
    except Exception:  # noqa: BLE001 - a damaged creator names no block
        return ""


def hashed(value: Any, vr: str, secret: bytes) -> Any:
    """A keyed digest of ``value`` written as a valid value of ``vr``; None when the VR takes none."""
    digest = hmac.new(secret, b"phi-review hash\x00" + vr.encode() + b"\x00" + str(value).encode("utf-8", "replace"),
                      hashlib.sha256).digest()
    number = int.from_bytes(digest, "big")
    hexed = digest.hex().upper()
    if vr == "UI":  # the base's keyed UID map: a hashed reference still points at the mapped instance
        uid = hashlib.sha512(secret + b"\x00uid\x00" + str(value).strip("\x00 ").encode("ascii", "replace"))
        return f"2.25.{int.from_bytes(uid.digest()[:16], 'big')}"
    if vr in ("DA", "DT"):
        day = _dt.date(1900, 1, 1) + _dt.timedelta(days=number % 36500)
        return day.strftime("%Y%m%d") + ("" if vr == "DA" else "000000")
    if vr == "TM":
        seconds = number % 86400
        return f"{seconds // 3600:02d}{seconds // 60 % 60:02d}{seconds % 60:02d}"
    if vr == "IS":  # a signed 32-bit integer (PS3.5 6.2)
        return str(number % 2**31)
    if vr == "DS":
        return str(number % 10**15)
    if vr in _INT_RANGE:
        return number % _INT_RANGE[vr]
    if vr in ("FL", "FD"):
        return float(number % 10**6)
    if vr == "AS":
        return f"{number % 120:03d}Y"
    if vr in _MAX:
        return hexed[: min(_MAX[vr], 32)]
    return None


def year_of(value: str, vr: str) -> str | None:
    """Safe Harbor: a date reduced to its year. DT keeps the year alone; DA (8 digits) becomes 1 January,
    or 2 January when the original is itself 1 January, so the copy never holds the original date."""
    text = str(value).strip()
    if len(text) < 4 or not text[:4].isdigit():
        return None
    if vr == "DT":
        return text[:4]
    return text[:4] + ("0102" if text[4:8] == "0101" else "0101")


def _walk_paths(ds: Dataset, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], DataElement]]:
    for elem in ds:
        here = prefix + (int(elem.tag),)
        if elem.VR == "SQ":
            for i, item in enumerate(elem.value or []):
                yield from _walk_paths(item, here + (i,))
        else:
            yield here, elem


class RuleRun:
    """One file: the original values the rules need, then the rules on the de-identified dataset."""

    def __init__(self, original: Dataset, extras: Extras, secret: bytes, offset_days: int, pseudonym: str | None):
        self.extras = extras
        self.secret = secret
        self.offset = offset_days
        self.pseudonym = pseudonym
        self.changes: list[dict[str, Any]] = []
        # original elements the rules (and, at the top, the allow-list) name: by item path, then tag
        self.saved_at: dict[tuple[int, ...], dict[int, tuple[DataElement, str]]] = {}
        self._capture(original, ())
        self.saved = self.saved_at.get((), {})
        self.dates: dict[tuple[Any, ...], tuple[str, str]] = {}
        if extras.dates_to_year:
            for path, elem in _walk_paths(original):
                if elem.VR in ("DA", "DT") and _values(elem):
                    self.dates[path] = (str(_values(elem)[0]), elem.VR)
        self.age_over = self._age_over_cap(original) if extras.age_cap else False

    def _capture(self, ds: Dataset, prefix: tuple[int, ...]) -> None:
        extras = self.extras
        for elem in ds:
            creator = _creator(ds, elem.tag)
            wanted = any(r.matches(elem.tag, creator) for r in extras.rules)
            if not prefix and extras.keep_creators and elem.tag.is_private:
                wanted = wanted or creator in extras.keep_creators or (
                    elem.tag.element < 0x0100 and str(elem.value or "").strip() in extras.keep_creators)
            if wanted:
                self.saved_at.setdefault(prefix, {})[int(elem.tag)] = (copy_module.deepcopy(elem), creator)
            if elem.VR == "SQ" and extras.rules:
                for i, item in enumerate(elem.value or []):
                    self._capture(item, prefix + (int(elem.tag), i))

    def _age_over_cap(self, ds: Dataset) -> bool:
        cap = self.extras.age_cap or 0
        age = str(ds.get("PatientAge", "") or "").strip().upper()
        if len(age) == 4 and age[:3].isdigit() and age[3] == "Y" and int(age[:3]) >= cap:
            return True
        birth = str(ds.get("PatientBirthDate", "") or "")[:8]
        seen = str(ds.get("StudyDate", "") or ds.get("ContentDate", "") or "")[:8]
        try:
            born = _dt.date(int(birth[:4]), int(birth[4:6]), int(birth[6:8]))
            then = _dt.date(int(seen[:4]), int(seen[4:6]), int(seen[6:8])) if seen else _dt.date.today()
        except ValueError:
            return False
        return then.year - born.year - ((then.month, then.day) < (born.month, born.day)) >= cap

    def _record(self, tag: int, keyword: str, action: str, path: str = "") -> None:
        t = Tag(tag)
        self.changes.append({"tag": f"({t.group:04X},{t.element:04X})", "keyword": keyword,
                             "path": path or keyword or f"({t.group:04X},{t.element:04X})", "action": action})

    def apply(self, ds: Dataset) -> list[dict[str, Any]]:
        """Pseudonyms, dates to year, the age cap, the private allow-list, then each rule in order."""
        if self.pseudonym is not None:
            for keyword in ("PatientName", "PatientID"):
                setattr(ds, keyword, self.pseudonym)
                self._record(int(Tag(keyword)), keyword, "pseudonym")
        if self.dates:
            self._dates_to_year(ds, ds, ())
        if self.extras.age_cap:
            self._cap_age(ds)
        if self.extras.keep_creators:
            self._allow_private(ds)
        for rule in self.extras.rules:
            self._apply_rule(ds, rule)
        if self.extras.rules or self.extras.keep_creators:
            self._owners(ds, "")
        return self.changes

    def _owners(self, ds: Dataset, where: str) -> None:
        """Every private value keeps an owner: a value whose creator a rule removed or blanked goes, and
        so does a creator left with no block (dciodvfy: "Private tag without owner")."""
        for elem in list(ds):
            tag = elem.tag
            if elem.VR == "SQ" and tag in ds:
                for i, item in enumerate(elem.value or []):
                    self._owners(item, f"{where}{elem.keyword or tag}[{i}].")
            if not tag.is_private or tag.element < 0x0010:
                continue
            if tag.element >= 0x0100:
                owner = ds.get(Tag(tag.group, tag.element >> 8))
                if owner is not None and str(owner.value or "").strip():
                    continue
            elif str(elem.value or "").strip() and any(
                    e.tag.group == tag.group and e.tag.element >> 8 == tag.element for e in ds):
                continue
            del ds[tag]
            self._record(int(tag), "", "X", f"{where}{tag}")

    def _dates_to_year(self, top: Dataset, ds: Dataset, prefix: tuple[Any, ...]) -> None:
        for elem in list(ds):
            here = prefix + (int(elem.tag),)
            if elem.VR == "SQ":
                for i, item in enumerate(elem.value or []):
                    self._dates_to_year(top, item, here + (i,))
            elif elem.VR in ("DA", "DT") and here in self.dates:
                value, vr = self.dates[here]
                year = year_of(value, vr)
                if elem.tag == Tag("PatientBirthDate") and self.age_over:
                    year = None
                elem.value = year
                self._record(int(elem.tag), elem.keyword or "", "year" if year else "Z")

    def _cap_age(self, ds: Dataset) -> None:
        if not self.age_over:
            return
        if "PatientAge" in ds and ds.PatientAge:
            ds.PatientAge = f"{self.extras.age_cap:03d}Y"
            self._record(int(Tag("PatientAge")), "PatientAge", "age-cap")
        if "PatientBirthDate" in ds and ds.PatientBirthDate:
            ds.PatientBirthDate = None
            self._record(int(Tag("PatientBirthDate")), "PatientBirthDate", "Z")

    def _allow_private(self, ds: Dataset) -> None:
        """Keep the listed creators (their creator element and numeric values); drop every other private block."""
        keep = self.extras.keep_creators
        for elem in list(ds):
            tag = elem.tag
            if not tag.is_private:
                continue
            name = str(elem.value or "").strip() if tag.element < 0x0100 else _creator(ds, tag)
            if 0x0010 <= tag.element < 0x0100 and name in keep:
                continue
            if tag.element >= 0x0100 and name in keep and numeric_private(elem, name):
                continue
            self._record(int(tag), "", "X", str(tag))
            del ds[tag]
        for tag, (elem, creator) in sorted(self.saved.items()):
            t = Tag(tag)
            if not t.is_private or t in ds:
                continue
            if t.element < 0x0100 and 0x0010 <= t.element and str(elem.value or "").strip() in keep:
                ds.add(copy_module.deepcopy(elem))
                self._record(tag, "", "K", str(t))
            elif t.element >= 0x0100 and creator in keep and numeric_private(elem, creator):
                ds.add(copy_module.deepcopy(elem))
                self._record(tag, "", "K", str(t))

    def _apply_rule(self, ds: Dataset, rule: Rule, prefix: tuple[int, ...] = ()) -> None:
        """The rule on this dataset, then inside every item of every sequence left in it."""
        here = self.saved_at.get(prefix, {})
        found = {int(e.tag) for e in ds if rule.matches(e.tag, _creator(ds, e.tag))}
        found |= {t for t, (e, c) in here.items() if rule.matches(e.tag, c)}
        for tag in sorted(found):
            self._one(ds, rule, tag, here.get(tag))
        for elem in list(ds):
            if elem.VR == "SQ":
                for i, item in enumerate(elem.value or []):
                    self._apply_rule(item, rule, prefix + (int(elem.tag), i))

    def _one(self, ds: Dataset, rule: Rule, tag: int, saved: tuple[DataElement, str] | None) -> None:
        """One rule on one attribute: remove, keep (the original), or a value from the original."""
        current = ds[tag] if tag in ds else None
        keyword = (current or saved[0]).keyword if (current or saved) else ""  # type: ignore[union-attr]
        if rule.action == "remove":
            if current is not None:
                del ds[tag]
                self._record(tag, keyword, "X")
            return
        if rule.action == "keep":
            if saved is not None:
                ds[tag] = copy_module.deepcopy(saved[0])
                self._record(tag, keyword, "K")
            return
        target = current if current is not None else (copy_module.deepcopy(saved[0]) if saved else None)
        if target is None:
            return
        done = self._value_action(target, saved[0] if saved else None, rule)
        if done:
            if current is None:
                ds.add(target)
            self._record(tag, keyword, done)

    def _value_action(self, elem: DataElement, original: DataElement | None, rule: Rule) -> str:
        vr = elem.VR
        source = _values(original) if original is not None else []
        if vr in _OPAQUE and rule.action in ("hash", "shift", "replace", "pseudonym"):
            if rule.action == "replace":  # a group or creator rule meets a sequence or bytes: left to the base
                return ""
            elem.value = Sequence() if vr == "SQ" else b""
            return "Z"
        if rule.action == "empty":
            elem.value = Sequence() if vr == "SQ" else (b"" if vr in ("OB", "OW", "UN") else None)
            return "Z"
        if rule.action == "dummy":
            from phi_review.core.remedy.profile import DUMMIES

            if vr == "UI":  # no UID is a dummy of every UID: a keyed one, as the Basic Profile maps them
                _set(elem, [hashed(v, vr, self.secret) for v in source] or [hashed("", vr, self.secret)])
            else:
                elem.value = Sequence() if vr == "SQ" else DUMMIES.get(vr, "")
            return "D"
        if rule.action == "pseudonym":
            if self.pseudonym is None or vr not in PSEUDONYM_VRS:
                elem.value = None
                return "Z"
            elem.value = _short(self.pseudonym, _MAX.get(vr, 64))
            return "pseudonym"
        if rule.action == "hash":
            made = [hashed(v, vr, self.secret) for v in source]
            if not source or any(m is None for m in made):
                elem.value = None if vr not in ("OB", "OW", "UN", "SQ") else elem.value
                return "Z" if vr not in ("OB", "OW", "UN", "SQ") else ""
            return self._fit(elem, made, "hash")
        if rule.action == "shift":
            from phi_review.core.remedy.profile import shift_date

            shifted = [shift_date(str(v), self.offset) for v in source] if vr in SHIFT_VRS else [None]
            if not source or any(s is None for s in shifted):
                elem.value = None
                return "Z"
            _set(elem, shifted)
            return "shift"
        if rule.action == "replace":
            if rule.pattern is not None:
                if not source or vr not in _MAX and vr not in ("DA", "TM", "DT", "IS", "DS"):
                    return ""
                return self._fit(elem, [re.sub(rule.pattern, rule.replacement, str(v)) for v in source], "replace")
            parts = (rule.value or "").split("\\") if rule.value else []
            if vr in _INT_RANGE or vr in ("FL", "FD"):
                try:
                    _set(elem, [_typed(p, vr) for p in parts])
                except ValueError:  # a group or creator rule's text for a numeric VR: emptied, never guessed
                    elem.value = None
                    return "Z"
                return "replace"
            return self._fit(elem, parts, "replace")
        return ""


    @staticmethod
    def _fit(elem: DataElement, made: list[Any], done: str) -> str:
        """Write what a rule computed when it is valid for the VR (free text cut to length); else empty it.

        A regular expression's result or a group rule's value can be invalid for the attribute it lands in
        (too long, a letter in a date, a line break in a name): such a value is never written."""
        if elem.VR not in _TEXT_CHECKED or not made:
            _set(elem, made)
            return done
        fit = fitted([str(m) for m in made], elem.VR)
        if fit is None:
            elem.value = None
            return "Z"
        _set(elem, fit)
        return done


def _short(value: str, limit: int) -> str:
    """A pseudonym cut to ``limit`` keeps its keyed end, so patients stay apart in a short VR (SH)."""
    if len(value) <= limit:
        return value
    return value[: max(0, limit - DIGEST_CHARS)] + value[-min(DIGEST_CHARS, limit):]


def _typed(text: str, vr: str) -> Any:
    if vr in _INT_RANGE:
        return int(text)
    if vr in ("FL", "FD"):
        return float(text)
    return text


def rule_editor(base: Callable[[Dataset], list[dict[str, Any]]] | None, extras: Extras, secret: bytes,
                offset: Callable[[Dataset], int], pseudonym: Callable[[Dataset], str] | None, method: str = ""
                ) -> Callable[[Dataset], list[dict[str, Any]]]:
    """An ``edit_header`` callable: capture what the rules need, run the base, then the rules.

    ``method``: a De-identification Method line naming the profile (with a base that makes the claim)."""

    def edit(ds: Dataset) -> list[dict[str, Any]]:
        run = RuleRun(ds, extras, secret, offset(ds), pseudonym(ds) if pseudonym else None)
        changes = list(base(ds) or []) if base is not None else []
        changes += run.apply(ds)
        if method:
            _add_method(ds, method)
            if extras.dates_to_year:  # the base said REMOVED; the year is kept
                ds.LongitudinalTemporalInformationModified = "MODIFIED"
        return changes

    return edit


def _add_method(ds: Dataset, line: str) -> None:
    """Name the profile in De-identification Method, after the Basic Profile's line (the UID mark stays last)."""
    from phi_review.core.remedy.keyed_uid import MARK_PREFIX

    value = ds.get("DeidentificationMethod")
    lines = [str(v) for v in (value if isinstance(value, (list, MultiValue)) else [value]) if v]
    if line in lines:
        return
    marks = [x for x in lines if x.startswith(MARK_PREFIX)]
    lines = [x for x in lines if not x.startswith(MARK_PREFIX)] + [line] + marks
    ds.DeidentificationMethod = lines if len(lines) > 1 else lines[0]
