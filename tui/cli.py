"""`phi-review` command line: one sub-command per job, errors as one line.

Each ``cmd_*`` module registers its sub-commands and imports its heavy
libraries inside the handler, so ``phi-review --help`` and the screenless
commands start quickly.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Sequence
from typing import NoReturn

from phi_review import __version__
from phi_review.core.common.errors import PhiReviewError
from phi_review.core.common.inert import inert
from phi_review.core.common.quiet import silence_libraries
from phi_review.tui.commands import dicom as cmd_dicom
from phi_review.tui.commands import fix as cmd_fix
from phi_review.tui.commands import ocr as cmd_ocr
from phi_review.tui.commands import profile as cmd_profile
from phi_review.tui.commands import release as cmd_release
from phi_review.tui.commands import remedy as cmd_remedy
from phi_review.tui.commands import report as cmd_report
from phi_review.tui.commands import review as cmd_review
from phi_review.tui.commands import stats as cmd_stats
from phi_review.tui.commands import scan as cmd_scan

COMMAND_MODULES = (cmd_review, cmd_report, cmd_dicom, cmd_ocr, cmd_fix, cmd_remedy, cmd_release, cmd_scan,
                   cmd_stats, cmd_profile)


class ArgumentParser(argparse.ArgumentParser):
    """argparse with errors as one line (no usage block) that says how to give a value starting with '-'.

    Why: ``decide ... --note -x`` read ``-x`` as an option and printed a usage block; ``--note=-x`` is the
    way, and the line says so. Sub-command parsers are made of this class too.
    """

    def error(self, message: str) -> NoReturn:
        hint = ""
        wanted = re.match(r"argument (--[\w-]+)(?:/[^:]*)?: expected one argument", message)
        if wanted:
            hint = (f"; a value that starts with '-' is written {wanted[1]}=VALUE (e.g. {wanted[1]}=-x), "
                    "and '--' ends the options before file names that start with '-'")
        elif message.startswith("unrecognized arguments"):
            hint = "; a value that starts with '-' is written --option=VALUE, and '--' ends the options"
        self.exit(2, f"{self.prog}: {inert(message)}{hint} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = ArgumentParser(
        prog="phi-review",
        description="Review DICOM files flagged for possible PHI/PII, from the reconciliation report.",
    )
    parser.add_argument("--version", action="version", version=f"phi-review {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in COMMAND_MODULES:
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    silence_libraries()
    handler = getattr(args, "func", None)
    if handler is None:
        parser.print_help()
        return 2
    try:
        return int(handler(args) or 0)
    except PhiReviewError as error:
        print(f"phi-review: {inert(error)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0
    except OSError as error:  # a file we could not read or write: named, one line
        where = f"{inert(error.filename)}: " if error.filename else ""
        print(f"phi-review: {where}{inert(error.strerror or type(error).__name__)}", file=sys.stderr)
        return 2
    except Exception as error:  # noqa: BLE001 - a bug of ours: one line and a distinct status, never a traceback
        text = str(error).strip().splitlines()[0][:200] if str(error).strip() else ""
        print(f"phi-review: internal error ({type(error).__name__}: {inert(text)}); please report it",
              file=sys.stderr)
        return 70


if __name__ == "__main__":
    sys.exit(main())
