"""Faces far from the detectors' own scale in large photos: a crowd of small faces, one face filling the frame.

    python -m benchmarks.detection_scale [--configs old,1280,1600,2048] [--limit N]

Every labelled photo here is small (face_mask_kaggle: <= 573 px, fgnet_dev:
<= 511 px), so benchmarks/detection.py never sees what the detector's working
size does to a 10-megapixel event photo. This builds such photos.

**Crowds**: 4 x 4 face_mask_kaggle
photos, each fitted into a 512 x 384 cell of one 2048 x 1536 canvas (the
publication size, so faces keep about their labelled size), and runs the
default pack at the policy's threshold in each configuration. Recall is by
face height on the canvas; faces under the policy's smallest identifiable size
(20 px) are reported but are not what the working size is for.

**Close-ups**: every 4th fgnet_dev face (``--close-up-every``) cropped with a margin of 10%, 25% and 50%
of its size around its landmark box and enlarged to 1600 px on the long side,
as a tightly framed portrait from a phone. Found: a box with IoU >= 0.3 (as in
benchmarks/detection.py); whole: a box with IoU >= 0.5, no other box.

Configurations: a number is the full pass's long side with the coarse pass
(FusedDetector); ``old`` is the former default's passes, 1280 px without it (parts of faces are dropped in every configuration);
``2048-whole`` runs RetinaFace's full-size pass over the whole photo instead of only around CenterFace's faces (pack default-3).
"""

from __future__ import annotations

import argparse
import time

import cv2
import numpy as np

from benchmarks.common import print_table, require_shared, write_json
from benchmarks.detection import dataset_root, ground_truth, match, tally
from minorguard.photos.decode import load_photo
from minorguard.types import Box

GRID = (4, 4)  # columns, rows
CELL = (512, 384)  # width, height: a 2048 x 1536 canvas
BANDS = [("<20", 0, 20), ("20-31", 20, 32), ("32-63", 32, 64), (">=64", 64, 10**9)]


def mosaics(limit: int | None) -> list[tuple[np.ndarray, list[Box]]]:
    """Canvases of GRID photos each, with their labelled boxes in canvas pixels."""
    root = dataset_root("face_mask_kaggle")
    items = sorted(ground_truth("face_mask_kaggle").items())
    per = GRID[0] * GRID[1]
    out = []
    for start in range(0, len(items) - per + 1, per):
        canvas = np.full((CELL[1] * GRID[1], CELL[0] * GRID[0], 3), 127, np.uint8)
        truth: list[Box] = []
        for k, (name, boxes) in enumerate(items[start : start + per]):
            pixels = load_photo(root / name).pixels
            h, w = pixels.shape[:2]
            scale = min(CELL[0] / w, CELL[1] / h)
            size = (max(1, round(w * scale)), max(1, round(h * scale)))
            cell = cv2.resize(pixels, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
            x0 = (k % GRID[0]) * CELL[0] + (CELL[0] - size[0]) // 2
            y0 = (k // GRID[0]) * CELL[1] + (CELL[1] - size[1]) // 2
            canvas[y0 : y0 + size[1], x0 : x0 + size[0]] = cell
            truth += [Box(x0 + x * scale, y0 + y * scale, bw * scale, bh * scale) for x, y, bw, bh in boxes]
        out.append((canvas, truth))
        if limit and len(out) >= limit:
            break
    return out


def evaluate(detector, canvases: list[tuple[np.ndarray, list[Box]]]) -> dict:
    hits_by = {b[0]: [0, 0] for b in BANDS}
    detections = unmatched = 0
    seconds = 0.0
    for canvas, truth in canvases:
        t0 = time.perf_counter()
        faces = detector.detect(canvas)
        seconds += time.perf_counter() - t0
        hits, missed = match(truth, [f.box for f in faces])
        tally(hits_by, truth, hits, BANDS)
        detections += len(faces)
        unmatched += len(missed)
    return {
        "recall_by_height": {b: (h / n if n else None) for b, (h, n) in hits_by.items()},
        "counts_by_height": {b: n for b, (_, n) in hits_by.items()},
        "precision": (detections - unmatched) / detections if detections else 1.0,
        "detections": detections,
        "seconds_per_canvas": seconds / max(1, len(canvases)),
    }


MARGINS = (0.1, 0.25, 0.5)
CLOSE_UP_SIDE = 1600


def close_ups(limit: int | None, every: int) -> list[tuple[float, np.ndarray, Box]]:
    root = dataset_root("fgnet_dev")
    items = sorted(ground_truth("fgnet_dev").items())[::every][: (limit * 10 if limit else None)]
    out = []
    for name, boxes in items:
        pixels = load_photo(root / name).pixels
        x, y, w, h = boxes[0]
        for margin in MARGINS:
            x0, y0 = int(max(0, x - margin * w)), int(max(0, y - margin * h))
            x1 = int(min(pixels.shape[1], x + w * (1 + margin)))
            y1 = int(min(pixels.shape[0], y + h * (1 + margin)))
            crop = pixels[y0:y1, x0:x1]
            scale = CLOSE_UP_SIDE / max(crop.shape[:2])
            enlarged = cv2.resize(crop, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)
            out.append((margin, enlarged, Box((x - x0) * scale, (y - y0) * scale, w * scale, h * scale)))
    return out


def evaluate_close_ups(detector, items: list[tuple[float, np.ndarray, Box]]) -> dict:
    found = {m: 0 for m in MARGINS}
    whole = {m: 0 for m in MARGINS}
    total = {m: 0 for m in MARGINS}
    for margin, pixels, truth in items:
        faces = detector.detect(pixels)
        total[margin] += 1
        found[margin] += any(f.box.iou(truth) >= 0.3 for f in faces)
        whole[margin] += len(faces) == 1 and faces[0].box.iou(truth) >= 0.5
    return {
        "faces_per_margin": total[MARGINS[0]],
        "found": {str(m): found[m] / max(1, total[m]) for m in MARGINS},
        "whole": {str(m): whole[m] / max(1, total[m]) for m in MARGINS},
    }


def build(config: str, threshold: float):
    from minorguard.models import build_detector

    if config == "old":
        return build_detector("pack", score_threshold=threshold, long_side=1280, coarse_long_side=10**6)
    if config.endswith("-whole"):  # RetinaFace's full-size pass over the whole photo, not only around CenterFace's faces
        return build_detector("pack", score_threshold=threshold, long_side=int(config[: -len("-whole")]), retinaface_on_crops=False)
    return build_detector("pack", score_threshold=threshold, long_side=int(config))


def main() -> None:
    require_shared()
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--configs", default="old,1280,1600,2048-whole,2048")
    parser.add_argument("--limit", type=int, help="at most this many canvases (and 10x as many close-ups)")
    parser.add_argument("--close-up-every", type=int, default=4, help="every Nth fgnet_dev face (3 close-ups each)")
    args = parser.parse_args()
    from minorguard.rules.policy import load_policy

    policy = load_policy()
    canvases = mosaics(args.limit)
    portraits = close_ups(args.limit, args.close_up_every)
    results = []
    for config in args.configs.split(","):
        detector = build(config, policy.detector_threshold)
        results.append({"config": config, "crowds": evaluate(detector, canvases), "close_ups": evaluate_close_ups(detector, portraits)})
    print(f"crowds: {len(canvases)} canvases of {GRID[0]}x{GRID[1]} face_mask_kaggle photos, {GRID[0] * CELL[0]}x{GRID[1] * CELL[1]} px")
    print_table(
        ["config", *[b for b, _, _ in BANDS], "precision", "s/canvas"],
        [
            [r["config"], *[f"{r['crowds']['recall_by_height'][b]:.3f}" for b, _, _ in BANDS], f"{r['crowds']['precision']:.3f}", f"{r['crowds']['seconds_per_canvas']:.3f}"]
            for r in results
        ],
    )
    print(f"close-ups: {len(portraits) // len(MARGINS)} fgnet_dev faces at {CLOSE_UP_SIDE} px, found / whole by margin")
    print_table(
        ["config", *[f"margin {m}" for m in MARGINS]],
        [[r["config"], *[f"{r['close_ups']['found'][str(m)]:.3f} / {r['close_ups']['whole'][str(m)]:.3f}" for m in MARGINS]] for r in results],
    )
    out = write_json(
        "detection_scale.json",
        {
            "crowds": {"canvases": len(canvases), "grid": GRID, "cell": CELL},
            "close_ups": {"faces": len(portraits) // len(MARGINS), "margins": MARGINS, "long_side": CLOSE_UP_SIDE},
            "threshold": policy.detector_threshold,
            "results": results,
        },
    )
    print(f"written {out}")


if __name__ == "__main__":
    main()
