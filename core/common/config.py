"""User configuration: a small TOML file, so key remaps and defaults survive sessions.

Location: ``$PHI_REVIEW_CONFIG`` if set, else ``$XDG_CONFIG_HOME/phi-review/config.toml``
(``~/.config/phi-review/config.toml``). Example::

    graphics = "halfcell"
    reviewer = "jdoe"

    [keys]            # binding id = "key[,key...]"  (ids: phi-review keys --ids)
    "app.next_unreviewed" = "n,tab"
    "app.decide_1" = "1,y"

    [ocr]
    passes = ["plain"]   # of "plain", "closer", "contrast", "inverted"; default plain + closer + contrast
    threads = 1          # default: all cores but one
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from phi_review.core.common.errors import PhiReviewError


@dataclass
class Config:
    keys: dict[str, str] = field(default_factory=dict)
    graphics: str | None = None
    reviewer: str | None = None
    ocr_passes: tuple[str, ...] | None = None
    ocr_threads: int | None = None
    path: Path | None = None


def config_path() -> Path:
    explicit = os.environ.get("PHI_REVIEW_CONFIG")
    if explicit:
        return Path(explicit).expanduser()
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return Path(base) / "phi-review" / "config.toml"


def load_config(path: Path | None = None) -> Config:
    """Read the config file; a missing file is an empty config, a broken one a clear error."""
    path = path or config_path()
    if not path.is_file():
        return Config(path=path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise PhiReviewError(f"cannot read config {path}: {error}") from None
    keys = data.get("keys", {})
    if not isinstance(keys, dict) or not all(isinstance(v, str) for v in keys.values()):
        raise PhiReviewError(f"config {path}: [keys] must map binding ids to key strings")
    graphics = data.get("graphics")
    reviewer = data.get("reviewer")
    ocr = data.get("ocr", {})
    passes = ocr.get("passes") if isinstance(ocr, dict) else None
    threads = ocr.get("threads") if isinstance(ocr, dict) else None
    if not isinstance(ocr, dict) or (passes is not None and not (
            isinstance(passes, list) and passes and all(isinstance(p, str) for p in passes))):
        raise PhiReviewError(f"config {path}: [ocr] passes must be a list such as [\"plain\", \"contrast\"]")
    if threads is not None and (isinstance(threads, bool) or not isinstance(threads, int) or threads < 1):
        raise PhiReviewError(f"config {path}: [ocr] threads must be a whole number of at least 1")
    return Config(
        keys={str(k): v for k, v in keys.items()},
        graphics=str(graphics) if graphics else None,
        reviewer=str(reviewer) if reviewer else None,
        ocr_passes=tuple(passes) if passes else None,
        ocr_threads=threads,
        path=path,
    )
