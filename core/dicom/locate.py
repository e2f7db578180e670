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

    def resolve(self, name: str) -> Resolution:
        text = name.strip().strip('"')
        if not text:
            return Resolution(None, [], "the report gives no file name")
        direct = Path(text)
        if direct.is_absolute() and direct.is_file():
            return Resolution(direct)
        parts = PureWindowsPath(text).parts if "\\" in text else PurePosixPath(text).parts
        parts = tuple(p for p in parts if p not in ("/", "\\", ".", ""))
        if not parts:
            return Resolution(None, [], f"{text!r} is not a file name")
        entries = self._by_name.get(_key(parts[-1]), [])
        candidates = [Path(directory) / file_name for directory, file_name in entries]
        if len(parts) > 1 and len(candidates) > 1:
            wanted = [p.lower() for p in parts[:-1]]
            narrowed = [c for c in candidates if [p.lower() for p in c.parent.parts[-len(wanted):]] == wanted]
            if narrowed:
                candidates = narrowed
        elif len(parts) > 1 and len(candidates) == 1:
            pass
        if len(candidates) == 1:
            return Resolution(candidates[0])
        roots = ", ".join(str(r) for r in self.roots)
        if not candidates:
            return Resolution(None, [], f"{parts[-1]} not found under {roots} ({self.count} files indexed)")
        return Resolution(None, sorted(candidates), f"{parts[-1]} is ambiguous: {len(candidates)} files have that name")
