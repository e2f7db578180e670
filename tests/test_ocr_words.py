"""Words as a person reads them: exact tokens and lines on frames drawn by the evaluation set's generator,
with a seed the engine was not tuned on; the word spacing rules on their own; and the multi-file CLI."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

from phi_review.core.ocr import words
from phi_review.core.ocr.models import ocr_available
from phi_review.sample_reports.make_dicom import burned_in_text_image, multiframe_file
from phi_review.tui.cli import main

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
import ocr_set  # noqa: E402

needs_ocr = pytest.mark.skipif(not ocr_available(), reason="OCR is not installed: needs the ocr extra")


@pytest.fixture(scope="module")
def engine():
    from phi_review.core.ocr.engine import OcrEngine

    if not ocr_available():
        pytest.skip("OCR is not installed: needs the ocr extra")
    shared = OcrEngine(threads=1)
    shared.load()
    return shared


@needs_ocr
def test_exact_words_and_lines_on_frames_of_an_untuned_seed(engine):
    frames = ocr_set.frames(seed=777, count=15, blanks=5)
    score = ocr_set.Score()
    for frame in frames:
        score.add(frame, [line.text for line in engine.read_text(frame.image)])
    assert score.exact_words / score.words >= 0.9, score.row()
    assert score.exact_lines / score.lines >= 0.85, score.row()
    assert score.blank_with_text == 0, score.row()


@needs_ocr
def test_every_line_has_word_boxes_inside_its_box(engine):
    frame = ocr_set.frames(seed=11, count=3, blanks=0)[1]
    lines = engine.read_text(frame.image)
    assert lines
    for line in lines:
        assert " ".join(word.text for word in line.words) == line.text
        x0, y0, x1, y1 = line.box
        for word in line.words:
            wx0, wy0, wx1, wy1 = word.box
            assert x0 <= wx0 < wx1 <= x1 and y0 <= wy0 < wy1 <= y1


@needs_ocr
def test_identical_frames_are_recognised_once(engine, monkeypatch):
    from phi_review.core.ocr import engine as engine_module

    frame = ocr_set.frames(seed=12, count=1, blanks=0)[0].image
    calls = []
    real = engine_module.OcrEngine._read
    monkeypatch.setattr(engine_module.OcrEngine, "_read", lambda self, rgb: calls.append(1) or real(self, rgb))
    first = engine.read_text(frame)
    assert len(calls) == 1
    again = engine.read_text(frame.copy())
    assert [line.text for line in first] == [line.text for line in again] and len(calls) == 1
    changed = frame.copy()
    changed[0, 0] ^= 1
    engine.read_text(changed)
    assert len(calls) == 2


def test_a_colon_keeps_its_word_and_full_width_forms_are_plain():
    assert words.tidy("D0B：") == "DOB:"
    assert words.tidy("2O21") == "2021"
    assert words.tidy("MRN0012") == "MRN0012"  # a 0 next to a digit stays a 0


def _line_crop(text_runs: list[tuple[int, int]], height: int = 20, width: int = 200) -> np.ndarray:
    crop = np.zeros((height, width), np.uint8)
    for start, stop in text_runs:
        crop[5:15, start:stop] = 255
    return crop


def test_a_likely_space_stands_and_a_faint_one_needs_a_gap():
    crop = _line_crop([(10, 18), (20, 28), (40, 48)])  # gap 2 px, then 12 px (text 10 px high)
    xs = [14.0, 24.0, 44.0]
    # the recognizer hints at spaces (0.05) in both places: only the wide gap becomes one
    text, found = words.spaced(["A", "B", "C"], xs, [1, 1, 1], [0.05, 0.05], crop, (0, 0))
    assert text == "AB C" and [w.text for w in found] == ["AB", "C"]
    # a sure space stands even where the gap is narrow
    text, _ = words.spaced(["A", "B", "C"], xs, [1, 1, 1], [0.9, 0.0], crop, (0, 0))
    assert text == "A BC"
    # a wide gap with no hint at all is not a space (monospaced "1." leaves wide gaps)
    text, _ = words.spaced(["A", "B", "C"], xs, [1, 1, 1], [0.0, 0.0], crop, (0, 0))
    assert text == "ABC"


@needs_ocr
def test_ocr_reads_several_files_in_one_run_one_json_line_each(tmp_path, capsys):
    one = burned_in_text_image(tmp_path / "one.dcm", ["ROE RICHARD", "PID-7731-204"], font_size=22)
    two = multiframe_file(tmp_path / "two.dcm", frames=4, frame_label=True)
    missing = tmp_path / "gone.dcm"
    assert main(["ocr", str(one), str(missing), str(two), "--frame", "all", "--json"]) == 1
    lines = capsys.readouterr().out.splitlines()
    objects = [json.loads(line) for line in lines]
    assert [Path(o["file"]).name for o in objects] == ["one.dcm", "gone.dcm", "two.dcm"]
    assert "not found" in objects[1]["error"]
    assert objects[2]["frames_read"] == [1, 2, 3, 4]
    texts = [line["text"] for line in objects[0]["lines"]]
    assert "ROE RICHARD" in texts
    first = next(line for line in objects[0]["lines"] if line["text"] == "ROE RICHARD")
    assert [w["text"] for w in first["words"]] == ["ROE", "RICHARD"]


def test_a_bad_frame_argument_is_one_line(tmp_path, capsys):
    with pytest.raises(SystemExit) as stop:
        main(["ocr", str(tmp_path / "x.dcm"), "--frame", "first"])
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert "'all'" in err and "Traceback" not in err
