"""The real validator (``validate-dicom-files``) run on the package before it is released.

It runs once per collection folder of the package with ``-q -c 1 -o OUT``
(single process: its CSVs then name each file by the path it walked) in the
working folder OUT, a private folder inside the package's hidden build folder:
its CSVs hold the values it found, so they are read at once and removed, and a
killed run's leftovers go with the hidden folder. A header or pixel finding
is PHI: the file is named (never the value) and the release stops, or with
``--partial`` that file is taken out.
"""

from __future__ import annotations

import csv
import os
import shlex
import shutil
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from phi_review.core.common.inert import inert
from phi_review.core.release.stage import WORK, ReleaseError
from phi_review.core.report.validator import COLUMNS_PER_EVENT, COLUMNS_PER_SITE, csv_layout, kind_of

PHI_KINDS = ("header", "pixels")
TIMEOUT = 6 * 3600


@dataclass
class ValidatorResult:
    command: str
    flagged: dict[str, list[str]] = field(default_factory=dict)  # LabCAS name -> finding kinds (no values)
    unplaced: int = 0  # PHI rows naming no file of the package


def validator_command(text: str) -> list[str]:
    """The command as words; its program must exist and be executable (checked before anything is built)."""
    words = shlex.split(text)
    if not words:
        raise ReleaseError("--validator needs a command")
    program = shutil.which(words[0]) if os.sep not in words[0] else words[0]
    if program is None or not os.path.isfile(program) or not os.access(program, os.X_OK):
        raise ReleaseError(f"--validator: {inert(words[0])} is not an installed program")
    return [program, *words[1:]]


def run_validator(command: list[str], staging: Path, collections: Iterable[str],
                  names: dict[str, str]) -> ValidatorResult:
    """Run ``command`` on each collection folder below ``staging``; ``names``: staged path -> LabCAS name."""
    result = ValidatorResult(Path(command[0]).name)
    staging = Path(os.path.abspath(staging))  # it runs in its own working folder: relative paths would miss
    by_place = {_place(rel): rel for rel in names.values()}
    work = staging / WORK
    for collection in sorted(set(collections)):
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(mode=0o700)
        try:
            args = [*command, "-q", "-c", "1", "-o", str(work), str(staging / collection)]
            try:
                done = subprocess.run(args, cwd=work, capture_output=True, timeout=TIMEOUT,
                                      stdin=subprocess.DEVNULL)
            except (OSError, subprocess.TimeoutExpired) as error:
                raise ReleaseError(f"the validator could not run ({type(error).__name__})") from None
            if done.returncode != 0:
                raise ReleaseError(f"the validator failed (exit {done.returncode}); the release stopped")
            for path in sorted(work.rglob("*.csv")):
                _read_csv(path, staging, names, by_place, result)
        finally:
            shutil.rmtree(work, ignore_errors=True)  # its CSVs hold the values it found
    return result


def _place(labcas: str) -> tuple[str, ...]:
    """(site, event, file name) of a LabCAS name, as the validator's pool mode names a file."""
    parts = labcas.split("/")
    return (parts[1] if len(parts) > 2 else "", parts[2] if len(parts) > 3 else "", parts[-1])


def _read_csv(path: Path, staging: Path, names: dict[str, str], by_place: dict[tuple[str, ...], str],
              result: ValidatorResult) -> None:
    with path.open(encoding="utf-8", errors="replace", newline="") as handle:
        rows = list(csv.reader(handle))
    if not rows or csv_layout(rows[0]) not in ("per-site", "per-event"):
        raise ReleaseError(f"the validator wrote a CSV this release cannot read ({inert(path.name)})")
    columns = COLUMNS_PER_SITE if csv_layout(rows[0]) == "per-site" else COLUMNS_PER_EVENT
    for cells in rows[1:]:
        row = dict(zip(columns, cells))
        kind = kind_of(row.get("Findings", ""))
        if kind not in PHI_KINDS:
            continue
        name = row.get("File Name", "")
        labcas = None
        if os.path.isabs(name):
            rel = os.path.relpath(os.path.realpath(name), os.path.realpath(staging))
            labcas = names.get(Path(rel).as_posix())
        if labcas is None:
            labcas = by_place.get((row.get("Site ID", ""), row.get("Event ID", ""), Path(name).name))
        if labcas is None:
            result.unplaced += 1
            continue
        kinds = result.flagged.setdefault(labcas, [])
        if kind not in kinds:
            kinds.append(kind)
