"""Before a run writes any copy: check where every copy goes, tidy a killed run's leftovers, and see what is done.

``fix`` and ``redact`` (and any caller writing many copies) call
``prepare_output`` after planning: it refuses a symlink below the output folder
(the manifest included) for every planned copy, recovers the folder
(``manifest.recover_output``), and splits the plan into copies still to write
and copies a previous run of the same job already wrote and recorded, so a
re-run after ``kill -9`` goes on where it stopped instead of refusing.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from phi_review.core.common.inert import inert
from phi_review.core.remedy.errors import RemedyError
from phi_review.core.remedy.manifest import (
    MANIFEST_NAME,
    OnOrphan,
    OutputHold,
    Recovery,
    copy_rel,
    latest_records,
    read_manifest,
    recover_output,
    sha256_file,
)
from phi_review.core.remedy.outdir import check_below


class _Redo(Exception):
    """A copy this run writes again from its original: the unrecorded one goes."""


@dataclass
class Prepared:
    """The plan after the checks: copies to write (copy -> original), copies already done, what recovery did."""

    todo: dict[Path, Path]
    done: list[Path] = field(default_factory=list)
    recovery: Recovery = field(default_factory=Recovery)
    hold: OutputHold | None = None  # keep it while writing: another run's recovery leaves this run's files alone


def prepare_output(planned: Mapping[Path, Path], out_dir: Path, *, same_job: Callable[[dict[str, Any]], bool],
                   overwrite: bool = False, on_orphan: OnOrphan | None = None,
                   hint: str = "choose another --out or remove the old copy") -> Prepared:
    """Check, recover and split ``planned`` (copy -> original, from ``output.plan_copies``); nothing is written yet.

    A copy of this plan left unrecorded by a killed run (or its ``residual/``
    twin) is removed (this run writes it again from its original); other unrecorded copies go to
    ``on_orphan`` (see ``recover_output``). An existing recorded copy is done
    when its record names the same original bytes and ``same_job(record)``
    says the settings match; any other existing copy is refused, unless
    ``overwrite``.
    """
    out_dir = Path(out_dir)
    if os.path.islink(out_dir):  # DESIGN: output folders are never written through a symlink
        raise RemedyError(f"{inert(out_dir)} is a symbolic link: give the folder it points to, or another --out")
    if not planned:
        return Prepared(todo={})  # nothing to write: the folder is not made, nor touched
    from phi_review.core.remedy.claims import residual_path

    # where this run writes: each copy, or the twin its proof puts aside under residual/
    places = [where for dest in planned for where in (dest, residual_path(dest, out_dir))]
    check_below(out_dir, out_dir / MANIFEST_NAME)
    for where in places:
        check_below(out_dir, where)
    ours = {os.path.normpath(os.path.abspath(where)) for where in places}

    def orphan(copy: Path) -> dict[str, Any] | None:
        if os.path.normpath(os.path.abspath(copy)) in ours:
            raise _Redo()
        return on_orphan(copy) if on_orphan is not None else None

    out_dir.mkdir(parents=True, exist_ok=True)
    hold = OutputHold(out_dir)
    recovery = recover_output(out_dir, on_orphan=orphan, hold=hold)
    latest = latest_records(out_dir, read_manifest(out_dir))
    prepared = Prepared(todo={}, recovery=recovery, hold=hold)
    for dest, original in planned.items():
        if not os.path.lexists(dest) or overwrite:
            prepared.todo[dest] = original
            continue
        record = latest.get(copy_rel(out_dir, dest) or "")
        if record is not None and record.get("original_sha256") == sha256_file(original) and same_job(record):
            prepared.done.append(dest)
            continue
        raise RemedyError(f"{inert(dest)} already exists: {hint}")
    return prepared
