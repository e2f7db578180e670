"""ByteSearch.plain_residuals: the byte search without a DICOM walk, for exported reports.

Its shortcuts (skip needles with a NUL over text without one; skip needles whose
3-byte runs are not all in a large hay) must never lose a hit.
"""

from __future__ import annotations

import random

from phi_review.core.proof.identifiers import Identifier
from phi_review.core.proof.search import ByteSearch


def test_every_planted_identifier_is_found_in_small_and_large_text() -> None:
    rng = random.Random(7)
    names = [Identifier(f"Pat{n:04d}^Müller", "name", "x") for n in range(300)]
    names.append(Identifier("MRN-0042-7781", "id", "x"))
    search = ByteSearch(names)
    filler = "".join(rng.choice("abcdefghij klmnop,;«»…\n") for _ in range(200_000))
    for size in (100, len(filler)):
        hay = filler[:size]
        planted = {}
        for ident in (names[5], names[-1], names[299]):
            at = rng.randrange(len(hay))
            hay = hay[:at] + " " + ident.text[:7].upper() + ident.text[7:] + " " + hay[at:]  # ASCII case folds
        data = hay.encode("utf-8")
        found = search.plain_residuals(data)
        texts = {data[r.offset: r.offset + 20].decode("utf-8", "ignore").lower() for r in found}
        for ident in (names[5], names[-1], names[299]):
            planted[ident.text] = any(t.startswith(ident.text.lower()[:8]) for t in texts)
        assert all(planted.values()), (size, planted)
        assert {r.kind for r in found} == {"name", "id"}


def test_utf16_spellings_are_found_where_nul_bytes_are() -> None:
    search = ByteSearch([Identifier("ROE^JANE", "name", "x")])
    data = b"\x00" * 70_000 + "roe^jane".encode("utf-16-le") + b"\x00" * 10
    found = search.plain_residuals(data)
    assert ("name", "utf-16-le") in [(r.kind, r.encoding) for r in found]
    assert search.plain_residuals(b"x" * 70_000) == []
