"""Stepping through the frames of a big file stays within a fixed memory budget.

Measured before the fix (600 x 512 x 512 16-bit file, ``]`` pressed on the review
screen): 377 MB at first paint, 872 MB after 70 frames. The frame cache is bounded
by bytes, holds only 8-bit renders, and the OCR that runs on each frame of a
pixel finding gives its working memory back (glibc kept onnxruntime's freed
buffers in per-thread heaps: +280 MB after 20 frames of text).
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from phi_review.core.dicom.pixels import render_frame_window
from phi_review.core.dicom.view import FRAME_CACHE_BYTES, PreviewCache

GROWTH_LIMIT_MB = 150


@pytest.fixture(scope="module")
def large_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from phi_review.sample_reports.make_dicom import large_multiframe_file

    return large_multiframe_file(tmp_path_factory.mktemp("frames") / "large.dcm", frames=600, size=512)


def test_cache_of_100_frames_stays_under_its_byte_bound(large_file: Path) -> None:
    cache = PreviewCache(max_bytes=20 * 512 * 512)  # room for 20 frames: stepping 100 must evict
    assert PreviewCache().max_bytes == FRAME_CACHE_BYTES <= GROWTH_LIMIT_MB * (1 << 20) // 2
    for frame in range(100):
        image, _ = render_frame_window(large_file, frame)
        cache.put((str(large_file), frame), image)
        assert cache.nbytes <= cache.max_bytes
        assert image.dtype == np.uint8  # what is kept is the 8-bit render, never the float working copy
    assert cache.nbytes == sum(v.nbytes for v in cache.values())
    assert len(cache) == 20 and cache.get((str(large_file), 99)) is not None
    assert cache.get((str(large_file), 0)) is None


STEP_CHILD = textwrap.dedent(
    """
    import sys, threading
    from phi_review.core.dicom.pixels import render_frame_window
    from phi_review.core.dicom.view import PreviewCache, fit

    def status():
        fields = dict(line.split(":", 1) for line in open("/proc/self/status"))
        return int(fields["VmRSS"].split()[0]) // 1024, int(fields["VmHWM"].split()[0]) // 1024

    path, steps = sys.argv[1], int(sys.argv[2])
    cache = PreviewCache()

    def show(frame):  # a worker thread per frame, as the review screen's render workers
        image = cache.get(frame)
        if image is None:
            image, _ = render_frame_window(path, frame)
            cache.put(frame, image)
        fit(image, (1600, 960))

    def step(frame):
        worker = threading.Thread(target=show, args=(frame,))
        worker.start()
        worker.join()

    step(0)
    rss0, hwm0 = status()
    for frame in range(1, steps + 1):
        step(frame)
    rss1, hwm1 = status()
    print(rss1 - rss0, hwm1 - hwm0, cache.nbytes <= cache.max_bytes)
    """
)


def test_stepping_100_frames_grows_rss_less_than_150_mb(large_file: Path) -> None:
    out = subprocess.run([sys.executable, "-c", STEP_CHILD, str(large_file), "100"], capture_output=True,
                         text=True, check=True, timeout=120)
    rss, hwm, bounded = out.stdout.split()
    assert bounded == "True"
    assert int(rss) < GROWTH_LIMIT_MB and int(hwm) < GROWTH_LIMIT_MB, out.stdout


OCR_CHILD = textwrap.dedent(
    """
    import sys, threading
    import numpy as np
    from PIL import Image, ImageDraw, ImageFont
    from phi_review.core.ocr import engine

    def status():
        fields = dict(line.split(":", 1) for line in open("/proc/self/status"))
        return int(fields["VmRSS"].split()[0]) // 1024, int(fields["VmHWM"].split()[0]) // 1024

    font = ImageFont.load_default(size=18)

    def frame(n):  # a different number of text lines on each frame, as a cine loop with a caption
        image = Image.new("L", (512, 512), 0)
        draw = ImageDraw.Draw(image)
        for k in range(n % 5 + 1):
            draw.text((20, 20 + 40 * k), f"DOE^JANE {n} 2020-0{k + 1}-1{n % 10} ACC{n * 7}", fill=255, font=font)
        return np.asarray(image).astype(np.uint16) * 200 + 300

    def read(n):
        engine.shared_engine().read_text(frame(n))

    def step(n):
        worker = threading.Thread(target=read, args=(n,))
        worker.start()
        worker.join()

    step(0)
    rss0, _ = status()
    for n in range(1, int(sys.argv[1]) + 1):
        step(n)
    rss1, _ = status()
    print(rss1 - rss0)
    """
)


def test_ocr_on_each_frame_gives_its_memory_back() -> None:
    from phi_review.core.ocr.engine import ocr_available

    if not ocr_available():
        pytest.skip("the ocr extra is not installed")
    out = subprocess.run([sys.executable, "-c", OCR_CHILD, "12"], capture_output=True, text=True, check=True,
                         timeout=120)
    grown = int(out.stdout.split()[-1])
    assert grown < 100, f"OCR of 12 frames grew RSS by {grown} MB"
