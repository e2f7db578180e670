"""`phi-review ocr FILE...`: the burned-in text of files, without the screen.

For scripting and for servers without a usable terminal. Several files are
read in one process, the models loaded once; with ``--json`` each file is one
JSON object on its own line (one file: one object, as before). A file that
cannot be read is one line saying why, and the others are still read. Output is inert:
every string that came from the file goes through ``inert`` (plain text) or
JSON with ``ensure_ascii`` (escape sequences cannot reach the terminal).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any


def register(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    parser = sub.add_parser("ocr", help="read burned-in text from a DICOM file's pixels")
    parser.add_argument("file", type=Path, nargs="+", help="the DICOM file(s)")
    parser.add_argument("--frame", type=_frame_arg, action="append", metavar="N|all",
                        help="1-based frame to read (repeatable), or 'all'; default: first, middle and last")
    parser.add_argument("--details", default="", metavar="TEXT",
                        help="the validator's Details for this file: its 'frame index k' is read too")
    parser.add_argument("--value", default="", metavar="DETECTED",
                        help="the report's detected value, to mark matching lines")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(func=run_ocr)


def _frame_arg(text: str) -> int | str:
    if text.strip().lower() == "all":
        return "all"
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"a frame is a number from 1, or 'all' (got {text!r})") from None
    if value < 1:
        raise argparse.ArgumentTypeError("frames are numbered from 1")
    return value


def _payload(path: Path, result: Any) -> dict[str, object]:
    from phi_review.core.common.inert import inert

    return {
        "file": inert(str(path)),
        "frames": result.frame_count,
        "frames_read": [frame + 1 for frame in result.frames],
        "header": {key: inert(value) for key, value in result.header.items()},
        "lines": [
            {"frame": frame + 1, "text": line.text, "confidence": line.confidence, "box": list(line.box),
             "likely_phi": line.likely_phi, "reason": line.reason,
             "words": [{"text": word.text, "confidence": word.confidence, "box": list(word.box)}
                       for word in line.words]}
            for frame, lines in result.frames.items() for line in lines
        ],
    }


def _frames_with_finding(path: Path, details: str) -> list[int] | None:
    """First, middle and last frame, plus the one the validator's finding names (0-based)."""
    from phi_review.core.dicom.pixels import image_info
    from phi_review.core.report.validator import file_frame, parse_details

    parsed = parse_details(details, "pixels")
    if parsed.frame_index is None:
        return None
    count = image_info(path).frames
    return sorted({0, count // 2, count - 1, file_frame(parsed.frame_index, count)})


def _wanted(path: Path, args: argparse.Namespace) -> list[int] | None:
    """0-based frames to read in this file: as asked, all, or first/middle/last (+ the finding's)."""
    if args.frame and "all" in args.frame:
        from phi_review.core.dicom.pixels import image_info

        return list(range(image_info(path).frames))
    if args.frame:
        return [f - 1 for f in args.frame]
    if args.details:
        return _frames_with_finding(path, args.details)
    return None


def run_ocr(args: argparse.Namespace) -> int:
    from phi_review.core.common.errors import PhiReviewError
    from phi_review.core.common.inert import inert
    from phi_review.core.common.config import load_config
    from phi_review.core.ocr.engine import configure_shared, ocr_file

    config = load_config()
    configure_shared(config.ocr_passes, config.ocr_threads)
    files: list[Path] = args.file
    single = len(files) == 1
    failed = 0
    out = sys.stdout
    for path in files:
        try:
            if not path.exists():
                raise PhiReviewError(f"{inert(str(path))} not found")
            result = ocr_file(path, _wanted(path, args), detected_value=args.value)
        except PhiReviewError as error:
            if single:
                raise
            failed += 1
            if args.json:
                out.write(json.dumps({"file": inert(str(path)), "error": inert(str(error))}, ensure_ascii=True) + "\n")
            else:
                sys.stderr.write(f"phi-review: {inert(str(error))}\n")
            continue
        if args.json:
            out.write(json.dumps(_payload(path, result), ensure_ascii=True) + "\n")
        else:
            _print_plain(out, path, result)
        out.flush()
    return 1 if failed else 0


def _print_plain(out: Any, path: Path, result: Any) -> None:
    from phi_review.core.common.inert import inert

    flags = ", ".join(f"{k}={inert(v)}" for k, v in result.header.items()) or "no burned-in flags in header"
    out.write(f"{inert(path.name)}: {result.frame_count} frame(s); {flags}\n")
    for frame, lines in result.frames.items():
        phi = sum(line.likely_phi for line in lines)
        out.write(f"frame {frame + 1}: {len(lines)} line(s), {phi} likely PHI\n")
        for line in lines:
            x0, y0, x1, y1 = line.box
            mark = f"  LIKELY PHI ({line.reason})" if line.likely_phi else ""
            out.write(f"  {line.confidence:4.2f}  ({x0},{y0})-({x1},{y1})  {inert(line.text)}{mark}\n")
