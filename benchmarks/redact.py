"""Blackout speed and memory beside bare pydicom and dicom-dre, in one run.

1. Per-frame redaction time (``write_copy`` with one box on every frame) beside the bare
   pydicom job on the same file: ``dcmread`` + ``pixel_array`` + fill + encode in the same
   syntax (``Dataset.compress``) + ``save_as``. JPEG baseline has no pydicom encoder, so its
   bare row is decode + Pillow re-encode (lossy, what a naive tool does). dicom-dre's
   ``blank_regions`` runs on the same file: DCT-domain blanking (with its C accelerator) for
   JPEG baseline; for the other syntaxes its general path decodes, fills and writes the
   copy uncompressed (not the same job: noted in its column). dicom-dre requires Python
   3.12 and cannot be installed in this project's 3.11 venv, so it runs under
   ``DRE_PYTHON`` (default /tmp/f_dre/bin/python, a 3.12 venv with ``pip install
   dicom-dre``); when that is absent the output says so.
2. Peak memory (VmHWM growth over the process's own baseline after imports) redacting every
   frame of a ~315 MB file of 600 random 512x512 16-bit frames (.bench/, shared with
   benchmarks/dicom.py), beside bare pydicom's whole-array edit and dicom-dre on the same file.

Every job runs in a process of its own that imports only its own tool (the inputs are
made by this driver first); its time is the job after one untimed run of it (lazy imports
and first calls out), its memory its own VmHWM. The contenders take turns, round after
round, the order reversed every other round; the tables give the best and the median of
the rounds and the ratios of both.

Run: .venv/bin/python benchmarks/redact.py [--rounds 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import warnings
from pathlib import Path

import pydicom
from pydicom.uid import JPEG2000Lossless, JPEGBaseline8Bit, JPEGLSLossless, RLELossless

from turns import PEAK, in_turns, run_json

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


# Each child: argv = input, output, box "x0,y0,x1,y1"; runs the job once untimed, then once timed.
OURS_CHILD = PEAK + """
import json, sys, time
from pathlib import Path
from phi_review.core.remedy.output import write_copy
from phi_review.core.remedy.redact import Box, Redaction
source, out = Path(sys.argv[1]), Path(sys.argv[2])
box = Box(*(int(v) for v in sys.argv[3].split(",")))
def job():
    write_copy(source, out, pixel_edit=Redaction([box]), overwrite=True)
job()
start = time.perf_counter()
job()
print(json.dumps({"seconds": time.perf_counter() - start, "peak_mb": peak_mb()}))
"""

# The same job with bare pydicom (and Pillow for JPEG baseline, which pydicom cannot encode).
BARE_CHILD = PEAK + """
import io, json, sys, time
import pydicom
from PIL import Image
from pydicom.encaps import encapsulate
from pydicom.uid import JPEG2000Lossless, JPEGBaseline8Bit
source, out = sys.argv[1], sys.argv[2]
x0, y0, x1, y1 = (int(v) for v in sys.argv[3].split(","))
def job():
    ds = pydicom.dcmread(source)
    syntax = ds.file_meta.TransferSyntaxUID
    array = ds.pixel_array.copy()
    array[..., y0:y1, x0:x1, *(() if array.ndim == 3 and ds.SamplesPerPixel == 1 else (slice(None),))] = 0
    if syntax == JPEGBaseline8Bit:
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
job()
start = time.perf_counter()
job()
print(json.dumps({"seconds": time.perf_counter() - start, "peak_mb": peak_mb()}))
"""

DRE_CHILD = PEAK + """
import json, sys, time
from pathlib import Path
from dicom_dre.pixel_blanker import blank_regions
from dicom_dre.scrub_region import ScrubRegion
x0, y0, x1, y1 = (int(v) for v in sys.argv[3].split(","))
def job():
    return blank_regions(Path(sys.argv[1]), Path(sys.argv[2]), [ScrubRegion(x0, y0, x1 - x0, y1 - y0)])
job()
start = time.perf_counter()
result = job()
print(json.dumps({"seconds": time.perf_counter() - start, "peak_mb": peak_mb(),
                  "decompressed": bool(result.was_decompressed)}))
"""


def contender(name: str, source: Path, out: Path) -> dict:
    code, python = {"ours": (OURS_CHILD, sys.executable), "bare": (BARE_CHILD, sys.executable),
                    "dicom-dre": (DRE_CHILD, str(DRE_PYTHON))}[name]
    return run_json([python, "-c", code, str(source), str(out), ",".join(map(str, BOX))])


def large_file() -> Path:
    """The 600-frame random-pixel file of benchmarks/dicom.py (same path, built once)."""
    path = BENCH / "large_random_600x512x512.dcm"
    if path.exists():
        return path
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from dicom import large_file as build  # benchmarks/dicom.py

    return build()


# Memory: the job once (no warm-up: the growth of the job itself), growth over the process's baseline.
MEMORY_CHILD = PEAK + """
import json, sys, time
mode, path, out = sys.argv[1], sys.argv[2], sys.argv[3]
from pathlib import Path
if mode == "ours":
    from phi_review.core.remedy.output import write_copy
    from phi_review.core.remedy.redact import Box, Redaction
elif mode == "bare":
    import numpy, pydicom, pydicom.pixels
else:
    from dicom_dre.pixel_blanker import blank_regions
    from dicom_dre.scrub_region import ScrubRegion
base = peak_mb()
start = time.perf_counter()
if mode == "ours":
    write_copy(Path(path), Path(out), pixel_edit=Redaction([Box(40, 30, 300, 90)]), overwrite=True)
elif mode == "bare":
    ds = pydicom.dcmread(path)
    array = ds.pixel_array
    array[:, 30:90, 40:300] = 0
    ds.PixelData = array.tobytes()
    ds.save_as(out)
else:
    blank_regions(Path(path), Path(out), [ScrubRegion(40, 30, 260, 60)])
print(json.dumps({"seconds": time.perf_counter() - start, "growth_mb": peak_mb() - base, "peak_mb": peak_mb()}))
"""


def per_ms(runs: list[dict], frames: int) -> tuple[float, float]:
    times = [run["seconds"] for run in runs]
    return min(times) / frames * 1000, statistics.median(times) / frames * 1000


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    BENCH.mkdir(exist_ok=True)
    names = ["ours", "bare"]
    if DRE_PYTHON.exists():
        names.append("dicom-dre")
    else:
        print(f"dicom-dre: not run. It requires Python 3.12 (this venv is {sys.version.split()[0]}), so it cannot be "
              f"installed here; make a 3.12 venv with `pip install dicom-dre` and point DRE_PYTHON at its python "
              f"(looked for {DRE_PYTHON}).")
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; {args.rounds} rounds, each job in its "
          f"own process, taking turns (order reversed every other round)")
    print(f"\nPer-frame blackout, {FRAMES} frames of 512x512, one {BOX[2] - BOX[0]}x{BOX[3] - BOX[1]} box; "
          f"ms/frame best (median); ratio = our time / theirs, best (median)")
    print("| input | phi-review | bare pydicom | ratio | dicom-dre | ratio to dicom-dre |")
    print("|---|---:|---:|---:|---:|---:|")
    with tempfile.TemporaryDirectory(dir=BENCH) as temp:
        folder = Path(temp)
        for label, path in inputs(folder).items():
            head = pydicom.dcmread(path, stop_before_pixels=True)
            frames = int(head.get("NumberOfFrames", 1))
            if label.startswith("JPEG baseline") and head.file_meta.TransferSyntaxUID != JPEGBaseline8Bit:
                continue
            runs = in_turns({name: (lambda name=name: contender(name, path, folder / f"{name}.dcm")) for name in names},
                            args.rounds)
            (ob, om), (bb, bm) = per_ms(runs["ours"], frames), per_ms(runs["bare"], frames)
            cells = [f"{ob:.1f} ({om:.1f}) ms", f"{bb:.1f} ({bm:.1f}) ms", f"{ob / bb:.2f}x ({om / bm:.2f}x)"]
            if "dicom-dre" in runs:
                db, dm = per_ms(runs["dicom-dre"], frames)
                note = " (writes it uncompressed)" if runs["dicom-dre"][0].get("decompressed") else ""
                cells += [f"{db:.1f} ({dm:.1f}) ms{note}", f"{ob / db:.2f}x ({om / dm:.2f}x)"]
            else:
                cells += ["not run", ""]
            print(f"| {label} | " + " | ".join(cells) + " |", flush=True)
    large = large_file()
    size = large.stat().st_size >> 20
    print(f"\nEvery frame of a {size} MB file, 600 random 512x512 16-bit frames (own process each, "
          f"{args.rounds} rounds in turns; time best (median), peak growth over the process's baseline, median)")
    print("| job | time | peak growth | peak RSS |")
    print("|---|---:|---:|---:|")
    labels = {"ours": "phi-review write_copy (streamed)", "bare": "bare pydicom whole array",
              "dicom-dre": "dicom-dre blank_regions"}
    with tempfile.TemporaryDirectory(dir=BENCH) as temp:
        def memory(name: str) -> dict:
            python = str(DRE_PYTHON) if name == "dicom-dre" else sys.executable
            return run_json([python, "-c", MEMORY_CHILD, name, str(large), str(Path(temp) / f"{name}.dcm")])

        runs = in_turns({name: (lambda name=name: memory(name)) for name in names}, args.rounds)
        for name in names:
            times = [run["seconds"] for run in runs[name]]
            growth = statistics.median(run["growth_mb"] for run in runs[name])
            peak = statistics.median(run["peak_mb"] for run in runs[name])
            print(f"| {labels[name]} | {min(times):.1f} s ({statistics.median(times):.1f} s) | {growth:.0f} MB | "
                  f"{peak:.0f} MB |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
