"""The report's rows by patient: who each row's file belongs to, read from the headers, kept in memory only.

Patients are numbered ``P1``, ``P2``... in the order their first row appears
(the numbering ``phi-review stats --root`` uses). The Patient ID is the key
and is never returned; the name, age and sex are returned for the screen to
show (inert) and must never go to a log, a message or a file.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

_TAGS = [(0x0010, 0x0010), (0x0010, 0x0020), (0x0010, 0x1010), (0x0010, 0x0040), (0x0020, 0x000D)]
UNKNOWN = ""  # the label of a row whose file or Patient ID is unknown


@dataclass
class Patient:
    """One patient of the report: a number, what the screen shows of them, and their rows."""

    label: str
    name: str = field(default="", repr=False)  # repr=False: a debug print of a Patient shows no name
    age: str = field(default="", repr=False)
    sex: str = field(default="", repr=False)
    studies: set[str] = field(default_factory=set)
    files: set[Path] = field(default_factory=set)
    indexes: list[int] = field(default_factory=list)


@dataclass
class PatientIndex:
    """``labels``: one per row (``UNKNOWN`` when not found); ``patients`` by label, in number order."""

    labels: list[str]
    patients: dict[str, Patient]
    unknown: list[int]


def _read(path: Path) -> tuple[str, str, str, str, str]:
    """(Patient ID, name, age, sex, Study Instance UID) of one file; empty strings when unreadable."""
    import pydicom

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            ds = pydicom.dcmread(path, stop_before_pixels=True, specific_tags=_TAGS, force=True)
        except Exception:  # noqa: BLE001 - a damaged header: its rows count under "patient unknown"
            return ("", "", "", "", "")
        out = []
        for tag in (_TAGS[1], _TAGS[0], _TAGS[2], _TAGS[3], _TAGS[4]):
            try:
                element = ds.get(tag)
                value = element.value if element is not None else None
                out.append("" if value is None else str(value).strip())
            except Exception:  # noqa: BLE001 - one bad element is an empty one
                out.append("")
        return (out[0], out[1], _age(out[2]), out[3], out[4])


def _age(text: str) -> str:
    """``045Y`` -> ``45Y`` (the Age String's padding is noise on a narrow screen)."""
    if len(text) == 4 and text[:3].isdigit() and text[3] in "DWMY":
        return f"{int(text[:3])}{text[3]}"
    return text


def read_patients(paths: Sequence[Path | None], progress: Callable[[int, int], None] | None = None,
                  every: int = 50) -> PatientIndex:
    """Read each distinct file's patient once; ``progress(done, total)`` every ``every`` files and at the end."""
    distinct = list(dict.fromkeys(p for p in paths if p is not None))
    total = len(distinct)
    read: dict[Path, tuple[str, str, str, str, str]] = {}
    for done, path in enumerate(distinct, start=1):
        read[path] = _read(path)
        if progress is not None and (done % every == 0 or done == total):
            progress(done, total)
    if progress is not None and not total:
        progress(0, 0)
    by_id: dict[str, Patient] = {}
    labels: list[str] = []
    unknown: list[int] = []
    for index, path in enumerate(paths):
        patient_id, name, age, sex, study = read[path] if path is not None else ("", "", "", "", "")
        if not patient_id:
            labels.append(UNKNOWN)
            unknown.append(index)
            continue
        patient = by_id.get(patient_id)
        if patient is None:
            patient = by_id[patient_id] = Patient(f"P{len(by_id) + 1}", name, age, sex)
        if study:
            patient.studies.add(study)
        assert path is not None
        patient.files.add(path)
        patient.indexes.append(index)
        labels.append(patient.label)
    return PatientIndex(labels, {p.label: p for p in by_id.values()}, unknown)
