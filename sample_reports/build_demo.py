"""Build the demo: a reconciliation report and the DICOM tree it points at.

Everything comes from pydicom's bundled test files (copied under study-like
folders) or from images we synthesize with burned-in text; no real patient
data. Run ``python -m phi_review.sample_reports.build_demo DIR`` or
``phi-review demo [DIR]``.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pydicom.data

from phi_review.core.common.errors import PhiReviewError

from phi_review.sample_reports.make_dicom import (
    DEFAULT_PATIENT,
    burned_in_text_image,
    hostile_header_file,
    multiframe_file,
)
from phi_review.sample_reports.make_workbook import build_report_workbook

BUNDLED = Path(pydicom.data.__file__).parent / "test_files"

PIXELS = "Possible Burned-in PHI/PII (Pixels)"
HEADER = "Possible PHI/PII in Header"
MISSING = "Missing Required Tags"

# (bundled file, where it goes, issue, tag, detected value)
BUNDLED_ROWS: tuple[tuple[str, str, str, str, str], ...] = (
    ("CT_small.dcm", "SITE01/STUDY_0001/SER_001/IMG_00001.dcm", HEADER, "InstitutionName", "JFK IMAGING CENTER"),
    ("CT_small.dcm", "SITE01/STUDY_0001/SER_001/IMG_00002.dcm", HEADER, "InstitutionName", "JFK IMAGING CENTER"),
    ("CT_small.dcm", "SITE01/STUDY_0001/SER_001/IMG_00003.dcm", HEADER, "InstitutionName", "JFK IMAGING CENTER"),
    ("CT_small.dcm", "SITE01/STUDY_0001/SER_001/IMG_00004.dcm", HEADER, "PatientName", "CompressedSamples^CT1"),
    ("MR_small.dcm", "SITE01/STUDY_0002/SER_001/IMG_00001.dcm", HEADER, "PatientName", "CompressedSamples^MR1"),
    ("MR_small_RLE.dcm", "SITE01/STUDY_0002/SER_002/IMG_00001.dcm", HEADER, "PatientName", "CompressedSamples^MR1"),
    ("MR_small_jp2klossless.dcm", "SITE01/STUDY_0002/SER_003/IMG_00001.dcm", HEADER, "PatientName", "CompressedSamples^MR1"),
    ("MR_small_jpeg_ls_lossless.dcm", "SITE01/STUDY_0002/SER_004/IMG_00001.dcm", HEADER, "InstitutionName", "TOSHIBA"),
    ("MR_small_bigendian.dcm", "SITE01/STUDY_0002/SER_005/IMG_00001.dcm", MISSING, "", "PatientIdentityRemoved, DeidentificationMethod"),
    ("JPEG2000.dcm", "SITE02/STUDY_0101/SER_001/IMG_00001.dcm", HEADER, "InstitutionName", "Hospital Name 12345"),
    ("JPEG-lossy.dcm", "SITE02/STUDY_0102/SER_001/IMG_00001.dcm", HEADER, "InstitutionName", "St. John's Memorial"),
    ("SC_rgb_rle_2frame.dcm", "SITE02/STUDY_0103/SER_001/IMG_00001.dcm", PIXELS, "", "Lestrade^G"),
    ("SC_ybr_full_422_uncompressed.dcm", "SITE02/STUDY_0103/SER_002/IMG_00001.dcm", PIXELS, "", "Lestrade^G"),
    ("ExplVR_BigEnd.dcm", "SITE02/STUDY_0104/SER_001/IMG_00001.dcm", HEADER, "InstitutionName", "GE MEDICAL SYSTEMS"),
    ("dicomdirtests/77654033/CR1/6154", "SITE03/STUDY_0201/SER_001/IMG_00001.dcm", HEADER, "PatientName", "Doe^Archibald"),
    ("MR_truncated.dcm", "SITE03/STUDY_0202/SER_001/IMG_00001.dcm", HEADER, "PatientName", "CompressedSamples^MR1"),
)

PATIENT = DEFAULT_PATIENT


def _synthesize(dicom_root: Path) -> list[dict[str, str]]:
    """Images with burned-in text, a cine loop, a hostile header: what the bundled files lack."""
    rows: list[dict[str, str]] = []
    us = dicom_root / "SITE04/STUDY_0301/SER_001"
    for n, extra in enumerate(("LT KIDNEY", "RT KIDNEY", "BLADDER PRE-VOID"), start=1):
        name = f"SITE04/STUDY_0301/SER_001/US_{n:05d}.dcm"
        burned_in_text_image(
            us / f"US_{n:05d}.dcm",
            ["DOE^JANE  MRN-0042-7781", "31/01/2024 10:42", extra],
            modality="US",
            patient=PATIENT,
        )
        rows.append({"file": name, "issue": PIXELS, "tag": "", "value": "DOE^JANE"})
    sc = dicom_root / "SITE04/STUDY_0301/SER_002/SC_00001.dcm"
    burned_in_text_image(sc, ["MERCY GENERAL HOSPITAL", "DOB 1962-03-14"], modality="OT", patient=PATIENT,
                         bits=16, color=False)
    rows.append({"file": "SITE04/STUDY_0301/SER_002/SC_00001.dcm", "issue": PIXELS, "tag": "",
                 "value": "MERCY GENERAL HOSPITAL"})
    cine = dicom_root / "SITE04/STUDY_0301/SER_003/CINE_00001.dcm"
    multiframe_file(cine, frames=12, patient=PATIENT)
    rows.append({"file": "SITE04/STUDY_0301/SER_003/CINE_00001.dcm", "issue": PIXELS, "tag": "", "value": "DOE^JANE"})
    hostile = dicom_root / "SITE04/STUDY_0302/SER_001/IMG_00001.dcm"
    hostile_header_file(hostile)
    rows.append({"file": "SITE04/STUDY_0302/SER_001/IMG_00001.dcm", "issue": HEADER, "tag": "PatientName",
                 "value": "[bold red]markup[/]"})
    return rows


def demo_rows(dicom_root: Path) -> list[dict[str, str]]:
    rows: list[dict[str, str]] = []
    for source, target, issue, tag, value in BUNDLED_ROWS:
        destination = dicom_root / target
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(BUNDLED / source, destination)
        rows.append({"file": target, "issue": issue, "tag": tag, "value": value})
    rows.extend(_synthesize(dicom_root))
    # Two files with one name in different folders: the report names it bare.
    twin = dicom_root / "SITE05/STUDY_0401/SER_001/TWIN_00001.dcm"
    twin.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(BUNDLED / "MR_small.dcm", twin)
    twin2 = dicom_root / "SITE05/STUDY_0401/SER_002/TWIN_00001.dcm"
    twin2.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(BUNDLED / "CT_small.dcm", twin2)
    rows.append({"file": "TWIN_00001.dcm", "issue": HEADER, "tag": "InstitutionName", "value": "TOSHIBA"})
    # A row whose file was never delivered.
    rows.append({"file": "SITE05/STUDY_0402/SER_001/IMG_00009.dcm", "issue": HEADER, "tag": "PatientID",
                 "value": "MRN-0042-7781"})
    for row in rows:
        row.setdefault("action", "")
        row.setdefault("note", "")
    return rows


def build_demo(target: Path) -> Path:
    """Lay a fresh, writable demo into ``target``; return the report's path."""
    target = Path(target)
    target.mkdir(parents=True, exist_ok=True)
    report = target / "reconciliation_report.xlsx"
    if report.exists():
        raise PhiReviewError(f"{report} already exists: pick an empty folder for the demo")
    rows = demo_rows(target / "dicom")
    build_report_workbook(report, rows)
    return report


if __name__ == "__main__":
    print(build_demo(Path(sys.argv[1] if len(sys.argv) > 1 else "demo")))
