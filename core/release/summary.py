"""The release manifest's closing line and the banner: counts and held rows, never a value."""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from phi_review.core.common.inert import inert, shorten

SHOWN = 50  # held rows named in the banner; the manifest names them all


def count_package(files: Iterable[Path]) -> dict[str, int]:
    """Studies, series, files and frames of the released copies (UIDs counted in memory, never written)."""
    import pydicom

    studies: set[str] = set()
    series: set[str] = set()
    count = frames = 0
    for path in files:
        count += 1
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                ds = pydicom.dcmread(path, stop_before_pixels=True,
                                     specific_tags=["StudyInstanceUID", "SeriesInstanceUID", "NumberOfFrames"])
            frames += max(1, int(ds.get("NumberOfFrames", 1) or 1))
            studies.add(str(ds.get("StudyInstanceUID", "")))
            series.add(str(ds.get("SeriesInstanceUID", "")))
        except Exception:  # noqa: BLE001 - the proof read it already; a count is no reason to stop
            frames += 1
    return {"studies": len(studies), "series": len(series), "files": count, "frames": frames}


def banner(summary: dict[str, Any], held: Sequence[dict[str, Any]], *, published: bool, where: str) -> list[str]:
    """Lines for the terminal and RELEASE.txt: what was released, what to delete, what stayed behind and why."""
    lines = []
    if published:
        lines.append(f"Release written to {inert(where)}")
        lines.append(f"  released: {summary['studies']} studies, {summary['series']} series, "
                     f"{summary['files']} files, {summary['frames']} frames")
        lines.append(f"  files to delete from LabCAS (the originals they replace): {summary['deletions']}"
                     f" (listed in deletions.txt)")
    else:
        lines.append("Release stopped: no package was written.")
    lines.append(f"  approved, nothing to upload: {summary['approved']} rows")
    lines.append(f"  for the informatics centre (not released): {summary['informatics']} rows")
    lines.append(f"  held back: {len(held)} rows" + (" (give --partial to release the rest)"
                                                      if held and not published else ""))
    if len(held) > SHOWN:
        for why, count in _by_reason(held)[:8]:
            lines.append(f"    {count:>7}  {shorten(inert(why), 100)}")
    for row in held[:SHOWN]:
        lines.append(f"    {inert(row['source'])}:{row['row']}  {shorten(inert(row['name']), 90)}  "
                     f"{inert(row.get('reason', ''))}")
    if len(held) > SHOWN:
        where = "all in release-manifest.jsonl" if published else "phi-review summary counts the undecided"
        lines.append(f"    ... and {len(held) - SHOWN} more ({where})")
    return lines


def _by_reason(held: Sequence[dict[str, Any]]) -> list[tuple[str, int]]:
    """Held rows counted by the kind of reason (its words before any detail), most first."""
    counts: dict[str, int] = {}
    for row in held:
        why = str(row.get("reason", "")).split(" (", 1)[0].split(": ", 1)[0]
        counts[why] = counts.get(why, 0) + 1
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))
