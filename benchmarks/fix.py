"""Header de-identification speed: `fix --profile basic` beside dicognito and dicom-dre, same files, one run.

Each reads each file, de-identifies the header and writes a copy to disk:

- ours: ``write_fixed`` as ``phi-review fix`` runs it: the copy streamed and
  written atomically, SHA-256 of both files, the proof (the copy's bytes searched
  for the original's identifiers, ``core/proof``), and the manifest line, fsynced;
  with one worker, and with the command's default workers;
- dicognito: ``dcmread`` + ``Anonymizer.anonymize`` + ``save_as``;
- dicom-dre: ``deidentify_file`` with its ``default`` (PS3.15 E basic) profile and a
  catalog that lets every device through (no pixel scrub), no renaming. dicom-dre
  requires Python 3.12 and cannot be installed in this project's 3.11 venv, so it
  runs under ``DRE_PYTHON`` (default /tmp/f_dre/bin/python, a 3.12 venv with
  ``pip install dicom-dre``); when that is absent its column says so.

Each contender runs in a process of its own per round (its time is the work in
that process, imports excluded; its memory is that process's own VmHWM); the
contenders take turns, round after round, the order reversed every other round,
and the table gives the best and the median of the rounds and their ratios.

Inputs: every bundled pydicom file all the tools handle, and a generated study of
200 CT slices (512x512, 16-bit) under .bench/.

Run: .venv/bin/python benchmarks/fix.py [--rounds N]
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

from turns import PEAK, in_turns, peak_mb, run_json

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / ".bench" / "fix_study"
DRE_PYTHON = Path(os.environ.get("DRE_PYTHON", "/tmp/f_dre/bin/python"))


def study(count: int = 200) -> list[Path]:
    """A synthetic 512x512 CT series of ``count`` slices (made once)."""
    paths = [BENCH / f"ct{i:03d}.dcm" for i in range(count)]
    if all(p.exists() for p in paths):
        return paths
    import numpy as np
    import pydicom
    import pydicom.data
    from pydicom.uid import generate_uid

    BENCH.mkdir(parents=True, exist_ok=True)
    base = pydicom.dcmread(pydicom.data.get_testdata_file("CT_small.dcm"))
    base.Rows = base.Columns = 512
    base.PixelData = np.random.default_rng(0).integers(0, 2000, (512, 512), dtype=np.int16).tobytes()
    series = generate_uid()
    for i, path in enumerate(paths):
        ds = copy.deepcopy(base)
        ds.PatientName, ds.PatientID, ds.SeriesInstanceUID = "Bench^Patient", "BENCH-1", series
        ds.SOPInstanceUID = generate_uid()
        ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
        ds.InstanceNumber = i + 1
        ds.save_as(path, enforce_file_format=True)
    return paths


def ours(paths: list[Path], out: Path) -> None:
    from phi_review.core.remedy.profile import ProfileSettings, profile_editor
    from phi_review.core.remedy.tag_edit import write_fixed

    edit = profile_editor(ProfileSettings(secret=b"benchmark"))
    for i, path in enumerate(paths):
        folder = out / f"{i:04d}"  # same-named bundled files from different folders stay apart
        write_fixed(path, folder, edit, roots=[path.parent], how={"profile": "basic"}, accept_residual="benchmark")


def ours_pool(paths: list[Path], out: Path) -> None:
    """As ``phi-review fix`` runs a batch: the same work on every core (``--jobs``, default one per core)."""
    from phi_review.core.common.pool import default_jobs, run_each
    from phi_review.core.remedy.profile import ProfileSettings, profile_editor
    from phi_review.core.remedy.tag_edit import write_fixed

    edit = profile_editor(ProfileSettings(secret=b"benchmark"))

    def one(item: tuple[int, Path]) -> None:
        i, path = item
        write_fixed(path, out / f"{i:04d}", edit, roots=[path.parent], how={"profile": "basic"},
                    accept_residual="benchmark")

    for _, ok, error in run_each(one, list(enumerate(paths)), default_jobs(len(paths))):
        assert ok, error


def dicognito(paths: list[Path], out: Path) -> None:
    import pydicom
    from dicognito.anonymizer import Anonymizer

    anonymizer = Anonymizer(seed="benchmark")
    for i, path in enumerate(paths):
        ds = pydicom.dcmread(path)
        anonymizer.anonymize(ds)
        ds.save_as(out / f"{i:04d}.dcm")


# dicom-dre's child, run under DRE_PYTHON: ``check`` prints the indices of the files it de-identifies,
# ``run`` times the same loop as the others over the listed files.
DRE_CHILD = PEAK + """
import json, sys, time
from pathlib import Path
mode, listing, out = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
paths = [Path(line) for line in listing.read_text().splitlines()]
from dicom_dre import DeidParameters, DeviceCatalog, Outcome, build_profile, deidentify_file
profile = build_profile("default")
catalog = DeviceCatalog([], [], default_action="allow")  # every device through, no pixel scrub: the header job
if mode == "run":  # one file untimed first, as for the others: lazy imports and first calls out of the time
    deidentify_file(paths[0], out / "warm.dcm", profile=profile, parameters=DeidParameters(), catalog=catalog,
                    rename_to_sop_uid=False)
start = time.perf_counter()
done = []
for i, path in enumerate(paths):
    result = deidentify_file(path, out / f"{i:04d}.dcm", profile=profile, parameters=DeidParameters(),
                             catalog=catalog, rename_to_sop_uid=False)
    if result.outcome == Outcome.DEIDENTIFIED:
        done.append(i)
    elif mode == "run":
        raise SystemExit(f"dicom-dre did not de-identify file {i}: {result.outcome}")
print(json.dumps({"seconds": time.perf_counter() - start, "peak_mb": peak_mb(), "ok": done}))
"""

TOOLS = {"fix --jobs 1": ours, "fix (default jobs)": ours_pool, "dicognito": dicognito}


def child(name: str, listing: Path, out: Path, check: bool) -> dict:
    """One contender over the listed files in this process: seconds of the work, own peak, files it handled."""
    paths = [Path(line) for line in listing.read_text().splitlines()]
    func = TOOLS[name]
    if check:  # one file at a time, so one refusal leaves the others in
        ok = []
        for i, path in enumerate(paths):
            folder = out / f"{i:04d}"
            folder.mkdir()
            try:
                func([path], folder)
            except Exception:  # noqa: BLE001 - a file one tool refuses is left out of all
                continue
            ok.append(i)
        return {"seconds": 0.0, "peak_mb": peak_mb(), "ok": ok}
    warm = out / "warm"
    warm.mkdir()
    func(paths[:1], warm)  # one file untimed: lazy imports and first calls are not the per-file work
    start = time.perf_counter()
    func(paths, out)
    return {"seconds": time.perf_counter() - start, "peak_mb": peak_mb(), "ok": list(range(len(paths)))}


def contender(name: str, paths: list[Path], check: bool = False) -> dict:
    """Run ``name`` over ``paths`` in a fresh process writing to a fresh folder."""
    out = Path(tempfile.mkdtemp(prefix="phi-fix-bench-"))
    listing = out / "files.txt"
    listing.write_text("\n".join(str(p) for p in paths))
    try:
        if name == "dicom-dre":
            return run_json([str(DRE_PYTHON), "-c", DRE_CHILD, "check" if check else "run", str(listing), str(out)])
        return run_json([sys.executable, __file__, "--child", name, str(listing), str(out), *(["--check"] if check else [])])
    finally:
        shutil.rmtree(out, ignore_errors=True)


def usable(paths: list[Path], names: list[str]) -> list[Path]:
    """Files every contender processes without an error."""
    keep = set(range(len(paths)))
    for name in names:
        if name != "fix (default jobs)":  # the same work as --jobs 1
            keep &= set(contender(name, paths, check=True)["ok"])
    return [paths[i] for i in sorted(keep)]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--check", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("args", nargs="*", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    if args.child:
        print(json.dumps(child(args.child, args.args[0], args.args[1], args.check)), flush=True)
        return
    import pydicom.data

    from phi_review.core.common.pool import default_jobs

    names = list(TOOLS)
    if DRE_PYTHON.exists():
        names.append("dicom-dre")
    else:
        print(f"dicom-dre: not run. It requires Python 3.12 (this venv is {sys.version.split()[0]}), so it cannot be "
              f"installed here; make a 3.12 venv with `pip install dicom-dre` and point DRE_PYTHON at its python "
              f"(looked for {DRE_PYTHON}).")
    bundled_folder = Path(pydicom.data.__file__).parent / "test_files"
    bundled = usable(sorted(p for p in bundled_folder.rglob("*") if p.is_file() and p.suffix.lower() in {".dcm", ""}),
                     names)
    sets = {f"bundled pydicom files all handle ({len(bundled)})": bundled, "CT study, 200 x 512x512": study()}
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; {args.rounds} rounds, each contender in "
          f"its own process, taking turns (order reversed every other round); files/s of the best round "
          f"(median round); ratio = our time / theirs, best (median)")
    peers = [name for name in names if name in ("dicognito", "dicom-dre")]
    for name, paths in sets.items():
        runs = in_turns({tool: (lambda tool=tool: contender(tool, paths)) for tool in names}, args.rounds)
        n = len(paths)
        print(f"\n{name}; fix's default: {default_jobs(n)} workers")
        print(f"| contender | files/s, best (median) | peak memory, own process | " +
              " | ".join(f"time / {peer}, best (median)" for peer in peers) + " |")
        print("|---|---:|---:|" + "---:|" * len(peers))
        for tool in names:
            times = [run["seconds"] for run in runs[tool]]
            best, median = min(times), statistics.median(times)
            memory = statistics.median(run["peak_mb"] for run in runs[tool])
            cells = []
            for peer in peers:
                theirs = [run["seconds"] for run in runs[peer]]
                cells.append(f"{best / min(theirs):.2f}x ({median / statistics.median(theirs):.2f}x)")
            note = " (parent; workers apart)" if tool == "fix (default jobs)" else ""
            print(f"| {tool} | {n / best:.0f} ({n / median:.0f}) | {memory:.0f} MB{note} | " + " | ".join(cells) + " |",
                  flush=True)


if __name__ == "__main__":
    main()
