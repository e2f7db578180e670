"""Layers, checked here and not only by discipline.

core/ never imports a UI library or phi_review.tui; inside core/, lower rooms
never import higher ones (see each room's __init__ docstring).
"""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

CORE = Path(__file__).resolve().parent.parent / "core"
UI_MODULES = {"textual", "textual_image", "rich"}

# room -> rooms of phi_review.core it must never import
FORBIDDEN: dict[str, set[str]] = {
    "common": {"report", "review", "dicom", "ocr", "remedy", "proof", "release"},
    "dicom": {"report", "review", "ocr", "remedy", "proof", "release"},
    "ocr": {"report", "review", "remedy", "proof", "release"},
    "report": {"review", "remedy", "release"},
    "remedy": {"report", "review", "release"},
    "proof": {"remedy", "report", "review", "release"},
    "review": {"release"},
    "scan": {"report", "review", "remedy", "release"},
    "release": set(),  # the high room: report, review, remedy and proof
}


def imported_modules(source: str, filename: str = "<module>") -> set[str]:
    """Every absolute module name a source file imports, at any depth (lazy imports too)."""
    tree = ast.parse(source, filename=filename)
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def violations(room: str, source: str, filename: str = "<module>") -> list[str]:
    """What a module of `room` imports that its layer forbids."""
    bad = []
    for name in sorted(imported_modules(source, filename)):
        root = name.split(".")[0]
        if root in UI_MODULES or name.startswith("phi_review.tui"):
            bad.append(name)
            continue
        parts = name.split(".")
        if parts[:2] == ["phi_review", "core"] and len(parts) > 2 and parts[2] in FORBIDDEN.get(room, set()):
            bad.append(name)
    return bad


def core_modules() -> list[tuple[str, Path]]:
    found = []
    for path in CORE.rglob("*.py"):
        rel = path.relative_to(CORE).parts
        room = rel[0] if len(rel) > 1 else ""
        found.append((room, path))
    return found


def test_every_core_module_lives_in_a_known_room():
    stray = [str(p.relative_to(CORE)) for room, p in core_modules() if room not in FORBIDDEN and p.name != "__init__.py"]
    assert stray == []


def test_core_layers_hold():
    offenders = {}
    for room, path in core_modules():
        bad = violations(room, path.read_text(encoding="utf-8"), str(path))
        if bad:
            offenders[str(path.relative_to(CORE))] = bad
    assert offenders == {}


@pytest.mark.parametrize(
    ("room", "source"),
    [
        ("dicom", "from phi_review.core.report.model import Finding\n"),
        ("ocr", "def f():\n    from phi_review.core.review import session\n"),
        ("report", "import phi_review.core.review.journal\n"),
        ("common", "from phi_review.core.dicom import pixels\n"),
        ("remedy", "from phi_review.core import review\n"),
        ("review", "from textual.app import App\n"),
        ("dicom", "import rich\n"),
        ("report", "from phi_review.tui.app import ReviewApp\n"),
    ],
)
def test_a_forbidden_import_is_caught(room, source, tmp_path):
    module = tmp_path / "violator.py"
    module.write_text(source)
    assert violations(room, module.read_text(), str(module)) != []


def test_allowed_imports_pass():
    assert violations("review", "from phi_review.core.report.model import Finding\n") == []
    assert violations("ocr", "from phi_review.core.dicom.pixels import render_frame\n") == []


def test_core_import_does_not_pull_ui():
    code = (
        "import sys, pkgutil, importlib, phi_review.core as c\n"
        "for m in pkgutil.walk_packages(c.__path__, 'phi_review.core.'):\n"
        "    importlib.import_module(m.name)\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in {'textual','textual_image','rich'})\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_every_module_stays_small_enough_to_read_whole() -> None:
    """One job per module: none in core/ or tui/ grows past 500 lines (split it into its room instead)."""
    tui = CORE.parent / "tui"
    long = {str(path.relative_to(CORE.parent)): count for path in [*CORE.rglob("*.py"), *tui.rglob("*.py")]
            if (count := len(path.read_text(encoding="utf-8").splitlines())) > 500}
    assert long == {}
