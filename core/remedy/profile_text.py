"""Free text and the file's own identifiers: what Clean strips from descriptions and content items.

Why its own module: the profile's walk decides which attribute is cleaned; what
counts as an identifier of this file (the patient's names and IDs, every person
named anywhere in it) and how text loses them is one small concern of its own.
"""

from __future__ import annotations

import re
from typing import Any

from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset
from pydicom.multival import MultiValue

from phi_review.core.dicom.header import raw_vr


def _values(elem: DataElement) -> list[Any]:
    value = elem.value
    if value is None or value == "":
        return []
    if isinstance(value, (list, MultiValue)):
        return list(value)
    return [value]


def _person_names(ds: Dataset) -> list[DataElement]:
    """Every PN element at any depth; only those (and sequences) are converted from their raw bytes."""
    found: list[DataElement] = []
    for tag in list(ds.keys()):
        vr = raw_vr(ds, tag)
        if vr == "PN":
            found.append(ds[tag])
        elif vr == "SQ":
            for item in ds[tag].value or []:
                found += _person_names(item)
    return found


def _identifiers(ds: Dataset) -> list[str]:
    """The file's own identifying strings that Clean removes from free text."""
    found: list[str] = []
    name = ds.get("PatientName")
    if name:
        found += [p for p in re.split(r"[\^=\s,]+", str(name)) if len(p) >= 2]
    for elem in _person_names(ds):  # every person in the file (observers, physicians) is an identifier too
        if elem.VR == "PN":
            for value in _values(elem):
                text = str(value).strip()
                found += ([text] if len(text) >= 2 else []) + [p for p in re.split(r"[\^=\s,]+", text) if len(p) >= 3]
    for kw in ("PatientID", "OtherPatientIDs", "AccessionNumber", "InstitutionName",
               "ReferringPhysicianName", "PatientBirthDate", "StudyID", "OperatorsName",
               "PerformingPhysicianName", "InstitutionAddress", "StationName"):
        value = ds.get(kw)
        if value is None or value == "":
            continue
        values = value if isinstance(value, (list, MultiValue)) else [value]
        for v in values:
            text = str(v).strip()
            if len(text) >= 2:
                found.append(text)
                found += [p for p in re.split(r"[\^=\s,]+", text) if len(p) >= 3 and kw.endswith("Name")]
    return sorted(set(found), key=len, reverse=True)


def clean_text(text: str, identifiers: list[str]) -> str:
    """Remove every occurrence of the file's identifiers (case-insensitive).

    Four characters or more: wherever they occur ("MRNQF559913" loses its ID); shorter
    ones (a name "Li") only as whole words, so "Philips" and "Liver" stay whole.
    """
    for ident in identifiers:
        pattern = re.escape(ident) if len(ident) >= 4 else rf"(?<![^\W_]){re.escape(ident)}(?![^\W_])"
        text = re.sub(pattern, "", text, flags=re.IGNORECASE)
    return re.sub(r"\s{2,}", " ", text).strip()
