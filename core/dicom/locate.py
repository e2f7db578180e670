"""Find each flagged file under one or more roots, by name.

The tree is walked once with ``os.scandir`` (a million files is fine: only
name -> relative directory is kept, directories interned once), then a report's
file name resolves whether it is a bare name, a relative path with either
separator, lacks ``.dcm``, or is an absolute path.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath, PureWindowsPath

from phi_review.core.common.inert import inert


@dataclass
class Resolution:
    path: Path | None
    candidates: list[Path] = field(default_factory=list)
    message: str = ""


def _walk(root: Path) -> Iterator[tuple[str, str]]:
    """(directory, file name) for every file below root, without following symlinked dirs."""
    stack = [str(root)]
    while stack:
        directory = stack.pop()
        try:
            with os.scandir(directory) as entries:
                for entry in entries:
                    try:
                        if entry.is_dir(follow_symlinks=False):
                            if not entry.name.startswith("."):
                                stack.append(entry.path)
                        elif entry.is_file():
                            yield directory, entry.name
                    except OSError:
                        continue
        except OSError:
            continue


def _key(name: str) -> str:
    lower = name.lower()
    return lower[:-4] if lower.endswith(".dcm") else lower


class FileIndex:
    """Name -> directories holding a file of that name, for all roots."""

    def __init__(self, roots: Sequence[Path]) -> None:
        self.roots = [Path(r) for r in roots]
        self._by_name: dict[str, list[tuple[str, str]]] = {}
        self.count = 0

    @classmethod
    def build(cls, roots: Sequence[Path], progress: Callable[[int], None] | None = None) -> "FileIndex":
        index = cls(roots)
        directories: dict[str, str] = {}
        for root in index.roots:
            for directory, name in _walk(root):
                directory = directories.setdefault(directory, directory)
                index._by_name.setdefault(_key(name), []).append((directory, name))
                index.count += 1
                if progress is not None and index.count % 2000 == 0:
                    progress(index.count)
        if progress is not None:
            progress(index.count)
        return index

    def resolve(self, name: str, site: str = "", event: str = "") -> Resolution:
        """The one file a report names, else the candidates and why.

        Among same-named files: an exact name beats a name without ``.dcm``;
        the folders in the name (a foreign absolute path too) pick by the
        longest matching suffix of folders; then the row's Site ID and Event ID
        pick the files under folders of those names.
        """
        text = name.strip().strip('"')
        if not text:
            return Resolution(None, [], "the report gives no file name")
        direct = Path(text)
        if direct.is_absolute() and direct.is_file():
            return Resolution(direct)
        parts = PureWindowsPath(text).parts if "\\" in text else PurePosixPath(text).parts
        parts = tuple(p for p in parts if p not in ("/", "\\", ".", "") and not p.endswith(("\\", ":")))
        if not parts:
            return Resolution(None, [], f"{inert(repr(text))} is not a file name")
        entries = self._by_name.get(_key(parts[-1]), [])
        candidates = [Path(directory) / file_name for directory, file_name in entries]
        if len(candidates) > 1:
            candidates = narrow(candidates, parts, site, event)
        if len(candidates) == 1:
            return Resolution(candidates[0])
        roots = ", ".join(inert(str(r)) for r in self.roots)
        name = inert(parts[-1])  # messages reach the screen: the one inert path, here too
        if not candidates:
            return Resolution(None, [], f"{name} not found under {roots} ({self.count} files indexed)")
        return Resolution(None, sorted(candidates), f"{name} is ambiguous: {len(candidates)} files have that name")


def _suffix_length(folders: Sequence[str], wanted: Sequence[str]) -> int:
    """How many trailing folders two paths share (case-insensitive)."""
    count = 0
    for mine, theirs in zip(reversed(folders), reversed(wanted)):
        if mine.lower() != theirs.lower():
            break
        count += 1
    return count


def narrow(candidates: list[Path], parts: Sequence[str], site: str = "", event: str = "") -> list[Path]:
    """Same-named files narrowed by exact name, folders in the name, then Site ID and Event ID."""
    exact = [c for c in candidates if c.name == parts[-1]]
    if exact:
        candidates = exact
    if len(candidates) > 1 and len(parts) > 1:
        scores = [_suffix_length(c.parent.parts, parts[:-1]) for c in candidates]
        best = max(scores)
        if best > 0:
            candidates = [c for c, score in zip(candidates, scores) if score == best]
    site, event = site.strip().lower(), event.strip().lower()
    if len(candidates) > 1 and (site or event):
        def holds(path: Path, folder: str) -> bool:
            return bool(folder) and folder in (p.lower() for p in path.parent.parts)

        for test in (lambda c: holds(c, site) and holds(c, event), lambda c: holds(c, event), lambda c: holds(c, site)):
            chosen = [c for c in candidates if test(c)]
            if chosen:
                candidates = chosen
                break
    return candidates
