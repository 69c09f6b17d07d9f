"""Detection recall by face height and precision on ../shared/eval/detect and fgnet_dev.

    python -m benchmarks.detection [--detector pack|retinaface|centerface[:key=value,...]] [--limit N]

``pack`` is the default pack's detector at the default policy's threshold.
Photos load as Guard loads them (publication-size decode). A ground-truth face
counts as found when a detection overlaps it with IoU >= 0.3 (the annotation
styles of the sets differ from the detectors' boxes). fgnet_dev's boxes come
from 68 landmarks, one labelled face per photo (other people in a photo are
unlabelled, so its precision is a lower bound).
"""

from __future__ import annotations

import argparse
import csv
import json
import time
from pathlib import Path

from benchmarks.common import EVAL, print_table, require_shared, write_json
from minorguard.photos.decode import load_photo
from minorguard.types import Box

BANDS = [("<16", 0, 16), ("16-31", 16, 32), ("32-63", 32, 64), (">=64", 64, 10**9)]
IOU = 0.3


def match(truth: list[Box], found: list[Box]) -> tuple[list[bool], list[Box]]:
    """Greedy one-to-one matching; returns per-truth hit flags and the unmatched detections."""
    used: set[int] = set()
    hits = []
    for t in truth:
        best, best_iou = -1, IOU
        for j, f in enumerate(found):
            if j in used:
                continue
            iou = t.iou(f)
            if iou >= best_iou:
                best, best_iou = j, iou
        hits.append(best >= 0)
        if best >= 0:
            used.add(best)
    return hits, [f for j, f in enumerate(found) if j not in used]


def band_of(height: float, bands: list[tuple[str, int, int]] = BANDS) -> str:
    return next(b for b, lo, hi in bands if lo <= height < hi)


def tally(band_hits: dict[str, list[int]], truth: list[Box], hits: list[bool], bands: list[tuple[str, int, int]] = BANDS) -> None:
    """Add found / labelled counts per height band."""
    for t, hit in zip(truth, hits):
        band_hits[band_of(t.height, bands)][0] += hit
        band_hits[band_of(t.height, bands)][1] += 1


def dataset_root(dataset: str) -> Path:
    return EVAL / ("age" if dataset == "fgnet_dev" else "detect") / dataset


def ground_truth(dataset: str) -> dict[str, list[list[float]]]:
    """{relative path: [[x, y, w, h], ...]} for a detection set or fgnet_dev (landmark boxes)."""
    root = dataset_root(dataset)
    if dataset == "fgnet_dev":
        with open(root / "labels.csv", newline="") as handle:
            return {row["path"]: [[float(row[f"lm_box_{k}"]) for k in "xywh"]] for row in csv.DictReader(handle)}
    return json.loads((root / "annotations.json").read_text())


def evaluate(detector, dataset: str, limit: int | None = None, long_side: int | None = None) -> dict:
    root = dataset_root(dataset)
    items = sorted(ground_truth(dataset).items())[:limit]
    band_hits = {b[0]: [0, 0] for b in BANDS}
    unmatched_by_height = {b[0]: 0 for b in BANDS}
    false_pos = 0
    detections = 0
    seconds = 0.0
    for name, boxes in items:
        photo = load_photo(root / name, target_long_side=long_side)
        t0 = time.perf_counter()
        faces = detector.detect(photo.pixels)
        seconds += time.perf_counter() - t0
        found = [f.box.scaled(1 / photo.scale) for f in faces]
        truth = [Box(*b) for b in boxes]
        hits, unmatched = match(truth, found)
        for f in unmatched:
            unmatched_by_height[band_of(f.height)] += 1
        detections += len(found)
        tally(band_hits, truth, hits)
        # Unmatched detections often sit on unannotated faces in crowds; they
        # still count against precision here (see benchmarks/README.md).
        false_pos += len(unmatched)
    recall = {b: (h / n if n else None) for b, (h, n) in band_hits.items()}
    precision = (detections - false_pos) / detections if detections else 1.0
    return {
        "dataset": dataset,
        "images": len(items),
        "faces": sum(n for _, n in band_hits.values()),
        "recall_by_height": recall,
        "counts_by_height": {b: n for b, (_, n) in band_hits.items()},
        "precision": precision,
        "unmatched_by_height": unmatched_by_height,
        "detections": detections,
        "seconds_per_image": seconds / max(1, len(items)),
    }


def main() -> None:
    require_shared()
    parser = argparse.ArgumentParser()
    parser.add_argument("--detector", default="pack")
    parser.add_argument("--limit", type=int)
    parser.add_argument("--datasets", default="face_mask_kaggle,dlib_faces,fgnet_dev")
    args = parser.parse_args()
    from minorguard.models import build_detector
    from minorguard.rules.policy import load_policy

    policy = load_policy()
    overrides = {"score_threshold": policy.detector_threshold} if args.detector == "pack" else {}
    detector = build_detector(args.detector, **overrides)
    results = [evaluate(detector, d, args.limit, policy.publish_long_side) for d in args.datasets.split(",")]
    rows = []
    for r in results:
        rec = r["recall_by_height"]
        rows.append([r["dataset"], r["faces"], *[f"{rec[b]:.3f}" if rec[b] is not None else "-" for b, _, _ in BANDS], f"{r['precision']:.3f}", f"{r['seconds_per_image']:.3f}"])
    print_table(["dataset", "faces", *[b for b, _, _ in BANDS], "precision", "s/img"], rows)
    settings = detector.settings() if hasattr(detector, "settings") else {"name": detector.name}
    tag = args.detector.replace(":", "_").replace(",", "_").replace("=", "")
    out = write_json(f"detection_{tag}.json", {"detector": detector.name, "settings": settings, "results": results})
    print(f"written {out}")


if __name__ == "__main__":
    main()
