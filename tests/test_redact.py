"""Pixel blackout into corrected copies, over pydicom's bundled files of every syntax with pixels.

For each file: inside the box every chosen frame is blanked; outside it the
decoded pixels are identical (JPEG baseline: outside the box rounded out to
its MCUs, plus one MCU where the decoder's chroma upsampling reaches); the
original's bytes are unchanged; pydicom and DCMTK's dcmdump read the copy.
"""

from __future__ import annotations

import shutil
import subprocess
import tracemalloc
import warnings
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset
from pydicom.uid import JPEGBaseline8Bit, JPEGExtended12Bit

from phi_review.core.remedy.jpeg_dct import dct_coefficients
from phi_review.core.remedy.output import RemedyError, derived_uid, read_manifest, sha256_file, write_copy
from phi_review.core.remedy.redact import Box, Redaction, parse_frames, redact_file
from phi_review.tui.cli import main

# name, frames to blank (0-based, None = all)
FILES = [
    ("CT_small.dcm", None),  # native 16-bit signed
    ("MR_small_implicit.dcm", None),  # implicit VR
    ("MR_small_bigendian.dcm", None),  # big endian -> explicit little endian
    ("ExplVR_BigEnd.dcm", None),  # big endian RGB
    ("examples_overlay.dcm", None),  # 12 of 16 bits, overlay group
    ("examples_palette.dcm", None),  # palette colour
    ("examples_rgb_color.dcm", None),  # native RGB
    ("SC_ybr_full_422_uncompressed.dcm", None),  # native YBR_FULL_422 -> RGB
    ("dicomdirtests/77654033/CR1/6154", None),  # MONOCHROME1, 12 of 16 bits
    ("rtdose.dcm", [0, 3]),  # 32-bit native multi-frame, two frames chosen
    ("SC_rgb_jpeg_dcmtk.dcm", None),  # JPEG baseline YBR_FULL
    ("SC_rgb_jpeg.dcm", None),  # JPEG baseline RGB (no colour transform)
    ("SC_rgb_dcmtk_+eb+cy+np.dcm", None),  # JPEG baseline YBR_FULL_422
    ("examples_ybr_color.dcm", [0, 7]),  # JPEG baseline multi-frame, two of 30 frames
    ("JPGExtended.dcm", None),  # JPEG extended 12-bit
    ("SC_rgb_jpeg_gdcm.dcm", None),  # JPEG lossless -> JPEG 2000 lossless
    ("MR_small_jpeg_ls_lossless.dcm", None),  # JPEG-LS lossless
    ("SC_rgb_jls_lossy_line.dcm", None),  # JPEG-LS near-lossless -> lossless
    ("MR_small_RLE.dcm", None),  # RLE
    ("SC_rgb_rle_2frame.dcm", [1]),  # RLE multi-frame, second frame only
    ("SC_rgb_rle_16bit.dcm", None),
    ("MR_small_jp2klossless.dcm", None),  # JPEG 2000 lossless
    ("693_J2KI.dcm", None),  # JPEG 2000 lossy -> lossless, 14-bit signed
    ("examples_jpeg2k.dcm", None),  # JPEG 2000 YBR_RCT colour
]


def _frames(ds: Dataset) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        array = ds.pixel_array
    if int(ds.get("NumberOfFrames", 1) or 1) == 1:
        array = array[None]
    return array


def _box_for(ds: Dataset) -> Box:
    rows, cols = int(ds.Rows), int(ds.Columns)
    return Box(cols // 4, rows // 4, max(cols // 4 + 1, cols // 2), max(rows // 4 + 1, rows // 2))


@pytest.mark.parametrize(("name", "frames"), FILES, ids=[f[0].rsplit("/", 1)[-1] for f in FILES])
def test_blackout_inside_identical_outside(tmp_path: Path, name: str, frames: list[int] | None) -> None:
    src = Path(get_testdata_file(name))
    before = sha256_file(src)
    original = pydicom.dcmread(src)
    box = _box_for(original)
    result = write_copy(src, tmp_path / "copy.dcm", pixel_edit=Redaction([box], frames))
    assert sha256_file(src) == before
    copy = pydicom.dcmread(result.copy)
    a, b = _frames(original), _frames(copy)
    assert a.shape == b.shape
    count = a.shape[0]
    chosen = set(range(count)) if frames is None else set(frames)
    syntax = original.file_meta.TransferSyntaxUID
    dct = syntax in (JPEGBaseline8Bit, JPEGExtended12Bit)
    outside = np.ones(a.shape[1:3], dtype=bool)
    if dct:
        assert copy.file_meta.TransferSyntaxUID == syntax
        mw, mh = result.pixels["mcu"]
        x0, y0 = box.x0 // mw * mw - mw, box.y0 // mh * mh - mh
        x1, y1 = -(-box.x1 // mw) * mw + mw, -(-box.y1 // mh) * mh + mh
        outside[max(0, y0):y1, max(0, x0):x1] = False
    elif original.PhotometricInterpretation == "YBR_FULL_422" and not syntax.is_compressed:
        # stays YBR_FULL_422: two pixels share their chroma, so the box covers whole pixel pairs
        outside[box.y0:box.y1, box.x0 // 2 * 2:-(-box.x1 // 2) * 2] = False
    else:
        outside[box.y0:box.y1, box.x0:box.x1] = False
    for index in range(count):
        if index not in chosen:
            assert np.array_equal(a[index], b[index]), f"frame {index} was not chosen but changed"
            continue
        assert np.array_equal(a[index][outside], b[index][outside])
        inside = b[index][box.y0:box.y1, box.x0:box.x1].astype(np.int64)
        if dct:
            assert np.ptp(inside) <= 16  # a flat dark patch (chroma upsampling may tint it slightly)
        else:
            assert np.ptp(inside.reshape(-1, *inside.shape[2:]), axis=0).max() == 0  # one fill value
    assert copy.SOPInstanceUID == derived_uid(original.SOPInstanceUID)
    assert copy.file_meta.MediaStorageSOPInstanceUID == copy.SOPInstanceUID
    assert any(item.CodeValue == "113101" for item in copy.DeidentificationMethodCodeSequence)
    assert "BurnedInAnnotation" not in copy or copy.BurnedInAnnotation == original.get("BurnedInAnnotation")
    if str(original.get("LossyImageCompression", "")) == "01" or dct or syntax.name.endswith(("Lossy", "Near-Lossless)")):
        assert copy.LossyImageCompression == "01"
    if not dct and syntax.is_compressed:
        assert copy.file_meta.TransferSyntaxUID.is_compressed  # re-encoded, never decompressed to a balloon
    if shutil.which("dcmdump"):
        run = subprocess.run(["dcmdump", "-q", "-dc", str(result.copy)], capture_output=True, timeout=60)
        assert run.returncode == 0 and b"E: " not in run.stderr, run.stderr[-300:]


@pytest.mark.parametrize("name", ["SC_rgb_jpeg_dcmtk.dcm", "SC_rgb_dcmtk_+eb+cy+np.dcm", "JPGExtended.dcm"])
def test_jpeg_baseline_blocks_outside_are_bit_identical(tmp_path: Path, name: str) -> None:
    src = Path(get_testdata_file(name))
    result = write_copy(src, tmp_path / "c.dcm", pixel_edit=Redaction([Box(10, 20, 30, 33)]))
    from pydicom.encaps import generate_frames

    first = next(generate_frames(pydicom.dcmread(src).PixelData, number_of_frames=1))
    second = next(generate_frames(pydicom.dcmread(result.copy).PixelData, number_of_frames=1))
    before, after = dct_coefficients(first), dct_coefficients(second)
    assert len(before) == len(after)
    changed = [i for i, (x, y) in enumerate(zip(before, after)) if x != y]
    mw, mh = result.pixels["mcu"]
    mcus = result.pixels["mcus_blanked"]
    assert mcus == (-(-30 // mw) - 10 // mw) * (-(-33 // mh) - 20 // mh)
    blocks_per_mcu = len(before) // ((-(-pydicom.dcmread(src).Columns // mw)) * (-(-pydicom.dcmread(src).Rows // mh)))
    assert 0 < len(changed) <= mcus * blocks_per_mcu
    assert all(after[i][1:] == (0,) * 63 for i in changed)


def test_overlays_and_icon_are_removed(tmp_path: Path) -> None:
    src = Path(get_testdata_file("examples_overlay.dcm"))
    ds = pydicom.dcmread(src)
    icon = Dataset()
    icon.Rows = icon.Columns = 8
    ds.IconImageSequence = [icon]
    with_icon = tmp_path / "icon.dcm"
    ds.save_as(with_icon)
    assert any(tag.group == 0x6000 for tag in ds.keys())
    result = write_copy(with_icon, tmp_path / "c.dcm", pixel_edit=Redaction([Box(0, 0, 10, 10)]))
    copy = pydicom.dcmread(result.copy)
    assert not any(0x6000 <= tag.group <= 0x601E for tag in copy.keys())
    assert "IconImageSequence" not in copy
    assert result.pixels["overlays_removed"] == ["6000"] and result.pixels["icon_removed"]


def test_bits_above_bits_stored_are_cleared(tmp_path: Path) -> None:
    ds = pydicom.dcmread(get_testdata_file("dicomdirtests/77654033/CR1/6154"))
    raw = np.frombuffer(ds.PixelData, dtype="<u2").copy()
    raw |= 0xF000  # an old overlay in the high bits
    ds.PixelData = raw.tobytes()
    dirty = tmp_path / "dirty.dcm"
    ds.save_as(dirty)
    result = write_copy(dirty, tmp_path / "c.dcm", pixel_edit=Redaction([Box(0, 0, 4, 4)]))
    out = np.frombuffer(pydicom.dcmread(result.copy).PixelData, dtype="<u2")
    assert int(out.max()) < (1 << 12)
    # MONOCHROME1 displays its highest value black: the box is filled with it
    assert int(out.reshape(16, 16)[0, 0]) == (1 << 12) - 1


def test_uids_deterministic_keep_and_confirm_clean(tmp_path: Path) -> None:
    src = Path(get_testdata_file("CT_small.dcm"))
    first = write_copy(src, tmp_path / "a.dcm", pixel_edit=Redaction([Box(0, 0, 8, 8)]))
    second = write_copy(src, tmp_path / "b.dcm", pixel_edit=Redaction([Box(0, 0, 8, 8)]))
    a, b = pydicom.dcmread(first.copy), pydicom.dcmread(second.copy)
    assert a.SOPInstanceUID == b.SOPInstanceUID != pydicom.dcmread(src).SOPInstanceUID
    kept = write_copy(src, tmp_path / "k.dcm", pixel_edit=Redaction([Box(0, 0, 8, 8)], keep_uids=True, confirm_clean=True))
    k = pydicom.dcmread(kept.copy)
    assert k.SOPInstanceUID == pydicom.dcmread(src).SOPInstanceUID
    assert k.BurnedInAnnotation == "NO"
    assert "BurnedInAnnotation" not in a


def test_pixels_then_header_in_one_copy(tmp_path: Path) -> None:
    src = Path(get_testdata_file("MR_small_RLE.dcm"))

    def edit(ds: Dataset) -> list[dict]:
        ds.PatientName = "ANON"
        return [{"tag": "(0010,0010)", "action": "replace"}]

    result = write_copy(src, tmp_path / "c.dcm", edit_header=edit, pixel_edit=Redaction([Box(0, 0, 16, 16)]))
    copy = pydicom.dcmread(result.copy)
    assert copy.PatientName == "ANON" and result.header_changes
    assert int(_frames(copy)[0, 0:16, 0:16].max()) == -32768


def test_multiframe_memory_stays_near_one_frame(tmp_path: Path) -> None:
    from pydicom.uid import ExplicitVRLittleEndian, generate_uid

    frames, size = 80, 256
    ds = Dataset()
    ds.file_meta = pydicom.dataset.FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.7.3"
    ds.SOPInstanceUID = generate_uid()
    ds.Rows = ds.Columns = size
    ds.NumberOfFrames = frames
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 0
    rng = np.random.default_rng(7)
    ds.PixelData = rng.integers(0, 65535, (frames, size, size), dtype=np.uint16).tobytes()
    big = tmp_path / "big.dcm"
    ds.save_as(big, enforce_file_format=True)
    del ds
    frame_bytes = size * size * 2
    tracemalloc.start()
    try:
        result = write_copy(big, tmp_path / "c.dcm", pixel_edit=Redaction([Box(0, 0, 100, 20)]))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # hashing reads 1 MB chunks; the pixels cost a few frames, never the 10 MB of the whole file
    assert peak < 3 * 2**20 + 6 * frame_bytes < frames * frame_bytes / 2, f"peak {peak} bytes"
    copy = np.frombuffer(pydicom.dcmread(result.copy).PixelData, dtype="<u2").reshape(frames, size, size)
    assert int(copy[:, 0:20, 0:100].max()) == 0


def test_parse_frames_and_box() -> None:
    assert parse_frames("all") is None and parse_frames("1,3,3") == [0, 2]
    with pytest.raises(RemedyError):
        parse_frames("0")
    with pytest.raises(RemedyError):
        Box.parse("1,2,3")
    with pytest.raises(RemedyError, match="zero area"):
        Box(3, 3, 3, 9).check(10, 10)
    with pytest.raises(RemedyError, match="outside"):
        Box(0, 0, 11, 9).check(10, 10)


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_writes_copy_and_manifest(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / "site"
    (root / "a").mkdir(parents=True)
    src = root / "a" / "ct.dcm"
    shutil.copy(get_testdata_file("CT_small.dcm"), src)
    out_dir = tmp_path / "out"
    code, out, err = _run(capsys, "redact", str(src), "--box", "0,0,20,10", "--out", str(out_dir),
                          "--root", str(root), "--reviewer", "jdoe", "--confirm-clean")
    assert code == 0, err
    copy = out_dir / "a" / "ct.dcm"
    assert copy.exists() and str(copy) in out
    record = read_manifest(out_dir)[-1]
    assert record["reviewer"] == "jdoe" and record["pixels"]["boxes"] == [[0, 0, 20, 10]]
    assert record["original_sha256"] == sha256_file(src) and record["copy_sha256"] == sha256_file(copy)
    assert record["confirmed_clean"] is True and "time" in record and "version" in record
    original = pydicom.dcmread(src)
    text = (out_dir / "manifest.jsonl").read_text()
    for value in (str(original.PatientName), str(original.PatientID)):
        assert value not in text
    code, _, err = _run(capsys, "redact", str(src), "--box", "0,0,20,10", "--out", str(out_dir), "--root", str(root))
    assert code == 2 and "already exists" in err and err.count("\n") == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--box", "0,0,999,10"], "outside"),
        (["--box", "4,4,4,10"], "zero area"),
        (["--box", "0,0,10,10", "--frames", "3"], "frame 3"),
    ],
)
def test_cli_bad_input_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str],
                                   message: str) -> None:
    src = get_testdata_file("CT_small.dcm")
    code, out, err = _run(capsys, "redact", src, *args, "--out", str(tmp_path / "o"))
    assert code == 2 and message in err and err.count("\n") == 1 and "Traceback" not in err
    assert not (tmp_path / "o").exists()


def test_cli_refuses_non_image_and_no_lossless_path(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = tmp_path / "notes.dcm"
    text.write_text("not dicom\x1b[31m")
    code, _, err = _run(capsys, "redact", str(text), "--box", "0,0,1,1", "--out", str(tmp_path / "o"))
    assert code == 2 and "not a readable DICOM" in err and "\x1b" not in err
    plan = get_testdata_file("rtplan.dcm")
    code, _, err = _run(capsys, "redact", plan, "--box", "0,0,1,1", "--out", str(tmp_path / "o"))
    assert code == 2 and "no image" in err
    rle32 = get_testdata_file("SC_rgb_rle_32bit.dcm")
    code, _, err = _run(capsys, "redact", rle32, "--box", "0,0,10,10", "--out", str(tmp_path / "o"))
    assert code == 2 and "no lossless way" in err
    assert not (tmp_path / "o" / "SC_rgb_rle_32bit.dcm").exists()


def test_redact_file_appends_manifest(tmp_path: Path) -> None:
    src = Path(get_testdata_file("MR_small.dcm"))
    redact_file(src, tmp_path / "c.dcm", Redaction([Box(1, 1, 5, 5)]), reviewer="r", manifest_dir=tmp_path)
    record = read_manifest(tmp_path)[0]
    assert record["action"] == "redact" and record["transfer_syntax_out"] == "1.2.840.10008.1.2.1"


def test_second_box_updates_the_existing_copy(tmp_path: Path) -> None:
    src = Path(get_testdata_file("CT_small.dcm"))
    dest = tmp_path / "c.dcm"
    redact_file(src, dest, Redaction([Box(0, 0, 10, 10)]), manifest_dir=tmp_path)
    with pytest.raises(RemedyError, match="already exists"):
        redact_file(src, dest, Redaction([Box(100, 100, 120, 120)]))
    redact_file(src, dest, Redaction([Box(100, 100, 120, 120)]), manifest_dir=tmp_path, update_existing=True)
    pixels = _frames(pydicom.dcmread(dest))[0]
    assert int(pixels[0:10, 0:10].max()) == int(pixels[100:120, 100:120].max()) == -32768
    records = read_manifest(tmp_path)
    assert records[-1]["based_on"] == "existing copy" and records[-1]["original_sha256"] == sha256_file(src)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_one_redaction_serves_several_files(tmp_path: Path) -> None:
    redaction = Redaction([Box(0, 0, 8, 8)])
    first = write_copy(Path(get_testdata_file("SC_rgb_jpeg_dcmtk.dcm")), tmp_path / "a.dcm", pixel_edit=redaction)
    second = write_copy(Path(get_testdata_file("CT_small.dcm")), tmp_path / "b.dcm", pixel_edit=redaction)
    assert first.pixels["method"] == "jpeg-dct-blocks" and "mcu" in first.pixels
    assert second.pixels["method"] == "fill" and "mcu" not in second.pixels


def _dciodvfy_errors(path: Path) -> set[str]:
    """dciodvfy's error lines with values and UIDs blanked, so the original's and the copy's compare."""
    import re

    done = subprocess.run(["dciodvfy", str(path)], capture_output=True, text=True, errors="replace", timeout=60)
    texts = (re.sub(r"<[^>]*>", "<>", line.split(" - ", 1)[-1]) for line in done.stderr.splitlines()
             if line.startswith("Error"))
    return {re.sub(r"(UID\s+)\S+", r"\1<uid>", text) for text in texts}


@pytest.mark.skipif(not shutil.which("dciodvfy"), reason="dicom3tools not installed")
@pytest.mark.parametrize(("name", "frames"), FILES, ids=[f[0].rsplit("/", 1)[-1] for f in FILES])
def test_copies_add_no_dciodvfy_errors(tmp_path: Path, name: str, frames: list[int] | None) -> None:
    src = Path(get_testdata_file(name))
    copy = write_copy(src, tmp_path / "c.dcm", pixel_edit=Redaction([_box_for(pydicom.dcmread(src))], frames)).copy
    assert _dciodvfy_errors(copy) - _dciodvfy_errors(src) == set()


@pytest.mark.parametrize("restart", [{}, {"restart_marker_blocks": 3}, {"restart_marker_rows": 1}])
def test_dct_blanking_with_restart_intervals(restart: dict) -> None:
    import io

    from PIL import Image

    from phi_review.core.remedy.jpeg_dct import blank_jpeg, mcu_size

    image = np.random.default_rng(1).integers(0, 255, (64, 80, 3)).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="JPEG", quality=90, **restart)
    data = buffer.getvalue()
    assert (b"\xff\xdd" in data) == bool(restart)
    out, mcus = blank_jpeg(data, [(8, 8, 30, 20)])
    mw, mh = mcu_size(data)  # 4:2:0 -> 16x16
    assert (mw, mh) == (16, 16) and mcus == 2 * 2
    before = np.asarray(Image.open(io.BytesIO(data))).astype(int)
    after = np.asarray(Image.open(io.BytesIO(out))).astype(int)
    outside = np.ones(before.shape[:2], dtype=bool)
    outside[0:32 + mh, 0:32 + mw] = False
    assert np.array_equal(before[outside], after[outside])
    assert np.ptp(after[8:20, 8:30]) <= 16
    changed = [i for i, (x, y) in enumerate(zip(dct_coefficients(data), dct_coefficients(out))) if x != y]
    assert len(changed) == mcus * 6  # four Y blocks, Cb and Cr per MCU; every other block bit-identical


def test_damaged_jpeg_is_one_line_not_a_traceback(tmp_path: Path) -> None:
    import io

    from PIL import Image

    from phi_review.core.remedy.jpeg_dct import JpegDctError, blank_jpeg

    buffer = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 64), dtype=np.uint8)).save(buffer, "JPEG")
    data = buffer.getvalue()
    scan = data.index(b"\xff\xda")
    for cut in (data[: scan + 200] + b"\xff\xd9", data[: scan + 40] + b"\xff\xd9"):
        with pytest.raises(JpegDctError):
            blank_jpeg(cut, [(0, 0, 8, 8)])


def test_confirm_clean_after_verify(tmp_path: Path) -> None:
    from phi_review.core.remedy.redact import confirm_clean

    src = Path(get_testdata_file("MR_small_RLE.dcm"))
    dest = tmp_path / "c.dcm"
    redact_file(src, dest, Redaction([Box(0, 0, 10, 10)]), manifest_dir=tmp_path)
    assert "BurnedInAnnotation" not in pydicom.dcmread(dest)
    before = _frames(pydicom.dcmread(dest))
    confirm_clean(dest, original=src, reviewer="jdoe", manifest_dir=tmp_path)
    after = pydicom.dcmread(dest)
    assert after.BurnedInAnnotation == "NO" and np.array_equal(_frames(after), before)
    assert after.file_meta.TransferSyntaxUID == pydicom.dcmread(src).file_meta.TransferSyntaxUID
    record = read_manifest(tmp_path)[-1]
    assert record["action"] == "confirm-clean" and record["original_sha256"] == sha256_file(src)
    assert record["copy_sha256"] == sha256_file(dest)
