"""OCR speed: our read beside the bare ``RapidOCR()(img)`` call on the same frames, in one run.

Ours = 8-bit/RGB conversion, upscaling of small frames, the passes (plain +
local-contrast by default), merging, filtering and PHI marking. The bare call
is RapidOCR with its defaults (all cores, angle classifier on) on the same
8-bit RGB frame. Rows separate the two things that differ: how many passes,
and how many threads (the app leaves one core free for the screen).

Run: .venv/bin/python benchmarks/ocr.py [--frames 10] [--cine 24] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np


def _median_ms(work: Callable[[], object], repeat: int = 1) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def _frames(count: int) -> list[np.ndarray]:
    from phi_review.sample_reports.make_dicom import POSITIONS, available_fonts, render_text_frame

    fonts = available_fonts()
    return [
        render_text_frame(["DOE JANE  MRN-0042-7781", f"31/01/2024 10:{n:02d}", "LT KIDNEY"], font_size=14 + 2 * n,
                          seed=n, color=bool(n % 2), position=POSITIONS[n % len(POSITIONS)],
                          font_name=fonts[n % len(fonts)], contrast=(1.0, 0.7, 0.5)[n % 3])
        for n in range(count)
    ]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=10, help="512x512 frames to time (median)")
    parser.add_argument("--cine", type=int, default=24, help="frames in the multi-frame file")
    parser.add_argument("--repeat", type=int, default=3, help="runs of the multi-frame file (median)")
    args = parser.parse_args(argv)

    import pydicom
    from rapidocr_onnxruntime import RapidOCR

    from phi_review.core import ocr
    from phi_review.sample_reports.make_dicom import multiframe_file

    cores = os.cpu_count() or 1
    frames = _frames(args.frames)
    rgb_frames = [ocr.to_rgb8(frame) for frame in frames]
    bare = RapidOCR()
    engines = {
        f"phi-review default ({ocr.default_threads()} thread(s), plain+contrast)": ocr.OcrEngine(),
        f"phi-review, {cores} threads, plain+contrast": ocr.OcrEngine(threads=cores),
        f"phi-review, {cores} threads, plain pass only": ocr.OcrEngine(threads=cores, passes=("plain",)),
    }
    bare(rgb_frames[0])  # load models and warm up outside the timings
    for engine in engines.values():
        engine.read_text(frames[0])

    bare_frame = statistics.median(_median_ms(lambda f=f: bare(f)) for f in rgb_frames)
    rows: list[tuple[str, float, float]] = []
    for name, engine in engines.items():
        ours = statistics.median(_median_ms(lambda f=f, e=engine: e.read_text(f)) for f in frames)
        rows.append((f"one 512x512 frame, median of {len(frames)}: {name}", ours, bare_frame))

    with tempfile.TemporaryDirectory() as tmp:
        path = multiframe_file(Path(tmp) / "cine.dcm", frames=args.cine, frame_label=True)
        wanted = ocr.default_frames(args.cine)

        def bare_file() -> None:
            ds = pydicom.dcmread(path)
            for index in wanted:
                array = pydicom.pixels.pixel_array(ds, index=index)
                bare(np.ascontiguousarray(np.stack([array] * 3, axis=-1)))

        bare_ms = _median_ms(bare_file, args.repeat)
        for name, engine in engines.items():
            def ours_file(e: ocr.OcrEngine = engine) -> None:
                ocr.clear_cache()  # time the work, not the cache
                ocr.ocr_file(path, engine=e)

            rows.append((f"{args.cine}-frame file, first/middle/last: {name}", _median_ms(ours_file, args.repeat),
                         bare_ms))
        ocr.clear_cache()
        ocr.ocr_file(path, engine=next(iter(engines.values())))
        cached = _median_ms(lambda: ocr.ocr_file(path, engine=next(iter(engines.values()))), args.repeat)
        rows.append((f"{args.cine}-frame file again (cached lines, header re-read)", cached, bare_ms))

    width = max(len(row[0]) for row in rows)
    print(f"OCR on {cores} CPU core(s); bare = RapidOCR() defaults on the same frames "
          "(for the file: pydicom decode + 3 calls)")
    print(f"{'measure':<{width}}  {'phi-review':>10}  {'bare':>8}  {'ratio':>6}")
    for name, ours_ms, bare_ms in rows:
        print(f"{name:<{width}}  {ours_ms:>8.0f}ms  {bare_ms:>6.0f}ms  {ours_ms / bare_ms:>5.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
