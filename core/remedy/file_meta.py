"""The file meta of a corrected copy, built from scratch.

Why: the original's file meta is not part of the profile's walk, and it can carry
Source / Sending / Receiving AE titles, PrivateInformation, a vendor's version name,
or (in a damaged file) a UID value that swallowed half the dataset. Copying it
forward and patching a few elements kept all of that byte for byte. A copy's meta
needs only what PS3.10 7.1 requires, and every value comes from the edited dataset
or from this program.
"""

from __future__ import annotations

import re

from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import UID

from phi_review import __version__
from phi_review.core.remedy.errors import RemedyError

# This program's Implementation Class UID: a fixed UUID-derived UID (PS3.5 B.2),
# the same in every copy and every release; the version name says which release.
IMPLEMENTATION_CLASS_UID = UID("2.25.251879924751238949988684040197255355658")
_UID = re.compile(r"(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))*")


def _uid(value: object) -> UID | None:
    text = str(value or "").strip("\x00 ")
    return UID(text) if len(text) <= 64 and _UID.fullmatch(text) else None


def implementation_version_name() -> str:
    """``PHIREVIEW_<version>``, cut to the 16 characters an SH holds."""
    return f"PHIREVIEW_{__version__}"[:16]


def fresh_meta(ds: Dataset, syntax_out: UID) -> FileMetaDataset:
    """Version, SOP class and instance, transfer syntax, and this program's implementation UID and name.

    The SOP class and instance come from the dataset (SOPClassUID, SOPInstanceUID);
    only when the dataset has none is the old meta's value used, and only if it is
    a well-formed UID (after the header edit, which maps the meta's instance UID too).
    """
    old = getattr(ds, "file_meta", None)
    old = old if isinstance(old, Dataset) else Dataset()
    meta = FileMetaDataset()
    meta.FileMetaInformationVersion = b"\x00\x01"
    sop_class = _uid(ds.get("SOPClassUID")) or _uid(old.get("MediaStorageSOPClassUID"))
    sop_instance = _uid(ds.get("SOPInstanceUID")) or _uid(old.get("MediaStorageSOPInstanceUID"))
    if not sop_class or not sop_instance:
        missing = "SOP Class" if not sop_class else "SOP Instance"
        raise RemedyError(f"no well-formed {missing} UID to write in the copy's file meta")
    meta.MediaStorageSOPClassUID = sop_class
    meta.MediaStorageSOPInstanceUID = sop_instance
    meta.TransferSyntaxUID = syntax_out
    meta.ImplementationClassUID = IMPLEMENTATION_CLASS_UID
    meta.ImplementationVersionName = implementation_version_name()
    return meta
