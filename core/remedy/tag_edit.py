"""Per-tag edits (blank, remove, set, shift a date) planned over many files, shown before applied.

Why: a reviewer who sees a residual name in the header pane fixes it in this
file, every file of the group, or every file whose tag holds the same value;
the plan counts the files first, ``Plan.apply`` writes the corrected copies
through ``output.write_copy`` (one copy per file, beside any pixel fix) and
appends one manifest line per copy, with no value in it.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pydicom
from pydicom.datadict import dictionary_VR, keyword_for_tag
from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset
from pydicom.tag import BaseTag

from phi_review.core.common.errors import PhiReviewError
from phi_review.core.dicom.header import parse_tag
from phi_review.core.remedy.output import CopyResult, RemedyError, append_manifest, copy_path, sha256_file, write_copy
from phi_review.core.remedy.profile import shift_date

OPS = ("blank", "remove", "set", "shift")
HeaderEdit = Callable[[Dataset], list[dict[str, Any]]]


class TagEditError(PhiReviewError):
    """A per-tag edit that cannot be made: unknown tag or op, a value the VR cannot hold."""


def tag_of(text: str | int | BaseTag) -> BaseTag:
    """``PatientName``, ``(0010,0010)``, ``0010,0010`` or a tag -> tag; one line for an unknown one."""
    if isinstance(text, int):
        from pydicom.tag import Tag

        return Tag(text)
    tag = parse_tag(str(text))
    if tag is None:
        raise TagEditError(f"unknown tag {str(text)[:64]!r}: give a keyword or (gggg,eeee)")
    return tag


def _label(tag: BaseTag) -> str:
    return f"({tag.group:04X},{tag.element:04X})"


def checked_value(tag: BaseTag, text: str, vr: str | None = None) -> Any:
    """``text`` as a value of the tag's VR; TagEditError when the VR cannot hold it."""
    if vr is None:
        try:
            vr = dictionary_VR(tag)
        except KeyError:
            raise TagEditError(f"{_label(tag)} is not in the DICOM dictionary; its VR is unknown") from None
    if vr in ("SQ", "OB", "OW", "OF", "OD", "OL", "OV", "UN"):
        raise TagEditError(f"{keyword_for_tag(tag) or _label(tag)} ({vr}) cannot be set from text")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            elem = DataElement(tag, vr, text, validation_mode=2)  # 2 = raise
    except (ValueError, TypeError, OverflowError) as error:
        first = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise TagEditError(f"{keyword_for_tag(tag) or _label(tag)} ({vr}) cannot hold that value: {first[:120]}") from None
    return elem.value


@dataclass(frozen=True)
class TagEdit:
    """One edit: ``op`` is blank, remove, set (``value`` text; adds a missing public attribute) or shift (``value`` days)."""

    tag: BaseTag
    op: str
    value: Any = None

    @classmethod
    def make(cls, tag: str | int | BaseTag, op: str, value: Any = None) -> "TagEdit":
        """Checked: known op and tag, a value the VR can hold, whole days for a shift."""
        real = tag_of(tag)
        if op not in OPS:
            raise TagEditError(f"unknown edit {op!r}; use one of {', '.join(OPS)}")
        if op == "set":
            if value is None:
                raise TagEditError("set needs a value")
            if not real.is_private:
                checked_value(real, str(value))
        if op == "shift":
            try:
                value = int(value)
            except (TypeError, ValueError):
                raise TagEditError("shift needs a whole number of days") from None
            try:
                vr = dictionary_VR(real)
            except KeyError:
                vr = ""
            if vr not in ("DA", "DT"):
                raise TagEditError(f"{keyword_for_tag(real) or _label(real)} is not a date; only DA and DT shift")
        return cls(real, op, value)

    def apply(self, ds: Dataset) -> list[dict[str, Any]]:
        """Apply to the top level of ``ds``; the change as the manifest holds it (no value)."""
        if self.tag not in ds:
            if self.op != "set" or self.tag.is_private:
                return []
            ds.add_new(self.tag, dictionary_VR(self.tag), checked_value(self.tag, str(self.value)))
            return [{"tag": _label(self.tag), "keyword": keyword_for_tag(self.tag) or "",
                     "path": keyword_for_tag(self.tag) or _label(self.tag), "action": "set"}]
        elem = ds[self.tag]
        change = {"tag": _label(self.tag), "keyword": elem.keyword or "", "path": elem.keyword or _label(self.tag),
                  "action": self.op}
        if self.op == "remove":
            del ds[self.tag]
        elif self.op == "blank":
            elem.value = [] if elem.VR == "SQ" else (b"" if elem.VR in ("OB", "OW", "UN") else None)
        elif self.op == "set":
            elem.value = checked_value(self.tag, str(self.value), elem.VR)
        elif self.op == "shift":
            values = elem.value if isinstance(elem.value, (list, pydicom.multival.MultiValue)) else [elem.value]
            shifted = [shift_date(str(v), int(self.value)) if v else v for v in values]
            if any(s is None for s in shifted):
                raise TagEditError(f"{elem.keyword} holds a date that cannot be read, so it cannot be shifted")
            elem.value = shifted if len(shifted) > 1 else shifted[0]
        return [change]


def combine(*edits: HeaderEdit | None) -> HeaderEdit:
    """One ``edit_header`` callable that runs several in order (profile, then per-tag edits)."""
    chosen = [e for e in edits if e is not None]

    def edit(ds: Dataset) -> list[dict[str, Any]]:
        changes: list[dict[str, Any]] = []
        for step in chosen:
            changes.extend(step(ds) or [])
        return changes

    return edit


def edits_editor(edits: Sequence[TagEdit]) -> HeaderEdit:
    """An ``edit_header`` callable applying ``edits`` in order."""

    def edit(ds: Dataset) -> list[dict[str, Any]]:
        changes: list[dict[str, Any]] = []
        for one in edits:
            changes.extend(one.apply(ds))
        return changes

    return edit


def _value_text(elem: DataElement) -> str:
    value = elem.value
    if isinstance(value, (list, pydicom.multival.MultiValue)):
        return "\\".join(str(v) for v in value)
    return "" if value is None else str(value)


@dataclass
class Plan:
    """What an edit would do, counted before anything is written."""

    edit: TagEdit
    files: list[Path]  # files the edit changes
    without_tag: list[Path] = field(default_factory=list)
    other_value: list[Path] = field(default_factory=list)  # hold the tag, but not the chosen value
    unreadable: list[tuple[Path, str]] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.files)

    def summary(self) -> str:
        """One line for the confirmation dialog (no value in it)."""
        name = keyword_for_tag(self.edit.tag) or _label(self.edit.tag)
        parts = [f"{self.edit.op} {name} in {self.count} file(s)"]
        if self.other_value:
            parts.append(f"{len(self.other_value)} hold another value")
        if self.without_tag:
            parts.append(f"{len(self.without_tag)} lack the tag")
        if self.unreadable:
            parts.append(f"{len(self.unreadable)} unreadable")
        return "; ".join(parts)

    def apply(self, out_dir: Path, *, roots: Sequence[Path] = (), reviewer: str = "",
              update_existing: bool = True, extra: HeaderEdit | None = None) -> list[CopyResult]:
        """Write a corrected copy of every planned file and its manifest line.

        A file that already has a copy in ``out_dir`` (a pixel fix, an earlier
        edit) is edited in that copy, so each file keeps one corrected copy;
        with ``update_existing=False`` an existing copy is an error.
        """
        editor = combine(edits_editor([self.edit]), extra)
        results = []
        for path in self.files:
            results.append(write_fixed(path, out_dir, editor, roots=roots, reviewer=reviewer,
                                       update_existing=update_existing, how={"edit": self.edit.op}))
        return results


def write_fixed(path: Path, out_dir: Path, editor: HeaderEdit, *, roots: Sequence[Path] = (), reviewer: str = "",
                update_existing: bool = False, how: dict[str, Any] | None = None,
                accept_residual: str = "") -> CopyResult:
    """One corrected copy of ``path`` under ``out_dir`` with ``editor`` applied, proved, and its manifest line.

    The copy takes its name only after the proof (``core/proof``) holds for the
    claims it carries; otherwise it is put under ``residual/`` without them, its
    line says so, and ``ResidualError`` is raised.
    """
    from phi_review.core.remedy.claims import ResidualError, settle, unproven_path

    dest = copy_path(Path(path), roots, out_dir)
    record: dict[str, Any] = {"kind": "header", "reviewer": reviewer, **(how or {})}
    unproven = unproven_path(dest)
    if dest.exists() and update_existing:
        result = write_copy(dest, unproven, edit_header=editor, overwrite=True, out_dir=out_dir, durable=False)
        record["based_on"] = "existing copy"
    else:
        if dest.exists():
            raise RemedyError(f"{dest.name}: a corrected copy already exists there (use overwrite)")
        result = write_copy(Path(path), unproven, edit_header=editor, overwrite=True, out_dir=out_dir, durable=False)
    result.original = Path(path)
    try:
        settled = settle(Path(path), unproven, dest, out_dir, options=(how or {}).get("options", ()),
                         accept_residual=accept_residual, reviewer=reviewer)
    except ResidualError as error:
        if error.moved_to is not None:
            result.copy = error.moved_to
            result.copy_sha256 = sha256_file(error.moved_to)
        append_manifest(out_dir, result.record(**record, proof=error.proof.record()))
        raise
    result.copy = settled.path
    append_manifest(out_dir, result.record(**record, **settled.record()))
    result.proof_summary = settled.proof.summary() + (" (residual accepted)" if settled.accepted else "")
    return result


def plan_tag_edit(paths: Iterable[str | Path], tag: str | int | BaseTag, op: str, value: Any = None, *,
                  only_value: str | None = None) -> Plan:
    """Plan ``op`` on ``tag`` over ``paths``: which files it changes, which lack the tag.

    ``only_value``: change only files whose tag holds exactly this value (the
    "every file with the same value" scope); others are counted apart.
    """
    edit = TagEdit.make(tag, op, value)
    plan = Plan(edit, [])
    for raw in paths:
        path = Path(raw)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                ds = pydicom.dcmread(path, stop_before_pixels=True, specific_tags=[edit.tag])
        except Exception as error:  # noqa: BLE001 - pydicom raises many kinds; the plan counts them
            plan.unreadable.append((path, type(error).__name__))
            continue
        if edit.tag not in ds:
            plan.without_tag.append(path)
        elif only_value is not None and _value_text(ds[edit.tag]) != only_value:
            plan.other_value.append(path)
        else:
            plan.files.append(path)
    return plan
