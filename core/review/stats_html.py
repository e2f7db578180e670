"""``phi-review stats --html``: the numbers as one self-contained page (inline SVG bars, no script, no
network), safe to mail: it is searched for the report's identifiers before it is written.

Every label is escaped for HTML after being made inert (control characters
shown, never passed on); the page links nothing and loads nothing.
"""

from __future__ import annotations

import html
from collections.abc import Iterable
from typing import Any

from phi_review.core.common.inert import inert, shorten

BAR = 240  # pixels for the largest bar of a chart
COLOURS = {"done": "#2e7d32", "rest": "#c8c8c8", "warn": "#c62828", "mid": "#f9a825"}
_STYLE = (
    "body{font-family:sans-serif;margin:2em;color:#222}table{border-collapse:collapse;margin-bottom:1.5em}"
    "td,th{padding:2px 8px;text-align:left;vertical-align:middle}td.n{text-align:right;font-variant-numeric:"
    "tabular-nums}h2{margin-top:1.6em;border-bottom:1px solid #ccc}"
)


def _text(value: object, width: int = 80) -> str:
    return html.escape(shorten(inert(str(value)), width), quote=True)


def _bar(parts: Iterable[tuple[int, str]], largest: int) -> str:
    """One horizontal bar of stacked parts (value, colour name), scaled to ``largest``."""
    x = 0.0
    rects = []
    for value, colour in parts:
        width = BAR * value / largest if largest else 0
        if width > 0:
            rects.append(f'<rect x="{x:.1f}" y="0" width="{width:.1f}" height="12" fill="{COLOURS[colour]}"/>')
        x += width
    return f'<svg xmlns="http://www.w3.org/2000/svg" width="{BAR}" height="12">{"".join(rects)}</svg>'


def _table(title: str, rows: list[tuple[str, list[tuple[int, str]], str]]) -> str:
    """A chart: label, bar, the numbers beside it."""
    largest = max((sum(v for v, _ in parts) for _, parts, _ in rows), default=0)
    body = "".join(
        f"<tr><td>{_text(label)}</td><td>{_bar(parts, largest)}</td><td class=n>{html.escape(numbers)}</td></tr>"
        for label, parts, numbers in rows
    )
    return f"<h2>{html.escape(title)}</h2><table>{body or '<tr><td>(none)</td></tr>'}</table>"


def _done_rows(data: dict[str, dict[str, Any]]) -> list[tuple[str, list[tuple[int, str]], str]]:
    return [(label, [(d["reviewed"], "done"), (d["rows"] - d["reviewed"], "rest")],
             f"{d['reviewed']} / {d['rows']} rows reviewed" + (f", {d['files']} files" if "files" in d else ""))
            for label, d in data.items()]


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.1f}%"


def _num(value: object) -> str:
    return "-" if value is None else str(value)


def render_html(stats: dict[str, Any], title: str) -> str:
    """The page for ``stats`` (compute_stats' result); ``title`` is the report's name."""
    parts = [
        "<!DOCTYPE html><html lang=en><head><meta charset=utf-8>",
        "<meta http-equiv=Content-Security-Policy content=\"default-src 'none'; style-src 'unsafe-inline'\">",
        f"<title>Review statistics: {_text(title)}</title><style>{_STYLE}</style></head><body>",
        f"<h1>Review statistics: {_text(title)}</h1>",
        f"<p>{stats['rows']} rows in {stats['files']} files; {stats['reviewed']} reviewed, "
        f"{stats['unreviewed']} to go.</p>",
    ]
    overall = {"all rows": {"rows": stats["rows"], "reviewed": stats["reviewed"]}}
    parts.append(_table("Progress", _done_rows(overall)))
    for issue, counts in stats["by_issue_action"].items():
        files = stats["files_by_issue_action"].get(issue, {})
        rows = [(action, [(n, "rest" if action == "(unreviewed)" else "done")], f"{n} rows, {files.get(action, 0)} files")
                for action, n in counts.items()]
        parts.append(_table(f"{shorten(inert(issue), 80)}: by action", rows))
    pixels = stats["pixels"]
    parts.append(_table(f"Pixel findings ({pixels['detected']} detected)", [
        ("cleared (copy proven clean)", [(pixels["cleared"], "done")], str(pixels["cleared"])),
        ("rejected (no issue)", [(pixels["rejected"], "mid")], str(pixels["rejected"])),
        ("pending", [(pixels["pending"], "warn")], str(pixels["pending"])),
    ]))
    parts.append(_table("Header findings by tag", [
        (tag, [(d["cleared"], "done"), (d["rejected"], "mid"), (d["rows"] - d["cleared"] - d["rejected"], "rest")],
         f"{d['rows']} rows: {d['cleared']} cleared, {d['rejected']} rejected, {d['reviewed']} reviewed")
        for tag, d in stats["entities"].items()
    ]))
    parts.append(_table("By site", _done_rows(stats["by_site"])))
    parts.append(_table("By site and event", _done_rows(stats["by_event"])))
    if stats.get("patients_read"):
        parts.append(_table("By patient (numbered, no IDs)", _done_rows(stats["by_patient"])))
    progress = stats["progress"]
    parts.append(
        "<h2>Pace</h2><table>"
        f"<tr><td>decisions in the journal</td><td class=n>{progress['decisions']}</td></tr>"
        f"<tr><td>decisions per hour</td><td class=n>{_num(progress['decisions_per_hour'])}</td></tr>"
        f"<tr><td>median seconds per row</td><td class=n>{_num(progress['median_seconds_per_row'])}</td></tr>"
        f"<tr><td>rows remaining</td><td class=n>{progress['remaining_rows']}</td></tr>"
        f"<tr><td>hours remaining at that pace</td><td class=n>{_hours(progress['remaining_seconds'])}</td></tr>"
        "</table>"
    )
    parts.append(_table("Decisions by reviewer", [
        (name, [(d["decisions"], "done")],
         f"{d['decisions']} decisions, {_num(d['decisions_per_hour'])}/h, median {_num(d['median_seconds_per_row'])} s")
        for name, d in progress["by_reviewer"].items()
    ]))
    second = stats["second_pass"]
    rows = [("all issues", second)] + list(second["by_issue"].items())
    parts.append(_table("Second pass", [
        (label, [(d["agreed"], "done"), (d["disputed"], "warn")],
         f"{d['reviewed']} checked, {d['agreed']} agreed, {d['disputed']} disputed, {_pct(d['agreement'])}, "
         f"kappa {_num(d['kappa'])}")
        for label, d in rows
    ]))
    parts.append("</body></html>\n")
    return "".join(parts)


def _hours(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds / 3600:.1f}"
