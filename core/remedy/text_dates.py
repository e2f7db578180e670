"""Dates written inside free text: found, then moved by the patient's offset or removed.

Why: with Clean Descriptors the profile keeps a description once the file's own
identifiers are stripped from it, and with Retain Modified Dates every header date
moves by the patient's offset. A comment "seen 2023-04-15 by ..." kept its real date
while StudyDate moved: the pair gives the offset away. Each date found here is
rewritten in its own format (so the text reads the same) or taken out.

Recognised (years of four digits, 1800-2199): 2023-04-15, 2023/04/15, 2023.04.15,
20230415 (also the date part of 20230415101500), 15/04/2023, 04/15/2023, 15.04.2023,
15-04-2023, 15 April 2023, 15-Apr-2023, April 15, 2023, Apr 15 2023. A day/month
order that cannot be told apart (04/05/2023) is removed even when dates move, since
moving it the wrong way round would be a wrong date.
"""

from __future__ import annotations

import datetime as _dt
import re
from collections.abc import Callable

_MONTHS = ["january", "february", "march", "april", "may", "june", "july", "august", "september",
           "october", "november", "december"]
_MONTH_RE = r"(?P<mon>jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|" \
            r"sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
_YEAR = r"(?P<y>1[89]\d\d|2[01]\d\d)"

_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("ymd", re.compile(rf"(?<![\d.]){_YEAR}(?P<s>[-/.])(?P<m>\d{{1,2}})(?P=s)(?P<d>\d{{1,2}})(?![\d])")),
    ("compact", re.compile(rf"(?<!\d){_YEAR}(?P<m>0[1-9]|1[0-2])(?P<d>0[1-9]|[12]\d|3[01])(?=\d{{0,12}}(?!\d))")),
    ("xyz", re.compile(rf"(?<![\d.])(?P<a>\d{{1,2}})(?P<s>[-/.])(?P<b>\d{{1,2}})(?P=s){_YEAR}(?![\d])")),
    ("dmy_name", re.compile(rf"(?<!\d)(?P<d>\d{{1,2}})(?:st|nd|rd|th)?(?P<s>[ -]){_MONTH_RE}(?P=s),?\s?{_YEAR}(?!\d)",
                            re.IGNORECASE)),
    ("mdy_name", re.compile(rf"(?<![A-Za-z]){_MONTH_RE}(?P<s>[ -])(?P<d>\d{{1,2}})(?:st|nd|rd|th)?,?[ -]{_YEAR}(?!\d)",
                            re.IGNORECASE)),
]


def _date(y: int, m: int, d: int) -> _dt.date | None:
    try:
        return _dt.date(y, m, d)
    except ValueError:
        return None


def _month_text(original: str, month: int) -> str:
    name = _MONTHS[month - 1]
    text = name if len(original) > 3 else name[:3]
    if original.isupper():
        return text.upper()
    return text.capitalize() if original[:1].isupper() else text


def _rewrite(kind: str, match: re.Match[str], days: int | None) -> str:
    """The match rewritten with its date moved by ``days``; "" to remove it (``days`` None, or unreadable)."""
    g = match.groupdict()
    year = int(g["y"])
    if kind in ("ymd", "compact"):
        day = _date(year, int(g["m"]), int(g["d"]))
    elif kind == "xyz":
        a, b = int(g["a"]), int(g["b"])
        if a > 12 >= b:
            day, order = _date(year, b, a), "dmy"
        elif b > 12 >= a or a == b:
            day, order = _date(year, a, b), "mdy"
        else:
            return ""  # 04/05/2023: which is the month cannot be known
    else:
        mon = g["mon"].lower()[:3]
        day = _date(year, [m[:3] for m in _MONTHS].index(mon) + 1, int(g["d"]))
    if day is None or days is None:
        return "" if day is not None or kind != "compact" else match.group(0)
    try:
        new = day + _dt.timedelta(days=days)
    except OverflowError:
        return ""
    text = match.group(0)
    if kind == "compact":
        return new.strftime("%Y%m%d")
    if kind == "ymd":
        s = g["s"]
        return f"{new.year:04d}{s}{new.month:0{len(g['m'])}d}{s}{new.day:0{len(g['d'])}d}"
    if kind == "xyz":
        s = g["s"]
        first, second = (new.day, new.month) if order == "dmy" else (new.month, new.day)
        return f"{first:0{len(g['a'])}d}{s}{second:0{len(g['b'])}d}{s}{new.year:04d}"
    start = match.start()
    out = list(text)
    # replace the groups right to left so earlier offsets stay valid
    for name, value in sorted((("y", f"{new.year:04d}"), ("d", f"{new.day:0{len(g['d'])}d}"),
                               ("mon", _month_text(g["mon"], new.month))),
                              key=lambda item: match.start(item[0]), reverse=True):
        a, b = match.start(name) - start, match.end(name) - start
        out[a:b] = value
    return "".join(out)


def rewrite_dates(text: str, days: int | None) -> str:
    """Every date found in ``text`` moved by ``days`` (None: removed); other text untouched."""
    for kind, pattern in _PATTERNS:
        replace: Callable[[re.Match[str]], str] = lambda m, kind=kind: _rewrite(kind, m, days)  # noqa: E731
        text = pattern.sub(replace, text)
    return text
