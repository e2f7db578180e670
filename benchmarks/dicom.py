"""DICOM speed and memory beside bare pydicom, in one run.

1. Header rows (``read_header``) vs bare ``dcmread(stop_before_pixels=True)`` over the bundled files.
2. One frame, one frame: a fitted 640x480 preview of the first frame (``render_frame`` +
   ``fit``: decode and render) vs bare pydicom's decode of that same frame alone
   (``pydicom.pixels.pixel_array(ds, index=0)`` on multi-frame files, ``ds.pixel_array`` on
   single-frame ones), and vs that decode + a naive window to 8 bits + a Pillow resize (the
   same job), over the bundled files that both can decode; per file the two take turns,
   order reversed every other round, best of 3 each; single-frame files are also totalled
   apart.
3. A ~315 MB multi-frame file of random pixels (generated under .bench/): ``phi-review header`` and
   ``preview --frame 500``, time and peak memory beside the bare frame read
   ``pydicom.pixels.pixel_array(path, index=499)``, each in its own process.

Run: .venv/bin/python benchmarks/dicom.py
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pydicom
import pydicom.data
import pydicom.pixels

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
# Every mode imports its libraries first, so the growth is the work itself; the bare modes import
# none of ours. The modes take turns over 3 rounds (order reversed every other round): best time,
# median memory.
CHILD = """
import contextlib, io, sys, time
def peak_kb():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
mode, path = sys.argv[1], sys.argv[2]
import numpy, pydicom, pydicom.pixels, PIL.Image
if mode in ("header", "preview", "ours"):  # the bare reads import only what they need
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


def bare_frame(path: Path, frames: int, resize: bool) -> None:
    """Bare pydicom's decode of the first frame alone (and, with ``resize``, a naive 8-bit window and fit)."""
    from PIL import Image

    ds = pydicom.dcmread(path)
    frame = pydicom.pixels.pixel_array(ds, index=0) if frames > 1 else ds.pixel_array
    if not resize:
        return
    if frames == 1 and frame.ndim == 3 and frame.shape[-1] not in (3, 4):  # a volume stored without NumberOfFrames
        frame = frame[0]
    frame = frame.astype(np.float32)
    frame = ((frame - frame.min()) / max(1.0, float(np.ptp(frame))) * 255).astype(np.uint8)
    Image.fromarray(frame).thumbnail((640, 480))


def main() -> int:

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
    totals = {"ours": 0.0, "decode": 0.0, "job": 0.0, "ours1": 0.0, "decode1": 0.0, "job1": 0.0}
    counted = single = 0
    for path in files:
        try:
            frames = int(pydicom.dcmread(path, stop_before_pixels=True, force=True).get("NumberOfFrames") or 1)
            contenders = {"ours": lambda: fit(render_frame(path, 0), (640, 480)),
                          "decode": lambda: bare_frame(path, frames, resize=False),
                          "job": lambda: bare_frame(path, frames, resize=True)}
            for func in contenders.values():
                func()  # once untimed: lazy imports and first calls are not the per-frame work
            best = {name: float("inf") for name in contenders}
            for round_ in range(3):
                for name in contenders if round_ % 2 == 0 else reversed(list(contenders)):
                    start = time.perf_counter()
                    contenders[name]()
                    best[name] = min(best[name], time.perf_counter() - start)
        except Exception:  # noqa: BLE001 - only files both can decode are compared
            continue
        counted += 1
        for name, seconds in best.items():
            totals[name] += seconds
            if frames == 1:
                totals[f"{name}1"] += seconds
        single += frames == 1

    large = large_file()
    runs: dict[str, list[tuple[float, ...]]] = {}
    modes = ["header", "preview", "ours", "bare-frame", "bare-array"]
    for round_ in range(3):
        for mode in modes if round_ % 2 == 0 else reversed(modes):
            out = subprocess.run([sys.executable, "-c", CHILD, mode, str(large)], capture_output=True, text=True,
                                 check=True)
            runs.setdefault(mode, []).append(tuple(float(v) for v in out.stdout.split()))
    results = {mode: (min(r[0] for r in rs), statistics.median(r[1] for r in rs), statistics.median(r[2] for r in rs))
               for mode, rs in runs.items()}

    print(f"{'measure':<52} {'phi-review':>11} {'bare':>11} {'ratio':>7}")
    print(f"{'header rows vs bare dcmread (values not parsed)':<52} {ours_header * 1000:>9.0f}ms {bare_header * 1000:>9.0f}ms {ours_header / bare_header:>6.2f}x")
    print(f"{'header rows vs bare dcmread + str(every value)':<52} {ours_header * 1000:>9.0f}ms {bare_values * 1000:>9.0f}ms {ours_header / bare_values:>6.2f}x")
    for suffix, label in (("", f"{counted} files"), ("1", f"{single} single-frame files")):
        ours, decode, job = (totals[f"{name}{suffix}"] for name in ("ours", "decode", "job"))
        print(f"{f'one frame fitted 640x480 vs its bare decode, {label}':<52} {ours * 1000:>9.0f}ms "
              f"{decode * 1000:>9.0f}ms {ours / decode:>6.2f}x")
        print(f"{f'  vs bare decode + window + Pillow resize, {label}':<52} {ours * 1000:>9.0f}ms "
              f"{job * 1000:>9.0f}ms {ours / job:>6.2f}x")
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
