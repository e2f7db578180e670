"""Taking a report over from the session that holds it, before the review screen starts.

A signal goes only to a holder proven to be the phi-review session holding
this very lock (core/report/takeover.py). When the proof fails, one line says
why and the report opens read-only; ``--take-over --force`` then asks, naming
the pid and what SIGTERM will do to it, and signals only after "y" typed on a
terminal. Without a terminal nothing is signalled.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

from phi_review.core.common.inert import inert, shorten

if TYPE_CHECKING:
    from phi_review.core.report.takeover import Holder
    from phi_review.core.review.session import ReviewSession


def _yes(question: str) -> bool:
    try:
        answer = input(question)
    except EOFError:
        return False
    return answer.strip().lower() in ("y", "yes")


def force_question(holder: "Holder") -> str:
    """The prompt before an unproven signal: which process, and what SIGTERM does to it."""
    from phi_review.core.report.takeover import process_name

    name = shorten(inert(process_name(holder.pid)), 30)
    return (f"Send SIGTERM to pid {holder.pid} ({name}) anyway? If it is a phi-review session it saves and exits; "
            f"if it is any other process, that process ends. [y/N] ")


def take_over_if_wanted(session: "ReviewSession", reopen: "Callable[[], ReviewSession]", take_over: bool,
                        force: bool = False, ask: Callable[[str], bool] = _yes) -> "ReviewSession":
    """When another session holds the report, say who, and take over if asked (flag or y at the prompt)."""
    from phi_review.core.report.takeover import holder_of, prove_holder, request_release

    path = session.report.path
    holder = holder_of(path)
    if holder is None:
        return session
    session_on = "another phi-review session"
    if holder.report and holder.report != path.name:  # a folder (or list) session holds this member too
        session_on = f"the phi-review session on {shorten(inert(holder.report), 60)}"
    print(f"{inert(path.name)} is held by {session_on}: {inert(holder.describe())}.")
    terminal = sys.stdin.isatty()
    if not take_over:
        if not terminal or not ask("Take over (it saves, journals and exits; its decisions come back here)? [y/N] "):
            return session
    reason = prove_holder(path, holder)
    if reason is not None:
        if not force:
            print(f"Cannot take over: {inert(reason)}; no signal sent, opening read-only "
                  f"(--take-over --force asks before signalling pid {holder.pid} anyway).")
            return session
        print(f"Cannot prove the holder: {inert(reason)}.")
        if not terminal:
            print("Refused: --force needs a terminal to confirm; no signal sent, opening read-only.")
            return session
        if not ask(force_question(holder)):
            print("No signal sent; opening read-only.")
            return session
    session.close()
    _released, message = request_release(path, force=reason is not None, pid=holder.pid)
    print(inert(message) + ".")
    return reopen()  # writable when released; else read-only again, with the reason
