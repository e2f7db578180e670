"""The review screen: findings list, header, preview and status; one keystroke per decision.

The screen composes the panes, routes keys and worker messages, and leaves the
work to three controllers: files (load, render, prefetch), OCR (burned-in
text) and decisions (actions, undo, notes, filters, groups, save). Workers
post messages back here; they never touch widgets.
"""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Footer, Static

from phi_review.core.common.errors import PhiReviewError
from phi_review.core.common.inert import inert
from phi_review.core.report.pointer import first_frame
from phi_review.core.report.row_view import other_cells
from phi_review.tui.review.compare import SplitView
from phi_review.tui.review.decisions import DecisionController
from phi_review.tui.review.file_loader import LoadedFile
from phi_review.tui.review.files import FileController
from phi_review.tui.review.fixes import FixController
from phi_review.tui.review.fixing_keys import FixingKeys
from phi_review.tui.review.messages import FileLoaded, IndexProgress, IndexReady, OcrDone, PreviewRendered
from phi_review.tui.review.ocr import OcrController, is_pixel_issue
from phi_review.tui.review.remedy import RemedyController
from phi_review.tui.review.standing_keys import StandingKeys
from phi_review.tui.screens.dialogs import AskTextScreen, TextScreen
from phi_review.tui.terminal.graphics import widget_class
from phi_review.tui.widgets.findings_list import FindingsList, shown_value
from phi_review.tui.widgets.header_pane import HeaderPane
from phi_review.tui.widgets.preview_pane import PreviewPane

if TYPE_CHECKING:
    from phi_review.tui.app import ReviewApp

NARROW_WIDTH = 110


class ReviewScreen(StandingKeys, FixingKeys, Screen[None]):
    """Keyboard triage of the report's rows, one file at a time."""

    BINDINGS = [
        *[
            Binding(str(n), f"decide({n})", f"Action {n}", show=False, id=f"app.decide_{n}")
            for n in range(1, 10)
        ],
        Binding("n", "next_unreviewed(1)", "Next", id="app.next_unreviewed"),
        Binding("N", "next_unreviewed(-1)", "Prev unreviewed", show=False, id="app.previous_unreviewed"),
        Binding("slash", "filter", "Filter", id="app.filter"),
        Binding("space", "mark", "Mark", show=False, id="app.mark"),
        Binding("F", "decide_file", "Decide file", show=False, id="app.file_decide"),
        Binding("u", "undo", "Undo", id="app.undo"),
        Binding("ctrl+r", "redo", "Redo", show=False, id="app.redo"),
        Binding("e", "note", "Note", show=False, id="app.note"),
        Binding("v", "groups", "Groups", id="app.groups"),
        Binding("f", "find_in_header", "Find tag", show=False, id="app.find_in_header"),
        Binding("left_square_bracket", "frame(-1)", "Prev frame", show=False, id="app.previous_frame"),
        Binding("right_square_bracket", "frame(1)", "Next frame", show=False, id="app.next_frame"),
        Binding("plus,equals_sign", "zoom(1)", "Zoom in", show=False, id="app.zoom_in"),
        Binding("0", "fit", "Fit", show=False, id="app.fit"),
        Binding("greater_than_sign", "header_match(1)", "Next t line/header match", show=False, id="app.header_next"),
        Binding("less_than_sign", "header_match(-1)", "Prev t line/header match", show=False, id="app.header_previous"),
        Binding("minus", "zoom(-1)", "Zoom out", show=False, id="app.zoom_out"),
        Binding("w", "window", "Window", show=False, id="app.window"),
        Binding("i", "invert", "Invert", show=False, id="app.invert"),
        Binding("o", "overlays", "Overlays", show=False, id="app.overlays"),
        Binding("p", "toggle_preview", "Preview", id="app.toggle_preview"),
        Binding("r", "read_text", "Read text", show=False, id="app.read_text"),
        Binding("t", "next_text_box", "Next text line, whole", show=False, id="app.next_text_box"),
        Binding("c", "pick_candidate", "Pick file", show=False, id="app.pick_candidate"),
        Binding("I", "identifying", "Identifying tags", show=False, id="app.identifying"),
        Binding("escape", "clear", "Clear filter/marks", show=False, id="app.clear"),
        *FixingKeys.FIXING_BINDINGS,
        *StandingKeys.STANDING_BINDINGS,
    ]

    def __init__(self, roots: list[Path], out_dir: Path | None = None) -> None:
        super().__init__()
        self._roots = roots
        self._out_dir = out_dir
        self.preview_on = True
        self.narrow_pane = {"pixels": "preview", "other": "header"}  # narrow: the pane a row's kind opens on; p flips it
        self.preview_shown: tuple[int | None, float] | None = None  # (finding, when) for benchmarks
        self.first_paint_at: float | None = None

    @property
    def review_app(self) -> "ReviewApp":
        return self.app  # type: ignore[return-value]

    @property
    def session(self) -> Any:
        return self.review_app.session

    @property
    def graphics(self) -> Any:
        return self.review_app.graphics

    # ----- layout -----------------------------------------------------------------
    def compose(self) -> ComposeResult:
        self.files = FileController(self, self._roots)
        self.ocr = OcrController(self)
        self.decisions = DecisionController(self)
        self.remedy = RemedyController(self, self._out_dir)
        self.fixes = FixController(self)
        self.split = SplitView(self)
        mode = self.graphics.mode
        cell = self.graphics.caps.cell_size or (10, 20)
        with Horizontal(id="main"):
            yield FindingsList(self.session.findings, is_marked=self.session.marks.__contains__,
                               actions=self.session.actions, id="findings")
            with Vertical(id="detail"):
                yield HeaderPane(id="header")
                yield PreviewPane(widget_class(mode) if mode != "none" else None, mode, cell, id="preview")
        yield Static("", id="status", markup=False)
        yield Footer(show_command_palette=False)  # ? lists ctrl+p; room for ? Keys and q Quit at 80x24

    def on_mount(self) -> None:
        findings = self.query_one(FindingsList)
        findings.focus()
        self.apply_size_class(self.app.size.width, self.app.size.height)
        self.update_status()
        for message in self.session.messages:
            self.notify(inert(message), markup=False, timeout=8)
        warning = getattr(self.graphics, "warning", "")
        if warning:  # a forced --graphics mode the probe did not confirm may print garbage: say so once
            self.notify(inert(warning), severity="warning", markup=False, timeout=10)
        self.files.start_index()
        self.call_after_refresh(self._first_paint)
        if findings.current is not None:
            self.files.schedule_load(findings.current, delay=0)
        self.second.start()  # review --second-pass: the decided rows, a confirms, d disputes

    def _first_paint(self) -> None:
        self.first_paint_at = time.monotonic()

    def on_resize(self, event: events.Resize) -> None:
        self.apply_size_class(event.size.width, event.size.height)

    def apply_size_class(self, width: int, height: int) -> None:
        self.set_class(width < NARROW_WIDTH or height < 30, "narrow")
        self.apply_preview_visibility()

    def apply_preview_visibility(self) -> None:
        preview = self.query_one(PreviewPane)
        header = self.query_one(HeaderPane)
        if self.has_class("narrow"):  # one detail pane at a time: pixel rows open on the image, p swaps
            preview.display = self.preview_on and self.narrow_pane[self._row_kind()] == "preview"
            header.display = not preview.display
        else:
            preview.display = self.preview_on
            header.display = not (preview.display and self.has_class("text-strip"))  # t's strip takes the column

    # ----- status -----------------------------------------------------------------
    def update_status(self) -> None:
        from phi_review.tui.widgets.status_words import save_words

        reviewed, total = self.session.progress()
        parts = [inert(self.session.report.path.name), f"{reviewed}/{total} reviewed"]
        if self.second.on:
            parts.append("SECOND PASS")
        if self.session.read_only:
            parts.append("READ-ONLY")
        else:
            parts.extend(save_words(self.session.unsaved, self.decisions.save_state))
        if self.session.marks:
            parts.append(f"{len(self.session.marks)} marked")
        if self.decisions.filter_text:
            shown = len(self.query_one(FindingsList).order)
            parts.append(f"filter '{self.decisions.filter_text}' ({shown})")
        loaded = self.files.current()
        if loaded is not None and loaded.path is not None:
            parts.append(self.display_path(loaded.path))
        elif self.files.file_index is None and not self.files.index_error:
            parts.append(f"indexing files… {self.files.index_count}")
        parts.append(self.graphics.mode)
        self.query_one("#status", Static).update(inert(" · ".join(parts)))

    def display_path(self, path: Path) -> str:
        """The file's path relative to the report's folder when it lies below it."""
        base = self.session.report.path.parent
        try:
            return str(path.resolve().relative_to(base.resolve()))
        except ValueError:
            return str(path)

    # ----- worker messages ------------------------------------------------------------
    def on_index_progress(self, message: IndexProgress) -> None:
        self.files.index_count = message.count
        self.update_status()

    def on_index_ready(self, message: IndexReady) -> None:
        self.files.index_ready(message)
        self.update_status()

    def on_findings_list_cursor_moved(self, message: FindingsList.CursorMoved) -> None:
        if message.index is not None:
            self.files.schedule_load(message.index)
            if self.has_class("narrow"):
                self.apply_preview_visibility()

    def on_file_loaded(self, message: FileLoaded) -> None:
        if self.files.file_loaded(message):
            self.show_loaded(message.finding_index, message.loaded, message.token)

    def on_preview_rendered(self, message: PreviewRendered) -> None:
        if not self.files.is_current_render(message):
            return  # a newer view was asked for meanwhile
        preview = self.query_one(PreviewPane)
        caption = " · ".join(part for part in (message.note, preview.caption()) if part)  # which side is which first
        if message.error:
            preview.show_message(f"No preview: {inert(message.error)}", caption)
        else:
            preview.show_image(message.image, caption)
            if message.note:
                self.split.refit()
        self.preview_shown = (self.files.current_index, time.monotonic())
        if self.files.current_index is not None:
            self.files.prefetch(self.files.current_index)

    def on_ocr_done(self, message: OcrDone) -> None:
        if self.ocr.done(message):
            # Render after the layout has made room for the text panel.
            self.call_after_refresh(self._render_after_ocr)

    def _render_after_ocr(self) -> None:
        self.ocr.mark_rendered()
        self.request_render()

    def on_preview_pane_view_changed(self, _message: PreviewPane.ViewChanged) -> None:
        self.ocr.show_panel()
        loaded = self.files.current()
        frame = self.query_one(PreviewPane).state.frame
        index = self.files.current_index
        if loaded is not None and loaded.path is not None and index is not None and self.is_pixel_finding(index):
            self.ocr.start(self.files.token, loaded.path, frame)
        self.request_render()

    # ----- showing a row ----------------------------------------------------------------
    def is_pixel_finding(self, index: int) -> bool:
        return is_pixel_issue(self.session.findings[index].issue)

    def show_loaded(self, index: int, loaded: LoadedFile, token: int) -> None:
        self.files.loaded[index] = loaded
        header = self.query_one(HeaderPane)
        preview = self.query_one(PreviewPane)
        finding = self.session.findings[index]
        context = [
            f"Row {finding.row}" + (f" of {inert(finding.source)}" if finding.source else "")
            + f" · {inert(finding.issue)} · detected: {inert(shown_value(finding)) or '-'}"
            + (f" · tag: {inert(finding.tag)}" if finding.tag else "")
            + f" · action: {inert(finding.action) if finding.action else 'unreviewed'}"
            + (f" by {inert(finding.reviewer)}" if finding.action and finding.reviewer else "")
            + (f" · second: {inert(finding.second_review)} by {inert(finding.second_reviewer)}"
               if finding.second_review else ""),
        ]
        cells = [f"{inert(name)}: {inert(text)}" for name, text in other_cells(self.session.report, finding)]
        short = [cell for cell in cells if len(cell) <= 40]  # Site, Event, Score, Profile: one line together
        if short:
            context.append(" · ".join(short))
        context += [cell for cell in cells if len(cell) > 40]  # Details and other long cells: whole, wrapped
        if loaded.note and loaded.path is not None:
            context.append(f"{inert(loaded.note)} (c chooses again)")
        elif index in self.files.candidates and loaded.path is not None:
            count = len(self.files.candidates[index])
            context.append(f"File chosen among {count} with this name: {inert(self.display_path(loaded.path))} "
                           "(c chooses again)")
        if finding.note:
            context.append(f"Note: {inert(finding.note)}")
        if finding.corrected_copy:
            context.append(f"Corrected copy: {inert(finding.corrected_copy)}")
        if loaded.path is None:
            extra = ""
            if loaded.candidates:
                extra = f"  Press c to choose among {len(loaded.candidates)} candidates."
            header.show_message(*context, f"⚠ {inert(loaded.message)}{extra}", "The row can still be decided.")
            preview.show_message(f"No preview: {inert(loaded.message)}")
            self.ocr.show_panel()
            self.update_status()
            return
        if not self.session.read_only:
            self.session.record_path(index, loaded.path)  # the audit record names the file shown
        messages = list(context)
        if loaded.header is not None and loaded.header.error:
            messages.append(f"⚠ {inert(loaded.header.error)}")
        if loaded.header is None:
            header.show_message(*messages, f"⚠ {inert(loaded.message)}")
        else:
            others = loaded.header.other_identifying()
            if others:
                shown = ", ".join(others[:6]) + (f" (+{len(others) - 6})" if len(others) > 6 else "")
                messages.append(f"Also identifying (•, I lists all): {shown}")
            header.show_rows(loaded.header.rows, messages)
        self.update_status()
        if loaded.info is None:
            preview.show_message(f"No preview: {inert(loaded.image_error or loaded.message)}")
            self.ocr.show_panel()
            self.files.prefetch(index)
            return
        preview.reset_for(loaded.info.frames)
        frame = first_frame(finding, loaded.info.frames)  # the frame the finding names, else the first
        if frame:
            preview.state = replace(preview.state, frame=frame)
        self.ocr.box = -1
        self.ocr.show_panel()
        if self.is_pixel_finding(index):
            self.ocr.schedule(token, loaded.path, frame)
        self.request_render()

    def request_render(self) -> None:
        if self.split.request():  # original and copy side by side (S)
            return
        loaded = self.files.current()
        boxes: list[Any] = []
        copy = self.remedy.view_path()
        if loaded is not None and loaded.path is not None:
            if copy is None:
                boxes = self.ocr.boxes_for(loaded.path, self.query_one(PreviewPane).state.frame)
            boxes += self.remedy.boxes_for(loaded.path)
        self.files.request_render(self.files.token, boxes, copy)

    def record_remedy(self, result: Any, what: str) -> None:
        """A corrected copy was written: its rows name it (Corrected Copy column) and the journal audits it."""
        if self.session.read_only:
            return
        original = str(result.original)
        # Only rows naming a file of that name can resolve to it: resolve those, not the whole report.
        name = Path(original).name.lower()
        wanted = {name, name.removesuffix(".dcm"), name + ".dcm"}
        named = [i for i, f in enumerate(self.session.findings)
                 if f.file.replace("\\", "/").rsplit("/", 1)[-1].lower() in wanted]
        rows = [i for i, path in self.remedy.row_paths(named).items() if str(path) == original]
        copy = self.display_path(Path(result.copy))
        try:
            changed = self.session.set_corrected_copy(rows, copy, result.record(action=what,
                                                                                reviewer=self.session.reviewer))
        except PhiReviewError as error:
            self.notify(f"Copy written, but not recorded in the report: {inert(error)}", severity="error",
                        markup=False)
            return
        self.decisions.save_state = "unsaved changes" if changed else self.decisions.save_state
        self.decisions.refresh_rows(changed)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # Keys typed after q (the app is leaving) must not open dialogs on a screen being torn down.
        return not getattr(self.app, "_exit", False)

    # ----- keys: decisions -----------------------------------------------------------
    def action_decide(self, position: int) -> None:
        if not self.second.digit(position):  # in a second pass a digit is the second reviewer's action
            self.decisions.decide_key(position)

    def action_decide_file(self) -> None:
        self.decisions.decide_file()

    def action_next_unreviewed(self, step: int) -> None:
        self.decisions.next_unreviewed(step)

    def action_mark(self) -> None:
        self.decisions.mark()

    def action_undo(self) -> None:
        self.decisions.undo_redo(redo=False)

    def action_redo(self) -> None:
        self.decisions.undo_redo(redo=True)

    def action_note(self) -> None:
        self.decisions.note()

    def action_filter(self) -> None:
        self.decisions.ask_filter()

    def apply_filter(self, text: str) -> None:
        self.decisions.apply_filter(text)

    def action_clear(self) -> None:
        self.decisions.clear()

    def action_groups(self) -> None:
        self.decisions.groups()

    def action_pick_candidate(self) -> None:
        self.files.pick_candidate()

    # ----- keys: header ---------------------------------------------------------------
    def on_header_pane_search_requested(self, _message: HeaderPane.SearchRequested) -> None:
        self.action_find_in_header()

    def action_find_in_header(self) -> None:
        header = self.query_one(HeaderPane)

        def apply(text: str | None) -> None:
            if text and not header.find(text):
                self.notify(f"Not in this header: {inert(text)}", severity="warning", markup=False)

        self.app.push_screen(
            AskTextScreen("Find in header", header.search_text, "Keyword, (gggg,eeee) or value. > and < step through matches."),
            apply,
        )

    def on_header_pane_value_requested(self, message: HeaderPane.ValueRequested) -> None:
        self.app.push_screen(TextScreen("Full value", message.text))

    def action_identifying(self) -> None:
        """Every attribute of this file that names or dates someone, with its whole value."""
        loaded = self.files.current()
        header = loaded.header if loaded is not None else None
        if loaded is None or header is None:
            self.notify("No header loaded for this row.", severity="warning")
            return
        lines = []
        parents: list[str] = []  # the sequence each nested item belongs to, by depth
        for row in header.rows:
            parents[row.depth:] = [row.keyword]
            if not row.identifying:
                continue
            within = " > ".join(p for p in parents[:row.depth] if not p.startswith("Item")) if row.depth else ""
            place = f"   (in {within})" if within else ""
            lines.append(f"{'  ' * row.depth}{'▶' if row.matched else '•'} {row.tag} {row.vr:<2} {row.keyword}: "
                         f"{row.full_value}{place}")
        text = "\n".join(lines) if lines else "No attribute that names or dates someone holds a value."
        name = inert(loaded.path.name) if loaded.path else "this file"
        self.app.push_screen(TextScreen(f"Identifying attributes in {name}",
                                        text + "\n\n▶ the flagged one · • the others (DICOM PS3.15 E.1-1 attributes)"))

    # ----- keys: preview --------------------------------------------------------------
    def _image_info(self) -> Any:
        loaded = self.files.current()
        return loaded.info if loaded is not None else None

    def action_frame(self, delta: int) -> None:
        info = self._image_info()
        if info is None:
            self.notify("No image on this row.", markup=False)
        elif info.frames <= 1:
            self.notify("This file has one frame.", markup=False)
        else:
            self.query_one(PreviewPane).step_frame(delta)

    def action_fit(self) -> None:
        self.query_one(PreviewPane).action_reset_view()

    def action_header_match(self, step: int) -> None:
        """> and < step through t's text lines while they show, else header matches (from the list too)."""
        header = self.query_one(HeaderPane)
        if not self.ocr.step_line(step):
            (header.action_next_match if step > 0 else header.action_previous_match)()

    def action_zoom(self, delta: int) -> None:
        self.query_one(PreviewPane).step_zoom(delta)

    def action_window(self) -> None:
        from phi_review.core.dicom.view import PRESETS

        self.query_one(PreviewPane).cycle_preset(tuple(PRESETS))

    def action_invert(self) -> None:
        self.query_one(PreviewPane).toggle_invert()

    def action_overlays(self) -> None:
        info = self._image_info()
        if info is not None and not info.has_overlays:
            self.notify("This file has no overlay planes.", markup=False)
            return
        self.query_one(PreviewPane).toggle_overlays()

    def _row_kind(self) -> str:
        index = self.query_one(FindingsList).current
        return "pixels" if index is not None and self.is_pixel_finding(index) else "other"

    def action_toggle_preview(self) -> None:
        if self.has_class("narrow"):
            kind = self._row_kind()
            self.narrow_pane[kind] = "header" if self.narrow_pane[kind] == "preview" else "preview"
            self.preview_on = True
        else:
            self.preview_on = not self.preview_on
        self.apply_preview_visibility()
        if self.query_one(PreviewPane).display:
            self.call_after_refresh(self.request_render)

    def action_read_text(self) -> None:
        self.ocr.read_text()

    def action_next_text_box(self) -> None:
        self.ocr.next_box()
