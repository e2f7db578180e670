"""Known device regions from deid's recipe, scopes over a list of files, boxes exported as a deid rule."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pydicom
import pytest
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset

from phi_review.core.remedy.redact import Box
from phi_review.core.remedy.regions import (
    DATA,
    count_frames,
    deid_recipe,
    device_signature,
    known_regions,
    rule_matches,
    scope_files,
)

MAKER = Path(__file__).resolve().parent.parent / "core" / "remedy" / "data" / "make_deid_regions.py"


def _ge_screen_capture() -> Dataset:
    ds = Dataset()
    ds.Modality = "CT"
    ds.Manufacturer = "GE MEDICAL SYSTEMS"
    ds.Rows = ds.Columns = 512
    ds.BurnedInAnnotation = "YES"
    return ds


def test_extract_holds_ctp_rules_with_boxes() -> None:
    rules = json.loads(DATA.read_text())["rules"]
    assert len(rules) > 50
    assert sum(rule["credit"] == "CTP" for rule in rules) > 20
    assert all(rule["boxes"] for rule in rules)


def test_known_regions_for_a_ge_screen_capture() -> None:
    regions = known_regions(_ge_screen_capture())
    labels = {region.label for region in regions}
    assert "Screen Captures" in labels
    capture = next(r for r in regions if r.label == "Screen Captures")
    assert capture.box == Box(0, 0, 512, 25)  # ctpcoordinates 0,0,512,25 is x, y, width, height
    assert "deid" in capture.source and "CTP" in capture.source
    plain = _ge_screen_capture()
    plain.Manufacturer = "ACME"
    assert known_regions(plain) == []


def test_regions_are_clipped_to_the_image() -> None:
    ds = _ge_screen_capture()
    ds.Columns = 300
    for region in known_regions(ds):
        assert region.box.x1 <= 300 and region.box.y1 <= 512


def test_deid_recipe_round_trips_through_the_extractor(tmp_path: Path) -> None:
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_deid_regions", MAKER)
    maker = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(maker)
    ds = _ge_screen_capture()
    ds.Manufacturer = "Acme (Imaging) # Co"
    ds.ManufacturerModelName = "Scan+ 3000"
    text = deid_recipe(device_signature(ds), [Box(0, 0, 100, 30), Box(400, 480, 512, 512)], label="acme banner")
    assert text.startswith("FORMAT dicom") and "%filter graylist" in text and "coordinates 0,0,100,30" in text
    rules = maker.extract(text, "test")
    assert len(rules) == 1 and rules[0]["boxes"] == [[0, 0, 100, 30], [400, 480, 512, 512]]
    assert rule_matches(ds, rules[0])
    other = _ge_screen_capture()
    other.Rows = 256
    assert not rule_matches(other, rules[0])


def test_scope_series_and_device(tmp_path: Path) -> None:
    names = ["dicomdirtests/77654033/CT2/17106", "dicomdirtests/77654033/CT2/17136",
             "dicomdirtests/98892003/MR1/15820", "CT_small.dcm"]
    paths = []
    for index, name in enumerate(names):
        target = tmp_path / f"f{index}.dcm"
        shutil.copy(get_testdata_file(name), target)
        paths.append(target)
    series = scope_files(paths[0], paths, "series")
    same_series = [p for p in paths if pydicom.dcmread(p).SeriesInstanceUID == pydicom.dcmread(paths[0]).SeriesInstanceUID]
    assert sorted(series) == sorted(same_series)
    device = scope_files(paths[0], paths, "device")
    sig = device_signature(pydicom.dcmread(paths[0]))
    assert sorted(device) == sorted(p for p in paths if device_signature(pydicom.dcmread(p)) == sig)
    assert paths[3] not in device  # 128x128 CT_small is another signature
    assert scope_files(paths[0], paths, "file") == [paths[0]]
    assert count_frames(device, None) == len(device)
    with pytest.raises(Exception):
        scope_files(paths[0], paths, "study")


def test_cli_known_regions_and_deid_recipe(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from phi_review.sample_reports.make_dicom import burned_in_text_image
    from phi_review.tui.cli import main

    src = burned_in_text_image(tmp_path / "ge.dcm", ["DOSE REPORT"], modality="CT",
                               patient={"Manufacturer": "GE MEDICAL SYSTEMS", "BurnedInAnnotation": "YES"})
    code = main(["redact", str(src), "--known-regions", "--out", str(tmp_path / "out")])
    out = capsys.readouterr().out
    assert code == 0 and "Screen Captures" in out
    copy = pydicom.dcmread(tmp_path / "out" / "ge.dcm")
    assert int(copy.pixel_array[0:25, :].max()) == 0
    recipe = tmp_path / "rule.dicom"
    code = main(["redact", str(src), "--box", "0,0,512,40", "--out", str(tmp_path / "out2"), "--deid-recipe", str(recipe)])
    capsys.readouterr()
    assert code == 0
    text = recipe.read_text()
    assert "equals Manufacturer GE MEDICAL SYSTEMS" in text and "coordinates 0,0,512,40" in text
