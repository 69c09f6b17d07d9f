"""Detection recall by face height and precision on ../shared/eval/detect.

    python -m benchmarks.detection [--detector fused|retinaface|centerface] [--limit N]

A ground-truth face counts as found when a detection overlaps it with IoU >= 0.3
(the annotation styles of the sets differ from the detectors' boxes).
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from benchmarks.common import EVAL, print_table, require_shared, write_json
from minorguard.photo import load_photo
from minorguard.types import Box

BANDS = [("<16", 0, 16), ("16-31", 16, 32), ("32-63", 32, 64), (">=64", 64, 10**9)]
IOU = 0.3


def match(truth: list[Box], found: list[Box]) -> tuple[list[bool], int]:
    """Greedy one-to-one matching; returns per-truth hit flags and unmatched detections."""
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
    return hits, len(found) - len(used)


def evaluate(detector, dataset: str, limit: int | None = None) -> dict:
    root = EVAL / "detect" / dataset
    annotations = json.loads((root / "annotations.json").read_text())
    items = sorted(annotations.items())[:limit]
    band_hits = {b[0]: [0, 0] for b in BANDS}
    false_pos = true_pos_ignored = 0
    detections = 0
    seconds = 0.0
    for name, boxes in items:
        photo = load_photo(root / name)
        t0 = time.perf_counter()
        faces = detector.detect(photo.pixels)
        seconds += time.perf_counter() - t0
        found = [f.box.scaled(1 / photo.scale) for f in faces]
        truth = [Box(*b) for b in boxes]
        hits, unmatched = match(truth, found)
        detections += len(found)
        for t, hit in zip(truth, hits):
            for band, lo, hi in BANDS:
                if lo <= t.height < hi:
                    band_hits[band][0] += hit
                    band_hits[band][1] += 1
        # An unmatched detection smaller than 10 px often sits on an unannotated
        # face in a crowd; it still counts against precision here.
        false_pos += unmatched
    recall = {b: (h / n if n else None) for b, (h, n) in band_hits.items()}
    precision = (detections - false_pos) / detections if detections else 1.0
    return {
        "dataset": dataset,
        "images": len(items),
        "faces": sum(n for _, n in band_hits.values()),
        "recall_by_height": recall,
        "counts_by_height": {b: n for b, (_, n) in band_hits.items()},
        "precision": precision,
        "detections": detections,
        "seconds_per_image": seconds / max(1, len(items)),
    }


def main() -> None:
    require_shared()
    parser = argparse.ArgumentParser()
    parser.add_argument("--detector", default="pack")
    parser.add_argument("--limit", type=int)
    parser.add_argument("--datasets", default="face_mask_kaggle,dlib_faces")
    args = parser.parse_args()
    from minorguard.models import build_detector

    detector = build_detector(args.detector)
    results = [evaluate(detector, d, args.limit) for d in args.datasets.split(",")]
    rows = []
    for r in results:
        rec = r["recall_by_height"]
        rows.append([r["dataset"], r["faces"], *[f"{rec[b]:.3f}" if rec[b] is not None else "-" for b, _, _ in BANDS], f"{r['precision']:.3f}", f"{r['seconds_per_image']:.3f}"])
    print_table(["dataset", "faces", *[b for b, _, _ in BANDS], "precision", "s/img"], rows)
    out = write_json(f"detection_{args.detector}.json", {"detector": detector.name, "results": results})
    print(f"written {out}")


if __name__ == "__main__":
    main()
