"""Grouped view: rows grouped by issue and detected value, decided once per group.

Reports repeat one institution or patient name over a whole study; the reviewer
looks once and decides the group. Deciding asks for confirmation (the app owns
the decision, this screen only asks for it).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import Footer, Static

from phi_review.core.common.inert import inert
from phi_review.tui.widgets.groups_list import GroupsList


GROUPINGS = ("value", "tag", "file")
GROUPING_NAMES = {"value": "issue and detected value", "tag": "issue and tag", "file": "file",
                  "patient": "patient (P1, P2...)"}


def _next_grouping(by: str, groupings: Sequence[str] = GROUPINGS) -> str:
    return groupings[(groupings.index(by) + 1) % len(groupings)]


class GroupsScreen(Screen[None]):
    """List of groups; Enter shows the group's rows, a digit decides the whole group."""

    BINDINGS = [
        Binding("escape,v,q", "close", "Back", id="groups.close"),
        Binding("enter", "show_rows", "Show rows", id="groups.show_rows"),
        Binding("b", "regroup", "Group by…", id="groups.regroup"),
        *[
            Binding(str(n), f"decide({n})", f"Action {n}", show=False, id=f"groups.decide_{n}")
            for n in range(1, 10)
        ],
    ]
    DEFAULT_CSS = """
    GroupsScreen > Vertical > #groups-title { height: auto; padding: 0 1; background: $panel; }
    GroupsScreen GroupsList { height: 1fr; }
    """

    def __init__(
        self,
        groups: Callable[..., Sequence[Any]],
        actions: Sequence[str],
        on_decide: Callable[[Any, int], None],
        on_show: Callable[[Any], None],
        groupings: Sequence[str] = GROUPINGS,
        by: str | None = None,
    ) -> None:
        super().__init__()
        self.groupings = tuple(groupings)  # "patient" once the patient panel has read the headers
        self._groups_source = groups
        self.groups: Sequence[Any] = ()
        self.by = by if by in self.groupings else self.groupings[0]
        self.actions = list(actions)
        self.on_decide = on_decide
        self.on_show = on_show

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(self._title(), id="groups-title", markup=False)
            yield GroupsList(id="groups-list")
        yield Footer()

    def _title(self) -> str:
        keys = "  ".join(f"{i}={inert(a)}" for i, a in enumerate(self.actions[:9], start=1))
        after = GROUPING_NAMES[_next_grouping(self.by, self.groupings)]
        return (f"Groups by {GROUPING_NAMES[self.by]} (b: by {after}). "
                f"Enter: show rows · digit: decide whole group · Esc: back\n{keys}")

    def action_regroup(self) -> None:
        """Issue and value, issue and tag, or file: one key must never decide unlike rows together."""
        self.by = _next_grouping(self.by, self.groupings)
        self.query_one("#groups-title", Static).update(self._title())
        self.reload()

    def on_mount(self) -> None:
        self.reload()
        self.query_one(GroupsList).focus()

    def reload(self) -> None:
        """Fresh counts after a decision; only the visible lines are redrawn."""
        self.groups = self._groups_source(by=self.by)
        self.query_one(GroupsList).set_groups(self.groups)

    def _current(self) -> Any | None:
        return self.query_one(GroupsList).current

    def action_close(self) -> None:
        self.dismiss(None)

    def action_show_rows(self) -> None:
        group = self._current()
        if group is not None:
            self.dismiss(None)
            self.on_show(group)

    def action_decide(self, position: int) -> None:
        group = self._current()
        if group is not None:
            self.on_decide(group, position)
