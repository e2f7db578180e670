"""Which files a scan reads, and the Site ID / Event ID / File Name the validator would give each.

The validator (``jpl.labcas.validation._functions.iterate_paths`` and
``_files.PotentialFile``) walks every file under the folder it is given with
``os.walk(root, followlinks=True)``, skips a few names (``IGNORED_FILES``)
and the files of ``thumbnails`` folders, and takes Site and Event from the
path string with ``([^/]+)/(\\d{7})/(.+)$``: the folder just above the first
seven-digit folder is the site. Its CSV's File Name is the base name
(default process-pool mode). We derive them the same way from the same path
string (the tree as given, joined with the walk's names), so a row of ours
names the file as the validator's row would.

Symbolic links are followed as the validator follows them (to files and to
folders), so a file reached by two paths is scanned once per path, as the
validator reports it once per path. Where following them as it does is not
safe, we do less and say so:

- A loop (a link to a folder already on the path; device and inode of each
  folder entered) is not entered again. The validator walks it until the
  system refuses the path (about 40 levels), naming the same files each time.
- A folder reached through more than ``MAX_ENTRIES`` paths is not entered
  again (a tree of links could make the paths grow exponentially).
- A file whose real path lies outside every tree given is read (the
  validator reads it) and counted; ``note`` says so in each of its rows.
- A link into /proc, /sys or /dev is not followed: a folder there is not
  entered (counted), a file there is one Error row. The validator follows
  them (``/proc/self/root`` walks the whole machine; ``/proc/kmsg`` blocks).
- A FIFO, socket or device is listed (the validator lists it too, and its
  read then waits forever on a FIFO) but never opened: the reader refuses it.
- A link to nothing (the validator stops with a traceback on it), a folder
  the walk cannot list (the validator skips it without a word) and a folder
  named like a DICOM file (its contents are walked) are one Error row each:
  ``problem`` says why, and no worker opens them. So is a file whose path
  is not UTF-8: no row, CSV or journal could name it as it is.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

IGNORED_FILES = frozenset({".DS_Store", "Thumbs.db", "desktop.ini", "DICOMDIR", "DICOMDIR.dcm", "Image.dir",
                           "Series.dir", "_OLD_"})
IGNORED_FOLDERS = frozenset({"thumbnails"})
MINIMUM_FILE_SIZE = 15 * 1024  # the validator's floor: below it, only an Error row there
UNKNOWN_SITE, UNKNOWN_EVENT = "«unknown site»", "«unknown event»"
MAX_ENTRIES = 32  # times one folder (device, inode) is entered through different paths
NOT_UTF8 = "a name that is not UTF-8 (not read: rename it to scan it)"
OUTSIDE_NOTE = "read through a symbolic link to a file outside the scanned trees"
# Pseudo-filesystems: their files are not data (/proc/kmsg blocks its reader, /proc/self/root is the whole
# machine, /proc holds a folder per process that comes and goes while the walk runs).
SYSTEM = ("/proc", "/sys", "/dev")
SYSTEM_NAMES = "/proc, /sys or /dev"
_ORGANIZATION = re.compile(r"([^/]+)/(\d{7})/(.+)$")
_DICOM_NAME = re.compile(r"\.(dcm|dicom)$", re.IGNORECASE)


@dataclass(frozen=True, order=True)
class Target:
    """One file to scan: the path as walked (the journal's key), and where its rows go."""

    path: str
    site: str
    event: str
    file_name: str  # the CSV's File Name cell: the base name, as the validator's default mode writes
    note: str = ""  # said in each of the file's rows (a link to outside the trees)
    problem: str = ""  # known before reading: the file is one Error row with this reason, never opened


@dataclass
class WalkStats:
    """What the walk did not follow, or followed outside the trees: counted, since no row says it."""

    loops: int = 0  # links to a folder already on the path, not entered
    repeats: int = 0  # folders reached through more than MAX_ENTRIES paths, not entered again
    outside: int = 0  # files read through a link to outside the trees
    system: int = 0  # links to folders in /proc, /sys or /dev, not entered
    entries: Counter[tuple[int, int]] = field(default_factory=Counter)


def organization(path: str) -> tuple[str, str]:
    """(Site ID, Event ID) exactly as ``PotentialFile`` derives them from the path string."""
    found = _ORGANIZATION.search(path)
    if found is None:
        return UNKNOWN_SITE, UNKNOWN_EVENT
    return found.group(1), found.group(2)


def target(path: str, note: str = "", problem: str = "") -> Target:
    """The Target for ``path``; a path that is not UTF-8 is a problem named with \\x escapes.

    Its rows, CSV name and journal are UTF-8 text, which cannot hold the undecodable bytes as they are (the
    validator's own journal fails on them and drops the file without a word)."""
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        path = os.fsencode(path).decode("utf-8", "backslashreplace")
        note, problem = "", problem or NOT_UTF8
    site, event = organization(path)
    return Target(path, site, event, os.path.basename(path), note, problem)


def _inside(real: str, roots: Sequence[str]) -> bool:
    return any(real == root or real.startswith(root.rstrip(os.sep) + os.sep) for root in roots)


def _is_link(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_symlink()
    except OSError:  # gone since the listing: its read will say so
        return True


def _system(path: str) -> bool:
    """Whether a folder reached through a link is, or lies in, /proc, /sys or /dev (or cannot be resolved)."""
    try:
        return _inside(os.path.realpath(path, strict=True), SYSTEM)
    except OSError:
        return True


def _file(path: str, linked: bool, roots: Sequence[str], stats: WalkStats) -> Target:
    """A non-folder entry: a link to nothing is a problem; a file reached through a link may lie outside."""
    if linked or os.path.islink(path):
        if not os.path.exists(path):
            return target(path, problem="a symbolic link to nothing (its target does not exist)")
        try:
            real = os.path.realpath(path, strict=True)
        except OSError as error:  # gone or changed while walking
            return target(path, problem=f"a symbolic link that cannot be followed ({error.strerror or 'loop'})")
        if _inside(real, SYSTEM):
            return target(path, problem=f"a file of the system's {SYSTEM_NAMES} (never read)")
        if not _inside(real, roots):
            stats.outside += 1
            return target(path, note=OUTSIDE_NOTE)
    return target(path)


def _folder(tree: str, roots: Sequence[str], stats: WalkStats) -> Iterator[Target]:
    """``os.walk(tree, followlinks=True)``'s files, top-down, sorted, without loops.

    An explicit stack, not recursion: a tree thousands of folders deep costs no Python recursion."""
    st = os.stat(tree)
    key = (st.st_dev, st.st_ino)
    stats.entries[key] += 1
    stack: list[tuple[str, tuple[tuple[int, int], ...], bool]] = [(tree, (key,), False)]
    while stack:
        top, ancestors, linked = stack.pop()
        try:
            with os.scandir(top) as listing:
                entries = sorted(listing, key=lambda e: e.name)
        except OSError as error:
            yield target(top, problem=f"a folder that cannot be listed ({error.strerror or type(error).__name__})")
            continue
        folders = []
        for entry in entries:
            try:
                is_dir = entry.is_dir()  # follows links, as os.walk does
            except OSError:
                is_dir = False
            if is_dir:
                folders.append(entry)
            elif entry.name not in IGNORED_FILES and os.path.basename(top) not in IGNORED_FOLDERS:
                yield _file(entry.path, linked or _is_link(entry), roots, stats)
        below = []
        for entry in folders:
            try:
                st = os.stat(entry.path)
            except OSError:
                continue  # gone since the listing
            key = (st.st_dev, st.st_ino)
            if key in ancestors:
                stats.loops += 1
                continue
            if (linked or _is_link(entry)) and _system(entry.path):
                stats.system += 1
                continue
            stats.entries[key] += 1
            if stats.entries[key] > MAX_ENTRIES:
                stats.repeats += 1
                continue
            if _DICOM_NAME.search(entry.name):
                yield target(entry.path,
                             problem="a folder named like a DICOM file, not a file (what it holds is scanned)")
            below.append((entry.path, (*ancestors, key), linked or _is_link(entry)))
        stack.extend(reversed(below))


def walk(trees: Sequence[str], stats: WalkStats | None = None) -> Iterator[Target]:
    """Every file under each tree, as the validator would pick them (links followed, loops not).

    A tree that is not a folder is scanned itself."""
    stats = stats if stats is not None else WalkStats()
    roots = [os.path.realpath(tree) for tree in trees]
    for tree in trees:
        if not os.path.isdir(tree):
            if os.path.basename(tree) not in IGNORED_FILES:
                yield _file(tree, False, roots, stats)
            continue
        yield from _folder(tree, roots, stats)
