"""Which files a scan reads, and the Site ID / Event ID / File Name the validator would give each.

The validator (``jpl.labcas.validation._functions.iterate_paths`` and
``_files.PotentialFile``) walks every file under the folder it is given,
skips a few names (``IGNORED_FILES``) and ``thumbnails`` folders, and takes
Site and Event from the path string with ``([^/]+)/(\\d{7})/(.+)$``: the
folder just above the first seven-digit folder is the site. Its CSV's File
Name is the base name (default process-pool mode). We derive them the same
way from the same path string (the tree as given, joined with the walk's
names), so a row of ours names the file as the validator's row would.
One difference, for safety: symbolic links are not followed (the validator
follows them); a linked file is listed and reported as an Error row.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

IGNORED_FILES = frozenset({".DS_Store", "Thumbs.db", "desktop.ini", "DICOMDIR", "DICOMDIR.dcm", "Image.dir",
                           "Series.dir", "_OLD_"})
IGNORED_FOLDERS = frozenset({"thumbnails"})
MINIMUM_FILE_SIZE = 15 * 1024  # the validator's floor: below it, only an Error row there
UNKNOWN_SITE, UNKNOWN_EVENT = "«unknown site»", "«unknown event»"
_ORGANIZATION = re.compile(r"([^/]+)/(\d{7})/(.+)$")


@dataclass(frozen=True, order=True)
class Target:
    """One file to scan: the path as walked (the journal's key), and where its rows go."""

    path: str
    site: str
    event: str
    file_name: str  # the CSV's File Name cell: the base name, as the validator's default mode writes


def organization(path: str) -> tuple[str, str]:
    """(Site ID, Event ID) exactly as ``PotentialFile`` derives them from the path string."""
    found = _ORGANIZATION.search(path)
    if found is None:
        return UNKNOWN_SITE, UNKNOWN_EVENT
    return found.group(1), found.group(2)


def target(path: str) -> Target:
    site, event = organization(path)
    return Target(path, site, event, os.path.basename(path))


def walk(trees: Sequence[str]) -> Iterator[Target]:
    """Every file under each tree in a stable order (sorted names), as the validator would pick them.

    A tree that is a file is scanned itself. Folders are not followed through links.
    """
    for tree in trees:
        if os.path.isfile(tree) or os.path.islink(tree):
            if os.path.basename(tree) not in IGNORED_FILES:
                yield target(tree)
            continue
        for root, dirs, files in os.walk(tree, followlinks=False):
            dirs.sort()
            if os.path.basename(root) in IGNORED_FOLDERS:
                continue
            for name in sorted(files):
                if name in IGNORED_FILES:
                    continue
                yield target(os.path.join(root, name))
