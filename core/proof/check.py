"""Prove one corrected copy: the claims it carries must hold against the original's identifiers.

A copy that says PatientIdentityRemoved YES must hold none of the original's
identifying strings in any byte outside its native pixel samples. A copy that
says BurnedInAnnotation NO must show no line on any frame that OCR reads as
likely PHI (the original's identifiers, or any full calendar date). What the
copy does not claim is not held against it; a claim that cannot be checked
(OCR missing, frames that do not decode) is not proven.
"""

from __future__ import annotations

import mmap
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from phi_review.core.proof.identifiers import (
    CHARACTERISTIC, DATE, DEVICE, INSTITUTION, Identifier, collect_identifiers,
)
from phi_review.core.proof.rawwalk import walk_bytes
from phi_review.core.proof.search import ByteSearch, Residual

HEADER_CLAIM = "PatientIdentityRemoved"
PIXEL_CLAIM = "BurnedInAnnotation"


@dataclass
class Proof:
    """What the proof checked on one copy, and what it found (kinds and places, never values)."""

    claims: dict[str, str]
    residuals: list[Residual] = field(default_factory=list)
    checked: list[str] = field(default_factory=list)  # "bytes", "ocr:N frames"
    unproven: list[str] = field(default_factory=list)  # claims that could not be checked, and why
    kept_by_option: list[str] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        """Every claim the copy makes was checked and held."""
        return not self.residuals and not self.unproven

    def summary(self) -> str:
        if self.clean:
            return "proof passed (" + ", ".join(self.checked or ["no claims to check"]) + ")"
        parts = [r.describe() for r in self.residuals[:5]]
        if len(self.residuals) > 5:
            parts.append(f"{len(self.residuals) - 5} more")
        parts += self.unproven
        return "proof failed: " + "; ".join(parts)

    def record(self) -> dict[str, object]:
        """The manifest's view: no value, only kinds, places and what was checked."""
        return {
            "status": "clean" if self.clean else "residual",
            "checked": self.checked,
            "residuals": [r.record() for r in self.residuals],
            "unproven": self.unproven,
            "kept_by_option": self.kept_by_option,
        }


def claims_of(copy: Path) -> dict[str, str]:
    """The claims a file carries, read from its bytes."""
    with open(copy, "rb") as handle:
        return walk_bytes(handle.read()).claims


class Prover:
    """Proves copies of one original; the original's identifiers are collected once."""

    def __init__(self, original: Path, *, kept: Iterable[str] = (), identifiers: Sequence[Identifier] | None = None):
        self.original = Path(original)
        self.kept = sorted(set(kept))
        found = list(identifiers) if identifiers is not None else collect_identifiers(self.original)
        self.identifiers = [i for i in found if i.kind not in self.kept]
        self.search = ByteSearch(self.identifiers)

    def prove(self, copy: Path, *, require: Iterable[str] = (), ocr: bool = True, engine: object = None) -> Proof:
        """Check every claim ``copy`` carries (and the ones in ``require``, claimed or not)."""
        with open(copy, "rb") as handle:
            size = handle.seek(0, 2)
            if size == 0:
                return Proof({}, unproven=["the copy is empty"])
            with mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as data:
                walk = walk_bytes(data)
                proof = Proof(dict(walk.claims), kept_by_option=self.kept)
                wanted = set(require)
                if walk.claims.get(HEADER_CLAIM) == "YES":
                    wanted.add(HEADER_CLAIM)
                if walk.claims.get(PIXEL_CLAIM) == "NO":
                    wanted.add(PIXEL_CLAIM)
                if HEADER_CLAIM in wanted:
                    proof.residuals += self.search.search(data, walk)
                    proof.checked.append("bytes" + ("" if walk.complete else " (whole file: " + walk.problem + ")"))
        if PIXEL_CLAIM in wanted:
            if not ocr:
                proof.unproven.append("BurnedInAnnotation NO needs OCR of every frame")
            else:
                self._prove_pixels(Path(copy), proof, engine)
        return proof

    def _prove_pixels(self, copy: Path, proof: Proof, engine: object) -> None:
        from phi_review.core.proof.frames import ocr_residuals

        residuals, checked, problem = ocr_residuals(copy, self.identifiers, engine)
        proof.residuals += residuals
        if problem:
            proof.unproven.append(problem)
        else:
            proof.checked.append(checked)


def kept_kinds(options: Iterable[str]) -> list[str]:
    """Kinds a profile option keeps on purpose (PS3.15 retention options), so the proof does not seek them."""
    kinds = []
    options = {o.replace("-", "_") for o in options}
    if "retain_full_dates" in options:
        kinds.append(DATE)
    if options & {"retain_institution_id", "retain_institution_identity"}:
        kinds.append(INSTITUTION)
    if options & {"retain_device_id", "retain_device_identity"}:
        kinds.append(DEVICE)
    if "retain_patient_characteristics" in options:
        kinds.append(CHARACTERISTIC)
    return kinds


def prove_copy(original: Path, copy: Path, *, kept: Iterable[str] = (), require: Iterable[str] = (),
               ocr: bool = True, engine: object = None) -> Proof:
    """One original, one copy: the common case."""
    return Prover(original, kept=kept).prove(copy, require=require, ocr=ocr, engine=engine)


