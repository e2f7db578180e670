"""Read the characters of each text box, and where along the line each one stands.

The recognizer (PP-OCRv6 small, CTC) reads a line crop scaled to 48 px high.
Each output column covers a fixed slice of the scaled crop, so the column of a
character says where it is in the frame: ``words`` uses that to put spaces
where the pixels have gaps, which the recognizer itself often drops after a
colon or between short tokens.

Each crop is cut from the full-resolution frame and read on its own, padded
only to a multiple of 8 columns: the runtime is no faster per pixel on a batch
(measured: 2.0 us a pixel alone, 2.0-2.4 in batches of 4), so batching only
added the padding of short lines to long ones (23% of the pixels read). A
line wider than ``MAX_WIDTH`` once scaled is read in parts split at gaps in
its ink, so the runtime's memory stays bounded however long the line.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from phi_review.core.ocr.detect import Box

REC_HEIGHT = 48
MIN_WIDTH = REC_HEIGHT * 2  # a crop is padded to at least this width
MAX_WIDTH = 1600  # a scaled crop wider than this is read in parts (about 30 MB of runtime memory each)


@dataclass
class Read:
    """One box as read: characters, their positions in frame pixels, and their probabilities."""

    box: Box
    chars: list[str]  # the characters other than spaces
    xs: list[float]  # centre of each character's column, frame x
    probs: list[float]
    space_probs: list[float]  # per neighbouring pair: the highest probability of a space between them
    raw: str  # the recognizer's own text, spaces as it put them

    @property
    def text(self) -> str:
        return self.raw

    @property
    def confidence(self) -> float:
        return float(np.mean(self.probs)) if self.probs else 0.0


MARGIN = 0.3  # of the box height, kept left and right of the outermost ink
PAD = 0.12  # of the box height, added around a box before reading (a descender or a last letter at the edge)


def pad_box(box: Box, height: int, width: int) -> Box:
    """The box grown by ``PAD`` of its height on every side, inside the frame."""
    grow = max(1, int(round(PAD * box.height)))
    return Box(max(0, box.x0 - grow), max(0, box.y0 - grow), min(width, box.x1 + grow),
               min(height, box.y1 + grow), box.score)


def trim_box(rgb: np.ndarray, box: Box) -> Box:
    """The box without the empty margin the detector adds left and right (it costs recognition time).

    Keeps ``MARGIN`` of the box height beyond the outermost ink; a crop whose
    ink cannot be told from its background is left as it is.
    """
    import cv2

    from phi_review.core.ocr.words import ink_mask

    grey = cv2.cvtColor(np.ascontiguousarray(crop(rgb, box)), cv2.COLOR_RGB2GRAY)
    ink = ink_mask(grey, min_range=32)
    columns = np.nonzero(ink.sum(axis=0) >= 2)[0]
    if columns.size == 0:
        return box
    keep = int(MARGIN * box.height) + 1
    x0 = max(box.x0, box.x0 + int(columns[0]) - keep)
    x1 = min(box.x1, box.x0 + int(columns[-1]) + 1 + keep)
    return Box(x0, box.y0, x1, box.y1, box.score) if x1 - x0 >= box.height else box


def crop(rgb: np.ndarray, box: Box) -> np.ndarray:
    return rgb[box.y0:box.y1, box.x0:box.x1]


def _scaled(piece: np.ndarray, width: int) -> np.ndarray:
    import cv2

    height = piece.shape[0]
    interpolation = cv2.INTER_CUBIC if height < REC_HEIGHT else cv2.INTER_AREA
    return cv2.resize(piece, (width, REC_HEIGHT), interpolation=interpolation)


def recognize(session: Any, characters: list[str], rgb: np.ndarray, boxes: list[Box],
              pieces: list[np.ndarray] | None = None) -> list[Read]:
    """Read every box of ``rgb`` (or the given ``pieces``, one per box, e.g. an enhanced crop)."""
    if not boxes:
        return []
    if pieces is None:
        boxes = [trim_box(rgb, pad_box(box, *rgb.shape[:2])) for box in boxes]
        pieces = [crop(rgb, box) for box in boxes]
    name = session.get_inputs()[0].name
    reads: list[Read] = []
    for box, piece in zip(boxes, pieces):
        parts = [_read_one(session, name, characters, part_box, part) for part_box, part in _parts(box, piece)]
        reads.append(parts[0] if len(parts) == 1 else _joined(parts))
    return reads


def _scaled_width(piece: np.ndarray) -> int:
    return max(1, int(np.ceil(REC_HEIGHT * piece.shape[1] / max(1, piece.shape[0]))))


def _parts(box: Box, piece: np.ndarray) -> list[tuple[Box, np.ndarray]]:
    """The crop, or its parts split at the gap in its ink nearest its middle while wider than ``MAX_WIDTH``."""
    if _scaled_width(piece) <= MAX_WIDTH or piece.shape[1] < 4:
        return [(box, piece)]
    import cv2

    from phi_review.core.ocr.words import ink_mask

    grey = cv2.cvtColor(np.ascontiguousarray(piece), cv2.COLOR_RGB2GRAY) if piece.ndim == 3 else piece
    empty = ink_mask(grey, min_range=16).sum(axis=0) == 0
    width = piece.shape[1]
    middle = width // 2
    gaps = np.nonzero(empty[width // 4: width - width // 4])[0] + width // 4
    cut = int(gaps[np.argmin(np.abs(gaps - middle))]) if gaps.size else middle
    cut = min(max(cut, 1), width - 1)
    left = Box(box.x0, box.y0, box.x0 + cut, box.y1, box.score)
    right = Box(box.x0 + cut, box.y0, box.x1, box.y1, box.score)
    return _parts(left, piece[:, :cut]) + _parts(right, piece[:, cut:])


def _read_one(session: Any, name: str, characters: list[str], box: Box, piece: np.ndarray) -> Read:
    width = _scaled_width(piece)
    padded = int(np.ceil(max(MIN_WIDTH, width) / 8)) * 8
    batch = np.zeros((1, 3, REC_HEIGHT, padded), np.float32)
    scaled = _scaled(piece if piece.ndim == 3 else np.stack([piece] * 3, axis=-1), width).astype(np.float32)
    batch[0, :, :, :width] = scaled.transpose(2, 0, 1) * (2.0 / 255.0) - 1.0
    preds = session.run(None, {name: batch})[0]
    per_column = padded / preds.shape[1]  # scaled-crop pixels per output column
    return _decode(preds[0], characters, box, per_column * (box.x1 - box.x0) / width)


def _joined(parts: list[Read]) -> Read:
    """One read from the parts of a long line; at each cut, whether there is a space is left to the pixel gap."""
    first = parts[0]
    chars, xs, probs, spaces = list(first.chars), list(first.xs), list(first.probs), list(first.space_probs)
    for part in parts[1:]:
        if chars and part.chars:
            spaces.append(0.5)  # under SURE_SPACE: a space only where the pixels show a word gap
        chars += part.chars
        xs += part.xs
        probs += part.probs
        spaces += part.space_probs
    box = Box(first.box.x0, min(p.box.y0 for p in parts), parts[-1].box.x1, max(p.box.y1 for p in parts), first.box.score)
    return Read(box, chars, xs, probs, spaces, " ".join(p.raw for p in parts if p.raw))


def _decode(pred: np.ndarray, characters: list[str], box: Box, step: float) -> Read:
    """Greedy CTC: best class per column, repeats collapsed, blanks dropped; each kept column's x."""
    best = pred.argmax(axis=1)
    prob = pred.max(axis=1)
    keep = np.ones(len(best), bool)
    keep[1:] = best[1:] != best[:-1]
    keep &= best != 0
    space_class = len(characters) - 1
    cols = np.nonzero(keep)[0]
    raw = "".join(characters[int(best[c])] if int(best[c]) < len(characters) else "" for c in cols)
    glyphs = [int(c) for c in cols if int(best[c]) != space_class]
    chars = [characters[int(best[c])] if int(best[c]) < len(characters) else "" for c in glyphs]
    xs = [box.x0 + (c + 0.5) * step for c in glyphs]
    space = pred[:, space_class]
    space_probs = [float(space[a:b + 1].max()) for a, b in zip(glyphs, glyphs[1:])]
    return Read(box, chars, xs, [float(prob[c]) for c in glyphs], space_probs, raw.strip())
