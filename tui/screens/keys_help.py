"""Every key in one place: the help screen and the context-aware command palette.

Both are generated from the bindings (with the user's remaps), so they cannot
drift from what the keys really do.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from textual.app import SystemCommand
from textual.binding import Binding

from phi_review.core.common.inert import inert
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


def review_commands(app: "ReviewApp") -> Iterator[SystemCommand]:
    """Palette entries for the review screen; decisions only when a row is selected."""
    current = app.query_one(FindingsList).current
    if current is not None and not app.session.read_only:
        row = app.session.findings[current].row
        for n, action in enumerate(app.session.actions[:9], start=1):
            yield SystemCommand(f"Decide: {action}", f"Set row {row} to this action (key {n})",
                                lambda n=n: app.action_decide(n))
        yield SystemCommand("Note", f"Write a note on row {row} (e)", app.action_note)
    yield SystemCommand("Save report", "Write decisions into the report (ctrl+s)", app.action_save)
    yield SystemCommand("Next unreviewed", "Jump to the next unreviewed row (n)", lambda: app.action_next_unreviewed(1))
    yield SystemCommand("Filter: unreviewed", "Show only unreviewed rows", lambda: app.apply_filter("is:unreviewed"))
    yield SystemCommand("Filter: burned-in pixels", "Show only pixel findings", lambda: app.apply_filter("issue:pixels"))
    yield SystemCommand("Filter: header PHI", "Show only header findings", lambda: app.apply_filter("issue:header"))
    yield SystemCommand("Filter…", "Filter by text, issue, action (/)", app.action_filter)
    if app.filter_text:
        yield SystemCommand("Clear filter", "Show every row again (Esc)", lambda: app.apply_filter(""))
    yield SystemCommand("Groups", "Rows grouped by issue and detected value (v)", app.action_groups)
    yield SystemCommand("Undo", "Undo the last decision (u)", app.action_undo)
    yield SystemCommand("Redo", "Redo (ctrl+r)", app.action_redo)
    yield SystemCommand("Toggle preview", "Show or hide the pixel preview (p)", app.action_toggle_preview)
    yield SystemCommand("Window preset", "Cycle file / full range / robust window (w)", app.action_window)
    yield SystemCommand("Invert", "Invert the preview (i)", app.action_invert)
    yield SystemCommand("Overlays", "Draw overlay planes (o)", app.action_overlays)
    yield SystemCommand("Find in header", "Search the header (f)", app.action_find_in_header)
    yield SystemCommand("Identifying attributes", "Every tag that names or dates someone, with its value (I)",
                        app.action_identifying)
    yield SystemCommand("Read burned-in text", "OCR this frame (r); pixel findings are read automatically", app.action_read_text)
    yield SystemCommand("Next text box", "Zoom the preview to the next line of burned-in text (t)", app.action_next_text_box)
    yield SystemCommand("Keys", "Every key and its binding id (?)", app.action_help)
