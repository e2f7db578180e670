"""A profile's ``[pixels]`` settings and the boxes `phi-review profile preview` prints (issue 25, "Build" 1-2).

Preview lists, for each file, the known device regions (CTP/deid signatures) the profile would black out,
from the header alone; `known_regions = false` says none; the OCR floor and the extra identifier patterns
are named. Nothing is written. A bad ``[pixels]`` is one line naming the file and the line.
"""

from __future__ import annotations

import re
from pathlib import Path

import pydicom
import pytest
from pydicom.data import get_testdata_file

from phi_review.core.remedy.output import sha256_file
from phi_review.core.remedy.profile_export import export_deid
from phi_review.core.remedy.profile_file import TEMPLATE, load_profile, parse_profile
from phi_review.core.remedy.profile_pixels import PixelSettings
from phi_review.tui.cli import main

SECRET = "pixels-preview-secret"


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PHI_REVIEW_FIX_SECRET", SECRET)
    monkeypatch.setenv("PHI_REVIEW_CONFIG", str(tmp_path / "cfg" / "config.toml"))


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def files(folder: Path) -> tuple[Path, Path]:
    """A GE LightSpeed VCT localizer (deid's recipe blacks out its top-left 80x85 corner) and plain CT_small."""
    folder.mkdir(parents=True, exist_ok=True)
    ds = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
    ds.PatientName = "Doe^Jane"
    plain = folder / "plain.dcm"
    ds.save_as(plain)
    ds.ManufacturerModelName, ds.Modality = "LightSpeed VCT", "CT"
    ds.ImageType = ["ORIGINAL", "PRIMARY", "LOCALIZER"]
    known = folder / "localizer.dcm"
    ds.save_as(known)
    return known, plain


def snapshot(root: Path) -> dict[Path, str]:
    return {p: sha256_file(p) for p in root.rglob("*") if p.is_file()}


def test_preview_prints_the_known_region_boxes_and_writes_nothing(tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    known, plain = files(tmp_path / "in")
    before = snapshot(tmp_path)
    code, out, err = run(capsys, "profile", "preview", "tcia", str(known), str(plain))
    assert code == 0, err
    assert "# pixels: known device regions on; OCR confidence floor the engine's default; 0 extra" in out
    sections = out.split(f"# {plain}:")
    assert "# boxes: 1 known device region(s) to black out in every frame" in sections[0]
    assert re.search(r"#   box 0,0-80,85 \(80x85 px\): LightSpeed Localizers \[deid 0\.4\.13", sections[0]), out
    assert "# boxes: none (no known text region for this file's device and size)" in sections[1]
    assert "PatientName" in out and "Doe^Jane" in out  # the header diff is still there
    assert snapshot(tmp_path) == before and sorted(p.name for p in tmp_path.iterdir()) == ["in"]


def test_known_regions_off_and_the_ocr_settings_are_shown(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    known, _ = files(tmp_path / "in")
    profile = tmp_path / "site.toml"
    profile.write_text('base = "basic"\n\n[pixels]\nknown_regions = false\nocr_min_confidence = 0.75\n'
                       "patterns = ['MRN-\\d{6}', 'SITE\\d+']\n")
    code, out, err = run(capsys, "profile", "preview", str(profile), str(known))
    assert code == 0, err
    assert "# pixels: known device regions off; OCR confidence floor 0.75; 2 extra identifier pattern(s)" in out
    assert "# boxes: none (known_regions = false in this profile)" in out and "box 0,0" not in out
    assert load_profile(str(profile)).pixels == PixelSettings(False, 0.75, ("MRN-\\d{6}", "SITE\\d+"))


BAD = [
    ('base = "basic"\n[pixels]\nknown_regions = "yes"\n', 3, "known_regions must be true or false"),
    ('base = "basic"\n[pixels]\nknown_regions = true\nocr_min_confidence = 1.5\n', 4, "from 0 to 1"),
    ('base = "basic"\n[pixels]\nocr_min_confidence = true\n', 3, "from 0 to 1"),
    ('base = "basic"\n[pixels]\n\npatterns = "MRN"\n', 4, "list of regular expressions"),
    ('base = "basic"\n[pixels]\npatterns = ["MRN-(\\\\d"]\n', 3, "pattern 1 is not a valid regular expression"),
    ('base = "basic"\n[pixels]\npatterns = ["MRN", ".*"]\n', 3, "pattern 2 matches empty text"),
    ('base = "basic"\n[pixels]\nthreshold = 3\n', 3, "unknown pixel setting 'threshold'"),
    ('base = "basic"\npixels = 3\n', 2, "pixels is a table"),
]


@pytest.mark.parametrize("text, line, words", BAD)
def test_a_bad_pixels_section_is_one_line_with_file_and_line(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                              text: str, line: int, words: str) -> None:
    known, _ = files(tmp_path / "in")
    bad = tmp_path / "bad.toml"
    bad.write_text(text)
    code, out, err = run(capsys, "profile", "preview", str(bad), str(known))
    assert code == 2 and not out and len(err.strip().splitlines()) == 1, (out, err)
    assert f"bad.toml:{line}:" in err and words in err, err


def test_the_template_documents_a_pixels_section_that_parses() -> None:
    assert "# [pixels]" in TEMPLATE
    text = "\n".join(line[2:] if line.startswith(("# [pixels]", "# known_regions", "# ocr_min", "# patterns"))
                     else line for line in TEMPLATE.splitlines())
    assert parse_profile(text, "template").pixels == PixelSettings(True, 0.6, ("MRN-\\d{6}",))
    assert parse_profile(TEMPLATE, "template").pixels.default


def test_export_names_pixel_settings_deid_cannot_hold() -> None:
    plain = parse_profile('base = "basic"\n', "plain.toml", "plain")
    assert not any("[pixels]" in u for u in export_deid(plain).unsupported)
    site = parse_profile('base = "basic"\n[pixels]\npatterns = ["MRN"]\n', "site.toml", "site")
    assert any("[pixels]" in u for u in export_deid(site).unsupported)


def test_the_readme_profile_example_parses_with_its_pixels_section() -> None:
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text("utf-8")
    block = next(b for b in re.findall(r"```toml\n(.*?)```", readme, re.S) if "[pixels]" in b)
    profile = parse_profile(block, "README.md", "readme")
    assert profile.pixels == PixelSettings(True, 0.6, ("MRN-\\d{6}",))
