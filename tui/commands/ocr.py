"""`phi-review ocr FILE`: the burned-in text of a file, without the screen.

For scripting and for servers without a usable terminal. Output is inert:
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
    parser.add_argument("file", type=Path, help="the DICOM file")
    parser.add_argument("--frame", type=int, action="append", metavar="N",
                        help="1-based frame to read (repeatable; default: first, middle and last)")
    parser.add_argument("--details", default="", metavar="TEXT",
                        help="the validator's Details for this file: its 'frame index k' is read too")
    parser.add_argument("--value", default="", metavar="DETECTED",
                        help="the report's detected value, to mark matching lines")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(func=run_ocr)


def _payload(args: argparse.Namespace, result: Any) -> dict[str, object]:
    from phi_review.core.common.inert import inert

    return {
        "file": inert(str(args.file)),
        "frames": result.frame_count,
        "frames_read": [frame + 1 for frame in result.frames],
        "header": {key: inert(value) for key, value in result.header.items()},
        "lines": [
            {"frame": frame + 1, "text": line.text, "confidence": line.confidence, "box": list(line.box),
             "likely_phi": line.likely_phi, "reason": line.reason}
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


def run_ocr(args: argparse.Namespace) -> int:
    from phi_review.core.common.errors import PhiReviewError
    from phi_review.core.common.inert import inert
    from phi_review.core.common.config import load_config
    from phi_review.core.ocr.engine import configure_shared, ocr_file

    config = load_config()
    configure_shared(config.ocr_passes, config.ocr_threads)
    if not args.file.exists():
        raise PhiReviewError(f"{inert(str(args.file))} not found")
    frames = [f - 1 for f in args.frame] if args.frame else None
    if args.details and frames is None:
        frames = _frames_with_finding(args.file, args.details)
    result = ocr_file(args.file, frames, detected_value=args.value)
    out = sys.stdout
    if args.json:
        out.write(json.dumps(_payload(args, result), ensure_ascii=True) + "\n")
        return 0
    flags = ", ".join(f"{k}={inert(v)}" for k, v in result.header.items()) or "no burned-in flags in header"
    out.write(f"{inert(args.file.name)}: {result.frame_count} frame(s); {flags}\n")
    for frame, lines in result.frames.items():
        phi = sum(line.likely_phi for line in lines)
        out.write(f"frame {frame + 1}: {len(lines)} line(s), {phi} likely PHI\n")
        for line in lines:
            x0, y0, x1, y1 = line.box
            mark = f"  LIKELY PHI ({line.reason})" if line.likely_phi else ""
            out.write(f"  {line.confidence:4.2f}  ({x0},{y0})-({x1},{y1})  {inert(line.text)}{mark}\n")
    return 0
