"""DICOM speed and memory beside bare pydicom, in one run.

1. Header rows (``read_header``) vs bare ``dcmread(stop_before_pixels=True)`` over the bundled files.
2. A fitted 640x480 preview (``render_frame`` + ``fit``) vs bare ``dcmread().pixel_array`` +
   a Pillow resize, over the bundled files that both can decode.
3. A ~315 MB multi-frame file of random pixels (generated under .bench/): ``phi-review header`` and
   ``preview --frame 500``, time and peak memory beside the bare frame read
   ``pydicom.pixels.pixel_array(path, index=499)``, each in its own process.

Run: .venv/bin/python benchmarks/dicom.py
"""

from __future__ import annotations

import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pydicom
import pydicom.data

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / ".bench"
BUNDLED = Path(pydicom.data.__file__).parent / "test_files"


def bundled() -> list[Path]:
    return sorted(p for p in BUNDLED.rglob("*") if p.is_file() and p.suffix.lower() in {".dcm", ""} and p.stat().st_size > 132)


def large_file() -> Path:
    """600 frames of 512x512 16-bit RANDOM pixels (315 MB): a ramp compresses, caches and matches patterns
    in ways real pixels do not, and random bytes may hold the Pixel Data tag's byte pattern."""
    from phi_review.sample_reports.make_dicom import large_multiframe_file

    path = BENCH / "large_random_600x512x512.dcm"
    if path.exists():
        return path
    import pydicom

    large_multiframe_file(path, frames=600, size=512)
    ds = pydicom.dcmread(path)
    ds.PixelData = np.random.default_rng(0).integers(0, 65536, size=(600, 512, 512), dtype=np.uint16).tobytes()
    ds.save_as(path, enforce_file_format=True)
    return path


# Peak memory from VmHWM (per address space, so it starts fresh in the child);
# ru_maxrss survives exec and would carry the parent's peak from writing the file.
# Every mode imports the same libraries first, so the growth is the work itself.
CHILD = """
import contextlib, io, sys, time
def peak_kb():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
mode, path = sys.argv[1], sys.argv[2]
import numpy, pydicom, pydicom.pixels, PIL.Image
from phi_review.core.dicom.pixels import render_frame
from phi_review.tui.cli import main
base = peak_kb()
start = time.perf_counter()
with contextlib.redirect_stdout(io.StringIO()):
    if mode == "header":
        main(["header", path])
    elif mode == "preview":
        main(["preview", path, "--frame", "500", "--graphics", "none"])
    elif mode == "ours":
        render_frame(path, 499)
    elif mode == "bare-frame":
        pydicom.pixels.pixel_array(path, index=499)
    else:
        pydicom.dcmread(path).pixel_array[499]
elapsed = time.perf_counter() - start
print(elapsed, (peak_kb() - base) / 1024, peak_kb() / 1024)
"""


def main() -> int:
    from PIL import Image

    from phi_review.core.dicom.header import read_header
    from phi_review.core.common.errors import DicomError
    from phi_review.core.dicom.pixels import fit, render_frame

    warnings.simplefilter("ignore")
    files = bundled()
    ours_header = bare_header = bare_values = 0.0
    for path in files:
        try:
            start = time.perf_counter()
            read_header(path)
            ours_header += time.perf_counter() - start
            start = time.perf_counter()
            pydicom.dcmread(path, stop_before_pixels=True, force=True)
            bare_header += time.perf_counter() - start
            # What bare pydicom costs to turn every value into text (it parses values lazily).
            start = time.perf_counter()
            ds = pydicom.dcmread(path, stop_before_pixels=True, force=True)
            for element in ds.iterall():
                str(element.value)
            bare_values += time.perf_counter() - start
        except (DicomError, Exception):  # noqa: BLE001 - non-DICOM files in the folder
            continue
    ours_preview = bare_preview = 0.0
    counted = 0
    for path in files:
        try:
            start = time.perf_counter()
            fit(render_frame(path, 0), (640, 480))
            ours = time.perf_counter() - start
            start = time.perf_counter()
            array = pydicom.dcmread(path).pixel_array
            frame = array[0] if array.ndim == 4 or (array.ndim == 3 and array.shape[-1] not in (3, 4)) else array
            frame = frame.astype(np.float32)
            frame = ((frame - frame.min()) / max(1.0, float(np.ptp(frame))) * 255).astype(np.uint8)
            Image.fromarray(frame).thumbnail((640, 480))
            bare = time.perf_counter() - start
        except Exception:  # noqa: BLE001 - only files both can decode are compared
            continue
        ours_preview += ours
        bare_preview += bare
        counted += 1

    large = large_file()
    results = {}
    for mode in ("header", "preview", "ours", "bare-frame", "bare-array"):
        out = subprocess.run([sys.executable, "-c", CHILD, mode, str(large)], capture_output=True, text=True, check=True)
        elapsed, grown, peak = (float(v) for v in out.stdout.split())
        results[mode] = (elapsed, grown, peak)

    print(f"{'measure':<52} {'phi-review':>11} {'bare':>11} {'ratio':>7}")
    print(f"{'header rows vs bare dcmread (values not parsed)':<52} {ours_header * 1000:>9.0f}ms {bare_header * 1000:>9.0f}ms {ours_header / bare_header:>6.2f}x")
    print(f"{'header rows vs bare dcmread + str(every value)':<52} {ours_header * 1000:>9.0f}ms {bare_values * 1000:>9.0f}ms {ours_header / bare_values:>6.2f}x")
    print(f"{f'fitted preview 640x480, {counted} files':<52} {ours_preview * 1000:>9.0f}ms {bare_preview * 1000:>9.0f}ms {ours_preview / bare_preview:>6.2f}x")
    bare_t, bare_m, bare_peak = results["bare-frame"]
    size = large.stat().st_size >> 20
    for mode, label in (("header", "`header`"), ("preview", "`preview --frame 500`"), ("ours", "render_frame(499)"),
                        ("bare-array", "dcmread().pixel_array[499]")):
        t, m, peak = results[mode]
        print(f"{f'{size} MB random pixels, {label}: time':<52} {t * 1000:>9.0f}ms {bare_t * 1000:>9.0f}ms {t / bare_t:>6.2f}x")
        print(f"{f'{size} MB random pixels, {label}: memory growth':<52} {m:>9.0f}MB {bare_m:>9.0f}MB "
              f"{m / max(1.0, bare_m):>6.2f}x  (peak RSS {peak:.0f} MB vs {bare_peak:.0f} MB)")
    print("bare = pydicom.pixels.pixel_array(path, index=499), the frame read alone")
    return 0


if __name__ == "__main__":
    sys.exit(main())
