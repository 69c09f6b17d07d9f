"""Archives: Ray against the local engine, and an incremental re-run after one consent changes on 10,000 photos.

    python -m benchmarks.archive [--photos 200] [--archive 10000] [--skip-ray]

Part 1, engines: ``--photos`` photos (the five sample pictures at 640 px, each as many distinct files:
other bytes after the image's end) scanned by the ``minorguard scan`` command with the local engine
and with ``--engine ray --workers 1`` and ``2`` (a Ray instance the command starts on this machine);
photos/s counts the whole command, model loading and Ray's start included.
Memory per Ray worker is the largest resident size of a ``ray::Checker`` process seen.

Part 2, incremental: an archive of ``--archive`` photos in which the portrait with the two enrolled
girls appears 20 times (the rest: the four other sample pictures). The result store is seeded
through the real code path: each distinct picture is judged once by the same checks, and its
result is kept for every file that holds it, under that file's own sha256 and dependencies (the
same rows a full scan would write, without its hours on two cores). Then one girl's consent is
withdrawn and ``minorguard scan --incremental`` runs over the whole archive: its time is the
figure (target: seconds, not a full scan), with how many photos it judged again and why.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from datetime import date
from pathlib import Path

from benchmarks.common import print_table, write_json

# the tests' helpers make the archives and consents here too (the same pictures, the same enrolment path)
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from photo_variants import sample_pictures


def _ray_worker_rss_mb() -> float:
    biggest = 0.0
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            text = status.read_text()
        except OSError:
            continue
        if "Name:\tray::Checker" in text or "ray::Checker" in (status.parent / "cmdline").read_bytes().decode(errors="replace"):
            rss = next((int(line.split()[1]) for line in text.splitlines() if line.startswith("VmRSS")), 0)
            biggest = max(biggest, rss / 1024)
    return biggest


def engines(count: int, home: Path) -> list[dict]:
    folder = home / "photos"
    folder.mkdir()
    pictures = list(sample_pictures(640).items())
    for n in range(count):
        stem, data = pictures[n % len(pictures)]
        (folder / f"{stem}_{n:05d}.jpg").write_bytes(data + b"\0" * (n // len(pictures)))
    env = {**os.environ, "MINORGUARD_DATA_DIR": str(home / "data"), "RAY_USAGE_STATS_ENABLED": "0"}
    rows = []
    for label, extra in (("local", []), ("ray, 1 worker", ["--engine", "ray", "--workers", "1"]),
                         ("ray, 2 workers", ["--engine", "ray", "--workers", "2"])):
        lines = home / f"{label.replace(' ', '_').replace(',', '')}.jsonl"
        peak = [0.0]
        stop = threading.Event()

        def watch(peak=peak, stop=stop) -> None:
            while not stop.is_set():
                peak[0] = max(peak[0], _ray_worker_rss_mb())
                time.sleep(0.5)

        watcher = threading.Thread(target=watch)
        watcher.start()
        began = time.monotonic()
        done = subprocess.run([sys.executable, "-m", "minorguard", "scan", str(folder), "--channel", "facebook", "--no-group",
                               "--jsonl", str(lines), *extra], env=env, capture_output=True, text=True)
        wall = time.monotonic() - began
        stop.set()
        watcher.join()
        if done.returncode not in (0, 1, 2):
            raise SystemExit(f"{label}: {done.stderr[-2000:]}")
        produced = len(lines.read_text(encoding="utf-8").splitlines())
        rows.append({"engine": label, "photos": produced, "wall_s": round(wall, 1), "photos_per_s": round(produced / wall, 2),
                     "worker_rss_mb": round(peak[0]) if peak[0] else None})
        print(rows[-1], flush=True)
    return rows


def incremental(count: int, home: Path) -> dict:
    from minorguard import CheckContext, open_checks
    from minorguard.application.archive import ResultStore, _fixed, dependencies, register_marks

    os.environ["MINORGUARD_DATA_DIR"] = str(home / "data")
    db = str(home / "data" / "register.sqlite3")
    folder = home / "archive"
    folder.mkdir()
    pictures = sample_pictures(1024)
    family = next(k for k in pictures if "family" in k)
    others = [k for k in pictures if k != family]
    files: list[tuple[Path, str]] = []
    for n in range(count):
        stem = family if n % (count // 20) == 0 else others[n % len(others)]
        path = folder / f"{stem}_{n:05d}.jpg"
        path.write_bytes(pictures[stem] + n.to_bytes(4, "big"))
        files.append((path, stem))
    context = CheckContext(channel="facebook", when=date(2026, 12, 1))
    store_path = home / "results.sqlite3"
    seeded = time.monotonic()
    with open_checks(db=db, context=context, tool="benchmark") as checks:
        from register_fixtures import consent_for_the_portraits_girls

        records = consent_for_the_portraits_girls(checks, home, ["facebook"])
        checks.refresh()
        marks = register_marks(checks.register)
        first_file = {stem: next(p for p, s in files if s == stem) for stem in pictures}
        judged = {stem: checks.guard.check(path, context) for stem, path in first_file.items()}
        fixed = _fixed(checks)
    store = ResultStore(store_path)
    store.close()
    rows_results, rows_files = [], []
    import dataclasses
    import hashlib

    from minorguard.types import to_jsonable

    for path, stem in files:
        sha = hashlib.sha256(path.read_bytes()).hexdigest()
        result = dataclasses.replace(judged[stem], sha256=sha, source=str(path))
        st = path.stat()
        rows_results.append((sha, fixed, json.dumps(dependencies(result, marks, context), sort_keys=True),
                             json.dumps(to_jsonable(result)), "seeded"))
        rows_files.append((os.fsdecode(path), st.st_size, st.st_mtime_ns, sha))
    with sqlite3.connect(store_path) as raw:
        raw.executemany("INSERT OR REPLACE INTO results VALUES (?, ?, ?, ?, ?)", rows_results)
        raw.executemany("INSERT OR REPLACE INTO files VALUES (?, ?, ?, ?)", rows_files)
    seeded = time.monotonic() - seeded
    env = {**os.environ}
    command = [sys.executable, "-m", "minorguard", "scan", str(folder), "--channel", "facebook", "--date", "2026-12-01",
               "--db", db, "--incremental", str(store_path), "--no-group", "--lang", "en"]
    began = time.monotonic()
    unchanged = subprocess.run(command, env=env, capture_output=True, text=True)
    unchanged_s = time.monotonic() - began
    from consent_db import Register

    with Register(db) as reg:
        reg.withdraw_consent(records[0], "benchmark: one consent changes")
    began = time.monotonic()
    after = subprocess.run(command, env=env, capture_output=True, text=True)
    after_s = time.monotonic() - began
    said = " ".join(after.stderr.split())
    match = re.search(r"(\d+) photo\(s\) judged \(([^)]*)\); (\d+) reused", said)
    return {"photos": count, "portraits_of_the_child": sum(1 for _, s in files if s == family), "seed_s": round(seeded, 1),
            "rerun_unchanged_s": round(unchanged_s, 1), "rerun_after_one_withdrawal_s": round(after_s, 1),
            "judged_again": int(match.group(1)) if match else None, "why": match.group(2) if match else said[-300:],
            "reused": int(match.group(3)) if match else None, "exit_codes": [unchanged.returncode, after.returncode]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=200)
    parser.add_argument("--archive", type=int, default=10000)
    parser.add_argument("--skip-ray", action="store_true")
    args = parser.parse_args()
    payload: dict = {"cpus": os.cpu_count()}
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        if not args.skip_ray:
            (home / "engines").mkdir()
            payload["engines"] = engines(args.photos, home / "engines")
            print_table(["engine", "photos", "wall s", "photos/s", "worker RSS MB"],
                        [[r["engine"], r["photos"], r["wall_s"], r["photos_per_s"], r["worker_rss_mb"]] for r in payload["engines"]])
        (home / "incremental").mkdir()
        payload["incremental"] = incremental(args.archive, home / "incremental")
        print(payload["incremental"])
        shutil.rmtree(home, ignore_errors=True)
    local = next((r for r in payload.get("engines", []) if r["engine"] == "local"), None)
    two = next((r for r in payload.get("engines", []) if r["engine"] == "ray, 2 workers"), None)
    if local and two:
        rate = two["photos_per_s"]
        payload["projection"] = {
            "note": "a projection, not a measurement: the rate of 2 Ray workers on this 2-core machine, scaled linearly",
            "one_million_photos_hours_per_2_core_machine": round(1_000_000 / rate / 3600, 1),
            "machines_for_one_day": round(1_000_000 / rate / 86400, 1),
        }
    print(f"written {write_json('archive.json', payload)}")


if __name__ == "__main__":
    main()
