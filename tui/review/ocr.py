"""Burned-in text on the review screen: when to read a frame, the text panel, and zooming to each box.

OCR costs a core for a few hundred ms, so it starts only once the reviewer
stays on a pixel finding; results are kept per (file, frame) in memory only.
"""

from __future__ import annotations

import time
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from phi_review.core.common.errors import PhiReviewError
from phi_review.core.common.inert import inert
from phi_review.tui.review.messages import OcrDone
from phi_review.tui.widgets.findings_list import shown_value
from phi_review.tui.widgets.preview_pane import PreviewPane
from phi_review.tui.widgets.text_strip import ink_box

if TYPE_CHECKING:
    from phi_review.tui.review.screen import ReviewScreen

OCR_DWELL = 0.5  # seconds on a pixel finding before its text is read
HEADER_FLAGS = ("BurnedInAnnotation", "RecognizableVisualFeatures", "Modality", "ImageType")


def is_pixel_issue(issue: str) -> bool:
    lowered = issue.lower()
    return "pixel" in lowered or "burn" in lowered


class OcrController:
    """OCR lines per (file, frame), the selected box, and the panel under the preview."""

    def __init__(self, screen: "ReviewScreen") -> None:
        self.screen = screen
        self.lines: dict[tuple[str, int], list[Any]] = {}
        self.errors: dict[tuple[str, int], str] = {}
        self.box = -1
        self.done_at = 0.0

    def _preview(self) -> PreviewPane:
        return self.screen.query_one(PreviewPane)

    def current_key(self) -> tuple[str, int] | None:
        loaded = self.screen.files.current()
        if loaded is None or loaded.path is None:
            return None
        return (str(loaded.path), self._preview().state.frame)

    def boxes_for(self, path: Path, frame: int) -> list[tuple[tuple[int, int, int, int], bool]]:
        return [(line.box, line.likely_phi) for line in self.lines.get((str(path), frame), [])]

    def schedule(self, token: int, path: Path, frame: int) -> None:
        """Read this frame after the dwell time, if the reviewer is still on the same row."""
        files = self.screen.files
        self.screen.set_timer(OCR_DWELL, lambda: self.start(token, path, frame) if token == files.token else None)

    def start(self, token: int, path: Path, frame: int) -> None:
        from phi_review.core.ocr.engine import ocr_available

        key = (str(path), frame)
        if key in self.lines or key in self.errors:
            return
        if not ocr_available():
            self.errors[key] = "OCR is not installed: pip install 'phi-review[ocr]'"
            self.show_panel()
            return
        files = self.screen.files
        loaded = files.current()
        values = dict(getattr(loaded.header, "values", {}) or {}) if loaded is not None and loaded.header else {}
        # The detected value, or the one the validator's Details name: OCR lines that match it are likely PHI.
        value = shown_value(self.screen.session.findings[files.current_index]) if files.current_index is not None else ""
        self._preview().show_text_lines(f"Reading text in frame {frame + 1}…")
        work = partial(self._run, token, path, frame, values, value)
        self.screen.run_worker(work, thread=True, exclusive=True, group="ocr")

    def _run(self, token: int, path: Path, frame: int, values: dict[str, str], value: str) -> None:
        from phi_review.core.ocr.engine import ocr_frame
        from phi_review.core.ocr.phi_match import phi_terms

        key = (str(path), frame)
        try:
            lines = ocr_frame(path, frame, phi_terms(values, value))
        except PhiReviewError as error:
            self.screen.post_message(OcrDone(token, key, None, str(error)))
            return
        except Exception as error:  # noqa: BLE001 - OCR must never take the review down
            self.screen.post_message(OcrDone(token, key, None, f"OCR failed: {type(error).__name__}"))
            return
        self.screen.post_message(OcrDone(token, key, lines, None))

    def done(self, message: OcrDone) -> bool:
        """Keep the result; True when it is for the frame on screen now."""
        if message.lines is not None:
            self.lines[message.key] = message.lines
        else:
            self.errors[message.key] = message.error or "OCR failed"
        if message.key == self.current_key():
            self.show_panel()
            return True
        return False

    unfolded = False  # narrow screens fold the text panel to one line until T

    def toggle_fold(self) -> None:
        self.unfolded = not self.unfolded
        self.show_panel()

    def mark_rendered(self) -> None:
        self.done_at = time.monotonic()

    def show_panel(self) -> None:
        """The text panel: the frame's OCR lines, then the masks and the corrected copy's check."""
        # The copy's state first: it is the answer; the original's lines only while the original is shown.
        copy_shown = self.screen.remedy.view_path() is not None
        self.sync_room()
        if self._preview().state.strip is not None:  # the caption names the line: every row goes to the strip
            rows = self.screen.remedy.panel_lines()[:1]
        else:
            rows = self.screen.remedy.panel_lines() + ([] if copy_shown else self._line_rows())
        self._preview().show_text_lines("\n".join(rows))

    def _line_rows(self) -> list[str]:
        key = self.current_key()
        if key is None:
            return []
        if key in self.errors:
            return [inert(self.errors[key])]
        lines = self.lines.get(key)
        if lines is None:
            return []
        if not lines:
            return [f"Text in frame {key[1] + 1}: none found"]
        phi = sum(1 for line in lines if line.likely_phi)
        if self.screen.has_class("narrow") and not self.unfolded:  # one line, so the image keeps its rows
            likely = "; ".join(inert(line.text) for line in lines if line.likely_phi)
            return [f"Text in frame {key[1] + 1}: {len(lines)} line(s), {phi} likely PHI"
                    + (f": {likely}" if likely else "") + " · T: every line"]
        rows = [f"Text in frame {key[1] + 1}: {len(lines)} line(s), {phi} likely PHI · t: each line whole (> <) · "
                "m/M: mask it/all likely"]
        loaded = self.screen.files.current()
        values = getattr(getattr(loaded, "header", None), "values", {}) or {}
        flags = [f"{name}={inert(values[name])}" for name in HEADER_FLAGS if name in values]
        if flags:
            rows.append("Header: " + " · ".join(flags))
        for n, line in enumerate(lines):
            pointer = "▶" if n == self.box else " "
            flag = f"  LIKELY PHI ({line.reason})" if line.likely_phi else ""
            rows.append(f"{pointer} {inert(line.text)}  [{line.confidence:.2f}]{flag}")
        return rows

    def read_text(self) -> None:
        loaded = self.screen.files.current()
        if loaded is None or loaded.path is None or loaded.info is None:
            self.screen.notify("No image to read text from.", markup=False)
            return
        frame = self._preview().state.frame
        self.errors.pop((str(loaded.path), frame), None)
        self.start(self.screen.files.token, loaded.path, frame)

    def next_box(self) -> None:
        self.show_line(1)

    def show_line(self, step: int) -> None:
        """``t`` (and ``>``/``<`` in its view): the next line, whole and legible in this renderer and pane.

        Zoomed in place when it fits the pane's width at a legible size, else laid
        out as a strip of stacked parts (text_strip.py); the caption names the line.
        """
        key = self.current_key()
        lines = self.lines.get(key) if key else None
        loaded = self.screen.files.current()
        if not lines or loaded is None or loaded.info is None:
            self.screen.notify("No text boxes here (r reads the text of this frame).", markup=False)
            return
        self.box = (0 if step > 0 else len(lines) - 1) if self.box < 0 else (self.box + step) % len(lines)
        line = lines[self.box]
        label = f"▶ {self.box + 1}/{len(lines)} {inert(line.text)}"
        if line.likely_phi:
            label += f" · LIKELY PHI ({inert(line.reason)})"
        # Side by side, each frame has half the width: the line must be legible in its half.
        halves = 2 if self.screen.split.pair() is not None else 1
        preview = self._preview()
        size = (loaded.info.columns, loaded.info.rows)
        boxes = [ink_box(other.box, getattr(other, "words", ())) for other in lines]
        # One way for every line of the frame: stepping through them must not make the layout jump.
        strip = preview.state.strip is not None or not all(preview.line_fits(box, size, halves) for box in boxes)
        preview.show_text_line(boxes[self.box], size, label, halves, strip=strip)
        self._line_state = preview.state
        self.show_panel()

    _line_state: Any = None  # the view t made, while nothing else changed it

    def step_line(self, step: int) -> bool:
        """``>``/``<``: the next or previous line while t's view is on screen; False otherwise."""
        state = self._preview().state
        if self.box < 0 or (state.strip is None and state != self._line_state):
            return False
        self.show_line(step)
        return True

    def sync_room(self) -> None:
        """The strip takes the room it needs: wide screens hide the header, narrow ones shrink the list.

        The screen's ``text-strip`` class (review.tcss) follows the view state, so
        any change that leaves the strip (0, zoom, pan, frame, another row) gives the room back.
        """
        strip = self._preview().state.strip is not None
        screen = self.screen
        if screen.has_class("text-strip") == strip:
            return
        screen.set_class(strip, "text-strip")
        screen.apply_preview_visibility()
        from phi_review.tui.widgets.findings_list import FindingsList

        listing = screen.query_one(FindingsList)
        listing.call_after_refresh(listing._scroll_cursor_into_view)  # the cursor's row stays in the smaller list
