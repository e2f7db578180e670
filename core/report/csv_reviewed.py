"""The validator's own CSVs are never written: a reviewer's decisions go to a hidden reviewed copy beside each.

``summarize-validation-reports DIR`` (jpl-labcas-validation) reads every
``DIR/*/*.csv`` with ``glob.iglob`` and unpacks exactly the validator's columns
per row; appending Action, Reviewer... to ``Site.csv`` made it stop with "too
many values to unpack". So a CSV whose first record is the validator's header
(``Site ID, Event ID, File Name, [Profile,] Score, Findings, Details``) stays as
the validator wrote it, and a save writes ``.Site.csv.reviewed``: the original's
bytes with our columns spliced in exactly as an in-place save would. The name
starts with a dot (``glob``, shells and our folder walk skip it) and does not end
in ``.csv`` (``pathlib`` globs, which see hidden names, skip it too).

Beside it, ``.Site.csv.reviewed.json`` holds sizes and SHA-256 digests only (no
PHI): the original's when the copy was made, and the copy's as written. Opening
the validator's file reads the decisions from the copy when both digests still
hold, or when the copy's rows are the original's rows apart from our columns
(a save killed between the two writes, a copy re-saved elsewhere); otherwise
the original changed since, decisions would land on other rows, and opening is
refused in one line.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from phi_review.core.common.atomic_file import remove_stale_temps, replace_atomically
from phi_review.core.common.errors import ReportError
from phi_review.core.common.inert import inert
from phi_review.core.report.csv_encoding import split_prefix
from phi_review.core.report.model import Fingerprint
from phi_review.core.report.new_columns import NEW_HEADERS
from phi_review.core.report.validator import csv_layout

REVIEWED_TAIL = ".reviewed"
META_TAIL = ".reviewed.json"
META_FORMAT = "phi-review reviewed copy"
COMPARE_LIMIT = 512 * 1024 * 1024  # bytes of both files; beyond, a copy without matching digests is refused
_READ_LIMIT = 64 * 1024  # a meta file is a few hundred bytes
_HEAD_BYTES = 8192  # enough for the validator's header line


@dataclass
class ReviewedCopy:
    """Where one validator CSV's decisions live, and the original it was made from."""

    path: Path  # .<name>.reviewed: read from when ``exists``, written by every save
    meta: Path  # .<name>.reviewed.json: digests only
    original: Fingerprint  # the validator's file as read: a save refuses when it changed
    exists: bool = False  # True: the report was read from the copy (or a save wrote it)


def reviewed_path(original: Path) -> Path:
    """``.Site.csv.reviewed`` beside ``Site.csv``: matched by no ``*.csv`` glob."""
    return original.with_name(f".{original.name}{REVIEWED_TAIL}")


def meta_path(original: Path) -> Path:
    return original.with_name(f".{original.name}{META_TAIL}")


def original_of(path: Path) -> Path | None:
    """``Site.csv`` for ``.Site.csv.reviewed`` or ``.Site.csv.reviewed.json``; None for other names."""
    for tail in (META_TAIL, REVIEWED_TAIL):
        name = path.name
        if name.startswith(".") and name.endswith(tail) and len(name) > len(tail) + 1:
            return path.with_name(name[1: -len(tail)])
    return None


def fingerprint_of(data: bytes, path: Path) -> Fingerprint:
    return Fingerprint(size=len(data), mtime_ns=path.stat().st_mtime_ns, sha256=hashlib.sha256(data).hexdigest())


def first_record(text: str, delimiter: str) -> list[str]:
    """The file's first record (the validator's header never spans lines)."""
    end = len(text)
    for stop in ("\r", "\n"):
        at = text.find(stop, 0, end)
        if at >= 0:
            end = at
    try:
        return next(csv.reader([text[:end]], delimiter=delimiter), [])
    except csv.Error:
        return []


def in_validator_layout(text: str, delimiter: str) -> bool:
    """True when the first record is the validator's header, 1.0.x (with Profile) or older (without)."""
    return csv_layout(first_record(text[:4096], delimiter)) != "unknown"


def head_in_validator_layout(data: bytes, name: str) -> bool:
    """``in_validator_layout`` on the file's first bytes only (a 500k-row file is not decoded for it)."""
    from phi_review.core.report.csv_report import sniff_delimiter

    head = data[:_HEAD_BYTES]
    try:  # the header is ASCII: a character cut at the end of the head is harmless
        prefix, codec = split_prefix(head[: len(head) - len(head) % 2], name)
    except ReportError:  # a UTF-16 pair cut in two: the whole file says (and refuses what is broken)
        prefix, codec = split_prefix(data, name)
    text = head[len(prefix):].decode(codec, errors="ignore")
    return in_validator_layout(text, sniff_delimiter(text))


def load_reviewed(path: Path, data: bytes) -> tuple[bytes, ReviewedCopy] | None:
    """(the bytes to read the report from, its copy), or None for a CSV saved in place (not the validator's).

    The bytes are the reviewed copy's when there is one that belongs to this original, else ``data``.
    """
    if not head_in_validator_layout(data, path.name):
        return None
    copy = ReviewedCopy(reviewed_path(path), meta_path(path), fingerprint_of(data, path))
    reviewed = _read_copy(copy.path, path.name)
    if reviewed is None:
        return data, copy
    if not (_digests_hold(copy.meta, data, reviewed) or rows_match(data, reviewed, path.name)):
        raise ReportError(
            f"{inert(path.name)} changed since its reviewed copy {inert(copy.path.name)} was made (their rows "
            "differ), so its decisions would land on other rows; not opened: put the validator's file back as "
            f"it was, or move {inert(copy.path.name)} and {inert(copy.meta.name)} (the decisions) away to start over")
    copy.exists = True
    return reviewed, copy


def _read_copy(copy: Path, name: str) -> bytes | None:
    """The copy's bytes, None when there is none; a link or non-file in its place is refused, not followed."""
    try:
        fd = os.open(copy, os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW | os.O_NONBLOCK)
    except FileNotFoundError:
        return None
    except OSError as error:
        raise ReportError(f"{inert(copy.name)} (the reviewed copy of {inert(name)}) cannot be read: "
                          f"{error.strerror}; it is not a file of ours, move it away") from None
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
            raise ReportError(f"{inert(copy.name)} (the reviewed copy of {inert(name)}) is not a regular file; "
                              "move it away")
        os.set_blocking(handle.fileno(), True)
        return handle.read()


def _read_meta(meta: Path) -> dict | None:
    try:
        fd = os.open(meta, os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return None
    try:
        with os.fdopen(fd, "rb") as handle:
            if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
                return None
            value = json.loads(handle.read(_READ_LIMIT))
    except (OSError, ValueError):
        return None
    return value if isinstance(value, dict) and value.get("format") == META_FORMAT else None


def _digests_hold(meta_file: Path, original: bytes, reviewed: bytes) -> bool:
    meta = _read_meta(meta_file)
    if meta is None:
        return False
    want = {"original": original, "reviewed": reviewed}
    for key, data in want.items():
        entry = meta.get(key)
        if not isinstance(entry, dict) or entry.get("size") != len(data):
            return False
        if entry.get("sha256") != hashlib.sha256(data).hexdigest():
            return False
    return True


def rows_match(original: bytes, reviewed: bytes, name: str) -> bool:
    """True when ``reviewed`` holds ``original``'s records cell for cell, then only our columns after them."""
    if len(original) + len(reviewed) > COMPARE_LIMIT:
        return False
    try:
        old, new = _records(original, name), _records(reviewed, name)
    except (ReportError, csv.Error, UnicodeDecodeError):
        return False
    if len(old) != len(new) or not old:
        return False
    ours_from = max(map(len, old))  # a save appends after the widest record (core.report.csv_report)
    header = old[0]
    ours = set(NEW_HEADERS.values())
    for a, b in zip(old, new):
        if b[: len(a)] != a or any(cell for cell in b[len(a):ours_from]):
            return False
        if a == header and not set(b[ours_from:]) <= ours | {""}:
            return False  # a header line (the first, or one repeated below) names only our columns after its own
    return True


def _records(data: bytes, name: str) -> list[list[str]]:
    from phi_review.core.report.csv_report import FIELD_LIMIT, sniff_delimiter

    prefix, codec = split_prefix(data, name)
    text = data[len(prefix):].decode(codec)
    if csv.field_size_limit() < FIELD_LIMIT:
        csv.field_size_limit(FIELD_LIMIT)
    return list(csv.reader(io.StringIO(text, newline=""), delimiter=sniff_delimiter(text)))


def decorated_note(path: Path, headers: list[str]) -> str | None:
    """One line for a validator CSV an earlier phi-review saved decisions into (in place), else None.

    The next save carries them over (core.report.csv_carry_over): the decisions go to the hidden reviewed
    copy and the validator's file is put back, so its summarizer reads the folder again.
    """
    from phi_review.core.report.csv_carry_over import validator_width

    if validator_width(headers) is None:
        return None
    legacy, hidden = path.with_name(f"{path.stem}.orig{path.suffix}"), path.with_name(f".{path.name}.orig")
    back = ""
    if legacy.exists():
        back = f" (from {inert(legacy.name)}, which moves out of the folder's *.csv)"
    elif hidden.exists():
        back = f" (from {inert(hidden.name)}, the original an earlier save kept)"
    return (f"{inert(path.name)} holds decision columns an earlier phi-review saved into it, which stops "
            "summarize-validation-reports on its folder: the next save moves them to "
            f"{inert(reviewed_path(path).name)} and puts the validator's file back{back}")


# ----------------------------------------------------------------------------- writing


def current_bytes(copy: ReviewedCopy, original: Path) -> bytes:
    """What a save splices into: the copy once there is one, else the validator's file."""
    if copy.exists:
        data = _read_copy(copy.path, original.name)
        if data is None:
            raise ReportError(f"{inert(copy.path.name)} disappeared since it was opened; not written "
                              "(your decisions are kept in the journal)")
        return data
    return original.read_bytes()


def write_reviewed(copy: ReviewedCopy, original: Path, data: bytes) -> list[str]:
    """Write the copy, then its digests (each atomically); the validator's file is never opened for writing.

    Returns warnings: the owner one of ``replace_atomically``, and on the first save where the decisions went.
    """
    first = not copy.exists
    for target in (copy.path, copy.meta):
        if target.is_symlink() or (target.exists() and not target.is_file()):
            raise ReportError(f"{inert(target.name)} is a link or not a file; not written through it "
                              "(your decisions are kept in the journal)")
    remove_stale_temps(copy.path)  # a save killed while writing (the caller holds the report's lock)
    remove_stale_temps(copy.meta)
    warning = replace_atomically(copy.path, lambda handle: handle.write(data), like=original)
    meta = {
        "format": META_FORMAT, "version": 1,
        "original": {"size": copy.original.size, "sha256": copy.original.sha256},
        "reviewed": {"size": len(data), "sha256": hashlib.sha256(data).hexdigest()},
    }
    text = json.dumps(meta, sort_keys=True).encode("ascii") + b"\n"
    replace_atomically(copy.meta, lambda handle: handle.write(text), like=original)
    copy.exists = True
    # The copy is a new file of ours: its owner is us; only a group it could not keep is worth a word.
    said = [warning] if warning and "group" in warning else []
    if first:
        said.append(f"{original.name} is the validator's file and stays as it was written (its summarizer reads "
                    f"it): the decisions are in {copy.path.name} beside it; 'phi-review export' writes them where "
                    "you choose")
    return said


def copy_changed(copy: ReviewedCopy, original: Path, read: Fingerprint) -> bool:
    """True when the validator's file is not the one read, or the copy is not (or no longer, or now) there."""
    if _stat_changed(original, copy.original):
        return True
    if copy.exists:
        return _stat_changed(copy.path, read)
    return os.path.lexists(copy.path)  # another session made one since we read


def _stat_changed(path: Path, fp: Fingerprint) -> bool:
    try:
        info = os.stat(path)
    except OSError:
        return True
    if info.st_size != fp.size:
        return True
    if info.st_mtime_ns == fp.mtime_ns:
        return False
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest() != fp.sha256
    except OSError:
        return True
