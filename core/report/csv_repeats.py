"""Header lines repeated inside one CSV file (``cat a.csv b.csv``): headers, never findings.

The validator's own summarizer skips every line whose first cell is ``Site ID``;
a concatenated file holds one header per part. Such a line is no finding (it
would take a decision). A repeated header whose columns sit elsewhere (parts of
two validator releases) is refused in one line: its rows would be misread.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from operator import itemgetter
from typing import Any

from phi_review.core.common.errors import ReportError
from phi_review.core.common.inert import inert
from phi_review.core.report.columns import match_columns

# A header cell is short and holds no digit, dot or slash; file names nearly always do.
_HEADERISH = re.compile(r"^[^\d./\\\n]{1,60}$", re.M)


def repeated_headers(body: Sequence[Sequence[Any]], found: dict[str, int], first_row: int, name: str) -> list[int]:
    """Indexes into ``body`` of the lines that repeat the header mapped as ``found`` (field -> column)."""
    file_index = found["file"]
    try:
        distinct = set(map(itemgetter(file_index), body))
    except IndexError:  # a short row
        distinct = {row[file_index] for row in body if file_index < len(row)}
    joined = "\n".join(distinct)  # CSV cells are all str; one C-level regex pass over the distinct values
    candidates = {m.group(0) for m in _HEADERISH.finditer(joined)} & distinct
    hits = {v for v in candidates if match_columns([v]).get("file") == 0}
    if not hits:
        return []
    out: list[int] = []
    for index, row in enumerate(body):
        if len(row) <= file_index or row[file_index] not in hits:
            continue
        mapping = match_columns(row)
        if len(mapping) < 2:
            continue  # a lone "File" value in a data row is data
        if any(found.get(field) != column_at for field, column_at in mapping.items()):
            raise ReportError(
                f"{inert(name)}: row {first_row + index} is a second header with its columns in other places "
                "(files of two layouts joined?); split the file at that row and open the parts together"
            )
        out.append(index)
    return out

