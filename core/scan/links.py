"""Which files a scan read through a symbolic link to outside its trees, for the review of that scan's output.

The review reads only files under its ``--root`` folders, and ``dicom.locate``
leaves out a link that leads out of them: a report could otherwise name any
file of the machine. A scan follows such links (the validator does) and
writes rows for the file behind them, under the link's path. Opening the
scan's own output with the same trees as roots may read exactly those files
again, and no other: the scan recorded each (link path, real path) in its
state (``sink``), and a link is allowed only when it lies under a root given
now and still leads to the real path the scan read. A link retargeted since,
a link the scan did not read, or a report that is not a complete scan's
output gets nothing here, and the row's file stays refused.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path

from phi_review.core.scan.sink import STATE_DIR


def _state(report: Path) -> dict[str, object]:
    folder = report if report.is_dir() else report.parent
    state_file = folder / STATE_DIR / "state.json"
    if state_file.is_symlink():
        return {}
    try:
        data = json.loads(state_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) and data.get("complete") is True else {}


def _under(path: str, roots: Sequence[str]) -> bool:
    return any(path == root or path.startswith(root.rstrip(os.sep) + os.sep) for root in roots)


def scan_links(reports: Path | Sequence[Path], roots: Sequence[Path]) -> dict[str, str]:
    """{link path: real path} the scan that wrote ``reports`` read, lying under ``roots``, still leading there."""
    paths = [reports] if isinstance(reports, (str, os.PathLike)) else list(reports)
    wanted = [os.path.abspath(root) for root in roots]
    allowed: dict[str, str] = {}
    for report in paths:
        links = _state(Path(report)).get("links", [])
        if not isinstance(links, list):
            continue
        for item in links:
            if not (isinstance(item, list) and len(item) == 2 and all(isinstance(x, str) for x in item)):
                continue
            link, real = item
            if _under(link, wanted) and os.path.realpath(link) == real:
                allowed[link] = real
    return allowed
