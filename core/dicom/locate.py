"""Find each flagged file under one or more roots: the row's own file, or no file.

The tree is walked once with ``os.scandir`` (a million files is fine: only
name -> relative directory is kept, directories interned once), then a report's
file name resolves whether it is a bare name, a relative path with either
separator, lacks ``.dcm``, or is an absolute path.

Everything a row says is a constraint, never a tie-breaker: its Site ID and
Event ID must be folders of the file's path, its folders must be the file's
folders (an absolute path from the scanning machine may differ only above the
root, where a tree was moved). A same-named file that contradicts the row is
never the row's file; it is only offered (``Resolution.elsewhere``), for the
reviewer to pick knowingly. Only files under the roots are ever returned: an
absolute path outside every root is never opened, a symlink leading out of
the roots is not indexed, and this program's output folders (corrected copies,
release packages: any folder holding our ``manifest.jsonl``) are never
originals. The one exception is ``links``: files a scan of these very roots
read through a link to outside them (``scan.links`` checks and passes them).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath, PureWindowsPath

from phi_review.core.common.inert import inert

# core/remedy's manifest name (core/dicom may not import remedy): a folder holding one is output.
MANIFEST_NAME = "manifest.jsonl"
_OUR_MANIFEST_KEYS = {"original", "copy", "original_sha256", "copy_sha256", "phi_review", "package", "release"}
MAX_OFFERED = 50  # same-named files that contradict the row, offered through c
_EVENT = re.compile(r"\d{7}")  # the validator's event folder: 7 digits; the folder before it is the site


@dataclass
class Resolution:
    """Where a row's file is, or why there is none.

    ``status``: ``found`` (one file fits everything the row says), ``narrowed``
    (several fit; the row's header value picked one), ``ambiguous`` (several
    fit: ``candidates``), ``elsewhere`` (none fits; same-named files that
    contradict the row are in ``elsewhere``), ``outside`` (an absolute path
    outside every root, never opened), ``missing`` or ``invalid``.
    """

    path: Path | None
    candidates: list[Path] = field(default_factory=list)
    message: str = ""
    status: str = "found"
    elsewhere: list[Path] = field(default_factory=list)


def _is_our_manifest(path: str) -> bool:
    """Whether a ``manifest.jsonl`` is this program's: empty, or a first line that is one of our records."""
    try:
        with open(path, "rb") as handle:
            first = handle.read(65536).split(b"\n", 1)[0].strip()
    except OSError:
        return False
    if not first:
        return True
    try:
        record = json.loads(first)
    except ValueError:
        return False
    return isinstance(record, dict) and bool(_OUR_MANIFEST_KEYS & set(record))


def _inside(real: str, real_roots: Sequence[str]) -> bool:
    return any(real == root or real.startswith(root.rstrip(os.sep) + os.sep) for root in real_roots)


def _walk(root: Path, real_roots: Sequence[str], skipped: list[Path],
          exclude: frozenset[str] = frozenset(), refused: list[str] | None = None) -> Iterator[tuple[str, str]]:
    """(directory, file name) for every file below root.

    Symlinked directories are not followed; a symlinked file is kept only when
    it leads to a file under a root. A folder holding our manifest (and all below
    it) is left out and listed in ``skipped``, as are the ``exclude`` folders
    (absolute): an output folder named before its first manifest line exists.
    """
    stack = [str(root)]
    while stack:
        directory = stack.pop()
        if exclude and os.path.abspath(directory) in exclude:
            skipped.append(Path(directory))
            continue
        try:
            with os.scandir(directory) as listing:
                entries = list(listing)
        except OSError:
            continue
        if any(e.name == MANIFEST_NAME for e in entries) and _is_our_manifest(os.path.join(directory, MANIFEST_NAME)):
            skipped.append(Path(directory))
            continue
        for entry in entries:
            try:
                if entry.is_dir(follow_symlinks=False):
                    if not entry.name.startswith("."):
                        stack.append(entry.path)
                elif entry.is_file():
                    if entry.is_symlink() and not _inside(os.path.realpath(entry.path), real_roots):
                        if refused is not None:
                            refused.append(entry.path)
                        continue
                    yield directory, entry.name
            except OSError:
                continue


def _key(name: str) -> str:
    lower = name.lower()
    return lower[:-4] if lower.endswith(".dcm") else lower


def _name_parts(text: str) -> tuple[tuple[str, ...], bool]:
    """The name's folders and file name, either separator; and whether it is an absolute path."""
    windows = "\\" in text or bool(PureWindowsPath(text).drive)
    parts = PureWindowsPath(text).parts if windows else PurePosixPath(text).parts
    absolute = text.startswith(("/", "\\")) or bool(PureWindowsPath(text).drive)
    kept = tuple(p for p in parts if p not in ("/", "\\", ".", "") and not p.endswith(("\\", ":")))
    return kept, absolute


def _site_event(folders: Sequence[str]) -> tuple[str, str]:
    """Site and event as the validator reads them from a path: the first 7-digit folder and the one before it."""
    for n, folder in enumerate(folders):
        if _EVENT.fullmatch(folder):
            return (folders[n - 1] if n > 0 else ""), folder
    return "", ""


def place_of(name: str, site: str = "", event: str = "") -> str:
    """Where the report says a file is, as ``SITE/EVENT/.../name`` (inert), for messages."""
    parts, _ = _name_parts(name.strip().strip('"'))
    if not parts:
        return inert(name)
    folders = list(parts[:-1])
    derived_site, derived_event = _site_event(folders)
    site, event = site.strip() or derived_site, event.strip() or derived_event
    lowered = [f.lower() for f in folders]
    after = 0
    for wanted in (site.lower(), event.lower()):
        if wanted and wanted in lowered:
            after = max(after, lowered.index(wanted) + 1)
    head = [x for x in (site, event) if x]
    if after:
        shown = [*head, *folders[after:]]
    elif head:
        shown = [*head, "…", *folders[-2:]]
    else:
        shown = (["…"] if len(folders) > 2 else []) + folders[-2:]
    return inert("/".join([*shown, parts[-1]]))


class FileIndex:
    """Name -> directories holding a file of that name, for all roots."""

    def __init__(self, roots: Sequence[Path]) -> None:
        self.roots = [Path(r) for r in roots]
        self._by_name: dict[str, list[tuple[str, str]]] = {}
        self._abs_roots = [os.path.abspath(r) for r in self.roots]
        self.count = 0
        self.skipped: list[Path] = []  # output folders (our manifest) left out
        self._folders: set[str] = set()  # every folder name under and of the roots, lower case
        self._places: dict[str, tuple[tuple[str, ...], frozenset[str], str, str, int]] = {}
        self.refused: dict[str, str] = {}  # name key -> a link to outside the roots of that name, not indexed

    @classmethod
    def build(cls, roots: Sequence[Path], progress: Callable[[int], None] | None = None,
              exclude: Sequence[Path] = (), links: Mapping[str, str] | None = None) -> "FileIndex":
        """Walk the roots once; ``exclude``: output folders to leave out even without a manifest yet.

        ``links``: {absolute link path: real path} a scan of these roots read through links to outside them;
        each is indexed under its link path when it lies under a root and still leads to that real path."""
        index = cls(roots)
        excluded = frozenset(os.path.abspath(p) for p in exclude)
        directories: dict[str, str] = {}
        real_roots = [os.path.realpath(r) for r in index.roots]
        for root in index._abs_roots:
            index._folders.update(p.lower() for p in Path(root).parts)
        refused: list[str] = []
        for root in index.roots:
            for directory, name in _walk(root, real_roots, index.skipped, excluded, refused):
                if directory not in directories:
                    directories[directory] = directory
                    index._folders.add(os.path.basename(directory).lower())
                directory = directories[directory]
                index._by_name.setdefault(_key(name), []).append((directory, name))
                index.count += 1
                if progress is not None and index.count % 2000 == 0:
                    progress(index.count)
        index._add_links(links or {}, refused, excluded)
        if progress is not None:
            progress(index.count)
        return index

    def _add_links(self, links: Mapping[str, str], refused: list[str], excluded: frozenset[str]) -> None:
        """Index the allowed links to outside the roots (under the link's own path); remember the refused ones."""
        for link, real in sorted(links.items()):
            directory = os.path.dirname(link)
            if (not _inside(link, self._abs_roots) or _inside(directory, [*excluded, *map(str, self.skipped)])
                    or os.path.realpath(link) != real or not os.path.isfile(link)):
                continue
            entries = self._by_name.setdefault(_key(os.path.basename(link)), [])
            if (directory, os.path.basename(link)) not in entries:
                entries.append((directory, os.path.basename(link)))
                self._folders.add(os.path.basename(directory).lower())
                self.count += 1
        for path in refused:
            if os.path.abspath(path) not in links:
                self.refused.setdefault(_key(os.path.basename(path)), path)

    def resolve(self, name: str, site: str = "", event: str = "", value: str = "",
                tags: Sequence[str] = ()) -> Resolution:
        """The one file a report row names, else the candidates and why.

        Same-named files that contradict the row (its Site ID, Event ID,
        folders) are never candidates. Among those that fit: an exact name beats
        a name without ``.dcm``, a longer run of matching folders beats a
        shorter one, then the row's header ``value`` in ``tags`` picks the one
        file that holds it.
        """
        text = name.strip().strip('"')
        if not text:
            return Resolution(None, [], "the report gives no file name", "invalid")
        parts, absolute = _name_parts(text)
        if not parts:
            return Resolution(None, [], f"{inert(repr(text))} is not a file name", "invalid")
        folders = parts[:-1]
        derived_site, derived_event = _site_event(folders)
        site, event = site.strip() or derived_site, event.strip() or derived_event
        fitting: list[Path] = []
        contradicting: list[str] = []
        wanted = (site.lower(), event.lower())
        for directory, file_name in self._by_name.get(_key(parts[-1]), []):
            if self._fits(directory, folders, wanted):
                fitting.append(Path(directory) / file_name)
            else:
                contradicting.append(os.path.join(directory, file_name))
        if len(fitting) > 1:
            fitting = narrow(fitting, parts)
        shown = inert(parts[-1])  # messages reach the screen: the one inert path, here too
        if len(fitting) == 1:
            return Resolution(fitting[0])
        if len(fitting) > 1:
            fitting = sorted(fitting)
            if value.strip():
                from phi_review.core.dicom.locate_values import holding_value

                holders, keyword = holding_value(fitting, tags, value)
                if len(holders) == 1:
                    return Resolution(holders[0], fitting, (
                        f"{len(fitting)} files named {shown} fit where the report says; only this one's "
                        f"{inert(keyword)} holds the row's value"), "narrowed")
                if len(holders) > 1:
                    return Resolution(None, holders, (
                        f"{shown} is ambiguous: {len(holders)} of the {len(fitting)} files of that name where the "
                        f"report says hold the row's {inert(keyword)} value"), "ambiguous")
            return Resolution(None, fitting, f"{shown} is ambiguous: {len(fitting)} files have that name "
                                             "where the report says", "ambiguous")
        return self._not_found(text, parts, absolute, site, event, contradicting)

    def _not_found(self, text: str, parts: Sequence[str], absolute: bool, site: str, event: str,
                   contradicting: list[str]) -> Resolution:
        roots = ", ".join(inert(str(r)) for r in self.roots)
        where = place_of(text, site, event)
        # Offered through c: a chooser of thousands helps no one, so the first few in path order.
        others = [Path(p) for p in sorted(contradicting)[:MAX_OFFERED]]
        also = ""
        if others:
            also = (f"; a file of the same name exists at {inert(others[0])}" if len(contradicting) == 1 else
                    f"; {len(contradicting)} files of the same name exist elsewhere, e.g. {inert(others[0])}")
        if absolute and not self._under_roots(text):
            return Resolution(None, [], f"{inert(text)} is outside the roots ({roots}) and no file under them "
                                        f"fits it: not read{also}", "outside", others)
        if others:
            return Resolution(None, [], f"{inert(parts[-1])} not found where the report says ({where}){also}",
                              "elsewhere", others)
        link = self.refused.get(_key(parts[-1]))
        if link is not None:
            return Resolution(None, [], (
                f"{inert(parts[-1])}: {inert(link)} is a symbolic link to outside the roots, not read (to review "
                "it: open the output of phi-review scan of this tree with the same --root, or add the folder it "
                "leads to as a --root)"), "outside")
        skipped = f"; {len(self.skipped)} output folder(s) left out" if self.skipped else ""
        return Resolution(None, [], f"{inert(parts[-1])} not found under {roots} ({self.count} files indexed{skipped})",
                          "missing")

    def _under_roots(self, text: str) -> bool:
        if "\\" in text or PureWindowsPath(text).drive:
            return False  # a Windows path never lies under a root of this machine
        return _inside(os.path.abspath(text), self._abs_roots)

    def _place(self, directory: str) -> tuple[tuple[str, ...], frozenset[str], str, str, int]:
        """A folder's lower-case parts (as a tuple and a set), its validator site and event, and its depth below
        the deepest root holding it; computed once per folder (thousands of files share a name, few folders)."""
        place = self._places.get(directory)
        if place is None:
            full = os.path.abspath(directory)
            parts = tuple(p.lower() for p in Path(full).parts)
            best = -1
            for root in self._abs_roots:
                if full == root or full.startswith(root.rstrip(os.sep) + os.sep):
                    best = max(best, len(Path(root).parts))
            own_site, own_event = _site_event(parts)
            place = (parts, frozenset(parts), own_site, own_event, len(parts) - best if best >= 0 else len(parts))
            self._places[directory] = place
        return place

    def _fits(self, directory: str, folders: Sequence[str], wanted: tuple[str, str]) -> bool:
        """Whether nothing the row says contradicts a file in this folder.

        A Site ID or Event ID that is not a folder of the file's path contradicts
        it when the path names another one (the validator's layout: a 7-digit
        event folder, the site folder before it) or when that site's or event's
        folder exists under the roots and the file is not in it. A file in a
        folder that says nothing of sites (a flat download) does not contradict.
        """
        parts, names, own_site, own_event, depth = self._place(directory)
        for value, own in zip(wanted, (own_site, own_event)):
            if value and value not in names and (own or value in self._folders):
                return False
        # The name's folders are the file's, up to the root: above it a tree may have been moved or renamed
        # (the validator's -c 1 paths are the scanning machine's); site and event above still hold.
        return not folders or _suffix_length(parts, folders) >= min(len(folders), depth)


def _suffix_length(folders: Sequence[str], wanted: Sequence[str]) -> int:
    """How many trailing folders two paths share (case-insensitive)."""
    count = 0
    for mine, theirs in zip(reversed(folders), reversed(wanted)):
        if mine.lower() != theirs.lower():
            break
        count += 1
    return count


def narrow(candidates: list[Path], parts: Sequence[str]) -> list[Path]:
    """Files that all fit the row, narrowed by exact name, then by the longest run of matching folders."""
    exact = [c for c in candidates if c.name == parts[-1]]
    if exact:
        candidates = exact
    if len(candidates) > 1 and len(parts) > 1:
        scores = [_suffix_length(c.parent.parts, parts[:-1]) for c in candidates]
        best = max(scores)
        if best > 0:
            candidates = [c for c, score in zip(candidates, scores) if score == best]
    return candidates
