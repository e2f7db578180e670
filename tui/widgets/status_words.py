"""The status line's words about saving: one reading of the unsaved count, never two that disagree.

Why: the line read "0 unsaved · unsaved changes" after an undo back to the report's state, and
"3 unsaved · saved 10:01" after decisions made during a save. The count decides; the save state
only adds what the count cannot say (saving now, the last save failed, when it last saved).
"""

from __future__ import annotations


def save_words(unsaved: int, state: str) -> list[str]:
    """The words for ``unsaved`` decisions given the controller's ``state`` ("saving…", "SAVE FAILED", "saved HH:MM:SS"...)."""
    count = f"{unsaved} unsaved"
    if unsaved <= 0:
        return [count, state if state.startswith("saved") or state == "saving…" else "saved"]
    if state in ("saving…", "SAVE FAILED"):
        return [count, state]
    if state.startswith("saved "):
        return [count, "last " + state]
    return [count]
