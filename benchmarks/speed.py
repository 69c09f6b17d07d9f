"""Throughput on full-size photos: minorguard beside decode-only and the `deface` command.

    python -m benchmarks.speed [--folder ../shared/samples] [--repeats 3] [--workers 2]

All in one run, on the same photos, median of ``--repeats``:

* decode only: Pillow full-size decode of every photo (``Image.open().load()``, RGB);
* ``Guard.check_many(workers=N)`` with the models already loaded (the library);
* the ``minorguard scan`` command, the whole process (Python start, model load, scan),
  plain (verdicts) and with ``--json`` (which also groups the faces to decide by person);
* the ``deface`` command at its default settings, the whole process, on a fresh
  copy of the folder in a temporary directory (it writes anonymised copies
  beside its inputs, and would read them back as inputs on a second run).

The target of issue 2: minorguard at least 2x deface's throughput.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.common import SHARED, print_table, write_json

SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".tif", ".tiff", ".heic", ".heif"}


def photos_in(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in SUFFIXES and p.is_file())


def timed(fn, repeats: int) -> tuple[float, list[float]]:
    runs = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - t0)
    return statistics.median(runs), runs


def decode_all(photos: list[Path]) -> None:
    from PIL import Image

    for path in photos:
        with Image.open(path) as image:
            image.load()
            image.convert("RGB")


def find_tool(name: str) -> str | None:
    beside = Path(sys.executable).parent / name
    return str(beside) if beside.is_file() else shutil.which(name)


def run_deface(deface: str, photos: list[Path]) -> None:
    with tempfile.TemporaryDirectory(prefix="deface-bench-") as tmp:
        inputs = Path(tmp) / "in"
        inputs.mkdir()
        for path in photos:
            shutil.copy2(path, inputs / path.name)
        t0 = time.perf_counter()
        subprocess.run([deface, str(inputs)], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        run_deface.last = time.perf_counter() - t0  # type: ignore[attr-defined]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--folder", type=Path, default=SHARED / "samples")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--skip-deface", action="store_true")
    args = parser.parse_args()
    if not args.folder.is_dir():
        sys.exit(f"photo folder not found: {args.folder} (set MINORGUARD_SHARED)")
    photos = photos_in(args.folder)
    megapixels = []
    from PIL import Image

    for path in photos:
        with Image.open(path) as image:
            megapixels.append(image.width * image.height / 1e6)
    n = len(photos)

    decode_s, decode_runs = timed(lambda: decode_all(photos), args.repeats)

    from minorguard import Guard

    t0 = time.perf_counter()
    guard = Guard()
    load_s = time.perf_counter() - t0
    list(guard.check_many(photos[:1], workers=1))  # warm-up: first-call allocations
    stage_totals: dict[str, float] = {}

    def scan() -> None:
        for result in guard.check_many(photos, workers=args.workers):
            for stage, ms in result.timings_ms.items():
                stage_totals[stage] = stage_totals.get(stage, 0.0) + ms / args.repeats

    guard_s, guard_runs = timed(scan, args.repeats)

    def run_command(extra: list[str], target: Path = args.folder) -> list[float]:
        runs = []
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            subprocess.run(
                [sys.executable, "-m", "minorguard", "scan", str(target), "--workers", str(args.workers), *extra],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                env={**os.environ, "COLUMNS": "120"},
                check=False,  # exit 2 (BLOCK) is the expected outcome here
            )
            runs.append(time.perf_counter() - t0)
        return runs

    # the verdicts (what a communicator runs before uploading), and the same
    # with the JSON report, which adds an embedding per face to decide for grouping by person
    cli_runs = run_command([])
    # the default engine judges each photo in a worker process (bounded time and memory); threads in one process
    # start faster: both, so the cost of the bound is a figure
    local_runs = run_command(["--engine", "local"])
    with tempfile.TemporaryDirectory(prefix="minorguard-bench-") as tmp:
        cli_json_runs = run_command(["--json", str(Path(tmp) / "out.json")])
    # a publishing tool that runs the command once per photo: start-up is most of it
    smallest = min(zip(megapixels, photos))[1]
    one_runs = run_command([], smallest)
    cli_s = statistics.median(cli_runs)
    one_s = statistics.median(one_runs)
    local_s = statistics.median(local_runs)
    cli_json_s = statistics.median(cli_json_runs)

    deface_s = None
    deface_runs: list[float] = []
    deface = find_tool("deface")
    if deface and not args.skip_deface:
        for _ in range(args.repeats):
            run_deface(deface, photos)
            deface_runs.append(run_deface.last)  # type: ignore[attr-defined]
        deface_s = statistics.median(deface_runs)

    rows = [
        ["decode only (Pillow, full size)", f"{decode_s:.2f}", f"{n / decode_s:.2f}", "-"],
        [f"Guard.check_many (workers={args.workers}, models loaded)", f"{guard_s:.2f}", f"{n / guard_s:.2f}", f"{guard_s / decode_s:.1f}x decode"],
        [f"minorguard scan command (workers={args.workers}, whole process)", f"{cli_s:.2f}", f"{n / cli_s:.2f}", f"{cli_s / decode_s:.1f}x decode"],
        ["minorguard scan --engine local (threads, no per-photo limits)", f"{local_s:.2f}", f"{n / local_s:.2f}", f"{local_s / decode_s:.1f}x decode"],
        ["minorguard scan --json (+ grouping by person)", f"{cli_json_s:.2f}", f"{n / cli_json_s:.2f}", f"{cli_json_s / decode_s:.1f}x decode"],
        [f"minorguard scan of one photo ({smallest.name}, whole process)", f"{one_s:.2f}", f"{1 / one_s:.2f}", "-"],
    ]
    if deface_s is not None:
        rows.append(["deface command (defaults, whole process)", f"{deface_s:.2f}", f"{n / deface_s:.2f}", f"{deface_s / decode_s:.1f}x decode"])
    print(f"{n} photos, {min(megapixels):.1f}-{max(megapixels):.1f} MP ({sum(megapixels):.0f} MP in all), median of {args.repeats}")
    print_table(["what", "seconds", "photos/s", "vs decode"], rows)
    if deface_s is not None:
        print(f"throughput vs deface: library {deface_s / guard_s:.2f}x, command {deface_s / cli_s:.2f}x (target >= 2x), "
              f"command --engine local {deface_s / local_s:.2f}x, "
              f"command with --json and grouping {deface_s / cli_json_s:.2f}x")
    print("stage totals per pass (ms, summed over photos, both workers): " + ", ".join(f"{k} {v:.0f}" for k, v in stage_totals.items()))
    out = write_json(
        "speed.json",
        {
            "folder": str(args.folder),
            "photos": n,
            "megapixels": megapixels,
            "workers": args.workers,
            "cpu_count": os.cpu_count(),
            "decode_only_s": decode_s,
            "decode_runs": decode_runs,
            "guard_model_load_s": load_s,
            "guard_check_many_s": guard_s,
            "guard_runs": guard_runs,
            "cli_scan_s": cli_s,
            "cli_runs": cli_runs,
            "cli_scan_local_engine_s": local_s,
            "cli_local_engine_runs": local_runs,
            "cli_scan_json_grouping_s": cli_json_s,
            "cli_json_grouping_runs": cli_json_runs,
            "cli_scan_one_photo": smallest.name,
            "cli_scan_one_photo_s": one_s,
            "cli_one_photo_runs": one_runs,
            "deface_s": deface_s,
            "deface_runs": deface_runs,
            "ratio_vs_deface_library": (deface_s / guard_s) if deface_s else None,
            "ratio_vs_deface_command": (deface_s / cli_s) if deface_s else None,
            "ratio_vs_deface_command_local_engine": (deface_s / local_s) if deface_s else None,
            "ratio_vs_deface_command_json_grouping": (deface_s / cli_json_s) if deface_s else None,
            "ratio_to_decode_library": guard_s / decode_s,
            "stage_ms_per_pass": stage_totals,
            "model_pack": guard.pack_label,
            "policy_version": guard.policy.version,
        },
    )
    print(f"written {out}")


if __name__ == "__main__":
    main()
