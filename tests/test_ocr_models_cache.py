"""The recognizer cut to Latin characters is built once into the cache, then reused; a broken cache falls back."""

from __future__ import annotations

import pytest

from phi_review.core.ocr import models

pytestmark = pytest.mark.skipif(not models.ocr_available(), reason="OCR is not installed: needs the ocr extra")


def test_the_latin_recognizer_is_built_once_and_reads_latin_only(tmp_path, monkeypatch):
    pytest.importorskip("onnx")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    source = models.models_dir() / models.REC_MODEL
    built = models.latin_recognizer(source)
    assert built is not None and built.parent == tmp_path / "phi-review" / "ocr"
    stamp = built.stat().st_mtime_ns
    assert models.latin_recognizer(source) == built and built.stat().st_mtime_ns == stamp  # reused, not rebuilt
    session = models.session(models.REC_MODEL)
    characters = models.charset(session)
    assert characters[0] == "" and characters[-1] == " "
    assert {"A", "z", "0", ":", "^", "-", "/", "é", "ł"} <= set(characters)
    assert all(c == "" or c == " " or 0x20 < ord(c) <= 0x17F for c in characters)
    assert session.get_outputs()[0].shape[-1] == len(characters)
    assert not list(built.parent.glob("*.part"))


def test_an_unwritable_cache_uses_the_full_model(tmp_path, monkeypatch):
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocked))
    assert models.latin_recognizer(models.models_dir() / models.REC_MODEL) is None
    session = models.session(models.REC_MODEL)
    assert session.get_outputs()[0].shape[-1] == len(models.charset(session)) > 10_000


def test_a_reinstalled_model_replaces_the_earlier_cut_in_the_cache(tmp_path, monkeypatch):
    pytest.importorskip("onnx")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    source = models.models_dir() / models.REC_MODEL
    folder = tmp_path / "phi-review" / "ocr"
    folder.mkdir(parents=True)
    stale = folder / f"latin-{source.stem}-{source.stat().st_size}-1.onnx"  # an earlier install's mtime
    stale.write_bytes(b"old")
    other = folder / "latin-another-model-1-1.onnx"
    other.write_bytes(b"kept")
    built = models.latin_recognizer(source)
    assert built is not None and built.is_file()
    assert not stale.exists() and other.exists()
    assert sorted(p.name for p in folder.iterdir()) == sorted([built.name, other.name])
