"""What ``phi-review stats`` reads from the DICOM files: the patient of each row, and the identifiers a
summary must not hold.

Patients are labelled ``P1``, ``P2`` ... in the order their first row appears;
the Patient ID itself stays in memory and is never returned. The identifiers
(every identifying string of each located file, and the rows' detected values)
are what an HTML summary is searched for before it is written, with the
proof's own byte search (``core.proof``), so a label that happens to carry PHI
refuses the file instead of leaking it.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Sequence
from pathlib import Path

from phi_review.core.common.errors import PhiReviewError
from phi_review.core.proof.identifiers import Identifier, collect_identifiers
from phi_review.core.proof.search import ByteSearch
from phi_review.core.report.model import Report
from phi_review.core.review.stats import issue_kind

MIN_VALUE = 3  # shorter detected values ("M", "NO") are no identifier and would match any label


def locate_rows(report: Report, roots: Sequence[Path]) -> list[Path | None]:
    """The file each row names, under ``roots`` (None: not found or ambiguous); one lookup per distinct file."""
    from phi_review.core.dicom.locate import FileIndex

    index = FileIndex.build([Path(r) for r in roots])
    # A name no file under the roots has is not looked up (resolve builds a message for each: 100,000
    # rows of a report without its files took seconds); the index's own key, else resolve decides.
    names = getattr(index, "_by_name", None)
    found: dict[tuple[str, str, str], Path | None] = {}
    out: list[Path | None] = []
    for finding in report.findings:
        key = (finding.file, finding.site, finding.event)
        if key not in found:
            base = re.split(r"[\\/]", finding.file.strip().strip('"'))[-1].lower()
            base = base[:-4] if base.endswith(".dcm") else base
            if isinstance(names, dict) and base not in names:
                found[key] = None
            else:
                found[key] = index.resolve(finding.file, finding.site, finding.event).path
        out.append(found[key])
    return out


def _patient_id(path: Path) -> str:
    import pydicom

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            ds = pydicom.dcmread(path, stop_before_pixels=True, specific_tags=[(0x0010, 0x0020)], force=True)
            value = ds.get((0x0010, 0x0020))
            return str(value.value).strip() if value is not None and value.value is not None else ""
        except Exception:  # noqa: BLE001 - a damaged header: its rows count under "patient unknown"
            return ""


def patient_labels(paths: Sequence[Path | None]) -> list[str]:
    """``P1``, ``P2`` ... per row, in order of first appearance ("" when the file or its Patient ID is unknown)."""
    ids: dict[Path, str] = {}
    labels: dict[str, str] = {}
    out: list[str] = []
    for path in paths:
        if path is None:
            out.append("")
            continue
        if path not in ids:
            ids[path] = _patient_id(path)
        patient = ids[path]
        if not patient:
            out.append("")
            continue
        if patient not in labels:
            labels[patient] = f"P{len(labels) + 1}"
        out.append(labels[patient])
    return out


def report_identifiers(report: Report, paths: Sequence[Path | None]) -> dict[Identifier, int]:
    """Every identifier to keep out of a summary, with the spreadsheet row it came from (the first)."""
    owners: dict[Identifier, int] = {}
    read: set[Path] = set()
    for finding, path in zip(report.findings, paths):
        value = finding.value.strip()
        if len(value) >= MIN_VALUE and issue_kind(finding.issue) in ("pixels", "header", "other"):
            owners.setdefault(Identifier(value, "detected value", ""), finding.row)
        if path is not None and path not in read:
            read.add(path)
            try:
                for ident in collect_identifiers(path):
                    owners.setdefault(ident, finding.row)
            except OSError:
                continue
    return owners


def refuse_identifiers(data: bytes, owners: dict[Identifier, int], what: str) -> None:
    """Raise (naming the row and the kind, never the value) when ``data`` holds any identifier."""
    if not owners:
        return
    hits = ByteSearch(owners).search_plain(data)
    if hits:
        rows = sorted({owners[ident] for ident, _, _ in hits})
        kinds = sorted({ident.kind for ident, _, _ in hits})
        shown = ", ".join(str(row) for row in rows[:5]) + (f" and {len(rows) - 5} more" if len(rows) > 5 else "")
        raise PhiReviewError(
            f"not writing {what}: it would hold {len(hits)} identifier(s) ({', '.join(kinds)}) of report row(s) "
            f"{shown}; nothing was written")
