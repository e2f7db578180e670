"""Memory while stepping through the frames of a big file on the review screen.

A 600-frame 512x512 16-bit file (``sample_reports/make_dicom.py``
``large_multiframe_file``; ``--text`` draws a few lines of burned-in text on
each frame, so OCR finds something) is the row's file of a pixel finding; the
review screen shows it and ``]`` is pressed ``--steps`` times, waiting on each
frame for its preview and its OCR. Printed: the process's RSS at first paint
(frame 1 shown, its OCR done), after 10, 70 and all steps, and its peak (VmHWM).
The budget (issue 24): no more than +150 MB over the first paint.

Run: .venv/bin/python benchmarks/frames.py [--steps 100] [--text]
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / ".bench"
PIXELS = "Possible Burned-in PHI/PII (Pixels)"
MAKE = """
import sys
from pathlib import Path
from phi_review.sample_reports.make_dicom import large_multiframe_file
path = large_multiframe_file(Path(sys.argv[1]), frames=600, size=512)
if sys.argv[2] == "text":
    import numpy as np, pydicom
    from PIL import Image, ImageDraw, ImageFont
    ds = pydicom.dcmread(path)
    frames = ds.pixel_array.copy()
    font = ImageFont.load_default(size=18)
    for n in range(len(frames)):
        image = Image.new("L", (512, 512), 0)
        draw = ImageDraw.Draw(image)
        for k in range(n % 5 + 1):
            draw.text((20, 20 + 40 * k), f"DOE^JANE {n} 2020-0{k + 1}-1{n % 10} ACC{n * 7}", fill=255, font=font)
        frames[n] = np.asarray(image).astype(np.uint16) * 200 + 300
    ds.PixelData = frames.tobytes()
    ds.save_as(path)
"""


def status_mb() -> tuple[int, int]:
    """(VmRSS, VmHWM) of this process in MB."""
    fields = dict(line.split(":", 1) for line in open("/proc/self/status", encoding="ascii"))
    return int(fields["VmRSS"].split()[0]) // 1024, int(fields["VmHWM"].split()[0]) // 1024


def large_file(text: bool) -> Path:
    """The 315 MB file, made once in a separate process (its making must not count in our peak)."""
    path = BENCH / ("frames-text" if text else "frames-plain") / "large.dcm"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, "-c", MAKE, str(path), "text" if text else "plain"], check=True)
    return path


async def step_frames(dicom: Path, steps: int) -> list[tuple[str, int, int]]:
    sys.path.insert(0, str(ROOT / "tests"))
    from tui_helpers import make_app

    folder = Path(tempfile.mkdtemp(prefix="run-", dir=dicom.parent))
    os.link(dicom, folder / dicom.name)  # a hard link: the index follows no symlinks
    report = folder / "report.csv"
    with open(report, "w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows([["File Name", "Validation Issue", "Detected Value", "Action", "Comments"],
                                      [dicom.name, PIXELS, "", "", ""]])
    app = make_app(report)
    seen: list[tuple[str, int, int]] = []
    async with app.run_test(size=(160, 50)) as pilot:
        review = app.review

        async def frame_done(frame: int, after: float) -> None:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                key = review.ocr.current_key()
                ocr_done = key is not None and key[1] == frame and (key in review.ocr.lines or key in review.ocr.errors)
                if ocr_done and review.preview_shown and review.preview_shown[1] > after:
                    return
                await asyncio.sleep(0.01)
            raise TimeoutError(f"frame {frame + 1} not shown in 60 s")

        await frame_done(0, 0.0)
        await pilot.pause(0.2)
        seen.append(("first paint", *status_mb()))
        for step in range(1, steps + 1):
            start = time.monotonic()
            await pilot.press("right_square_bracket")
            await frame_done(step, start)
            if step in (10, 70) or step == steps:
                seen.append((f"after {step} frames", *status_mb()))
        await pilot.press("q")
    app.session.close()
    shutil.rmtree(folder, ignore_errors=True)
    return seen


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--text", action="store_true", help="burned-in text on every frame (OCR finds lines)")
    args = parser.parse_args()
    dicom = large_file(args.text)
    seen = asyncio.run(step_frames(dicom, args.steps))
    first = seen[0][1]
    print(f"{'':<22} {'RSS MB':>8} {'peak MB':>8} {'RSS - first':>12}")
    for label, rss, hwm in seen:
        print(f"{label:<22} {rss:>8} {hwm:>8} {rss - first:>+12}")
    print(f"RSS over first paint: {seen[-1][1] - first:+} MB, peak over first paint's peak: "
          f"{seen[-1][2] - seen[0][2]:+} MB (budget +150 MB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
