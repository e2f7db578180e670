"""Write a profile as a pydicom/deid recipe (``FORMAT dicom``, ``%header``).

Why: a site that runs deid elsewhere should get the same policy, written out,
not a summary. deid keeps every attribute a recipe does not name, so the base
(PS3.15 E.1-1 with the profile's options) is expanded into one explicit line
per attribute: every row of the table, and every attribute of the pydicom
dictionary that no row names (dates, names and free text, treated by VR as
``profile.py`` treats them). The profile's own rules then decide, per
attribute, the last one winning as it does when they run.

What deid cannot say (the keyed UID map, Clean, the per-patient date shift,
keyed hashes, pseudonyms, regular-expression replaces, the private-creator
allow-list, Safe Harbor's year and age cap, unknown attributes) is never
dropped: a stricter line stands in its place where one exists, a comment
beside it says what the profile does instead, and ``Exported.unsupported``
names each construct in one line (the CLI prints them and exits 1).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from pydicom.datadict import DicomDictionary, keyword_for_tag

from phi_review.core.remedy.profile import CODE_PARTS, CONTENT_TREES, DUMMIES, FREE_TEXT_VRS, TEXT_VALUES
from phi_review.core.remedy.profile_file import ProfileFile
from phi_review.core.remedy.profile_rules import Rule
from phi_review.core.remedy.profile_table import action_for, load_table, option_keys

EXPRESSIBLE = ("remove", "empty", "replace", "keep")
# what the profile writes itself after the walk (its marks): exported as ADD lines, never as rules on the base
MARKS = {0x00120062: "PatientIdentityRemoved", 0x00120063: "DeidentificationMethod",
         0x00120064: "DeidentificationMethodCodeSequence", 0x00280303: "LongitudinalTemporalInformationModified"}
# (stand-in deid action, what the profile does instead) for each construct deid cannot express
_STAND_IN: dict[str, tuple[str, str]] = {
    "uid": ("uid", "keyed UID map (secret): written as deid_func:pydicom_uuid, stable but not keyed"),
    "shift": ("remove", "date shifted by the patient's keyed offset: written as REMOVE"),
    "clean": ("empty", "Clean (the file's identifiers and dates taken out of the text): written as BLANK"),
    "hash": ("empty", "keyed hash (secret): written as BLANK"),
    "dummy-bytes": ("empty", "a dummy of a byte VR: written as BLANK"),
}


@dataclass(frozen=True)
class Effect:
    """What a profile does to one attribute: an action of the rules' vocabulary, a value for replace."""

    action: str  # remove | empty | replace | keep | unchanged | recurse | uid | shift | clean | hash | ...
    value: str | None = None
    rule_line: int | None = None  # the profile line of the rule that decided it, if a rule did

    @property
    def expressible(self) -> bool:
        return self.action in EXPRESSIBLE or self.action in ("unchanged", "recurse")


@dataclass
class Exported:
    """The recipe text and one line per construct it could not express (empty: the export is complete)."""

    text: str
    unsupported: list[str] = field(default_factory=list)
    lines: int = 0  # %header action lines written

    @property
    def complete(self) -> bool:
        return not self.unsupported


def dictionary_tags() -> list[int]:
    """Public data-set attributes the dictionary knows (no command, file meta or directory groups, no lengths)."""
    return [t for t in DicomDictionary if (t >> 16) not in (0x0000, 0x0002, 0x0004) and t & 0xFFFF
            and not (t >> 16) % 2]


def _vr(tag: int) -> str:
    entry = DicomDictionary.get(tag)
    return entry[0] if entry else "UN"


def base_effect(tag: int, keys: frozenset[str]) -> Effect:
    """What the Basic Profile with ``keys`` does to ``tag`` (``profile._apply`` / ``_unnamed`` in our words)."""
    table = load_table()
    vr = _vr(tag)
    row = table.exact.get(tag)
    if row is None:
        return _unnamed_effect(tag, vr, keys)
    act = action_for(row, keys)
    seq = vr == "SQ"
    if act == "X":
        return Effect("remove")
    if act in ("Z", "X/Z"):
        return Effect("empty")
    if act == "K":
        return Effect("recurse" if seq else "keep")
    if act in ("D", "X/D", "X/Z/D", "Z/D"):
        if seq:
            if tag in CONTENT_TREES and act == "D":
                return Effect("content")
            return Effect("empty" if act in ("X/Z/D", "Z/D") else "recurse")
        return _dummy_effect(vr)
    if act in ("U", "X/Z/U*"):
        return Effect("recurse" if seq else ("uid" if vr == "UI" else "empty"))
    if act == "C":
        if seq:
            return Effect("content" if tag in CONTENT_TREES else "recurse")
        if vr in ("DA", "DT"):
            return Effect("shift")
        if vr in ("LO", "SH", "LT", "ST", "UT", "UC", "PN", "CS"):
            return Effect("clean")
        return Effect("unchanged")
    return Effect("unknown-" + act)  # pragma: no cover - the table is generated


def _dummy_effect(vr: str) -> Effect:
    if vr == "UI":
        return Effect("uid")
    value = DUMMIES.get(vr, "")
    if isinstance(value, bytes):
        return Effect("dummy-bytes")
    return Effect("replace", str(value)) if str(value) != "" else Effect("empty")


def _unnamed_effect(tag: int, vr: str, keys: frozenset[str]) -> Effect:
    """An attribute no row names, by its VR: dates go or move, names get a dummy, free text is cleaned."""
    if vr == "SQ":
        return Effect("recurse")
    if vr in ("DA", "DT", "TM"):
        if "retain_full_dates" in keys or ("retain_modified_dates" in keys and vr == "TM"):
            return Effect("unchanged")
        return Effect("shift" if "retain_modified_dates" in keys else "remove")
    if vr == "PN" or tag in TEXT_VALUES:
        return _dummy_effect(vr)
    if vr in FREE_TEXT_VRS and tag not in CODE_PARTS:
        return Effect("clean")
    return Effect("unchanged")


def rule_effect(rule: Rule, vr: str, before: Effect) -> Effect:
    """What ``rule`` makes of an attribute the base left as ``before`` (rules read the original value)."""
    line = rule.line
    if rule.action in ("remove", "empty", "keep"):
        return Effect(rule.action, None, line)
    if rule.action == "dummy":
        made = _dummy_effect(vr) if vr != "SQ" else Effect("empty")
        return Effect(made.action, made.value, line)
    if rule.action == "replace":
        if rule.pattern is not None:
            return Effect("regex", rule.pattern, line)
        if vr in ("SQ", "OB", "OW", "UN"):
            return before
        return Effect("replace", rule.value or "", line) if rule.value else Effect("empty", None, line)
    if rule.action == "hash":
        return Effect("uid" if vr == "UI" else "hash", None, line)
    return Effect(rule.action, None, line)  # shift, pseudonym


def effects(profile: ProfileFile) -> dict[int, Effect]:
    """The effect of ``profile`` on every public attribute the table or the dictionary knows (not the marks)."""
    keys = option_keys(profile.options)
    table = load_table()
    tags = sorted((set(table.exact) | set(dictionary_tags())) - set(MARKS))
    out: dict[int, Effect] = {}
    for tag in tags:
        vr = _vr(tag)
        effect = base_effect(tag, keys) if profile.base == "basic" else Effect("unchanged")
        for rule in profile.extras.rules:
            if rule.creator is None and (rule.tag == tag or (rule.tag is None and rule.group == tag >> 16)):
                effect = rule_effect(rule, vr, effect)
        out[tag] = effect
    return out


def _name(tag: int) -> str:
    return keyword_for_tag(tag) or f"({tag >> 16:04X},{tag & 0xFFFF:04X})"


def _line_for(tag: int, effect: Effect) -> str | None:
    """The deid line carrying ``effect`` (a stand-in for what deid cannot say); None: deid's default is right."""
    name = _name(tag)
    action = effect.action
    if action in _STAND_IN:
        action = _STAND_IN[action][0]
    if action == "remove":
        return f"REMOVE {name}"
    if action == "empty":
        return f"BLANK {name}"
    if action == "keep":
        return f"KEEP {name}"
    if action == "replace":
        return f"REPLACE {name} {effect.value}"
    if action == "uid":
        return f"REPLACE {name} deid_func:pydicom_uuid"
    return None


def export_deid(profile: ProfileFile) -> Exported:
    """``profile`` as deid recipe text; what it cannot express named in ``unsupported`` and in comments."""
    out = ["FORMAT dicom", "", f"# phi-review profile {profile.name} exported as a deid recipe.",
           f"# base: {profile.base}; options: {', '.join(profile.options) or 'none'}.",
           "# Every attribute is named: deid keeps what a recipe does not name.", "", "%header", ""]
    result = Exported("")
    missing: dict[str, list[str]] = {}

    def unsupported(kind: str, what: str) -> None:
        missing.setdefault(kind, []).append(what)

    header_lines = 0
    for tag, effect in effects(profile).items():
        line = _line_for(tag, effect)
        note = ""
        if effect.action in _STAND_IN:
            note = _STAND_IN[effect.action][1]
        elif effect.action == "regex":
            line, note = _line_for(tag, base_effect(tag, option_keys(profile.options))) or f"BLANK {_name(tag)}", \
                "regular-expression replace: written as the base's action"
        elif effect.action == "pseudonym":
            line, note = f"BLANK {_name(tag)}", "pseudonym: written as BLANK"
        elif effect.action == "content":
            note = "content tree: its Text Values get a dummy (TextValue's own line)"
        if note:
            where = f" (profile line {effect.rule_line})" if effect.rule_line else ""
            # a rule of the profile gets a line of its own; the base's constructs one line per kind
            unsupported(note + (f" [rule at profile line {effect.rule_line}]" if effect.rule_line else ""),
                        _name(tag) + where)
            out.append(f"# UNSUPPORTED {_name(tag)}{where}: {note}")
        if line:
            out.append(line)
            header_lines += 1
    header_lines += _profile_level(profile, out, unsupported)
    for note, names in missing.items():
        shown = ", ".join(names[:3]) + (f", ... ({len(names)} in all)" if len(names) > 3 else "")
        result.unsupported.append(f"{note}: {shown}")
    result.text = "\n".join(out) + "\n"
    result.lines = header_lines
    return result


def _profile_level(profile: ProfileFile, out: list[str], unsupported: Callable[[str, str], None]) -> int:
    """Private attributes, pseudonyms, Safe Harbor, creator rules and the marks: lines and comments."""
    keys = option_keys(profile.options)
    extras = profile.extras
    written = 0
    out.append("")
    if profile.base == "basic":
        table = load_table()
        for mask, value, _row in table.masks:  # curve data, overlay data and comments: a regex on the tag
            pattern = "".join("[0-9a-f]" if not (mask >> (28 - 4 * i)) & 0xF else f"{(value >> (28 - 4 * i)) & 0xF:x}"
                              for i in range(8))
            out.append(f"REMOVE contains:^{pattern}$")
            written += 1
        if action_for(table.private, keys) != "X" or extras.keep_creators:
            what = ("Retain Safe Private" if action_for(table.private, keys) != "X" else "") + \
                   (" private-creator allow-list " + ", ".join(sorted(extras.keep_creators))
                    if extras.keep_creators else "")
            note = f"{what.strip()}: written as REMOVE of every private attribute"
            unsupported(note, "private attributes")
            out.append(f"# UNSUPPORTED private attributes: {note}")
        out.append("REMOVE contains:^[0-9a-f]{3}[13579bdf][0-9a-f]{4}$")  # every odd group: private
        written += 1
        note = "attributes the dictionary does not know are removed; deid has no selector for them"
        unsupported(note, "unknown public attributes")
        out.append(f"# UNSUPPORTED unknown public attributes: {note}")
    for rule in extras.rules:
        private_group = rule.group is not None and rule.group % 2
        if rule.creator is not None or private_group:
            what = f"creator {rule.creator}" if rule.creator is not None else f"group {rule.group:04X}"
            note = f"a private {'creator' if rule.creator is not None else 'group'} rule: left to the private lines"
            unsupported(f"{note} [rule at profile line {rule.line}]", f"{what} (profile line {rule.line})")
            out.append(f"# UNSUPPORTED {what} (profile line {rule.line}): {note}")
    if profile.pseudonym:
        note = "keyed pseudonyms for PatientName and PatientID: written as the base's lines"
        unsupported(note, "PatientName, PatientID")
        out.append(f"# UNSUPPORTED pseudonym: {note}")
    if extras.dates_to_year:
        unsupported("dates reduced to the year: written as the base's date lines", "every DA and DT")
        out.append("# UNSUPPORTED dates to the year: written as the base's date lines")
    if extras.age_cap:
        unsupported(f"ages of {extras.age_cap} or more capped: PatientAge written as the base's line", "PatientAge")
        out.append("# UNSUPPORTED age cap: PatientAge written as the base's line")
    if not profile.pixels.default:
        note = "pixel settings ([pixels]): a deid header recipe holds none (deid's own %filter carries known regions)"
        unsupported(note, "[pixels]")
        out.append(f"# UNSUPPORTED [pixels]: {note}")
    if profile.base == "basic":
        dates = "UNMODIFIED" if "retain_full_dates" in keys else (
            "MODIFIED" if "retain_modified_dates" in keys or extras.dates_to_year else "REMOVED")
        out += ["ADD PatientIdentityRemoved YES",
                "ADD DeidentificationMethod " + f"phi-review profile {profile.name} (deid export)"[:64],
                f"ADD LongitudinalTemporalInformationModified {dates}"]
        written += 3
        note = "De-identification Method Code Sequence (a sequence): not written"
        unsupported(note, "DeidentificationMethodCodeSequence")
        out.append(f"# UNSUPPORTED DeidentificationMethodCodeSequence: {note}")
    return written
