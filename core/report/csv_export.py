"""Hand a CSV report's decisions back: the reviewed CSV (its own columns + ours) where the reviewer says.

The validator's CSVs keep their decisions in hidden reviewed copies
(core.report.csv_reviewed); what the informatics center gets back is that copy
under a name the reviewer chooses. It must not land where
``summarize-validation-reports DIR`` reads (``DIR/*/*.csv``): a folder holding
validator CSVs is such a folder, and so is any sibling of the folder the
report came from (both are ``DIR/*/`` for the same ``DIR``). Those targets are
refused in one line.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from phi_review.core.common.atomic_file import replace_atomically
from phi_review.core.common.errors import ReportError
from phi_review.core.common.inert import inert
from phi_review.core.report.csv_reviewed import ReviewedCopy, head_in_validator_layout
from phi_review.core.report.model import Report, Source

_SCAN_LIMIT = 2000  # CSV files looked at in one folder before calling it a report folder anyway
_HEAD_BYTES = 8192


@dataclass(frozen=True)
class Exported:
    source: Path  # the report file whose decisions were written
    target: Path
    decided: bool  # False: no decision was saved for it yet, so nothing was written to ``target``


def holds_validator_csvs(folder: Path, but: Path | None = None) -> bool:
    """True when ``folder`` has a ``*.csv`` (not hidden, not ``but``) whose first record is the validator's header."""
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError:
        return False
    looked = 0
    for entry in entries:
        if entry.name.startswith(".") or not entry.name.lower().endswith(".csv") or entry.name == getattr(but, "name", ""):
            continue
        looked += 1
        if looked > _SCAN_LIMIT:
            return True
        try:
            if not entry.is_file():
                continue
            with open(entry.path, "rb") as handle:
                if head_in_validator_layout(handle.read(_HEAD_BYTES), entry.name):
                    return True
        except (OSError, ReportError):
            continue
    return False


def refusal(target: Path, report_folders: set[Path]) -> str | None:
    """Why ``target`` is no place for an exported report (one line), or None."""
    folder = Path(os.path.abspath(target.parent))
    real = Path(os.path.realpath(folder))
    for report_folder in report_folders:
        home = Path(os.path.realpath(report_folder))
        if real == home:
            return (f"{inert(target)} is in the folder the validator's reports are in; "
                    "summarize-validation-reports would read it: choose a folder outside the reports")
        if home in real.parents:
            return (f"{inert(target)} is inside the validator's report folder {inert(report_folder)}; opening that "
                    "folder would read its rows twice: choose a folder outside the reports")
    if holds_validator_csvs(folder, but=target):
        return (f"{inert(folder)} holds the validator's CSV reports, so summarize-validation-reports "
                f"would read {inert(target.name)} there too: choose a folder outside the reports")
    for report_folder in report_folders:
        if os.path.realpath(folder.parent) == os.path.realpath(Path(os.path.abspath(report_folder)).parent):
            return (f"{inert(folder)} sits beside {inert(report_folder)}, so summarize-validation-reports on "
                    f"their parent folder would read {inert(target.name)}: choose a folder outside the reports")
    return None


def plan_export(report: Report, out: Path) -> list[tuple[Source, Path]]:
    """(source, target) for every CSV of the report: ``out`` itself for one file, ``out/<its name>`` for several."""
    if report.kind != "csv":
        raise ReportError(f"{inert(report.path.name)} is a workbook and holds its decisions itself; "
                          "export is for CSV reports")
    sources = report.sources
    if len(sources) == 1 and not sources[0].name:
        if out.is_dir():
            return [(sources[0], out / sources[0].path.name)]
        return [(sources[0], out)]
    if out.exists() and not out.is_dir():
        raise ReportError(f"{inert(out)} is a file; a report of {len(sources)} CSV files exports to a folder")
    return [(source, out / source.name) for source in sources]


def export_csv(report: Report, out: Path, force: bool = False) -> list[Exported]:
    """Write each report CSV's saved decisions (its reviewed copy, or the file itself) to ``out``; all checks first."""
    plan = [(source, target) for source, target in plan_export(report, out) if _decided(source)]
    if not plan:
        raise ReportError(f"no decision is saved in {inert(report.path.name)} yet; nothing exported")
    folders = {Path(os.path.abspath(source.path.parent)) for source, _ in plan if isinstance(source.reviewed, ReviewedCopy)}
    for source, target in plan:
        problem = refusal(target, folders)
        if problem:
            raise ReportError(problem)
        if os.path.lexists(target):
            if target.is_symlink() or not target.is_file():
                raise ReportError(f"{inert(target)} is a link or not a file; not written through it")
            if not force:
                raise ReportError(f"{inert(target)} exists; give --force to replace it")
        if os.path.realpath(target) in (os.path.realpath(source.path), _copy_real(source)):
            raise ReportError(f"{inert(target)} is the report itself; choose another file")
    done = [Exported(source.path, target, False) for source, target in plan_export(report, out)
            if not _decided(source)]
    for source, target in plan:
        copy = source.reviewed
        read_from = copy.path if isinstance(copy, ReviewedCopy) and copy.exists else source.path
        data = read_from.read_bytes()
        if hashlib.sha256(data).hexdigest() != source.fingerprint.sha256:
            raise ReportError(f"{inert(source.path.name)} changed since it was opened; export again")
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.parent.is_symlink():
            raise ReportError(f"{inert(target.parent)} is a link; not written through it")
        replace_atomically(target, lambda handle, data=data: handle.write(data), like=source.path)
        done.append(Exported(source.path, target, True))
    return done


def _decided(source: Source) -> bool:
    """A validator CSV has decisions once its reviewed copy exists; a user's CSV once it has our Action column."""
    copy = source.reviewed
    return copy.exists if isinstance(copy, ReviewedCopy) else source.columns.action is not None


def _copy_real(source: Source) -> str:
    copy = source.reviewed
    return os.path.realpath(copy.path) if isinstance(copy, ReviewedCopy) else ""
