"""Mutated files through ``fix --profile basic``: a copy is refused, or its bytes hold no name or ID of the original.

Sources: pydicom's bundled files that name a patient, and the leak corpus (KO with a
nested content tree, meta with AE titles, a raw CT header). Mutations: random byte flips
in the header, a text length stretched over its neighbours, an element number flipped
next to its VR, a cut. Before the structural check and the dictionary allow-list, 161
of 1,259 copies from 1,488 such mutants still held the name or ID (seed 2).

As a script, a bigger run: ``.venv/bin/python tests/test_profile_leaks_mutants.py 1500 2``
"""

from __future__ import annotations

import random
import re
import sys
import warnings
from pathlib import Path

import pydicom

import leak_corpus as corpus
from conftest import bundled_dicom_files
from phi_review.core.common.errors import PhiReviewError
from phi_review.core.remedy.output import write_copy
from phi_review.core.remedy.profile import ProfileSettings, profile_editor

HEADER_BYTES = 3000
_VR_TEXT = re.compile(rb"(LO|PN|SH|CS|DA|UI|LT|ST|DS|IS|TM)")


def sources(folder: Path) -> list[tuple[Path, set[bytes]]]:
    """(file, the identifiers a copy must not hold): names' parts and IDs of 4 characters or more."""
    found = []
    corpus_files = [corpus.write_sr(folder / "ko.dcm"), corpus.write_sr(folder / "sr.dcm", corpus.BASIC_SR_CLASS),
                    corpus.write_meta_leak(folder / "meta.dcm"), corpus.good_raw(folder / "raw.dcm")]
    for path in [*bundled_dicom_files(), *corpus_files]:
        if path.stat().st_size > 2_000_000:
            continue
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                ds = pydicom.dcmread(path, stop_before_pixels=True)
        except Exception:  # noqa: BLE001 - not DICOM
            continue
        secrets = set()
        for keyword in ("PatientName", "PatientID"):
            value = str(ds.get(keyword, "") or "")
            for part in [value, *re.split(r"[\^=\s,]+", value)]:
                if len(part) >= 4 and part.upper() not in ("ANONYMOUS", "ANONYMIZED"):
                    secrets.add(part.encode())
        if secrets:
            found.append((path, secrets))
    return found


def mutate(data: bytearray, rng: random.Random) -> tuple[str, bytearray]:
    high = min(len(data), HEADER_BYTES)
    kind = rng.choice(["flip", "flip", "length", "cut", "tag"])
    spots = [m.start() for m in _VR_TEXT.finditer(bytes(data[132:high]))]
    if kind == "flip" or (kind in ("length", "tag") and not spots):
        for _ in range(rng.randint(1, 3)):
            data[rng.randrange(132, high)] = rng.randrange(256)
    elif kind == "length":
        at = 132 + rng.choice(spots) + 2
        stretched = int.from_bytes(data[at:at + 2], "little") + 2 * rng.randint(1, 40)
        data[at:at + 2] = (stretched & 0xFFFF).to_bytes(2, "little")
    elif kind == "tag":
        data[132 + rng.choice(spots) - 2] = rng.randrange(256)
    else:
        data = data[:rng.randrange(200, len(data))]
    return kind, data


def run(folder: Path, count: int, seed: int) -> dict[str, object]:
    rng = random.Random(seed)
    pool = sources(folder / "sources")
    editor = profile_editor(ProfileSettings(secret=b"mutant-secret"))
    counts: dict[str, object] = {"mutants": count, "refused": 0, "copied": 0, "leaked": [], "tracebacks": []}
    for i in range(count):
        path, secrets = rng.choice(pool)
        kind, data = mutate(bytearray(path.read_bytes()), rng)
        mutant = folder / f"m{i}.dcm"
        mutant.write_bytes(bytes(data))
        dest = folder / "out" / f"c{i}.dcm"
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                write_copy(mutant, dest, edit_header=editor)
        except PhiReviewError:
            counts["refused"] += 1  # type: ignore[operator]
            continue
        except Exception as error:  # noqa: BLE001 - counted: a traceback is a defect
            counts["tracebacks"].append(f"{path.name} {kind}: {type(error).__name__}")  # type: ignore[union-attr]
            continue
        finally:
            mutant.unlink()
        counts["copied"] += 1  # type: ignore[operator]
        body = dest.read_bytes()
        if any(s in body for s in secrets):
            counts["leaked"].append(f"{path.name} {kind}")  # type: ignore[union-attr]
        dest.unlink()
    return counts


def test_no_copy_of_a_mutant_holds_the_name_or_id(tmp_path: Path) -> None:
    counts = run(tmp_path, 400, 1)
    assert counts["leaked"] == [], counts
    assert counts["tracebacks"] == [], counts
    assert counts["copied"] > 40  # the undamaged mutants (flips inside text) are still copied


if __name__ == "__main__":
    import tempfile

    sys.path.insert(0, str(Path(__file__).parent))
    with tempfile.TemporaryDirectory() as tmp:
        result = run(Path(tmp), int(sys.argv[1]) if len(sys.argv) > 1 else 1500,
                     int(sys.argv[2]) if len(sys.argv) > 2 else 2)
    print({k: (len(v) if isinstance(v, list) else v) for k, v in result.items()})
    for key in ("leaked", "tracebacks"):
        for line in result[key][:20]:  # type: ignore[index]
            print(key, line)
