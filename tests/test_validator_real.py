"""The real EDRN validator on a synthetic tree: its CSVs must mean what core.report.validator says.

The validator lives in its own venv (``.ci/install-validator.sh``):
``/opt/labcas-validator/venv/bin/validate-dicom-files`` (release 1.0.1), or
the path in ``PHI_REVIEW_VALIDATOR``. When it is missing the test fails under
CI and is skipped elsewhere. Other installs found beside it (1.0.0, a pre-1.0
snapshot) are run too when present. Each run takes about two seconds.
"""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

from phi_review.core.report.validator import (
    COLUMNS_PER_EVENT,
    COLUMNS_PER_SITE,
    csv_layout,
    file_frame,
    kind_of,
    parse_details,
    sampled_frames,
)
from validator.make_tree import expected, make_validator_tree

DEFAULT = "/opt/labcas-validator/venv/bin/validate-dicom-files"
OPTIONAL = ("/opt/labcas-validator/venv-1.0.0/bin/validate-dicom-files",
            "/opt/labcas-validator/venv-git0/bin/validate-dicom-files")


def _main_validator() -> str:
    path = os.environ.get("PHI_REVIEW_VALIDATOR", DEFAULT)
    problem = None
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        problem = f"validator not installed at {path} (run .ci/install-validator.sh or set PHI_REVIEW_VALIDATOR)"
    elif shutil.which("tesseract") is None:
        problem = "tesseract-ocr is not installed (the validator needs it for pixel findings)"
    if problem:
        if os.environ.get("CI"):
            pytest.fail(problem)
        pytest.skip(problem)
    return path


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return make_validator_tree(tmp_path_factory.mktemp("validator-tree"))


def _validators() -> list[Any]:
    params: list[Any] = [pytest.param("main", id="main")]
    for path in OPTIONAL:
        params.append(pytest.param(path, id=Path(path).parents[1].name,
                                   marks=pytest.mark.skipif(not os.path.exists(path), reason=f"{path} not installed")))
    return params


def _run(exe: str, collection: Path, out: Path, single: bool) -> tuple[str, list[Path]]:
    version = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=60).stdout.strip()
    out.mkdir(parents=True)
    # "-c 2" forces the process pool even on a one-CPU machine (its default is cpu_count()).
    args = [exe, "-q", "-c", "1" if single else "2", "-o", str(out), str(collection)]
    # Pre-1.0 snapshots write -c 1 CSVs into the working directory, ignoring -o.
    done = subprocess.run(args, cwd=out, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return version, sorted(out.glob("*.csv"))


@pytest.mark.parametrize("single", [False, True], ids=["pool", "c1"])
@pytest.mark.parametrize("which", _validators())
def test_real_validator_rows_match_the_planted_findings(which: str, single: bool, tree: dict[str, Any],
                                                        tmp_path: Path) -> None:
    exe = _main_validator() if which == "main" else which
    version, csvs = _run(exe, tree["collection"], tmp_path / "out", single)
    assert csvs, "the validator wrote no CSV"
    files = tree["files"]
    by_key = {(e["site"], e["event"], e["name"]): rel for rel, e in files.items()}

    seen: dict[str, dict[str, set[Any]]] = defaultdict(lambda: defaultdict(set))
    for path in csvs:
        raw = path.read_bytes()
        assert b"\r\n" in raw and not raw.startswith(b"\xef\xbb\xbf")  # csv.writer's excel dialect, no BOM
        with path.open(encoding="utf-8", newline="") as fh:
            rows = list(csv.reader(fh))
        layout = csv_layout(rows[0])
        assert layout in ("per-site", "per-event"), rows[0]
        columns = COLUMNS_PER_SITE if layout == "per-site" else COLUMNS_PER_EVENT
        if layout == "per-site":
            assert path.name == f"{rows[1][0]}.csv"
        else:
            assert path.name == f"{rows[1][0]}-{rows[1][1]}.csv"
        for cells in rows[1:]:
            row = dict(zip(columns, cells, strict=True))
            name = row["File Name"]
            if single:  # -c 1 writes the path as walked, absolute here
                assert os.path.isabs(name) and Path(name).is_file()
            else:
                assert "/" not in name
            rel = by_key[(row["Site ID"], row["Event ID"], Path(name).name)]
            entry = files[rel]
            kind = kind_of(row["Findings"])
            d = parse_details(row["Details"], kind, row.get("Profile"))
            if kind == "pixels":
                frame = file_frame(d.frame_index, entry["frames"])
                planted = {p["frame"]: p["text"].replace(" ", "") for p in entry["pixels"] if p["sampled"]}
                assert frame in planted, (rel, row["Details"])
                assert planted[frame] in d.value  # tesseract's words, joined without spaces
                assert frame in sampled_frames(entry["frames"])
                if frame == 0:
                    assert d.frame_index == (0 if single else -1)  # default mode prints `index or -1`
                seen[rel]["pixels"].add(frame)
            elif kind == "error":
                assert "unexpectedly small" in d.value
                seen[rel]["error"].add(True)
            else:
                assert kind in ("header", "missing", "warning"), row["Findings"]
                assert d.tags, row["Details"]
                assert d.tags[0] in expected(entry, version, kind), (rel, kind, row["Details"])
                assert d.placeholder == (d.value == "")
                seen[rel][kind].add(d.tags[0])

    for rel, entry in files.items():
        for kind in ("header", "missing", "warning"):
            assert seen[rel][kind] == expected(entry, version, kind), (rel, kind, version)
        assert seen[rel]["pixels"] == {p["frame"] for p in entry["pixels"] if p["sampled"]}, rel
        assert bool(seen[rel]["error"]) == entry["by_release"].get(version, {}).get("error", entry["error"]), rel
        for tag in entry["not_reported"]:
            assert all(tag not in tags for tags in seen[rel].values()), (rel, tag)
