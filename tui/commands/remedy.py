"""`phi-review redact FILE...`: black out burned-in text into corrected copies, without the screen.

Each copy goes under ``--out`` (default ``corrected/`` in the current folder),
mirroring the file's path relative to ``--root``; the original is never
touched; one manifest line per copy records what was done (no PHI). Output is
inert: every path and every OCR line goes through ``inert``.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from pathlib import Path


def register(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    parser = sub.add_parser("redact", help="black out burned-in text into corrected copies (originals untouched)")
    parser.add_argument("files", type=Path, nargs="+", metavar="FILE", help="DICOM files to correct")
    what = parser.add_mutually_exclusive_group(required=True)
    what.add_argument("--box", action="append", metavar="X0,Y0,X1,Y1",
                      help="a box in the image's pixels (x1, y1 exclusive); repeatable")
    what.add_argument("--from-ocr", nargs="?", const="likely", choices=("likely", "all"),
                      help="box the text OCR reads: lines marked likely PHI (default) or all lines")
    what.add_argument("--known-regions", action="store_true",
                      help="box the regions deid's recipe (from CTP) knows for the file's device")
    parser.add_argument("--frames", default="all", metavar="all|N[,M...]", help="1-based frames to black out (default all)")
    parser.add_argument("--out", type=Path, default=Path("corrected"), metavar="DIR", help="output folder (default ./corrected)")
    parser.add_argument("--root", type=Path, action="append", default=[], metavar="DIR",
                        help="copies mirror each file's path relative to this folder (repeatable; default: file name only)")
    parser.add_argument("--keep-uids", action="store_true", help="keep the SOP Instance UID (replace an instance in place)")
    parser.add_argument("--confirm-clean", action="store_true",
                        help="the reviewer confirms the copy is clean: Burned In Annotation = NO")
    parser.add_argument("--verify", action="store_true", help="read the copy again with OCR and report text left")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing corrected copy")
    parser.add_argument("--reviewer", default=None, metavar="NAME", help="who did it (default: login name)")
    parser.add_argument("--uid-root", default=None, metavar="ROOT", help="UID root for the copies' new UIDs")
    parser.add_argument("--deid-recipe", type=Path, default=None, metavar="FILE",
                        help="also write the boxes as a deid recipe for the first file's device signature")
    parser.set_defaults(func=run_redact)


def run_redact(args: argparse.Namespace) -> int:
    """Validate everything first, then write the copies one by one; a bad input stops before any copy is written."""
    import pydicom

    from phi_review.core.common.inert import inert
    from phi_review.core.remedy.output import RemedyError, copy_path
    from phi_review.core.remedy.redact import Box, Redaction, boxes_from_ocr, parse_frames, redact_file

    reviewer = args.reviewer or _login()
    frames = parse_frames(args.frames)
    fixed = [Box.parse(text) for text in args.box] if args.box else []
    plans = []
    for path in args.files:
        if not path.is_file():
            raise RemedyError(f"{inert(str(path))}: no such file")
        try:
            head = pydicom.dcmread(path, stop_before_pixels=True)
        except Exception:  # any pydicom failure means: not a DICOM file we can read
            raise RemedyError(f"{inert(str(path))}: not a readable DICOM file") from None
        rows, columns = int(head.get("Rows", 0) or 0), int(head.get("Columns", 0) or 0)
        if not rows or not columns:
            raise RemedyError(f"{inert(str(path))}: holds no image")
        for box in fixed:
            box.check(columns, rows)
        count = int(head.get("NumberOfFrames", 1) or 1)
        for frame in frames or []:
            if frame >= count:
                raise RemedyError(f"{inert(str(path))}: frame {frame + 1} is outside its {count} frame(s)")
        dest = copy_path(path, args.root, args.out)
        if dest.exists() and not args.overwrite:
            raise RemedyError(f"{inert(str(dest))}: a corrected copy already exists (--overwrite replaces it)")
        plans.append((path, dest, head))
    out = sys.stdout
    for path, dest, head in plans:
        if args.from_ocr:
            boxes = boxes_from_ocr(path, frames, which=args.from_ocr)
        elif args.known_regions:
            from phi_review.core.remedy.regions import known_regions

            regions = known_regions(head)
            boxes = [region.box for region in regions]
            for region in regions:
                out.write(f"{inert(path.name)}: known region {inert(region.label)} {region.box} ({inert(region.source)})\n")
        else:
            boxes = fixed
        if not boxes:
            out.write(f"{inert(str(path))}: nothing to black out, no copy written\n")
            continue
        redaction = Redaction(boxes, frames, keep_uids=args.keep_uids, confirm_clean=args.confirm_clean,
                              uid_root=args.uid_root)
        result = redact_file(path, dest, redaction, overwrite=args.overwrite, reviewer=reviewer,
                             scope="frames" if frames is not None else "file", manifest_dir=args.out)
        done = result.pixels
        out.write(
            f"{inert(str(dest))}: {len(boxes)} box(es) on {len(done.get('frames', []))} of "
            f"{done.get('frame_count', 1)} frame(s), {done.get('method', '')}, "
            f"{_syntax_name(result.transfer_syntax_in)} -> {_syntax_name(result.transfer_syntax_out)}"
            f"{', BurnedInAnnotation NO' if args.confirm_clean else ''}\n"
        )
        if args.verify:
            from phi_review.core.remedy.verify import verify_copy

            check = verify_copy(dest, boxes, frames, original=path)
            inside = sum(len(c.inside) for c in check.frames)
            out.write(f"  verify: {inside} line(s) left inside the boxes, {len(check.phi_left)} likely PHI anywhere\n")
            for c in check.frames:
                for line in c.inside + [line for line in c.outside if line.likely_phi]:
                    where = "inside" if line in c.inside else "outside"
                    out.write(f"  frame {c.frame + 1} {where} {line.box}: {inert(line.text)}\n")
    if args.deid_recipe is not None and plans:
        from phi_review.core.remedy.regions import deid_recipe, device_signature

        recipe_boxes = fixed
        if recipe_boxes:
            args.deid_recipe.write_text(deid_recipe(device_signature(plans[0][2]), recipe_boxes, credit=reviewer),
                                        encoding="utf-8")
            out.write(f"deid recipe: {inert(str(args.deid_recipe))}\n")
    out.write(f"manifest: {inert(str(args.out / 'manifest.jsonl'))}\n")
    return 0


def _syntax_name(uid: str) -> str:
    from pydicom.uid import UID

    return UID(uid).name


def _login() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no login name in some containers
        return "unknown"
