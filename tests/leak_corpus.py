"""Small synthetic DICOM files that carry identifiers where a header profile tends to miss them.

Used by tests/test_profile_leaks.py: a Key Object Selection and a Basic Text SR with
identifiers inside a two-level Content Sequence, a file meta with PrivateInformation and
AE titles, and raw-byte files that are damaged (values swallowing their neighbours,
elements out of order, lengths past the end) or hold elements no dictionary knows.
Every name and number is made up.
"""

from __future__ import annotations

import struct
from pathlib import Path

from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import ExplicitVRLittleEndian

NAME = "QUILLFEATHER^OSWALD"
MRN = "QF559913"
STUDY_UID = "1.2.826.0.1.3680043.8.498.777.1"
SERIES_UID = "1.2.826.0.1.3680043.8.498.777.2"
SOP_UID = "1.2.826.0.1.3680043.8.498.777.3"
IMAGE_UID = "1.2.826.0.1.3680043.8.498.777.4"
TEXT_UID = "1.2.826.0.1.3680043.8.498.777.5"
KO_CLASS = "1.2.840.10008.5.1.4.1.1.88.59"
BASIC_SR_CLASS = "1.2.840.10008.5.1.4.1.1.88.11"
CT_CLASS = "1.2.840.10008.5.1.4.1.1.2"
# what must not be found in any copy's bytes
SECRETS = [b"QUILLFEATHER", b"OSWALD", b"QF559913", b"20230415", b"2023-04-15", b"19470302",
           b"Old Mill Clinic", b"WHITTLE", STUDY_UID.encode(), SOP_UID.encode(), IMAGE_UID.encode(),
           TEXT_UID.encode()]


def _code(value: str, scheme: str, meaning: str) -> Sequence:
    item = Dataset()
    item.CodeValue, item.CodingSchemeDesignator, item.CodeMeaning = value, scheme, meaning
    return Sequence([item])


def _content(value_type: str, relation: str, concept: tuple[str, str, str], **values: object) -> Dataset:
    item = Dataset()
    item.RelationshipType = relation
    item.ValueType = value_type
    item.ConceptNameCodeSequence = _code(*concept)
    for keyword, value in values.items():
        setattr(item, keyword, value)
    return item


def sr_dataset(sop_class: str = KO_CLASS) -> Dataset:
    """A KO (or Basic Text SR) whose content tree names the patient two levels down."""
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = sop_class
    meta.MediaStorageSOPInstanceUID = SOP_UID
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.SOPClassUID, ds.SOPInstanceUID = sop_class, SOP_UID
    ds.StudyDate, ds.ContentDate, ds.ContentTime = "20230415", "20230415", "101500"
    ds.Modality = "KO" if sop_class == KO_CLASS else "SR"
    ds.PatientName, ds.PatientID, ds.PatientBirthDate, ds.PatientSex = NAME, MRN, "19470302", "M"
    ds.StudyInstanceUID, ds.SeriesInstanceUID = STUDY_UID, SERIES_UID
    ds.InstitutionName = "Old Mill Clinic"
    ds.ValueType = "CONTAINER"
    ds.ConceptNameCodeSequence = _code("113000", "DCM", "Of Interest")
    ds.ContinuityOfContent = "SEPARATE"
    ref = Dataset()
    ref.ReferencedSOPClassUID, ref.ReferencedSOPInstanceUID = CT_CLASS, IMAGE_UID
    image = _content("IMAGE", "CONTAINS", ("121191", "DCM", "Referenced Image"), ReferencedSOPSequence=Sequence([ref]))
    text = _content("TEXT", "CONTAINS", ("113012", "DCM", "Key Object Description"),
                    TextValue=f"Key images of {NAME} MRN {MRN}")
    observer = _content("PNAME", "HAS OBS CONTEXT", ("121008", "DCM", "Person Observer Name"),
                        PersonName="WHITTLE^AGATHA")
    when = _content("DATETIME", "CONTAINS", ("111526", "DCM", "DateTime Processing Started"),
                    DateTime="20230415101500")
    day = _content("DATE", "CONTAINS", ("111536", "DCM", "Date of Last Follow-up"), Date="20230415")
    uid = _content("UIDREF", "CONTAINS", ("121232", "DCM", "Source series for image segmentation"), UID=TEXT_UID)
    inner_text = _content("TEXT", "CONTAINS", ("121106", "DCM", "Comment"),
                          TextValue=f"seen 2023-04-15, {MRN}, by WHITTLE")
    group = _content("CONTAINER", "CONTAINS", ("111001", "DCM", "Algorithm Name"), ContinuityOfContent="SEPARATE",
                     ContentSequence=Sequence([observer, when, day, uid, inner_text]))
    ds.ContentSequence = Sequence([text, image, group])
    evidence = Dataset()
    evidence.StudyInstanceUID = STUDY_UID
    series = Dataset()
    series.SeriesInstanceUID = SERIES_UID
    series.ReferencedSOPSequence = Sequence([ref])
    evidence.ReferencedSeriesSequence = Sequence([series])
    ds.CurrentRequestedProcedureEvidenceSequence = Sequence([evidence])
    return ds


def write_sr(path: Path, sop_class: str = KO_CLASS) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    sr_dataset(sop_class).save_as(path, enforce_file_format=True)
    return path


def write_meta_leak(path: Path) -> Path:
    """A plain object whose file meta carries AE titles and PrivateInformation that name the patient."""
    ds = sr_dataset(BASIC_SR_CLASS)
    del ds.ContentSequence
    ds.file_meta.SourceApplicationEntityTitle = "QF559913SRC"
    ds.file_meta.SendingApplicationEntityTitle = "OSWALDSEND"
    ds.file_meta.ReceivingApplicationEntityTitle = "QUILLFEATHER"
    ds.file_meta.PrivateInformationCreatorUID = "1.2.3.4"
    ds.file_meta.PrivateInformation = f"{NAME} {MRN}".encode()
    ds.file_meta.ImplementationVersionName = "QF559913"
    path.parent.mkdir(parents=True, exist_ok=True)
    ds.save_as(path, enforce_file_format=True)
    return path


# ----------------------------------------------------------------------------- raw bytes


def element(tag: int, vr: str, value: bytes, *, length: int | None = None) -> bytes:
    """One Explicit VR Little Endian element; ``length`` overrides the stored length (to damage it)."""
    if len(value) % 2:
        value += b"\0" if vr in ("UI", "OB", "UN") else b" "
    size = len(value) if length is None else length
    head = struct.pack("<HH", tag >> 16, tag & 0xFFFF) + vr.encode()
    if vr in ("OB", "OW", "SQ", "UN", "UT", "UC", "UR", "OD", "OF", "OL", "OV", "SV", "UV"):
        return head + b"\0\0" + struct.pack("<I", size) + value
    return head + struct.pack("<H", size) + value


def raw_meta(extra: bytes = b"", *, implementation: bytes | None = None, syntax: str = ExplicitVRLittleEndian) -> bytes:
    """A file meta group, Explicit VR Little Endian; ``implementation`` replaces (0002,0012) as raw bytes."""
    body = (element(0x00020001, "OB", b"\0\1") + element(0x00020002, "UI", CT_CLASS.encode())
            + element(0x00020003, "UI", SOP_UID.encode()) + element(0x00020010, "UI", syntax.encode()))
    body += implementation if implementation is not None else element(0x00020012, "UI", b"1.2.3.4.5")
    body += extra
    return b"\0" * 128 + b"DICM" + element(0x00020000, "UL", struct.pack("<I", len(body))) + body


def raw_elements() -> list[tuple[int, bytes]]:
    """(tag, bytes) of a small CT-like header holding the patient, in tag order."""
    return [
        (0x00080016, element(0x00080016, "UI", CT_CLASS.encode())),
        (0x00080018, element(0x00080018, "UI", SOP_UID.encode())),
        (0x00080020, element(0x00080020, "DA", b"20230415")),
        (0x00080060, element(0x00080060, "CS", b"CT")),
        (0x00080070, element(0x00080070, "LO", b"ACME")),
        (0x00100010, element(0x00100010, "PN", NAME.encode())),
        (0x00100020, element(0x00100020, "LO", MRN.encode())),
        (0x00100030, element(0x00100030, "DA", b"19470302")),
        (0x0020000D, element(0x0020000D, "UI", STUDY_UID.encode())),
        (0x0020000E, element(0x0020000E, "UI", SERIES_UID.encode())),
    ]


def raw_file(path: Path, body: bytes, meta: bytes | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes((meta if meta is not None else raw_meta()) + body)
    return path


def good_raw(path: Path) -> Path:
    return raw_file(path, b"".join(b for _, b in raw_elements()))


def swallowing_lo(path: Path) -> Path:
    """Manufacturer (LO, no row in E.1-1) whose length runs over the patient's name, ID and birth date."""
    parts = raw_elements()
    index = [t for t, _ in parts].index(0x00080070)
    swallowed = b"".join(b for _, b in parts[index + 1:index + 4])
    lo = element(0x00080070, "LO", b"ACME", length=4 + len(swallowed))
    body = b"".join(b for _, b in parts[:index]) + lo + swallowed + b"".join(b for _, b in parts[index + 4:])
    return raw_file(path, body)


def meta_swallows_dataset(path: Path) -> Path:
    """(0002,0012) whose length covers the whole dataset: name, ID and dates sit inside the meta element."""
    body = b"".join(b for _, b in raw_elements())
    value = b"1.2.3.4.5\0"
    head = struct.pack("<HH", 0x0002, 0x0012) + b"UI" + struct.pack("<H", len(value) + len(body))
    return raw_file(path, b"", raw_meta(implementation=head + value + body))


def out_of_order(path: Path) -> Path:
    parts = raw_elements()
    parts[2], parts[6] = parts[6], parts[2]  # PatientID before StudyDate
    return raw_file(path, b"".join(b for _, b in parts))


def length_past_end(path: Path) -> Path:
    parts = raw_elements()
    body = b"".join(b for _, b in parts) + element(0x00204000, "LT", b"see " + MRN.encode(), length=4000)
    return raw_file(path, body)


def _with(path: Path, extra: list[tuple[int, bytes]], drop: int | None = None) -> Path:
    parts = [p for p in raw_elements() if p[0] != drop] + extra
    return raw_file(path, b"".join(b for _, b in sorted(parts, key=lambda p: p[0])))


def flipped_name_tag(path: Path) -> Path:
    """PatientName's element number flipped to one the dictionary does not know: (0010,0011)."""
    return _with(path, [(0x00100011, element(0x00100011, "PN", NAME.encode()))], drop=0x00100010)


def unknown_public_lo(path: Path) -> Path:
    return _with(path, [(0x00089997, element(0x00089997, "LO", f"{NAME} {MRN}".encode()))])


def unknown_un_sequence(path: Path, *, undefined: bool = False) -> Path:
    """An unknown public tag whose UN value is an implicit-VR sequence holding the patient's name."""
    inner = struct.pack("<HHI", 0x0010, 0x0010, len(NAME) + 1) + NAME.encode() + b" "
    inner += struct.pack("<HHI", 0x0010, 0x0020, len(MRN)) + MRN.encode()
    if undefined:
        item = struct.pack("<HHI", 0xFFFE, 0xE000, 0xFFFFFFFF) + inner + struct.pack("<HHI", 0xFFFE, 0xE00D, 0)
        value = item + struct.pack("<HHI", 0xFFFE, 0xE0DD, 0)
        raw = struct.pack("<HH", 0x0018, 0x9FF0) + b"UN\0\0" + struct.pack("<I", 0xFFFFFFFF) + value
    else:
        item = struct.pack("<HHI", 0xFFFE, 0xE000, len(inner)) + inner
        raw = element(0x00189FF0, "UN", item)
    return _with(path, [(0x00189FF0, raw)])


def implicit_element(tag: int, value: bytes) -> bytes:
    if len(value) % 2:
        value += b" "
    return struct.pack("<HHI", tag >> 16, tag & 0xFFFF, len(value)) + value


def swallowing_lo_implicit(path: Path) -> Path:
    """Implicit VR: Manufacturer's 4-byte length runs over the patient's name and ID."""
    meta = raw_meta(syntax="1.2.840.10008.1.2")
    swallowed = implicit_element(0x00100010, NAME.encode()) + implicit_element(0x00100020, MRN.encode())
    body = (implicit_element(0x00080016, CT_CLASS.encode() + b"\0") + implicit_element(0x00080018, SOP_UID.encode())
            + struct.pack("<HHI", 0x0008, 0x0070, 4 + len(swallowed)) + b"ACME" + swallowed
            + implicit_element(0x0020000D, STUDY_UID.encode()))
    return raw_file(path, body, meta)


def hostile_text(path: Path) -> Path:
    """Control characters (ESC, BEL, a NUL, CR) in text are hostile, not damage: the file is still whole."""
    parts = [p for p in raw_elements() if p[0] != 0x00100010]
    parts.append((0x00100010, element(0x00100010, "PN", b"EVIL\x1b]52;c;ZXZp\x07^RED\x00\r")))
    parts.append((0x00081030, element(0x00081030, "LO", b"line1\rline2\x1b]0;t\x07")))
    return raw_file(path, b"".join(b for _, b in sorted(parts, key=lambda p: p[0])))
