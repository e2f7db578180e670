"""`C`: the reviewer's word that a corrected copy is clean, given only when the proof agrees.

Anything the screen lists as likely identifying (text inside a box, likely PHI
elsewhere, an earlier refusal by the proof) turns the yes/no question into a
dialog that needs a typed reason; the proof itself (every frame OCRed, the
bytes searched) runs in a worker and refuses the claim unless that reason is given.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any

from phi_review.core.common.errors import PhiReviewError
from phi_review.tui.review.messages import CopyConfirmed
from phi_review.tui.screens.dialogs import AskTextScreen, ConfirmScreen


def ask_and_confirm(controller: Any, state: Any, original: Path) -> None:
    """Ask (a reason when something is left), then prove and mark the copy in a worker."""
    inside = [line for check in state.verified.frames for line in check.inside]
    left = state.verified.phi_left
    reviewer = controller.screen.session.reviewer

    def work(reason: str = "") -> None:
        from phi_review.core.remedy.redact import confirm_clean

        try:
            result, error = confirm_clean(state.copy, original=original, reviewer=reviewer,
                                          manifest_dir=controller.out_dir, accept_residual=reason), ""
        except PhiReviewError as problem:
            result, error = None, str(problem)
        controller.screen.post_message(CopyConfirmed(original, result, error))

    if inside or left or state.residual:
        what = []
        if inside:
            what.append(f"{len(inside)} line(s) inside the boxes")
        if left:
            what.append(f"{len(left)} likely PHI line(s) on frame(s) "
                        + ", ".join(sorted({str(c.frame + 1) for c in state.verified.frames
                                            for line in c.inside + c.outside if line.likely_phi})))
        if state.residual:
            what.append(state.residual)
        title = ("Not clean: " + "; ".join(what) + ". Type why the copy is clean anyway "
                 "(recorded with your name in the manifest), or Esc.")

        def with_reason(reason: str | None) -> None:
            if reason and reason.strip():
                controller.screen.run_worker(partial(work, reason.strip()), thread=True, exclusive=True, group="remedy")

        controller.screen.app.push_screen(AskTextScreen(title, placeholder="reason for accepting what is left"),
                                          with_reason)
        return
    question = ("Confirm this corrected copy is clean? Every frame is OCRed and its bytes searched first; "
                "its header gets BurnedInAnnotation NO only if nothing likely identifying is found.")

    def yes(answer: bool | None) -> None:
        if answer:
            controller.screen.run_worker(work, thread=True, exclusive=True, group="remedy")

    controller.screen.app.push_screen(ConfirmScreen(question), yes)
