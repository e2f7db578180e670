"""The workbook as a zip: refusals at open, one part read fast, the patched sheet streamed back in.

The sheet's own XML is edited by ``sheet_patch``; this module only moves parts
in and out of the archive, keeping every other part as it was.
"""

from __future__ import annotations

import io
import re
import struct
import zipfile
import zlib
from typing import BinaryIO

from phi_review.core.common.errors import ReportError

STRICT_NS = b"http://purl.oclc.org/ooxml/spreadsheetml/main"


def check_sheet_xml(xml: bytes, name: str) -> None:
    """Refuse a sheet with a DOCTYPE (entity expansion) before any parser sees it."""
    head = xml[:65536]
    if re.search(rb"<!DOCTYPE", head, re.I):
        raise ReportError(f"{name}: a worksheet carries a DOCTYPE, which a workbook never has; not opened")


def check_workbook(data: bytes, name: str) -> None:
    """One-line refusals at open for workbooks we could read but never save safely."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = set(archive.namelist())
            workbook = archive.read("xl/workbook.xml") if "xl/workbook.xml" in names else b""
            if STRICT_NS in workbook[:8192]:
                raise ReportError(
                    f"{name} is saved as Strict Open XML, which phi-review cannot write back: "
                    "save it as an ordinary Excel Workbook (.xlsx) and open that"
                )
            for part in names:
                if part.startswith("xl/worksheets/") and part.endswith(".xml"):
                    with archive.open(part) as handle:
                        check_sheet_xml(handle.read(65536), name)
    except (zipfile.BadZipFile, OSError, KeyError, RuntimeError, ValueError):
        return  # the reader says what is wrong with the zip itself


def read_part(data: bytes, archive: zipfile.ZipFile, name: str) -> bytes:
    """One part of the zip ``data``, inflated straight into a buffer of its final size.

    ``ZipFile.read`` grows its result chunk by chunk, briefly holding twice
    a 100 MB sheet; this reads the deflated bytes in place and checks the CRC.
    Anything unusual (stored, encrypted, odd header) goes through zipfile.
    """
    info = archive.getinfo(name)
    offset = info.header_offset
    if info.compress_type == zipfile.ZIP_DEFLATED and not info.flag_bits & 0x1 and data[offset : offset + 4] == b"PK\x03\x04":
        name_length, extra_length = struct.unpack("<HH", data[offset + 26 : offset + 30])
        start = offset + 30 + name_length + extra_length
        raw = memoryview(data)[start : start + info.compress_size]
        try:
            inflated = zlib.decompress(raw, -15, max(info.file_size, 1))
        except zlib.error:
            inflated = None
        if inflated is not None and len(inflated) == info.file_size and zlib.crc32(inflated) == info.CRC:
            return inflated
    return archive.read(name)


def write_parts(source: zipfile.ZipFile, part: str, new_sheet: bytes) -> bytes:
    """A zip with every part of ``source`` copied, ``part`` replaced by ``new_sheet``."""
    out = io.BytesIO()
    stream_parts(source, part, [new_sheet], out)
    return out.getvalue()


def stream_parts(source: zipfile.ZipFile, part: str, pieces: list[bytes | memoryview], handle: BinaryIO) -> None:
    """Write into ``handle`` a zip of every part of ``source``, ``part`` made of ``pieces`` (streamed, not joined)."""
    with zipfile.ZipFile(handle, "w") as target:
        for info in source.infolist():
            if info.filename != part:
                target.writestr(info, source.read(info.filename), compress_type=info.compress_type)
                continue
            entry = zipfile.ZipInfo(info.filename, info.date_time)
            entry.compress_type, entry.external_attr, entry.create_system = (
                info.compress_type, info.external_attr, info.create_system)
            with target.open(entry, "w", force_zip64=sum(len(p) for p in pieces) > 0x7FFF0000) as out:
                for piece in pieces:
                    out.write(piece)
