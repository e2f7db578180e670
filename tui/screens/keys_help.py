"""Every key in one place: the help screen and the context-aware command palette.

Both are generated from the bindings (with the user's remaps), so they cannot
drift from what the keys really do.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial
from typing import TYPE_CHECKING

from textual.app import SystemCommand
from textual.binding import Binding

from phi_review.core.common.inert import inert
from phi_review.tui.review.screen import ReviewScreen
from phi_review.tui.widgets.findings_list import FindingsList
from phi_review.tui.screens.groups import GroupsScreen
from phi_review.tui.widgets.header_pane import HeaderPane
from phi_review.tui.widgets.preview_pane import PreviewPane

if TYPE_CHECKING:
    from phi_review.tui.app import ReviewApp

KEY_NAMES = {
    "slash": "/", "space": "space", "question_mark": "?", "left_square_bracket": "[",
    "right_square_bracket": "]", "plus": "+", "equals_sign": "=", "minus": "-",
    "greater_than_sign": ">", "less_than_sign": "<",
}


def pretty_keys(keys: str) -> str:
    return ",".join(KEY_NAMES.get(k.strip(), k.strip()) for k in keys.split(","))


def binding_rows(app: "ReviewApp") -> list[tuple[str, str, str]]:
    """(keys, description, id) per binding, grouped under section rows whose description is ""."""
    sources: list[tuple[str, list[Binding]]] = [
        ("Everywhere", list(app.BINDINGS)),  # type: ignore[arg-type]
        ("Review screen", list(ReviewScreen.BINDINGS)),  # type: ignore[arg-type]
        ("Findings list", list(FindingsList.BINDINGS)),  # type: ignore[arg-type]
        ("Header pane (tab to focus)", list(HeaderPane.BINDINGS)),  # type: ignore[arg-type]
        ("Preview pane (tab to focus)", list(PreviewPane.BINDINGS)),  # type: ignore[arg-type]
        ("Groups view (v)", list(GroupsScreen.BINDINGS)),  # type: ignore[arg-type]
    ]
    actions = app.session.actions
    rows: list[tuple[str, str, str]] = []
    for section, bindings in sources:
        rows.append((section, "", ""))
        for binding in bindings:
            description = binding.description
            if binding.id and binding.id.startswith("app.decide_"):
                position = int(binding.id.rsplit("_", 1)[1])
                if position > len(actions):
                    continue  # this report's vocabulary has no such action
                description = inert(actions[position - 1])
            keys = app.keymap.get(binding.id, binding.key) if binding.id else binding.key
            rows.append((pretty_keys(keys), description, binding.id or ""))
    return rows


def help_text(app: "ReviewApp") -> str:
    lines = [
        "A digit sets that action and moves to the next unreviewed row; with rows",
        "marked (space), it applies to all of them after a confirmation.",
    ]
    for keys, description, binding_id in binding_rows(app):
        if not description:
            lines += ["", keys]
        else:
            lines.append(f"  {keys:<10} {description:<30} {binding_id}")
    lines += [
        "",
        "Ctrl+P opens the command palette. Remap any key by its id in",
        "~/.config/phi-review/config.toml, e.g.  [keys]  \"app.undo\" = \"u,ctrl+z\"",
    ]
    return "\n".join(lines)


PALETTE_TITLES = {"app.save": "Save report", "app.help": "Help: every key and its id", "app.note": "Note"}


def review_commands(app: "ReviewApp") -> Iterator[SystemCommand]:
    """Palette entries for the review screen, one per key binding, so every action is there.

    Decisions are listed with the report's own action names, and only when a row is selected.
    """
    screen = app.review
    current = app.query_one(FindingsList).current
    if current is not None and not app.session.read_only:
        row = app.session.findings[current].row
        for n, action in enumerate(app.session.actions[:9], start=1):
            yield SystemCommand(f"Decide: {inert(action)}", f"Set row {row} to this action (key {n})",
                                partial(app.run_action, f"decide({n})", screen))
    for binding in [*ReviewScreen.BINDINGS, *app.BINDINGS]:
        assert isinstance(binding, Binding)
        if (binding.id or "").startswith("app.decide_") or binding.id in ("app.quit", "app.quit_ctrl_c"):
            continue  # decisions are listed above; Textual's own Quit saves like q
        keys = pretty_keys(app.keymap.get(binding.id, binding.key) if binding.id else binding.key)
        target = screen if binding in ReviewScreen.BINDINGS else app
        title = PALETTE_TITLES.get(binding.id or "", binding.description)
        yield SystemCommand(title, f"key {keys}", partial(app.run_action, binding.action, target))
    if screen.decisions.filter_text:
        yield SystemCommand("Clear filter", "Show every row again (Esc)", partial(screen.apply_filter, ""))
    for label, query in (("unreviewed", "is:unreviewed"), ("burned-in pixels", "issue:pixels"),
                         ("header PHI", "issue:header"), ("disputed in the second pass", "is:disputed")):
        yield SystemCommand(f"Filter: {label}", f"Show only {label} rows ({query})", partial(screen.apply_filter, query))
