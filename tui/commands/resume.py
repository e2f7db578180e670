"""What `fix` and `redact` do before writing a copy: links under --out refused, a killed run tidied, done copies kept."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

from phi_review.core.common.inert import inert


class HeldPlan(dict):  # type: ignore[type-arg]
    """The copies to write; it keeps this run's hold on the output folder until the run drops it."""

    hold: object = None


def resume_plan(planned: dict[Path, Path], out: Path, same_job: Callable[[dict], bool], *, overwrite: bool = False,
                hint: str = "choose another --out or remove the old copy",
                on_orphan: Callable[[Path], dict | None] | None = None) -> dict[Path, Path]:
    """The copies still to write (copy -> original), after ``core.remedy.resume.prepare_output``; notes on stderr.

    A re-run after ``kill -9`` (or a full disk) goes on: temp files are removed,
    a copy left without its record is written again, and copies this same job
    already wrote and recorded are kept. ``--resume`` names this default.
    ``on_orphan(copy)``: asked about an unrecorded copy this run does not write
    again (extra record fields, or raise to remove it; see ``recover_output``).
    """
    from phi_review.core.remedy.resume import prepare_output

    prepared = prepare_output(planned, out, same_job=same_job, overwrite=overwrite, hint=hint, on_orphan=on_orphan)
    if summary := prepared.recovery.summary():
        print(f"# {inert(out)}: {summary}", file=sys.stderr)
    if prepared.done:
        print(f"# {len(prepared.done)} copy(ies) already in {inert(out)} with their records (kept); "
              f"{len(prepared.todo)} to write", file=sys.stderr)
    plan = HeldPlan(prepared.todo)
    plan.hold = prepared.hold
    return plan
