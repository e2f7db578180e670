"""Burned-in text is read, PHI among it is marked, and empty frames stay silent.

The frames are synthesized per run (tests/ocr_corpus.py). One engine is shared
by the module so the models load once; the whole file runs in well under a
minute and a half on 2 cores.
"""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest

from phi_review.core.ocr import engine as ocr_module
from phi_review.core.common.errors import PhiReviewError
from phi_review.core.ocr.engine import OcrEngine, default_frames, ocr_file, to_rgb8
from phi_review.core.ocr.phi_match import fold, looks_like_date, match_line, phi_candidates, phi_reason, phi_terms
from phi_review.sample_reports.make_dicom import burned_in_text_image, multiframe_file
from phi_review.tui.cli import main

from ocr_corpus import PATIENT, TEXT_FRAMES, empty_samples, text_samples


from phi_review.core.ocr.models import ocr_available as ocr_module_available  # noqa: E402


@pytest.fixture(scope="module")
def engine():
    pytest.importorskip("onnxruntime")
    if not ocr_module_available():
        pytest.skip("OCR is not installed: needs the ocr extra")
    shared = OcrEngine()
    shared.load()
    return shared


@pytest.fixture(autouse=True)
def _fresh_cache():
    ocr_module.clear_cache()


# ----- recognition -------------------------------------------------------------------


def test_at_least_90_percent_of_words_are_found(engine, tmp_path):
    samples = text_samples(tmp_path)
    assert len(samples) == TEXT_FRAMES >= 20
    total = hits = 0
    missed: list[str] = []
    for sample in samples:
        lines = engine.read_text(sample.image)
        height, width = sample.image.shape[:2]
        for line in lines:
            x0, y0, x1, y1 = line.box
            assert 0 <= x0 < x1 <= width and 0 <= y0 < y1 <= height, (sample.name, line)
            assert 0.0 <= line.confidence <= 1.0
        # A word counts when its letters appear in order (OCR may drop the space between words
        # or read O as 0; ``fold`` treats those look-alikes as one symbol).
        read = fold(" ".join(line.text for line in lines))
        for word in sample.words:
            total += 1
            if fold(word) in read:
                hits += 1
            else:
                missed.append(f"{sample.name}:{word}")
    recall = hits / total
    print(f"\nOCR word recall {recall:.1%} ({hits}/{total} words, {len(samples)} frames); missed: {missed}")
    assert recall >= 0.9, missed


def test_blank_flat_and_noise_frames_give_no_text(engine):
    for sample in empty_samples():
        assert engine.read_text(sample.image) == [], sample.name


def test_patient_name_is_marked_and_neutral_words_are_not(engine, tmp_path):
    path = burned_in_text_image(tmp_path / "us.dcm", ["RICHARD ROE", "PORTABLE", "LEFT"], font_size=22,
                                patient=PATIENT)
    lines = ocr_file(path, engine=engine).frames[0]
    texts = [line.text for line in lines]
    name = next(line for line in lines if "RICHARD" in line.text.upper())
    assert name.likely_phi and name.reason == "matches PatientName", texts
    neutral = [line for line in lines if fold(line.text) in (fold("PORTABLE"), fold("LEFT"))]
    assert len(neutral) == 2, texts
    assert not any(line.likely_phi or line.reason for line in neutral)


def test_detected_value_marks_a_line_the_header_does_not_hold(engine, tmp_path):
    path = burned_in_text_image(tmp_path / "us.dcm", ["DR WATSON CLINIC", "GAIN 54"], font_size=20, patient=PATIENT)
    unmarked = ocr_file(path, engine=engine).frames[0]
    assert not any(line.likely_phi for line in unmarked), unmarked
    marked = ocr_file(path, detected_value="Watson Clinic", engine=engine).frames[0]
    assert [line.reason for line in marked if line.likely_phi] == ["matches detected value"]


def test_small_and_sixteen_bit_arrays_are_read(engine):
    from phi_review.sample_reports.make_dicom import render_text_frame

    small = render_text_frame(["ROE RICHARD"], size=(200, 120), font_size=12, position="top-left")
    assert any("RICHARD" in line.text for line in engine.read_text(small))
    wide = render_text_frame(["ROE RICHARD"], font_size=20).astype(np.uint16) * 16  # 12-bit range, raw
    lines = engine.read_text(wide)
    assert any("RICHARD" in line.text for line in lines)
    assert to_rgb8(wide).max() == 255 and to_rgb8(wide).dtype == np.uint8


# ----- PHI matching (no engine needed) ---------------------------------------------


def test_dates_match_in_other_spellings():
    terms = phi_terms({"PatientBirthDate": "19580722", "StudyDate": "20230915"}, "")
    for text in ("22/07/1958", "1958-07-22", "DOB 07/22/1958", "15.09.2023", "15-SEP-2023 08:14", "20230915",
                 "SEP 15, 2023", "D0B 1958-O7-22"):
        assert match_line(text, terms) is not None, text
    for text in ("GAIN 54", "DEPTH 16CM", "2023", "10:42"):
        assert match_line(text, terms) is None, text


def test_names_match_in_any_order_and_through_ocr_errors():
    terms = phi_terms({"PatientName": "ROE^RICHARD^J", "PatientID": "PID-7731-204",
                       "AccessionNumber": "ACC9921", "InstitutionName": "Lakeside Radiology"}, "")
    for text in ("ROE^RICHARD", "Richard Roe", "ROERICHARD", "R1CHARD", "ROE, R1CHARD J", "PID 7731 2O4",
                 "ACC 9921", "LAKESlDE RADIOLOGY", "lakeside radiolgy"):
        assert match_line(text, terms) is not None, text
    for text in ("PORTABLE", "LEFT", "TRANSVERSE VIEW", "RT KIDNEY LONG", "SUPINE", "ABDOMEN"):
        assert match_line(text, terms) is None, text


def test_phi_candidates_lists_normalized_spellings():
    candidates = phi_candidates({"PatientName": "DOE^JANE", "StudyDate": "20240131"}, "Doe^Jane")
    for spelling in ("doejane", "janedoe", "doe", "jane", "20240131", "01312024", "31012024", "31jan2024"):
        assert spelling in candidates
    assert len(candidates) == len(set(candidates))
    assert phi_candidates({}, "") == []
    assert phi_candidates({"PatientName": "A^B"}, "") == []  # too short to match safely


def test_a_full_date_is_likely_phi_even_when_the_header_lacks_it():
    assert phi_reason("EXAM 03/12/1999 14:02", []) == "looks like a date"
    assert looks_like_date("12-MAR-1999") and looks_like_date("1999-03-12")
    for text in ("GAIN 54", "FR 25Hz", "2024", "10:42:07", "3.5MHz", "PID-7731-204", "ACC9921"):
        assert phi_reason(text, []) == "", text


# ----- files, frames, cache, command -------------------------------------------------


def test_multiframe_file_reads_first_middle_last(engine, tmp_path):
    path = multiframe_file(tmp_path / "cine.dcm", frames=9, patient=PATIENT, frame_label=True)
    result = ocr_file(path, detected_value="ROE^RICHARD", engine=engine)
    assert sorted(result.frames) == default_frames(9) == [0, 4, 8]
    assert result.frame_count == 9
    assert result.burned_in_annotation == "YES" and result.modality == "US"
    assert "ORIGINAL" in result.image_type
    for frame, lines in result.frames.items():
        assert any(line.likely_phi for line in lines), lines
        # Each frame really is that frame: its own label was read.
        assert any(fold(f"FRAME {frame + 1}/9") in fold(line.text) for line in lines), (frame, lines)
    other = ocr_file(path, frames=[2], engine=engine)
    assert list(other.frames) == [2]


def test_results_are_cached_per_file_and_frame(engine, tmp_path, monkeypatch):
    import phi_review.core.dicom.pixels as pixels

    path = multiframe_file(tmp_path / "cine.dcm", frames=3, patient=PATIENT)
    calls: list[int] = []
    real = pixels.render_frame

    def counting(p, frame=0, **kwargs):
        calls.append(frame)
        return real(p, frame, **kwargs)

    monkeypatch.setattr(pixels, "render_frame", counting)
    first = ocr_file(path, frames=[0, 1], engine=engine)
    again = ocr_file(path, frames=[1, 0], detected_value="nothing here", engine=engine)
    assert calls == [0, 1]
    assert [l.text for l in first.frames[0]] == [l.text for l in again.frames[0]]
    # Marking is per call, never written into the cached lines.
    assert any(l.likely_phi for l in first.frames[0])
    assert ocr_file(path, frames=[0], engine=engine).frames[0][0].likely_phi == first.frames[0][0].likely_phi


def test_a_missing_frame_is_a_one_line_error(tmp_path, capsys):
    path = multiframe_file(tmp_path / "cine.dcm", frames=3, patient=PATIENT)
    assert main(["ocr", str(path), "--frame", "7"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "frame 7" in err


def test_without_the_ocr_extra_the_message_says_how_to_add_it(monkeypatch):
    from phi_review.core.ocr import models

    monkeypatch.setattr(models, "models_dir", lambda: None)  # as if the wheel were not installed
    assert not ocr_module.ocr_available()
    with pytest.raises(PhiReviewError, match=r"pip install 'phi-review\[ocr\]'"):
        OcrEngine().read_text(np.zeros((32, 32), np.uint8))


def test_ocr_command_json(engine, tmp_path, capsys):
    path = multiframe_file(tmp_path / "cine.dcm", frames=3, patient=PATIENT)
    assert main(["ocr", str(path), "--frame", "2", "--json", "--value", "ROE^RICHARD"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["frames"] == 3 and data["frames_read"] == [2]
    assert data["header"]["BurnedInAnnotation"] == "YES"
    assert {line["frame"] for line in data["lines"]} == {2}
    assert any(line["likely_phi"] for line in data["lines"])
    for line in data["lines"]:
        assert set(line) == {"frame", "text", "confidence", "box", "likely_phi", "reason", "words"}
        assert len(line["box"]) == 4


def test_ocr_command_plain_text(engine, tmp_path, capsys):
    path = burned_in_text_image(tmp_path / "us.dcm", ["RICHARD ROE", "PORTABLE"], font_size=22, patient=PATIENT)
    assert main(["ocr", str(path)]) == 0
    out = capsys.readouterr().out
    assert "frame 1:" in out and "LIKELY PHI (matches PatientName)" in out and "PORTABLE" in out
    assert "\x1b" not in out


def test_ocr_command_on_a_non_dicom_file_is_one_line(tmp_path, capsys):
    bad = tmp_path / "notes.txt"
    bad.write_text("hello")
    assert main(["ocr", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_config_chooses_the_ocr_passes(tmp_path, monkeypatch, capsys):
    pytest.importorskip("onnxruntime")
    if not ocr_module_available():
        pytest.skip("OCR is not installed: needs the ocr extra")
    monkeypatch.setattr(ocr_module, "_SHARED", None)
    config = tmp_path / "config.toml"
    config.write_text('[ocr]\npasses = ["plain"]\nthreads = 1\n')
    monkeypatch.setenv("PHI_REVIEW_CONFIG", str(config))
    path = burned_in_text_image(tmp_path / "us.dcm", ["RICHARD ROE"], font_size=22, patient=PATIENT)
    assert main(["ocr", str(path), "--json"]) == 0
    assert ocr_module.shared_engine().passes == ("plain",) and ocr_module.shared_engine().threads == 1
    assert any(line["likely_phi"] for line in json.loads(capsys.readouterr().out)["lines"])


@pytest.mark.parametrize("body, message", [
    ('[ocr]\npasses = ["sharpen"]\n', "unknown OCR pass 'sharpen'"),
    ('[ocr]\npasses = "plain"\n', "[ocr] passes must be a list"),
    ('[ocr]\nthreads = 0\n', "[ocr] threads must be a whole number"),
])
def test_a_bad_ocr_config_is_one_line(tmp_path, monkeypatch, capsys, body, message):
    monkeypatch.setattr(ocr_module, "_SHARED", None)
    config = tmp_path / "config.toml"
    config.write_text(body)
    monkeypatch.setenv("PHI_REVIEW_CONFIG", str(config))
    assert main(["ocr", str(tmp_path / "any.dcm")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err
