"""core/ must stay free of UI libraries: checked here, not only by discipline."""

import ast
from pathlib import Path

CORE = Path(__file__).resolve().parent.parent / "core"
UI_MODULES = {"textual", "textual_image", "rich"}


def _imported_roots(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    roots: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
            if node.module.startswith("phi_review.tui"):
                roots.add("phi_review.tui")
    return roots


def test_core_imports_no_ui_library():
    offenders = {
        str(path.relative_to(CORE)): sorted(_imported_roots(path) & (UI_MODULES | {"phi_review.tui"}))
        for path in CORE.rglob("*.py")
    }
    offenders = {name: mods for name, mods in offenders.items() if mods}
    assert offenders == {}


def test_core_import_does_not_pull_ui(tmp_path):
    import subprocess
    import sys

    code = (
        "import sys, pkgutil, importlib, phi_review.core as c\n"
        "for m in pkgutil.iter_modules(c.__path__):\n"
        "    importlib.import_module('phi_review.core.' + m.name)\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in {'textual','textual_image','rich'})\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
