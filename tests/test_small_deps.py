"""Dependencies (issue 24, item 8): private modules we import are bounded, and textual-image's getdata is gone."""

from __future__ import annotations

import re
import tomllib
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
DISTRIBUTIONS = {"textual": "textual", "textual_image": "textual-image", "pydicom": "pydicom", "PIL": "pillow"}
PRIVATE = re.compile(r"(?:from|import)\s+(textual_image|textual|pydicom|PIL)((?:\.\w+)*)(?:\s+import\s+\(?([\w, ]+))?")


def private_users() -> dict[str, list[str]]:
    """Each distribution whose private modules (a dotted part starting with _) our code imports: where."""
    found: dict[str, list[str]] = {}
    for path in sorted([*ROOT.glob("core/**/*.py"), *ROOT.glob("tui/**/*.py")]):
        for match in PRIVATE.finditer(path.read_text(encoding="utf-8")):
            top, rest, names = match.groups()
            parts = [*rest.split("."), *(names or "").replace(",", " ").split()]
            if any(part.startswith("_") and not part.startswith("__") for part in parts if part):
                found.setdefault(DISTRIBUTIONS[top], []).append(f"{path.relative_to(ROOT)}: {match.group(0)}")
    return found


def test_every_library_whose_private_modules_we_import_has_an_upper_bound() -> None:
    dependencies = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["dependencies"]
    bounds = {re.split(r"[<>=!~ \[]", spec, maxsplit=1)[0].lower(): spec for spec in dependencies}
    users = private_users()
    assert {"textual", "textual-image", "pydicom"} <= set(users), users
    for name, where in users.items():
        assert "<" in bounds[name], f"{name} has no upper bound, yet we import its private modules: {where}"


def test_halfcell_and_sixel_draw_without_pillows_deprecated_getdata() -> None:
    from PIL import Image
    from rich.console import Console

    from phi_review.tui.terminal.graphics import prepare_textual_image

    prepare_textual_image((10, 20), widgets=False)
    from textual_image._pixeldata import PixelData
    from textual_image.renderable import HalfcellImage, SixelImage

    ramp = np.tile(np.arange(0, 240, 4, dtype=np.uint8), (30, 1))
    image = Image.fromarray(np.stack([ramp, ramp[::-1], ramp], axis=-1))
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)  # Pillow 14 removes what warns here
        rows = [list(row) for row in PixelData(image)]
        console = Console(width=60, height=30, color_system="truecolor", force_terminal=True, record=True)
        console.print(HalfcellImage(image, width=60, height=15))
        console.print(SixelImage(image, width=60, height=15))
    assert [tuple(pixel) for pixel in np.asarray(image).reshape(-1, 3)] == [p for row in rows for p in row]
    assert len(rows) == 30 and len(rows[0]) == 60
    assert "▀" in console.export_text()
