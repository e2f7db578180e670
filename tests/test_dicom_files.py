"""Every bundled pydicom test file through our header and pixel pipeline, plus the hard cases."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pydicom
import pytest

from phi_review.core.dicom.header import read_header
from phi_review.core.common.errors import DicomError
from phi_review.core.dicom.locate import FileIndex
from phi_review.core.dicom.pixels import PreviewCache, crop_view, fit, image_info, render_frame

from conftest import BUNDLED, bundled_dicom_files

FILES = bundled_dicom_files()


@pytest.mark.parametrize("path", FILES, ids=[str(p.relative_to(BUNDLED)) for p in FILES])
def test_header_flattens_or_says_why(path):
    try:
        result = read_header(path)
    except DicomError as error:
        assert "\n" not in str(error)
        return
    assert result.rows
    for row in result.rows:
        assert "\x1b" not in row.value and "\x00" not in row.value


@pytest.mark.parametrize("path", FILES, ids=[str(p.relative_to(BUNDLED)) for p in FILES])
def test_pixels_render_or_give_a_clear_message(path):
    try:
        info = image_info(path)
        image = render_frame(path, info.frames - 1)
    except DicomError as error:
        message = str(error)
        assert "\n" not in message and message
        return
    assert image.dtype == np.uint8
    assert image.shape[:2] == (info.rows, info.columns)


# Each of these must really render (not just fail politely).
MUST_RENDER = {
    "JPEG baseline": "SC_rgb_jpeg_dcmtk.dcm",
    "JPEG lossless": "SC_rgb_jpeg_gdcm.dcm",
    "JPEG 2000": "JPEG2000.dcm",
    "JPEG 2000 lossless": "MR_small_jp2klossless.dcm",
    "JPEG-LS": "MR_small_jpeg_ls_lossless.dcm",
    "RLE": "MR_small_RLE.dcm",
    "RLE RGB multi-frame": "SC_rgb_rle_2frame.dcm",
    "big endian": "MR_small_bigendian.dcm",
    "YBR 422": "SC_ybr_full_422_uncompressed.dcm",
    "MONOCHROME1": "dicomdirtests/77654033/CR1/6154",
}


@pytest.mark.parametrize("kind", sorted(MUST_RENDER))
def test_syntax_renders(kind):
    path = BUNDLED / MUST_RENDER[kind]
    info = image_info(path)
    image = render_frame(path, info.frames - 1)
    assert image.dtype == np.uint8 and image.std() > 1


def test_monochrome1_is_inverted_for_display():
    path = BUNDLED / MUST_RENDER["MONOCHROME1"]
    raw = pydicom.dcmread(path).pixel_array.astype(float)
    shown = render_frame(path, 0, preset="full").astype(float)
    assert np.corrcoef(raw.ravel(), shown.ravel())[0, 1] < -0.9


def test_palette_colour_renders_rgb(tmp_path):
    from pydicom.uid import ExplicitVRLittleEndian

    ds = pydicom.dcmread(BUNDLED / "MR_small.dcm")
    ds.PhotometricInterpretation = "PALETTE COLOR"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 8, 8, 7, 0
    ds.PixelData = (np.arange(64 * 64) % 256).astype(np.uint8).tobytes()
    lut = np.arange(256, dtype=np.uint16) * 257
    for colour, data in (("Red", lut), ("Green", lut[::-1].copy()), ("Blue", lut)):
        setattr(ds, f"{colour}PaletteColorLookupTableDescriptor", [256, 0, 16])
        ds[f"{colour}PaletteColorLookupTableDescriptor"].VR = "US"
        setattr(ds, f"{colour}PaletteColorLookupTableData", data.tobytes())
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    path = tmp_path / "palette.dcm"
    ds.save_as(path, enforce_file_format=True)
    image = render_frame(path)
    assert image.shape == (64, 64, 3)
    assert not np.array_equal(image[..., 0], image[..., 1])


def test_presets_differ_and_invert_flips():
    path = BUNDLED / "CT_small.dcm"
    full = render_frame(path, preset="full")
    robust = render_frame(path, preset="robust")
    assert not np.array_equal(full, robust)
    assert np.array_equal(255 - render_frame(path, preset="full", invert=True), full)


def test_matches_missing_and_tag_forms():
    path = BUNDLED / "CT_small.dcm"
    for form in ("PatientName", "(0010,0010)", "0010,0010", "00100010"):
        rows = read_header(path, match_tags=[form]).rows
        assert [r.keyword for r in rows if r.matched] == ["PatientName"], form
    rows = read_header(path, match_values=["compressedsamples ct1"]).rows
    assert any(r.keyword == "PatientName" and r.matched for r in rows)
    rows = read_header(path, required_missing=["PatientIdentityRemoved"]).rows
    assert any(r.missing and r.keyword == "PatientIdentityRemoved" for r in rows)
    assert any(r.depth > 0 for r in rows), "sequence items are nested"
    assert any(r.private_creator for r in rows), "private tags name their creator"


def test_truncated_file_gives_rows_and_the_error(tmp_path):
    data = (BUNDLED / "CT_small.dcm").read_bytes()
    cut = tmp_path / "cut.dcm"
    cut.write_bytes(data[: len(data) * 3 // 4])  # a transfer cut off inside the pixel data
    result = read_header(cut)
    assert result.rows and any(r.keyword == "PatientName" for r in result.rows)
    assert result.error and "truncated" in result.error
    with pytest.raises(DicomError, match="truncated"):
        image_info(cut)
    early = tmp_path / "early.dcm"
    early.write_bytes(data[:1200])  # cut inside the header: what was read is shown
    assert any(r.keyword == "SOPClassUID" for r in read_header(early).rows)


@pytest.mark.parametrize("size", [2990, 3000, 3300])
def test_a_file_cut_inside_its_header_says_so(tmp_path, size):
    """pydicom stops quietly there: a short last value, or a few bytes of an element left over."""
    cut = tmp_path / "cut.dcm"
    cut.write_bytes((BUNDLED / "CT_small.dcm").read_bytes()[:size])
    result = read_header(cut)
    assert result.rows and result.error and result.error.startswith("file is truncated"), result.error
    with pytest.raises(DicomError, match="truncated"):
        image_info(cut)  # not "no pixel data": the reviewer must know the file is damaged


def test_whole_files_are_not_called_truncated():
    """Only the files pydicom ships as truncated are reported, deflated ones included."""
    flagged = set()
    for path in bundled_dicom_files():
        try:
            result = read_header(path)
        except DicomError:
            continue
        if result.error:
            flagged.add(path.name)
    assert flagged == {"MR_truncated.dcm", "rtplan_truncated.dcm"}


def test_fit_and_crop_view():
    image = np.zeros((100, 200), np.uint8)
    image[40:60, 150:170] = 255
    assert fit(image, (100, 100)).shape == (50, 100)
    crop = crop_view(image, 4.0, (0.8, 0.5), (100, 50))
    assert crop.shape[1] <= 100 and crop.shape[0] <= 50
    assert crop.mean() > 60 and crop.max() == 255  # the bright square fills much of the zoomed view
    assert fit(image, (100, 100)).mean() < 10  # unzoomed it is a small part


def test_preview_cache_evicts_by_bytes():
    cache = PreviewCache(max_bytes=3 * 1000)
    for n in range(5):
        cache.put(n, np.zeros(1000, np.uint8))
    assert len(cache) == 3 and cache.get(0) is None and cache.get(4) is not None


def test_locate_by_name_path_and_separator(tmp_path):
    for folder in ("A/S1", "A/S2", "B"):
        (tmp_path / folder).mkdir(parents=True)
    (tmp_path / "A/S1/IMG_1.dcm").write_bytes(b"x")
    (tmp_path / "A/S2/IMG_1.dcm").write_bytes(b"x")
    (tmp_path / "B/ONLY.dcm").write_bytes(b"x")
    seen = []
    index = FileIndex.build([tmp_path], progress=seen.append)
    assert seen and seen[-1] == 3
    assert index.resolve("ONLY").path == tmp_path / "B/ONLY.dcm"
    assert index.resolve("b\\only.dcm").path == tmp_path / "B/ONLY.dcm"
    assert index.resolve("A/S2/IMG_1.dcm").path == tmp_path / "A/S2/IMG_1.dcm"
    ambiguous = index.resolve("IMG_1.dcm")
    assert ambiguous.path is None and len(ambiguous.candidates) == 2
    missing = index.resolve("NOPE.dcm")
    assert missing.path is None and str(tmp_path) in missing.message


MEMORY_CHILD = textwrap.dedent(
    """
    import resource, sys
    import numpy as np
    from phi_review.core.dicom.pixels import render_frame, decode_frame
    import pydicom.pixels, PIL.Image
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    frame, _ = decode_frame(sys.argv[1], 500)
    image = render_frame(sys.argv[1], 500)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print((peak - base) // 1024, int(frame[0, 0]), int(frame[-1, -1]))
    """
)


def test_frame_500_of_a_300mb_file_stays_small(tmp_path):
    from phi_review.sample_reports.make_dicom import large_multiframe_file

    path = large_multiframe_file(tmp_path / "large.dcm", frames=600, size=512)
    assert path.stat().st_size > 300_000_000
    out = subprocess.run([sys.executable, "-c", MEMORY_CHILD, str(path)], capture_output=True, text=True, check=True)
    grown_mb, first, last = (int(v) for v in out.stdout.split())
    assert first == 500 and last == 7
    assert grown_mb < 150, f"rendering frame 500 grew the process by {grown_mb} MB"


def test_overlay_plane_is_drawn_when_asked(tmp_path):
    ds = pydicom.dcmread(BUNDLED / "MR_small.dcm")
    rows, cols = int(ds.Rows), int(ds.Columns)
    overlay = np.zeros((rows, cols), np.uint8)
    overlay[5:10, 5:40] = 1  # a bar of "burned-in" overlay text
    ds.add_new(0x60000010, "US", rows)
    ds.add_new(0x60000011, "US", cols)
    ds.add_new(0x60000040, "CS", "G")
    ds.add_new(0x60000050, "SS", [1, 1])
    ds.add_new(0x60000100, "US", 1)
    ds.add_new(0x60000102, "US", 0)
    ds.add_new(0x60003000, "OW", np.packbits(overlay.ravel(), bitorder="little").tobytes())
    path = tmp_path / "overlay.dcm"
    ds.save_as(path)
    assert image_info(path).has_overlays
    plain = render_frame(path, 0, preset="full")
    drawn = render_frame(path, 0, preset="full", overlays=True)
    assert (drawn[5:10, 5:40] == 255).all()
    assert not (plain[5:10, 5:40] == 255).all()
    assert np.array_equal(drawn[20:, :], plain[20:, :])


def _rows_both_ways(path, monkeypatch) -> tuple[list[tuple], list[tuple]]:
    from dataclasses import astuple

    from phi_review.core.dicom import header as dicom_header

    fast = [astuple(r) for r in read_header(path).rows]
    with monkeypatch.context() as patch:
        patch.setattr(dicom_header, "_plain_text", lambda raw: None)  # every value through pydicom
        slow = [astuple(r) for r in read_header(path).rows]
    return fast, slow


def test_header_fast_path_shows_what_pydicom_shows_on_every_bundled_file(monkeypatch):
    """Plain values are read from the raw bytes; the text must equal pydicom's, row for row."""
    compared = 0
    for path in bundled_dicom_files():
        try:
            fast, slow = _rows_both_ways(path, monkeypatch)
        except DicomError:
            continue
        assert fast == slow, path.name
        compared += len(fast)
    assert compared > 10_000


@pytest.mark.parametrize("alphabet", ["AB12.\\^-", "AB 12.\\^-\0", "0123456789.-e\\"])
@pytest.mark.parametrize("implicit", [False, True])
def test_header_fast_path_matches_pydicom_on_odd_values(tmp_path, monkeypatch, alphabet, implicit):
    """Random values with padding, stray spaces, NULs and bad numbers, written byte by byte."""
    import io
    import random
    import struct

    from pydicom.datadict import dictionary_VR
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian

    tags = sorted([0x00080054, 0x00101010, 0x00080008, 0x00080020, 0x0008002A, 0x00080080, 0x00100010,
                   0x00080050, 0x00080030, 0x00080018, 0x00280030, 0x00200013, 0x00104000, 0x00081030,
                   0x00400281, 0x00081190, 0x00280010, 0x00181310, 0x00189087])

    def element(tag: int, vr: str, value: bytes) -> bytes:
        if len(value) % 2:
            value += b"\0" if vr == "UI" else b" "
        head = struct.pack("<HH", tag >> 16, tag & 0xFFFF)
        if implicit:
            return head + struct.pack("<I", len(value)) + value
        if vr in {"UT", "UR", "UC"}:
            return head + vr.encode() + b"\0\0" + struct.pack("<I", len(value)) + value
        return head + vr.encode() + struct.pack("<H", len(value)) + value

    def value(vr: str) -> bytes:
        if vr in ("US", "FD"):
            count = rng.randint(1, 3)
            return struct.pack(f"<{count}{'H' if vr == 'US' else 'd'}", *(rng.randint(0, 999) for _ in range(count)))
        return "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12))).encode()

    rng = random.Random(alphabet + str(implicit))
    syntax = ImplicitVRLittleEndian if implicit else ExplicitVRLittleEndian
    path = tmp_path / "odd.dcm"
    for _ in range(40):
        ds = Dataset()
        ds.file_meta = FileMetaDataset()
        ds.file_meta.TransferSyntaxUID = syntax
        ds.file_meta.MediaStorageSOPClassUID = "1.2.3"
        ds.file_meta.MediaStorageSOPInstanceUID = "1.2.3.4"
        head = io.BytesIO()
        ds.save_as(head, enforce_file_format=True)
        body = b"".join(element(tag, dictionary_VR(tag), value(dictionary_VR(tag))) for tag in tags)
        path.write_bytes(head.getvalue() + body)
        fast, slow = _rows_both_ways(path, monkeypatch)
        assert len(fast) > len(tags) and fast == slow
