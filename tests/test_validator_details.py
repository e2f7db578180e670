"""The validator's row semantics, over every Details form it writes.

Every Details string below is copied from a CSV the real validator wrote
(releases 1.0.1 and 1.0.0 from PyPI, and the pre-1.0 snapshot of its source
that writes ``<site>-<event>.csv``), default mode ("pool") and ``-c 1``, on
the synthetic tree of ``tests/validator/make_tree.py``: the names and numbers
are invented.
"""

from __future__ import annotations

import pytest

from phi_review.core.report.validator import (
    COLUMNS_PER_EVENT,
    COLUMNS_PER_SITE,
    Details,
    csv_layout,
    file_frame,
    kind_of,
    parse_details,
    sampled_frames,
)

# (Findings, Details, Profile or None, expected tags, keywords, value, placeholder, score, pattern, frame index)
ROWS = [
    # Header PHI: identical in every release and mode.
    ("🙈 Possible PHI/PII in Header",
     "(0010,0010) (PatientName), «DOE^JANE», Possible PHI/PII detection (score 1.00): Structured name detection «DOE^JANE»",
     "CT standard", ("(0010,0010)",), ("PatientName",), "DOE^JANE", False, 1.0, "", None),
    ("🙈 Possible PHI/PII in Header",
     '(0010,0010) (PatientName), «DOE^JANE», Possible PHI/PII detection (score 0.85): Strict high-risk tag "PatientName" may need closer look with score 0.85',
     "CT standard", ("(0010,0010)",), ("PatientName",), "DOE^JANE", False, 0.85, "", None),
    ("🙈 Possible PHI/PII in Header",
     "(0010,4000) (PatientComments), «DOB: 02/03/1971, seen by Dr Roe», Possible PHI/PII detection (score 1.00): Using pattern DOB_like",
     "CT standard", ("(0010,4000)",), ("PatientComments",), "DOB: 02/03/1971, seen by Dr Roe", False, 1.0, "", None),
    ("🙈 Possible PHI/PII in Header",
     "(0010,0020) (PatientID), «000-12-3456», Possible PHI/PII detection (score 0.95): Using pattern SSN",
     None, ("(0010,0020)",), ("PatientID",), "000-12-3456", False, 0.95, "", None),
    ("🙈 Possible PHI/PII in Header",
     '(0008,1070) (OperatorsName), «LOE^ALEX», Possible PHI/PII detection (score 0.85): Strict high-risk tag "OperatorsName" may need closer look with score 0.85',
     None, ("(0008,1070)",), ("OperatorsName",), "LOE^ALEX", False, 0.85, "", None),
    # Missing required tags: placeholder, empty value, bad value (1.0.x and pre-1.0 wording).
    ("⚠️ Missing Required Tags",
     "(0020,0052) (FrameOfReferenceUID), «tag missing», Failed core tag validation: Required tag not found in DICOM dataset: (0020,0052) FrameOfReferenceUID — please review for completeness and format",
     "CT standard", ("(0020,0052)",), ("FrameOfReferenceUID",), "", True, None, "", None),
    ("⚠️ Missing Required Tags",
     "(0008,0070) (Manufacturer), «value missing», Failed core tag validation: Tag (0008,0070) (Manufacturer) found but missing a value in DICOM dataset — please review for completeness and format",
     "CT standard", ("(0008,0070)",), ("Manufacturer",), "", True, None, "", None),
    ("⚠️ Missing Required Tags",
     "(0008,0020) (StudyDate), «2024-01-31», Failed core tag validation: Value for tag does not match expected pattern: StudyDate must be a valid date in YYYYMMDD format — please review for completeness and format",
     "CT standard", ("(0008,0020)",), ("StudyDate",), "2024-01-31", False, None, "", None),
    ("⚠️ Missing Required Tags",
     "(0020,0013) (InstanceNumber), «0», Failed core tag validation: Value for tag does not match expected pattern: InstanceNumber must be a positive integer — please review for completeness and format",
     "CT standard", ("(0020,0013)",), ("InstanceNumber",), "0", False, None, "", None),
    ("⚠️ Missing Required Tags",
     "(0028,1051) (WindowWidth), «value missing», Failed core tag validation: WindowWidth tag is missing but required for MONOCHROME1 or MONOCHROME2 PhotometricInterpretation — please review for completeness and format",
     "Secondary capture", ("(0028,1051)",), ("WindowWidth",), "", True, None, "", None),
    ("⚠️ Missing Required Tags",  # pre-1.0: the tag is in front only
     "(0018,1020) (SoftwareVersions), «value missing», Failed core tag validation: Tag found but missing a value in DICOM dataset — please review for completeness and format",
     None, ("(0018,1020)",), ("SoftwareVersions",), "", True, None, "", None),
    ("⚠️ Missing Required Tags",  # the validator's own text names the wrong attribute: the tag in front wins
     "(0008,0008) (ImageType), «tag missing», Failed core tag validation: ImageOrientationPatient tag is missing — please review for completeness and format",
     None, ("(0008,0008)",), ("ImageType",), "", True, None, "", None),
    ("⚠️ Missing Required Tags",
     "(0018,0050) (SliceThickness), «-1.5», Failed core tag validation: Value for tag does not match expected pattern: SliceThickness must be a positive number, floating point or integer — please review for completeness and format",
     None, ("(0018,0050)",), ("SliceThickness",), "-1.5", False, None, "", None),
    # Warnings, default mode: "<value>, <description>", no tag in front.
    ("👮 Warning",
     "«ct», (0008,0060) Value for Modality matches expected pattern but uses incorrect case; Modality must be a valid DICOM code (CT, MR, MG, PT, etc.)",
     "CT standard", ("(0008,0060)",), ("Modality",), "ct", False, None, "", None),
    ("👮 Warning", "tag missing, Required tag not found in DICOM dataset: (0020,0052) FrameOfReferenceUID",
     "Secondary capture", ("(0020,0052)",), ("FrameOfReferenceUID",), "", True, None, "", None),
    ("👮 Warning", "value missing, Tag (0018,1020) (SoftwareVersions) found but missing a value in DICOM dataset",
     "CT localizer", ("(0018,1020)",), ("SoftwareVersions",), "", True, None, "", None),
    ("👮 Warning", "tag missing, PixelSpacing tag is missing",
     "CT localizer", ("(0028,0030)",), ("PixelSpacing",), "", True, None, "", None),
    ("👮 Warning", "-1.5, Value for tag does not match expected pattern: SliceThickness must be a positive number, floating point or integer",
     "CT localizer", ("(0018,0050)",), ("SliceThickness",), "-1.5", False, None, "", None),
    ("👮 Warning", "tag missing, ImageOrientationPatient tag is missing",
     "CT localizer", ("(0020,0037)",), ("ImageOrientationPatient",), "", True, None, "", None),
    ("👮 Warning", "tag missing, ImageOrientationPatient tag is missing",  # SC: that text is the missing ImageType
     "Secondary capture", ("(0008,0008)",), ("ImageType",), "", True, None, "", None),
    # Warnings, -c 1: tag in front, value wrapped once more for case warnings.
    ("👮 Warning",
     "(0008,0060) (Modality), ««ct»», Warning: (0008,0060) Value for Modality matches expected pattern but uses incorrect case; Modality must be a valid DICOM code (CT, MR, MG, PT, etc.)",
     "CT standard", ("(0008,0060)",), ("Modality",), "ct", False, None, "", None),
    ("👮 Warning",
     "(0020,0052) (FrameOfReferenceUID), «tag missing», Warning: Required tag not found in DICOM dataset: (0020,0052) FrameOfReferenceUID",
     "Secondary capture", ("(0020,0052)",), ("FrameOfReferenceUID",), "", True, None, "", None),
    ("👮 Warning", "(0008,0008) (ImageType), «tag missing», Warning: ImageOrientationPatient tag is missing",
     "Secondary capture", ("(0008,0008)",), ("ImageType",), "", True, None, "", None),
    ("👮 Warning", "(0028,0030) (PixelSpacing), «tag missing», Warning: PixelSpacing tag is missing",
     "CT localizer", ("(0028,0030)",), ("PixelSpacing",), "", True, None, "", None),
    ("👮 Warning",
     "(0018,0050) (SliceThickness), «-1.5», Warning: Value for tag does not match expected pattern: SliceThickness must be a positive number, floating point or integer",
     "CT localizer", ("(0018,0050)",), ("SliceThickness",), "-1.5", False, None, "", None),
    # Burned-in text: OCR words joined without spaces; default mode prints frame 0 as -1.
    ("🖼️ Possible Burned-in PHI/PII (Pixels)", "MRN:7212121, Detected with pattern MRN_like at frame index 3",
     "Secondary capture", (), (), "MRN:7212121", False, None, "MRN_like", 3),
    ("🖼️ Possible Burned-in PHI/PII (Pixels)", "MRN:7020202, Detected with pattern MRN_like at frame index 2",
     None, (), (), "MRN:7020202", False, None, "MRN_like", 2),
    ("🖼️ Possible Burned-in PHI/PII (Pixels)", "DOB:03/04/1969, Detected with pattern DOB_like at frame index -1",
     "Secondary capture", (), (), "DOB:03/04/1969", False, None, "DOB_like", -1),
    ("🖼️ Possible Burned-in PHI/PII (Pixels)", "DOB:03/04/1969, Detected with pattern DOB_like at frame index 0",
     "Secondary capture", (), (), "DOB:03/04/1969", False, None, "DOB_like", 0),
    # Errors.
    ("❌ Error",
     "FAIL! File is unexpectedly small (1.6 kB), Skipping file because it is unexpectedly small; file size is 1618 bytes but require a minimum of 15360 bytes",
     "CT standard", (), (), "FAIL! File is unexpectedly small (1.6 kB)", False, None, "", None),
]


@pytest.mark.parametrize("findings,details,profile,tags,keywords,value,placeholder,score,pattern,frame", ROWS)
def test_parse_details(findings: str, details: str, profile: str | None, tags: tuple[str, ...],
                       keywords: tuple[str, ...], value: str, placeholder: bool, score: float | None,
                       pattern: str, frame: int | None) -> None:
    for kind in (kind_of(findings), None):  # the kind given, and guessed from the text
        d = parse_details(details, kind, profile)
        assert d.tags == tags, kind
        assert d.keywords[: len(keywords)] == keywords, kind
        assert d.value == value
        assert d.placeholder is placeholder
        assert d.score == score
        assert d.pattern == pattern
        assert d.frame_index == frame
        assert d.reason and d.reason in details
        if placeholder:  # a placeholder is never a value nor a tag name
            assert d.value == "" and not any("missing" in k for k in d.keywords)


def test_details_is_frozen() -> None:
    d = parse_details("tag missing, PixelSpacing tag is missing", "warning")
    with pytest.raises(AttributeError):
        d.value = "x"  # type: ignore[misc]
    assert not hasattr(d, "__dict__")
    assert Details() == Details(tags=(), keywords=(), value="")


@pytest.mark.parametrize("text,kind", [
    ("🖼️ Possible Burned-in PHI/PII (Pixels)", "pixels"),
    ("Possible Burned-in PHI/PII (Pixels)", "pixels"),
    ("  possible  burned-in phi/pii (pixels) ", "pixels"),
    ("🙈 Possible PHI/PII in Header", "header"),
    ("Possible PHI/PII in Header", "header"),
    ("POSSIBLE PHI/PII IN HEADER", "header"),
    ("⚠️ Missing Required Tags", "missing"),
    ("\u26a0 Missing Required Tags", "missing"),
    ("Missing Required Tags", "missing"),
    ("missing  required tags", "missing"),
    ("👮 Warning", "warning"),
    ("Warning", "warning"),
    ("WARNING ", "warning"),
    ("❌ Error", "error"),
    ("Error", "error"),
    ("❓ Unknown", "other"),
    ("", "other"),
])
def test_kind_of(text: str, kind: str) -> None:
    assert kind_of(text) == kind


@pytest.mark.parametrize("n,frames", [
    (1, (0,)), (2, (0, 1)), (4, (0, 1, 2, 3)), (6, (0, 1, 2, 3)), (8, (0, 1, 2, 3)),
    (9, (0, 2, 4, 6)), (12, (0, 3, 6, 9)), (30, (0, 7, 14, 21)), (600, (0, 150, 300, 450)),
])
def test_sampled_frames(n: int, frames: tuple[int, ...]) -> None:
    assert sampled_frames(n) == frames


@pytest.mark.parametrize("k,n,frame", [
    (None, 30, 0), (-1, 30, 0), (0, 30, 0), (1, 30, 7), (3, 30, 21),
    (-1, 1, 0), (0, 1, 0), (2, 6, 2), (3, 8, 3), (3, 9, 6), (3, 600, 450),
    (9, 6, 5), (9, 30, 29),  # impossible indices are clamped, never raised
])
def test_file_frame(k: int | None, n: int, frame: int) -> None:
    assert file_frame(k, n) == frame


def test_csv_layout() -> None:
    assert csv_layout(list(COLUMNS_PER_SITE)) == "per-site"
    assert csv_layout(["\ufeffSite ID", "Event ID", "File Name", "Score", "Findings", "Details"]) == "per-event"
    assert COLUMNS_PER_EVENT == ("Site ID", "Event ID", "File Name", "Score", "Findings", "Details")
    assert csv_layout(["LabCAS File Name", "Validation Issue"]) == "unknown"
