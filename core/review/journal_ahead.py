"""A big journal parsed in a thread while the report is read, for recovery (core/review/recovery.py).

calamine parses the report's cells without the GIL; a journal of 100,000 decisions
takes a good part of a second to parse. Done side by side, the reopen pays for one.
The parse is taken only if the journal is still byte for byte what was parsed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from phi_review.core.review.journal import _SAVED_MARK, _fast_decode, read_data, split_lines

if TYPE_CHECKING:
    from concurrent.futures import Future


@dataclass
class ParsedAhead:
    """Journal lines parsed before the report is known (in a thread beside its read): see parse_ahead."""

    data: bytes  # the journal as it was read (from ``offset``): used only if the journal is still exactly this
    lines: list[bytes]
    first: int  # lines[first:] are parsed; replay never starts after it
    records: list[object]  # their parses (a dict), or None where the careful path must look again
    offset: int = 0  # where ``data`` starts in the journal: its last checkpoint line, or 0


def parse_ahead(path: Path) -> ParsedAhead | None:
    """Parse the lines after the journal's last ``saved`` line (or from its last checkpoint), while calamine
    reads the report.

    Replay starts after a save or at a checkpoint (or at the beginning), so it never needs less than
    these lines; which save, and which sheet, is settled later by plan_recovery,
    which takes this work only if the journal has not changed meanwhile.
    """
    from phi_review.core.review.checkpoint import is_checkpoint_line, read_tail

    try:
        data, offset = read_tail(path)
    except Exception:  # noqa: BLE001 - the careful path reads it again and says what is wrong
        return None
    lines = split_lines(data)
    first = len(lines)
    while first and _SAVED_MARK not in lines[first - 1] and not is_checkpoint_line(lines[first]
                                                                                   if first < len(lines) else b""):
        first -= 1
    records: list[object] = []
    append = records.append
    for line in lines[first:]:
        try:
            append(_fast_decode(line))  # type: ignore[misc]
        except Exception:  # noqa: BLE001 - json's turn later (a lone surrogate), or a damaged line
            append(None)
    return ParsedAhead(data, lines, first, records, offset)


_AHEAD_FROM = 1 << 20  # a journal smaller than this parses in milliseconds: no thread for it


@dataclass
class JournalAhead:
    """A journal being parsed in a thread (start_parse_ahead), for the plan of the report it belongs to."""

    path: Path
    future: "Future[ParsedAhead | None]"

    def parsed_for(self, journal: Path) -> ParsedAhead | None:
        """The parse, when ``journal`` is the one parsed (the report read may sit elsewhere: a folder's first CSV)."""
        return self.future.result() if journal == self.path else None


def start_parse_ahead(journal: Path) -> JournalAhead | None:
    """Start parsing a big journal in a thread, before the report is read: calamine leaves the GIL meanwhile."""
    try:
        if journal.stat().st_size < _AHEAD_FROM:
            return None
    except OSError:
        return None
    from concurrent.futures import ThreadPoolExecutor

    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="journal-ahead")
    future = pool.submit(parse_ahead, journal)
    pool.shutdown(wait=False)
    return JournalAhead(journal, future)
