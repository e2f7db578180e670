"""Header leaks of the Basic Profile, closed at their cause.

1. SR / KO content: Content Sequence has its own E.1-1 action (D; C with Clean Structured Content).
2. File meta: rebuilt from scratch, so AE titles and PrivateInformation never reach a copy.
3. Damaged files are refused; public elements no dictionary knows, and UN values, are removed.
4. Dates inside cleaned free text move with the header's dates, or go.

Each check searches the copy's bytes, not only what pydicom shows.
"""

from __future__ import annotations

import datetime as dt
import warnings
from pathlib import Path

import pydicom
import pytest
from pydicom.data import get_testdata_file

import leak_corpus as corpus
from phi_review.core.remedy.damage import structural_problem
from phi_review.core.remedy.output import RemedyError, write_copy
from phi_review.core.remedy.profile import (
    DUMMIES,
    ProfileSettings,
    date_offset_days,
    map_uid,
    option_keys,
    profile_editor,
)
from phi_review.tui.cli import main

SECRET = b"leak-test-secret"


def settings(*options: str) -> ProfileSettings:
    return ProfileSettings(secret=SECRET, options=option_keys(list(options)))


def fix(path: Path, tmp_path: Path, *options: str) -> Path:
    dest = tmp_path / "out" / ("-".join(options) or "basic") / path.name
    write_copy(path, dest, edit_header=profile_editor(settings(*options)))
    return dest


def leaks(copy: Path, secrets: list[bytes] = corpus.SECRETS) -> list[bytes]:
    data = copy.read_bytes()
    return [s for s in secrets if s in data]


def read(path: Path) -> pydicom.Dataset:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pydicom.dcmread(path)


# ----------------------------------------------------------------------------- 1. content sequence


@pytest.mark.parametrize("sop_class", [corpus.KO_CLASS, corpus.BASIC_SR_CLASS])
@pytest.mark.parametrize("options", [(), ("clean-descriptors",), ("clean-structured-content",),
                                     ("clean-descriptors", "retain-modified-dates")])
def test_content_tree_keeps_no_identifier(tmp_path: Path, sop_class: str, options: tuple[str, ...]) -> None:
    path = corpus.write_sr(tmp_path / "in" / "ko.dcm", sop_class)
    copy = fix(path, tmp_path, *options)
    assert leaks(copy) == []
    ds = read(copy)
    text, image, group = ds.ContentSequence
    assert [i.ValueType for i in group.ContentSequence] == ["PNAME", "DATETIME", "DATE", "UIDREF", "TEXT"]
    assert group.ContentSequence[0].ConceptNameCodeSequence[0].CodeValue == "121008"  # the structure stays
    ref = image.ReferencedSOPSequence[0]
    assert ref.ReferencedSOPInstanceUID == map_uid(corpus.IMAGE_UID, settings(*options))
    assert group.ContentSequence[3].UID == map_uid(corpus.TEXT_UID, settings(*options))
    assert group.ContentSequence[0].PersonName == DUMMIES["PN"]


def test_basic_profile_puts_dummies_in_content_items(tmp_path: Path) -> None:
    copy = fix(corpus.write_sr(tmp_path / "in" / "ko.dcm"), tmp_path)
    ds = read(copy)
    assert ds.ContentSequence[0].TextValue == DUMMIES["UT"]
    inner = ds.ContentSequence[2].ContentSequence
    assert inner[1].DateTime == DUMMIES["DT"] and inner[2].Date == DUMMIES["DA"]
    assert inner[4].TextValue == DUMMIES["UT"]


def test_clean_structured_content_keeps_text_without_identifiers(tmp_path: Path) -> None:
    path = corpus.write_sr(tmp_path / "in" / "ko.dcm")
    copy = fix(path, tmp_path, "clean-structured-content", "retain-modified-dates")
    ds = read(copy)
    assert ds.ContentSequence[0].TextValue.startswith("Key images of")
    inner = ds.ContentSequence[2].ContentSequence
    offset = date_offset_days(read(path), settings("retain-modified-dates"))
    moved = (dt.date(2023, 4, 15) + dt.timedelta(days=offset))
    assert inner[2].Date == moved.strftime("%Y%m%d")
    assert inner[1].DateTime == moved.strftime("%Y%m%d") + "101500"
    assert inner[4].TextValue.startswith(f"seen {moved.isoformat()}")
    assert "113104" in [c.CodeValue for c in ds.DeidentificationMethodCodeSequence]


def test_graphic_annotation_text_gets_a_dummy(tmp_path: Path) -> None:
    """Graphic Annotation Sequence has the same D row: a text object naming the patient is not kept."""
    ds = corpus.sr_dataset(corpus.BASIC_SR_CLASS)
    del ds.ContentSequence
    text = pydicom.Dataset()
    text.UnformattedTextValue = f"{corpus.NAME} {corpus.MRN}"
    text.AnchorPointAnnotationUnits = "PIXEL"
    annotation = pydicom.Dataset()
    annotation.GraphicLayer = "LAYER1"
    annotation.TextObjectSequence = pydicom.Sequence([text])
    ds.GraphicAnnotationSequence = pydicom.Sequence([annotation])
    path = tmp_path / "in" / "gsps.dcm"
    path.parent.mkdir(parents=True)
    ds.save_as(path, enforce_file_format=True)
    copy = fix(path, tmp_path)
    assert leaks(copy) == []
    assert read(copy).GraphicAnnotationSequence[0].TextObjectSequence[0].UnformattedTextValue == DUMMIES["ST"]


# ----------------------------------------------------------------------------- 2. file meta


def test_file_meta_is_rebuilt_with_only_what_a_file_needs(tmp_path: Path) -> None:
    path = corpus.write_meta_leak(tmp_path / "in" / "meta.dcm")
    for options in ((), ("retain-uids",)):
        copy = fix(path, tmp_path, *options)
        assert leaks(copy, [b"QUILLFEATHER", b"OSWALD", b"QF559913"]) == []
        meta = read(copy).file_meta
        assert set(meta.keys()) <= {0x00020000, 0x00020001, 0x00020002, 0x00020003, 0x00020010, 0x00020012,
                                    0x00020013}
        assert meta.MediaStorageSOPInstanceUID == read(copy).SOPInstanceUID
        assert meta.ImplementationVersionName.startswith("PHIREVIEW")


def test_a_meta_element_that_swallows_the_dataset_is_refused(tmp_path: Path) -> None:
    path = corpus.meta_swallows_dataset(tmp_path / "in" / "meta.dcm")
    assert "(0002,0012)" in (structural_problem(path) or "")
    dest = tmp_path / "out" / "meta.dcm"
    with pytest.raises(RemedyError, match=r"\(0002,0012\)"):
        write_copy(path, dest, edit_header=profile_editor(settings()))
    assert not dest.parent.exists() or not list(dest.parent.iterdir())  # refused before anything is written


# ----------------------------------------------------------------------------- 3. damaged and unknown


def test_a_well_formed_raw_file_is_accepted(tmp_path: Path) -> None:
    path = corpus.good_raw(tmp_path / "in" / "good.dcm")
    assert structural_problem(path) is None
    copy = fix(path, tmp_path)
    assert leaks(copy) == []


@pytest.mark.parametrize("build, reason", [
    (corpus.swallowing_lo, "(0008,0070)"),
    (corpus.swallowing_lo_implicit, "(0008,0070)"),
    (corpus.meta_swallows_dataset, "(0002,0012)"),
    (corpus.out_of_order, "order"),
    (corpus.length_past_end, "past the end"),
])
def test_damaged_files_are_refused_with_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                 monkeypatch: pytest.MonkeyPatch, build, reason: str) -> None:
    path = build(tmp_path / "in" / "bad.dcm")
    problem = structural_problem(path)
    assert problem is not None and reason in problem and "\n" not in problem
    assert corpus.NAME not in problem and corpus.MRN not in problem
    out = tmp_path / "out"
    monkeypatch.setenv("PHI_REVIEW_FIX_SECRET", "leak-cli-secret")
    code = main(["fix", str(path), "--out", str(out), "--profile", "basic"])
    _, err = capsys.readouterr()
    assert code != 0 and "skipped" in err and reason in err
    assert not (out / "bad.dcm").exists()
    assert corpus.NAME not in err and corpus.MRN not in err


@pytest.mark.parametrize("build", [corpus.flipped_name_tag, corpus.unknown_public_lo, corpus.unknown_un_sequence,
                                   lambda p: corpus.unknown_un_sequence(p, undefined=True)])
def test_elements_no_dictionary_knows_are_removed(tmp_path: Path, build) -> None:
    path = build(tmp_path / "in" / "odd.dcm")
    assert structural_problem(path) is None
    for options in ((), ("clean-descriptors",), ("retain-patient-characteristics", "retain-safe-private")):
        copy = fix(path, tmp_path, *options)
        assert leaks(copy) == [], options
        ds = read(copy)
        assert all(e.VR != "UN" for e in ds.iterall() if not e.tag.is_private)


def test_hostile_text_is_not_damage(tmp_path: Path) -> None:
    path = corpus.hostile_text(tmp_path / "in" / "hostile.dcm")
    assert structural_problem(path) is None
    copy = fix(path, tmp_path)
    assert leaks(copy, [b"EVIL", b"QF559913", b"line1"]) == []


def test_bundled_files_pass_the_structural_check() -> None:
    """Real files in every syntax (implicit, big endian, deflated, encapsulated) are not called damaged."""
    for name in ("CT_small.dcm", "MR_small_implicit.dcm", "MR_small_bigendian.dcm", "image_dfl.dcm",
                 "JPEG2000.dcm", "MR_small_RLE.dcm", "rtstruct.dcm", "waveform_ecg.dcm"):
        assert structural_problem(Path(get_testdata_file(name))) is None, name


def test_truncated_bundled_file_is_damaged() -> None:
    assert structural_problem(Path(get_testdata_file("MR_truncated.dcm"))) is not None


# ----------------------------------------------------------------------------- 4. dates in cleaned text


def _comments_file(tmp_path: Path, text: str) -> Path:
    ds = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
    ds.PatientName, ds.PatientID = corpus.NAME, corpus.MRN
    ds.ImageComments = text
    ds.StudyDescription = "CT seen 15 April 2023"
    path = tmp_path / "in" / "ct.dcm"
    path.parent.mkdir(parents=True, exist_ok=True)
    ds.save_as(path, enforce_file_format=True)
    return path


def test_dates_in_cleaned_text_move_with_the_patient(tmp_path: Path) -> None:
    path = _comments_file(tmp_path, "seen 2023-04-15 by WHITTLE; again 04/16/2023 and 17.04.2023, 20230418")
    copy = fix(path, tmp_path, "clean-descriptors", "retain-modified-dates")
    ds = read(copy)
    offset = date_offset_days(read(path), settings("retain-modified-dates"))

    def moved(day: int) -> dt.date:
        return dt.date(2023, 4, day) + dt.timedelta(days=offset)

    assert moved(15).isoformat() in ds.ImageComments
    assert moved(16).strftime("%m/%d/%Y") in ds.ImageComments
    assert moved(17).strftime("%d.%m.%Y") in ds.ImageComments
    assert moved(18).strftime("%Y%m%d") in ds.ImageComments
    assert moved(15).strftime("%d %B %Y") in ds.StudyDescription
    for day in ("2023-04-15", "04/16/2023", "17.04.2023", "20230418", "15 April 2023"):
        assert day.encode() not in copy.read_bytes()


def test_dates_in_cleaned_text_go_without_date_retention(tmp_path: Path) -> None:
    path = _comments_file(tmp_path, "seen 2023-04-15 by WHITTLE; ambiguous 04/05/2023")
    copy = fix(path, tmp_path, "clean-descriptors")
    ds = read(copy)
    assert "2023" not in ds.ImageComments and "2023" not in ds.StudyDescription
    assert ds.ImageComments.startswith("seen")


# ----------------------------------------------------------------------------- what no row names


def _unnamed_file(tmp_path: Path) -> Path:
    """Known attributes without an E.1-1 row: dates, a reviewer's name, free text naming the patient."""
    ds = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
    ds.PatientName, ds.PatientID = corpus.NAME, corpus.MRN
    ds.Manufacturer = f"ACME for {corpus.NAME} {corpus.MRN}"
    ds.SecondaryReviewDate, ds.SecondaryReviewTime = "20230415", "101500"
    ds.SecondaryReviewerName = "WHITTLE^AGATHA"
    ds.DateOfGainCalibration = "20230416"
    path = tmp_path / "in" / "unnamed.dcm"
    path.parent.mkdir(parents=True, exist_ok=True)
    ds.save_as(path, enforce_file_format=True)
    return path


def test_unnamed_dates_names_and_text_leave_nothing(tmp_path: Path) -> None:
    path = _unnamed_file(tmp_path)
    copy = fix(path, tmp_path)
    assert leaks(copy, [b"QUILLFEATHER", b"OSWALD", b"QF559913", b"20230415", b"20230416", b"WHITTLE"]) == []
    ds = read(copy)
    assert "SecondaryReviewDate" not in ds and "DateOfGainCalibration" not in ds
    assert ds.Manufacturer.startswith("ACME for")


def test_unnamed_dates_move_with_retain_modified_dates(tmp_path: Path) -> None:
    path = _unnamed_file(tmp_path)
    ds = read(fix(path, tmp_path, "retain-modified-dates"))
    moved = dt.date(2023, 4, 15) + dt.timedelta(days=date_offset_days(read(path), settings("retain-modified-dates")))
    assert ds.SecondaryReviewDate == moved.strftime("%Y%m%d") and ds.SecondaryReviewTime == "101500"
    full = read(fix(path, tmp_path, "retain-full-dates"))
    assert full.SecondaryReviewDate == "20230415"


@pytest.mark.skipif(not __import__("shutil").which("dciodvfy"), reason="dicom3tools not installed")
@pytest.mark.parametrize("sop_class", [corpus.KO_CLASS, corpus.BASIC_SR_CLASS])
def test_content_copies_add_no_dciodvfy_errors(tmp_path: Path, sop_class: str) -> None:
    from test_fix_profile import dciodvfy_errors

    path = corpus.write_sr(tmp_path / "in" / "doc.dcm", sop_class)
    before = dciodvfy_errors(path)
    for options in ((), ("clean-structured-content", "retain-modified-dates")):
        assert dciodvfy_errors(fix(path, tmp_path, *options)) - before == set(), options


def test_cli_takes_clean_structured_content(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PHI_REVIEW_FIX_SECRET", "leak-cli-secret")
    path = corpus.write_sr(tmp_path / "in" / "ko.dcm")
    code = main(["fix", str(path), "--out", str(tmp_path / "out"), "--option", "clean-structured-content"])
    capsys.readouterr()
    copy = tmp_path / "out" / "ko.dcm"
    assert code == 0 and leaks(copy) == []
    ds = read(copy)
    assert ds.ContentSequence[0].TextValue.startswith("Key images of")
    assert "113104" in [c.CodeValue for c in ds.DeidentificationMethodCodeSequence]


def test_short_name_parts_are_removed_as_words_only() -> None:
    from phi_review.core.remedy.profile_text import clean_text

    text = clean_text("Philips Liver scan for Li Wu, MRNQF559913", ["QF559913", "Li", "Wu"])
    assert text == "Philips Liver scan for , MRN"


def test_a_media_directory_is_refused(tmp_path: Path) -> None:
    """A DICOMDIR names files by paths (often patient IDs) and indexes the originals: the profile
    cannot make it anonymous and valid at once, so it is refused; a new one is made over the copies."""
    from phi_review.core.remedy.profile import ProfileError

    dest = tmp_path / "out" / "DICOMDIR"
    with pytest.raises(ProfileError, match="DICOMDIR"):
        write_copy(Path(get_testdata_file("DICOMDIR")), dest, edit_header=profile_editor(settings()))
    assert not dest.exists()


def test_structural_check_never_opens_a_fifo(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.dcm"
    __import__("os").mkfifo(fifo)
    assert structural_problem(fifo) == "not a regular file"
