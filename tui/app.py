"""The review screen: findings list, header, preview, status; one keystroke per decision.

Handlers own all state. Slow work (indexing the file tree, reading a header,
decoding a frame) runs in thread workers that post messages back; workers never
touch widgets. Every message carries a token so a late result for a row the
reviewer has already left is dropped.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path
from typing import Any

from textual import events, work
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Footer, Static

from phi_review.core.common.errors import PhiReviewError
from phi_review.core.common.inert import inert
from phi_review.core.review.session import ReviewSession
from phi_review.tui.screens.dialogs import AskTextScreen, ConfirmScreen, PickScreen, TextScreen
from phi_review.tui.widgets.findings_list import FindingsList
from phi_review.tui.terminal.graphics import GraphicsChoice, widget_class
from phi_review.tui.screens.groups import GroupsScreen
from phi_review.tui.widgets.header_pane import HeaderPane
from phi_review.tui.screens.keys_help import help_text, review_commands
from phi_review.tui.review.file_loader import LoadedFile, load_file, render_frame_cached, render_view
from phi_review.tui.widgets.preview_pane import PreviewPane, ViewState

CURSOR_DEBOUNCE = 0.06  # seconds of quiet before loading the row under the cursor
PREFETCH_AHEAD = 2
OCR_DWELL = 0.5  # seconds on a pixel finding before its text is read
NARROW_WIDTH = 110
FILTER_HINT = (
    "Words must all match file, value, issue, tag, note or action.\n"
    "is:unreviewed  is:reviewed  is:marked  issue:pixels|header|missing  action:none|TEXT\n"
    "Empty clears the filter."
)


# ----- messages from workers ------------------------------------------------
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
    def __init__(self, token: int, finding_index: int, loaded: "LoadedFile") -> None:
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


class ReviewApp(App[None]):
    """Keyboard triage of a reconciliation report."""

    CSS_PATH = "review.tcss"
    TITLE = "phi-review"
    ENABLE_COMMAND_PALETTE = True

    BINDINGS = [
        *[
            Binding(str(n), f"decide({n})", f"Action {n}", show=False, id=f"app.decide_{n}")
            for n in range(1, 10)
        ],
        Binding("n", "next_unreviewed(1)", "Next unreviewed", id="app.next_unreviewed"),
        Binding("N", "next_unreviewed(-1)", "Prev unreviewed", show=False, id="app.previous_unreviewed"),
        Binding("slash", "filter", "Filter", id="app.filter"),
        Binding("space", "mark", "Mark", id="app.mark"),
        Binding("u", "undo", "Undo", id="app.undo"),
        Binding("ctrl+r", "redo", "Redo", show=False, id="app.redo"),
        Binding("e", "note", "Note", id="app.note"),
        Binding("ctrl+s", "save", "Save", id="app.save"),
        Binding("v", "groups", "Groups", id="app.groups"),
        Binding("f", "find_in_header", "Find tag", show=False, id="app.find_in_header"),
        Binding("left_square_bracket", "frame(-1)", "Prev frame", show=False, id="app.previous_frame"),
        Binding("right_square_bracket", "frame(1)", "Next frame", show=False, id="app.next_frame"),
        Binding("plus,equals_sign", "zoom(1)", "Zoom in", show=False, id="app.zoom_in"),
        Binding("minus", "zoom(-1)", "Zoom out", show=False, id="app.zoom_out"),
        Binding("w", "window", "Window", show=False, id="app.window"),
        Binding("i", "invert", "Invert", show=False, id="app.invert"),
        Binding("o", "overlays", "Overlays", show=False, id="app.overlays"),
        Binding("p", "toggle_preview", "Preview", id="app.toggle_preview"),
        Binding("r", "read_text", "Read text", show=False, id="app.read_text"),
        Binding("t", "next_text_box", "Next text box", show=False, id="app.next_text_box"),
        Binding("c", "pick_candidate", "Pick file", show=False, id="app.pick_candidate"),
        Binding("I", "identifying", "Identifying tags", show=False, id="app.identifying"),
        Binding("escape", "clear", "Clear filter/marks", show=False, id="app.clear"),
        Binding("question_mark,f1", "help", "Keys", id="app.help"),
        Binding("q", "quit_review", "Quit", id="app.quit"),
        Binding("ctrl+c", "quit_review", "Quit", show=False, priority=True, id="app.quit_ctrl_c"),
    ]

    def __init__(
        self,
        session: ReviewSession,
        *,
        roots: Iterable[Path] = (),
        graphics: GraphicsChoice | None = None,
        keymap: dict[str, str] | None = None,
    ) -> None:
        super().__init__()
        self.session = session
        self.roots = [Path(r) for r in roots] or [session.report.path.parent]
        self.graphics = graphics or GraphicsChoice("none", _no_caps(), "default")
        self.keymap = dict(keymap or {})
        self.file_index: Any = None
        self.index_error: str | None = None
        self.index_count = 0
        self.token = 0
        self.current_index: int | None = None
        self.loaded: dict[int, LoadedFile] = {}
        self.load_cache: OrderedDict[int, LoadedFile] = OrderedDict()
        self.chosen_paths: dict[int, Path] = {}
        self.filter_text = ""
        self.save_state = "not saved yet" if session.unsaved else "saved"
        self.preview_on = True
        self._debounce: Timer | None = None
        self._quit_armed = False
        self.render_cache: Any = None
        self.ocr_lines: dict[tuple[str, int], list[Any]] = {}
        self.ocr_errors: dict[tuple[str, int], str] = {}
        self.ocr_box = -1
        self.ocr_done_at = 0.0
        self.render_seq = 0
        self.started_at = time.monotonic()
        self.first_paint_at: float | None = None
        self.preview_shown: tuple[int | None, float] | None = None  # (finding, when) for benchmarks

    # ----- layout -------------------------------------------------------------
    def compose(self) -> ComposeResult:
        mode = self.graphics.mode
        cell = self.graphics.caps.cell_size or (10, 20)
        with Horizontal(id="main"):
            yield FindingsList(self.session.findings, is_marked=self.session.marks.__contains__,
                               actions=self.session.actions, id="findings")
            with Vertical(id="detail"):
                yield HeaderPane(id="header")
                yield PreviewPane(widget_class(mode) if mode != "none" else None, mode, cell, id="preview")
        yield Static("", id="status", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        if self.keymap:
            self.set_keymap(self.keymap)
        from phi_review.core.dicom.pixels import PreviewCache

        self.render_cache = PreviewCache()
        findings = self.query_one(FindingsList)
        findings.focus()
        self._apply_size_class()
        self._update_status()
        for message in self.session.messages:
            self.notify(inert(message), markup=False, timeout=8)
        self.build_index()
        self.call_after_refresh(self._first_paint)
        if findings.current is not None:
            self._schedule_load(findings.current, delay=0)

    def _first_paint(self) -> None:
        self.first_paint_at = time.monotonic()

    def on_resize(self, event: events.Resize) -> None:
        self._apply_size_class(event.size.width, event.size.height)

    def _apply_size_class(self, width: int | None = None, height: int | None = None) -> None:
        width = self.size.width if width is None else width
        height = self.size.height if height is None else height
        narrow = width < NARROW_WIDTH or height < 30
        self.screen.set_class(narrow, "narrow")
        self._apply_preview_visibility()

    def _apply_preview_visibility(self) -> None:
        narrow = self.screen.has_class("narrow")
        preview = self.query_one(PreviewPane)
        header = self.query_one(HeaderPane)
        if narrow:
            # One detail pane at a time: p swaps header and preview.
            preview.display = self.preview_on and self._preview_wanted_narrow
            header.display = not preview.display
        else:
            preview.display = self.preview_on
            header.display = True

    _preview_wanted_narrow = False

    # ----- status -------------------------------------------------------------
    def _update_status(self) -> None:
        reviewed, total = self.session.progress()
        parts = [f"{reviewed}/{total} reviewed"]
        if self.session.read_only:
            parts.append("READ-ONLY")
        else:
            parts.append(f"{self.session.unsaved} unsaved")
            parts.append(self.save_state)
        if self.session.marks:
            parts.append(f"{len(self.session.marks)} marked")
        if self.filter_text:
            shown = len(self.query_one(FindingsList).order)
            parts.append(f"filter '{self.filter_text}' ({shown})")
        loaded = self._current_loaded()
        if loaded is not None and loaded.path is not None:
            parts.append(self._display_path(loaded.path))
        elif self.file_index is None and not self.index_error:
            parts.append(f"indexing files… {self.index_count}")
        parts.append(self.graphics.mode)
        self.query_one("#status", Static).update(inert(" · ".join(parts)))

    def _display_path(self, path: Path) -> str:
        """The file's path relative to the report's folder when it lies below it."""
        base = self.session.report.path.parent
        try:
            return str(path.resolve().relative_to(base.resolve()))
        except ValueError:
            return str(path)

    # ----- file index -----------------------------------------------------------
    @work(thread=True, exclusive=True, group="index")
    def build_index(self) -> None:
        from phi_review.core.dicom.locate import FileIndex

        last = 0.0

        def progress(count: int) -> None:
            nonlocal last
            now = time.monotonic()
            if now - last > 0.25:
                last = now
                self.post_message(IndexProgress(count))

        try:
            index = FileIndex.build(self.roots, progress=progress)
        except (OSError, PhiReviewError) as error:
            self.post_message(IndexReady(None, str(error)))
            return
        self.post_message(IndexReady(index, None))

    def on_index_progress(self, message: IndexProgress) -> None:
        self.index_count = message.count
        self._update_status()

    def on_index_ready(self, message: IndexReady) -> None:
        self.file_index = message.index
        self.index_error = message.error
        if message.error:
            self.notify(f"Cannot index files: {inert(message.error)}", severity="error", markup=False)
        self._update_status()
        current = self.query_one(FindingsList).current
        if current is not None:
            self._schedule_load(current, delay=0)

    # ----- loading the row under the cursor --------------------------------------
    def on_findings_list_cursor_moved(self, message: FindingsList.CursorMoved) -> None:
        if message.index is not None:
            self._schedule_load(message.index)

    def _schedule_load(self, index: int, delay: float = CURSOR_DEBOUNCE) -> None:
        self.current_index = index
        self.token += 1
        if self._debounce is not None:
            self._debounce.stop()
        if index in self.load_cache:
            # Already known (prefetched): show the header at once, render after.
            self._show_loaded(index, self.load_cache[index], self.token)
            return
        header = self.query_one(HeaderPane)
        finding = self.session.findings[index]
        header.show_message(f"Loading {inert(finding.file)} …")
        if delay <= 0:
            self._start_load(index, self.token)
        else:
            token = self.token
            self._debounce = self.set_timer(delay, lambda: self._start_load(index, token))

    def _start_load(self, index: int, token: int) -> None:
        if token != self.token:
            return
        if self.file_index is None and self.index_error is None:
            self.query_one(HeaderPane).show_message(f"Indexing files under {', '.join(map(str, self.roots))} …")
            return
        self.load_in_worker(index, token)

    def _load_file_now(self, index: int) -> LoadedFile:
        return load_file(self.session.findings[index], self.file_index, self.chosen_paths.get(index), self.index_error)

    @work(thread=True, exclusive=True, group="load")
    def load_in_worker(self, index: int, token: int) -> None:
        try:
            loaded = self._load_file_now(index)
        except Exception as error:  # noqa: BLE001 - a bad file must never take the app down
            loaded = LoadedFile(None, [], f"cannot read file: {type(error).__name__}: {error}")
        self.post_message(FileLoaded(token, index, loaded))

    def on_file_loaded(self, message: FileLoaded) -> None:
        self._remember(message.finding_index, message.loaded)
        if message.token != self.token:
            return
        self._show_loaded(message.finding_index, message.loaded, message.token)

    def _remember(self, index: int, loaded: LoadedFile) -> None:
        self.load_cache[index] = loaded
        self.load_cache.move_to_end(index)
        while len(self.load_cache) > 64:
            self.load_cache.popitem(last=False)

    def _show_loaded(self, index: int, loaded: LoadedFile, token: int) -> None:
        self.loaded[index] = loaded
        header = self.query_one(HeaderPane)
        preview = self.query_one(PreviewPane)
        finding = self.session.findings[index]
        context = [
            f"Row {finding.row} · {inert(finding.issue)} · detected: {inert(finding.value) or '-'}"
            + (f" · tag: {inert(finding.tag)}" if finding.tag else ""),
        ]
        if finding.note:
            context.append(f"Note: {inert(finding.note)}")
        if loaded.path is None:
            extra = ""
            if loaded.candidates:
                extra = f"  Press c to choose among {len(loaded.candidates)} candidates."
            header.show_message(*context, f"⚠ {loaded.message}{extra}", "The row can still be decided.")
            preview.show_message(f"No preview: {inert(loaded.message)}")
            self._update_status()
            return
        messages = list(context)
        if loaded.header is not None and loaded.header.error:
            messages.append(f"⚠ {loaded.header.error}")
        if loaded.header is None:
            header.show_message(*messages, f"⚠ {loaded.message}")
        else:
            others = loaded.header.other_identifying()
            if others:
                shown = ", ".join(others[:6]) + (f" (+{len(others) - 6})" if len(others) > 6 else "")
                messages.append(f"Also identifying (•, I lists all): {shown}")
            header.show_rows(loaded.header.rows, messages)
        self._update_status()
        if loaded.info is None:
            preview.show_message(f"No preview: {inert(loaded.image_error or loaded.message)}")
            self._prefetch(index)
            return
        preview.reset_for(loaded.info.frames)
        self.ocr_box = -1
        self._show_ocr_panel()
        if self._is_pixel_finding(index):
            # OCR costs a core for a few hundred ms: start it once the reviewer stays on the row.
            path = loaded.path
            self.set_timer(OCR_DWELL, lambda: self._start_ocr(token, path, 0) if token == self.token else None)
        self._request_render(token)

    # ----- rendering -----------------------------------------------------------
    def _request_render(self, token: int) -> None:
        preview = self.query_one(PreviewPane)
        if not preview.display or self.graphics.mode == "none":
            if self.graphics.mode == "none":
                preview.show_message("Preview off (--graphics none).", preview.caption())
            if self.current_index is not None:
                self._prefetch(self.current_index)
            return
        loaded = self._current_loaded()
        if loaded is None or loaded.path is None or loaded.info is None:
            return
        lines = self.ocr_lines.get((str(loaded.path), preview.state.frame), [])
        boxes = [(line.box, line.likely_phi) for line in lines]
        self.render_seq += 1
        self.render_preview(token, loaded.path, preview.state, preview.pixel_box(), boxes, self.render_seq)

    def _render_now(self, path: Path, state: ViewState, box: tuple[int, int], boxes: list[Any] | None = None) -> Any:
        return render_view(self.render_cache, path, state, box, boxes)

    @work(thread=True, exclusive=True, group="render")
    def render_preview(self, token: int, path: Path, state: ViewState, box: tuple[int, int],
                       boxes: list[Any] | None = None, seq: int = 0) -> None:
        try:
            image = self._render_now(path, state, box, boxes)
        except PhiReviewError as error:
            self.post_message(PreviewRendered(token, None, str(error), seq=seq))
            return
        except Exception as error:  # noqa: BLE001 - a bad file must never take the app down
            self.post_message(PreviewRendered(token, None, f"cannot decode: {type(error).__name__}: {error}", seq=seq))
            return
        self.post_message(PreviewRendered(token, image, None, seq=seq))

    def on_preview_rendered(self, message: PreviewRendered) -> None:
        if message.token != self.token or message.seq < self.render_seq:
            return  # a newer view was asked for meanwhile
        preview = self.query_one(PreviewPane)
        if message.error:
            preview.show_message(f"No preview: {inert(message.error)}", preview.caption())
        else:
            preview.show_image(message.image, preview.caption())
        self.preview_shown = (self.current_index, time.monotonic())
        if self.current_index is not None:
            self._prefetch(self.current_index)

    def on_preview_pane_view_changed(self, _message: PreviewPane.ViewChanged) -> None:
        self._show_ocr_panel()
        loaded = self._current_loaded()
        frame = self.query_one(PreviewPane).state.frame
        if (loaded is not None and loaded.path is not None and self.current_index is not None
                and self._is_pixel_finding(self.current_index)):
            self._start_ocr(self.token, loaded.path, frame)
        self._request_render(self.token)

    # ----- burned-in text (OCR) ------------------------------------------------------
    def _is_pixel_finding(self, index: int) -> bool:
        issue = self.session.findings[index].issue.lower()
        return "pixel" in issue or "burn" in issue

    def _start_ocr(self, token: int, path: Path, frame: int) -> None:
        from phi_review.core.ocr.engine import ocr_available

        key = (str(path), frame)
        if key in self.ocr_lines or key in self.ocr_errors:
            return
        if not ocr_available():
            self.ocr_errors[key] = "OCR is not installed: pip install 'phi-review[ocr]'"
            self._show_ocr_panel()
            return
        loaded = self._current_loaded()
        values = dict(getattr(loaded.header, "values", {}) or {}) if loaded is not None and loaded.header else {}
        value = self.session.findings[self.current_index].value if self.current_index is not None else ""
        self.query_one(PreviewPane).show_text_lines(f"Reading text in frame {frame + 1}…")
        self.run_ocr(token, path, frame, values, value)

    @work(thread=True, exclusive=True, group="ocr")
    def run_ocr(self, token: int, path: Path, frame: int, values: dict[str, str], value: str) -> None:
        from phi_review.core.ocr.engine import ocr_frame
        from phi_review.core.ocr.phi_match import phi_terms

        key = (str(path), frame)
        try:
            lines = ocr_frame(path, frame, phi_terms(values, value))
        except PhiReviewError as error:
            self.post_message(OcrDone(token, key, None, str(error)))
            return
        except Exception as error:  # noqa: BLE001 - OCR must never take the review down
            self.post_message(OcrDone(token, key, None, f"OCR failed: {type(error).__name__}"))
            return
        self.post_message(OcrDone(token, key, lines, None))

    def on_ocr_done(self, message: OcrDone) -> None:
        if message.lines is not None:
            self.ocr_lines[message.key] = message.lines
        else:
            self.ocr_errors[message.key] = message.error or "OCR failed"
        loaded = self._current_loaded()
        preview = self.query_one(PreviewPane)
        if loaded is not None and loaded.path is not None and message.key == (str(loaded.path), preview.state.frame):
            self._show_ocr_panel()
            # Render after the layout has made room for the text panel.
            self.call_after_refresh(self._render_after_ocr)

    def _render_after_ocr(self) -> None:
        self.ocr_done_at = time.monotonic()
        self._request_render(self.token)

    def _current_ocr_key(self) -> tuple[str, int] | None:
        loaded = self._current_loaded()
        if loaded is None or loaded.path is None:
            return None
        return (str(loaded.path), self.query_one(PreviewPane).state.frame)

    def _show_ocr_panel(self) -> None:
        preview = self.query_one(PreviewPane)
        key = self._current_ocr_key()
        if key is None:
            preview.show_text_lines("")
            return
        if key in self.ocr_errors:
            preview.show_text_lines(inert(self.ocr_errors[key]))
            return
        lines = self.ocr_lines.get(key)
        if lines is None:
            preview.show_text_lines("")
            return
        if not lines:
            preview.show_text_lines(f"Text in frame {key[1] + 1}: none found")
            return
        phi = sum(1 for line in lines if line.likely_phi)
        rows = [f"Text in frame {key[1] + 1}: {len(lines)} line(s), {phi} likely PHI · t: zoom to each"]
        loaded = self._current_loaded()
        values = getattr(getattr(loaded, "header", None), "values", {}) or {}
        flags = [f"{name}={inert(values[name])}" for name in
                 ("BurnedInAnnotation", "RecognizableVisualFeatures", "Modality", "ImageType") if name in values]
        if flags:
            rows.append("Header: " + " · ".join(flags))
        for n, line in enumerate(lines):
            pointer = "▶" if n == self.ocr_box else " "
            flag = f"  LIKELY PHI ({line.reason})" if line.likely_phi else ""
            rows.append(f"{pointer} {line.text}  [{line.confidence:.2f}]{flag}")
        preview.show_text_lines("\n".join(rows))

    def action_read_text(self) -> None:
        loaded = self._current_loaded()
        if loaded is None or loaded.path is None or loaded.info is None:
            self.notify("No image to read text from.", markup=False)
            return
        frame = self.query_one(PreviewPane).state.frame
        self.ocr_errors.pop((str(loaded.path), frame), None)
        self._start_ocr(self.token, loaded.path, frame)

    def action_next_text_box(self) -> None:
        key = self._current_ocr_key()
        lines = self.ocr_lines.get(key) if key else None
        loaded = self._current_loaded()
        if not lines or loaded is None or loaded.info is None:
            self.notify("No text boxes here (r reads the text of this frame).", markup=False)
            return
        self.ocr_box = (self.ocr_box + 1) % len(lines)
        x0, y0, x1, y1 = lines[self.ocr_box].box
        width, height = loaded.info.columns, loaded.info.rows
        zoom = max(1.0, 0.8 * min(width / max(1, x1 - x0 + 8), height / max(1, y1 - y0 + 8)))
        center = ((x0 + x1) / 2 / width, (y0 + y1) / 2 / height)
        self.query_one(PreviewPane).zoom_to(min(zoom, 32.0), center)
        self._show_ocr_panel()

    def _prefetch(self, index: int) -> None:
        findings = self.query_one(FindingsList)
        position = findings.position_of(index)
        if position is None:
            return
        upcoming = findings.order[position + 1 : position + 1 + PREFETCH_AHEAD]
        wanted = [i for i in upcoming if i not in self.load_cache]
        preview = self.query_one(PreviewPane)
        if upcoming and self.file_index is not None:
            self.prefetch(upcoming, wanted, preview.state, self.graphics.mode != "none" and preview.display)

    @work(thread=True, exclusive=True, group="prefetch")
    def prefetch(self, upcoming: list[int], wanted: list[int], state: ViewState, render: bool) -> None:
        for index in upcoming:
            loaded = self.load_cache.get(index)
            if index in wanted:
                try:
                    loaded = self._load_file_now(index)
                except Exception:  # noqa: BLE001 - prefetch is best effort
                    continue
                self.post_message(FileLoaded(-1, index, loaded))
            if not render or loaded is None or loaded.path is None or loaded.info is None:
                continue
            try:
                render_frame_cached(self.render_cache, loaded.path, replace(state, frame=0))
            except Exception:  # noqa: BLE001 - the real load will report it
                continue

    # ----- decisions -------------------------------------------------------------
    def _refresh_rows(self, indexes: Iterable[int]) -> None:
        findings = self.query_one(FindingsList)
        for index in indexes:
            findings.refresh_index(index)
        self._update_status()

    def _writable_action(self, position: int) -> str | None:
        """The action at ``position`` if decisions can be recorded now, else None (and say why)."""
        if self._refuse_if_read_only():
            return None
        try:
            return self.session.action_by_position(position)
        except PhiReviewError as error:
            self.notify(inert(error), severity="warning", markup=False)
            return None

    def action_decide(self, position: int) -> None:
        action = self._writable_action(position)
        if action is None:
            return
        findings = self.query_one(FindingsList)
        if self.session.marks:
            targets = sorted(self.session.marks)
            question = f"Set {len(targets)} marked rows to '{action}'?"

            def apply(yes: bool | None) -> None:
                if yes:
                    self._decide(targets, action)
                    self.session.clear_marks()
                    findings.refresh()
                    self._update_status()

            self.push_screen(ConfirmScreen(question), apply)
            return
        current = findings.current
        if current is None:
            return
        self._decide([current], action)
        self._advance_to_unreviewed()

    def _decide(self, indexes: list[int], action: str) -> bool:
        try:
            changed = self.session.decide(indexes, action)
        except PhiReviewError as error:
            self.notify(inert(error), severity="error", markup=False)
            return False
        self.save_state = "unsaved changes"
        self._refresh_rows(changed)
        return True

    def _advance_to_unreviewed(self) -> None:
        findings = self.query_one(FindingsList)
        position = self.session.next_unreviewed(findings.order, findings.cursor, 1)
        if position is None:
            reviewed, total = self.session.progress()
            self.notify(f"All shown rows are reviewed ({reviewed}/{total}). Ctrl+S saves.", markup=False)
            if findings.cursor < len(findings.order) - 1:
                findings.cursor += 1
            return
        findings.cursor = position

    def action_next_unreviewed(self, step: int) -> None:
        findings = self.query_one(FindingsList)
        position = self.session.next_unreviewed(findings.order, findings.cursor, step)
        if position is None:
            self.notify("No unreviewed rows in this view.", markup=False)
        else:
            findings.cursor = position

    def action_mark(self) -> None:
        findings = self.query_one(FindingsList)
        current = findings.current
        if current is None:
            return
        self.session.toggle_mark(current)
        findings.refresh_index(current)
        if findings.cursor < len(findings.order) - 1:
            findings.cursor += 1
        self._update_status()

    def action_undo(self) -> None:
        self._undo_redo(self.session.undo, "Nothing to undo.")

    def action_redo(self) -> None:
        self._undo_redo(self.session.redo, "Nothing to redo.")

    def _undo_redo(self, step: Any, empty: str) -> None:
        if self._refuse_if_read_only():
            return
        try:
            changed = step()
        except PhiReviewError as error:
            self.notify(inert(error), severity="error", markup=False)
            return
        if not changed:
            self.notify(empty, markup=False)
            return
        self.save_state = "unsaved changes"
        self._refresh_rows(changed)
        self.query_one(FindingsList).move_to(changed[0])

    def action_note(self) -> None:
        if self._refuse_if_read_only():
            return
        current = self.query_one(FindingsList).current
        if current is None:
            return
        finding = self.session.findings[current]

        def apply(text: str | None) -> None:
            if text is None or text == finding.note:
                return
            try:
                self.session.set_note(current, text)
            except PhiReviewError as error:
                self.notify(inert(error), severity="error", markup=False)
                return
            self.save_state = "unsaved changes"
            self._refresh_rows([current])
            self._schedule_load(current, delay=0)

        self.push_screen(
            AskTextScreen(f"Note for row {finding.row}", finding.note, "Enter saves the note, Esc cancels."),
            apply,
        )

    def _refuse_if_read_only(self) -> bool:
        if self.session.read_only:
            self.notify("This report is open read-only: decisions cannot be recorded.", severity="warning", markup=False)
            return True
        return False

    # ----- filter & groups ---------------------------------------------------------
    def action_filter(self) -> None:
        def apply(text: str | None) -> None:
            if text is not None:
                self.apply_filter(text)

        self.push_screen(AskTextScreen("Filter rows", self.filter_text, FILTER_HINT, "e.g. is:unreviewed issue:pixels"), apply)

    def apply_filter(self, text: str) -> None:
        findings = self.query_one(FindingsList)
        keep = findings.current
        self.filter_text = text.strip()
        order = self.session.filter(self.filter_text) if self.filter_text else list(range(len(self.session.findings)))
        findings.set_order(order, keep=keep)
        if not order:
            self.notify("No rows match this filter (Esc clears it).", severity="warning", markup=False)
        self._update_status()

    def action_clear(self) -> None:
        if self.session.marks:
            self.session.clear_marks()
            self.query_one(FindingsList).refresh()
            self._update_status()
        elif self.filter_text:
            self.apply_filter("")

    def action_groups(self) -> None:
        self.push_screen(GroupsScreen(self.session.groups, self.session.actions, self._decide_group, self._show_group))

    def _decide_group(self, group: Any, position: int) -> None:
        action = self._writable_action(position)
        if action is None:
            return
        count = len(group.indexes)
        question = f"Set all {count} rows of '{inert(group.value) or '(empty)'}' ({inert(group.issue)}) to '{action}'?"

        def apply(yes: bool | None) -> None:
            if yes and self._decide(list(group.indexes), action):
                self.notify(f"{count} rows set to '{action}'.", markup=False)
                if isinstance(self.screen, GroupsScreen):
                    self.screen.reload()

        self.push_screen(ConfirmScreen(question), apply)

    def _show_group(self, group: Any) -> None:
        findings = self.query_one(FindingsList)
        self.filter_text = f"group: {inert(group.value)[:30]}"
        findings.set_order(list(group.indexes), keep=findings.current)
        self._update_status()

    # ----- header search / candidates -------------------------------------------------
    def on_header_pane_search_requested(self, _message: HeaderPane.SearchRequested) -> None:
        self.action_find_in_header()

    def action_find_in_header(self) -> None:
        header = self.query_one(HeaderPane)

        def apply(text: str | None) -> None:
            if text and not header.find(text):
                self.notify(f"Not in this header: {inert(text)}", severity="warning", markup=False)

        self.push_screen(
            AskTextScreen("Find in header", header.search_text, "Keyword, (gggg,eeee) or value. > and < step through matches."),
            apply,
        )

    def on_header_pane_value_requested(self, message: HeaderPane.ValueRequested) -> None:
        self.push_screen(TextScreen("Full value", message.text))

    def action_pick_candidate(self) -> None:
        index = self.current_index
        loaded = self.loaded.get(index) if index is not None else None
        if index is None or loaded is None or not loaded.candidates:
            self.notify("This row's file name is not ambiguous.", markup=False)
            return
        candidates = loaded.candidates

        def apply(choice: int | None) -> None:
            if choice is not None:
                self.chosen_paths[index] = candidates[choice]
                self.load_cache.pop(index, None)
                self._schedule_load(index, delay=0)

        self.push_screen(PickScreen("Which file is meant?", [str(c) for c in candidates]), apply)

    # ----- preview keys --------------------------------------------------------------
    def action_frame(self, delta: int) -> None:
        self.query_one(PreviewPane).step_frame(delta)

    def action_zoom(self, delta: int) -> None:
        self.query_one(PreviewPane).step_zoom(delta)

    def action_window(self) -> None:
        from phi_review.core.dicom.pixels import PRESETS

        self.query_one(PreviewPane).cycle_preset(tuple(PRESETS))

    def action_invert(self) -> None:
        self.query_one(PreviewPane).toggle_invert()

    def action_overlays(self) -> None:
        self.query_one(PreviewPane).toggle_overlays()

    def action_toggle_preview(self) -> None:
        if self.screen.has_class("narrow"):
            self._preview_wanted_narrow = not self._preview_wanted_narrow
            self.preview_on = True
        else:
            self.preview_on = not self.preview_on
        self._apply_preview_visibility()
        if self.query_one(PreviewPane).display:
            self.call_after_refresh(self._request_render, self.token)

    # ----- save & quit -----------------------------------------------------------------
    def action_save(self) -> bool:
        if self.session.read_only:
            self.notify("Read-only: nothing to save.", markup=False)
            return True
        if not self.session.unsaved:
            self.notify("Nothing to save: the report already holds every decision.", markup=False)
            return True
        count = self.session.unsaved
        try:
            warnings = self.session.save()
        except PhiReviewError as error:
            self.save_state = "SAVE FAILED"
            self._update_status()
            self.notify(
                f"Save failed: {inert(error)}",
                severity="error",
                timeout=15,
                markup=False,
            )
            return False
        self.save_state = f"saved {time.strftime('%H:%M:%S')}"
        self._update_status()
        self.notify(f"Saved {count} changed rows to {inert(self.session.report.path.name)}.", markup=False)
        for warning in warnings:
            self.notify(inert(warning), severity="warning", timeout=10, markup=False)
        return True

    def action_quit_review(self) -> None:
        if self.session.read_only or not self.session.unsaved:
            self.exit()
            return
        if self._quit_armed:
            self.exit()
            return
        if self.action_save():
            self.exit()
            return
        self._quit_armed = True
        self.notify(
            "Not saved. Press q again to quit anyway: every decision stays in the journal and is recovered next time.",
            severity="warning",
            timeout=15,
            markup=False,
        )

    # ----- help & palette --------------------------------------------------------------
    def help_text(self) -> str:
        return help_text(self)

    def _current_loaded(self) -> LoadedFile | None:
        """What was loaded for the row under the cursor (None while it loads or with no row)."""
        return self.loaded.get(self.current_index) if self.current_index is not None else None

    def action_identifying(self) -> None:
        """Every attribute of this file that names or dates someone, with its whole value."""
        loaded = self._current_loaded()
        header = loaded.header if loaded is not None else None
        if header is None:
            self.notify("No header loaded for this row.", severity="warning")
            return
        rows = [r for r in header.rows if r.identifying]
        lines = [f"{'▶' if r.matched else '•'} {r.tag} {r.vr:<2} {r.keyword}: {r.full_value}" for r in rows]
        text = "\n".join(lines) if lines else "No attribute that names or dates someone holds a value."
        self.push_screen(TextScreen(f"Identifying attributes in {loaded.path.name if loaded.path else 'this file'}",
                                    text + "\n\n▶ the flagged one · • the others (DICOM PS3.15 E.1-1 attributes)"))

    def action_help(self) -> None:
        self.push_screen(TextScreen("phi-review keys", self.help_text()))

    # Actions on "the current row" or its preview: only the review screen has one.
    # Elsewhere (groups view, help) their keys would act on a row the reviewer cannot see.
    MAIN_SCREEN_ACTIONS = frozenset({
        "decide", "next_unreviewed", "filter", "mark", "undo", "redo", "note", "groups", "find_in_header",
        "frame", "zoom", "window", "invert", "overlays", "toggle_preview", "read_text", "next_text_box",
        "pick_candidate", "clear", "identifying",
    })

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in self.MAIN_SCREEN_ACTIONS and len(self.screen_stack) > 1:
            return False  # a dialog or the groups view is on top
        return True

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        # No screenshot command: a screenshot of this screen is a file full of PHI.
        for command in super().get_system_commands(screen):
            if command.title.lower() != "screenshot":
                yield command
        if screen is self.screen and not isinstance(screen, GroupsScreen):
            yield from review_commands(self)


def _no_caps() -> Any:
    from phi_review.tui.terminal.graphics import TerminalCaps

    return TerminalCaps()
