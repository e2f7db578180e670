"""Rules before eyes: conditions on tag values that send a file to pixel review, OCR or not.

In the spirit of a PACS's DICOM Actions, a TOML file lists rules; a file that
meets a rule gets a pixel row naming the rule, even when OCR reads nothing
(ultrasound and secondary capture carry burned-in text OCR can miss)::

    [[rule]]
    name = "Ultrasound"
    equals = { Modality = "US" }                 # a keyword's value, or any of a list (case-insensitive)

    [[rule]]
    name = "Declared burned-in annotation"
    equals = { BurnedInAnnotation = "YES" }

    [[rule]]
    name = "Secondary capture"
    contains = { ImageType = "SECONDARY" }       # one of the values (split on \\) is this word

    [[rule]]
    name = "Known burners"
    equals = { Manufacturer = ["ACME MEDICAL", "FOO"], ManufacturerModelName = "X-1" }
    match = "any"                                # default "all": every condition must hold

    [[rule]]
    name = "Vendor private block"
    private_creator = ["SIEMENS CSA HEADER"]

Without ``--rules`` the three first rules above apply (DEFAULT_RULES).
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from phi_review.core.common.errors import PhiReviewError
from phi_review.core.common.inert import inert

DEFAULT_RULES = """
[[rule]]
name = "Ultrasound"
equals = { Modality = "US" }

[[rule]]
name = "Declared burned-in annotation"
equals = { BurnedInAnnotation = "YES" }

[[rule]]
name = "Secondary capture"
contains = { ImageType = "SECONDARY" }
"""


@dataclass(frozen=True)
class Rule:
    name: str
    equals: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    contains: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    private_creator: tuple[str, ...] = ()
    any_of: bool = False

    def why(self, values: Mapping[str, str], creators: set[str]) -> str | None:
        """What made the rule hold ("Modality is US"), or None when it does not."""
        found: list[str] = []
        checks = 0
        for keyword, wanted in self.equals.items():
            checks += 1
            have = values.get(keyword, "").strip().upper()
            if have and have in wanted:
                found.append(f"{keyword} is {have}")
        for keyword, wanted in self.contains.items():
            checks += 1
            words = {w.strip().upper() for w in values.get(keyword, "").split("\\")}
            hit = sorted(words & set(wanted))
            if hit:
                found.append(f"{keyword} has {hit[0]}")
        if self.private_creator:
            checks += 1
            hit = sorted({c.strip().upper() for c in creators} & set(self.private_creator))
            if hit:
                found.append(f"private creator {hit[0]}")
        if not found or (not self.any_of and len(found) < checks):
            return None
        return "; ".join(found)


def _strings(value: object, where: str) -> tuple[str, ...]:
    items = value if isinstance(value, list) else [value]
    if not items or not all(isinstance(v, str) for v in items):
        raise PhiReviewError(f"{where}: give a text or a list of texts")
    return tuple(v.strip().upper() for v in items)


def parse_rules(text: str, source: str = "rules") -> list[Rule]:
    """Rules from TOML text; PhiReviewError (one line) for anything malformed."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise PhiReviewError(f"{inert(source)}: not valid TOML ({inert(str(error))})") from None
    rules: list[Rule] = []
    entries = data.get("rule", [])
    if not isinstance(entries, list):
        raise PhiReviewError(f"{inert(source)}: write each rule as a [[rule]] table")
    for n, entry in enumerate(entries, 1):
        where = f"{inert(source)}: rule {n}"
        name = entry.get("name")
        if not isinstance(name, str) or not name.strip():
            raise PhiReviewError(f"{where}: a rule needs a name")
        unknown = set(entry) - {"name", "equals", "contains", "private_creator", "match"}
        if unknown:
            raise PhiReviewError(f"{where}: unknown key {inert(sorted(unknown)[0])!r}")
        tables = {}
        for key in ("equals", "contains"):
            table = entry.get(key, {})
            if not isinstance(table, dict):
                raise PhiReviewError(f"{where}: {key} must be a table of keyword = value")
            tables[key] = {k: _strings(v, f"{where} {key}.{inert(k)}") for k, v in table.items()}
        creators = _strings(entry["private_creator"], f"{where} private_creator") if "private_creator" in entry else ()
        match = entry.get("match", "all")
        if match not in ("all", "any"):
            raise PhiReviewError(f"{where}: match is \"all\" or \"any\"")
        if not (tables["equals"] or tables["contains"] or creators):
            raise PhiReviewError(f"{where}: a rule needs a condition (equals, contains or private_creator)")
        rules.append(Rule(name.strip(), tables["equals"], tables["contains"], creators, match == "any"))
    return rules


def load_rules(path: Path | None) -> list[Rule]:
    """The rules of ``path``, or the default rules."""
    if path is None:
        return parse_rules(DEFAULT_RULES, "default rules")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise PhiReviewError(f"{inert(str(path))}: cannot read the rules ({inert(type(error).__name__)})") from None
    return parse_rules(text, str(path))
