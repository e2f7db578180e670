"""The scan's parts on their own: the frame phrase and phi-review's reading of it, rules, header patterns,
the validator's path parsing, the progress line."""

from __future__ import annotations

import io

import pytest
from pydicom.dataset import Dataset

from phi_review.core.common.errors import PhiReviewError
from phi_review.core.report.model import Finding
from phi_review.core.report.pointer import first_frame
from phi_review.core.report.validator import file_frame, parse_details
from phi_review.core.scan import layout
from phi_review.core.scan.checks import sampled, validator_frames
from phi_review.core.scan.header_check import PATTERNS, cell_text
from phi_review.core.scan.rules import load_rules, parse_rules
from phi_review.core.scan.run import Progress
from phi_review.core.scan.walk import UNKNOWN_EVENT, UNKNOWN_SITE, organization

PIX = layout.PIXELS


def _finding(details: str) -> Finding:
    return Finding(row=2, file="a.dcm", issue=PIX, details=details)


@pytest.mark.parametrize("frames", [1, 2, 8, 9, 12, 40, 1000])
def test_every_frame_of_a_scan_row_is_found_again_by_the_report_reader(frames: int) -> None:
    for first in sorted({f for f in (0, 1, frames // 2, frames - 2, frames - 1) if 0 <= f < frames}):
        details = layout.pixel_details("DOE, JANE", "ocr:identifier", first, frames - 1, frames, "why")
        parsed = parse_details(details, "pixels")
        assert parsed.value == "DOE, JANE" and parsed.pattern == "ocr:identifier"
        assert parsed.file_frame == first
        assert first_frame(_finding(details), frames) == first
        if frames <= 8:  # a reader that ignores the phrase lands there too
            assert file_frame(parsed.frame_index, frames) == first


def test_a_frame_between_the_validators_samples_needs_the_phrase() -> None:
    details = layout.pixel_details("X", "ocr:text", 5, 5, 12, "why")  # 12 frames: the validator reads 0, 3, 6, 9
    assert file_frame(parse_details(details, "pixels").frame_index, 12) != 5
    assert first_frame(_finding(details), 12) == 5


def test_frame_zero_prints_as_the_pool_mode_does() -> None:
    assert layout.validator_index(0, 5) == -1 and layout.validator_index(3, 40) == -1 + 2  # 3 // 10 = 0 -> 1
    assert validator_frames(8) == (0, 1, 2, 3) and validator_frames(12) == (0, 3, 6, 9)
    assert sampled(12) == [0, 3, 6, 9, 11]


def test_validator_path_parsing() -> None:
    assert organization("top/Coll/Images_Site_A/1234567/s/f.dcm") == ("Images_Site_A", "1234567")
    assert organization("Coll/loose.dcm") == (UNKNOWN_SITE, UNKNOWN_EVENT)
    assert organization("Coll/Site/123456/f.dcm") == (UNKNOWN_SITE, UNKNOWN_EVENT)  # six digits: no event
    assert organization("S/1234567/7654321/f.dcm") == ("S", "1234567")  # the first seven-digit folder


def _values(**kw: str) -> dict[str, str]:
    return kw


def test_default_rules() -> None:
    rules = {r.name: r for r in load_rules(None)}
    assert rules["Ultrasound"].why(_values(Modality="us"), set()) == "Modality is US"
    assert rules["Ultrasound"].why(_values(Modality="MR"), set()) is None
    assert rules["Secondary capture"].why(_values(ImageType="DERIVED\\SECONDARY"), set()) == "ImageType has SECONDARY"
    assert rules["Declared burned-in annotation"].why(_values(BurnedInAnnotation="NO"), set()) is None


def test_rule_lists_any_all_and_private_creators() -> None:
    rules = parse_rules("""
[[rule]]
name = "Burners"
equals = { Manufacturer = ["ACME", "FOO"], ManufacturerModelName = "X-1" }
match = "any"

[[rule]]
name = "Both"
equals = { Manufacturer = "ACME", ManufacturerModelName = "X-1" }

[[rule]]
name = "Vendor block"
private_creator = "SIEMENS CSA HEADER"
""")
    burners, both, vendor = rules
    assert burners.why(_values(Manufacturer="foo"), set()) == "Manufacturer is FOO"
    assert both.why(_values(Manufacturer="ACME"), set()) is None
    assert both.why(_values(Manufacturer="ACME", ManufacturerModelName="x-1"), set()) is not None
    assert vendor.why({}, {"SIEMENS CSA HEADER"}) == "private creator SIEMENS CSA HEADER"


@pytest.mark.parametrize("text, words", [
    ("[[rule]]\nname = 'x'\n", "needs a condition"),
    ("[[rule]]\nequals = { Modality = 'US' }\n", "needs a name"),
    ("[[rule]]\nname='x'\nequals = { Modality = 3 }\n", "a text or a list"),
    ("[[rule]]\nname='x'\nwhen = { Modality = 'US' }\n", "unknown key"),
    ("[[rule]\n", "not valid TOML"),
])
def test_bad_rules_are_one_line(text: str, words: str) -> None:
    with pytest.raises(PhiReviewError) as error:
        parse_rules(text, "r.toml")
    assert words in str(error.value) and "\n" not in str(error.value)


@pytest.mark.parametrize("value, name", [
    ("call 555-867-5309 today", "phone"), ("jane.doe@example.org", "e-mail"), ("SSN 123-45-6789", "SSN"),
    ("MRN: 00123456", "MRN-like ID"),
])
def test_header_patterns(value: str, name: str) -> None:
    assert [n for n, rx, _ in PATTERNS if rx.search(value)][0] == name


def test_header_hits_in_private_and_free_text_tags(tmp_path) -> None:
    from phi_review.core.dicom.header import read_header
    from phi_review.core.scan.header_check import header_hits

    ds = Dataset()
    ds.PatientName, ds.PatientID, ds.Modality = "ROE^RICHARD", "PID-99881", "MR"
    ds.SeriesDescription = "T1 AX"
    ds.ImageComments = "call 555-867-5309"
    block = ds.private_block(0x0029, "ACME 1.0", create=True)
    block.add_new(0x01, "LO", "RICHARD ROE")
    ds.file_meta = Dataset()
    ds.file_meta.TransferSyntaxUID = "1.2.840.10008.1.2.1"
    ds.file_meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.4"
    ds.file_meta.MediaStorageSOPInstanceUID = "1.2.3"
    path = tmp_path / "h.dcm"
    ds.save_as(path, enforce_file_format=True)
    hits = {f"{h.tag:08X}": h for h in header_hits(read_header(path))}
    assert "0008103E" not in hits  # plain free text names no one
    assert "pattern phone" in hits["00204000"].why
    assert "holds the file's PatientName" in hits["00291001"].why and hits["00291001"].score == 1.0
    assert hits["00100010"].score == 1.0


def test_cell_text_keeps_one_line() -> None:
    assert cell_text("a\r\nb\tc\x1b[31m") == "a b c\ufffd[31m"


def test_progress_lines_when_not_a_terminal() -> None:
    out = io.StringIO()
    meter = Progress(out, total=10, done=4)
    meter.frames = 7
    meter.show(force=True)
    line = out.getvalue()
    assert line.startswith("scan: 4/10 files, 7 frames, ") and line.endswith("\n") and "\r" not in line


def test_sampled_frames_read_fewer_and_all_reads_every_frame(tmp_path) -> None:
    from phi_review.core.scan.checks import Options, scan_file
    from phi_review.core.scan.walk import target

    from scan_tree import text_on_one_frame

    path = text_on_one_frame(tmp_path / "Site" / "1234567" / "c.dcm", frames=12, text_frame=5)
    every = scan_file(target(str(path)), Options(ocr=False))
    some = scan_file(target(str(path)), Options(ocr=False, ocr_frames="sampled"))
    assert (every.frames, every.frames_read, some.frames_read) == (12, 12, len(sampled(12)))
    assert not every.error and every.rows[0][:2] == ["Site", "1234567"]


def test_progress_rewrites_one_line_on_a_terminal() -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    out = Tty()
    meter = Progress(out, total=3, done=0)
    meter.show(force=True)
    meter.done = 3
    meter.end()
    text = out.getvalue()
    assert text.startswith("\r\x1b[K") and text.count("\n") == 1 and "3/3 files" in text


def test_identical_frames_are_read_once_and_ranges_join(tmp_path, monkeypatch) -> None:
    """Eight frames, seven of them the same blank: two OCR calls; the text frame is its own one-frame range."""
    from phi_review.core.scan import checks
    from phi_review.core.scan.walk import target

    from scan_tree import text_on_one_frame

    path = text_on_one_frame(tmp_path / "Site" / "1234567" / "c.dcm", frames=8, text_frame=6)
    calls: list[int] = []

    def fake_ocr(image, terms):  # the text frame is the one with the most bright pixels
        calls.append(int(image.sum()))
        return (("DOE JANE",), "ocr:identifier", "matches PatientName") if len(calls) == 2 else ((), "", "")

    monkeypatch.setattr(checks, "_ocr_lines", fake_ocr)
    result = checks.scan_file(target(str(path)), checks.Options(ocr=True))
    assert result.frames_read == 8 and len(calls) == 2
    pixel = [r[6] for r in result.rows if "ocr:" in r[6]]
    assert pixel == ["DOE JANE [scan: file frame 7 of 8; matches PatientName; all frames read; frames the validator "
                     "never reads], Detected with pattern ocr:identifier at frame index 6"]


def test_frames_with_the_same_words_make_one_range() -> None:
    from phi_review.core.scan.checks import _ranges

    words = ("A",)
    found = [(0, words, "p", "w"), (1, words, "p", "w"), (2, ("B",), "p", "w"), (4, ("B",), "p", "w")]
    assert [(a, b, w) for a, b, w, _, _ in _ranges(found)] == [(0, 1, words), (2, 2, ("B",)), (4, 4, ("B",))]


def test_overlay_planes_are_drawn_before_ocr(tmp_path, monkeypatch) -> None:
    """Burned-in text can live in an overlay plane (60xx,3000): OCR sees the frame with it drawn."""
    import numpy as np
    import pydicom

    from phi_review.core.scan import checks
    from phi_review.core.scan.walk import target
    from phi_review.sample_reports.make_dicom import burned_in_text_image

    plain = burned_in_text_image(tmp_path / "plain.dcm", [], size=(64, 64), modality="OT", contrast=0.2)
    ds = pydicom.dcmread(plain)
    ds.add_new(0x60000010, "US", 64)
    ds.add_new(0x60000011, "US", 64)
    ds.add_new(0x60000040, "CS", "G")
    ds.add_new(0x60000050, "SS", [1, 1])
    ds.add_new(0x60000100, "US", 1)
    ds.add_new(0x60000102, "US", 0)
    ds.add_new(0x60003000, "OW", np.packbits(np.ones(64 * 64, dtype=np.uint8), bitorder="little").tobytes())
    with_overlay = tmp_path / "overlay.dcm"
    ds.save_as(with_overlay, enforce_file_format=True)
    seen: list[int] = []
    monkeypatch.setattr(checks, "_ocr_lines", lambda image, terms: seen.append(int(image.sum())) or ((), "", ""))
    for path in (plain, with_overlay):
        checks.scan_file(target(str(path)), checks.Options(ocr=True))
    assert len(seen) == 2 and seen[1] > seen[0]
