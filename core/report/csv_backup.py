"""Where a CSV report's untouched original is kept, so that no glob of the report folder finds it.

The validator's own ``summarize-validation-reports DIR`` reads every
``DIR/*/*.csv``; a folder opened here reads every ``*.csv``. A backup named
``Site.orig.csv`` was read by both (every finding twice), and leaving out every
``*.orig.csv`` by name dropped a user's real file of that name. So:

- the original is kept once as ``.<name>.orig`` beside the file (``.Site.csv.orig``):
  hidden (``glob``, shells and our folder walk skip it) and not ending in
  ``.csv`` (so even ``pathlib``'s globs, which see hidden names, skip it);
- no file is left out by its name. A ``X.orig.csv`` an earlier version kept is
  left out only when ``X.csv`` is in the same report and holds the very same rows
  apart from our decision columns: reading it would read those rows twice.
"""

from __future__ import annotations

import csv
import io
import shutil
from collections.abc import Sequence
from pathlib import Path

from phi_review.core.common.atomic_file import remove_stale_temps, replace_atomically
from phi_review.core.common.errors import ReportError
from phi_review.core.common.inert import inert
from phi_review.core.report.columns import find_header, match_columns, normalize
from phi_review.core.report.csv_encoding import split_prefix
from phi_review.core.report.model import EDITABLE_FIELDS

_LEGACY_TAIL = ".orig.csv"
_COMPARE_LIMIT = 256 * 1024 * 1024  # bytes of the two files together; beyond, a pair is never taken as ours


def backup_path(target: Path) -> Path:
    return target.with_name(f".{target.name}.orig")


def legacy_backup_path(target: Path) -> Path:
    return target.with_name(f"{target.stem}.orig{target.suffix}")


def backup_csv_once(target: Path) -> Path:
    """Keep the untouched original once (first save only), written atomically; returns where it is."""
    if target.is_symlink():  # the shared target is what changes: its original is kept beside it
        target = target.resolve()
    legacy = legacy_backup_path(target)
    if legacy.exists() and is_our_legacy_backup(legacy, target):
        return legacy  # an earlier version already kept the untouched original
    backup = backup_path(target)
    if not backup.exists():
        remove_stale_temps(backup)  # a save killed while writing the backup (we hold the report's lock)
        with open(target, "rb") as source:
            replace_atomically(backup, lambda handle: shutil.copyfileobj(source, handle, 1 << 20), like=target)
        shutil.copystat(target, backup)
    return backup


def leave_out_old_backups(files: Sequence[Path]) -> tuple[list[Path], list[str]]:
    """``files`` without the ``X.orig.csv`` backups an earlier version kept of an ``X.csv`` among them."""
    by_place = {(p.parent, p.name.lower()): p for p in files}
    kept: list[Path] = []
    notes: list[str] = []
    for path in files:
        name = path.name
        if name.lower().endswith(_LEGACY_TAIL) and len(name) > len(_LEGACY_TAIL):
            partner = by_place.get((path.parent, (name[: -len(_LEGACY_TAIL)] + name[-4:]).lower()))
            if partner is not None and is_our_legacy_backup(path, partner):
                notes.append(f"{inert(name)} left out: it is the original phi-review kept of {inert(partner.name)} "
                             "(the same rows), so its rows would be read twice")
                continue
        kept.append(path)
    return kept, notes


def is_our_legacy_backup(backup: Path, report: Path) -> bool:
    """True when ``backup`` holds the rows of ``report`` cell for cell, apart from decision columns."""
    try:
        if backup.stat().st_size + report.stat().st_size > _COMPARE_LIMIT:
            return False
        old, new = _records(backup.read_bytes(), backup.name), _records(report.read_bytes(), report.name)
    except (OSError, ReportError, csv.Error):
        return False
    if old is None or new is None or len(old) != len(new):
        return False
    header = find_header(new)
    if header is None:
        return False
    index, _found = header
    ours = {i for f, i in match_columns(new[index]).items() if f in EDITABLE_FIELDS}
    for number, (a, b) in enumerate(zip(old, new)):
        if number == index:
            a_norm, b_norm = [normalize(c) for c in a], [normalize(c) for c in b]
            if b_norm[: len(a_norm)] != a_norm and not _same_but(a_norm, b_norm, ours):
                return False
        elif not _same_but(a, b, ours):
            return False
    return True


def _same_but(a: Sequence[str], b: Sequence[str], skip: set[int]) -> bool:
    width = max(len(a), len(b))
    for i in range(width):
        if i in skip:
            continue
        if (a[i] if i < len(a) else "") != (b[i] if i < len(b) else ""):
            return False
    return True


def _records(data: bytes, name: str) -> list[list[str]] | None:
    from phi_review.core.report.csv_report import FIELD_LIMIT, sniff_delimiter

    prefix, codec = split_prefix(data, name)
    text = data[len(prefix):].decode(codec)
    if csv.field_size_limit() < FIELD_LIMIT:
        csv.field_size_limit(FIELD_LIMIT)
    return list(csv.reader(io.StringIO(text, newline=""), delimiter=sniff_delimiter(text)))
