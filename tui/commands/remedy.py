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
from collections.abc import Callable
from pathlib import Path
from typing import Any

from phi_review.tui.commands.batch import Failures
from phi_review.tui.commands.resume import resume_plan


def register(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    parser = sub.add_parser("redact", help="black out burned-in text into corrected copies (originals untouched)")
    parser.add_argument("files", type=Path, nargs="+", metavar="FILE", help="DICOM files to correct")
    what = parser.add_mutually_exclusive_group(required=True)
    what.add_argument("--box", action="append", metavar="X0,Y0,X1,Y1",
                      help="a box in the image's pixels (x1, y1 exclusive); repeatable")
    what.add_argument("--from-ocr", nargs="?", const="likely", choices=("likely", "all"),
                      help="box the text OCR reads on each frame, on that frame: lines marked likely PHI "
                           "(default) or all lines")
    what.add_argument("--known-regions", action="store_true",
                      help="box the regions deid's recipe (from CTP) knows for the file's device")
    parser.add_argument("--boxes-union", action="store_true",
                        help="with --from-ocr: black out every frame's boxes on every chosen frame")
    parser.add_argument("--frames", default="all", metavar="all|N[,M...]", help="1-based frames to black out (default all)")
    parser.add_argument("--out", type=Path, default=Path("corrected"), metavar="DIR", help="output folder (default ./corrected)")
    parser.add_argument("--root", type=Path, action="append", default=[], metavar="DIR",
                        help="copies mirror each file's path relative to this folder (repeatable; default: file name only)")
    parser.add_argument("--keep-uids", action="store_true", help="keep the SOP Instance UID (replace an instance in place)")
    parser.add_argument("--confirm-clean", action="store_true",
                        help="the reviewer confirms the copy is clean: Burned In Annotation = NO")
    parser.add_argument("--accept-residual", default="", metavar="REASON",
                        help="keep the claims even when the proof finds a likely identifier left; REASON is recorded")
    parser.add_argument("--verify", action="store_true", help="read the copy again with OCR and report text left")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing corrected copy")
    parser.add_argument("--resume", action="store_true",
                        help="go on after an interrupted run (the default: copies this job recorded are kept)")
    parser.add_argument("--reviewer", default=None, metavar="NAME", help="who did it (default: login name)")
    parser.add_argument("--uid-root", default=None, metavar="ROOT", help="UID root for the copies' new UIDs (default 2.25)")
    parser.add_argument("--secret-file", type=Path, default=None, metavar="FILE",
                        help="secret the new UIDs are keyed by, as `fix` uses it (default: $PHI_REVIEW_FIX_SECRET, "
                             "else ~/.config/phi-review/fix-secret, made once, mode 0600)")
    parser.add_argument("--deid-recipe", type=Path, default=None, metavar="FILE",
                        help="also write the boxes as a deid recipe for the first file's device signature")
    parser.set_defaults(func=run_redact)


def run_redact(args: argparse.Namespace) -> int:
    """Check every file first, then write the copies one by one; a file that cannot be read or written is named
    and skipped, the others go on, and the exit status says so (1 some failed, 2 every one)."""
    from phi_review.core.common.inert import inert
    from phi_review.core.remedy.output import RemedyError, copy_path, plan_copies
    from phi_review.core.remedy.redact import Box, Redaction, boxes_from_ocr, parse_frames, redact_file

    reviewer = args.reviewer or _login()
    frames = parse_frames(args.frames)
    if args.boxes_union and not args.from_ocr:
        raise RemedyError("--boxes-union goes with --from-ocr")
    secret = None
    if not args.keep_uids:
        from phi_review.core.remedy.profile import ProfileSettings
        from phi_review.core.remedy.secret import load_secret

        secret = load_secret(args.secret_file)  # before any copy: a missing secret stops the run
        ProfileSettings(secret, uid_root=args.uid_root or "2.25")  # a bad --uid-root too
    fixed = [Box.parse(text) for text in args.box] if args.box else []
    plans = []
    failures = Failures("redact")  # a file that cannot be read is named and skipped; the others go on
    for path in args.files:
        try:
            head = _image_header(path, fixed, frames)
        except Exception as error:  # noqa: BLE001 - named, one line, never a traceback
            failures.add(path, error)
            continue
        dest = copy_path(path, args.root, args.out)
        plans.append((path, dest, head))
    plan_copies([path for path, _, _ in plans], args.root, args.out)  # two files bound for one copy: refused
    if args.deid_recipe is not None and not args.deid_recipe.parent.is_dir():
        raise RemedyError(f"--deid-recipe {inert(str(args.deid_recipe))}: its folder does not exist")
    todo = resume_plan({dest: path for path, dest, _ in plans}, args.out, _same_redaction(args, fixed, frames),
                   overwrite=args.overwrite, hint="--overwrite replaces it")
    out = sys.stdout

    def redact_one(path: Path, dest: Path, head: Any) -> None:
        per_frame = None
        if args.from_ocr and args.boxes_union:
            boxes = boxes_from_ocr(path, frames, which=args.from_ocr)
        elif args.from_ocr:
            from phi_review.core.remedy.boxes import boxes_per_frame

            per_frame = boxes_per_frame(path, frames, which=args.from_ocr)
            boxes = list(dict.fromkeys(b for found in per_frame.values() for b in found))
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
            return
        redaction = Redaction(boxes, frames, keep_uids=args.keep_uids, confirm_clean=args.confirm_clean,
                              uid_root=args.uid_root, secret=secret, frame_boxes=per_frame)
        result = redact_file(path, dest, redaction, overwrite=args.overwrite, reviewer=reviewer,
                             scope="frames" if frames is not None else "file", manifest_dir=args.out,
                             accept_residual=args.accept_residual)
        done = result.pixels
        out.write(
            f"{inert(str(dest))}: {len(boxes)} box(es) on {len(done.get('frames', []))} of "
            f"{done.get('frame_count', 1)} frame(s), {done.get('method', '')}, "
            f"{_syntax_name(result.transfer_syntax_in)} -> {_syntax_name(result.transfer_syntax_out)}"
            f"{', BurnedInAnnotation NO' if args.confirm_clean else ''}; {getattr(result, 'proof_summary', '')}\n"
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

    for path, dest, head in plans:
        if dest not in todo:
            continue
        try:
            redact_one(path, dest, head)
        except Exception as error:  # noqa: BLE001 - one damaged file does not stop the others; it is named
            failures.add(path, error)
    if args.deid_recipe is not None and plans:
        from phi_review.core.remedy.regions import deid_recipe, device_signature

        recipe_boxes = fixed
        if recipe_boxes:
            args.deid_recipe.write_text(deid_recipe(device_signature(plans[0][2]), recipe_boxes, credit=reviewer),
                                        encoding="utf-8")
            out.write(f"deid recipe: {inert(str(args.deid_recipe))}\n")
    out.write(f"manifest: {inert(str(args.out / 'manifest.jsonl'))}\n")
    return failures.finish(len(args.files))


def _image_header(path: Path, fixed: list, frames: list[int] | None) -> Any:
    """The header of a file that can be redacted as asked (bounded read); RemedyError naming it otherwise."""
    from phi_review.core.common.inert import inert
    from phi_review.core.dicom.bounded import decode_budget_problem, read_header
    from phi_review.core.remedy.output import RemedyError

    head = read_header(path)  # regular files only; a zero tail is not read
    try:
        rows, columns = int(head.get("Rows", 0) or 0), int(head.get("Columns", 0) or 0)
        count = int(head.get("NumberOfFrames", 1) or 1)
    except Exception:  # noqa: BLE001 - Rows "1A", an odd-length US: pydicom raises while converting
        raise RemedyError(f"{inert(str(path))}: its image size cannot be read") from None
    if not rows or not columns:
        raise RemedyError(f"{inert(str(path))}: holds no image")
    for box in fixed:
        box.check(columns, rows)
    for frame in frames or []:
        if frame >= count:
            raise RemedyError(f"{inert(str(path))}: frame {frame + 1} is outside its {count} frame(s)")
    if problem := decode_budget_problem(path, head):  # refused before a decoder allocates what it declares
        raise RemedyError(f"{inert(str(path))}: not decoded: {problem}")
    return head


def _same_redaction(args: argparse.Namespace, fixed: list, frames: object) -> Callable[[dict], bool]:
    """Whether a manifest record was written by this same redaction (a re-run keeps that copy)."""
    boxes = [list(box.as_tuple()) for box in fixed]
    scope = "frames" if frames is not None else "file"

    def same(record: dict) -> bool:
        return (record.get("action") == "redact" and record.get("scope") == scope
                and bool(record.get("kept_uids")) == bool(args.keep_uids)
                and bool(record.get("confirmed_clean")) == bool(args.confirm_clean)
                and (not boxes or (record.get("pixels") or {}).get("boxes") == boxes))

    return same


def _syntax_name(uid: str) -> str:
    from pydicom.uid import UID

    return UID(uid).name


def _login() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no login name in some containers
        return "unknown"
