"""Whether a copy's SOP Instance UID was already mapped under this secret: so it is mapped once, not twice.

A file blacked out first and given the header profile afterwards (or the other
way round) must end with the UID the profile alone gives, ``map_uid(original)``.
The step that maps the UID writes a mark line in De-identification Method: an
HMAC of the NEW UID under the secret. It tells nothing about the original UID
and cannot be forged without the secret; a later step that finds a valid mark
for the UID now in the file leaves that UID as it is.
"""

from __future__ import annotations

import hashlib
import hmac

from pydicom.dataset import Dataset
from pydicom.multival import MultiValue

MARK_PREFIX = "phi-review keyed UID "


def uid_mark(uid: str, secret: bytes) -> str:
    """The De-identification Method line that vouches for ``uid`` under ``secret`` (fits LO's 64 characters)."""
    digest = hmac.new(secret, b"phi-review keyed uid\x00" + str(uid).strip("\x00 ").encode("ascii", "replace"),
                      hashlib.sha256).hexdigest()
    return MARK_PREFIX + digest[:32]


def _lines(ds: Dataset) -> list[str]:
    value = ds.get("DeidentificationMethod")
    if isinstance(value, (list, MultiValue)):
        return [str(v) for v in value if v]
    return [str(value)] if value else []


def sop_already_keyed(ds: Dataset, secret: bytes) -> bool:
    """True when the file's SOP Instance UID carries a valid mark under ``secret``."""
    sop = ds.get("SOPInstanceUID")
    if not sop:
        return False
    expected = uid_mark(str(sop), secret)
    want = expected.encode("utf-8")  # bytes: a damaged line with non-ASCII text must not raise TypeError
    return any(hmac.compare_digest(line.encode("utf-8", "replace"), want) for line in _lines(ds))


def mark_sop(ds: Dataset, secret: bytes) -> None:
    """Vouch for the SOP Instance UID now in ``ds``; older marks (for other UIDs) are dropped."""
    sop = ds.get("SOPInstanceUID")
    if not sop:
        return
    lines = [line for line in _lines(ds) if not line.startswith(MARK_PREFIX)]
    lines.append(uid_mark(str(sop), secret))
    ds.DeidentificationMethod = lines if len(lines) > 1 else lines[0]
