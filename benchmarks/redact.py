"""Blackout speed and memory beside bare pydicom and dicom-dre, in one run.

1. Per-frame redaction time (``write_copy`` with one box on every frame) beside the bare
   pydicom job on the same file: ``dcmread`` + ``pixel_array`` + fill + encode in the same
   syntax (``Dataset.compress``) + ``save_as``. JPEG baseline has no pydicom encoder, so its
   bare row is decode + Pillow re-encode (lossy, what a naive tool does), and dicom-dre's
   DCT-domain blanker (with its C accelerator) runs on the same file in a Python 3.12 venv
   (``DRE_PYTHON``, default /tmp/f_dre/bin/python; skipped when absent: dicom-dre needs 3.12).
2. Peak memory (VmHWM growth over the process's own baseline after imports) redacting every
   frame of a ~315 MB file of 600 random 512x512 16-bit frames (.bench/, shared with
   benchmarks/dicom.py), beside bare pydicom's whole-array edit of the same file.

Run: .venv/bin/python benchmarks/redact.py
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pydicom
from pydicom.uid import JPEG2000Lossless, JPEGBaseline8Bit, JPEGLSLossless, RLELossless

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / ".bench"
DRE_PYTHON = Path(os.environ.get("DRE_PYTHON", "/tmp/f_dre/bin/python"))
FRAMES = 10
BOX = (40, 30, 300, 90)  # x0, y0, x1, y1


def inputs(folder: Path) -> dict[str, Path]:
    """512x512 burned-in frames in each syntax (synthesized; every name is invented)."""
    from phi_review.sample_reports.make_dicom import DEFAULT_PATIENT, burned_in_text_image

    lines = ["DOE JANE", "MRN-0042-7781", "31-JAN-2024"]
    made = {
        "native 16-bit grey": burned_in_text_image(folder / "native.dcm", lines, bits=16, frames=FRAMES, patient=DEFAULT_PATIENT),
        "RLE 8-bit grey": burned_in_text_image(folder / "rle.dcm", lines, frames=FRAMES, transfer_syntax=RLELossless),
        "JPEG-LS lossless 8-bit": burned_in_text_image(folder / "jls.dcm", lines, frames=FRAMES, transfer_syntax=JPEGLSLossless),
        "JPEG 2000 lossless 8-bit": burned_in_text_image(folder / "j2k.dcm", lines, frames=FRAMES, transfer_syntax=JPEG2000Lossless),
        "JPEG baseline colour": burned_in_text_image(folder / "jpeg.dcm", lines, frames=FRAMES, color=True,
                                                     transfer_syntax=JPEGBaseline8Bit),
    }
    return made


def ours(path: Path, out: Path) -> float:
    from phi_review.core.remedy.output import write_copy
    from phi_review.core.remedy.redact import Box, Redaction

    start = time.perf_counter()
    write_copy(path, out, pixel_edit=Redaction([Box(*BOX)]), overwrite=True)
    return time.perf_counter() - start


def bare(path: Path, out: Path) -> float:
    """The same job with bare pydicom: decode all, fill, encode in the same syntax, save."""
    from PIL import Image

    start = time.perf_counter()
    ds = pydicom.dcmread(path)
    syntax = ds.file_meta.TransferSyntaxUID
    array = ds.pixel_array.copy()
    x0, y0, x1, y1 = BOX
    array[..., y0:y1, x0:x1, *(() if array.ndim == 3 and ds.SamplesPerPixel == 1 else (slice(None),))] = 0
    if syntax == JPEGBaseline8Bit:
        import io

        from pydicom.encaps import encapsulate

        frames = []
        for frame in array:
            buffer = io.BytesIO()
            Image.fromarray(frame).save(buffer, format="JPEG", quality=92)
            frames.append(buffer.getvalue())
        ds.PixelData = encapsulate(frames)
        ds.PhotometricInterpretation = "YBR_FULL_422"
    elif syntax.is_compressed:
        ds.compress(syntax, array, **({"use_mct": False} if syntax == JPEG2000Lossless else {}))
    else:
        ds.PixelData = array.tobytes()
    ds.save_as(out)
    return time.perf_counter() - start


DRE_CHILD = """
import sys, time
from pathlib import Path
from dicom_dre.pixel_blanker import blank_regions
from dicom_dre.scrub_region import ScrubRegion
x0, y0, x1, y1 = (int(v) for v in sys.argv[3].split(","))
start = time.perf_counter()
blank_regions(Path(sys.argv[1]), Path(sys.argv[2]), [ScrubRegion(x0, y0, x1 - x0, y1 - y0)])
print(time.perf_counter() - start)
"""


def dre(path: Path, out: Path) -> float | None:
    if not DRE_PYTHON.exists():
        return None
    run = subprocess.run([str(DRE_PYTHON), "-c", DRE_CHILD, str(path), str(out), ",".join(map(str, BOX))],
                         capture_output=True, text=True)
    return float(run.stdout.split()[-1]) if run.returncode == 0 and run.stdout.strip() else None


def median(func, *args, repeat: int = 3) -> float | None:
    times = [func(*args) for _ in range(repeat)]
    if any(t is None for t in times):
        return None
    return statistics.median(times)


def large_file() -> Path:
    """The 600-frame random-pixel file of benchmarks/dicom.py (same path, built once)."""
    path = BENCH / "large_random_600x512x512.dcm"
    if path.exists():
        return path
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from dicom import large_file as build  # benchmarks/dicom.py

    return build()


MEMORY_CHILD = """
import sys, time
def peak_kb():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
mode, path, out = sys.argv[1], sys.argv[2], sys.argv[3]
from pathlib import Path
import numpy, pydicom, pydicom.pixels
from phi_review.core.remedy.output import write_copy
from phi_review.core.remedy.redact import Box, Redaction
base = peak_kb()
start = time.perf_counter()
if mode == "ours":
    write_copy(Path(path), Path(out), pixel_edit=Redaction([Box(40, 30, 300, 90)]), overwrite=True)
else:
    ds = pydicom.dcmread(path)
    array = ds.pixel_array
    array[:, 30:90, 40:300] = 0
    ds.PixelData = array.tobytes()
    ds.save_as(out)
print(time.perf_counter() - start, (peak_kb() - base) / 1024, peak_kb() / 1024)
"""


def main() -> int:
    warnings.simplefilter("ignore")
    BENCH.mkdir(exist_ok=True)
    rows = []
    with tempfile.TemporaryDirectory(dir=BENCH) as temp:
        folder = Path(temp)
        for label, path in inputs(folder).items():
            frames = int(pydicom.dcmread(path, stop_before_pixels=True).get("NumberOfFrames", 1))
            syntax_in = pydicom.dcmread(path, stop_before_pixels=True).file_meta.TransferSyntaxUID
            if label.startswith("JPEG baseline") and syntax_in != JPEGBaseline8Bit:
                continue
            t_ours = median(ours, path, folder / "ours.dcm")
            t_bare = median(bare, path, folder / "bare.dcm")
            t_dre = median(dre, path, folder / "dre.dcm") if syntax_in == JPEGBaseline8Bit else None
            rows.append((label, frames, t_ours, t_bare, t_dre))
    print(f"Per-frame blackout, {FRAMES} frames of 512x512, one {BOX[2] - BOX[0]}x{BOX[3] - BOX[1]} box, median of 3")
    print(f"| {'input':<26} | {'phi-review':>10} | {'bare pydicom':>12} | {'ratio':>6} | {'dicom-dre':>9} |")
    print(f"|{'-' * 28}|{'-' * 12}:|{'-' * 14}:|{'-' * 8}:|{'-' * 11}:|")
    for label, frames, t_ours, t_bare, t_dre in rows:
        dre_text = f"{t_dre / frames * 1000:7.1f}ms" if t_dre else "-"
        print(f"| {label:<26} | {t_ours / frames * 1000:8.1f}ms | {t_bare / frames * 1000:10.1f}ms | "
              f"{t_ours / t_bare:5.2f}x | {dre_text:>9} |")
    large = large_file()
    size = large.stat().st_size >> 20
    print(f"\nEvery frame of a {size} MB file, 600 random 512x512 16-bit frames (own process each)")
    print(f"| {'job':<34} | {'time':>7} | {'peak growth':>11} |")
    print(f"|{'-' * 36}|{'-' * 9}:|{'-' * 13}:|")
    with tempfile.TemporaryDirectory(dir=BENCH) as temp:
        for mode, label in (("ours", "phi-review write_copy (streamed)"), ("bare", "bare pydicom whole array")):
            run = subprocess.run([sys.executable, "-c", MEMORY_CHILD, mode, str(large), str(Path(temp) / "c.dcm")],
                                 capture_output=True, text=True)
            if run.returncode != 0:
                print(f"| {label:<34} | {'failed':>7} | {'':>11} |")
                continue
            elapsed, grown, _peak = (float(v) for v in run.stdout.split())
            print(f"| {label:<34} | {elapsed:6.1f}s | {grown:8.0f} MB |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
