"""The shared corrected-copy output: paths, atomic copies, deterministic UIDs, the manifest."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.data import get_testdata_file

from phi_review.core.remedy.output import (
    RemedyError,
    append_manifest,
    copy_path,
    derived_uid,
    read_manifest,
    sha256_file,
    write_copy,
)

FILES = ["CT_small.dcm", "MR_small_bigendian.dcm", "SC_rgb_jpeg_dcmtk.dcm", "MR_small_implicit.dcm", "rtplan.dcm"]


def test_copy_path_mirrors_the_deepest_root(tmp_path: Path) -> None:
    root = tmp_path / "site"
    (root / "a" / "b").mkdir(parents=True)
    f = root / "a" / "b" / "x.dcm"
    f.write_bytes(b"")
    assert copy_path(f, [tmp_path, root], tmp_path / "out") == tmp_path / "out" / "a" / "b" / "x.dcm"
    assert copy_path(f, [], tmp_path / "out") == tmp_path / "out" / "x.dcm"
    with pytest.raises(RemedyError):
        copy_path(f, [tmp_path / "elsewhere"], tmp_path / "out")


def test_derived_uid_is_deterministic_valid_and_distinct() -> None:
    uid = "1.2.3.4.5"
    assert derived_uid(uid) == derived_uid(uid)
    assert derived_uid(uid) != derived_uid("1.2.3.4.6")
    assert derived_uid(uid) != uid
    assert pydicom.uid.UID(derived_uid(uid)).is_valid
    assert derived_uid(uid, root="1.2.999").startswith("1.2.999.")


@pytest.mark.parametrize("name", FILES)
def test_header_only_copy_keeps_everything_and_the_original(tmp_path: Path, name: str) -> None:
    src = Path(get_testdata_file(name))
    before = sha256_file(src)

    def edit(ds: pydicom.Dataset) -> list[dict]:
        ds.PatientName = "ANON"
        return [{"tag": "(0010,0010)", "action": "replace"}]

    result = write_copy(src, tmp_path / "c" / name, edit_header=edit)
    assert sha256_file(src) == before
    assert result.original_sha256 == before and result.copy_sha256 == sha256_file(result.copy)
    a, b = pydicom.dcmread(src), pydicom.dcmread(result.copy)
    assert b.PatientName == "ANON"
    for tag in a.keys():
        if tag not in (0x00100010, 0x7FE00010):
            assert a[tag].value == b[tag].value
    if "PixelData" in a:
        assert np.array_equal(a.pixel_array, b.pixel_array)
    assert b.file_meta.MediaStorageSOPInstanceUID == b.SOPInstanceUID
    assert not [p for p in result.copy.parent.iterdir() if p.name.endswith(".tmp")]


def test_existing_copy_is_refused_unless_overwrite(tmp_path: Path) -> None:
    src = Path(get_testdata_file("CT_small.dcm"))
    dest = tmp_path / "x.dcm"
    write_copy(src, dest)
    with pytest.raises(RemedyError, match="already exists"):
        write_copy(src, dest)
    write_copy(src, dest, overwrite=True)


def test_the_original_cannot_be_the_copy(tmp_path: Path) -> None:
    src = tmp_path / "o.dcm"
    src.write_bytes(Path(get_testdata_file("CT_small.dcm")).read_bytes())
    with pytest.raises(RemedyError, match="original"):
        write_copy(src, src, overwrite=True)


def test_non_dicom_is_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.dcm"
    bad.write_bytes(b"hello")
    with pytest.raises(RemedyError) as info:
        write_copy(bad, tmp_path / "out.dcm")
    assert "\n" not in str(info.value)
    assert not (tmp_path / "out.dcm").exists()


def test_manifest_appends_json_lines(tmp_path: Path) -> None:
    append_manifest(tmp_path, {"copy": "a.dcm", "n": 1})
    append_manifest(tmp_path, {"copy": "b.dcm", "n": 2})
    (tmp_path / "manifest.jsonl").open("a").write('{"torn": ')
    assert [r["n"] for r in read_manifest(tmp_path)] == [1, 2]
    first = (tmp_path / "manifest.jsonl").read_text().splitlines()[0]
    assert json.loads(first)["copy"] == "a.dcm"


def test_truncated_pixels_name_the_file_and_leave_no_copy(tmp_path: Path) -> None:
    from phi_review.core.remedy.redact import Box, Redaction

    data = Path(get_testdata_file("CT_small.dcm")).read_bytes()
    cut = tmp_path / "cut.dcm"
    cut.write_bytes(data[:-5000])
    with pytest.raises(RemedyError, match=r"^cut\.dcm: .*cut short"):
        write_copy(cut, tmp_path / "out" / "cut.dcm", pixel_edit=Redaction([Box(0, 0, 4, 4)]))
    with pytest.raises(RemedyError, match=r"^cut\.dcm: .*cut short"):
        write_copy(cut, tmp_path / "out" / "cut.dcm")
    assert not (tmp_path / "out").exists() or list((tmp_path / "out").iterdir()) == []  # refused before any write
