"""Per-file failures of a batch command (`fix`, `redact`): one line each as they happen, the list at the end.

Why: one damaged file among thousands stopped the whole run, and some failures
came out as tracebacks or without the file's name. Every exception met while a
file is handled becomes one inert line naming that file; the others go on; the
exit status says whether anything failed (0 none, 1 some, 2 every file).
"""

from __future__ import annotations

import sys
from pathlib import Path

from phi_review.core.common.inert import inert
from phi_review.core.dicom.bounded import error_text

LISTED = 20  # names in the closing line; the count goes on


class Failures:
    """The files a batch could not handle, and why (one inert line each)."""

    def __init__(self, command: str) -> None:
        self.command = command
        self.items: list[tuple[Path, str]] = []

    def __bool__(self) -> bool:
        return bool(self.items)

    def __len__(self) -> int:
        return len(self.items)

    def __contains__(self, path: object) -> bool:
        return any(p == path for p, _ in self.items)

    def add(self, path: Path, error: BaseException | str) -> None:
        """Name ``path`` and why on stderr now; a message that already starts with the file's name is not doubled."""
        why = error if isinstance(error, str) else error_text(error)
        name = inert(Path(path).name)
        for prefix in (f"{name}: ", f"{inert(path)}: "):
            if why.startswith(prefix):
                why = why[len(prefix):]
        self.items.append((Path(path), why))
        print(f"phi-review {self.command}: skipped {inert(path)}: {why}", file=sys.stderr)

    def finish(self, total: int) -> int:
        """The closing list (when the batch had several files) and the exit status."""
        if not self.items:
            return 0
        if total > 1:
            names = ", ".join(inert(p.name) for p, _ in self.items[:LISTED])
            more = f" and {len(self.items) - LISTED} more" if len(self.items) > LISTED else ""
            print(f"phi-review {self.command}: {len(self.items)} of {total} file(s) failed: {names}{more}",
                  file=sys.stderr)
        return 2 if len(self.items) >= total else 1
