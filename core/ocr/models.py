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
- the CPU memory arena off: with it, every new input size grows the arena and
  never gives it back (hundreds of MB after frames of a few sizes);
- full graph optimization.
"""

from __future__ import annotations

import importlib.util
import os
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
    options.enable_cpu_mem_arena = False
    options.enable_mem_pattern = False
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.intra_op_num_threads = max(1, min(threads, os.cpu_count() or 1))
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.add_session_config_entry("session.inter_op.allow_spinning", "0")
    path = os.environ.get("PHI_REVIEW_OCR_" + ("REC" if model == REC_MODEL else "DET")) or str(folder / model)
    return ort.InferenceSession(path, sess_options=options, providers=["CPUExecutionProvider"])


def charset(rec_session: Any) -> list[str]:
    """The recognizer's characters by class index: CTC blank first, the model's own list, then space."""
    meta = rec_session.get_modelmeta().custom_metadata_map
    if "character" not in meta:
        raise PhiReviewError("the OCR recognizer model carries no character list: reinstall the ocr extra")
    return ["", *meta["character"].splitlines(), " "]
