"""A copy keeps its claims only when the proof (``core/proof``, which never imports this room) holds.

The copy is written under a hidden unproven name, proved, and only then
given its real name. When the proof finds an identifier left, the claims are
withdrawn (PatientIdentityRemoved NO, BurnedInAnnotation YES, no Clean Pixel
Data code) and the copy is put under ``<out>/residual/`` instead, unless the
reviewer accepts the residual with a reason, which the manifest records.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydicom.dataset import Dataset
from pydicom.multival import MultiValue

from phi_review.core.common.atomic_file import fsync_dir
from phi_review.core.proof.check import Proof, Prover, kept_kinds
from phi_review.core.remedy.output import RemedyError

RESIDUAL_DIR = "residual"
CLEAN_PIXEL_CODE = "113101"


class ResidualError(RemedyError):
    """The proof found identifiers left in a copy (named by kind and place, never by value)."""

    def __init__(self, message: str, proof: Proof, moved_to: Path | None = None) -> None:
        super().__init__(message)
        self.proof = proof
        self.moved_to = moved_to


@dataclass
class Settlement:
    """Where the copy ended up and what the manifest line says about its proof."""

    path: Path
    proof: Proof
    accepted: dict[str, str] | None = None

    def record(self) -> dict[str, Any]:
        fields: dict[str, Any] = {"proof": self.proof.record()}
        if self.accepted:
            fields["proof"]["status"] = "residual-accepted"
            fields["accepted_residual"] = self.accepted
        return fields


def unproven_path(dest: Path) -> Path:
    """Where a copy waits for its proof: hidden, beside its final place, swept up if a run is killed."""
    return dest.with_name(f".{dest.name}.unproven.tmp")


def residual_path(dest: Path, out_dir: Path) -> Path:
    """``<out>/residual/<same relative path>``: never where a release would pick a copy up."""
    try:
        rel = Path(dest).resolve().relative_to(Path(out_dir).resolve())
    except ValueError:
        rel = Path(Path(dest).name)
    if rel.parts and rel.parts[0] == RESIDUAL_DIR:
        rel = Path(*rel.parts[1:])
    return Path(out_dir) / RESIDUAL_DIR / rel


def withdraw_claims(ds: Dataset) -> list[dict[str, Any]]:
    """Header edit: take back every claim of cleanliness (the copy's edits themselves stay)."""
    changes = []
    if str(ds.get("PatientIdentityRemoved", "")).upper() == "YES":
        ds.PatientIdentityRemoved = "NO"
        changes.append({"tag": "(0012,0062)", "keyword": "PatientIdentityRemoved", "action": "withdrawn"})
    if str(ds.get("BurnedInAnnotation", "")).upper() == "NO":
        ds.BurnedInAnnotation = "YES"
        changes.append({"tag": "(0028,0301)", "keyword": "BurnedInAnnotation", "action": "withdrawn"})
    codes = ds.get("DeidentificationMethodCodeSequence")
    if codes is not None:
        kept = [item for item in codes if str(item.get("CodeValue", "")) != CLEAN_PIXEL_CODE]
        if len(kept) != len(codes):
            ds.DeidentificationMethodCodeSequence = kept
            changes.append({"tag": "(0012,0064)", "keyword": "DeidentificationMethodCodeSequence",
                            "action": "clean pixel code withdrawn"})
    method = ds.get("DeidentificationMethod")
    if method is not None:
        values = [str(v) for v in method] if isinstance(method, MultiValue) else [str(method)]
        ds.DeidentificationMethod = [*values, "PROOF FAILED: NOT CLEAN"][-8:]
    return changes


def settle(original: Path, unproven: Path, dest: Path, out_dir: Path, *, options: Iterable[str] = (),
           require: Iterable[str] = (), accept_residual: str = "", reviewer: str = "",
           rewrite: Callable[..., Any] | None = None, prover: Prover | None = None) -> Settlement:
    """Prove ``unproven`` (a copy of ``original``) and move it to ``dest``, or aside to ``residual/``.

    ``rewrite(src, dst, edit_header=...)`` rewrites a copy's header (``write_copy``); passed in so this
    module stays a policy over the writer. Raises ``ResidualError`` after the copy is put aside.
    """
    prover = prover or Prover(original, kept=kept_kinds(options))
    try:
        proof = prover.prove(unproven, require=require)
    except Exception as error:  # noqa: BLE001 - a proof that cannot run proves nothing
        proof = Proof({}, unproven=[f"the proof could not run ({type(error).__name__})"])
    if proof.clean or accept_residual.strip():
        os.replace(unproven, dest)
        fsync_dir(Path(dest).parent)  # the final name is durable before the record that names it
        accepted = None if proof.clean else {"reason": accept_residual.strip(), "reviewer": reviewer}
        return Settlement(dest, proof, accepted)
    aside = residual_path(dest, out_dir)
    if rewrite is None:
        from phi_review.core.remedy.output import write_copy as rewrite
    try:  # written through the output folder's no-follow descriptors, like every copy
        rewrite(unproven, aside, edit_header=withdraw_claims, overwrite=True, out_dir=out_dir)
    finally:
        Path(unproven).unlink(missing_ok=True)
    raise ResidualError(f"not clean, {proof.summary()}; copy put aside without its claims", proof, aside)
