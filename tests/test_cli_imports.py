"""Screenless commands import only what they use: start-up is most of their time."""

from __future__ import annotations

import json
import subprocess
import sys

from pydicom.data import get_testdata_file

PROBE = """
import contextlib, io, json, sys
from phi_review.tui.cli import main
with contextlib.redirect_stdout(io.StringIO()):
    try:
        code = main(sys.argv[1:])
    except SystemExit as exit:
        code = exit.code
print(json.dumps([code, sorted(sys.modules)]))
"""


def _modules(*argv: str) -> set[str]:
    done = subprocess.run([sys.executable, "-c", PROBE, *argv], capture_output=True, text=True, timeout=120)
    code, modules = json.loads(done.stdout.strip().splitlines()[-1])
    assert code == 0, done.stderr
    return set(modules)


def test_help_and_header_load_no_screen_and_no_report_libraries():
    heavy = {"textual", "textual.app", "rich", "PIL.Image", "lxml.etree", "python_calamine", "openpyxl",
             "textual_image", "onnxruntime"}
    assert not heavy & _modules("--help")
    pydicom_alone = json.loads(subprocess.run(
        [sys.executable, "-c", "import json, sys, pydicom; print(json.dumps(sorted(sys.modules)))"],
        capture_output=True, text=True, timeout=120).stdout)
    header = _modules("header", get_testdata_file("CT_small.dcm"))
    assert not heavy & (header - set(pydicom_alone))  # pydicom itself loads numpy and Pillow


def test_halfcell_preview_draws_without_textual_app():
    modules = _modules("preview", get_testdata_file("CT_small.dcm"), "--graphics", "halfcell", "--width", "20")
    assert "textual_image.renderable.halfcell" in modules  # it did draw
    assert "textual.app" not in modules and "textual_image.widget" not in modules
