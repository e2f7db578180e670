"""Messages the review screen's workers post back: results travel as data, never as widget calls.

Each carries the token of the row it was started for, so a late result for a
row the reviewer has already left is dropped.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textual.message import Message


class IndexReady(Message):
    def __init__(self, index: Any, error: str | None) -> None:
        super().__init__()
        self.index = index
        self.error = error


class IndexProgress(Message):
    def __init__(self, count: int) -> None:
        super().__init__()
        self.count = count


class FileLoaded(Message):
    def __init__(self, token: int, finding_index: int, loaded: Any) -> None:
        super().__init__()
        self.token = token
        self.finding_index = finding_index
        self.loaded = loaded


class PreviewRendered(Message):
    def __init__(self, token: int, image: Any, error: str | None, note: str = "", seq: int = 0) -> None:
        super().__init__()
        self.token = token
        self.seq = seq
        self.image = image
        self.error = error
        self.note = note


class OcrDone(Message):
    def __init__(self, token: int, key: tuple[str, int], lines: list[Any] | None, error: str | None) -> None:
        super().__init__()
        self.token = token
        self.key = key
        self.lines = lines
        self.error = error


# ----- corrected copies (tui/review/remedy.py) ---------------------------------
class ScopesReady(Message):
    def __init__(self, original: Path, scopes: dict[str, tuple[list[Path], int]], frame: int, error: str) -> None:
        super().__init__()
        self.original = original
        self.scopes = scopes
        self.frame = frame
        self.error = error


class CopiesWritten(Message):
    def __init__(self, original: Path, written: list[Any], failed: list[str], boxes: list[Any],
                 frames: list[int] | None, scope: str, confirm_clean: bool = False) -> None:
        super().__init__()
        self.confirm_clean = confirm_clean
        self.original = original
        self.written = written
        self.failed = failed
        self.boxes = boxes
        self.frames = frames
        self.scope = scope


class CopyConfirmed(Message):
    def __init__(self, original: Path, result: Any, error: str) -> None:
        super().__init__()
        self.original = original
        self.result = result
        self.error = error


class CopyVerified(Message):
    def __init__(self, copy: Path, result: Any, error: str) -> None:
        super().__init__()
        self.copy = copy
        self.result = result
        self.error = error
