"""Extract the known burned-in text regions of deid's default recipe into deid_regions.json.

Run: ``python core/remedy/data/make_deid_regions.py PATH/TO/deid/data/deid.dicom > core/remedy/data/deid_regions.json``
(``pip download --no-deps deid`` and unzip the wheel to get the recipe). deid
(MIT licence, github.com/pydicom/deid) carries CTP's DicomPixelAnonymizer
signatures (labels marked "# (CTP)") and its own. Only LABELs with coordinates
are kept. ``ctpcoordinates`` (x, y, width, height) become x0, y0, x1, y1 as
deid itself converts them; coordinates taken from the file (``from:``) and
``all`` are kept as they are for the matcher to resolve. The JSON is
machine-readable: label, section, source, criteria lines, boxes.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

ACTIONS = ("notcontains", "notequals", "contains", "equals", "missing", "empty", "present")
COORDS = ("ctpkeepcoordinates", "ctpcoordinates", "keepcoordinates", "coordinates")


def parse_condition(text: str) -> dict:
    """One ``action Field value`` term."""
    parts = text.strip().split(None, 2)
    action = parts[0].lower()
    if action not in ACTIONS:
        raise ValueError(f"unknown filter action {action!r}")
    return {"action": action, "field": parts[1], "value": parts[2].strip() if len(parts) > 2 else ""}


def parse_line(text: str) -> dict:
    """A criteria line: leading ``+`` (and) or ``||`` (or), then terms joined by ``||`` or ``+``."""
    text = text.strip()
    operator = None
    if text.startswith("+"):
        operator, text = "and", text[1:].strip()
    elif text.startswith("||"):
        operator, text = "or", text[2:].strip()
    pieces = re.split(r"\s(\|\||\+)\s", " " + text + " ")
    terms, inner = [], []
    for piece in pieces:
        if piece in ("||", "+"):
            inner.append("or" if piece == "||" else "and")
        elif piece.strip():
            terms.append(parse_condition(piece))
    return {"operator": operator, "terms": terms, "inner": inner}


def box_of(kind: str, raw: str) -> list[int] | str:
    raw = raw.strip()
    if raw == "all" or raw.startswith("from:"):
        return raw
    values = [int(v) for v in raw.replace(" ", "").split(",") if v]
    if kind.startswith("ctp"):
        x, y, w, h = values
        return [x, y, x + w, y + h]
    return values


def extract(text: str, source: str) -> list[dict]:
    rules: list[dict] = []
    section = ""
    current: dict | None = None
    for raw_line in text.splitlines():
        line = raw_line.strip()  # deid reads '#' as a comment only at the start of a line and on LABEL lines
        if not line or line.startswith("#"):
            continue
        if line.startswith("%filter"):
            section = line.split(None, 1)[1].strip()
            current = None
            continue
        if line.startswith("%"):
            section, current = "", None
            continue
        if not section:
            continue
        if line.upper().startswith("LABEL"):
            label, _, credit = line[5:].partition("#")
            current = {"label": label.strip(), "section": section, "credit": credit.strip().strip("()").strip(),
                       "source": source, "criteria": [], "boxes": [], "keep": []}
            rules.append(current)
            continue
        if current is None:
            continue
        lower = line.lower()
        kind = next((k for k in COORDS if lower.startswith(k)), None)
        if kind:
            target = "keep" if "keep" in kind else "boxes"
            current[target].append(box_of(kind, line[len(kind):]))
        else:
            current["criteria"].append(parse_line(line))
    return [rule for rule in rules if rule["boxes"]]


def main(argv: list[str]) -> int:
    path = Path(argv[1])
    version = argv[2] if len(argv) > 2 else "0.4.13"
    rules = extract(path.read_text(encoding="utf-8"), f"deid {version} default recipe (deid.dicom)")
    json.dump({"source": f"pydicom/deid {version} deid/data/deid.dicom (MIT); labels marked CTP come from RSNA CTP",
               "rules": rules}, sys.stdout, indent=1)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
