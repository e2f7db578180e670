"""OCR speed: our read (pre-processing, filtering, PHI marking) beside bare RapidOCR, in one run.

Run: .venv/bin/python benchmarks/ocr.py
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def main() -> int:
    from rapidocr_onnxruntime import RapidOCR

    from phi_review.core.ocr import OcrEngine, _prepare, ocr_file
    from phi_review.sample_reports.make_dicom import multiframe_file, render_text_frame

    frames = [
        render_text_frame(["DOE JANE  MRN-0042-7781", f"31/01/2024 10:{n:02d}", "LT KIDNEY"], font_size=16 + n, seed=n,
                          color=bool(n % 2))
        for n in range(10)
    ]
    ours_engine = OcrEngine()
    bare_engine = RapidOCR()
    ours_engine.read_text(frames[0])  # load models outside the timing
    bare_engine(np.ascontiguousarray(_prepare(frames[0])[0]))

    ours, bare = [], []
    for frame in frames:
        start = time.perf_counter()
        ours_engine.read_text(frame)
        ours.append(time.perf_counter() - start)
        rgb = np.stack([frame] * 3, axis=-1) if frame.ndim == 2 else frame
        start = time.perf_counter()
        bare_engine(np.ascontiguousarray(rgb))
        bare.append(time.perf_counter() - start)

    with tempfile.TemporaryDirectory() as tmp:
        path = multiframe_file(Path(tmp) / "cine.dcm", frames=24)
        start = time.perf_counter()
        ocr_file(path, engine=ours_engine)
        file_ours = time.perf_counter() - start
        import pydicom

        start = time.perf_counter()
        array = pydicom.dcmread(path).pixel_array
        for index in (0, 12, 23):
            bare_engine(np.ascontiguousarray(np.stack([array[index]] * 3, axis=-1)))
        file_bare = time.perf_counter() - start

    median_ours, median_bare = statistics.median(ours), statistics.median(bare)
    print(f"{'measure':<44} {'phi-review':>11} {'bare':>11} {'ratio':>7}")
    print(f"{'OCR one 512x512 frame (median of 10)':<44} {median_ours * 1000:>9.0f}ms {median_bare * 1000:>9.0f}ms "
          f"{median_ours / median_bare:>6.2f}x")
    print(f"{'OCR 24-frame file: first, middle, last':<44} {file_ours * 1000:>9.0f}ms {file_bare * 1000:>9.0f}ms "
          f"{file_ours / file_bare:>6.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
