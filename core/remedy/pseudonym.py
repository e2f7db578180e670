"""Per-patient pseudonyms: PatientName and PatientID that keep patients apart without naming them.

Why: with the Basic Profile alone every PatientID becomes ANONYMOUS, and two
patients in one release are told apart only by their Study UIDs. A pseudonym is
``prefix + 12 base32 characters of HMAC-SHA256(secret, patient key)``: the same
secret as the UIDs and date offsets (``ProfileSettings.secret``), so it is
stable across runs, files and sessions, and the secret itself never appears.
A site may instead map its own research IDs from a CSV (original ID -> research
ID); the map is read, never written anywhere. Collisions among the patients of
one run are an error before anything is written (``check_run``).
"""

from __future__ import annotations

import base64
import csv
import hashlib
import hmac
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from pydicom.dataset import Dataset

from phi_review.core.common.inert import inert
from phi_review.core.remedy.profile_table import ProfileError

DEFAULT_PREFIX = "ANON-"
DIGEST_CHARS = 12
_LO_SAFE = re.compile(r"[A-Za-z0-9 _.:/()+#-]*")
_HEADER_WORDS = {"original", "original_id", "originalid", "patientid", "patient_id", "id", "mrn"}


class PseudonymError(ProfileError):
    """Pseudonyms cannot be made for this run (bad prefix, an ID missing from the map, a collision)."""


def check_prefix(prefix: str) -> str:
    """A prefix valid in LO and PN (no backslash, caret, equals sign or control character), at most 40 long."""
    if len(prefix) > 40 or not _LO_SAFE.fullmatch(prefix):
        raise PseudonymError("the pseudonym prefix may hold letters, digits, space and _ . : / ( ) + # - "
                             "(at most 40 characters)")
    return prefix


def original_id(ds: Dataset) -> str:
    """The patient's original ID (what an ID map is keyed by); empty when the file has none."""
    return str(ds.get("PatientID", "") or "").strip()


def patient_key(ds: Dataset) -> str:
    """PatientID, else PatientName: the same key as the date offset (``profile.patient_key``)."""
    pid = original_id(ds)
    return "id:" + pid if pid else "name:" + str(ds.get("PatientName", "") or "").strip()


@dataclass(frozen=True)
class Pseudonyms:
    """How a patient's pseudonym is made: keyed digest with a prefix, or a site's own ID map."""

    secret: bytes
    prefix: str = DEFAULT_PREFIX
    id_map: dict[str, str] | None = field(default=None, repr=False)  # original -> research ID; never printed
    map_file: str = ""

    def for_key(self, key: str) -> str:
        """The keyed pseudonym of one patient key."""
        mac = hmac.new(self.secret, b"phi-review pseudonym\x00" + key.encode("utf-8", "replace"), hashlib.sha256)
        return self.prefix + base64.b32encode(mac.digest()).decode("ascii")[:DIGEST_CHARS]

    def for_dataset(self, ds: Dataset, where: str = "") -> str:
        """The pseudonym of this file's patient; an ID missing from the map names the files, not the ID."""
        if self.id_map is None:
            return self.for_key(patient_key(ds))
        found = self.id_map.get(original_id(ds))
        if found is None:
            place = f" (for {inert(where)})" if where else ""
            raise PseudonymError(f"{inert(self.map_file)}: no research ID for this file's patient{place}")
        return found


def read_small_text(path: Path, what: str, limit: int) -> str:
    """A regular file's UTF-8 text (never a FIFO or device, at most ``limit`` bytes); one line naming the file."""
    from phi_review.core.common.regular import open_regular

    try:
        with open_regular(path) as handle:
            data = handle.read(limit + 1)
        if len(data) > limit:
            raise PseudonymError(f"{inert(path)}: the {what} is larger than {limit // 1_000_000} MB")
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise PseudonymError(f"{inert(path)}: cannot read the {what} (not UTF-8)") from None
    except OSError as error:
        raise PseudonymError(f"{inert(path)}: cannot read the {what} ({error.strerror or error})") from None


def load_id_map(path: Path) -> dict[str, str]:
    """original ID -> research ID, from a two-column CSV (an optional header row); one line naming file and line."""
    text = read_small_text(Path(path), "ID map", 64_000_000)
    mapping: dict[str, str] = {}
    seen: dict[str, int] = {}
    for number, row in enumerate(csv.reader(text.splitlines()), start=1):
        cells = [c.strip() for c in row]
        if not any(cells):
            continue
        if number == 1 and cells and cells[0].lower().replace(" ", "_") in _HEADER_WORDS:
            continue
        if len(cells) < 2 or not cells[0] or not cells[1]:
            raise PseudonymError(f"{inert(path)}:{number}: want two columns, original ID and research ID")
        original, research = cells[0], cells[1]
        if len(research) > 64 or not _LO_SAFE.fullmatch(research):
            raise PseudonymError(f"{inert(path)}:{number}: the research ID is not a valid LO value")
        if original in mapping and mapping[original] != research:
            raise PseudonymError(f"{inert(path)}:{number}: this original ID already has another research ID")
        if research in seen and mapping.get(original) != research:
            raise PseudonymError(f"{inert(path)}:{number}: this research ID is given to two patients "
                                 f"(line {seen[research]})")
        mapping[original] = research
        seen.setdefault(research, number)
    if not mapping:
        raise PseudonymError(f"{inert(path)}: the ID map is empty")
    return mapping


def check_run(files: Iterable[Path], pseudonyms: Pseudonyms) -> int:
    """Every file's patient has a pseudonym, and distinct patients have distinct ones; the patients counted.

    Read before anything is written (headers only, bounded), so a collision or a missing ID stops the run.
    """
    from phi_review.core.dicom.bounded import read_header

    given: dict[str, str] = {}  # pseudonym -> patient key
    for path in files:
        try:
            ds = read_header(path)
        except Exception:  # noqa: BLE001 - an unreadable file is named by the run itself
            continue
        key = patient_key(ds)
        name = pseudonyms.for_dataset(ds, str(path))
        other = given.setdefault(name, key)
        if other != key:
            raise PseudonymError(f"two patients would share one pseudonym (second seen in {inert(path)}); "
                                 "use another prefix or an ID map")
    return len(given)
