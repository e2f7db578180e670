"""Keys of the review screen that fix what the review finds: blackout masks and copies, header fixes.

A mixin, so the screen's own module stays about reviewing; each key hands
its work to the remedy or fixes controller.
"""

from __future__ import annotations

from typing import Any

from textual.binding import Binding

from phi_review.tui.review.fixes import WorkDone
from phi_review.tui.review.messages import CopiesWritten, CopyConfirmed, CopyVerified, ScopesReady


class FixingKeys:
    """Actions and worker messages for blacking out pixels and fixing headers into corrected copies."""

    remedy: Any
    fixes: Any
    split: Any

    FIXING_BINDINGS = [
        Binding("m", "mask_line", "Mask text line", show=False, id="app.mask_line"),
        Binding("M", "mask_likely", "Mask likely PHI", show=False, id="app.mask_likely"),
        Binding("b", "draw_box", "Draw a box", show=False, id="app.draw_box"),
        Binding("B", "known_regions", "Known device regions", show=False, id="app.known_regions"),
        Binding("x", "list_masks", "Masks (remove)", show=False, id="app.list_masks"),
        Binding("R", "redact", "Black out into a copy", show=False, id="app.redact"),
        Binding("X", "flip_copy", "Original / copy", show=False, id="app.flip_copy"),
        Binding("S", "split_view", "Original | copy side by side", show=False, id="app.split_view"),
        Binding("C", "confirm_clean", "Confirm copy clean", show=False, id="app.confirm_clean"),
        Binding("E", "edit_tag", "Fix this header attribute", show=False, id="app.edit_tag"),
        Binding("A", "profile", "Apply a profile (pick, preview, write)", show=False, id="app.profile"),
        Binding("D", "diff", "Header diff of the copy", show=False, id="app.diff"),
        Binding("V", "values", "Every distinct value", show=False, id="app.values"),
    ]

    def action_mask_line(self) -> None:
        self.remedy.mask_selected_line()

    def action_mask_likely(self) -> None:
        self.remedy.mask_likely_lines()

    def action_draw_box(self) -> None:
        self.remedy.draw_box()

    def action_known_regions(self) -> None:
        self.remedy.known_regions()

    def action_list_masks(self) -> None:
        self.remedy.list_masks()

    def action_redact(self) -> None:
        self.remedy.apply()

    def action_flip_copy(self) -> None:
        self.remedy.flip()

    def action_split_view(self) -> None:
        self.split.toggle()

    def action_confirm_clean(self) -> None:
        self.remedy.confirm_clean()

    def action_edit_tag(self) -> None:
        self.fixes.edit_tag()

    def action_profile(self) -> None:
        self.fixes.profile()

    def action_diff(self) -> None:
        self.fixes.diff()

    def action_values(self) -> None:
        self.fixes.values()

    def on_work_done(self, message: WorkDone) -> None:
        self.fixes.done(message)

    def on_scopes_ready(self, message: ScopesReady) -> None:
        self.remedy.scopes_ready(message)

    def on_copies_written(self, message: CopiesWritten) -> None:
        self.remedy.copies_written(message)

    def on_copy_verified(self, message: CopyVerified) -> None:
        self.remedy.copy_verified(message)

    def on_copy_confirmed(self, message: CopyConfirmed) -> None:
        self.remedy.copy_confirmed(message)
