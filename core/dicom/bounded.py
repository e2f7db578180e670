"""One DICOM file's header for the batch commands (`fix`, `redact`, `diff`, `values`), bounded, or one line why not.

Why: these commands called ``pydicom.dcmread`` by name. A FIFO blocked the
``open`` forever, a valid file followed by zeros was read as millions of empty
elements (0.26 s per MB), and pydicom's own exceptions (AttributeError,
NotImplementedError, ValueError...) reached the user as tracebacks. Here the
read is ``reading.read_dicom`` (regular files only, top-level tags must ascend,
deflate capped, stops before Pixel Data), the file must carry the ``DICM``
marker (as plain ``dcmread`` demands: a README in a folder is not DICOM), and
any failure is a ``DicomError`` whose one line names the file (inert).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from phi_review.core.common.errors import DicomError, PhiReviewError
from phi_review.core.common.inert import inert
from phi_review.core.common.regular import open_regular

if TYPE_CHECKING:  # pydicom loads in the reading functions: the CLI's --help and error lines start fast
    from pydicom.dataset import Dataset


class NotDicomError(DicomError):
    """Not a DICOM file at all (no ``DICM`` marker, empty, a FIFO or device): a folder's README, not a damaged image."""


def error_text(error: BaseException, limit: int = 160) -> str:
    """An exception as one short inert line: our own messages as they are, a library's with its type."""
    text = str(error).strip().splitlines()[0] if str(error).strip() else ""
    if isinstance(error, PhiReviewError):
        return inert(text[:limit]) or type(error).__name__
    if isinstance(error, OSError) and error.strerror:
        return inert(error.strerror)
    return inert(f"{type(error).__name__}: {text[:limit]}" if text else type(error).__name__)


def check_marker(path: str | os.PathLike[str]) -> None:
    """A regular file carrying the ``DICM`` marker, or one line why not (cheap: 132 bytes, no parse)."""
    path = Path(path)
    name = inert(path.name)
    try:
        with open_regular(path) as handle:
            head = handle.read(132)
    except FileNotFoundError:
        raise DicomError(f"{name}: no such file") from None
    except PhiReviewError as error:  # a FIFO, a device, a folder: named as such, never opened for reading
        raise NotDicomError(error_text(error)) from None
    except OSError as error:
        raise DicomError(f"{name}: cannot open ({error_text(error)})") from None
    if not head:
        raise NotDicomError(f"{name}: not a readable DICOM file (empty)")
    if head[128:132] != b"DICM":
        raise NotDicomError(f"{name}: not a readable DICOM file (no DICM marker)")


def read_header(path: str | os.PathLike[str]) -> Dataset:
    """The file's meta and dataset up to Pixel Data, bounded in time and memory; DicomError (one line) if not.

    Values over ``reading.DEFER_BYTES`` stay on disk until asked for.
    """
    from phi_review.core.dicom.reading import read_dicom

    path = Path(path)
    name = inert(path.name)
    check_marker(path)  # a FIFO or a folder is named, never opened; no DICM marker, no parse
    try:
        return read_dicom(path).dataset
    except PhiReviewError as error:
        text = error_text(error)
        raise DicomError(text if text.startswith(name) else f"{name}: not a readable DICOM file ({text})") from None
    except Exception as error:  # noqa: BLE001 - pydicom raises many kinds for a damaged file
        raise DicomError(f"{name}: not a readable DICOM file ({error_text(error)})") from None


def element_or_none(dataset: Dataset, tag: object) -> object:
    """``dataset[tag]`` with its value converted, or None when pydicom cannot convert it (odd length, bad VR)."""
    try:
        return dataset[tag]  # type: ignore[index]
    except Exception:  # noqa: BLE001 - a damaged value: the caller shows the element as unreadable
        return None


def decode_budget_problem(path: str | os.PathLike[str], dataset: Dataset) -> str | None:
    """Why decoding this file's frames would blow the memory budget (as ``preview`` refuses), or None.

    Why: a decoder allocates what the compressed data declares, whatever Rows and Columns say; a JPEG whose
    SOF claims 65520x65520 in a 128x128 image kept ``redact`` decoding for minutes at 3 GB.
    """
    from phi_review.core.dicom.pixels import FRAME_BUDGET, codestream_size
    from phi_review.core.dicom.reading import UNDEFINED, first_fragment, read_dicom

    def number(keyword: str, default: int) -> int:
        try:
            return int(dataset.get(keyword, default) or default)
        except Exception:  # noqa: BLE001 - a damaged value counts as the default
            return default

    rows, columns = number("Rows", 0), number("Columns", 0)
    samples, bits = number("SamplesPerPixel", 1), number("BitsAllocated", 8)
    size = rows * columns * max(1, samples) * max(4, -(-bits // 8))
    if size > FRAME_BUDGET:
        return f"a frame of {columns}x{rows}x{samples} at {bits} bits is over the {FRAME_BUDGET >> 20} MB budget"
    try:
        location = read_dicom(path).pixels
        if location is None or location.length != UNDEFINED:
            return None
        fragment = first_fragment(path, location)
    except Exception:  # noqa: BLE001 - the decoder's own checks report an unreadable fragment
        return None
    declared = codestream_size(fragment) if fragment else None
    if declared is None:
        return None
    width, height, components, depth = declared
    size = width * height * max(1, components) * max(4, -(-depth // 8))
    if size > FRAME_BUDGET:
        return (f"its compressed data declares {width}x{height}x{components} at {depth} bits, over the "
                f"{FRAME_BUDGET >> 20} MB budget (a decompression bomb?)")
    return None
