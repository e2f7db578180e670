"""DICOM speed and memory beside bare pydicom, in one run.

1. Header rows (``read_header``) vs bare ``dcmread(stop_before_pixels=True)`` over the bundled files.
2. A fitted 640x480 preview (``render_frame`` + ``fit``) vs bare ``dcmread().pixel_array`` +
   a Pillow resize, over the bundled files that both can decode.
3. Frame 500 of a ~315 MB multi-frame file (generated under .bench/): time and peak memory,
   ours vs bare ``dcmread(path).pixel_array[500]``, each in its own process.

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
    from phi_review.sample_reports.make_dicom import large_multiframe_file

    path = BENCH / "large_600x512x512.dcm"
    return path if path.exists() else large_multiframe_file(path, frames=600, size=512)


# Peak memory from VmHWM (per address space, so it starts fresh in the child);
# ru_maxrss survives exec and would carry the parent's peak from writing the file.
CHILD = """
import sys, time
def peak_kb():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
mode, path = sys.argv[1], sys.argv[2]
import numpy, pydicom, PIL.Image
from phi_review.core.dicom.pixels import render_frame
base = peak_kb()
start = time.perf_counter()
if mode == "ours":
    render_frame(path, 500)
else:
    pydicom.dcmread(path).pixel_array[500]
elapsed = time.perf_counter() - start
print(elapsed, (peak_kb() - base) / 1024)
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
    for mode in ("ours", "bare"):
        out = subprocess.run([sys.executable, "-c", CHILD, mode, str(large)], capture_output=True, text=True, check=True)
        elapsed, grown = (float(v) for v in out.stdout.split())
        results[mode] = (elapsed, grown)

    print(f"{'measure':<52} {'phi-review':>11} {'bare':>11} {'ratio':>7}")
    print(f"{'header rows vs bare dcmread (values not parsed)':<52} {ours_header * 1000:>9.0f}ms {bare_header * 1000:>9.0f}ms {ours_header / bare_header:>6.2f}x")
    print(f"{'header rows vs bare dcmread + str(every value)':<52} {ours_header * 1000:>9.0f}ms {bare_values * 1000:>9.0f}ms {ours_header / bare_values:>6.2f}x")
    print(f"{f'fitted preview 640x480, {counted} files':<52} {ours_preview * 1000:>9.0f}ms {bare_preview * 1000:>9.0f}ms {ours_preview / bare_preview:>6.2f}x")
    (t_ours, m_ours), (t_bare, m_bare) = results["ours"], results["bare"]
    print(f"{'frame 500 of a 315 MB file: time':<52} {t_ours * 1000:>9.0f}ms {t_bare * 1000:>9.0f}ms {t_ours / t_bare:>6.2f}x")
    print(f"{'frame 500 of a 315 MB file: peak memory growth':<52} {m_ours:>9.0f}MB {m_bare:>9.0f}MB {m_ours / max(1.0, m_bare):>6.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
