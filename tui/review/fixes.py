"""Fixing headers from the review screen: a per-tag edit, the Basic Profile, every distinct value, the diff.

Every change goes into the same corrected copy as a pixel blackout (an existing
copy is edited again, so a file keeps one copy), is counted and confirmed
before it is written, and is written by ``core.remedy`` in a worker.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from textual.message import Message

from phi_review.core.common.errors import PhiReviewError
from phi_review.core.common.inert import inert
from phi_review.tui.screens.dialogs import AskTextScreen, ConfirmScreen, PickScreen, TextScreen
from phi_review.tui.widgets.header_pane import HeaderPane

if TYPE_CHECKING:
    from phi_review.tui.review.screen import ReviewScreen

OPS = (("blank", "Blank it (keep the attribute, empty value)"), ("remove", "Remove the attribute"),
       ("set", "Replace with text…"), ("shift", "Shift the date by N days…"))


class WorkDone(Message):
    """A fix worker finished: ``then`` runs on the main thread with the result (or the error line)."""

    def __init__(self, then: Callable[[Any, str], None], result: Any, error: str) -> None:
        super().__init__()
        self.then = then
        self.result = result
        self.error = error


class FixController:
    """Header fixes for the row under the cursor, and the report-wide values view."""

    def __init__(self, screen: "ReviewScreen") -> None:
        self.screen = screen

    @property
    def out_dir(self) -> Path:
        return self.screen.remedy.out_dir

    def _run(self, work: Callable[[], Any], then: Callable[[Any, str], None]) -> None:
        """Run ``work`` in a thread; ``then(result, error)`` on the main thread."""

        def body() -> None:
            try:
                result, error = work(), ""
            except PhiReviewError as problem:
                result, error = None, str(problem)
            except Exception as problem:  # noqa: BLE001 - a bad file must never take the review down
                result, error = None, f"{type(problem).__name__}"
            self.screen.post_message(WorkDone(then, result, error))

        self.screen.run_worker(body, thread=True, exclusive=False, group="fix")

    def done(self, message: WorkDone) -> None:
        message.then(message.result, message.error)

    def _current_path(self) -> Path | None:
        loaded = self.screen.files.current()
        return loaded.path if loaded is not None else None

    def _refuse(self) -> bool:
        if self.screen.session.read_only:
            self.screen.notify("Read-only: no corrected copies are written from this session.", markup=False)
            return True
        return False

    # ----- per-tag edit -----------------------------------------------------------------
    def edit_tag(self, row: Any = None, only_value: str | None = None, files: list[Path] | None = None) -> None:
        """Blank, remove, replace or shift the header row under the header pane's cursor."""
        if self._refuse():
            return
        header = self.screen.query_one(HeaderPane)
        if row is None:
            if not header.rows:
                self.screen.notify("No header row to edit on this row.", markup=False)
                return
            row = header.rows[header.cursor]
        if getattr(row, "depth", 0) or getattr(row, "is_meta", False) or getattr(row, "missing", False):
            self.screen.notify("Edit a top-level attribute of the dataset (not file meta, nested or missing ones).",
                               markup=False)
            return
        name = f"{row.tag} {row.keyword}"
        labels = [label for _, label in OPS]

        def picked(choice: int | None) -> None:
            if choice is None:
                return
            op = OPS[choice][0]
            if op in ("set", "shift"):
                prompt = "New value" if op == "set" else "Days to shift (negative moves earlier)"
                self.screen.app.push_screen(AskTextScreen(f"{op} {name}", "", prompt),
                                            lambda text: text is not None and self._scope(row, op, text, only_value, files))
            else:
                self._scope(row, op, None, only_value, files)

        self.screen.app.push_screen(PickScreen(f"Fix {inert(name)} in corrected copies:", labels), picked)

    def _scope(self, row: Any, op: str, value: str | None, only_value: str | None, files: list[Path] | None) -> None:
        if files is not None:
            self._plan(row.tag, op, value, files, only_value)
            return
        path = self._current_path()
        if path is None:
            return
        current = self.screen.files.current_index
        options = [("this file", [path], None)]
        group = self._group_paths(current) if current is not None else []
        if len(group) > 1:
            options.append((f"every file of this row's group ({len(group)} files)", group, None))
        options.append(("every file in the report whose attribute holds this same value", None, row.full_value))
        labels = [label for label, _, _ in options]

        def picked(choice: int | None) -> None:
            if choice is None:
                return
            _, chosen, same = options[choice]
            self._plan(row.tag, op, value, chosen if chosen is not None else self.screen.remedy.report_paths, same)

        self.screen.app.push_screen(PickScreen("Apply to:", labels), picked)

    def _group_paths(self, index: int) -> list[Path]:
        """Files of the rows that share this row's issue and detected value (its group in the groups view)."""
        session = self.screen.session
        finding = session.findings[index]
        key = (finding.issue.strip(), finding.value.strip().casefold())
        rows = [i for i, f in enumerate(session.findings) if (f.issue.strip(), f.value.strip().casefold()) == key]
        return self.screen.remedy.report_paths(rows)

    def _plan(self, tag: str, op: str, value: str | None, paths: list[Path] | Callable[[], list[Path]],
              only_value: str | None) -> None:
        """Count what the edit changes, in a worker (``paths`` may be a callable resolving the whole report there)."""
        from phi_review.core.remedy.tag_edit import plan_tag_edit

        def planned(plan: Any, error: str) -> None:
            if error:
                self.screen.notify(f"Cannot plan the edit: {inert(error)}", severity="error", markup=False)
                return
            if not plan.count:
                self.screen.notify(f"Nothing to change: {inert(plan.summary())}.", markup=False)
                return
            question = (f"{inert(plan.summary())}. Write corrected copies to {inert(str(self.out_dir))}? "
                        "The original files stay untouched.")
            self.screen.app.push_screen(ConfirmScreen(question), lambda yes: yes and self._apply_plan(plan))

        self._run(lambda: plan_tag_edit(paths() if callable(paths) else paths, tag, op, value, only_value=only_value),
                  planned)

    def _apply_plan(self, plan: Any) -> None:
        reviewer = self.screen.session.reviewer

        def written(results: Any, error: str) -> None:
            self._written(results or [], error, "edit")

        self._run(lambda: plan.apply(self.out_dir, roots=self.screen.files.roots, reviewer=reviewer), written)

    def _written(self, results: list[Any], error: str, what: str) -> None:
        if error:
            self.screen.notify(f"Not written: {inert(error)}", severity="error", timeout=12, markup=False)
        for result in results:
            self.screen.remedy.fixed[str(result.original)] = Path(result.copy)
            self.screen.record_remedy(result, what)
        if results:
            verdicts = sorted({getattr(r, "proof_summary", "") for r in results} - {""})
            self.screen.notify(f"Wrote {len(results)} corrected cop{'y' if len(results) == 1 else 'ies'}"
                               + (f" ({'; '.join(verdicts)})" if verdicts else "") + "; D shows the header diff.",
                               markup=False)
        self.screen.ocr.show_panel()

    # ----- the Basic Profile ------------------------------------------------------------
    def profile(self) -> None:
        """A: pick an enabled profile, see its header diff (computed in memory), then write the copy or not."""
        from phi_review.core.remedy.profile import load_secret
        from phi_review.core.remedy.profile_preview import default_profile, enabled_profiles, preview_profile
        from phi_review.core.remedy.tag_edit import write_fixed
        from phi_review.tui.screens.profile_pick import ProfilePickScreen, ProfilePreviewScreen

        if self._refuse():
            return
        path = self._current_path()
        if path is None:
            self.screen.notify("No file on this row.", markup=False)
            return
        reviewer = self.screen.session.reviewer
        roots = self.screen.files.roots
        blackout = self.screen.remedy.copies.get(str(path))
        names = enabled_profiles()
        picker = ProfilePickScreen(names, default_profile(names))

        def write(shown: Any) -> Any:
            editor = shown.built.edit
            if blackout is None:
                return [write_fixed(path, self.out_dir, editor, roots=roots, reviewer=reviewer, update_existing=True,
                                    how=shown.built.how)]
            # Blacked out already: write the one copy again from the original, pixels first with the
            # original's UIDs kept, so the profile maps the same UIDs as in every other file of the study.
            return [self._profile_over_blackout(path, editor, blackout, reviewer)]

        def show(shown: Any, error: str) -> None:
            if error:
                self.screen.notify(f"Cannot preview: {inert(error)}", severity="error", markup=False)
                return
            boxes = (f"Boxes: the {len(blackout.boxes)} blacked-out box(es) of this file's copy are kept"
                     if blackout is not None else "Boxes: none (headers only; R blacks out pixels)")
            body = "\n".join([shown.diff.summary_line(), boxes, ""] + shown.lines())

            def yes(answer: bool | None) -> None:
                if answer:
                    self._run(lambda: write(shown), lambda results, err: self._written(results or [], err, "profile"))

            self.screen.app.push_screen(ProfilePreviewScreen(
                f"Profile {shown.name} on a corrected copy of this file (the original stays untouched):", body), yes)

        def picked(index: int | None) -> None:
            name = picker.picked(index)
            if name is not None:
                self._run(lambda: preview_profile(name, path, load_secret()), show)

        self.screen.app.push_screen(picker, picked)

    def _profile_over_blackout(self, path: Path, editor: Any, blackout: Any, reviewer: str) -> Any:
        from phi_review.core.remedy.redact import Redaction, redact_file

        # Written, proved (bytes and, when confirmed, every frame) and recorded as one step.
        redaction = Redaction(blackout.boxes, blackout.frames, keep_uids=True, confirm_clean=blackout.confirmed_clean)
        return redact_file(path, blackout.copy, redaction, edit_header=editor, overwrite=True, reviewer=reviewer,
                           scope=blackout.scope, manifest_dir=self.out_dir)

    # ----- diff -------------------------------------------------------------------------
    def diff(self) -> None:
        from phi_review.core.remedy.header_diff import header_diff

        path = self._current_path()
        copy = self.screen.remedy.copy_of(path) if path is not None else None
        if path is None or copy is None:
            self.screen.notify("No corrected copy of this file yet (E edits a tag, A applies the profile, R blacks "
                               "out pixels).", markup=False)
            return

        def show(diff: Any, error: str) -> None:
            if error:
                self.screen.notify(f"Cannot compare: {inert(error)}", severity="error", markup=False)
                return
            lines = [f"Original: {path}", f"Copy:     {copy}", diff.summary_line(), ""]
            width = max([len(r.path) for r in diff.rows] + [10])
            for r in diff.rows:
                if r.status == "modified":
                    lines.append(f"MODIFIED {r.tag} {r.path:<{width}} {r.old}  →  {r.new}")
                elif r.status == "removed":
                    lines.append(f"REMOVED  {r.tag} {r.path:<{width}} {r.old}")
                else:
                    lines.append(f"ADDED    {r.tag} {r.path:<{width}} {r.new}")
            self.screen.app.push_screen(TextScreen("Header: original → corrected copy", "\n".join(lines)))

        self._run(lambda: header_diff(path, copy), show)

    # ----- every distinct value -----------------------------------------------------------
    def values(self) -> None:
        """Every distinct identifying or free-text value across the report's files, once."""
        from phi_review.core.remedy.values import distinct_values

        remedy = self.screen.remedy
        self.screen.notify("Reading the headers of the report's files…", markup=False)

        def work() -> Any:
            # Resolving every row and reading every header: all in the worker, never on the screen's thread.
            row_paths = remedy.row_paths()
            paths = list({str(p): p for p in row_paths.values()}.values())
            return distinct_values(paths, free_text=True, private=True, identifying=True), row_paths

        def show(found: Any, error: str) -> None:
            if error:
                self.screen.notify(f"Cannot read the values: {inert(error)}", severity="error", markup=False)
                return
            result, row_paths = found
            if not result.files:
                self.screen.notify("No file of the report is found yet.", markup=False)
                return
            entries = [(attr, seen) for attr in result.attributes for seen in attr.sorted_values() if seen.value]
            if not entries:
                self.screen.notify("No identifying or free-text value in these files.", markup=False)
                return
            labels = [f"{attr.keyword or attr.tag} {attr.tag}"
                      + (f" [{attr.private_creator}]" if attr.private_creator else "")
                      + f": {seen.value}   ({seen.count} file{'s' if seen.count != 1 else ''})"
                      for attr, seen in entries]
            title = (f"Every distinct value in {result.files} file(s): free text and private first. "
                     "Enter: decide its rows or fix its files")
            self.screen.app.push_screen(
                PickScreen(title, labels), lambda n: n is not None and self._value_chosen(*entries[n], row_paths))

        self._run(work, show)

    def _value_chosen(self, attr: Any, seen: Any, row_paths: dict[int, Path]) -> None:
        files = {str(p) for p in seen.files}
        rows = [i for i, p in row_paths.items() if str(p) in files]
        actions = list(self.screen.session.actions[:9])
        labels = [f"Set its {len(rows)} row(s) to: {a}" for a in actions]
        labels.append(f"Fix the {len(seen.files)} file(s) that hold it (blank, remove, replace)")

        def picked(choice: int | None) -> None:
            if choice is None:
                return
            if choice < len(actions):
                if rows and self.screen.decisions.decide(rows, actions[choice]):
                    self.screen.notify(f"{len(rows)} row(s) set to '{inert(actions[choice])}'.", markup=False)
                return
            row = _ValueRow(attr.tag, attr.keyword, seen.value)
            self.edit_tag(row, only_value=seen.value, files=list(seen.files))

        self.screen.app.push_screen(PickScreen(f"{inert(attr.keyword)} = {inert(seen.value)}", labels), picked)


class _ValueRow:
    """What edit_tag needs of a header row, for a value chosen in the values view."""

    depth = 0
    is_meta = False
    missing = False

    def __init__(self, tag: str, keyword: str, value: str) -> None:
        self.tag, self.keyword, self.full_value = tag, keyword, value
