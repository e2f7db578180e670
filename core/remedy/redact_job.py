"""The whole pixel job, for the CLI and the review screen: write, prove, record.

A blacked-out copy is written under a hidden unproven name and takes its own
name only when the proof holds for every claim it carries (a profiled header:
no identifier in its bytes; BurnedInAnnotation NO: no likely identifier on any
frame by OCR). The reviewer's "confirm clean" is refused the same way unless
a residual is accepted with a typed reason, which the manifest keeps.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pydicom.dataset import Dataset

from phi_review.core.common.atomic_file import fsync_dir
from phi_review.core.remedy.claims import ResidualError, settle, unproven_path
from phi_review.core.remedy.output import RemedyError, append_manifest, sha256_file, write_copy


def redact_file(original: Path, dest: Path, redaction: Any, *, edit_header: Any = None, overwrite: bool = False,
                reviewer: str = "", scope: str = "file", manifest_dir: Path | None = None,
                update_existing: bool = False, accept_residual: str = "", options: tuple[str, ...] = ()) -> Any:
    """Write the blacked-out copy, prove it, then append its manifest line (no PHI); returns the ``CopyResult``.

    ``update_existing``: when ``dest`` already exists (a header fix, an earlier
    box), black out that copy instead of starting again from the original, so
    one corrected copy carries every fix.
    """
    original, dest = Path(original), Path(dest)
    out_dir = Path(manifest_dir) if manifest_dir is not None else dest.parent
    unproven = unproven_path(dest)
    extra: dict[str, Any] = {}
    if update_existing and dest.exists():
        result = write_copy(dest, unproven, edit_header=edit_header, pixel_edit=redaction, overwrite=True,
                            out_dir=out_dir, durable=False)
        result.original_sha256 = sha256_file(original)
        extra["based_on"] = "existing copy"
    else:
        if dest.exists() and not overwrite:
            raise RemedyError(f"{dest.name}: a corrected copy already exists there (use overwrite)")
        result = write_copy(original, unproven, edit_header=edit_header, pixel_edit=redaction, overwrite=True,
                            out_dir=out_dir, durable=False)
    result.original = original
    line = {"action": "redact", "scope": scope, "reviewer": reviewer, "confirmed_clean": redaction.confirm_clean,
            "kept_uids": redaction.keep_uids, **extra}
    try:
        settled = settle(original, unproven, dest, out_dir, options=options, accept_residual=accept_residual,
                         reviewer=reviewer)
    except ResidualError as error:
        if error.moved_to is not None:
            result.copy, result.copy_sha256 = error.moved_to, sha256_file(error.moved_to)
        line["confirmed_clean"] = False
        if manifest_dir is not None:
            append_manifest(manifest_dir, result.record(**line, proof=error.proof.record()))
        raise
    result.copy = settled.path
    if manifest_dir is not None:
        append_manifest(manifest_dir, result.record(**line, **settled.record()))
    result.proof_summary = settled.proof.summary() + (" (residual accepted)" if settled.accepted else "")
    return result


def confirm_clean(copy: Path, *, original: Path | None = None, reviewer: str = "",
                  manifest_dir: Path | None = None, accept_residual: str = "") -> Any:
    """The reviewer's word: BurnedInAnnotation NO on an existing corrected copy, only if the proof holds.

    PS3.15 E.3.1 leaves this to a human, so it is a step of its own (header
    only, atomic) with its own manifest line. Every frame of the marked copy is
    OCRed and its bytes searched; anything likely identifying refuses the claim
    (the copy stays as it was) unless ``accept_residual`` gives the reason.
    """
    from phi_review.core.proof.check import PIXEL_CLAIM, Proof, Prover

    copy = Path(copy)

    def mark(ds: Dataset) -> list[dict[str, Any]]:
        ds.BurnedInAnnotation = "NO"
        return [{"tag": "(0028,0301)", "keyword": "BurnedInAnnotation", "action": "set NO"}]

    temp = unproven_path(copy)
    result = write_copy(copy, temp, edit_header=mark, overwrite=True, durable=False)
    source = Path(original) if original is not None else copy
    try:
        proof = Prover(source).prove(temp, require=[PIXEL_CLAIM])
    except Exception as error:  # noqa: BLE001 - a proof that cannot run proves nothing
        proof = Proof({}, unproven=[f"the proof could not run ({type(error).__name__})"])
    accepted = None
    if not proof.clean:
        if not accept_residual.strip():
            temp.unlink(missing_ok=True)
            raise ResidualError(f"not confirmed, {proof.summary()}", proof)
        accepted = {"reason": accept_residual.strip(), "reviewer": reviewer}
    os.replace(temp, copy)
    fsync_dir(copy.parent)  # the claim is durable before the record that names it
    result.copy = copy
    if original is not None:
        result.original = Path(original)
        result.original_sha256 = sha256_file(Path(original))
    if manifest_dir is not None:
        fields: dict[str, Any] = {"proof": proof.record()}
        if accepted:
            fields["proof"]["status"] = "residual-accepted"
            fields["accepted_residual"] = accepted
        append_manifest(manifest_dir, result.record(action="confirm-clean", reviewer=reviewer, **fields))
    return result
