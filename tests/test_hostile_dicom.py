"""Hostile and damaged DICOM files (issue 11 items 14-21, issue 10 items 15 and 17).

Every file is built here from pydicom's bundled test files or from bytes written
by hand; the CLI runs as a subprocess under a memory cap and a timeout, so a
hang or a bomb fails the test instead of the machine.
"""

from __future__ import annotations

import os
import resource
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest
from pydicom.data import get_testdata_file

from phi_review.core.common.errors import DicomError, PhiReviewError
from phi_review.core.common.inert import inert
from phi_review.core.common.regular import NotRegularFileError, open_regular, require_regular
from phi_review.core.dicom.header import read_header
from phi_review.core.dicom.pixels import FRAME_BUDGET, codestream_size, image_info, render_frame

SCRIPT = Path(sys.executable).with_name("phi-review")
MEMORY_CAP = 3 * 1024 ** 3  # address space for a CLI run: onnxruntime/numpy reserve ~1.5 GB of it at import


def _cap() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CAP, MEMORY_CAP))


def cli(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[bytes]:
    """The installed command, memory-capped; a hang raises TimeoutExpired (the test fails)."""
    env = {**os.environ, "RUST_BACKTRACE": "0"}
    return subprocess.run([str(SCRIPT), *args], capture_output=True, timeout=timeout, preexec_fn=_cap, env=env)


def one_line_error(out: subprocess.CompletedProcess[bytes]) -> str:
    assert out.returncode == 2, (out.returncode, out.stderr[-2000:])
    text = out.stderr.decode()
    assert "Traceback" not in text and "panicked" not in text
    assert text.count("\n") == 1 and text.startswith("phi-review: "), text
    return text


def bundled(name: str) -> bytes:
    return Path(get_testdata_file(name)).read_bytes()


def explicit(tag: int, vr: str, value: bytes, *, long: bool | None = None) -> bytes:
    """One Explicit VR Little Endian element."""
    head = struct.pack("<HH", tag >> 16, tag & 0xFFFF) + vr.encode()
    if long or vr in ("OB", "OW", "SQ", "UN", "UT"):
        return head + b"\0\0" + struct.pack("<I", len(value) if value is not None else 0xFFFFFFFF) + value
    return head + struct.pack("<H", len(value)) + value


def meta(syntax: str) -> bytes:
    uid = syntax.encode() + (b"\0" if len(syntax) % 2 else b"")
    body = (explicit(0x00020001, "OB", b"\0\1") + explicit(0x00020002, "UI", b"1.2.840.10008.5.1.4.1.1.7\0")
            + explicit(0x00020003, "UI", b"1.2.3.4\0") + explicit(0x00020010, "UI", uid))
    return b"\0" * 128 + b"DICM" + explicit(0x00020000, "UL", struct.pack("<I", len(body))) + body


def pixel_module(rows: int, columns: int, samples: int = 1, bits: int = 8, frames: int = 0) -> bytes:
    photometric = b"MONOCHROME2 " if samples == 1 else b"RGB "
    count = f"{frames}".encode()
    number = explicit(0x00280008, "IS", count + b" " * (len(count) % 2)) if frames else b""
    return (explicit(0x00280002, "US", struct.pack("<H", samples)) + explicit(0x00280004, "CS", photometric) + number
            + explicit(0x00280010, "US", struct.pack("<H", rows)) + explicit(0x00280011, "US", struct.pack("<H", columns))
            + explicit(0x00280100, "US", struct.pack("<H", bits)) + explicit(0x00280101, "US", struct.pack("<H", bits))
            + explicit(0x00280102, "US", struct.pack("<H", bits - 1)) + explicit(0x00280103, "US", b"\0\0"))


PATIENT = explicit(0x00100010, "PN", b"DOE^HIDDEN") + explicit(0x00100020, "LO", b"ID-4711 ")


# -- item 15: invisible characters ------------------------------------------------------------------

@pytest.mark.parametrize("char", ["\u200b", "\u200c", "\u200d", "\u2060", "\u00ad", "\u200e", "\u200f", "\u202a",
                                  "\u202b", "\u202c", "\u202d", "\u202e", "\u2066", "\u2067", "\u2068", "\u2069",
                                  "\u061c", "\ufeff", "\u2064", "\U000e0041"])
def test_inert_shows_zero_width_and_bidi_characters(char: str) -> None:
    shown = inert(f"DOE{char}ZW")
    assert shown != "DOEZW" and char not in shown
    assert shown.startswith("DOE\\") and shown.endswith("ZW")


def test_inert_keeps_ordinary_text() -> None:
    for text in ("DOE^JOHN", "Müller^Zoë", "山田^太郎", "ΓΙΑΝΝΗΣ", "a\u3000b"):
        assert inert(text) == text


# -- item 14: file names printed by header/preview/ocr ----------------------------------------------

def test_file_name_is_printed_inert(tmp_path: Path) -> None:
    path = tmp_path / "scan\x1b]52;c;ZXZpbA==\x07\u202e.dcm"
    path.write_bytes(bundled("CT_small.dcm"))
    for command in (["header"], ["preview", "--graphics", "none"]):
        out = cli(*command, str(path))
        assert out.returncode == 0, out.stderr
        assert b"\x1b" not in out.stdout and b"\x07" not in out.stdout and "\u202e".encode() not in out.stdout
        assert b"\\x1b]52;c;ZXZpbA==\\x07\\u202e.dcm" in out.stdout
    missing = cli("ocr", str(tmp_path / "gone\x1b[2J.dcm"))
    assert b"\x1b" not in missing.stderr and "gone\\x1b[2J.dcm" in one_line_error(missing)


# -- item 16: deep nesting ------------------------------------------------------------------------

def nested_file(path: Path, depth: int) -> Path:
    """A sequence nested ``depth`` deep (undefined lengths) before the patient's name and ID."""
    opening = b""
    for _ in range(depth):
        opening += explicit(0x00081140, "SQ", b"", long=True)[:-4] + b"\xff\xff\xff\xff"
        opening += struct.pack("<HHI", 0xFFFE, 0xE000, 0xFFFFFFFF)
    closing = struct.pack("<HHI", 0xFFFE, 0xE00D, 0) + struct.pack("<HHI", 0xFFFE, 0xE0DD, 0)
    leaf = explicit(0x00080050, "SH", b"ACC-DEEP")
    body = explicit(0x00080060, "CS", b"OT") + opening + leaf + closing * depth + PATIENT
    path.write_bytes(meta("1.2.840.10008.1.2.1") + body)
    return path


@pytest.mark.parametrize("depth", [200, 1000])
def test_deep_sequence_does_not_hide_the_patient(tmp_path: Path, depth: int) -> None:
    result = read_header(nested_file(tmp_path / "deep.dcm", depth))
    keywords = [row.keyword for row in result.rows]
    assert "PatientName" in keywords and "PatientID" in keywords
    assert {"PatientName", "PatientID"} <= set(result.other_identifying())
    assert result.error is None
    deepest = [row for row in result.rows if row.keyword == "AccessionNumber"]
    assert deepest and deepest[0].depth == 2 * depth and deepest[0].value == "ACC-DEEP"


def test_nesting_too_deep_for_any_stack_is_listed_flat(tmp_path: Path) -> None:
    result = read_header(nested_file(tmp_path / "deeper.dcm", 20000))
    assert result.error and "nested too deep" in result.error
    assert {"PatientName", "PatientID", "AccessionNumber"} <= set(result.other_identifying())
    out = cli("header", str(tmp_path / "deeper.dcm"))
    assert out.returncode == 0 and b"DOE^HIDDEN" in out.stdout and b"ACC-DEEP" in out.stdout


# -- item 17: unknown transfer syntax -------------------------------------------------------------

def unknown_syntax_file(path: Path) -> Path:
    data = bytearray(bundled("CT_small.dcm"))
    at = data.find(b"1.2.840.10008.1.2.1\0")
    data[at + 14] = ord("3")  # one flipped byte: 1.2.840.10008.3.2.1, no such syntax
    path.write_bytes(bytes(data))
    return path


def test_unknown_transfer_syntax_shows_the_header(tmp_path: Path) -> None:
    path = unknown_syntax_file(tmp_path / "ts.dcm")
    result = read_header(path)
    assert "unknown transfer syntax 1.2.840.10008.3.2.1" in result.transfer_syntax
    assert "PatientName" in result.other_identifying()
    out = cli("header", str(path))
    assert out.returncode == 0 and b"unknown transfer syntax" in out.stdout.splitlines()[0]
    for command in (["preview", "--graphics", "none"], ["ocr"]):
        assert "unknown transfer syntax 1.2.840.10008.3.2.1" in one_line_error(cli(*command, str(path)))


# -- item 18: size and decompression bombs --------------------------------------------------------

def rle_bomb(path: Path) -> Path:
    """2 KB claiming 65535x65535 RGB, RLE Lossless."""
    header = struct.pack("<16I", 3, 64, 65, 66, *([0] * 12))
    fragment = header + b"\0\0\0"
    pixels = (struct.pack("<HHI", 0x7FE0, 0x0010, 0)[:4] + b"OB\0\0\xff\xff\xff\xff"
              + struct.pack("<HHI", 0xFFFE, 0xE000, 0) + struct.pack("<HHI", 0xFFFE, 0xE000, len(fragment) + 1)
              + fragment + b"\0" + struct.pack("<HHI", 0xFFFE, 0xE0DD, 0))
    path.write_bytes(meta("1.2.840.10008.1.2.5") + PATIENT + pixel_module(65535, 65535, 3, 8) + pixels)
    return path


def j2k_bomb(path: Path) -> Path:
    """pydicom's JPEG2000.dcm with its codestream's SIZ claiming 60000x60000 (header unchanged)."""
    data = bytearray(bundled("JPEG2000.dcm"))
    siz = data.find(b"\xff\x4f\xff\x51") + 4
    data[siz + 4: siz + 12] = struct.pack(">II", 60000, 60000)
    path.write_bytes(bytes(data))
    return path


def deflate_bomb(path: Path, inflated: int = 600 * 1024 * 1024) -> Path:
    """A deflated dataset (PatientName first) whose private OB value inflates to ``inflated`` bytes."""
    deflater = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    parts = [deflater.compress(PATIENT + explicit(0x00291010, "OB", b"")[:-4] + struct.pack("<I", inflated))]
    zeros = b"\0" * (1 << 24)
    for _ in range(inflated // len(zeros)):
        parts.append(deflater.compress(zeros))
    parts.append(deflater.flush())
    path.write_bytes(meta("1.2.840.10008.1.2.1.99") + b"".join(parts))
    return path


def test_rle_size_bomb_is_refused_before_decoding(tmp_path: Path) -> None:
    path = rle_bomb(tmp_path / "rle.dcm")
    with pytest.raises(DicomError, match="budget"):
        image_info(path)
    with pytest.raises(DicomError, match="budget"):
        render_frame(path, 0)  # the UI's prefetch calls this directly
    assert "budget" in one_line_error(cli("preview", "--graphics", "none", str(path)))


def test_jpeg2000_codestream_bomb_is_refused(tmp_path: Path) -> None:
    path = j2k_bomb(tmp_path / "j2k.dcm")
    assert codestream_size(Path(get_testdata_file("JPEG2000.dcm")).read_bytes()[3050:]) is not None
    assert "compressed data declares 60000x60000" in one_line_error(cli("preview", "--graphics", "none", str(path)))


def test_deflate_bomb_is_refused_while_streaming(tmp_path: Path) -> None:
    path = deflate_bomb(tmp_path / "dfl.dcm")
    assert path.stat().st_size < 2 * 1024 * 1024
    for command in (["header"], ["preview", "--graphics", "none"]):
        assert "deflated data expands past" in one_line_error(cli(*command, str(path)))


def test_codestream_size_reads_jpeg_sof() -> None:
    import pydicom
    from pydicom.encaps import generate_frames

    ds = pydicom.dcmread(get_testdata_file("JPEG-lossy.dcm"))
    frame = next(generate_frames(ds.PixelData, number_of_frames=1))
    assert codestream_size(frame) == (256, 1024, 1, 12)
    assert FRAME_BUDGET < 65535 * 65535 * 3


# -- item 19: a 2 GiB all-zero file ---------------------------------------------------------------

def test_two_gib_of_zeros_does_not_spin(tmp_path: Path) -> None:
    zeros = tmp_path / "zeros.dcm"
    with open(zeros, "wb") as handle:
        handle.truncate(2 * 1024 ** 3)  # sparse: no disk used
    assert "not a DICOM file" in one_line_error(cli("header", str(zeros), timeout=30))
    # A valid file meta followed by 2 GiB of zeros: (0000,0000) repeated is out of order, read stops.
    marked = tmp_path / "marked.dcm"
    head = meta("1.2.840.10008.1.2.1") + PATIENT
    with open(marked, "wb") as handle:
        handle.write(head)
        handle.truncate(len(head) + 2 * 1024 ** 3)
    out = cli("header", str(marked), timeout=30)
    assert out.returncode == 0 and b"DOE^HIDDEN" in out.stdout and b"out of order" in out.stdout
    one_line_error(cli("preview", "--graphics", "none", str(marked), timeout=30))


# -- item 20: FIFOs and other non-files -----------------------------------------------------------

def test_fifo_is_refused_not_waited_on(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.dcm"
    os.mkfifo(fifo)
    with pytest.raises(NotRegularFileError, match="FIFO"):
        open_regular(fifo)
    with pytest.raises(NotRegularFileError):
        require_regular(fifo)
    with pytest.raises(PhiReviewError):
        open_regular(tmp_path)
    for command in (["header"], ["preview", "--graphics", "none"], ["ocr"]):
        assert "FIFO" in one_line_error(cli(*command, str(fifo), timeout=20))
    report = tmp_path / "report.xlsx"
    os.mkfifo(report)
    assert "FIFO" in one_line_error(cli("summary", str(report), timeout=20))


def test_a_flipped_vr_in_the_pixel_module_is_one_line(tmp_path: Path) -> None:
    data = bytearray(bundled("CT_small.dcm"))
    at = data.find(b"\x28\x00\x01\x01US")  # BitsStored
    data[at + 4: at + 6] = b"U\xe9"
    path = tmp_path / "vr.dcm"
    path.write_bytes(bytes(data))
    assert read_header(path).rows  # the header shows, the bad element as raw bytes
    one_line_error(cli("preview", "--graphics", "none", str(path)))


# -- item 21: decoder panics ----------------------------------------------------------------------

def test_byte_flipped_rle_panic_is_one_line(tmp_path: Path) -> None:
    data = bytearray(bundled("rtdose_rle.dcm"))
    data[1808] = 0x80  # makes pylibjpeg-rle's Rust decoder panic: index out of bounds
    path = tmp_path / "flipped.dcm"
    path.write_bytes(bytes(data))
    with pytest.raises(DicomError, match="cannot decode frame 1"):
        render_frame(path, 0)
    text = one_line_error(cli("preview", "--graphics", "none", str(path)))
    assert "RLE" in text


def test_panic_exception_from_a_decoder_is_caught(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Whatever decoder panics: a BaseException named PanicException becomes one DicomError."""
    import pydicom.pixels

    class PanicException(BaseException):
        pass

    def panic(*args: object, **kwargs: object) -> None:
        raise PanicException("index out of bounds: the len is 400 but the index is 400")

    monkeypatch.setattr(pydicom.pixels, "pixel_array", panic)
    with pytest.raises(DicomError, match="index out of bounds"):
        render_frame(get_testdata_file("CT_small.dcm"), 0)


# -- issue 10 item 15: the 12-bit JPEG Extended demo file -----------------------------------------

def test_twelve_bit_jpeg_extended_decodes() -> None:
    image = render_frame(get_testdata_file("JPEG-lossy.dcm"), 0)
    assert image.shape == (1024, 256)
    assert image.std() > 10  # a bone scan, not a blank frame
    assert (image > 128).sum() > 500


def test_when_no_decoder_can_the_reasons_are_shown(tmp_path: Path) -> None:
    data = bytearray(bundled("SC_rgb_jpeg_dcmtk.dcm"))
    sof = data.find(b"\xff\xc0")
    data[sof + 4] = 3  # SOF precision 3 bits: no JPEG decoder accepts it
    path = tmp_path / "badjpeg.dcm"
    path.write_bytes(bytes(data))
    with pytest.raises(DicomError) as caught:
        render_frame(path, 0)
    message = str(caught.value)
    assert "\n" not in message
    assert not message.rstrip().endswith(":") and "pylibjpeg" in message


# -- issue 10 item 17: Pixel Data located from the elements, not searched for -------------------------

def random_pixel_file(path: Path, frames: int, size: int = 256, trailer: bytes = b"") -> Path:
    """Random 16-bit pixels (never a ramp); ``trailer`` ends the pixel data with chosen bytes."""
    rng = np.random.default_rng(7)
    pixels = rng.integers(0, 4096, size=(frames, size, size), dtype=np.uint16).tobytes()
    if trailer:
        pixels = pixels[: -len(trailer)] + trailer
    module = pixel_module(size, size, 1, 16, frames)
    path.write_bytes(meta("1.2.840.10008.1.2.1") + PATIENT + module + explicit(0x7FE00010, "OW", pixels))
    return path


def test_pixel_bytes_that_look_like_the_tag_are_not_taken_for_it(tmp_path: Path) -> None:
    fake = b"\xe0\x7f\x10\x00OW\0\0" + struct.pack("<I", 0x7FFFFFF0)
    path = random_pixel_file(tmp_path / "fake.dcm", frames=2, trailer=fake)
    assert read_header(path).error is None
    assert image_info(path).frames == 2


CHILD = """
import sys
def peak():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) // 1024
from phi_review.core.dicom.header import read_header
from phi_review.core.dicom.pixels import image_info, render_frame
base = peak()
read_header(sys.argv[1]); image_info(sys.argv[1]); render_frame(sys.argv[1], int(sys.argv[2]))
print(peak() - base)
"""


def test_header_and_a_late_frame_of_a_large_file_stay_small(tmp_path: Path) -> None:
    path = random_pixel_file(tmp_path / "large.dcm", frames=1200)  # 157 MB of random pixels
    out = subprocess.run([sys.executable, "-c", CHILD, str(path), "1100"], capture_output=True, text=True,
                         check=True, timeout=120)
    grown = int(out.stdout.split()[-1])
    assert grown < 40, f"{grown} MB for the header and one 128 KB frame of a {path.stat().st_size >> 20} MB file"


def test_locate_messages_are_inert(tmp_path: Path) -> None:
    from phi_review.core.dicom.locate import FileIndex

    index = FileIndex.build([tmp_path])
    message = index.resolve("SITE\x1b]0;owned\x07/IMG\u202e1.dcm").message
    assert "\x1b" not in message and "\u202e" not in message and "\\x1b]0;owned\\x07" not in message
    assert "IMG\\u202e1.dcm not found under" in message


def test_deflated_file_with_a_long_tail_is_decoded_without_reading_the_tail(tmp_path: Path) -> None:
    path = tmp_path / "dfl_tail.dcm"
    data = bundled("image_dfl.dcm")
    path.write_bytes(data)
    with open(path, "r+b") as handle:
        handle.truncate(len(data) + 512 * 1024 * 1024)  # sparse zeros after the deflate stream
    out = subprocess.run([sys.executable, "-c", CHILD, str(path), "0"], capture_output=True, text=True,
                         check=True, timeout=120)
    assert int(out.stdout.split()[-1]) < 40


def test_review_pane_loader_shows_the_header_of_an_unknown_syntax(tmp_path: Path) -> None:
    """What the review screen calls for a row: the header loads, only the image says why it cannot show."""
    from phi_review.core.report.model import Finding
    from phi_review.tui.review.file_loader import load_file

    path = unknown_syntax_file(tmp_path / "ts.dcm")
    finding = Finding(row=2, file=path.name, issue="Possible PHI/PII in Header", value="CompressedSamples^CT1",
                      tag="(0010,0010)")
    loaded = load_file(finding, None, path, None)
    assert loaded.header is not None and loaded.message == ""
    assert any(row.matched and row.keyword == "PatientName" for row in loaded.header.rows)
    assert loaded.image_error and "unknown transfer syntax" in loaded.image_error
