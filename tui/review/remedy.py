"""Blacking out burned-in text from the review screen: masks, scope, corrected copies, verification.

The reviewer turns OCR lines (or a keyboard rectangle, or a known device
region) into masks, picks the scope, and the copies are written by
``core.remedy`` in a worker: originals are never touched, an existing copy is
replaced only after the confirmation says so. The copy is then read again by
OCR and the panel says what text, if any, is left inside the boxes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from phi_review.core.common.errors import PhiReviewError
from phi_review.core.common.inert import inert
from phi_review.tui.review.messages import CopiesWritten, CopyConfirmed, CopyVerified, ScopesReady
from phi_review.tui.screens.box_edit import BoxEditScreen
from phi_review.tui.screens.dialogs import ConfirmScreen, PickScreen
from phi_review.tui.widgets.preview_pane import PreviewPane

if TYPE_CHECKING:
    from phi_review.tui.review.screen import ReviewScreen

PAD = 3  # pixels around an OCR line: glyph edges spill past the detector's box
SCOPE_LABELS = {
    "frame": "this frame",
    "file": "all frames of this file",
    "series": "every file of this series",
    "device": "every file in the report with the same device signature",
}


@dataclass
class CopyState:
    """The corrected copy of one original, what was blacked out, and what OCR still reads in it."""

    copy: Path
    boxes: list[Any]
    frames: list[int] | None
    scope: str
    verified: Any = None  # core.remedy.verify.VerifyResult
    error: str = ""
    confirmed_clean: bool = False
    checked_frames: list[int] = field(default_factory=list)
    residual: str = ""  # the proof's last refusal (kinds and places, never values)


class RemedyController:
    """Masks per original file, the copies written, and which one the preview shows."""

    def __init__(self, screen: "ReviewScreen", out_dir: Path | None) -> None:
        self.screen = screen
        self.out_dir = out_dir or screen.session.report.path.parent / "corrected"
        from phi_review.core.remedy.manifest import recovery_note  # a killed run's temp files and unrecorded copies

        self.recovered = recovery_note(self.out_dir)  # one line for the screen to show ("" when all was in order)
        self.masks: dict[str, list[Any]] = {}
        self.copies: dict[str, CopyState] = {}
        self.fixed: dict[str, Path] = {}  # originals whose header was fixed -> their corrected copy
        self.editing: tuple[int, int, int, int] | None = None
        self.showing_copy = False

    # ----- what the preview draws ------------------------------------------------------
    def _current(self) -> tuple[Any, Path] | None:
        loaded = self.screen.files.current()
        if loaded is None or loaded.path is None or loaded.info is None:
            return None
        return loaded, loaded.path

    def view_path(self) -> Path | None:
        """The corrected copy when the reviewer flipped to it, else None (the original)."""
        current = self._current()
        if current is None or not self.showing_copy:
            return None
        state = self.copies.get(str(current[1]))
        return state.copy if state is not None else None

    def boxes_for(self, path: Path) -> list[Any]:
        marks: list[Any] = []
        state = self.copies.get(str(path))
        if self.showing_copy and state is not None:
            return [(box.as_tuple(), "done") for box in state.boxes]
        marks += [(box.as_tuple(), "mask") for box in self.masks.get(str(path), [])]
        if self.editing is not None:
            marks.append((self.editing, "edit"))
        return marks

    def panel_lines(self) -> list[str]:
        current = self._current()
        if current is None:
            return []
        path = str(current[1])
        lines: list[str] = []
        masks = self.masks.get(path, [])
        if masks:
            lines.append(f"Masks: {len(masks)} box(es) · x lists/removes · R writes the corrected copy")
        if path in self.fixed and path not in self.copies:
            lines.append(f"Corrected copy (header fixed): {inert(self.screen.display_path(self.fixed[path]))} · "
                         "D: header diff")
        state = self.copies.get(path)
        if state is not None:
            shown = "COPY shown (X: original)" if self.showing_copy else "original shown (X: copy)"
            if self.screen.split.on:
                shown = "side by side: original | corrected copy (S: one at a time)"
            lines.append(f"Corrected copy: {inert(self.screen.display_path(state.copy))} · {shown}")
            if state.error:
                lines.append(f"Verification failed: {inert(state.error)}")
            elif state.verified is None:
                lines.append("Reading the copy again to check the boxes…")
            else:
                frames = ", ".join(str(f + 1) for f in state.checked_frames)
                inside = [line for check in state.verified.frames for line in check.inside]
                if inside:
                    lines.append(f"NOT CLEAN: text still read inside the boxes on frame(s) {frames}: "
                                 + "; ".join(inert(line.text) for line in inside[:5]))
                else:
                    lines.append(f"Verified: no text inside the boxes (frames {frames}).")
                left = state.verified.phi_left
                if left:
                    lines.append("Likely PHI still elsewhere: " + "; ".join(inert(line.text) for line in left[:5]))
                if state.residual:
                    lines.append(f"Proof refused the claim: {inert(state.residual)}")
                if state.confirmed_clean:
                    lines.append("Confirmed clean: the proof OCRed every frame and searched the bytes "
                                 "(BurnedInAnnotation NO in the copy).")
                elif inside or left or state.residual:
                    lines.append("C needs a typed reason to confirm while anything likely identifying is left.")
                else:
                    lines.append("C confirms the copy is clean once the proof (OCR of every frame) agrees.")
        return lines

    def _redraw(self) -> None:
        self.screen.ocr.show_panel()
        # After the layout: the panel's new height decides the image's box (else it is squeezed to fit).
        self.screen.call_after_refresh(self.screen.request_render)

    # ----- masks ------------------------------------------------------------------------
    def _add(self, path: Path, boxes: list[Any]) -> int:
        masks = self.masks.setdefault(str(path), [])
        added = 0
        for box in boxes:
            if box not in masks:
                masks.append(box)
                added += 1
        return added

    def _line_box(self, line: Any, info: Any) -> Any:
        from phi_review.core.remedy.redact import Box

        x0, y0, x1, y1 = line.box
        return Box(max(0, x0 - PAD), max(0, y0 - PAD), min(info.columns, x1 + PAD), min(info.rows, y1 + PAD))

    def mask_selected_line(self) -> None:
        current = self._current()
        key = self.screen.ocr.current_key()
        lines = self.screen.ocr.lines.get(key) if key else None
        if current is None or not lines:
            self.screen.notify("No text lines here (r reads this frame's text).", markup=False)
            return
        if not 0 <= self.screen.ocr.box < len(lines):
            self.screen.notify("t selects a text line first; M masks every likely-PHI line.", markup=False)
            return
        added = self._add(current[1], [self._line_box(lines[self.screen.ocr.box], current[0].info)])
        self.screen.notify(f"Masked the selected line ({added} new box).", markup=False)
        self._redraw()

    def mask_likely_lines(self) -> None:
        current = self._current()
        key = self.screen.ocr.current_key()
        lines = self.screen.ocr.lines.get(key) if key else None
        likely = [line for line in lines or [] if line.likely_phi]
        if current is None or not likely:
            self.screen.notify("No line marked likely PHI on this frame (m masks a selected line, b draws a box).",
                               markup=False)
            return
        added = self._add(current[1], [self._line_box(line, current[0].info) for line in likely])
        self.screen.notify(f"Masked {len(likely)} likely-PHI line(s) ({added} new).", markup=False)
        self._redraw()

    def draw_box(self) -> None:
        current = self._current()
        if current is None:
            self.screen.notify("No image on this row to draw a box on.", markup=False)
            return
        info = current[0].info
        size = (info.columns, info.rows)
        self.editing = (info.columns // 4, info.rows * 7 // 16, info.columns * 3 // 4, info.rows * 9 // 16)

        def changed(rect: tuple[int, int, int, int]) -> None:
            self.editing = rect
            self.screen.request_render()

        def done(rect: tuple[int, int, int, int] | None) -> None:
            from phi_review.core.remedy.redact import Box

            self.editing = None
            if rect is not None:
                self._add(current[1], [Box(*rect)])
            self._redraw()

        self.screen.app.push_screen(BoxEditScreen(self.editing, size, changed), done)
        self.screen.request_render()

    def known_regions(self) -> None:
        """Regions the deid/CTP recipe knows for this device, labelled with their source, to add as masks."""
        import pydicom

        from phi_review.core.remedy.regions import known_regions

        current = self._current()
        if current is None:
            self.screen.notify("No image on this row.", markup=False)
            return
        try:
            ds = pydicom.dcmread(current[1], stop_before_pixels=True)
            regions = known_regions(ds)
        except Exception as error:  # noqa: BLE001 - a damaged header must not take the screen down
            self.screen.notify(f"Cannot read the device signature: {inert(type(error).__name__)}", markup=False)
            return
        if not regions:
            self.screen.notify("No known text region for this device (Manufacturer, model, size).", markup=False)
            return
        labels = [f"{inert(r.label)}: {r.box} ({inert(r.source)})" for r in regions]

        def apply(choice: int | None) -> None:
            if choice is not None:
                self._add(current[1], [regions[choice].box])
                self._redraw()

        self.screen.app.push_screen(PickScreen("Known text regions for this device: Enter adds one as a mask",
                                               labels), apply)

    def list_masks(self) -> None:
        current = self._current()
        masks = self.masks.get(str(current[1]), []) if current else []
        if not masks:
            self.screen.notify("No masks on this file (m, M, b or B add them).", markup=False)
            return
        labels = [f"{box}  ({box.x1 - box.x0}x{box.y1 - box.y0} px)" for box in masks]

        def apply(choice: int | None) -> None:
            if choice is not None:
                del masks[choice]
                self._redraw()

        self.screen.app.push_screen(PickScreen("Masks on this file: Enter removes the chosen one", labels), apply)

    # ----- writing copies ---------------------------------------------------------------
    def apply(self) -> None:
        if self.screen.session.read_only:
            self.screen.notify("Read-only: no corrected copies are written from this session.", markup=False)
            return
        current = self._current()
        masks = self.masks.get(str(current[1]), []) if current else []
        if current is None or not masks:
            self.screen.notify("Nothing to black out: add masks first (m, M, b, B).", markup=False)
            return
        frame = self.screen.query_one(PreviewPane).state.frame
        self.screen.notify("Finding the files each scope covers…", markup=False)
        # Resolving every row of a large report takes seconds: in the worker, never on the screen's thread.
        work = partial(self._scopes_in_worker, current[1], self.report_paths, frame)
        self.screen.run_worker(work, thread=True, exclusive=True, group="remedy")

    def row_paths(self, rows: list[int] | None = None) -> dict[int, Path]:
        """Row index -> the file it resolves to (the reviewer's pick for ambiguous names)."""
        files = self.screen.files
        index = files.file_index
        found: dict[int, Path] = {}
        if index is None:
            return found
        findings = self.screen.session.findings
        for n in range(len(findings)) if rows is None else rows:
            finding = findings[n]
            path = files.chosen_paths.get(n) or index.resolve(finding.file, site=finding.site, event=finding.event).path
            if path is not None:
                found[n] = Path(path)
        return found

    def report_paths(self, rows: list[int] | None = None) -> list[Path]:
        """Every distinct file the report's rows (or these rows) resolve to."""
        return list({str(p): p for p in self.row_paths(rows).values()}.values())

    def copy_of(self, original: Path) -> Path | None:
        """This original's corrected copy (pixels, header or both), if one was written this session."""
        state = self.copies.get(str(original))
        if state is not None:
            return state.copy
        return self.fixed.get(str(original))

    def _scopes_in_worker(self, original: Path, report_paths: Callable[[], list[Path]], frame: int) -> None:
        from phi_review.core.remedy.regions import SCOPES, count_frames, scope_files, scope_frames

        scopes: dict[str, tuple[list[Path], int]] = {}
        try:
            paths = report_paths()
            for scope in SCOPES:
                chosen = scope_files(original, paths, scope)
                frames = scope_frames(original, scope, frame)
                scopes[scope] = (chosen, count_frames(chosen, frames))
        except PhiReviewError as error:
            self.screen.post_message(ScopesReady(original, {}, frame, str(error)))
            return
        self.screen.post_message(ScopesReady(original, scopes, frame, ""))

    def scopes_ready(self, message: ScopesReady) -> None:
        if message.error:
            self.screen.notify(f"Cannot plan the redaction: {inert(message.error)}", severity="error", markup=False)
            return
        order = ["file", "frame", "series", "device"]  # all frames of the file first: the default
        info = self._current()
        if info is not None and info[0].info.frames <= 1:
            order = ["file", "series", "device"]  # one frame: "this frame" is the file
        options = [(scope, *message.scopes[scope]) for scope in order if scope in message.scopes]
        labels = [f"{SCOPE_LABELS[s]}: {len(files)} file(s), {frames} frame(s)" for s, files, frames in options]

        def picked(choice: int | None) -> None:
            if choice is not None:
                scope, files, frames = options[choice]
                self._confirm(message.original, scope, files, frames, message.frame)

        self.screen.app.push_screen(PickScreen("Black out the masks on:", labels), picked)

    def _confirm(self, original: Path, scope: str, files: list[Path], frame_count: int, frame: int) -> None:
        from phi_review.core.remedy.output import copy_path

        roots = self.screen.files.roots
        existing = [p for p in files if copy_path(p, roots, self.out_dir).exists()]
        question = (f"Write corrected copies of {len(files)} file(s), {frame_count} frame(s), to "
                    f"{inert(str(self.out_dir))}? The original files stay untouched.")
        if existing:
            question += f" {len(existing)} existing corrected cop{'y' if len(existing) == 1 else 'ies'} will be replaced."
        boxes = list(self.masks.get(str(original), []))
        frames = [frame] if scope == "frame" else None

        def yes(answer: bool | None) -> None:
            if answer:
                work = partial(self._write_in_worker, original, files, boxes, frames, scope, bool(existing))
                self.screen.run_worker(work, thread=True, exclusive=True, group="remedy")
                self.screen.notify(f"Writing {len(files)} corrected cop{'y' if len(files) == 1 else 'ies'}…",
                                   markup=False)

        self.screen.app.push_screen(ConfirmScreen(question), yes)

    def _write_in_worker(self, original: Path, files: list[Path], boxes: list[Any], frames: list[int] | None,
                         scope: str, overwrite: bool, confirm_clean: bool = False) -> None:
        from phi_review.core.remedy.output import copy_path
        from phi_review.core.remedy.redact import Redaction, redact_file

        written: list[Any] = []
        failed: list[str] = []
        reviewer = self.screen.session.reviewer
        for path in files:
            dest = copy_path(path, self.screen.files.roots, self.out_dir)
            try:
                if dest.exists() and str(path) in self.fixed:
                    # The copy holds header fixes: black out on top of it (UIDs as they are), so the file
                    # keeps one copy; the manifest still names the original's hash.
                    result = redact_file(path, dest, Redaction(boxes, frames, keep_uids=True,
                                                               confirm_clean=confirm_clean),
                                         update_existing=True, reviewer=reviewer, scope=scope,
                                         manifest_dir=self.out_dir)
                else:
                    result = redact_file(path, dest, Redaction(boxes, frames, confirm_clean=confirm_clean),
                                         overwrite=overwrite, reviewer=reviewer, scope=scope,
                                         manifest_dir=self.out_dir)
                written.append(result)
            except PhiReviewError as error:
                failed.append(f"{path.name}: {error}")
            except Exception as error:  # noqa: BLE001 - one bad file must not stop the others
                failed.append(f"{path.name}: {type(error).__name__}")
        self.screen.post_message(CopiesWritten(original, written, failed, boxes, frames, scope, confirm_clean))

    def copies_written(self, message: CopiesWritten) -> None:
        for result in message.written:
            state = CopyState(Path(result.copy), list(message.boxes), message.frames, message.scope,
                              confirmed_clean=message.confirm_clean)
            self.copies[str(result.original)] = state
            self.screen.record_remedy(result, message.scope)
        for failure in message.failed:
            self.screen.notify(f"Not written: {inert(failure)}", severity="error", timeout=12, markup=False)
        if message.written:
            self.screen.notify(f"Wrote {len(message.written)} corrected cop{'y' if len(message.written) == 1 else 'ies'} "
                               f"to {inert(str(self.out_dir))}; originals untouched.", markup=False)
            self.masks.pop(str(message.original), None)
            self.showing_copy = True
            self.verify(message.original)
        self._redraw()

    # ----- verification -----------------------------------------------------------------
    def verify(self, original: Path) -> None:
        state = self.copies.get(str(original))
        current = self._current()
        if state is None or current is None:
            return
        count = current[0].info.frames
        frame = self.screen.query_one(PreviewPane).state.frame
        if state.frames is not None:
            checked = list(state.frames)
        else:  # every frame of a long cine costs a core-second each: the first, middle, last and the one shown
            checked = sorted({0, count // 2, count - 1, frame} & set(range(count)))
        state.checked_frames = checked
        state.verified, state.error = None, ""
        work = partial(self._verify_in_worker, state.copy, state.boxes, checked, original)
        self.screen.run_worker(work, thread=True, exclusive=False, group="verify")

    def _verify_in_worker(self, copy: Path, boxes: list[Any], frames: list[int], original: Path) -> None:
        from phi_review.core.ocr.engine import ocr_available
        from phi_review.core.remedy.verify import verify_copy

        if not ocr_available():
            self.screen.post_message(CopyVerified(copy, None, "OCR is not installed: pip install 'phi-review[ocr]'"))
            return
        try:
            result = verify_copy(copy, boxes, frames, original=original)
        except PhiReviewError as error:
            self.screen.post_message(CopyVerified(copy, None, str(error)))
            return
        except Exception as error:  # noqa: BLE001 - verification must never take the review down
            self.screen.post_message(CopyVerified(copy, None, f"OCR failed: {type(error).__name__}"))
            return
        self.screen.post_message(CopyVerified(copy, result, ""))

    def copy_verified(self, message: CopyVerified) -> None:
        for state in self.copies.values():
            if state.copy == message.copy:
                state.verified, state.error = message.result, message.error
        self._redraw()

    def flip(self) -> None:
        current = self._current()
        if current is None or str(current[1]) not in self.copies:
            self.screen.notify("No corrected copy of this file yet (R writes one).", markup=False)
            return
        if self.screen.split.on:  # X from side by side: one image again, the one X names
            self.screen.split.on = False
        self.showing_copy = not self.showing_copy
        self._redraw()

    def confirm_clean(self) -> None:
        """The reviewer's word that the copy is clean: rewrite it with BurnedInAnnotation NO (the standard leaves this to a human)."""
        current = self._current()
        state = self.copies.get(str(current[1])) if current else None
        if current is None or state is None:
            self.screen.notify("No corrected copy of this file yet (R writes one).", markup=False)
            return
        if state.verified is None:
            self.screen.notify("Not confirmed: the copy is still being read again (or could not be).",
                               severity="warning", markup=False)
            return
        from phi_review.tui.review.confirm_clean import ask_and_confirm

        ask_and_confirm(self, state, current[1])

    def copy_confirmed(self, message: "CopyConfirmed") -> None:
        state = self.copies.get(str(message.original))
        if message.error or state is None:
            if state is not None:
                state.residual = message.error
                self._redraw()
            self.screen.notify(f"Not confirmed: {inert(message.error)}", severity="error", markup=False)
            return
        state.confirmed_clean, state.residual = True, ""
        self.screen.record_remedy(message.result, "confirm-clean")
        self._redraw()
