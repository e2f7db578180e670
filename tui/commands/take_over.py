"""Taking a report over from the session that holds it.

A signal goes only to a holder proven to be the phi-review session holding
this very lock (core/report/takeover.py). When the proof fails, one line says
why and the report opens read-only; with ``--take-over --force`` the review
screen then opens read-only with a dialog that names the pid and what SIGTERM
will do to it, and signals only after "y" (``ask`` gives a y/N prompt instead,
for a caller without a screen). Without a terminal nothing is signalled.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from phi_review.core.common.inert import inert, shorten

if TYPE_CHECKING:
    from textual.screen import ModalScreen

    from phi_review.core.report.takeover import Holder
    from phi_review.core.review.session import ReviewSession
    from phi_review.tui.app import ReviewApp

FORCE = "force-take-over"  # what the app returns when the dialog's answer was yes


@dataclass
class Opened:
    """The session to review, and the holder to offer a forced take-over of in the screen's dialog (if any)."""

    session: "ReviewSession"
    offer: "Holder | None" = None


def _yes(question: str) -> bool:
    try:
        answer = input(question)
    except EOFError:
        return False
    return answer.strip().lower() in ("y", "yes")


def force_question(holder: "Holder") -> str:
    """The question before an unproven signal: which process, and what SIGTERM does to it."""
    from phi_review.core.report.takeover import process_name

    name = shorten(inert(process_name(holder.pid)), 30)
    return (f"Send SIGTERM to pid {holder.pid} ({name}) anyway? If it is a phi-review session it saves and exits; "
            f"if it is any other process, that process ends.")


def take_over_if_wanted(session: "ReviewSession", reopen: "Callable[[], ReviewSession]", take_over: bool,
                        force: bool = False, ask: Callable[[str], bool] | None = None) -> Opened:
    """When another session holds the report, say who, and take over if asked (flag or y at the prompt).

    ``ask`` None: an unproven holder with ``force`` is offered in the screen's dialog (Opened.offer).
    """
    from phi_review.core.report.takeover import prove_holder

    path, holder = _held(session)
    if holder is None:
        return Opened(session)
    session_on = "another phi-review session"
    if holder.report and holder.report != path.name:  # a folder (or list) session holds this member too
        session_on = f"the phi-review session on {shorten(inert(holder.report), 60)}"
    print(f"{inert(path.name)} is held by {session_on}: {inert(holder.describe())}.")
    terminal = sys.stdin.isatty()
    if not take_over:
        if not terminal or not (ask or _yes)(
                "Take over (it saves, journals and exits; its decisions come back here)? [y/N] "):
            return Opened(session)
    reason = prove_holder(path, holder)
    if reason is not None:
        if not force:
            print(f"Cannot take over: {inert(reason)}; no signal sent, opening read-only "
                  f"(--take-over --force asks before signalling pid {holder.pid} anyway).")
            return Opened(session)
        print(f"Cannot prove the holder: {inert(reason)}.")
        if not terminal:
            print("Refused: --force needs a terminal to confirm; no signal sent, opening read-only.")
            return Opened(session)
        if ask is None:
            return Opened(session, offer=holder)  # the screen asks, read-only until the answer is yes
        if not ask(force_question(holder) + " [y/N] "):
            print("No signal sent; opening read-only.")
            return Opened(session)
    return Opened(_release_and_reopen(session, reopen, holder.pid, forced=reason is not None))


def _held(session: "ReviewSession") -> "tuple[Path, Holder | None]":
    """The report's lock, or the first member file's (a folder or list of CSVs), that another session holds."""
    from phi_review.core.report.takeover import holder_of

    report = session.report
    for path in [report.path] + [source.path for source in report.sources if source.path != report.path]:
        holder = holder_of(path)
        if holder is not None:
            return path, holder
    return report.path, None


def _release_and_reopen(session: "ReviewSession", reopen: "Callable[[], ReviewSession]", pid: int,
                        forced: bool) -> "ReviewSession":
    from phi_review.core.report.takeover import request_release

    path, _holder = _held(session)
    session.close()
    _released, message = request_release(path, force=forced, pid=pid)
    print(inert(message) + ".")
    reopened = reopen()  # writable when released; else read-only again, with the reason
    if reopened.read_only:  # the line above is gone once the screen starts: say it there too
        reopened.messages.insert(0, f"Take-over failed: {inert(message)}; this screen is read-only.")
    return reopened


def force_after_dialog(session: "ReviewSession", pid: int) -> None:
    """The dialog's yes: the read-only screen has closed; signal the holder the dialog named and wait."""
    from phi_review.core.report.takeover import request_release

    path, _holder = _held(session)
    _released, message = request_release(path, force=True, pid=pid)
    print(inert(message) + ".")


def offer_in_app(app: "ReviewApp", holder: "Holder") -> None:
    """Show the forced take-over question as the screen's first dialog; yes ends the app with FORCE."""

    def answered(yes: bool | None) -> None:
        if yes:
            app.exit(FORCE)  # type: ignore[arg-type]
        else:
            app.notify(f"No signal sent to pid {holder.pid}; read-only.", timeout=6)

    app.call_after_refresh(app.push_screen, force_dialog(force_question(holder)), answered)


def force_dialog(question: str) -> "ModalScreen[bool]":
    """Yes/no where only ``y`` signals: Enter and Esc say no (a habitual Enter must not end a process)."""
    from textual.app import ComposeResult
    from textual.binding import Binding
    from textual.containers import Vertical
    from textual.widgets import Static

    from phi_review.tui.screens.dialogs import ConfirmScreen

    class ForceScreen(ConfirmScreen, inherit_bindings=False):
        BINDINGS = [
            Binding("y", "answer(True)", "Yes, signal it", id="take_over.yes"),
            Binding("n,enter,escape", "answer(False)", "No", id="take_over.no"),
        ]

        def compose(self) -> ComposeResult:
            with Vertical(classes="dialog"):
                yield Static(inert(self.question), classes="dialog-title", markup=False)
                yield Static("y: yes, send the signal    n / Enter / Esc: no, stay read-only",
                             classes="dialog-hint", markup=False)

    return ForceScreen(question)
