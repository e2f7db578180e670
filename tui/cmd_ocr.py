"""`phi-review ocr FILE`: the burned-in text of a file, without the screen."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def register(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    parser = sub.add_parser("ocr", help="read burned-in text from a DICOM file's pixels")
    parser.add_argument("file", type=Path, help="the DICOM file")
    parser.add_argument("--frame", type=int, action="append",
                        help="1-based frame to read (repeatable; default: first, middle and last)")
    parser.add_argument("--value", default="", help="the report's detected value, to mark matching lines")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(func=run_ocr)


def run_ocr(args: argparse.Namespace) -> int:
    from phi_review.core.errors import PhiReviewError
    from phi_review.core.inert import inert
    from phi_review.core.ocr import ocr_file

    if not args.file.is_file():
        raise PhiReviewError(f"{args.file} not found")
    frames = [f - 1 for f in args.frame] if args.frame else None
    result = ocr_file(args.file, frames, detected_value=args.value)
    if args.json:
        payload = {
            "file": str(args.file),
            "frames": result.frame_count,
            "header": result.header,
            "lines": [
                {"frame": frame + 1, "text": line.text, "confidence": line.confidence, "box": list(line.box),
                 "likely_phi": line.likely_phi, "reason": line.reason}
                for frame, lines in result.frames.items() for line in lines
            ],
        }
        sys.stdout.write(json.dumps(payload, ensure_ascii=True) + "\n")
        return 0
    out = sys.stdout
    flags = ", ".join(f"{k}={inert(v)}" for k, v in result.header.items()) or "no burned-in flags in header"
    out.write(f"{inert(args.file.name)}: {result.frame_count} frame(s); {flags}\n")
    for frame, lines in result.frames.items():
        out.write(f"frame {frame + 1}: {len(lines)} line(s)\n")
        for line in lines:
            mark = f"PHI? {line.reason}" if line.likely_phi else ""
            x0, y0, x1, y1 = line.box
            out.write(f"  {line.confidence:4.2f}  ({x0},{y0})-({x1},{y1})  {line.text}  {mark}\n".replace("  \n", "\n"))
    return 0
