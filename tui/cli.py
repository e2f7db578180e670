"""`phi-review` command line: one sub-command per job, errors as one line.

Each ``cmd_*`` module registers its sub-commands and imports its heavy
libraries inside the handler, so ``phi-review --help`` and the screenless
commands start quickly.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from phi_review import __version__
from phi_review.core.common.errors import PhiReviewError
from phi_review.core.common.inert import inert
from phi_review.core.common.quiet import silence_libraries
from phi_review.tui.commands import dicom as cmd_dicom
from phi_review.tui.commands import fix as cmd_fix
from phi_review.tui.commands import ocr as cmd_ocr
from phi_review.tui.commands import remedy as cmd_remedy
from phi_review.tui.commands import report as cmd_report
from phi_review.tui.commands import review as cmd_review

COMMAND_MODULES = (cmd_review, cmd_report, cmd_dicom, cmd_ocr, cmd_fix, cmd_remedy)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
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


if __name__ == "__main__":
    sys.exit(main())
