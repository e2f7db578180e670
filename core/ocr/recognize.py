"""Read the characters of each text box, and where along the line each one stands.

The recognizer (PP-OCRv6 small, CTC) reads a line crop scaled to 48 px high.
Each output column covers a fixed slice of the scaled crop, so the column of a
character says where it is in the frame: ``words`` uses that to put spaces
where the pixels have gaps, which the recognizer itself often drops after a
colon or between short tokens.

Crops are batched by similar width (padding a short line to a long one wastes
work), and each crop is cut from the full-resolution frame.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from phi_review.core.ocr.detect import Box

REC_HEIGHT = 48
BATCH = 8
BATCH_WIDTH = 1600  # padded crop pixels per batch, at most (a wider crop goes alone)
MAX_RATIO = 80.0  # a crop wider than 80 heights is cut off there (no burned-in line is that long)


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
    pieces = pieces if pieces is not None else [crop(rgb, box) for box in boxes]
    widths = [max(1, min(int(np.ceil(REC_HEIGHT * p.shape[1] / max(1, p.shape[0]))), int(REC_HEIGHT * MAX_RATIO)))
              for p in pieces]
    order = np.argsort(widths, kind="stable")
    reads: list[Read | None] = [None] * len(boxes)
    name = session.get_inputs()[0].name
    for chunk in _batches([int(i) for i in order], widths):
        padded = max(REC_HEIGHT * 4, max(widths[i] for i in chunk))
        padded = int(np.ceil(padded / 8)) * 8
        batch = np.zeros((len(chunk), 3, REC_HEIGHT, padded), np.float32)
        for row, i in enumerate(chunk):
            scaled = _scaled(pieces[i], widths[i]).astype(np.float32)
            batch[row, :, :, :widths[i]] = scaled.transpose(2, 0, 1) * (2.0 / 255.0) - 1.0
        preds = session.run(None, {name: batch})[0]
        columns = preds.shape[1]
        for row, i in enumerate(chunk):
            per_column = padded / columns  # scaled-crop pixels per output column
            to_frame = (boxes[i].x1 - boxes[i].x0) / widths[i]
            reads[i] = _decode(preds[row], characters, boxes[i], per_column * to_frame)
        del batch, preds
    return [read for read in reads if read is not None]


def _batches(order: list[int], widths: list[int]) -> list[list[int]]:
    """Consecutive crops (by width) in batches of at most ``BATCH`` and ``BATCH_WIDTH`` padded pixels in all.

    The recognizer's memory grows with batch x width (four 640-px crops: +140 MB).
    """
    batches: list[list[int]] = []
    for i in order:
        if batches and len(batches[-1]) < BATCH and (len(batches[-1]) + 1) * max(widths[i], REC_HEIGHT * 4) <= BATCH_WIDTH:
            batches[-1].append(i)
        else:
            batches.append([i])
    return batches


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
