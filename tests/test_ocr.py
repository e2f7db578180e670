"""Burned-in text is read, PHI among it is marked, and empty frames stay silent."""

from __future__ import annotations

import json

import pytest

from phi_review.core.ocr import OcrEngine, ocr_file
from phi_review.core.phi_match import match_line, norm, phi_terms
from phi_review.sample_reports.make_dicom import multiframe_file
from phi_review.tui.cli import main

from ocr_corpus import PATIENT, empty_samples, text_samples

pytest.importorskip("rapidocr_onnxruntime")


@pytest.fixture(scope="module")
def engine():
    return OcrEngine()



def test_at_least_90_percent_of_words_are_found(engine, tmp_path):
    samples = text_samples(tmp_path)
    assert len(samples) >= 20
    total = hits = 0
    missed: list[str] = []
    for sample in samples:
        read = norm(" ".join(line.text for line in engine.read_text(sample.image)))
        for word in sample.words:
            total += 1
            if norm(word) in read:
                hits += 1
            else:
                missed.append(f"{sample.name}:{word}")
    recall = hits / total
    print(f"OCR word recall {recall:.1%} ({hits}/{total}); missed: {missed}")
    assert recall >= 0.9, missed


def test_blank_and_noise_frames_give_no_text(engine):
    for sample in empty_samples():
        assert engine.read_text(sample.image) == [], sample.name


def test_patient_name_marked_neutral_words_not(engine, tmp_path):
    from phi_review.core.ocr import mark_phi
    from phi_review.sample_reports.make_dicom import render_text_frame

    image = render_text_frame(["RICHARD ROE  PID-7731-204", "PORTABLE", "LEFT"], font_size=22)
    lines = mark_phi(engine.read_text(image), phi_terms(PATIENT, ""))
    by_text = {line.text: line for line in lines}
    name = next(line for text, line in by_text.items() if "RICHARD" in text)
    assert name.likely_phi and "Patient" in name.reason
    assert not any(line.likely_phi for text, line in by_text.items() if text in ("PORTABLE", "LEFT"))


def test_dates_match_in_other_spellings():
    terms = phi_terms({"PatientBirthDate": "19580722", "StudyDate": "20230915"}, "")
    for text in ("22/07/1958", "1958-07-22", "DOB 07/22/1958", "15.09.2023", "15-SEP-2023 08:14"):
        assert match_line(text, terms) is not None, text
    assert match_line("GAIN 54", terms) is None


def test_multiframe_file_reads_first_middle_last(engine, tmp_path):
    path = multiframe_file(tmp_path / "cine.dcm", frames=9, patient=PATIENT)
    result = ocr_file(path, detected_value="ROE^RICHARD", engine=engine)
    assert sorted(result.frames) == [0, 4, 8]
    assert result.header.get("BurnedInAnnotation") == "YES"
    for lines in result.frames.values():
        assert any(line.likely_phi for line in lines)


def test_ocr_command_json(tmp_path, capsys):
    path = multiframe_file(tmp_path / "cine.dcm", frames=3, patient=PATIENT)
    assert main(["ocr", str(path), "--frame", "2", "--json", "--value", "ROE^RICHARD"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["frames"] == 3
    assert {line["frame"] for line in data["lines"]} == {2}
    assert any(line["likely_phi"] for line in data["lines"])


def test_ocr_command_on_a_non_dicom_file_is_one_line(tmp_path, capsys):
    bad = tmp_path / "notes.txt"
    bad.write_text("hello")
    assert main(["ocr", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
