"""The file side of the review screen: index the tree, load the row's file, render and prefetch frames.

Slow work runs in thread workers started on the screen; they post messages
(messages.py) and never touch widgets. The screen's handlers call back into
this controller on the main thread.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from phi_review.core.common.errors import PhiReviewError
from phi_review.core.common.inert import inert
from phi_review.tui.review.compare import SPLIT_CAPTION, render_split, separator
from phi_review.tui.review.file_loader import LoadedFile, load_file, render_frame_cached, render_view
from phi_review.tui.review.messages import FileLoaded, IndexProgress, IndexReady, PreviewRendered
from phi_review.tui.widgets.findings_list import FindingsList
from phi_review.tui.widgets.header_pane import HeaderPane
from phi_review.tui.widgets.preview_pane import PreviewPane, ViewState

if TYPE_CHECKING:
    from phi_review.tui.review.screen import ReviewScreen

CURSOR_DEBOUNCE = 0.06  # seconds of quiet before loading the row under the cursor
PREFETCH_AHEAD = 2
LOAD_CACHE_SIZE = 64


class FileController:
    """Which file each row shows, loaded once, rendered on demand, prefetched ahead of the cursor."""

    def __init__(self, screen: "ReviewScreen", roots: list[Path]) -> None:
        self.screen = screen
        self.roots = roots
        self.file_index: Any = None
        self.index_error: str | None = None
        self.index_count = 0
        self.token = 0
        self.current_index: int | None = None
        self.loaded: dict[int, LoadedFile] = {}
        self.load_cache: OrderedDict[int, LoadedFile] = OrderedDict()
        self.chosen_paths: dict[int, Path] = {}
        self.candidates: dict[int, list[Path]] = {}  # kept after a pick, so the reviewer can choose again
        self.elsewhere: set[int] = set()  # rows whose candidates contradict where the report says the file is
        self.render_cache: Any = None
        self.render_seq = 0
        self.render_box: tuple[int, int] | None = None  # the pixel box the latest render was asked for
        self._debounce: Any = None

    @property
    def session(self) -> Any:
        return self.screen.session

    def current(self) -> LoadedFile | None:
        """What was loaded for the row under the cursor (None while it loads or with no row)."""
        return self.loaded.get(self.current_index) if self.current_index is not None else None

    # ----- index ----------------------------------------------------------------
    def start_index(self) -> None:
        self.screen.run_worker(self._build_index, thread=True, exclusive=True, group="index")

    def _build_index(self) -> None:
        from phi_review.core.dicom.locate import FileIndex

        last = 0.0

        def progress(count: int) -> None:
            nonlocal last
            now = time.monotonic()
            if now - last > 0.25:
                last = now
                self.screen.post_message(IndexProgress(count))

        try:
            out_dir = getattr(getattr(self.screen, "remedy", None), "out_dir", None)  # corrected copies: never originals
            from phi_review.core.scan.links import scan_links

            report = getattr(getattr(self.session, "report", None), "path", None)
            links = scan_links(Path(report), self.roots) if report is not None else {}  # what a scan of them read
            index = FileIndex.build(self.roots, progress=progress, exclude=[out_dir] if out_dir is not None else [],
                                    links=links)
        except (OSError, PhiReviewError) as error:
            self.screen.post_message(IndexReady(None, str(error)))
            return
        self.screen.post_message(IndexReady(index, None))

    def index_ready(self, message: IndexReady) -> None:
        self.file_index = message.index
        self.index_error = message.error
        if message.error:
            self.screen.notify(f"Cannot index files: {inert(message.error)}", severity="error", markup=False)
        current = self.screen.query_one(FindingsList).current
        if current is not None:
            self.schedule_load(current, delay=0)

    # ----- loading the row under the cursor ---------------------------------------
    def schedule_load(self, index: int, delay: float = CURSOR_DEBOUNCE) -> None:
        self.current_index = index
        self.token += 1
        if self._debounce is not None:
            self._debounce.stop()
        if index in self.load_cache:
            # Already known (prefetched): show the header at once, render after.
            self.screen.show_loaded(index, self.load_cache[index], self.token)
            return
        finding = self.session.findings[index]
        self.screen.query_one(HeaderPane).show_message(f"Loading {inert(finding.file)} …")
        if delay <= 0:
            self._start_load(index, self.token)
        else:
            token = self.token
            self._debounce = self.screen.set_timer(delay, lambda: self._start_load(index, token))

    def _start_load(self, index: int, token: int) -> None:
        if token != self.token:
            return
        if self.file_index is None and self.index_error is None:
            roots = ", ".join(inert(str(r)) for r in self.roots)
            self.screen.query_one(HeaderPane).show_message(f"Indexing files under {roots} …")
            return
        self.screen.run_worker(partial(self._load_in_worker, index, token), thread=True, exclusive=True, group="load")

    def load_now(self, index: int) -> LoadedFile:
        finding = self.session.findings[index]
        chosen = self.chosen_paths.get(index)
        loaded = load_file(finding, self.file_index, chosen, self.index_error)
        if chosen is not None and index in self.elsewhere and loaded.path is not None:
            from phi_review.core.dicom.locate import place_of

            where = place_of(finding.file, finding.site, finding.event)
            loaded.note = f"Chosen by you, not where the report says ({where}): {inert(chosen)}"
        return loaded

    def _load_in_worker(self, index: int, token: int) -> None:
        from textual.worker import get_current_worker

        if get_current_worker().is_cancelled or token != self.token:
            return  # the reviewer already left this row
        try:
            loaded = self.load_now(index)
        except Exception as error:  # noqa: BLE001 - a bad file must never take the app down
            loaded = LoadedFile(None, [], f"cannot read file: {type(error).__name__}: {error}")
        self.screen.post_message(FileLoaded(token, index, loaded))

    def file_loaded(self, message: FileLoaded) -> bool:
        """Remember a loaded file; True when it is for the row on screen now."""
        if message.loaded.candidates:
            self.candidates[message.finding_index] = list(message.loaded.candidates)
            if message.loaded.elsewhere:
                self.elsewhere.add(message.finding_index)
        self.remember(message.finding_index, message.loaded)
        return message.token == self.token

    def remember(self, index: int, loaded: LoadedFile) -> None:
        self.load_cache[index] = loaded
        self.load_cache.move_to_end(index)
        while len(self.load_cache) > LOAD_CACHE_SIZE:
            self.load_cache.popitem(last=False)

    def forget(self, index: int) -> None:
        self.load_cache.pop(index, None)
        self.loaded.pop(index, None)

    # ----- rendering --------------------------------------------------------------
    def request_render(self, token: int, boxes: list[Any], path: Path | None = None,
                       split: tuple[Path, list[Any]] | None = None) -> None:
        """Render the row's frame (or ``path``, e.g. its corrected copy) with these boxes drawn.

        ``split``: (corrected copy, its boxes) to draw beside the original (``S``), in one image.
        """
        preview = self.screen.query_one(PreviewPane)
        mode = self.screen.graphics.mode
        if not preview.display or mode == "none":
            if mode == "none":
                from phi_review.tui.terminal.graphics import preview_off

                preview.show_message(preview_off(self.screen.graphics), preview.caption())
            if self.current_index is not None:
                self.prefetch(self.current_index)
            return
        loaded = self.current()
        if loaded is None or loaded.path is None or loaded.info is None:
            return
        self._ensure_cache()
        self.render_seq += 1
        self.render_box = preview.pixel_box()
        if split is not None:
            gap = separator(preview.mode, preview.cell_size)
            render = partial(render_split, self.render_cache, loaded.path, split[0], preview.state,
                             preview.pixel_box(), boxes, split[1], gap)
            note = SPLIT_CAPTION
        else:
            render = partial(self.render_now, path or loaded.path, preview.state, preview.pixel_box(), boxes)
            note = ""
        work = partial(self._render_in_worker, token, render, self.render_seq, note)
        self.screen.run_worker(work, thread=True, exclusive=True, group="render")

    def _ensure_cache(self) -> None:
        """The frame cache, made at the first render: its module pulls in pydicom and numpy,
        which the first paint of the list does not need."""
        if self.render_cache is None:
            from phi_review.core.dicom.view import PreviewCache

            self.render_cache = PreviewCache()

    def render_now(self, path: Path, state: ViewState, box: tuple[int, int], boxes: list[Any] | None = None) -> Any:
        return render_view(self.render_cache, path, state, box, boxes)

    def _render_in_worker(self, token: int, render: Callable[[], Any], seq: int, note: str = "") -> None:
        try:
            image = render()
        except PhiReviewError as error:
            self.screen.post_message(PreviewRendered(token, None, str(error), note=note, seq=seq))
            return
        except Exception as error:  # noqa: BLE001 - a bad file must never take the app down
            self.screen.post_message(PreviewRendered(token, None, f"cannot decode: {type(error).__name__}: {error}",
                                                     note=note, seq=seq))
            return
        self.screen.post_message(PreviewRendered(token, image, None, note=note, seq=seq))

    def is_current_render(self, message: PreviewRendered) -> bool:
        return message.token == self.token and message.seq >= self.render_seq

    # ----- prefetch ---------------------------------------------------------------
    def prefetch(self, index: int) -> None:
        findings = self.screen.query_one(FindingsList)
        position = findings.position_of(index)
        if position is None:
            return
        upcoming = findings.order[position + 1 : position + 1 + PREFETCH_AHEAD]
        wanted = [i for i in upcoming if i not in self.load_cache]
        preview = self.screen.query_one(PreviewPane)
        if upcoming and self.file_index is not None:
            render = self.screen.graphics.mode != "none" and preview.display
            if render:
                self._ensure_cache()
            work = partial(self._prefetch_in_worker, upcoming, wanted, preview.state, render)
            self.screen.run_worker(work, thread=True, exclusive=True, group="prefetch")

    def _prefetch_in_worker(self, upcoming: list[int], wanted: list[int], state: ViewState, render: bool) -> None:
        from textual.worker import get_current_worker

        worker = get_current_worker()
        for index in upcoming:
            if worker.is_cancelled:
                return  # the reviewer moved on: a newer prefetch replaced this one
            loaded = self.load_cache.get(index)
            if index in wanted:
                try:
                    loaded = self.load_now(index)
                except Exception:  # noqa: BLE001 - prefetch is best effort
                    continue
                self.screen.post_message(FileLoaded(-1, index, loaded))
            if not render or loaded is None or loaded.path is None or loaded.info is None:
                continue
            try:
                render_frame_cached(self.render_cache, loaded.path, replace(state, frame=0))
            except Exception:  # noqa: BLE001 - the real load will report it
                continue

    # ----- ambiguous names --------------------------------------------------------
    def pick_candidate(self) -> None:
        """c: choose the row's file among its candidates; each shown with the identifying values that differ.

        The values are read in a worker (headers of the few candidates, all under the roots).
        """
        index = self.current_index
        candidates = self.candidates.get(index, []) if index is not None else []
        if index is None or not candidates:
            self.screen.notify("This row's file name is not ambiguous.", markup=False)
            return
        self.screen.run_worker(partial(self._pick_values_in_worker, index, list(candidates)), thread=True,
                               exclusive=True, group="pick")

    def _pick_values_in_worker(self, index: int, candidates: list[Path]) -> None:
        from phi_review.core.dicom.locate_values import candidate_values
        from phi_review.core.report.pointer import pointer_of

        try:
            values = candidate_values(candidates, pointer_of(self.session.findings[index]).tags)
        except Exception:  # noqa: BLE001 - the chooser still opens, with paths only
            values = {}
        self.screen.app.call_from_thread(self._show_pick, index, candidates, values)

    def _show_pick(self, index: int, candidates: list[Path], values: dict[Path, list[tuple[str, str]]]) -> None:
        from phi_review.core.dicom.locate import place_of
        from phi_review.tui.screens.file_pick import FilePickScreen

        if index != self.current_index:
            return  # the reviewer moved on while the values were read
        shown = self.loaded.get(index)
        chosen = self.chosen_paths.get(index) or (shown.path if shown is not None else None)
        current = candidates.index(chosen) if chosen in candidates else None
        if index in self.elsewhere:
            finding = self.session.findings[index]
            title = (f"Not where the report says ({place_of(finding.file, finding.site, finding.event)}). "
                     "Pick one only if you know it is this row's file:")
            hint = "Your pick is recorded with the row's decision. Esc: keep none."
        else:
            title = "Which file is meant? (c chooses again at any time)"
            hint = "Under each file: the identifying values that differ between them."

        def apply(choice: int | None) -> None:
            if choice is not None:
                self.chosen_paths[index] = candidates[choice]
                self.load_cache.pop(index, None)
                self.schedule_load(index, delay=0)

        labels = [str(self.screen.display_path(c)) for c in candidates]
        self.screen.app.push_screen(FilePickScreen(title, labels, [values.get(c, []) for c in candidates],
                                                   current, hint), apply)
