"""`phi-review profile`: list, show, new, disable, enable, preview, import and export de-identification profiles.

Preview applies a profile to each file in memory and prints the header diff
(``header_diff.dataset_diff``) and the known device regions its ``[pixels]`` settings would black out
(``profile_pixels.box_lines``, from the header alone); nothing is written. Every value and path
printed passes ``inert()``.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from phi_review.core.common.errors import PhiReviewError
from phi_review.core.common.inert import inert


def register(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    prof = sub.add_parser("profile", help="de-identification profiles: list, show, new, disable, enable, preview, "
                                          "import, export")
    prof.add_argument("--profiles", type=Path, default=None, metavar="DIR", help="project folder of named profiles")
    verbs = prof.add_subparsers(dest="verb", metavar="VERB")
    listing = verbs.add_parser("list", help="every profile, where it comes from, and whether it is disabled")
    show = verbs.add_parser("show", help="print a profile's TOML")
    show.add_argument("name")
    new = verbs.add_parser("new", help="write a new profile (a template, or a copy of --from)")
    new.add_argument("name")
    new.add_argument("--from", dest="source", default=None, metavar="NAME", help="start from this profile")
    for verb, text in (("disable", "switch a profile off"), ("enable", "switch a profile on again")):
        one = verbs.add_parser(verb, help=text)
        one.add_argument("name")
    preview = verbs.add_parser("preview", help="the header diff and the known-region boxes the profile would "
                                              "produce; nothing written")
    preview.add_argument("name")
    preview.add_argument("files", type=Path, nargs="+")
    preview.add_argument("--secret-file", type=Path, default=None, help="secret for UIDs, dates and pseudonyms")
    preview.add_argument("--pseudonym-prefix", default=None, metavar="TEXT")
    preview.add_argument("--id-map", type=Path, default=None, metavar="FILE")
    imp = verbs.add_parser("import", help="a CTP anonymizer script or a deid recipe as a new named profile")
    imp.add_argument("recipe", type=Path)
    imp.add_argument("--format", required=True, choices=("ctp", "deid"))
    imp.add_argument("--name", required=True, help="the new profile's name")
    exp = verbs.add_parser("export", help="write a profile as a deid recipe (what deid cannot say is named)")
    exp.add_argument("name")
    exp.add_argument("--deid", required=True, type=Path, metavar="OUT", help="the recipe file to write")
    for verb in (listing, show, new, preview, imp, exp):  # --profiles also after the verb
        verb.add_argument("--profiles", type=Path, default=argparse.SUPPRESS, metavar="DIR",
                          help="project folder of named profiles")
    prof.set_defaults(func=run_profile)


def run_profile(args: argparse.Namespace) -> int:
    from phi_review.core.remedy import profile_file as pf

    verb = getattr(args, "verb", None) or "list"
    if verb == "list":
        off = pf.disabled()
        for name, source in pf.available(args.profiles):
            state = "  (disabled)" if name in off else ""
            print(f"{inert(name):<24} {inert(source)}{state}")
        return 0
    if verb == "show":
        profile = pf.load_profile(args.name, args.profiles)
        if profile.name in pf.SOURCES:
            print(f"# source: {pf.SOURCES[profile.name]}")
        for line in profile.text.rstrip("\n").splitlines():
            print(inert(line))
        return 0
    if verb == "export":
        return _export(args, pf)
    if verb in ("new", "import"):
        return _new(args, pf)
    if verb in ("disable", "enable"):
        if verb == "disable":
            pf.load_profile(args.name, args.profiles)  # a name that does not exist is named, not recorded
        pf.set_disabled(args.name, verb == "disable")
        print(f"{inert(args.name)} {verb}d")
        return 0
    return _preview(args, pf)


def _new(args: argparse.Namespace, pf: Any) -> int:
    name = args.name
    args.source = getattr(args, "source", None)
    if not pf.NAME_RE.fullmatch(name):
        raise PhiReviewError("a profile name is lower-case letters, digits, - and _ (at most 64)")
    if name in pf.BUILTINS:
        raise PhiReviewError(f"{name} is a built-in profile; choose another name (--from {name} to start from it)")
    imported = None
    if getattr(args, "recipe", None) is not None:
        from phi_review.core.remedy.profile_recipes import import_recipe

        imported = import_recipe(args.recipe, args.format)
        text = imported.text
    else:
        text = pf.TEMPLATE if args.source is None else pf.load_profile(args.source, args.profiles).text
    pf.parse_profile(text, f"{name} (new)", name)  # checked before anything is written
    folder = args.profiles or pf.user_dir()
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{name}.toml"
    try:
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except FileExistsError:
        raise PhiReviewError(f"{inert(target)} already exists") from None
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    print(f"wrote {inert(target)}")
    if imported is not None:
        print(f"# {imported.rules} rule(s); {imported.loosened} keep what the Basic Profile changes "
              "(allow_keep = true): review them")
        for note in imported.notes:
            print(f"# {inert(note)}")
    return 0


def _preview(args: argparse.Namespace, pf: Any) -> int:
    from phi_review.core.remedy.profile import load_secret
    from phi_review.core.remedy.profile_pixels import box_lines, settings_line
    from phi_review.core.remedy.profile_preview import preview_with
    from phi_review.core.remedy.pseudonym import check_run

    profile = pf.load_profile(args.name, args.profiles)
    built = pf.build_editor(profile, load_secret(args.secret_file), prefix=args.pseudonym_prefix,
                            id_map=args.id_map)
    if built.pseudonyms is not None:
        check_run(args.files, built.pseudonyms)  # every file's patient first: a collision stops before any diff
    print(f"# {settings_line(profile.pixels)}")
    for path in args.files:
        shown = preview_with(profile.name, built, path)
        print(f"# {inert(path)}: {shown.diff.summary_line()}")
        for line in box_lines(profile.pixels, path):  # from the header alone: no pixel read or written
            print(f"# {line}")
        for line in shown.lines():
            print(line)
    return 0


def _export(args: argparse.Namespace, pf: Any) -> int:
    """Write the recipe (never over an existing file); exit 1 when some construct has no deid form."""
    import sys

    from phi_review.core.remedy.profile_export import export_deid

    profile = pf.load_profile(args.name, args.profiles)
    exported = export_deid(profile)
    try:
        fd = os.open(args.deid, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except FileExistsError:
        raise PhiReviewError(f"{inert(args.deid)} already exists") from None
    except OSError as error:
        raise PhiReviewError(f"cannot write {inert(args.deid)}: {inert(error.strerror or 'error')}") from None
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(exported.text)
    print(f"wrote {inert(args.deid)}: {exported.lines} %header line(s)")
    for line in exported.unsupported:
        print(f"{inert(args.deid)}: not expressible in deid: {inert(line)}", file=sys.stderr)
    if exported.unsupported:
        print(f"{inert(args.deid)}: export incomplete: {len(exported.unsupported)} construct(s) written with a "
              "stricter stand-in or not at all (see the UNSUPPORTED comments)", file=sys.stderr)
        return 1
    return 0
