"""Corrected copies: where they go, how they are written, and the manifest that says what was done.

Every fix (blacked-out pixels, a de-identified header) lands in a new file in an
output folder; the original is opened read-only and never touched. One copy
carries both kinds of fix: pixels are edited first, then the header. The pixel
data is streamed from the original frame by frame (never loaded whole), so a
600-frame file costs about one frame of memory.
"""

from __future__ import annotations

import os
import stat
import struct
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, Protocol

from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.filebase import DicomFileLike
from pydicom.filereader import read_dataset
from pydicom.filewriter import write_dataset, write_file_meta_info
from pydicom.tag import Tag
from pydicom.uid import (
    PYDICOM_ROOT_UID,
    UID,
    DeflatedExplicitVRLittleEndian,
    ExplicitVRBigEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    generate_uid,
)

from phi_review import __version__
from phi_review.core.common.inert import inert
from phi_review.core.common.regular import open_regular
from phi_review.core.remedy.damage import structural_problem
from phi_review.core.remedy.file_meta import fresh_meta
from phi_review.core.remedy.errors import RemedyError
from phi_review.core.remedy.manifest import (  # noqa: F401 - the manifest's names stay importable from here
    MANIFEST_NAME,
    append_manifest,
    read_manifest,
    sha256_file,
    utc_now,
)
from phi_review.core.remedy.outdir import create_temp, discard_temp, open_folder, parts_below, place_temp

PIXEL_DATA = 0x7FE00010
ITEM = 0xFFFEE000
SEQ_DELIMITER = 0xFFFEE0DD
CHUNK = 1 << 20


@dataclass
class PixelElement:
    """Where the original's pixel data sits in its file, found without reading the pixels."""

    tag_offset: int
    value_offset: int
    vr: str
    length: int | None  # None: encapsulated (undefined length)
    end_offset: int
    little_endian: bool
    implicit_vr: bool
    offsets: list[int] = field(default_factory=list)  # encapsulated: basic offset table
    fragments: list[tuple[int, int]] = field(default_factory=list)  # encapsulated: (file offset, length)

    @property
    def encapsulated(self) -> bool:
        return self.length is None


class PixelEdit(Protocol):
    """A change to the pixels (see ``redact.Redaction``): edits the header first, then streams the new pixel data."""

    def prepare(self, ds: Dataset, element: PixelElement) -> dict[str, Any]:
        """Check the file can be edited, adjust ``ds`` (photometric, transfer syntax...) and return facts for the manifest."""

    def write(self, ds: Dataset, element: PixelElement, src: BinaryIO, dst: BinaryIO) -> None:
        """Write the whole Pixel Data element (tag, length, value), little endian, to ``dst``."""


@dataclass
class CopyResult:
    """What ``write_copy`` did, in terms the manifest and the screen can use (no PHI)."""

    original: Path
    copy: Path
    original_sha256: str
    copy_sha256: str
    transfer_syntax_in: str
    transfer_syntax_out: str
    header_changes: list[dict[str, Any]] = field(default_factory=list)
    pixels: dict[str, Any] = field(default_factory=dict)

    def record(self, **extra: Any) -> dict[str, Any]:
        """A manifest line: paths as given, hashes, syntaxes, what changed, the tool's version and UTC time."""
        line: dict[str, Any] = {
            "original": str(self.original),
            "original_sha256": self.original_sha256,
            "copy": str(self.copy),
            "copy_sha256": self.copy_sha256,
            "transfer_syntax_in": self.transfer_syntax_in,
            "transfer_syntax_out": self.transfer_syntax_out,
            "header_changes": self.header_changes,
            "pixels": self.pixels,
            "version": __version__,
            "time": utc_now(),
        }
        line.update(extra)
        return line


def copy_path(original: Path, roots: Sequence[Path], out_dir: Path) -> Path:
    """Where the corrected copy of ``original`` goes: its path relative to the (deepest) root holding it, under ``out_dir``.

    Mirroring keeps two files of the same name in different folders apart. With
    no roots the copy takes the file's name. A file outside every root is refused
    rather than guessed at.
    """
    original = Path(original)
    if not roots:
        return Path(out_dir) / original.name
    resolved = original.resolve()
    candidates = sorted((Path(r).resolve() for r in roots), key=lambda r: len(r.parts), reverse=True)
    for root in candidates:
        if resolved.is_relative_to(root) and resolved != root:
            return Path(out_dir) / resolved.relative_to(root)
    raise RemedyError(f"{original.name} is not under any of the given roots")


def plan_copies(files: Iterable[Path], roots: Sequence[Path], out_dir: Path) -> dict[Path, Path]:
    """Each file's copy (``copy_path``) mapped to the file; two files bound for one copy are refused.

    Checked before anything is written, so one correction can never silently
    replace another (two ``x.dcm`` from different folders without ``--root``).
    """
    planned: dict[Path, Path] = {}
    seen: dict[str, Path] = {}
    for path in files:
        dest = copy_path(Path(path), roots, out_dir)
        key = os.path.normpath(os.path.abspath(dest))
        if key in seen:
            raise RemedyError(f"{inert(Path(path).name)} and {inert(seen[key].name)} would both be copied to "
                              f"{inert(dest)}: give --root so copies keep their folders")
        seen[key] = Path(path)
        planned[dest] = Path(path)
    return planned


def derived_uid(uid: str, root: str | None = None, *, secret: bytes | None = None) -> str:
    """The copy's new UID, keyed by the de-identification secret (``profile.map_uid``).

    A hash of the old UID alone could be recomputed by anyone holding the
    original and link the copy back; keyed by a secret that is in no file, it
    cannot. The same secret gives the same UID on every run, and the same UID
    the header profile gives, so pixel and header fixes agree. ``secret``
    None: the profile's own (``--secret-file``, ``$PHI_REVIEW_FIX_SECRET``, or
    the one made once in the config folder).
    """
    from phi_review.core.remedy.profile import DEFAULT_UID_ROOT, ProfileSettings, map_uid
    from phi_review.core.remedy.secret import load_secret

    prefix = (root or DEFAULT_UID_ROOT).rstrip(".")
    return map_uid(str(uid), ProfileSettings(secret or load_secret(), uid_root=prefix))


def _read_tag(handle: BinaryIO, little: bool) -> tuple[int, int] | None:
    data = handle.read(8)
    if len(data) < 8:
        return None
    group, elem, length = struct.unpack("<HHL" if little else ">HHL", data)
    return (group << 16) | elem, length


def locate_pixels(handle: BinaryIO, ds: Dataset) -> PixelElement | None:
    """Find the Pixel Data element at the handle's position (just after ``dcmread(stop_before_pixels=True)``)."""
    little = ds.original_encoding[1] if ds.original_encoding[1] is not None else True
    implicit = bool(ds.original_encoding[0])
    start = handle.tell()
    head = handle.read(8)
    if len(head) < 8:
        return None
    group, elem = struct.unpack("<HH" if little else ">HH", head[:4])
    if (group << 16) | elem != PIXEL_DATA:
        return None
    if not implicit and head[4:6] not in (b"OB", b"OW", b"OF", b"OD", b"OL", b"OV", b"UN"):
        implicit = True  # labelled explicit but written implicit (pydicom reads these too)
    if implicit:
        (length,) = struct.unpack("<L" if little else ">L", head[4:8])
        vr = "OW"
    else:
        vr = head[4:6].decode("ascii", "replace")
        rest = handle.read(4)
        if len(rest) < 4:
            raise RemedyError("the pixel data is cut short")
        (length,) = struct.unpack("<L" if little else ">L", rest)
    value_offset = handle.tell()
    if length != 0xFFFFFFFF:
        return PixelElement(start, value_offset, vr, length, value_offset + length, little, implicit)
    element = PixelElement(start, value_offset, vr, None, 0, little, implicit)
    first = True
    while True:
        found = _read_tag(handle, little)
        if found is None:
            raise RemedyError("the compressed pixel data is cut short (no sequence delimiter)")
        tag, item_length = found
        if tag == SEQ_DELIMITER:
            break
        if tag != ITEM or item_length == 0xFFFFFFFF:
            raise RemedyError("the compressed pixel data is malformed")
        if first:
            table = handle.read(item_length)
            element.offsets = list(struct.unpack(f"<{item_length // 4}L", table[: item_length // 4 * 4]))
            first = False
        else:
            element.fragments.append((handle.tell(), item_length))
            handle.seek(item_length, os.SEEK_CUR)
    element.end_offset = handle.tell()
    return element


def output_encoding(syntax: UID) -> tuple[bool, bool]:
    """(implicit VR, little endian) the copy is written in: big endian and deflated become explicit little endian."""
    return (syntax == ImplicitVRLittleEndian, True)


class _RawPixelCopy:
    """Copy the pixel element as it is (header-only fixes); big-endian words are swapped to little endian."""

    def prepare(self, ds: Dataset, element: PixelElement) -> dict[str, Any]:
        return {}

    def write(self, ds: Dataset, element: PixelElement, src: BinaryIO, dst: BinaryIO) -> None:
        swap = not element.little_endian and element.vr == "OW" and int(ds.get("BitsAllocated", 8)) > 8
        src.seek(element.tag_offset)
        if element.encapsulated:
            dst.write(struct.pack("<HH2sHL", 0x7FE0, 0x0010, element.vr.encode(), 0, 0xFFFFFFFF))
            dst.write(struct.pack("<HHL", 0xFFFE, 0xE000, 4 * len(element.offsets)))
            dst.write(struct.pack(f"<{len(element.offsets)}L", *element.offsets))
            for offset, length in element.fragments:
                dst.write(struct.pack("<HHL", 0xFFFE, 0xE000, length))
                src.seek(offset)
                _copy_bytes(src, dst, length)
            dst.write(struct.pack("<HHL", 0xFFFE, 0xE0DD, 0))
            return
        write_pixel_header(dst, element.vr, element.length or 0, implicit=element.implicit_vr and element.little_endian)
        src.seek(element.value_offset)
        remaining = element.length or 0
        while remaining:
            chunk = src.read(min(CHUNK, remaining))
            if not chunk:
                raise RemedyError("the pixel data is cut short")
            remaining -= len(chunk)
            if swap:
                chunk = _swap16(chunk)
            dst.write(chunk)


def _swap16(chunk: bytes) -> bytes:
    import numpy as np

    return np.frombuffer(chunk, dtype=">u2").astype("<u2").tobytes()


def _copy_bytes(src: BinaryIO, dst: BinaryIO, length: int) -> None:
    remaining = length
    while remaining:
        chunk = src.read(min(CHUNK, remaining))
        if not chunk:
            raise RemedyError("the pixel data is cut short")
        dst.write(chunk)
        remaining -= len(chunk)


def write_pixel_header(dst: BinaryIO, vr: str, length: int, *, implicit: bool) -> None:
    """The tag and length of a native Pixel Data element, little endian."""
    if implicit:
        dst.write(struct.pack("<HHL", 0x7FE0, 0x0010, length))
    else:
        dst.write(struct.pack("<HH2sHL", 0x7FE0, 0x0010, vr.encode("ascii"), 0, length))


def _read_original(src: BinaryIO, original: Path, for_pixels: bool) -> tuple[Dataset, UID, PixelElement | None]:
    """The original's header and where its pixels lie; any failure is a RemedyError of one line naming the file.

    Bounded: top-level tags must ascend (``reading``'s guard), so a valid file followed by zeros stops at the
    first zero tag instead of reading them as millions of empty elements; a deflated file inflates under a cap.
    """
    from phi_review.core.dicom.bounded import error_text
    from phi_review.core.dicom.reading import _Guard, read_deflated_pixels
    from pydicom.filereader import read_partial

    try:
        ds = read_partial(src, stop_when=_Guard(), force=False)
        syntax_in = UID(str(ds.file_meta.get("TransferSyntaxUID", ImplicitVRLittleEndian)))
        if syntax_in == DeflatedExplicitVRLittleEndian:
            element = None
            if for_pixels:
                raise RemedyError("deflated files are not supported for pixel edits")
        else:
            element = locate_pixels(src, ds)
        if element is None and for_pixels:
            raise RemedyError("the file holds no pixel data")
        if element is not None:
            src.seek(element.end_offset)
            after = _Guard(stop_at_pixels=False)
            after.first = after.previous = PIXEL_DATA  # what follows the pixels must come after them
            trailing = read_dataset(src, element.implicit_vr, element.little_endian, stop_when=after)
            for elem in trailing:  # elements after the pixels (private groups, padding) go through the header edit too
                ds.add(elem)
        elif syntax_in == DeflatedExplicitVRLittleEndian:
            ds = read_deflated_pixels(original)
    except RemedyError as error:
        message = str(error)
        raise RemedyError(message if message.startswith(original.name) else f"{original.name}: {message}") from None
    except Exception as error:  # noqa: BLE001 - pydicom raises many kinds for a damaged or non-DICOM file
        raise RemedyError(f"{original.name}: not a readable DICOM file ({error_text(error)})") from None
    return ds, syntax_in, element


def write_copy(
    original: Path,
    dest: Path,
    *,
    edit_header: Callable[[Dataset], list[dict[str, Any]]] | None = None,
    pixel_edit: PixelEdit | None = None,
    overwrite: bool = False,
    out_dir: Path | None = None,
    durable: bool = True,
) -> CopyResult:
    """Write the corrected copy of ``original`` to ``dest``: pixels edited first, then the header; atomically.

    The copy is built in a temp file beside ``dest``, fsynced, then renamed; a
    crash leaves no half copy (only a ``.<name>.<random>.tmp`` that the next
    run's ``recover_output`` removes). An existing ``dest`` is refused unless
    ``overwrite``; ``dest`` can never be the original. The MediaStorage SOP
    Instance UID is kept equal to the SOP Instance UID the edits leave.
    ``out_dir``: the output folder; no folder below it, nor ``dest`` itself, is
    followed through a symlink (each is opened with O_NOFOLLOW). Without it only
    ``dest`` itself is checked. The caller records the copy (``append_manifest``).
    """
    original = Path(original)
    dest = Path(dest)
    parts = parts_below(out_dir, dest) if out_dir is not None else (dest.name,)
    if dest.is_symlink():
        raise RemedyError(f"{inert(dest.name)}: a symlink inside the output folder; nothing is written through a link")
    if not original.is_file():
        raise RemedyError(f"{original.name}: no such file")
    if dest.exists() and dest.resolve() == original.resolve():
        raise RemedyError(f"{original.name}: the copy would overwrite the original")
    if dest.exists() and not overwrite:
        raise RemedyError(f"{dest.name}: a corrected copy already exists there (use overwrite)")
    if problem := structural_problem(original):  # a lenient parse of a damaged stream would hide what it swallowed
        raise RemedyError(f"{original.name}: {problem}")
    original_sha = sha256_file(original)
    with open_regular(original) as src:
        ds, syntax_in, element = _read_original(src, original, pixel_edit is not None)
        trailing = Dataset()
        pixel_facts: dict[str, Any] = {}
        if pixel_edit is not None and element is not None:
            pixel_facts = pixel_edit.prepare(ds, element) or {}  # the edit may add facts while it writes
        changes = list(edit_header(ds) or []) if edit_header is not None else []
        syntax_out = UID(str(ds.file_meta.get("TransferSyntaxUID", syntax_in)))
        if syntax_out in (ExplicitVRBigEndian, DeflatedExplicitVRLittleEndian):
            syntax_out = ExplicitVRLittleEndian
        meta = ds.file_meta = fresh_meta(ds, syntax_out)  # from scratch: no AE title or private info survives
        implicit, little = output_encoding(syntax_out)
        folder = open_folder(Path(out_dir) if out_dir is not None else dest.parent, parts[:-1])
        try:
            fd, temp = create_temp(folder, dest.name)
        except OSError as error:
            os.close(folder)
            raise RemedyError(f"{original.name}: the copy could not be started ({inert(error.strerror)})") from None
        try:
            with os.fdopen(fd, "wb") as raw:
                out = DicomFileLike(raw)
                out.write(b"\x00" * 128 + b"DICM")
                write_file_meta_info(out, meta, enforce_standard=True)
                out.is_implicit_VR = implicit
                out.is_little_endian = little
                # ds[tag] turns raw elements into typed ones, so an implicit-VR original writes as explicit
                body = Dataset({tag: ds[tag] for tag in ds.keys() if tag.group != 0x0002 and tag < PIXEL_DATA})
                write_dataset(out, body)
                if element is not None:
                    (pixel_edit or _RawPixelCopy()).write(ds, element, src, raw)
                elif "PixelData" in ds and syntax_in == DeflatedExplicitVRLittleEndian:
                    write_dataset(out, Dataset({Tag(PIXEL_DATA): ds.get_item(PIXEL_DATA)}))
                after = Dataset({tag: ds[tag] for tag in ds.keys() if tag > PIXEL_DATA})
                for tag in trailing.keys():
                    after.add(trailing[tag])
                if len(after):
                    write_dataset(out, after)
                raw.flush()
                os.fchmod(raw.fileno(), stat.S_IMODE(os.fstat(src.fileno()).st_mode))
                os.fsync(raw.fileno())
            place_temp(folder, temp, dest.name, overwrite=overwrite, durable=durable)  # rename, fsync the folder
        except RemedyError as error:
            discard_temp(folder, temp)
            message = str(error)
            raise RemedyError(message if message.startswith(original.name) else f"{original.name}: {message}") from None
        except OSError as error:  # a full disk, an I/O error: one line, and no temp file left behind
            discard_temp(folder, temp)
            raise RemedyError(f"{original.name}: the copy could not be written ({inert(error.strerror)})") from None
        except BaseException:
            discard_temp(folder, temp)
            raise
        finally:
            os.close(folder)
    return CopyResult(
        original=original,
        copy=dest,
        original_sha256=original_sha,
        copy_sha256=sha256_file(dest),
        transfer_syntax_in=str(syntax_in),
        transfer_syntax_out=str(syntax_out),
        header_changes=changes,
        pixels=pixel_facts,
    )
