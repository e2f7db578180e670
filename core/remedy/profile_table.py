"""DICOM PS3.15 Annex E, Table E.1-1, as shipped data: its actions per attribute and per option.

The table comes from a machine-readable copy (``ps3_15_e1_1.json``, made by
``scripts/make_ps3_15_table.py``, its edition named inside), never a hand-typed list.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

from phi_review.core.common.errors import PhiReviewError

TABLE_FILE = "ps3_15_e1_1.json"

# CLI names of the options reviewers use -> the table's option keys.
OPTION_NAMES: dict[str, str] = {
    "retain-modified-dates": "retain_modified_dates",
    "retain-full-dates": "retain_full_dates",
    "retain-patient-characteristics": "retain_patient_characteristics",
    "retain-device-identity": "retain_device_id",
    "retain-institution-identity": "retain_institution_id",
    "retain-uids": "retain_uid",
    "retain-safe-private": "retain_safe_private",
    "clean-descriptors": "clean_descriptors",
    "clean-structured-content": "clean_structured_content",
}

# Retention wins over cleaning when two chosen options name one attribute.
_STRENGTH = {"K": 3, "C": 2, "U": 1}



class ProfileError(PhiReviewError):
    """A profile setting cannot be used (unknown option, bad UID root)."""


@dataclass(frozen=True)
class Table:
    """Table E.1-1: action per attribute for the Basic Profile and each option."""

    edition: str
    basic_code: str
    options: dict[str, dict[str, str]]
    exact: dict[int, dict[str, Any]]
    masks: list[tuple[int, int, dict[str, Any]]]
    private: dict[str, Any]


@lru_cache(maxsize=1)
def load_table() -> Table:
    """The packaged table, parsed once."""
    text = resources.files("phi_review.core.remedy").joinpath(TABLE_FILE).read_text("utf-8")
    doc = json.loads(text)
    exact: dict[int, dict[str, Any]] = {}
    masks: list[tuple[int, int, dict[str, Any]]] = []
    private: dict[str, Any] = {}
    for row in doc["rows"]:
        tag = row["tag"]
        if tag == "private":
            private = row
        elif "x" in tag:
            mask = int("".join("0" if c == "x" else "F" for c in tag), 16)
            value = int(tag.replace("x", "0"), 16)
            masks.append((mask, value, row))
        else:
            exact[int(tag, 16)] = row
    return Table(doc["edition"], doc["basic_code"], doc["options"], exact, masks, private)


def option_keys(names: Iterable[str]) -> frozenset[str]:
    """CLI option names (or table keys) -> table keys; one line for an unknown one."""
    keys = set()
    for name in names:
        key = OPTION_NAMES.get(name.strip().lower().replace("_", "-"))
        if key is None and name in OPTION_NAMES.values():
            key = name
        if key is None:
            raise ProfileError(f"unknown option {name!r}; known: {', '.join(OPTION_NAMES)}")
        keys.add(key)
    return frozenset(keys)


def action_for(row: dict[str, Any], options: frozenset[str]) -> str:
    """The row's action with the chosen options applied (retention beats cleaning)."""
    chosen = [a for k, a in row["options"].items() if k in options]
    if not chosen:
        return row["basic"]
    return max(chosen, key=lambda a: _STRENGTH.get(a, 0))


def code_meaning(value: str) -> str:
    """CID 7050 meaning of a DCM code, from pydicom's copy of PS3.16."""
    from pydicom.sr._concepts_dict import concepts

    for entry in concepts["DCM"].values():
        if value in entry:
            return str(entry[value][0])
    return value


def method_codes(settings: Any, table: Table | None = None) -> list[tuple[str, str]]:
    """(code value, meaning) of the Basic Profile and each chosen option, CID 7050."""
    table = table or load_table()
    values = [table.basic_code] + sorted(table.options[k]["code"] for k in settings.options)
    return [(v, code_meaning(v)) for v in values]
