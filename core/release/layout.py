"""Where a file goes in the package, what a decision means for it, and how rows are named in lists.

The package mirrors the tree the validator and LabCAS know:
``<collection>/<site>/<7-digit event>/...``. The site is the folder before the
first 7-digit folder (as the validator reads it) and the collection the one
before that; a tree without such a folder is taken with ``--root`` as the
collection. The same path, with ``/``, is the file's LabCAS name.
"""

from __future__ import annotations

import datetime as _dt
import os
import re
from pathlib import Path

APPROVED = "approved"  # No Issue / False Positive: nothing to upload
DELETE = "delete"  # Needs Deletion & Re-upload
METADATA = "metadata"  # Needs Metadata Update
INFORMATICS = "informatics"  # Needs DMCC/JPL Review, Follow-up Needed: for the informatics centre
UNDECIDED = "undecided"
UNKNOWN = "unknown"
REPLACING = (DELETE, METADATA)

_EVENT = re.compile(r"\d{7}")
_PREFIXES = (("noissue", APPROVED), ("falsepositive", APPROVED), ("needsdeletion", DELETE),
             ("needsmetadata", METADATA), ("needsdmcc", INFORMATICS), ("needsjpl", INFORMATICS),
             ("followup", INFORMATICS))


def category(action: str) -> str:
    """What the release does with a row's action: letter case, spaces and punctuation do not matter."""
    folded = re.sub(r"[^a-z0-9]", "", action.casefold())
    if not folded:
        return UNDECIDED
    for prefix, name in _PREFIXES:
        if folded.startswith(prefix):
            return name
    return UNKNOWN


def labcas_name(original: Path, root: Path) -> str:
    """``collection/site/event/.../name`` for a file under ``root`` (posix)."""
    full = Path(os.path.abspath(original)).parts
    base = Path(os.path.abspath(root)).parts
    rel = full[len(base):]
    for index, part in enumerate(rel):
        if _EVENT.fullmatch(part):
            at = len(base) + index
            if at >= 2:
                return "/".join(full[at - 2:])
            break
    return "/".join((Path(os.path.abspath(root)).name, *rel))


def root_of(original: Path, roots: list[Path]) -> Path | None:
    """The deepest root holding ``original``."""
    path = os.path.abspath(original)
    best = None
    for root in roots:
        base = os.path.abspath(root)
        if path.startswith(base.rstrip(os.sep) + os.sep) and (best is None or len(base) > len(str(best))):
            best = Path(base)
    return best


def parse_time(text: str) -> _dt.datetime | None:
    """An ISO 8601 time (``Z`` or an offset; none: UTC); None when it is not one."""
    text = (text or "").strip()
    if not text:
        return None
    try:
        value = _dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return value if value.tzinfo else value.replace(tzinfo=_dt.timezone.utc)
