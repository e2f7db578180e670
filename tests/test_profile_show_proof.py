"""The residual check passes on every copy any built-in profile writes (issue 25, "Show").

Each built-in runs through `phi-review fix` (the command a site runs) on a few of pydicom's files (CT,
MR, big-endian MR, US in RGB, palette and multi-frame YBR JPEG, an RGB RLE secondary capture, JPEG 2000)
and the generated two-patient study. Every copy must be proved: exit 0, one "clean" manifest line per
file, nothing under residual/, and the copy where it belongs. The proof is then run again here on each
copy, independently of the run, with the kinds the profile's options keep on purpose.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pydicom
import pytest
from pydicom.data import get_testdata_file

from phi_review.core.proof.check import kept_kinds, prove_copy
from phi_review.core.remedy.profile_file import BUILTINS, load_profile
from phi_review.tui.cli import main
from test_fix_profile import make_study

FILES = ["CT_small.dcm", "MR_small.dcm", "MR_small_bigendian.dcm", "examples_rgb_color.dcm",
         "examples_palette.dcm", "examples_ybr_color.dcm", "SC_rgb_rle.dcm", "JPEG2000.dcm"]


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PHI_REVIEW_FIX_SECRET", "proof-of-builtins-secret")
    monkeypatch.setenv("PHI_REVIEW_CONFIG", str(tmp_path / "cfg" / "config.toml"))


def sources(folder: Path) -> list[Path]:
    """The bundled files copied under one root (the originals stay in pydicom's folder), and the study."""
    paths = []
    for name in FILES:
        found = get_testdata_file(name)
        assert found, f"{name} is not bundled with this pydicom"
        target = folder / "files" / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(found, target)
        paths.append(target)
    return paths + make_study(folder / "study")


@pytest.mark.parametrize("name", sorted(BUILTINS))
def test_every_copy_a_builtin_writes_is_proved(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                               name: str) -> None:
    paths = sources(tmp_path / "in")
    out = tmp_path / "out"
    code = main(["fix", *map(str, paths), "--out", str(out), "--profile", name])
    _, err = capsys.readouterr()
    assert code == 0, err
    assert not (out / "residual").exists(), sorted(str(p) for p in (out / "residual").rglob("*"))
    records = [json.loads(line) for line in (out / "manifest.jsonl").read_text().splitlines() if line.strip()]
    statuses = [r.get("proof", {}).get("status") or r.get("status") for r in records]
    assert statuses.count("clean") == len(paths), (statuses, err)
    copies = sorted(out.rglob("*.dcm"))
    assert len(copies) == len(paths)
    kept = kept_kinds(load_profile(name).options)
    by_name = {(p.parent.name, p.name): p for p in paths}
    for copy in copies:
        original = by_name[(copy.parent.name, copy.name)]
        proof = prove_copy(original, copy, kept=kept, ocr=False)
        assert proof.clean, (name, copy.name, proof.summary())
        ds = pydicom.dcmread(copy, stop_before_pixels=True)
        assert ds.PatientIdentityRemoved == "YES"
