"""One OCR contender over a folder of one-frame DICOM files, in a process of its own, pinned to one core.

Run by ``benchmarks/ocr.py``; each contender gets a fresh interpreter so its
peak memory is its own (VmHWM of this process; for Tesseract, which runs as a
child program, the larger of that and the children's ``ru_maxrss``, which
counts from the worker's size when Tesseract was started). Written to need only pydicom, Pillow
and numpy for the Tesseract contenders, so the validator's own venv can run it.

    python ocr_workers.py CONTENDER FOLDER OUT.json

Contenders:
  phi-review     our engine (one thread, default passes), decode by our renderer (the full range, as the app reads)
  phi-review-plain  the same with one detection pass and no re-reads
  validator      the EDRN validator's call: pytesseract.image_to_data on the
                 frame as pydicom decodes it (16-bit converted to 'L', as it
                 does), the words joined with no space, as it joins them
  psm11-2x       Tesseract --psm 11 on the frame upscaled 2x, words joined into
                 lines by Tesseract's own line numbers
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time
from pathlib import Path


def _pin() -> None:
    try:
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    except (AttributeError, OSError):
        pass
    os.environ["OMP_THREAD_LIMIT"] = "1"  # Tesseract's OpenMP: one thread, as on one core


def _ours(passes: tuple[str, ...] | None = None) -> tuple[object, object]:
    from phi_review.core.dicom.pixels import render_frame
    from phi_review.core.ocr.engine import DEFAULT_PASSES, OCR_PRESET, OcrEngine

    engine = OcrEngine(threads=1, passes=passes or DEFAULT_PASSES)
    engine.load()
    return engine, lambda path: [line.text for line in engine.read_text(render_frame(path, 0, preset=OCR_PRESET))]


def _tesseract(kind: str) -> tuple[object, object]:
    import pydicom
    import pytesseract
    from PIL import Image

    def frame(path: Path) -> Image.Image:
        image = Image.fromarray(pydicom.dcmread(path).pixel_array)
        return image if image.mode in ("L", "RGB") else image.convert("L")

    def validator(path: Path) -> list[str]:
        data = pytesseract.image_to_data(frame(path), output_type=pytesseract.Output.DICT)
        text = "".join(t.strip() for t in data["text"] if (t or "").strip())
        return [text] if text else []

    def psm11(path: Path) -> list[str]:
        image = frame(path)
        image = image.resize((image.width * 2, image.height * 2), Image.Resampling.BICUBIC)
        data = pytesseract.image_to_data(image, config="--psm 11", output_type=pytesseract.Output.DICT)
        lines: dict[tuple[int, int, int], list[str]] = {}
        for n, text in enumerate(data["text"]):
            if (text or "").strip():
                key = (data["block_num"][n], data["par_num"][n], data["line_num"][n])
                lines.setdefault(key, []).append(text.strip())
        return [" ".join(words) for words in lines.values()]

    return None, validator if kind == "validator" else psm11


def _own_peak_mb() -> float:
    """This process's own peak memory (VmHWM): ``ru_maxrss`` keeps the parent's size from before exec."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(argv: list[str]) -> int:
    kind, folder, out = argv[0], Path(argv[1]), Path(argv[2])
    _pin()
    started = time.perf_counter()
    if kind == "phi-review":
        _, read = _ours()
    elif kind == "phi-review-plain":
        _, read = _ours(("plain",))
    else:
        _, read = _tesseract(kind)
    loaded = time.perf_counter() - started
    files = sorted(folder.glob("*.dcm"))
    found: dict[str, list[str]] = {}
    wall, cpu = time.perf_counter(), time.process_time()
    for path in files:
        found[path.stem] = read(path)  # type: ignore[operator]
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    result = {
        "found": found, "load_s": loaded, "wall_s": wall, "cpu_s": cpu + children.ru_utime + children.ru_stime,
        "peak_mb": _own_peak_mb(), "child_peak_mb": children.ru_maxrss / 1024,
    }
    out.write_text(json.dumps(result), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
