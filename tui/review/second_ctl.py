"""The second pass in the review screen: another reviewer confirms or disputes decided rows.

``review --second-pass`` opens on the decided rows (``is:reviewed``). ``a``
confirms the first decision; ``d`` disputes it: pick the action you would
have taken, then a note saying why (required). A digit does the same in one
key: the first decision's number confirms, another disputes. Each is one
journal step of kind ``second`` (``core.review.second_pass``): undone with
``u``, recovered after a crash. Disputed rows are ``/ is:disputed``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from phi_review.core.common.errors import PhiReviewError
from phi_review.core.common.inert import inert
from phi_review.tui.screens.dialogs import AskTextScreen, PickScreen

if TYPE_CHECKING:
    from phi_review.tui.review.screen import ReviewScreen

START_NOTE = ("Second pass: decided rows, with the first decision and its reviewer. "
              "a confirms · d disputes (pick your action, then a note) · / is:disputed")


def _same(a: str, b: str) -> bool:
    return a.strip().casefold() == b.strip().casefold()


class SecondPassController:
    """Confirm or dispute the row under the cursor; move on to the next row without a second review."""

    def __init__(self, screen: "ReviewScreen") -> None:
        self.screen = screen

    @property
    def on(self) -> bool:
        return bool(getattr(self.screen.app, "second_pass", False))

    @property
    def session(self) -> Any:
        return self.screen.session

    def start(self) -> None:
        """On mount, in a second pass: show the decided rows only and say which keys do what."""
        if not self.on:
            return
        self.screen.apply_filter("is:reviewed")
        self.screen.notify(START_NOTE, markup=False, timeout=12)

    def _current(self) -> int | None:
        """The row under the cursor when a second review can be recorded on it, else None (said why)."""
        decisions = self.screen.decisions
        if not self.on:
            self.screen.notify("The second pass starts with: phi-review review --second-pass REPORT",
                               severity="warning", markup=False)
            return None
        if decisions.refuse_if_read_only():
            return None
        index = decisions._list().current
        if index is None:
            return None
        if not self.session.findings[index].action.strip():
            self.screen.notify("This row has no first decision yet; a second review checks one.",
                               severity="warning", markup=False)
            return None
        return index

    def digit(self, position: int) -> bool:
        """In a second pass a digit is the second reviewer's action (never a new first decision)."""
        if not self.on:
            return False
        index = self._current()
        actions = self.session.actions
        if index is None or not 1 <= position <= len(actions):
            return True
        action = actions[position - 1]
        if action == self.session.findings[index].action:
            self.record(index, action, None)
        else:
            self.ask_note(index, action)
        return True

    def confirm(self) -> None:
        index = self._current()
        if index is not None:
            self.record(index, self.session.findings[index].action, None)

    def dispute(self) -> None:
        index = self._current()
        if index is None:
            return
        first = self.session.findings[index].action
        actions = list(self.session.actions[:9])
        choices = [f"{n}  {inert(a)}" + ("   (the first decision)" if a == first else "")
                   for n, a in enumerate(actions, start=1)]

        def picked(choice: int | None) -> None:
            if choice is None:
                return
            if actions[choice] == first:
                self.screen.notify("That is the first decision: a confirms it.", markup=False)
                return
            self.ask_note(index, actions[choice])

        self.screen.app.push_screen(PickScreen(f"Row {self.session.findings[index].row}: the action you would "
                                               "have taken", choices, numbered=True), picked)

    def ask_note(self, index: int, action: str) -> None:
        def noted(text: str | None) -> None:
            if text is None:
                return
            if not text.strip():
                self.screen.notify("A dispute needs a note saying why; nothing was recorded.",
                                   severity="warning", markup=False)
                return
            self.record(index, action, text)

        self.screen.app.push_screen(AskTextScreen(
            f"Dispute: '{inert(action)}' instead of '{inert(self.session.findings[index].action)}'", "",
            "Why? Required; added to Comments as 'Second review (you): NOTE'.", "the reason"), noted)

    def record(self, index: int, action: str, note: str | None, reason: str | None = None) -> None:
        finding = self.session.findings[index]
        if reason is None and _same(finding.reviewer, self.session.reviewer):
            def reasoned(text: str | None) -> None:
                if text and text.strip():
                    self.record(index, action, note, text)

            self.screen.app.push_screen(AskTextScreen(
                "You made the first decision on this row", "",
                "A second review is someone else's. A reason records it anyway (kept in the journal and "
                "Comments); Esc cancels.", "the reason"), reasoned)
            return
        try:
            changed = self.session.second_review([index], action, note, allow_same_reviewer=reason)
        except PhiReviewError as error:
            self.screen.notify(inert(error), severity="error", markup=False)
            return
        decisions = self.screen.decisions
        if changed:
            decisions.save_state = "unsaved changes"
            decisions.refresh_rows(changed)
        self.screen.notify(("Confirmed" if action == finding.action else "Disputed") + f": row {finding.row}.",
                           markup=False, timeout=3)
        self.advance()

    def advance(self) -> None:
        """The cursor goes to the next shown row without a second review (wrapping)."""
        listing = self.screen.decisions._list()
        order, findings = listing.order, self.session.findings
        count = len(order)
        for step in range(1, count + 1):
            position = (listing.cursor + step) % count
            if not findings[order[position]].second_review.strip():
                listing.cursor = position
                return
        self.screen.notify("Every shown row has a second review. Ctrl+S saves.", markup=False)
