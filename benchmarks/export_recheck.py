"""How often the export's re-check passes, on ../shared/eval/detect and ../shared/samples.

    python -m benchmarks.export_recheck [--limit N] [--modes minors,all-faces] [--style mosaic]

Each photo is exported with the default Guard (no register: an identifiable
possible minor blocks) into a scratch folder, and the export's own re-check
result is recorded: passed on the first paint, passed after repainting or
hiding a face that turned up on the copy (up to MAX_ATTEMPTS), or refused.
``all-faces`` is the stress test: every detected face is painted and must
not come back as an identifiable possible minor. Also counted: how often the
detector finds *any* face again inside a painted head, and, on the labelled
detection sets, how many annotated faces the paint covers (>= 90% of the
box's area) - the re-check uses the same detector, so it cannot see a face
that detector misses twice; the annotations can.

Per-photo rows are cached in /work/cache/export/ (or $MINORGUARD_CACHE) so a
rerun skips photos already measured with the same code and policy.
Writes benchmarks/results/export_recheck.json.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks.common import EVAL, SHARED, print_table, require_shared, write_json
from minorguard import Guard
from minorguard.publish.export import MAX_ATTEMPTS, HideMode, export_photos
from minorguard.publish.redact import HEAD_ABOVE, HEAD_BELOW, HEAD_WIDTH_FACTOR, MOSAIC_BLOCKS
from minorguard.types import FaceCategory

CACHE = Path(os.environ.get("MINORGUARD_CACHE", "/work/cache")) / "export"


def _code_version() -> str:
    root = Path(__file__).resolve().parents[1] / "minorguard" / "publish"
    digest = hashlib.sha256()
    for name in ("export.py", "redact.py", "encode.py", "scrub.py"):
        digest.update((root / name).read_bytes())
    return digest.hexdigest()[:12]


BANDS = [("<16", 0, 16), ("16-31", 16, 32), ("32-63", 32, 64), (">=64", 64, 10**9)]
COVERED = 0.9


def datasets(limit: int | None) -> tuple[dict[str, list[Path]], dict[Path, list[list[float]]]]:
    sets = {}
    truth: dict[Path, list[list[float]]] = {}
    for name in ("dlib_faces", "face_mask_kaggle"):
        root = EVAL / "detect" / name
        annotations = json.loads((root / "annotations.json").read_text())
        files = sorted(annotations)
        truth.update({root / f: annotations[f] for f in files})
        paths = [root / f for f in files if (root / f).is_file()]
        if limit and len(paths) > limit:
            step = len(paths) / limit  # an even spread, not the first N
            paths = [paths[int(i * step)] for i in range(limit)]
        sets[name] = paths
    samples = SHARED / "samples"
    sets["samples"] = sorted(p for p in samples.iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png"))
    return sets, truth


def coverage(path: Path, regions: list, boxes: list[list[float]]) -> dict[str, list[int]]:
    """Per height band: [annotated faces covered by paint, annotated faces]."""
    from PIL import Image

    with Image.open(path) as image:
        width, height = image.size
    mask = np.zeros((height, width), bool)
    for r in regions:
        mask[int(r.y) : math.ceil(r.y2), int(r.x) : math.ceil(r.x2)] = True
    bands = {b[0]: [0, 0] for b in BANDS}
    for x, y, w, h in boxes:
        x1, y1 = max(0, round(x)), max(0, round(y))
        x2, y2 = min(width, round(x + w)), min(height, round(y + h))
        if x2 <= x1 or y2 <= y1:
            continue
        band = next(b[0] for b in BANDS if b[1] <= h < b[2])
        bands[band][1] += 1
        bands[band][0] += int(mask[y1:y2, x1:x2].mean() >= COVERED)
    return bands


def measure(guard: Guard, path: Path, mode: str, style: str, scratch: Path, truth: list | None) -> dict:
    out = scratch / "out"
    shutil.rmtree(out, ignore_errors=True)
    start = time.perf_counter()
    summary = export_photos(guard, [path], out, hide=mode, style=style)
    seconds = time.perf_counter() - start
    photo = summary.photos[0]
    regions = [h.region for h in photo.hidden]

    def inside(box) -> bool:
        cx, cy = box.x + box.width / 2, box.y + box.height / 2
        return any(r.x <= cx <= r.x2 and r.y <= cy <= r.y2 for r in regions)

    refound = [f for f in photo.recheck_faces if inside(f.box)]
    row = {
        "status": photo.status.value,
        "message": photo.message,
        "attempts": photo.attempts,
        "faces": len(photo.faces),
        "hidden": len(photo.hidden),
        "hidden_on_recheck": sum(1 for h in photo.hidden if h.on_recheck),
        "refound_in_paint": len(refound),
        "refound_identifiable_minor_in_paint": sum(
            1 for f in refound
            if f.identifiability.identifiable and f.category in (FaceCategory.POSSIBLE_MINOR, FaceCategory.UNCERTAIN)
        ),
        "verdict": photo.verdict.value if photo.verdict else None,
        "verdict_after": photo.verdict_after.value if photo.verdict_after else None,
        "seconds": round(seconds, 3),
    }
    if truth is not None and photo.status.value in ("exported", "refused"):
        row["truth_covered"] = coverage(path, regions, truth)
    shutil.rmtree(out, ignore_errors=True)
    return row


def summarise(rows: list[dict]) -> dict:
    checked = [r for r in rows if r["status"] in ("exported", "refused")]
    with_hidden = [r for r in checked if r["hidden"] > 0]
    first = [r for r in with_hidden if r["status"] == "exported" and r["attempts"] == 1]
    passed = [r for r in with_hidden if r["status"] == "exported"]
    hidden = sum(r["hidden"] for r in with_hidden)
    bands = {b[0]: [0, 0] for b in BANDS}
    for r in rows:
        for band, (hit, total) in r.get("truth_covered", {}).items():
            bands[band][0] += hit
            bands[band][1] += total
    labelled = sum(t for _, t in bands.values())
    return {
        "annotated_faces_covered": {k: {"covered": h, "faces": t, "rate": round(h / t, 4) if t else None} for k, (h, t) in bands.items()},
        "annotated_faces_covered_rate": round(sum(h for h, _ in bands.values()) / labelled, 4) if labelled else None,
        "photos": len(rows),
        "errors": sum(1 for r in rows if r["status"] == "error"),
        "photos_with_hidden_faces": len(with_hidden),
        "faces_hidden": hidden,
        "recheck_pass_first_attempt": len(first),
        "recheck_pass": len(passed),
        "refused": len(with_hidden) - len(passed),
        "recheck_pass_rate": round(len(passed) / len(with_hidden), 4) if with_hidden else None,
        "recheck_first_attempt_rate": round(len(first) / len(with_hidden), 4) if with_hidden else None,
        "faces_refound_in_paint": sum(r["refound_in_paint"] for r in with_hidden),
        "faces_refound_in_paint_rate": round(sum(r["refound_in_paint"] for r in with_hidden) / hidden, 4) if hidden else None,
        "faces_hidden_on_recheck": sum(r["hidden_on_recheck"] for r in with_hidden),
        "photos_without_hidden_faces_exported": sum(1 for r in checked if r["hidden"] == 0 and r["status"] == "exported"),
        "photos_without_hidden_faces_refused": sum(1 for r in checked if r["hidden"] == 0 and r["status"] == "refused"),
        "median_seconds_per_photo": sorted(r["seconds"] for r in rows)[len(rows) // 2] if rows else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--limit", type=int, default=200, help="photos per detection set (even spread; 0 = all)")
    parser.add_argument("--modes", default="minors,all-faces")
    parser.add_argument("--style", default="mosaic")
    args = parser.parse_args()
    require_shared()
    guard = Guard()
    version = f"{_code_version()}-{guard.policy.version}"
    CACHE.mkdir(parents=True, exist_ok=True)
    cache_file = CACHE / f"recheck-{version}-{args.style}.jsonl"
    cache: dict[str, dict] = {}
    if cache_file.exists():
        for line in cache_file.read_text(encoding="utf-8").splitlines():
            item = json.loads(line)
            cache[item["key"]] = item["row"]
    sets, truth = datasets(args.limit or None)
    modes = [HideMode(m).value for m in args.modes.split(",")]
    results: dict = {}
    table = []
    with tempfile.TemporaryDirectory(dir=CACHE) as scratch, cache_file.open("a", encoding="utf-8") as log:
        for mode in modes:
            results[mode] = {}
            for name, paths in sets.items():
                rows = []
                for i, path in enumerate(paths):
                    key = f"{mode}|{name}|{path.name}"
                    if key not in cache:
                        cache[key] = measure(guard, path, mode, args.style, Path(scratch), truth.get(path))
                        log.write(json.dumps({"key": key, "row": cache[key]}) + "\n")
                        log.flush()
                    rows.append(cache[key])
                    if (i + 1) % 50 == 0:
                        print(f"{mode} {name}: {i + 1}/{len(paths)}", flush=True)
                summary = summarise(rows)
                summary["refused_examples"] = [
                    {"photo": p.name, "message": r["message"]} for p, r in zip(paths, rows) if r["status"] == "refused"
                ][:10]
                results[mode][name] = summary
                table.append([mode, name, summary["photos"], summary["photos_with_hidden_faces"], summary["faces_hidden"],
                              summary["recheck_first_attempt_rate"], summary["recheck_pass_rate"], summary["refused"],
                              summary["faces_refound_in_paint"], summary["annotated_faces_covered_rate"]])
    print_table(["hide", "set", "photos", "with hidden", "faces hidden", "pass 1st", "pass", "refused", "refound in paint",
                 "labelled covered"], table)
    payload = {
        "benchmark": "export_recheck",
        "what": "share of exported photos with hidden faces whose copy passes the re-check (same Guard on the written file)",
        "style": args.style,
        "max_attempts": MAX_ATTEMPTS,
        "head_region": {"width_factor": HEAD_WIDTH_FACTOR, "above": HEAD_ABOVE, "below": HEAD_BELOW},
        "mosaic_blocks_per_head": MOSAIC_BLOCKS,
        "limit_per_detection_set": args.limit or None,
        "model_pack": guard.pack_label,
        "policy_version": guard.policy.version,
        "code_version": version,
        "results": results,
    }
    path = write_json("export_recheck.json", payload)
    print(f"written {path}")


if __name__ == "__main__":
    main()
