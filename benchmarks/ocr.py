"""OCR: our engine beside the EDRN validator's Tesseract call and Tesseract psm 11 at 2x, on frames none was tuned to.

The frames come from ``benchmarks/ocr_set.py`` with a seed development did not
use (2026 by default): 35 frames with 4-7 lines each (ultrasound, secondary
capture, CT corner annotations; 8-bit, 16-bit and RGB; 512-1024 px; DejaVu and
Liberation fonts at 9-20 px) and 5 frames with no text. Each frame is a DICOM
file, so every contender's time includes the decode.

Each contender runs in its own process pinned to one core (``ocr_workers.py``),
in turns over ``--rounds`` rounds (the machine's speed drifts; the best round
counts), and reports its own peak memory. The Tesseract contenders run in the
validator's venv when it is installed (``/opt/labcas-validator/venv``), else in
ours if pytesseract is there, else they are left out.

Scores (see ``ocr_set.Score``): exact words (a word counts only as the same
whitespace-separated token), exact lines (the line's words in a row, in one
line read), lenient (the word anywhere in the frame's text, spaces and case
ignored), and frames without text where something was read.

Run: .venv/bin/python benchmarks/ocr.py [--seed 2026] [--rounds 2]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import ocr_set  # noqa: E402

VALIDATOR_PYTHON = Path("/opt/labcas-validator/venv/bin/python")


def _tesseract_python() -> str | None:
    if VALIDATOR_PYTHON.exists():
        return str(VALIDATOR_PYTHON)
    try:
        import pytesseract  # noqa: F401
    except ImportError:
        return None
    return sys.executable if shutil.which("tesseract") else None


def _run(python: str, kind: str, folder: Path, out: Path) -> dict[str, object]:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(HERE.parent), os.environ.get("PYTHONPATH")])))
    subprocess.run([python, str(HERE / "ocr_workers.py"), kind, str(folder), str(out)], check=True, env=env)
    return json.loads(out.read_text(encoding="utf-8"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args(argv)

    frames = ocr_set.frames(args.seed)
    contenders = {"phi-review": sys.executable, "phi-review-plain": sys.executable}
    tesseract = _tesseract_python()
    if tesseract:
        contenders.update({"validator": tesseract, "psm11-2x": tesseract})
    else:
        print("Tesseract contenders left out: no validator venv and no pytesseract here")
    best: dict[str, dict[str, object]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "frames"
        folder.mkdir()
        for n, frame in enumerate(frames):
            ocr_set.write_dicom(frame, folder / f"{n:03d}.dcm")
        for round_ in range(args.rounds):
            order = list(contenders) if round_ % 2 == 0 else list(reversed(contenders))
            for kind in order:
                result = _run(contenders[kind], kind, folder, Path(tmp) / f"{kind}-{round_}.json")
                if kind not in best or float(result["wall_s"]) < float(best[kind]["wall_s"]):  # type: ignore[arg-type]
                    best[kind] = result

    print(f"OCR on {len(frames)} frames (seed {args.seed}), one core per contender, best of {args.rounds} rounds in turns")
    header = f"{'contender':<16} {'exact words':>11} {'exact lines':>11} {'lenient':>8} {'blank with text':>17} " \
             f"{'s/frame':>8} {'cpu s/fr':>8} {'vs validator':>12} {'peak MB':>8} {'load s':>6}"
    print(header)
    reference = best.get("validator")
    for kind, result in best.items():
        score = ocr_set.Score()
        found = result["found"]
        for n, frame in enumerate(frames):
            score.add(frame, found.get(f"{n:03d}", []))  # type: ignore[union-attr]
        row = score.row()
        per_frame = float(result["wall_s"]) / len(frames)  # type: ignore[arg-type]
        cpu = float(result["cpu_s"]) / len(frames)  # type: ignore[arg-type]
        ratio = f"{per_frame / (float(reference['wall_s']) / len(frames)):.2f}x" if reference else "-"  # type: ignore[arg-type]
        peak = max(float(result["peak_mb"]), float(result["child_peak_mb"]))  # type: ignore[arg-type]
        print(f"{kind:<16} {row['exact words']:>11} {row['exact lines']:>11} {row['lenient']:>8} "
              f"{row['blank with text']:>17} {per_frame:>8.3f} {cpu:>8.3f} {ratio:>12} {peak:>8.0f} "
              f"{float(result['load_s']):>6.2f}")  # type: ignore[arg-type]
    return 0


if __name__ == "__main__":
    sys.exit(main())
