"""A profile's effect on one file, in memory: the header diff ``profile preview`` prints and the
review screen's ``A`` shows before anything is written.

Why its own module: the CLI and the screen must show the same diff from the same editor, and the
screen then writes with that very editor (``Preview.built``), so what was shown is what is written.
"""

from __future__ import annotations

import copy as copy_module
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from phi_review.core.common.inert import inert, shorten
from phi_review.core.remedy.profile_file import BuiltEditor, available, build_editor, disabled, load_profile

DEFAULT = "basic"


def default_profile(names: list[str]) -> str:
    """The profile ``A`` highlights: ``profile = "NAME"`` in the config file when it is enabled, else basic."""
    import tomllib

    from phi_review.core.common.config import config_path

    try:
        chosen = tomllib.loads(config_path().read_text("utf-8")).get("profile")
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        chosen = None
    return chosen if isinstance(chosen, str) and chosen in names else DEFAULT


def enabled_profiles(project: Path | None = None) -> list[str]:
    """Names of every profile not switched off, built-ins first."""
    off = disabled()
    return [name for name, _source in available(project) if name not in off]


@dataclass
class Preview:
    """The editor built for ``name`` and what it does to the file (no value leaves memory but the diff)."""

    name: str
    built: BuiltEditor
    diff: Any  # header_diff.HeaderDiff

    def lines(self) -> list[str]:
        """The diff as the CLI prints it: status, tag, path, old -> new, every string made inert."""
        rows = self.diff.rows
        width = min(max((len(r.path) for r in rows), default=10), 48)
        return [f"{r.status:<8} {r.tag} {inert(shorten(r.path, width)):<{width}}  "
                f"{inert(shorten(r.old, 40))!s:<40} -> {inert(shorten(r.new, 40))}" for r in rows]


def preview_profile(name: str, path: Path, secret: bytes, project: Path | None = None, *,
                    prefix: str | None = None, id_map: Path | None = None) -> Preview:
    """Apply profile ``name`` to a copy of ``path``'s header in memory; nothing is written."""
    from phi_review.core.remedy.pseudonym import check_run

    profile = load_profile(name, project)
    built = build_editor(profile, secret, prefix=prefix, id_map=id_map)
    if built.pseudonyms is not None:
        check_run([path], built.pseudonyms)
    return preview_with(profile.name, built, path)


def preview_with(name: str, built: BuiltEditor, path: Path) -> Preview:
    """``built`` (one profile's editor, already checked for the run) on a copy of ``path``'s header, in memory."""
    from phi_review.core.dicom.bounded import read_header
    from phi_review.core.remedy.header_diff import dataset_diff

    original = read_header(path)
    edited = copy_module.deepcopy(original)
    built.edit(edited)
    return Preview(name, built, dataset_diff(original, edited, path, f"{name} (preview)"))
