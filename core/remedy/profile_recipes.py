"""Import a CTP DicomAnonymizer script or a pydicom/deid recipe as a phi-review profile (TOML text).

Why: sites already hold such recipes; retyping them loses rules. The import is
conservative: the result always has ``base = "basic"`` (PS3.15 runs first), a
recipe's keep becomes a rule with ``allow_keep = true`` and a comment naming the
recipe's line (so a reviewer sees every place the recipe is looser than the
standard), and what we cannot express is removed, never kept, with a comment
saying why. deid's ``startswith:``/``endswith:``/``contains:`` on REMOVE or BLANK
are matched over the DICOM dictionary as deid matches a file's attributes (one
rule with a keyword list); a field naming no attribute, and a line for the
marks the profile writes itself, are named and not carried. Other selectors
(``ALL``, ``select:``, an expander on KEEP or REPLACE) are an error naming the
file and line. ``Imported.outcome`` says what became of every recipe line. The
text written passes ``parse_profile``.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

from pydicom.datadict import dictionary_VR, keyword_for_tag, tag_for_keyword

from phi_review.core.common.inert import inert
from phi_review.core.remedy.profile_table import ProfileError

FORMATS = ("ctp", "deid")


@dataclass
class Imported:
    """The profile text, and what the import could not carry over (line numbers and reasons, no values)."""

    text: str
    rules: int = 0
    loosened: int = 0  # keeps of what the Basic Profile changes
    notes: list[str] = field(default_factory=list)
    outcome: dict[int, str] = field(default_factory=dict)  # recipe line -> the rule's action, or "skipped"


def _q(text: str) -> str:
    return json.dumps(text, ensure_ascii=True)  # a TOML basic string


class _Writer:
    def __init__(self, source: str, fmt: str) -> None:
        self.out = [f"# imported from {fmt} recipe {Path(source).name}; review every rule, allow_keep above all",
                    'base = "basic"']
        self.options: set[str] = set()
        self.pseudonym = False
        self.rules: list[str] = []
        self.result = Imported("")

    def rule(self, where: str, selector: str, action: str, line: int, *, value: str | None = None,
             note: str = "") -> None:
        action, value, note = _fit(selector, action, value, note)
        self.result.outcome[line] = action or "skipped"
        if action == "":
            self.result.notes.append(f"line {line}: {note}")
            return
        block = ["", f"# {Path(where).name}:{line}" + (f": {note}" if note else ""), "[[rule]]", selector,
                 f'action = "{action}"']
        if value is not None:
            block.append(f"value = {_q(value)}")
        if action == "keep":
            block.append("allow_keep = true")
            self.result.loosened += 1
        if note:
            self.result.notes.append(f"line {line}: {note}")
        self.rules.extend(block)
        self.result.rules += 1

    def rule_many(self, where: str, tags: list[int], action: str, line: int, note: str) -> None:
        """One rule over many attributes (a deid expander matched against the dictionary)."""
        tags = [t for t in tags if t not in _MARKS]
        keywords = [k for k in (keyword_for_tag(t) for t in tags) if k]
        plain = [t for t in tags if not keyword_for_tag(t)]
        if not tags:
            self.skip(line, "matches no attribute the dictionary knows: nothing to carry (the Basic Profile "
                            "removes unknown and private attributes)")
            return
        self.result.outcome[line] = action
        self.result.notes.append(f"line {line}: {note}")
        for key, items in (("keyword", keywords), ("tag", [f"({t >> 16:04X},{t & 0xFFFF:04X})" for t in plain])):
            if items:
                listed = ", ".join(_q(i) for i in items)
                self.rules.extend(["", f"# {Path(where).name}:{line}: {note}", "[[rule]]", f"{key} = [{listed}]",
                                   f'action = "{action}"'])
        self.result.rules += 1

    def skip(self, line: int, note: str) -> None:
        """A recipe line carried by nothing: named, never dropped in silence."""
        self.result.outcome[line] = "skipped"
        self.result.notes.append(f"line {line}: {note}")

    def finish(self) -> Imported:
        lines = list(self.out)
        lines.append(f"options = [{', '.join(_q(o) for o in sorted(self.options))}]")
        if self.pseudonym:
            lines.append("pseudonym = true")
        self.result.text = "\n".join(lines + self.rules) + "\n"
        return self.result


def _fit(selector: str, action: str, value: str | None, note: str) -> tuple[str, str | None, str]:
    """The action if the profile can carry it out on this attribute's VR; else remove (or skip), saying why."""
    from pydicom.datadict import dictionary_has_tag

    from phi_review.core.remedy.profile_rules import HASH_VRS, PSEUDONYM_VRS, SHIFT_VRS

    found = re.search(r'"(.*)"', selector)
    name = found[1] if found else ""
    tag = tag_for_keyword(name) if selector.startswith("keyword") else None
    if selector.startswith("tag"):
        tag = int(re.sub(r"[(),]", "", name), 16)
    if tag in _MARKS:
        return "", None, f"{_MARKS[tag]} is the profile's own mark (written after the rules): not carried"
    if tag is None or (tag >> 16) % 2:
        return action, value, note
    if not dictionary_has_tag(tag):
        return "", None, "an attribute the dictionary does not know: skipped (the Basic Profile removes it)"
    vr = dictionary_VR(tag)
    allowed = {"hash": HASH_VRS, "shift": SHIFT_VRS, "pseudonym": PSEUDONYM_VRS}.get(action)
    if allowed is not None and vr not in allowed:
        return "remove", None, f"{action} cannot write VR {vr}: removed instead"
    if action == "replace" and vr in ("SQ", "OB", "OW", "UN"):
        return "remove", None, f"a value for VR {vr}: removed instead"
    return action, value, note


def _selector_for_tag(tag: int) -> str:
    keyword = keyword_for_tag(tag)
    return f'keyword = "{keyword}"' if keyword else f'tag = "({tag >> 16:04X},{tag & 0xFFFF:04X})"'


def _value_ok(tag: int, value: str) -> bool:
    from phi_review.core.remedy.profile_file import _valid_for

    try:
        return _valid_for(value, dictionary_VR(tag))
    except KeyError:
        return True


# what the profile writes itself after the base (its marks): a recipe's line for them is named, not carried
_MARKS = {0x00120062: "PatientIdentityRemoved", 0x00120063: "DeidentificationMethod",
          0x00120064: "DeidentificationMethodCodeSequence", 0x00280303: "LongitudinalTemporalInformationModified"}
_CTP_HASH = re.compile(r"@(hash|hashname|hashptid|hashuid)\(", re.IGNORECASE)


def import_ctp(text: str, source: str) -> Imported:
    """A CTP DicomAnonymizer script (``<e>``, ``<k>``, ``<r>``, ``<p>`` elements) as profile text."""
    if "<!ENTITY" in text or "<!DOCTYPE" in text:
        raise ProfileError(f"{inert(source)}: a DOCTYPE or entity in an anonymizer script is refused")
    try:
        root = ET.fromstring(text)
    except ET.ParseError as error:
        raise ProfileError(f"{inert(source)}:{error.position[0]}: not a CTP anonymizer script (XML)") from None
    lines = _ctp_lines(text)
    writer = _Writer(source, "CTP")
    for index, elem in enumerate(root):
        line = lines[index] if index < len(lines) else 1
        if elem.get("en", "T").upper() != "T" or elem.tag == "p":
            continue
        target = (elem.get("t") or "").strip().lower()
        if elem.tag == "k":
            if target == "safeprivateelements":
                writer.options.add("retain-safe-private")
                writer.result.outcome[line] = "option retain-safe-private"
            elif re.fullmatch(r"[0-9a-f]{4}", target):
                writer.rule(source, f'group = "{target.upper()}"', "keep", line, note="keep group")
            continue
        if elem.tag == "r":  # private groups, unspecified elements, curves, overlays: the Basic Profile removes them
            writer.skip(line, f"<r> {inert(target)}: the Basic Profile removes these already")
            continue
        if elem.tag != "e" or not re.fullmatch(r"[0-9a-f]{8}", target):
            raise ProfileError(f"{inert(source)}:{line}: element <{inert(elem.tag)}> t={inert(target)!r} "
                               "is not understood")
        tag = int(target, 16)
        body = (elem.text or "").strip()
        always = body.lower().startswith("@always()")
        while body.lower().startswith("@always()"):  # "even when absent": a rule writes where the attribute is
            body = body[len("@always()"):].strip()
        selector = _selector_for_tag(tag)
        lowered = body.lower()
        if lowered.startswith("@process()") and tag not in _MARKS:
            writer.skip(line, "@process: the rules already run inside every sequence item")
            continue
        if body == "" or lowered.startswith("@empty("):
            writer.rule(source, selector, "empty", line)
        elif lowered.startswith("@remove("):
            writer.rule(source, selector, "remove", line)
        elif lowered.startswith(("@keep(", "@require(")):
            writer.rule(source, selector, "keep", line)
        elif lowered.startswith("@incrementdate("):
            writer.rule(source, selector, "shift", line, note="per-patient keyed offset instead of @DATEINC")
        elif _CTP_HASH.match(body):
            writer.rule(source, selector, "hash", line)
        elif lowered.startswith("@lookup("):
            writer.pseudonym = True
            writer.rule(source, selector, "pseudonym", line, note="@lookup: give the table as --id-map")
        elif not body.startswith("@") and _value_ok(tag, body):
            writer.rule(source, selector, "replace", line, value=body,
                        note="@always: written where the attribute is present, not added" if always else "")
        else:
            name = re.match(r"@?([A-Za-z]*)", body)
            writer.rule(source, selector, "remove", line,
                        note=f"@{inert(name[1] if name else '')} is not supported: removed instead")
    return writer.finish()


def _ctp_lines(text: str) -> list[int]:
    """The line of each top-level child element, in order (ElementTree keeps no positions)."""
    found = []
    for match in re.finditer(r"<(e|k|r|p)\b", text):
        found.append(text.count("\n", 0, match.start()) + 1)
    return found


_DEID_ACTIONS = {"ADD", "BLANK", "REMOVE", "KEEP", "REPLACE", "JITTER", "LABEL"}


def import_deid(text: str, source: str) -> Imported:
    """A pydicom/deid recipe's ``%header`` section as profile text (``%filter`` sections are pixel rules: skipped)."""
    writer = _Writer(source, "deid")
    section = "header"
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line or line.upper().startswith("FORMAT"):
            continue
        if line.startswith("%"):
            section = line[1:].split()[0].lower() if line[1:].split() else ""
            if section != "header":
                writer.result.notes.append(f"line {number}: section %{inert(section)} skipped (pixel filters)")
            continue
        if section != "header":
            continue
        parts = line.split(None, 2)
        action = parts[0].upper()
        if action not in _DEID_ACTIONS:
            raise ProfileError(f"{inert(source)}:{number}: unknown deid action {inert(parts[0])!r}")
        if action == "LABEL":
            continue
        if len(parts) < 2:
            raise ProfileError(f"{inert(source)}:{number}: {action} needs a field")
        _deid_line(writer, source, number, action, parts[1], parts[2].strip() if len(parts) > 2 else None)
    return writer.finish()


_EXPANDERS = ("startswith", "endswith", "contains")


def _deid_line(writer: _Writer, source: str, number: int, action: str, name: str, value: str | None) -> None:
    """One ``%header`` action line: mapped to a rule, expanded over the dictionary, or named as not carried."""
    def fail(what: str) -> ProfileError:
        return ProfileError(f"{inert(source)}:{number}: {what}")

    expander = name.split(":", 1)[0].lower() if ":" in name else ""
    tag = None if expander else _deid_field(name)
    if tag is None:
        if action not in ("REMOVE", "BLANK"):
            raise fail(f"field {inert(name)!r} cannot be imported for {action} (only a keyword or a tag)")
        if expander and expander not in _EXPANDERS:
            raise fail(f"field {inert(name)!r} cannot be imported (only a keyword, a tag, startswith:, "
                       "endswith: or contains:)")
        if not expander:
            writer.skip(number, f"{inert(name)!r} names no attribute of the dictionary: nothing to "
                                f"{action.lower()} (the Basic Profile removes unknown and private attributes)")
            return
        tags = deid_expand(expander, name.split(":", 1)[1])
        verb = "remove" if action == "REMOVE" else "empty"
        writer.rule_many(source, tags, verb, number,
                         f"{expander}:{inert(name.split(':', 1)[1])} matched over the dictionary ({len(tags)})")
        return
    selector = _selector_for_tag(tag)
    if action == "BLANK":
        writer.rule(source, selector, "empty", number)
    elif action == "REMOVE":
        writer.rule(source, selector, "remove", number)
    elif action == "KEEP":
        writer.rule(source, selector, "keep", number)
    elif action == "JITTER":
        writer.rule(source, selector, "shift", number, note="per-patient keyed offset instead of a fixed jitter")
    elif value is None:
        raise fail(f"{action} needs a value")
    elif value.startswith(("func:", "deid_func:")) and "uid" in value.lower():
        writer.rule(source, selector, "hash", number, note="a UID function: the keyed UID map")
    elif value.startswith(("func:", "var:", "deid_func:")):
        writer.rule(source, selector, "remove", number, note="a function or variable is not supported: removed")
    elif _value_ok(tag, value):
        writer.rule(source, selector, "replace", number, value=value,
                    note="ADD: written where the attribute is present, not added" if action == "ADD" else "")
    else:
        writer.rule(source, selector, "remove", number, note="the value is not valid for the VR: removed")


def deid_expand(expander: str, expression: str) -> list[int]:
    """The public attributes of the dictionary deid's ``expander:expression`` selects (as deid matches a
    field: a case-insensitive search in its keyword, its name and its tag written two ways)."""
    from phi_review.core.remedy.profile_export import dictionary_tags

    expression = expression.lower()
    pattern = {"endswith": f"({expression})$", "startswith": f"^({expression})"}.get(expander, expression)
    try:
        found = re.compile(pattern, re.IGNORECASE)
    except re.error:
        return []
    from pydicom.datadict import DicomDictionary

    picked = []
    for tag in dictionary_tags():
        _vr, _vm, title, _retired, keyword = DicomDictionary[tag]
        texts = (keyword, title, f"({tag >> 16:04x},{tag & 0xFFFF:04x})", f"{tag:08X}")
        if any(found.search(t) for t in texts):
            picked.append(tag)
    return picked


def _deid_field(text: str) -> int | None:
    text = text.strip()
    tag = tag_for_keyword(text)
    if tag is not None:
        return int(tag)
    cleaned = re.sub(r"[()\s,]", "", text)
    return int(cleaned, 16) if re.fullmatch(r"[0-9A-Fa-f]{8}", cleaned) else None


def import_recipe(path: Path, fmt: str) -> Imported:
    """Read ``path`` (regular, bounded) as ``fmt`` and check the profile text it gives."""
    from phi_review.core.remedy.profile_file import parse_profile
    from phi_review.core.remedy.pseudonym import read_small_text

    if fmt not in FORMATS:
        raise ProfileError(f"unknown recipe format {inert(fmt)!r}; known: {', '.join(FORMATS)}")
    text = read_small_text(path, "recipe", 4_000_000)
    imported = import_ctp(text, str(path)) if fmt == "ctp" else import_deid(text, str(path))
    parse_profile(imported.text, f"{path} (imported)")
    return imported
