"""The OCR models and their runtime sessions, set up on purpose.

The models are PP-OCRv6's small text detector and recognizer as the `rapidocr`
wheel ships them (nothing is downloaded). We take only the model files from it
and run them with onnxruntime directly: importing `rapidocr` itself pulls in
omegaconf, shapely and a logger for ~60 MB and half a second, and its pipeline
decides scales, crops and word spacing in ways that lose words on burned-in
annotations (see ``detect`` and ``words``).

Session options, and why:
- one intra-op thread per session unless asked: the scan runs one process per
  core, and the review screen keeps a core for itself;
- thread spinning off: onnxruntime's pool threads busy-wait after each run by
  default, which on a 2-core server steals the screen's core;
- one memory arena, shared by both sessions and registered once per process:
  without an arena every tensor is a malloc, and glibc's heap fragments into
  +100 MB over a frame; with one arena per session each keeps its own peak.
  The arena's size is bounded by the largest input, which ``detect`` (bands of
  at most ``TILE_PIXELS``) and ``recognize`` (lines of at most ``MAX_WIDTH``)
  cap: about 50 MB, measured over 240 frames of 512-1024 px;
- full graph optimization (the extended level is 30% slower here).

The recognizer's last layer scores 18,710 characters (mostly Chinese) at every
column. Burned-in annotations here are in Latin scripts, so ``latin_recognizer``
cuts that layer to the ~300 Latin characters, once, into a cache file: the
model loads 25 MB smaller and each line's output is 60x smaller (four 640-px
lines: 24 MB of scores before, 0.4 MB after). Nothing else in the model changes.
Without the ``onnx`` package or a writable cache the full model is used.
"""

from __future__ import annotations

import importlib.util
import os
import tempfile
import threading
from pathlib import Path
from typing import Any

from phi_review.core.common.errors import PhiReviewError

OCR_MISSING = "OCR needs the ocr extra: pip install 'phi-review[ocr]'"
DET_MODEL = "PP-OCRv6_det_small.onnx"
REC_MODEL = "PP-OCRv6_rec_small.onnx"


def models_dir() -> Path | None:
    """The folder of the `rapidocr` wheel's bundled models, found without importing the package."""
    try:
        spec = importlib.util.find_spec("rapidocr")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        folder = Path(location) / "models"
        if (folder / DET_MODEL).is_file() and (folder / REC_MODEL).is_file():
            return folder
    return None


def ocr_available() -> bool:
    """Whether the models and the runtime are installed (the app says how to add them otherwise)."""
    if models_dir() is None:
        return False
    try:
        return importlib.util.find_spec("onnxruntime") is not None
    except (ImportError, ValueError):
        return False


def session(model: str, threads: int = 1) -> Any:
    """An onnxruntime session for one bundled model, with the options above."""
    folder = models_dir()
    if folder is None:
        raise PhiReviewError(OCR_MISSING)
    try:
        import onnxruntime as ort
    except ImportError:
        raise PhiReviewError(OCR_MISSING) from None
    options = ort.SessionOptions()
    options.log_severity_level = 4
    options.enable_cpu_mem_arena = True
    options.enable_mem_pattern = False  # input sizes vary: a plan per size would be kept for each
    if _shared_arena(ort):
        options.add_session_config_entry("session.use_env_allocators", "1")
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.intra_op_num_threads = max(1, min(threads, os.cpu_count() or 1))
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.add_session_config_entry("session.inter_op.allow_spinning", "0")
    path = folder / model
    if model == REC_MODEL:
        path = latin_recognizer(path) or path
    return ort.InferenceSession(str(path), sess_options=options, providers=["CPUExecutionProvider"])


_ARENA_LOCK = threading.Lock()
_ARENA: list[bool] = []  # [True] once registered, [False] when this runtime cannot share one


def _shared_arena(ort: Any) -> bool:
    """Register one CPU arena in onnxruntime's environment, once: both sessions then draw from it."""
    with _ARENA_LOCK:
        if not _ARENA:
            try:
                info = ort.OrtMemoryInfo("Cpu", ort.OrtAllocatorType.ORT_ARENA_ALLOCATOR, 0, ort.OrtMemType.DEFAULT)
                # max memory 0 (no cap: the inputs are capped), extend by what is asked, default chunk sizes
                ort.create_and_register_allocator(info, ort.OrtArenaCfg(0, 1, -1, -1))
                _ARENA.append(True)
            except (AttributeError, RuntimeError, TypeError, ValueError):  # an older or stripped runtime
                _ARENA.append(False)
        return _ARENA[0]


def _latin(character: str) -> bool:
    code = ord(character)
    return 0x20 < code < 0x7F or 0xA0 <= code <= 0x17F


def cache_dir() -> Path:
    """Where derived models are kept (no patient data is ever written here)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "phi-review" / "ocr"


def latin_recognizer(source: Path) -> Path | None:
    """The recognizer with its output cut to Latin characters: made once per installed model, then reused."""
    try:
        stat = source.stat()
        target = cache_dir() / f"latin-{source.stem}-{stat.st_size}-{stat.st_mtime_ns}.onnx"
        if target.is_file():
            return target
        import onnx
        from onnx import numpy_helper
    except (OSError, ImportError):
        return None
    try:
        model = onnx.load(str(source))
        meta = {prop.key: prop for prop in model.metadata_props}
        characters = ["", *meta["character"].value.splitlines(), " "]
        keep = [0] + [i for i, c in enumerate(characters[:-1]) if i and _latin(c)] + [len(characters) - 1]
        last = next(node for node in reversed(model.graph.node) if node.op_type == "MatMul")
        bias = next(node for node in reversed(model.graph.node) if node.op_type == "Add")
        if last.output[0] not in bias.input:
            return None  # not the layout this was written for: use the model as it is
        weights = {init.name: init for init in model.graph.initializer}
        w = weights[last.input[1]]
        b = weights[next(name for name in bias.input if name in weights)]
        w.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(w)[:, keep].copy(), w.name))
        b.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(b)[keep].copy(), b.name))
        for output in model.graph.output:
            output.type.tensor_type.shape.ClearField("dim")
        meta["character"].value = "\n".join(characters[i] for i in keep[1:-1])
        target.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=target.parent, suffix=".part", delete=False) as part:
            part.write(model.SerializeToString())
        os.replace(part.name, target)
        _forget_older(target, source.stem)
        return target
    except (OSError, KeyError, StopIteration, ValueError):
        return None


def _forget_older(kept: Path, stem: str) -> None:
    """Remove the cut models of earlier installs (each reinstall of the wheel has a new mtime: 12 MB each)."""
    for old in kept.parent.glob(f"latin-{stem}-*.onnx"):
        if old != kept:
            try:
                old.unlink()
            except OSError:
                pass


def charset(rec_session: Any) -> list[str]:
    """The recognizer's characters by class index: CTC blank first, the model's own list, then space."""
    meta = rec_session.get_modelmeta().custom_metadata_map
    if "character" not in meta:
        raise PhiReviewError("the OCR recognizer model carries no character list: reinstall the ocr extra")
    return ["", *meta["character"].splitlines(), " "]
