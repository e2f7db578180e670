"""Every identifying string of the original, in the spellings people and machines write.

Collected twice over, so a damaged original cannot hide a value from the
proof: once from pydicom's reading of the whole dataset (every person name at
any depth, group 0010 text, the IDs, dates, institution, addresses, phones,
e-mail, and ID- or date-shaped tokens in free text), and once from a raw scan
of the original's header bytes for the identifying tags themselves, which
finds an element that an over-long value swallowed.
"""

from __future__ import annotations

import datetime as _dt
import re
import struct
import warnings
from dataclasses import dataclass
from pathlib import Path

import pydicom
from pydicom.dataset import Dataset

from phi_review.core.dicom.header import raw_vr

# kinds: what the manifest and screen may say about a residual (never the value)
NAME, ID, DATE, INSTITUTION, ADDRESS, PHONE, EMAIL, PATIENT, DEVICE, CHARACTERISTIC = (
    "name", "id", "date", "institution", "address", "phone", "email", "patient-text", "device", "characteristic")

_ID_KEYWORDS = {
    "PatientID": ID, "OtherPatientIDs": ID, "AccessionNumber": ID, "StudyID": ID, "IssuerOfPatientID": ID,
    "MedicalRecordLocator": ID, "AdmissionID": ID, "PerformedProcedureStepID": ID, "RequestedProcedureID": ID,
    "ScheduledProcedureStepID": ID, "FillerOrderNumberImagingServiceRequest": ID,
    "PlacerOrderNumberImagingServiceRequest": ID, "PatientInsurancePlanCodeSequence": ID,
    "InstitutionName": INSTITUTION, "InstitutionAddress": ADDRESS, "PatientAddress": ADDRESS,
    "InstitutionalDepartmentName": INSTITUTION, "PatientTelephoneNumbers": PHONE,
    "ReferringPhysicianTelephoneNumbers": PHONE, "ReferringPhysicianAddress": ADDRESS,
    "PersonTelephoneNumbers": PHONE, "PersonAddress": ADDRESS, "ElectronicMailAddress": EMAIL,
    "PersonTelecomInformation": PHONE, "PatientTelecomInformation": PHONE,
}
_FREE_TEXT_VRS = {"LO", "LT", "ST", "UT", "SH", "UC"}
_TEXT_VRS = _FREE_TEXT_VRS | {"PN", "CS", "DA", "DT"}
# Values that name nobody: a placeholder left by an earlier tool is not an identity.
PLACEHOLDERS = {"", "anonymous", "anonymized", "anonymised", "anon", "removed", "unknown", "none", "n/a",
                "na", "xxx", "xxxxx", "patient", "deidentified", "de-identified", "redacted", "empty", "null"}
_ID_TOKEN = re.compile(r"(?<![A-Za-z0-9])(?=[A-Za-z]*\d)[A-Za-z0-9][A-Za-z0-9-]{3,}[A-Za-z0-9](?![A-Za-z0-9])")
_ID_AFTER_LABEL = re.compile(r"(?:MRN|ID|No\.?|#|Acc(?:ession)?)\s*[:#]?\s*([A-Za-z0-9-]{3,})", re.IGNORECASE)
_ISO_DATE = re.compile(r"(?<!\d)((?:19|20)\d\d)[-/.]?(0[1-9]|1[0-2])[-/.]?(0[1-9]|[12]\d|3[01])(?!\d)")
_DMY_DATE = re.compile(r"(?<!\d)(0?[1-9]|[12]\d|3[01])[-/.](0?[1-9]|[12]\d|3[01])[-/.]((?:19|20)\d\d)(?!\d)")
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
_PHONE = re.compile(r"(?<!\d)\+?\d[\d ()./-]{6,}\d(?!\d)")
_DATE_FORMS = ("%Y%m%d", "%Y-%m-%d", "%Y/%m/%d", "%d/%m/%Y", "%m/%d/%Y", "%d.%m.%Y", "%d-%m-%Y", "%m-%d-%Y")
_RAW_TAGS: dict[tuple[int, int], str] = {
    (0x0010, 0x0010): NAME, (0x0010, 0x0020): ID, (0x0010, 0x0030): DATE, (0x0010, 0x1000): ID,
    (0x0010, 0x1001): NAME, (0x0010, 0x1005): NAME, (0x0010, 0x1060): NAME, (0x0010, 0x1040): ADDRESS,
    (0x0010, 0x2154): PHONE, (0x0008, 0x0050): ID, (0x0008, 0x0080): INSTITUTION, (0x0008, 0x0081): ADDRESS,
    (0x0008, 0x0090): NAME, (0x0008, 0x1050): NAME, (0x0008, 0x1060): NAME, (0x0008, 0x1070): NAME,
    (0x0020, 0x0010): ID, (0x0008, 0x0020): DATE, (0x0008, 0x0021): DATE, (0x0008, 0x0022): DATE,
    (0x0008, 0x0023): DATE,
}
_RAW_VRS = {NAME: {b"PN"}, ID: {b"LO", b"SH"}, DATE: {b"DA"}, INSTITUTION: {b"LO"}, ADDRESS: {b"ST", b"LO"},
            PHONE: {b"SH", b"LO"}}
RAW_SCAN_LIMIT = 8 * 1024 * 1024


@dataclass(frozen=True)
class Identifier:
    """One string to search for, what kind of identifier it is, and the tag it came from (for the record)."""

    text: str
    kind: str
    source: str


class _Collector:
    def __init__(self) -> None:
        self.found: dict[str, Identifier] = {}

    def add(self, text: str, kind: str, source: str, minimum: int = 3) -> None:
        text = text.strip().strip("\x00").strip()
        if len(text) < minimum or text.lower() in PLACEHOLDERS:
            return
        key = text.lower()
        if key not in self.found:
            self.found[key] = Identifier(text, kind, source)

    def name(self, value: str, source: str) -> None:
        for group in value.split("="):  # alphabetic, ideographic, phonetic
            parts = [p.strip() for p in group.split("^") if p.strip()]
            if not parts:
                continue
            self.add("^".join(parts), NAME, source)
            if len(parts) >= 2:
                self.add(f"{parts[1]} {parts[0]}", NAME, source)
                self.add(f"{parts[0]}, {parts[1]}", NAME, source)
                self.add(" ".join(parts), NAME, source)
            for part in parts:
                for word in re.split(r"[\s,.]+", part):
                    if word.lower() not in dicom_words():
                        self.add(word, NAME, source)

    def date(self, value: str, source: str) -> None:
        digits = re.sub(r"\D", "", value)
        for spelling in date_spellings(digits[:8]):
            self.add(spelling, DATE, source, minimum=6)

    def free_text(self, value: str, source: str, narrative: bool = True) -> None:
        """Dates and e-mail in any text; ID-shaped tokens only in narrative text (comments, reports, unknowns)."""
        for match in _ISO_DATE.finditer(value):
            self.date("".join(match.groups()), source)
        for match in _DMY_DATE.finditer(value):
            day, month, year = match.groups()
            for a, b in ((day, month), (month, day)):
                self.date(f"{year}{int(b):02d}{int(a):02d}", source)
        for match in _EMAIL.finditer(value):
            self.add(match.group(0), EMAIL, source)
        if not narrative:
            return
        value = _DMY_DATE.sub(" ", _ISO_DATE.sub(" ", value))
        for match in _ID_AFTER_LABEL.finditer(value):
            if any(c.isdigit() for c in match.group(1)):
                self.add(match.group(1), ID, source, minimum=4)
        for match in _ID_TOKEN.finditer(value):
            token = match.group(0)
            if sum(c.isdigit() for c in token) >= 3 and not _looks_like_number(token):
                self.add(token, ID, source, minimum=5)


_WORDS: set[str] = set()
_CAMEL = re.compile(r"[A-Z][a-z]+|[a-z]+")


def dicom_words() -> set[str]:
    """Words of the DICOM dictionary's attribute names ("name", "text", "first"): a name part that is one of
    them is sought only inside the whole name, else every SR's "Observer Name" would count as the patient."""
    if not _WORDS:
        from pydicom.datadict import DicomDictionary

        for entry in DicomDictionary.values():
            _WORDS.update(w.lower() for w in _CAMEL.findall(entry[4]) if len(w) >= 3)
        _WORDS.update({"enter", "last", "first", "middle", "given", "family"})
    return _WORDS


_DEVICE_KEYWORDS = ("Manufacturer", "ManufacturerModelName", "SoftwareVersions", "Modality", "ConversionType",
                    "SecondaryCaptureDeviceManufacturer", "SecondaryCaptureDeviceManufacturerModelName",
                    "SecondaryCaptureDeviceSoftwareVersions")


# PS3.15 E.1-1 attributes the Retain Device Identity option keeps (text ones; its dates stay dates)
_DEVICE_IDENTITY = ("StationName", "DeviceSerialNumber", "DeviceUID", "PlateID", "GeneratorID", "CassetteID",
                    "GantryID", "DetectorID", "XRaySourceID", "XRayDetectorID", "XRayDetectorLabel", "DeviceLabel",
                    "ModifyingDeviceID", "DeviceDescription", "SourceSerialNumber", "TreatmentMachineName",
                    "LensSerialNumber", "ManufacturerDeviceIdentifier", "UniqueDeviceIdentifier")


# Retain Patient Characteristics: its text attributes (kept, or cleaned of identifiers, by that option)
_CHARACTERISTICS = ("EthnicGroup", "Allergies", "SpecialNeeds", "PatientState", "PreMedication", "SmokingStatus",
                    "PatientSexNeutered")
_KEPT_BY_OPTION = {DEVICE: _DEVICE_IDENTITY, CHARACTERISTIC: _CHARACTERISTICS}


def _values_of(ds: Dataset, keywords: tuple[str, ...]) -> set[str]:
    """The original's values of ``keywords`` (lower case): an identifier equal to one takes that option's kind."""
    found = set()
    for keyword in keywords:
        try:
            value = ds.get(keyword)
        except Exception:  # noqa: BLE001 - a damaged value names no device
            continue
        for one in (value if isinstance(value, pydicom.multival.MultiValue) else [value]):
            if isinstance(one, str) and one.strip():
                found.add(one.strip().lower())
    return found


def _device_text(ds: Dataset) -> str:
    """What the equipment calls itself: kept by the standard, so a hospital named like its scanner's maker
    (or a software build dated like the study) is not a residual."""
    parts = []
    for keyword in _DEVICE_KEYWORDS:
        value = ds.get(keyword)
        if value is not None:
            parts.append(" ".join(str(v) for v in value) if isinstance(value, pydicom.multival.MultiValue) else str(value))
    return " | ".join(parts).lower()


def _looks_like_number(token: str) -> bool:
    """Measurements and versions ("1024", "12-bit") are not identifiers; mixed letters+digits may be."""
    return token.isdigit() and len(token) < 6


def date_spellings(digits: str) -> list[str]:
    """YYYYMMDD in the forms people write: ISO with and without separators, day-first and month-first."""
    try:
        day = _dt.date(int(digits[:4]), int(digits[4:6]), int(digits[6:8]))
    except (ValueError, IndexError):
        return []
    return list(dict.fromkeys(day.strftime(f) for f in _DATE_FORMS))


_WANTED_VRS = _FREE_TEXT_VRS | {"PN", "DA", "DT", "SQ", "UN", "OB"}


def _walk_dataset(ds: Dataset, collector: _Collector, prefix: str) -> None:
    for tag in list(ds.keys()):
        if tag == 0x7FE00010 or raw_vr(ds, tag) not in _WANTED_VRS:
            continue
        elem = ds[tag]
        source = prefix + f"({tag.group:04X},{tag.element:04X})"
        if elem.VR == "SQ":
            for index, item in enumerate(elem.value or []):
                _walk_dataset(item, collector, f"{source}[{index}]>")
            continue
        values = _text_values(elem)
        if not values:
            continue
        keyword = elem.keyword
        for value in values:
            if elem.VR == "PN":
                collector.name(value, source)
            elif elem.VR in ("DA", "DT"):
                collector.date(value, source)
            elif keyword in _ID_KEYWORDS:
                collector.add(value, _ID_KEYWORDS[keyword], source)
                if _ID_KEYWORDS[keyword] == PHONE:
                    collector.add(re.sub(r"\D", "", value), PHONE, source, minimum=7)
            elif elem.tag.group == 0x0010 and elem.VR in _FREE_TEXT_VRS:  # coded strings (CS) name no one
                collector.add(value, PATIENT, source, minimum=4)
            if elem.VR in _FREE_TEXT_VRS or elem.VR in ("UN", "OB"):
                collector.free_text(value, source, _narrative(elem))
            if keyword == "TextValue" or elem.VR in ("LT", "ST", "UT"):
                for match in _PHONE.finditer(value):
                    collector.add(re.sub(r"\D", "", match.group(0)), PHONE, source, minimum=7)


_NARRATIVE_WORDS = ("Comment", "Description", "Text", "Reason", "History", "Note", "Remark", "Observation",
                    "Impression", "Findings", "Label", "Information")


def _narrative(elem: pydicom.DataElement) -> bool:
    """Text a person typed (or that no dictionary names): where an MRN written by hand would sit."""
    keyword = elem.keyword
    return (not keyword or elem.tag.is_private or elem.VR in ("LT", "ST", "UT", "UN", "OB")
            or any(word in keyword for word in _NARRATIVE_WORDS))


def _text_values(elem: pydicom.DataElement) -> list[str]:
    value = elem.value
    if value is None or elem.VR in ("SQ", "OW", "OF", "OD", "OL", "OV", "FL", "FD", "SL", "SS", "UL", "US",
                                    "SV", "UV", "AT", "UI", "AS", "IS", "DS", "TM"):
        return []
    if isinstance(value, bytes):
        if elem.VR not in ("UN", "OB"):
            return []
        return [t for t in _printable_runs(value)]
    if isinstance(value, (list, tuple, pydicom.multival.MultiValue)):
        return [str(v) for v in value if str(v).strip()]
    return [str(value)]


def _printable_runs(value: bytes) -> list[str]:
    """Text hidden in binary values: ASCII runs and UTF-16 runs of 4+ characters."""
    runs = [m.group(0).decode("latin-1") for m in re.finditer(rb"[\x20-\x7e]{4,}", value)]
    runs += [m.group(0).decode("utf-16-le") for m in re.finditer(rb"(?:[\x20-\x7e]\x00){4,}", value)]
    return runs


def _raw_scan(data: bytes, collector: _Collector) -> None:
    """Look for the identifying tags' own bytes anywhere in the header, read what follows them."""
    for (group, element), kind in _RAW_TAGS.items():
        for order in ("<", ">"):
            needle = struct.pack(order + "HH", group, element)
            start = 0
            while (pos := data.find(needle, start)) != -1 and pos + 8 <= len(data):
                start = pos + 1
                vr = data[pos + 4 : pos + 6]
                if vr.isalpha() and vr.isupper():
                    (length,) = struct.unpack_from(order + "H", data, pos + 6)
                    begin = pos + 8
                else:
                    (length,) = struct.unpack_from(order + "L", data, pos + 4)
                    begin = pos + 8
                if not 3 <= length <= 1024 or begin + length > len(data):
                    continue
                raw = data[begin : begin + length]
                if vr.isalpha() and vr.isupper() and vr not in _RAW_VRS[kind] | {b"UN"}:
                    continue
                if not re.fullmatch(rb"[A-Za-z0-9 ^.,'()/:+@_\x00\x80-\xff-]+", raw):
                    continue
                text = raw.decode("latin-1").strip(" \x00")
                source = f"({group:04X},{element:04X}) raw"
                if kind == NAME:
                    collector.name(text, source)
                elif kind == DATE:
                    collector.date(text, source)
                else:
                    collector.add(text, kind, source)


def _header_region(path: Path) -> bytes:
    """The original's bytes outside native pixel samples (where tags can be), at most ``RAW_SCAN_LIMIT``."""
    from phi_review.core.proof.rawwalk import walk_bytes

    with open(path, "rb") as handle:
        data = handle.read(RAW_SCAN_LIMIT)
        walk = walk_bytes(data)
        if walk.pixel_start is None or walk.encapsulated:
            return data
        tail = b""
        if walk.pixel_end is not None:  # elements after the pixels (private groups) are header too
            handle.seek(walk.pixel_end)
            tail = handle.read(RAW_SCAN_LIMIT)
        return data[: walk.pixel_start] + b"\x00" * 8 + tail


def collect_identifiers(original: Path, header_bytes: bytes | None = None) -> list[Identifier]:
    """Every identifying string of ``original`` (longest first, so a full name is named before its parts)."""
    collector = _Collector()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            from phi_review.core.dicom.reading import read_dicom  # bounded: a zero tail is not read as elements

            ds = read_dicom(Path(original)).dataset
        except Exception:  # noqa: BLE001 - a damaged original still gets its raw scan below
            ds = None
        if ds is not None:
            try:
                private_meta = ds.file_meta.get((0x0002, 0x0102)) if ds.file_meta is not None else None
                if private_meta is not None and isinstance(private_meta.value, bytes):
                    for run in _printable_runs(private_meta.value):
                        collector.free_text(run, "(0002,0102)")
                _walk_dataset(ds, collector, "")
            except Exception:  # noqa: BLE001 - what was collected before the damage is kept
                pass
    if header_bytes is None:
        header_bytes = _header_region(Path(original))
    _raw_scan(header_bytes, collector)
    for kind, keywords in _KEPT_BY_OPTION.items() if ds is not None else ():  # checked unless its option is chosen
        for value in _values_of(ds, keywords):
            if (found := collector.found.get(value)) is not None:
                collector.found[value] = Identifier(found.text, kind, found.source)
    device = _device_text(ds) if ds is not None else ""
    if device:
        for key in [k for k in collector.found if re.search(r"(?<![a-z0-9])" + re.escape(k) + r"(?![a-z0-9])", device)]:
            del collector.found[key]
    return sorted(collector.found.values(), key=lambda i: (-len(i.text), i.text))
