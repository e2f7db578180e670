"""Profiles as files: TOML a site can write, clone and preview; the built-ins; where profiles live.

Why: a release needs more than the bare Basic Profile (TCIA's options, HIPAA
Safe Harbor, a site's own rules), written down so that it can be reviewed and
reused. A profile names a base (``basic`` or ``none``), PS3.15 options, and
rules carried out by ``profile_rules``. Every error names the file and the
line, before anything is written.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydicom.datadict import dictionary_VR, tag_for_keyword
from pydicom.dataset import Dataset

from phi_review.core.common.config import config_path
from phi_review.core.common.inert import inert
from phi_review.core.remedy.profile_rules import (
    ACTIONS, HASH_VRS, PSEUDONYM_VRS, SHIFT_VRS, Extras, Rule, rule_editor,
)
from phi_review.core.remedy.profile_pixels import PixelSettings, parse_pixels
from phi_review.core.remedy.profile_vr import valid_for
from phi_review.core.remedy.profile_table import OPTION_NAMES, ProfileError, action_for, load_table, option_keys
from phi_review.core.remedy.pseudonym import (
    DEFAULT_PREFIX, Pseudonyms, check_prefix, load_id_map, read_small_text,
)

SOURCES = {
    "basic": "DICOM PS3.15 Annex E, Table E.1-1, Basic Application Level Confidentiality Profile",
    "tcia": "TCIA de-identification (TCIA Submission and De-identification Overview; PS3.15 E.1-1 with the "
            "Clean Pixel Data, Clean Descriptors, Retain Longitudinal Temporal Information with Modified Dates, "
            "Retain Patient Characteristics, Retain Device Identity and Retain Safe Private options)",
    "hipaa-safe-harbor": "HIPAA Privacy Rule, 45 CFR 164.514(b)(2) Safe Harbor: the 18 identifiers removed; "
                         "dates reduced to the year; ages over 89 as 90 or more",
}
BUILTINS: dict[str, str] = {
    "basic": '''# DICOM PS3.15 E.1-1 Basic Application Level Confidentiality Profile, no options.
base = "basic"
options = []
''',
    "tcia": '''# TCIA: Basic Profile + Clean Pixel Data (pixels: `phi-review redact`), Clean Descriptors,
# Retain Longitudinal Temporal Information with Modified Dates, Retain Patient Characteristics,
# Retain Device Identity, Retain Safe Private. Patients get keyed pseudonyms.
base = "basic"
options = ["clean-descriptors", "retain-modified-dates", "retain-patient-characteristics",
           "retain-device-identity", "retain-safe-private"]
pseudonym = true
''',
    "hipaa-safe-harbor": '''# HIPAA Safe Harbor, 45 CFR 164.514(b)(2): the 18 identifiers go (Basic Profile: names,
# addresses, dates, numbers, device serial numbers, UIDs remapped, private data removed), dates are
# reduced to the year, ages over 89 become 090Y (birth date removed). Sex and age stay.
base = "basic"
options = ["retain-patient-characteristics"]
pseudonym = true
dates = "year"
age_cap = 90
''',
}
TEMPLATE = '''# phi-review profile. base: "basic" (PS3.15 E.1-1) or "none"; rules run after the base,
# on the original values.
base = "basic"
options = []                 # e.g. ["retain-modified-dates", "clean-descriptors"]
pseudonym = true             # PatientName and PatientID become a keyed pseudonym per patient
pseudonym_prefix = "SITE01-"

# [private]
# keep_creators = ["GEMS_ACQU_01"]   # keep these creators and their numeric values

# [pixels]                            # what `profile preview` shows as boxes
# known_regions = true                # black out the text regions known for the file's device (CTP/deid)
# ocr_min_confidence = 0.6            # OCR words less sure than this are not counted (0 to 1)
# patterns = ['MRN-\\d{6}']           # the site's own identifier formats ('...': no escaping)

# [[rule]]
# keyword = "StudyDescription"
# action = "replace"
# value = "RESEARCH STUDY"
'''
_TOP_KEYS = {"base", "options", "pseudonym", "pseudonym_prefix", "dates", "age_cap", "description", "private",
             "rule", "pixels"}
_RULE_KEYS = {"tag", "keyword", "group", "creator", "element", "action", "value", "pattern", "with", "allow_keep"}
NAME_RE = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
DISABLED_FILE = "disabled.txt"


@dataclass
class ProfileFile:
    """A parsed profile: its base, options (CLI names), and what it adds."""

    name: str
    source: str  # "built-in" or the file's path
    text: str
    base: str = "basic"
    options: list[str] = field(default_factory=list)
    pseudonym: bool = False
    prefix: str = DEFAULT_PREFIX
    extras: Extras = field(default_factory=Extras)
    pixels: PixelSettings = field(default_factory=PixelSettings)


@lru_cache(maxsize=8)
def _blocks(text: str) -> tuple[list[str], tuple[int, int], list[tuple[int, int]]]:
    """The lines, the top level's span and each ``[[rule]]`` block's span (computed once per text)."""
    lines = text.splitlines()
    top_end, spans, start = len(lines), [], None
    for i, line in enumerate(lines):
        stripped = line.strip()
        if stripped.startswith("["):
            top_end = min(top_end, i)
            if start is not None:
                spans.append((start, i))
                start = None
            if stripped.replace(" ", "") == "[[rule]]":
                start = i
    if start is not None:
        spans.append((start, len(lines)))
    return lines, (0, top_end), spans


def _line(text: str, key: str, rule: int | None = None) -> int:
    """The line of ``key`` (top level, or inside the rule-th ``[[rule]]``); the block's header if absent."""
    lines, top, spans = _blocks(text)
    if rule is not None:
        start, end = spans[rule] if rule < len(spans) else (0, len(lines))
        order: list[int] = list(range(start, end))
    else:
        start, end = top
        order = list(range(start, end)) + list(range(len(lines)))
    pattern = re.compile(rf"\s*{re.escape(key)}\s*=")
    for i in order:
        if pattern.match(lines[i]):
            return i + 1
    return start + 1


def _tag(text: Any) -> int:
    cleaned = re.sub(r"[()\s,]", "", str(text)).lower().removeprefix("0x")
    if not re.fullmatch(r"[0-9a-f]{8}", cleaned):
        raise ValueError("a tag is written (gggg,eeee)")
    return int(cleaned, 16)


def parse_profile(text: str, source: str, name: str = "") -> ProfileFile:
    """A profile from TOML text; ``ProfileError`` with ``source:line: what`` for the first problem."""
    def fail(line: int, what: str) -> ProfileError:
        return ProfileError(f"{inert(source)}:{line}: {what}")

    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        found = re.search(r"line (\d+)", str(error))
        line = int(found[1]) if found else max(1, len(text.splitlines()))  # "at end of document"
        raise fail(line, f"not valid TOML ({inert(str(error).split(' (at ')[0])})") from None
    for key in doc:
        if key not in _TOP_KEYS:
            raise fail(_line(text, key), f"unknown setting {inert(key)!r}")
    profile = ProfileFile(name or Path(source).stem, source, text)
    profile.base = doc.get("base", "basic")
    if profile.base not in ("basic", "none"):
        raise fail(_line(text, "base"), 'base must be "basic" or "none"')
    options = doc.get("options", [])
    if not isinstance(options, list) or not all(isinstance(o, str) for o in options):
        raise fail(_line(text, "options"), "options must be a list of option names")
    for option in options:
        if option not in OPTION_NAMES:
            raise fail(_line(text, "options"), f"unknown option {inert(option)!r}; known: {', '.join(OPTION_NAMES)}")
    if options and profile.base == "none":
        raise fail(_line(text, "options"), 'options need base = "basic"')
    profile.options = list(options)
    for key in ("pseudonym",):
        if not isinstance(doc.get(key, False), bool):
            raise fail(_line(text, key), f"{key} must be true or false")
    profile.pseudonym = doc.get("pseudonym", False) is True
    try:
        profile.prefix = check_prefix(str(doc.get("pseudonym_prefix", DEFAULT_PREFIX)))
    except ProfileError as error:
        raise fail(_line(text, "pseudonym_prefix"), str(error)) from None
    dates = doc.get("dates", "base")
    if dates not in ("base", "year"):
        raise fail(_line(text, "dates"), 'dates must be "base" or "year"')
    cap = doc.get("age_cap")
    if cap is not None and (isinstance(cap, bool) or not isinstance(cap, int) or not 1 <= cap <= 150):
        raise fail(_line(text, "age_cap"), "age_cap must be a whole number of years")
    private = doc.get("private", {})
    creators = private.get("keep_creators", []) if isinstance(private, dict) else None
    if not isinstance(creators, list) or not all(isinstance(c, str) and c.strip() for c in creators) \
            or set(private) - {"keep_creators"}:
        raise fail(_line(text, "keep_creators"), "[private] holds keep_creators = [\"CREATOR\", ...]")
    rules = doc.get("rule", [])
    if not isinstance(rules, list):
        raise fail(_line(text, "rule"), "rules are written [[rule]]")
    keys = option_keys(profile.options)
    parsed = [one for i, r in enumerate(rules) for one in _rules(r, i, text, profile.base, keys, fail)]
    profile.extras = Extras(parsed, frozenset(c.strip() for c in creators), dates == "year", cap)
    section = next((i + 1 for i, line in enumerate(text.splitlines()) if line.strip().replace(" ", "") == "[pixels]"),
                   _line(text, "pixels"))
    profile.pixels = parse_pixels(doc.get("pixels"), lambda key: _line(text, key), section, fail)
    return profile


def _rules(raw: Any, index: int, text: str, base: str, keys: frozenset[str],
           fail: Callable[[int, str], ProfileError]) -> list[Rule]:
    """A ``[[rule]]`` whose ``keyword`` or ``tag`` is a list is one rule per item (an imported recipe's
    ``endswith:Date`` expanded over the dictionary), each checked alone."""
    if isinstance(raw, dict):
        for key in ("keyword", "tag"):
            if isinstance(raw.get(key), list):
                if not raw[key]:
                    raise fail(_line(text, key, index), f"{key} = [] names nothing")
                return [_rule({**raw, key: item}, index, text, base, keys, fail) for item in raw[key]]
    return [_rule(raw, index, text, base, keys, fail)]


def _rule(raw: Any, index: int, text: str, base: str, keys: frozenset[str],
          fail: Callable[[int, str], ProfileError]) -> Rule:
    """One ``[[rule]]`` checked: one selector, a known action, a value valid for the VR, allow_keep if needed."""
    header = _line(text, "\0", index)
    if not isinstance(raw, dict):
        raise fail(header, "a rule is a [[rule]] table")
    for key in raw:
        if key not in _RULE_KEYS:
            raise fail(_line(text, key, index), f"unknown rule setting {inert(key)!r}")
    action = raw.get("action")
    if action not in ACTIONS:
        raise fail(_line(text, "action", index), f"unknown action {inert(str(action))!r}; known: {', '.join(ACTIONS)}")
    chosen = [k for k in ("tag", "keyword", "group", "creator") if k in raw]
    if len(chosen) != 1:
        raise fail(header, "a rule names one of tag, keyword, group or creator")
    where = _line(text, chosen[0], index)
    tag = group = element = None
    creator = None
    try:
        if "tag" in raw:
            tag = _tag(raw["tag"])
        elif "keyword" in raw:
            tag = tag_for_keyword(str(raw["keyword"]))
            if tag is None:
                raise ValueError(f"unknown keyword {inert(str(raw['keyword']))!r}")
        elif "group" in raw:
            group = int(str(raw["group"]).lower().removeprefix("0x"), 16)
            if not 0 <= group <= 0xFFFF:
                raise ValueError("a group is four hex digits")
        else:
            creator = str(raw["creator"]).strip()
            if "element" in raw:
                element = int(str(raw["element"]).lower().removeprefix("0x"), 16) & 0xFF
    except ValueError as error:
        raise fail(where, str(error) if "0x" not in str(error) and "invalid literal" not in str(error)
                   else "not a valid tag, group or element") from None
    vr = None
    if tag is not None:
        try:
            vr = dictionary_VR(tag)
        except KeyError:
            if not (tag >> 16) % 2:
                raise fail(where, "unknown tag (not in the DICOM dictionary)") from None
    line = _line(text, "action", index)
    if vr and action == "hash" and vr not in HASH_VRS:
        raise fail(line, f"hash is not defined for VR {vr}")
    if vr and action == "shift" and vr not in SHIFT_VRS:
        raise fail(line, f"shift needs a date (DA or DT), not VR {vr}")
    if vr and action == "pseudonym" and vr not in PSEUDONYM_VRS:
        raise fail(line, f"pseudonym needs a text VR, not {vr}")
    value, pattern = raw.get("value"), raw.get("pattern")
    if action == "replace":
        if (value is None) == (pattern is None):
            raise fail(line, "replace needs value = \"...\" or pattern = \"regex\" (with with = \"...\")")
        if pattern is not None:
            try:
                re.compile(str(pattern))
            except re.error:
                raise fail(_line(text, "pattern", index), "pattern is not a valid regular expression") from None
        elif vr and not _valid_for(str(value), vr):
            raise fail(_line(text, "value", index), f"value is not valid for VR {vr}")
    if vr in ("SQ", "OB", "OW", "UN") and action == "replace":
        raise fail(line, f"replace cannot write a value of VR {vr}")
    if not isinstance(raw.get("allow_keep", False), bool):
        raise fail(_line(text, "allow_keep", index), "allow_keep must be true or false")
    allow = raw.get("allow_keep", False) is True
    keeps = action == "keep" or (action == "replace" and pattern is not None)
    if keeps and base == "basic" and not allow and not _base_keeps(tag, keys):
        raise fail(line, "this rule keeps what the base profile removes or changes: add allow_keep = true")
    return Rule(action, line, tag, group, creator, element, None if value is None else str(value),
                None if pattern is None else str(pattern), str(raw.get("with", "")), allow)


def _base_keeps(tag: int | None, keys: frozenset[str]) -> bool:
    """Whether the base profile keeps ``tag`` as it is (its row says K with these options)."""
    if tag is None:
        return False
    table = load_table()
    row = table.exact.get(tag)
    if row is None:
        row = next((r for mask, value, r in table.masks if tag & mask == value), None)
    if row is not None:
        return action_for(row, keys) == "K"
    try:  # no row: the base keeps a known attribute unless it is a date, a name or free text
        return dictionary_VR(tag) not in ("DA", "DT", "TM", "PN", "LO", "SH", "LT", "ST", "UT", "UC", "SQ", "UN")
    except KeyError:
        return False


_valid_for = valid_for  # the name profile_recipes imports


# ----------------------------------------------------------------------------- where profiles live


def user_dir() -> Path:
    """``profiles/`` beside the config file (``$PHI_REVIEW_CONFIG`` / XDG rules of ``config_path``)."""
    return config_path().parent / "profiles"


def folders(project: Path | None = None) -> list[Path]:
    """Where named profiles are looked up: the project folder (``--profiles``) first, then the user's."""
    return ([Path(project)] if project else []) + [user_dir()]


def disabled(folder: Path | None = None) -> set[str]:
    """Names switched off with ``profile disable`` (one per line in the user folder's ``disabled.txt``)."""
    path = (folder or user_dir()) / DISABLED_FILE
    try:
        return {line.strip() for line in path.read_text("utf-8").splitlines() if line.strip()}
    except (OSError, UnicodeDecodeError):
        return set()


def set_disabled(name: str, off: bool) -> None:
    """Switch a profile name off or on again."""
    names = disabled()
    names = names | {name} if off else names - {name}
    path = user_dir() / DISABLED_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"{n}\n" for n in sorted(names)), "utf-8")


def available(project: Path | None = None) -> list[tuple[str, str]]:
    """(name, source) of every profile: built-ins, then files; a name found twice is the first one."""
    found: dict[str, str] = {name: "built-in" for name in BUILTINS}
    for folder in folders(project):
        if folder.is_dir():
            for path in sorted(folder.glob("*.toml")):
                found.setdefault(path.stem, str(path))
    return list(found.items())


def _read(path: Path) -> str:
    return read_small_text(path, "profile", 1_000_000)


def load_profile(name: str, project: Path | None = None) -> ProfileFile:
    """A profile by name (built-in, project folder, user folder) or by path (ends in .toml)."""
    if name.endswith(".toml") or "/" in name:
        path = Path(name)
        return parse_profile(_read(path), str(path), path.stem)
    if name in disabled():
        raise ProfileError(f"profile {inert(name)!r} is disabled (phi-review profile enable {inert(name)})")
    if name in BUILTINS:
        return parse_profile(BUILTINS[name], f"built-in {name}", name)
    for folder in folders(project):
        path = folder / f"{name}.toml"
        if path.is_file():
            return parse_profile(_read(path), str(path), name)
    known = ", ".join(n for n, _ in available(project))
    raise ProfileError(f"no profile named {inert(name)!r}; known: {known}")


# ----------------------------------------------------------------------------- the editor


@dataclass
class BuiltEditor:
    """What ``fix`` needs from a profile: the header editor, the pseudonyms to check the run with, the record."""

    edit: Callable[[Dataset], list[dict[str, Any]]]
    pseudonyms: Pseudonyms | None
    how: dict[str, Any]


def build_editor(profile: ProfileFile, secret: bytes, *, extra_options: list[str] = (),  # type: ignore[assignment]
                 uid_root: str = "2.25", prefix: str | None = None, id_map: Path | None = None) -> BuiltEditor:
    """The header editor of ``profile`` (base, then rules) under ``secret``; the manifest's record of it."""
    from phi_review.core.remedy.profile import ProfileSettings, date_offset_days, profile_editor

    options = sorted(set(profile.options) | set(extra_options))
    if options and profile.base == "none":
        raise ProfileError("--option needs a profile whose base is basic")
    if profile.extras.dates_to_year and {"retain-full-dates", "retain-modified-dates"} & set(options):
        raise ProfileError(f"profile {inert(profile.name)} reduces dates to the year: it takes no date option")
    settings = ProfileSettings(secret=secret, options=option_keys(options), uid_root=uid_root)
    base = profile_editor(settings) if profile.base == "basic" else None
    pseudonyms = None
    if profile.pseudonym or prefix is not None or id_map is not None:
        mapping = load_id_map(id_map) if id_map is not None else None
        pseudonyms = Pseudonyms(secret, check_prefix(prefix if prefix is not None else profile.prefix), mapping,
                                str(id_map or ""))
    extras = profile.extras
    if pseudonyms is None and (rule := next((r for r in extras.rules if r.action == "pseudonym"), None)):
        raise ProfileError(f"{inert(profile.source)}:{rule.line}: action pseudonym needs pseudonym = true "
                           "(or --pseudonym-prefix, --id-map)")
    if base is not None and pseudonyms is None and not extras.rules and not extras.keep_creators \
            and not extras.dates_to_year and not extras.age_cap:
        edit = base
    else:
        edit = rule_editor(base, extras, secret, lambda ds: date_offset_days(ds, settings),
                           pseudonyms.for_dataset if pseudonyms else None,
                           f"phi-review profile {profile.name}"[:64] if base is not None else "")
    import hashlib

    how = {"profile": profile.name, "options": options}
    if profile.source != "built-in" and not profile.source.startswith("built-in"):
        how["profile_sha256"] = hashlib.sha256(profile.text.encode("utf-8")).hexdigest()
    if pseudonyms is not None:
        how["pseudonyms"] = "id-map" if id_map is not None else "keyed"
    return BuiltEditor(edit, pseudonyms, how)
