"""Find where text is in a frame: the DB text detector at a scale chosen from the frame, as upright boxes.

Burned-in annotations are upright lines of text, so the detector's probability
map is read as upright rectangles (no rotated quadrilaterals, no polygon
library). Boxes that sit on one text row with a gap of less than about a
character between them are joined: the detector sometimes splits a line inside
a word ("GAIN2" + "2 DR 41"), and a split word is read as two wrong tokens.

Scale: the detector reads text best when it is roughly 10-40 px high. A frame
is brought to a working size whose long side is ``DET_SIDE`` (small frames up,
large frames down); the recognizer then reads each line from the full-resolution
frame, so downscaling for detection costs no legibility.

Small text at that scale gives boxes too tall for their line (they reach into
the lines above and below). Such a box is cut to its line from the pixels: the
rows that hold ink (``text_rows``), which costs well under a millisecond. Only
what the pixels cannot settle (several lines in one box, runs of faint
probability with no box) is detected again, enlarged (the "closer" look, about
20 ms a region).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

DET_SIDE = 512  # long side of the detector's input
MIN_DET_SCALE = 0.5  # never shrink more than this: 9-px text must stay findable
MAX_DET_SCALE = 2.0
THRESHOLD = 0.3  # probability a pixel is text
BOX_THRESHOLD = 0.5  # mean probability inside a box for it to count
UNCLIP = 1.6  # DB's shrink ratio: boxes are grown back by area * ratio / perimeter ...
MAX_UNCLIP = 24  # ... by at most this many detector pixels (a speckle blob would grow over the text beside it)
MAX_BOXES = 1000
TILE_PIXELS = 512 * 384  # the detector's input per run, at most (bands of a larger input): a 4:3 frame is one run
OVERLAP = 64  # rows two bands share; each keeps its half
FAINT = 0.1  # probability that hints at text the working scale is too coarse for
SMALL_TEXT = 10  # text height (detector pixels) under which a line is looked at again, enlarged
TARGET_TEXT = 24  # text height (pixels) a closer look scales to
MAX_REGIONS = 32
MAX_LOOK_PIXELS = 640 * 640  # a closer look's detector input, at most (run in bands: see _probability)
MAX_LOOK_WIDTH = 1024  # and its width (a band is at least 192 rows of it: 192 x 1024 = TILE_PIXELS)
REACH = 6  # line heights a closer look reaches beyond its region, left and right
LINE_MARGIN = 0.3  # of the line's ink height, kept above and below it when a box is cut to its line
UNCLIP_HEIGHT = 1.6  # a box is about this many times its text's height, after unclipping


@dataclass(frozen=True)
class Box:
    x0: int
    y0: int
    x1: int
    y1: int
    score: float

    @property
    def height(self) -> int:
        return self.y1 - self.y0


def det_scale(height: int, width: int, side: int | None = None) -> float:
    """The factor that brings the frame's long side to ``side`` (``DET_SIDE``), within the bounds above."""
    side = side or DET_SIDE
    return float(min(MAX_DET_SCALE, max(MIN_DET_SCALE, side / max(height, width, 1))))


def detector_input(rgb: np.ndarray, scale: float) -> np.ndarray:
    """The frame resized (sides a multiple of 32, as the network needs) and normalized to -1..1, NCHW."""
    import cv2

    height, width = rgb.shape[:2]
    new_h = max(32, int(round(height * scale / 32)) * 32)
    new_w = max(32, int(round(width * scale / 32)) * 32)
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC
    resized = cv2.resize(rgb, (new_w, new_h), interpolation=interpolation)
    tensor = resized.astype(np.float32)
    tensor *= 2.0 / 255.0
    tensor -= 1.0
    return np.ascontiguousarray(tensor.transpose(2, 0, 1)[np.newaxis])


def boxes_from_map(prob: np.ndarray, height: int, width: int) -> list[Box]:
    """Upright text boxes in frame pixels from the detector's probability map (H', W')."""
    import cv2

    map_h, map_w = prob.shape
    mask = (prob > THRESHOLD).astype(np.uint8)
    mask = cv2.dilate(mask, np.ones((2, 2), np.uint8))
    contours, _ = cv2.findContours(mask, cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
    sx, sy = width / map_w, height / map_h
    found: list[Box] = []
    for contour in contours[:MAX_BOXES]:
        x, y, w, h = cv2.boundingRect(contour)
        if min(w, h) < 3:
            continue
        score = float(prob[y:y + h, x:x + w][mask[y:y + h, x:x + w] > 0].mean())
        if score < BOX_THRESHOLD:
            continue
        grow = min(w * h * UNCLIP / (2 * (w + h)), MAX_UNCLIP)
        x0, y0 = max(0.0, x - grow), max(0.0, y - grow)
        x1, y1 = min(float(map_w), x + w + grow), min(float(map_h), y + h + grow)
        found.append(Box(int(x0 * sx), int(y0 * sy), int(np.ceil(x1 * sx)), int(np.ceil(y1 * sy)), score))
    return found


def join_rows(boxes: list[Box]) -> list[Box]:
    """Join boxes on one text row whose gap is under ~one character (a line split inside a word)."""
    ordered = sorted(boxes, key=lambda b: (b.x0, b.y0))
    joined: list[Box] = []
    for box in ordered:
        for n, old in enumerate(joined):
            overlap = min(old.y1, box.y1) - max(old.y0, box.y0)
            tall = max(old.height, box.height)
            if overlap > 0.6 * min(old.height, box.height) and abs(old.height - box.height) < 0.5 * tall \
                    and box.x0 - old.x1 < 0.6 * tall:
                joined[n] = Box(min(old.x0, box.x0), min(old.y0, box.y0), max(old.x1, box.x1),
                                max(old.y1, box.y1), max(old.score, box.score))
                break
        else:
            joined.append(box)
    return sorted(joined, key=lambda b: (b.y0, b.x0))


def _probability(session: Any, rgb: np.ndarray, scale: float) -> np.ndarray:
    """The detector's text probability map of the frame at ``scale``, run in bands of at most ``TILE_PIXELS``.

    The network's memory grows with its input (about 400 bytes a pixel): one
    1024x1024 pass peaks at +400 MB. Bands of the resized frame, overlapping by
    ``OVERLAP`` rows with each band's middle kept, give the same map within a
    bounded peak.
    """
    tensor = detector_input(rgb, scale)
    name = session.get_inputs()[0].name
    _, _, height, width = tensor.shape
    band = max(2 * OVERLAP + 64, (TILE_PIXELS // max(1, width)) // 32 * 32)
    if height <= band:
        return session.run(None, {name: tensor})[0][0, 0]
    prob = np.empty((height, width), np.float32)
    start = 0
    while start < height:  # each band keeps at least 96 new rows: the loop always ends
        top = max(0, start - OVERLAP)
        bottom = min(height, top + band)
        part = session.run(None, {name: np.ascontiguousarray(tensor[:, :, top:bottom])})[0][0, 0]
        keep_to = height if bottom == height else bottom - OVERLAP // 2
        prob[start:keep_to] = part[start - top:keep_to - top]
        start = keep_to
    return prob


def _faint_regions(prob: np.ndarray, boxes: list[Box], scale: float, grey: np.ndarray) -> list[tuple[Box, float]]:
    """Runs of faint text probability with no box in them (text too small for this scale), with their line height.

    A run along a line counts; so does a block whose pixels show two or more
    lines of ink (a few small lines the detector saw only as a haze). A blob
    with neither is speckle.
    """
    import cv2

    hint = (prob > FAINT).astype(np.uint8)
    hint = cv2.dilate(hint, np.ones((3, 9), np.uint8))
    contours, _ = cv2.findContours(hint, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    regions: list[tuple[Box, float]] = []
    for contour in contours:
        x, y, w, h = cv2.boundingRect(contour)
        if w < 12:
            continue
        region = Box(int(x / scale), int(y / scale), int(np.ceil((x + w) / scale)), int(np.ceil((y + h) / scale)), 0.0)
        if any(_inside(b, region) for b in boxes):
            continue
        if w >= 2 * h:
            regions.append((region, max(4.0, region.height / UNCLIP_HEIGHT)))
            continue
        bands = text_rows(grey[region.y0:region.y1, region.x0:region.x1])
        if len(bands) >= 2:
            regions.append((region, max(4.0, float(np.median([b - a for a, b in bands])))))
    return regions[:MAX_REGIONS]


def text_rows(grey: np.ndarray) -> list[tuple[int, int]]:
    """The bands of rows that hold ink in a crop: one per line of text it covers."""
    from phi_review.core.ocr.words import ink_mask

    ink = ink_mask(grey, min_range=16)
    if not ink.any():
        return []
    rows = ink.sum(axis=1)
    busy = rows >= max(1, 0.04 * grey.shape[1], 0.08 * rows.max())
    bands: list[tuple[int, int]] = []
    start = None
    for y, on in enumerate([*busy, False]):
        if on and start is None:
            start = y
        elif not on and start is not None:
            if y - start >= 3:
                bands.append((start, y))
            start = None
    return bands


def _one_line(grey: np.ndarray, box: Box, scale: float) -> tuple[Box | None, float | None]:
    """(the box cut to its one line, or None; the text height to look closer at, or None).

    A box whose pixels hold one line of text too small for this scale is cut
    to that line's rows (plus ``LINE_MARGIN``): the coarse box reaches into the
    lines above and below, and a crop with bits of them is misread. A box with
    several lines is left to a closer look.
    """
    bands = text_rows(grey[box.y0:box.y1, box.x0:box.x1])
    if not bands:
        return None, None
    line = float(np.median([b - a for a, b in bands]))
    if len(bands) >= 2:
        return None, line
    if line * scale >= SMALL_TEXT:
        return None, None
    top, bottom = bands[0]
    keep = int(round(LINE_MARGIN * (bottom - top)))
    return Box(box.x0, max(box.y0, box.y0 + top - keep), box.x1, min(box.y1, box.y0 + bottom + keep), box.score), None


def _inside(box: Box, region: Box) -> bool:
    cx, cy = (box.x0 + box.x1) / 2, (box.y0 + box.y1) / 2
    return region.x0 <= cx <= region.x1 and region.y0 <= cy <= region.y1


def _closer_look(session: Any, rgb: np.ndarray, region: Box, line: float) -> list[Box]:
    """Detect again around ``region``, scaled so its text is about ``TARGET_TEXT`` high.

    The crop reaches a few line heights beyond the region on each side, and
    further while a line found runs into its left or right edge: a coarse box
    may hold only part of its line.
    """
    height, width = rgb.shape[:2]
    scale = float(min(MAX_DET_SCALE * 2, max(1.0, TARGET_TEXT / max(line, 1.0))))
    margin_y = int(max(4, line))
    reach = int(max(8, REACH * line))
    x0, x1 = max(0, region.x0 - reach), min(width, region.x1 + reach)
    y0, y1 = max(0, region.y0 - margin_y), min(height, region.y1 + margin_y)
    found: list[Box] = []
    for _ in range(3):
        piece = np.ascontiguousarray(rgb[y0:y1, x0:x1])
        scale = min(scale, float(np.sqrt(MAX_LOOK_PIXELS / max(1, piece.shape[0] * piece.shape[1]))),
                    MAX_LOOK_WIDTH / max(1, piece.shape[1]))
        found = [Box(b.x0 + x0, b.y0 + y0, b.x1 + x0, b.y1 + y0, b.score)
                 for b in boxes_from_map(_probability(session, piece, scale), y1 - y0, x1 - x0)]
        grow_left = x0 > 0 and any(b.x0 <= x0 + 2 for b in found)
        grow_right = x1 < width and any(b.x1 >= x1 - 2 for b in found)
        if not (grow_left or grow_right):
            break
        x0 = max(0, x0 - 4 * reach) if grow_left else x0
        x1 = min(width, x1 + 4 * reach) if grow_right else x1
    return found


def _merged(looks: list[tuple[Box, float]]) -> list[tuple[Box, float]]:
    """Overlapping regions to look at as one (the smallest text height of them)."""
    merged: list[tuple[Box, float]] = []
    for region, line in sorted(looks, key=lambda look: (look[0].y0, look[0].x0)):
        for n, (other, other_line) in enumerate(merged):
            if min(region.x1, other.x1) > max(region.x0, other.x0) and min(region.y1, other.y1) > max(region.y0, other.y0):
                merged[n] = (Box(min(region.x0, other.x0), min(region.y0, other.y0), max(region.x1, other.x1),
                                 max(region.y1, other.y1), 0.0), min(line, other_line))
                break
        else:
            merged.append((region, line))
    return merged


def detect(session: Any, rgb: np.ndarray, scale: float | None = None, closer: bool = True) -> list[Box]:
    """Every text box in an 8-bit RGB frame, in the frame's own pixels.

    One pass at the working scale; a box of one line too small for that scale
    is cut to its line from the pixels; each box that holds several lines, and
    each faint run with no box, is detected again, enlarged so its text is about
    ``TARGET_TEXT`` high.
    """
    import cv2

    height, width = rgb.shape[:2]
    scale = det_scale(height, width) if scale is None else scale
    prob = _probability(session, rgb, scale)
    boxes = boxes_from_map(prob, height, width)
    if not closer:
        return join_rows(boxes)
    grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    looks: list[tuple[Box, float]] = []
    kept: list[Box] = []
    for box in boxes:
        cut, line = _one_line(grey, box, scale)
        if line is not None:
            looks.append((box, line))
        else:
            kept.append(cut or box)
    boxes = kept
    looks += _faint_regions(prob, boxes, scale, grey)
    del prob
    for region, line in _merged(looks)[:MAX_REGIONS]:
        closer = _closer_look(session, rgb, region, line)
        if closer:
            kept = [b for b in boxes if not _inside(b, region)]
            boxes = kept + [b for b in closer if not _near_any(b, kept)]
    return join_rows(boxes)


def _near_any(box: Box, boxes: list[Box]) -> bool:
    """Whether a box from a closer look repeats one already kept: they overlap over half the smaller
    and are of a size (a small line inside a speckle blob's box is not a repeat of the blob)."""
    area = (box.x1 - box.x0) * box.height
    for other in boxes:
        w = min(box.x1, other.x1) - max(box.x0, other.x0)
        h = min(box.y1, other.y1) - max(box.y0, other.y0)
        other_area = (other.x1 - other.x0) * other.height
        smaller, larger = min(area, other_area), max(area, other_area)
        if w > 0 and h > 0 and w * h > 0.5 * smaller and smaller > 0.25 * larger:
            return True
    return False
