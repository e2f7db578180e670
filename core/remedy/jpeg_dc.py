"""Which DC a blanked JPEG block gets: the one that decodes to the asked level, codable in the stream's tables.

DC coefficients are coded as differences from the previous block of the same
component (T.81 F.1.2.1), with a Huffman table that an optimising encoder may
have trimmed to the sizes the image used; entering a dark patch and leaving it
back to the next untouched block's own DC can need sizes it lacks, so the
table is completed (new codes only, every existing code kept).
"""

from __future__ import annotations

import math


def magnitude(value: int) -> tuple[int, int]:
    """(size, bits) of a DC difference as T.81 F.1.2.1 codes it."""
    if value == 0:
        return 0, 0
    size = abs(value).bit_length()
    return size, (value if value > 0 else value + (1 << size) - 1)


def nearest_diff(target: int, dc_enc: dict[int, tuple[int, int]]) -> int:
    """The DC difference closest to ``target`` that the table can code (optimised tables may lack some sizes)."""
    size, _ = magnitude(target)
    if size in dc_enc:
        return target
    best = None
    for s in dc_enc:
        if s == 0:
            candidates = [0]
        else:
            low, high = 1 << (s - 1), (1 << s) - 1
            candidates = [min(max(abs(target), low), high) * (1 if target >= 0 else -1)]
        for value in candidates:
            if best is None or abs(value - target) < abs(best - target):
                best = value
    return target if best is None else best


def dc_for(level: int, precision: int, q00: int) -> int:
    """The quantised DC whose flat block decodes to ``level`` (T.81 A.3.3: value = DC * Q / 8 + 2^(P-1)).

    Rounded away from mid-grey: a dark target never decodes brighter than
    asked (nor a bright one, MONOCHROME1's black, darker); the decoder clamps
    the overshoot to the sample range.
    """
    mid = 1 << (precision - 1)
    exact = (level - mid) * 8 / max(1, q00)
    dc = math.floor(exact) if level < mid else math.ceil(exact) if level > mid else 0
    limit = (1 << (precision + 3)) - 1  # the largest DC size the standard codes (11 bits at 8-bit, 15 at 12)
    return max(-limit, min(limit, dc))


def complete_dc_table(bits: bytes, values: bytes, precision: int) -> tuple[bytes, bytes] | None:
    """BITS and HUFFVAL with every DC size the precision allows (0 to P+3), or None when nothing is missing or no room.

    Canonical codes are handed out by length, then in list order: symbols added
    at length 16, after every existing symbol, take the next free codes and
    leave every existing code as it was. The all-ones code stays unused (T.81 C).
    """
    missing = [size for size in range(precision + 4) if size not in values]
    if not missing:
        return None
    used = sum(count << (16 - length) for length, count in enumerate(bits, 1))
    if (1 << 16) - 1 - used < len(missing):
        return None
    counts = bytearray(bits)
    counts[15] += len(missing)
    return bytes(counts), bytes(values) + bytes(missing)
