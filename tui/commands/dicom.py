"""`phi-review header` and `phi-review preview`: one file, no review screen.

Every value printed here is untrusted: rows arrive from core already inert
(control characters as ``\\xNN``) and are written with plain ``write``, so Rich
markup in a value is printed as the text it is.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from phi_review.core.common.inert import inert


def register(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    header = sub.add_parser("header", help="print a DICOM file's header, every value shown inert")
    header.add_argument("file", type=Path)
    header.add_argument("--find", help="show only rows whose keyword, (gggg,eeee) or value contains this")
    header.add_argument("--json", action="store_true", help="one JSON list of rows")
    header.set_defaults(func=run_header)

    preview = sub.add_parser("preview", help="show one frame in the terminal")
    preview.add_argument("file", type=Path)
    preview.add_argument("--frame", type=int, default=1, help="1-based frame number (default 1)")
    preview.add_argument("--graphics", choices=("auto", "kitty", "sixel", "halfcell", "none"), default="auto")
    preview.add_argument("--width", type=int, help="width in terminal columns (default: the terminal's)")
    preview.add_argument("--preset", choices=("file", "full", "robust"), default="file", help="window preset")
    preview.set_defaults(func=run_preview)


def run_header(args: argparse.Namespace) -> int:
    from phi_review.core.dicom.header import normalize, read_header

    result = read_header(args.file, match_values=[args.find] if args.find else [],
                         match_tags=[args.find] if args.find else [])
    rows = result.rows
    if args.find:
        needle = normalize(args.find)
        rows = [r for r in rows if r.matched or needle in normalize(f"{r.tag} {r.keyword}")]
        if not rows:
            # Like grep: say so and exit 1, so a script never takes silence for "not there".
            sys.stderr.write(f"phi-review header: nothing in {inert(args.file.name)} matches {inert(args.find)!r}\n")
            return 1
    if args.json:
        keys = ("tag", "keyword", "vr", "vm", "full_value", "depth", "private_creator", "is_meta", "matched", "missing",
                "identifying")
        payload = [{("value" if k == "full_value" else k): getattr(r, k) for k in keys} for r in rows]
        sys.stdout.write(json.dumps({"file": inert(str(args.file)), "error": result.error, "rows": payload}, ensure_ascii=True))
        sys.stdout.write("\n")
        return 0
    out = sys.stdout
    out.write(f"# {inert(args.file.name)}: {result.transfer_syntax or 'no transfer syntax'}, {result.frames} frame(s)\n")
    if result.error:
        out.write(f"# warning: {result.error}\n")
    others = result.other_identifying()
    if others:
        out.write(f"# identifying tags that hold values (*): {', '.join(others)}\n")
    for row in rows:
        mark = ">>" if row.matched else ("!!" if row.missing else (" *" if row.identifying else "  "))
        indent = "  " * min(row.depth, 16)  # a hostile 3,000-deep nesting must not push the value off the line
        name = row.keyword or "?"
        if row.private_creator:
            name = f"{name} [{row.private_creator}]"
        value = "MISSING" if row.missing else row.value
        out.write(f"{mark} {indent}{row.tag} {row.vr:<2} {name:<36} {value}\n")
    return 0


def preview_cells(image_w: int, image_h: int, max_cols: int, max_rows: int,
                  cell: tuple[int, int]) -> tuple[int, int]:
    """Columns and rows that show the whole image at its aspect within max_cols x max_rows."""
    cell_w, cell_h = max(1, cell[0]), max(1, cell[1])
    scale = min(max_cols * cell_w / max(1, image_w), max_rows * cell_h / max(1, image_h))
    cols = min(max_cols, max(1, round(image_w * scale / cell_w)))
    rows = min(max_rows, max(1, round(image_h * scale / cell_h)))
    return cols, rows


def run_preview(args: argparse.Namespace) -> int:
    import shutil

    from PIL import Image

    from phi_review.core.common.errors import PhiReviewError
    from phi_review.core.dicom.pixels import fit, image_info, render_frame

    info = image_info(args.file)
    if not 1 <= args.frame <= info.frames:
        raise PhiReviewError(f"frame {args.frame} does not exist: the file has {info.frames} frame(s)")
    describe = (f"{inert(args.file.name)}: {info.columns}x{info.rows}, frame {args.frame}/{info.frames}, "
                f"{info.photometric}, {info.transfer_syntax}, window {args.preset}")
    if args.width is not None and args.width < 1:
        raise PhiReviewError(f"--width {args.width}: give at least 1 column")
    mode = args.graphics
    if mode == "auto" and not sys.stdout.isatty():
        mode = "none"
    image = render_frame(args.file, args.frame - 1, preset=args.preset)
    if mode == "none":
        sys.stdout.write(describe + "\n")
        return 0
    from phi_review.tui.terminal.graphics import choose_graphics, renderable_class

    choice = choose_graphics(mode)  # the only probe of this command
    if choice.warning:
        sys.stderr.write(choice.warning + "\n")
    renderable = renderable_class(choice.mode)
    if renderable is None:
        sys.stdout.write(describe + "\n")
        return 0
    terminal = shutil.get_terminal_size((80, 24))
    cell = choice.caps.cell_size or (10, 20)
    # Fit width AND height: the describe line and the shell prompt keep their rows.
    columns, rows = preview_cells(info.columns, info.rows, args.width or terminal.columns,
                                  max(1, terminal.lines - 2), cell)
    fitted = fit(image, (columns * cell[0], rows * cell[1]))
    picture = Image.fromarray(fitted)
    no_color = bool(os.environ.get("NO_COLOR"))
    if no_color:
        # NO_COLOR is about the interface: the pixels still show, in grey levels.
        picture = picture.convert("L").convert("RGB")
    from rich.console import Console

    console = Console(highlight=False, markup=False, force_terminal=True, no_color=False,
                      color_system=choice.colors)  # type: ignore[arg-type]
    console.print(renderable(picture, width=columns, height=rows))
    sys.stdout.write(describe + "\n")
    return 0
