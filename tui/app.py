"""The App is wiring: the session, the terminal's graphics choice, the user's keymap and the screens.

The review itself lives in ``tui/review/`` (screen and controllers); dialogs
and the groups view in ``tui/screens/``. Keys bound here work on every screen.
"""

from __future__ import annotations

import asyncio
import os
import signal
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from textual import events
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.screen import Screen

from phi_review.core.review.session import ReviewSession
from phi_review.tui.review.screen import ReviewScreen
from phi_review.tui.screens.dialogs import TextScreen
from phi_review.tui.screens.keys_help import help_text, review_commands
from phi_review.tui.terminal.graphics import GraphicsChoice


QUIT_HELP = "Save the report and quit, as q (if the save fails, every decision stays in the journal)"


class ReviewApp(App[None]):
    """Keyboard triage of a reconciliation report."""

    CSS_PATH = "review.tcss"
    # TERM=dumb (colours dropped, see __init__): the cursor row is shown reversed, not by a background.
    CSS = "App:nocolor FindingsList > .findings-list--cursor { text-style: reverse bold; }"
    TITLE = "phi-review"
    ENABLE_COMMAND_PALETTE = True
    second_pass = False  # `review --second-pass`: the screen shows decided rows; a confirms, d disputes

    BINDINGS = [
        Binding("ctrl+s", "save", "Save", id="app.save"),
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
        out_dir: Path | None = None,
    ) -> None:
        dumb = graphics is not None and graphics.caps.dumb
        # TERM=dumb: no colour codes at all. Textual draws 24-bit colour whatever the console's colour
        # system; with ansi_color its NO_COLOR filter drops colours instead of turning them to 24-bit greys.
        super().__init__(ansi_color=dumb and "NO_COLOR" in os.environ)
        self.session = session
        self.roots = [Path(r) for r in roots] or [session.report.path.parent]
        self.graphics = graphics or GraphicsChoice("none", _no_caps(), "default")
        self.keymap = dict(keymap or {})
        self.out_dir = out_dir
        self._last_touch = 0.0
        self.review: ReviewScreen = None  # type: ignore[assignment]  # made when the app starts

    def get_default_screen(self) -> Screen:
        self.review = ReviewScreen(self.roots, self.out_dir)
        return self.review

    def on_mount(self) -> None:
        if self.keymap:
            self.set_keymap(self.keymap)
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGHUP):
            try:
                loop.add_signal_handler(signum, self._leave_on_signal)
            except (NotImplementedError, RuntimeError, ValueError):
                pass  # not the main thread (tests) or no such signal here

    def _leave_on_signal(self) -> None:
        """Another session takes over, or the terminal went away: save like q, then exit.

        Every decision is in the journal already; the watchdog ends the process even
        when a dead SSH link blocks the terminal writes of a clean exit.
        """
        watchdog = threading.Timer(3.0, os._exit, args=(0,))
        watchdog.daemon = True
        watchdog.start()
        self.review.decisions.save_quietly()
        self.exit()

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, events.Key):
            now = time.monotonic()
            if now - self._last_touch > 5.0:
                self._last_touch = now
                self.session.touch()
        await super().on_event(event)

    # ----- every screen ---------------------------------------------------------
    def action_save(self) -> bool:
        return self.review.decisions.save()

    def action_quit_review(self) -> None:
        self.review.decisions.quit()

    async def action_quit(self) -> None:
        """The palette's Quit saves like q does: no way out leaves decisions unsaved silently."""
        self.review.decisions.quit()

    def help_text(self) -> str:
        return help_text(self)

    def action_help(self) -> None:
        self.push_screen(TextScreen("phi-review keys", self.help_text()))

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        # No screenshot command: a screenshot of this screen is a file full of PHI.
        for command in super().get_system_commands(screen):
            if command.title.lower() == "quit":  # action_quit saves first: say so, not Textual's "as soon as possible"
                yield command._replace(help=QUIT_HELP)
            elif command.title.lower() != "screenshot":
                yield command
        if screen is self.review:
            yield from review_commands(self)


def _no_caps() -> Any:
    from phi_review.tui.terminal.graphics import TerminalCaps

    return TerminalCaps()
