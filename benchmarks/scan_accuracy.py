"""Age error and minor recall of the real Guard on ../shared/eval/age, by age band.

    python -m benchmarks.scan_accuracy [--limit N] [--policy FILE] [--datasets utkface,all_age_faces,fgnet_dev]

Every photo goes through ``Guard.check`` at the given policy (default: the
shipped one). The labelled face is the detected face that contains the centre
of the labelled face box (UTKFace chips: the image centre), the nearest one if
several do; no such face is a detection miss, and a miss counts against minor
recall. UTKFace chips are tight 200x200 crops, so each is padded by half its
size (border replicate) first, as ../shared/README.md describes.

Figures per band: MAE of the expected age (detected, identifiable faces),
*flagged* = the face ends as possible minor or uncertain (BLOCK or REVIEW: a
person must act), and *possible minor* alone. Minor recall is the flagged share
of all labelled under-18 faces; the adult flag rate is the flagged share of
18-24 and of 25+ faces.

The models' raw outputs (detections, age distributions, embeddings) are cached
per image under /work/cache/scan_accuracy/ (outside the repo: they derive from
licensed photos), keyed by the detector settings, so a rerun at another minor
policy replays the models and runs only the real decision code.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import os
import pickle
import random
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from benchmarks.common import EVAL, print_table, require_shared, write_json
from minorguard.models.pack import ModelPack, load_pack
from minorguard.pipeline import Guard
from minorguard.rules.policy import Policy, load_policy
from minorguard.types import Box, DetectedFace, FaceAction, FaceCategory

CACHE = Path(os.environ.get("MINORGUARD_CACHE", "/work/cache")) / "scan_accuracy"
BANDS = [("0-12", 0, 13), ("13-17", 13, 18), ("18-24", 18, 25), ("25+", 25, 1000)]
DATASETS = ("utkface", "all_age_faces", "fgnet_dev")


def band_of(age: float) -> str:
    return next(name for name, lo, hi in BANDS if lo <= age < hi)


# -- labelled data ---------------------------------------------------------
def load_labels(dataset: str) -> list[dict[str, Any]]:
    root = EVAL / "age" / dataset
    with open(root / "labels.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    out = []
    for row in rows:
        box = None
        for prefix in ("kp_box_", "lm_box_"):
            if row.get(f"{prefix}x"):
                box = tuple(float(row[f"{prefix}{k}"]) for k in "xywh")
        out.append({"path": row["path"], "age": float(row["age"]), "box": box})
    return out


def pick(rows: list[dict[str, Any]], limit: int | None) -> list[dict[str, Any]]:
    """The first ``limit`` rows of each band, in a fixed shuffled order (a stable subset)."""
    if not limit:
        return rows
    order = rows[:]
    random.Random(0).shuffle(order)
    taken: dict[str, int] = {}
    out = []
    for row in order:
        band = band_of(row["age"])
        if taken.get(band, 0) < limit:
            taken[band] = taken.get(band, 0) + 1
            out.append(row)
    return out


def padded_chip(path: Path) -> np.ndarray:
    """A UTKFace chip padded by half its size on each side (border replicate)."""
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if bgr is None:
        raise OSError(f"cannot read {path}")
    h, w = bgr.shape[:2]
    bgr = cv2.copyMakeBorder(bgr, h // 2, h // 2, w // 2, w // 2, cv2.BORDER_REPLICATE)
    return np.ascontiguousarray(bgr[..., ::-1])


# -- a memo layer over the real models ---------------------------------------
def _face_key(face: DetectedFace) -> tuple:
    b = face.box
    return (round(b.x, 2), round(b.y, 2), round(b.width, 2), round(b.height, 2))


class ModelMemo:
    """Caches what the models return for each photo; the Guard around it is the real one."""

    def __init__(self, pack: ModelPack, path: Path) -> None:
        self.pack = pack
        self.path = path
        self.store: dict[str, dict[str, Any]] = {}
        if path.is_file():
            with open(path, "rb") as handle:
                self.store = pickle.load(handle)
        self.current = ""
        self.misses = 0

    def entry(self) -> dict[str, Any]:
        return self.store.setdefault(self.current, {"probs": {}, "emb": {}})

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        with open(tmp, "wb") as handle:
            pickle.dump(self.store, handle)
        tmp.replace(self.path)


class MemoDetector:
    def __init__(self, memo: ModelMemo) -> None:
        self.memo = memo
        self.name = memo.pack.detector.name

    def files(self):
        return self.memo.pack.detector.files()

    def detect(self, rgb: np.ndarray) -> list[DetectedFace]:
        entry = self.memo.entry()
        if "faces" not in entry:
            self.memo.misses += 1
            entry["faces"] = list(self.memo.pack.detector.detect(rgb))
        return list(entry["faces"])


class _MemoPerFace:
    """Per-face outputs of one model, looked up by box; only unseen faces reach the model."""

    slot = ""

    def __init__(self, memo: ModelMemo, model: Any, width: int) -> None:
        self.memo = memo
        self.model = model
        self.name = model.name
        self.width = width

    def files(self):
        return self.model.files()

    def _compute(self, rgb: np.ndarray, faces: Sequence[DetectedFace]) -> np.ndarray:
        raise NotImplementedError

    def _lookup(self, rgb: np.ndarray, faces: Sequence[DetectedFace]) -> np.ndarray:
        cached = self.memo.entry()[self.slot]
        missing = [f for f in faces if _face_key(f) not in cached]
        if missing:
            self.memo.misses += 1
            for face, row in zip(missing, self._compute(rgb, missing)):
                cached[_face_key(face)] = row
        return np.stack([cached[_face_key(f)] for f in faces]) if faces else np.zeros((0, self.width), np.float32)


class MemoAgeModel(_MemoPerFace):
    """The pack's age model behind the memo: each network's readings per face (``read``), which the fused
    estimator needs for P(under 18), or the distributions of a model that has no readings."""

    slot = "probs"

    def __init__(self, memo: ModelMemo) -> None:
        super().__init__(memo, memo.pack.age_model, len(memo.pack.age_model.ages))
        self.ages = memo.pack.age_model.ages
        self.variants = getattr(self.model, "variants", None)  # the Guard checks them against the estimator's
        if hasattr(self.model, "read"):
            self.read = self._read

    def _compute(self, rgb, faces):
        return self.model.age_distributions(rgb, faces)

    def _read(self, rgb: np.ndarray, faces: Sequence[DetectedFace]) -> list:
        cached = self.memo.entry().setdefault("readings", {})
        missing = [f for f in faces if _face_key(f) not in cached]
        if missing:
            self.memo.misses += 1
            for face, reading in zip(missing, self.model.read(rgb, missing)):
                cached[_face_key(face)] = reading
        return [cached[_face_key(f)] for f in faces]

    def distributions_of(self, readings: Sequence) -> np.ndarray:
        return self.model.distributions_of(readings)

    def age_distributions(self, rgb: np.ndarray, faces: Sequence[DetectedFace]) -> np.ndarray:
        if hasattr(self.model, "read"):
            return self.distributions_of(self._read(rgb, faces)).astype(np.float32)
        return self._lookup(rgb, faces)


class MemoEmbedder(_MemoPerFace):
    slot = "emb"

    def __init__(self, memo: ModelMemo) -> None:
        super().__init__(memo, memo.pack.embedder, memo.pack.embedder.dimension)
        self.dimension = self.width

    def _compute(self, rgb, faces):
        return self.model.embed(rgb, faces)

    def embed(self, rgb: np.ndarray, faces: Sequence[DetectedFace]) -> np.ndarray:
        return self._lookup(rgb, faces)


def cache_key(policy: Policy, pack: ModelPack) -> str:
    """What the cached model outputs depend on: detector settings, models, load size."""
    detector = pack.detector
    settings = detector.settings() if hasattr(detector, "settings") else {"name": detector.name}
    age_model = [pack.age_model.name, list(getattr(pack.age_model, "variants", ()))]  # mirror-averaged or not
    text = json.dumps([settings, age_model, policy.detector_threshold, policy.publish_long_side], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:10]


# -- evaluation ----------------------------------------------------------------
def labelled_face(result, row: dict[str, Any], image_size: tuple[int, int]):
    """The decision for the labelled face, or None when the detector missed it."""
    if row["box"] is not None:
        x, y, w, h = row["box"]
        cx, cy = x + w / 2, y + h / 2
    else:
        cx, cy = image_size[0] / 2, image_size[1] / 2
    best, best_d = None, float("inf")
    for face in result.faces:
        b: Box = face.box
        if not (b.x <= cx <= b.x2 and b.y <= cy <= b.y2):
            continue
        d = (b.x + b.width / 2 - cx) ** 2 + (b.y + b.height / 2 - cy) ** 2
        if d < best_d:
            best, best_d = face, d
    return best


def run_dataset(dataset: str, policy: Policy, real_pack: ModelPack, limit: int | None) -> dict[str, Any]:
    memo = ModelMemo(real_pack, CACHE / f"{dataset}__{cache_key(policy, real_pack)}.pkl")
    pack = ModelPack(
        name=real_pack.name,
        detector=MemoDetector(memo),
        age_model=MemoAgeModel(memo),
        _embedder_factory=lambda: MemoEmbedder(memo),
    )
    guard = Guard(policy=policy, pack=pack)
    root = EVAL / "age" / dataset
    rows = pick(load_labels(dataset), limit)
    per_band: dict[str, dict[str, Any]] = {
        name: {"faces": 0, "detected": 0, "identifiable": 0, "abs_err": [], "flagged": 0, "possible_minor": 0, "errors": 0}
        for name, _, _ in BANDS
    }
    start = time.perf_counter()
    for n, row in enumerate(rows, 1):
        memo.current = row["path"]
        path = root / row["path"]
        if dataset == "utkface":
            pixels = padded_chip(path)
            result = guard.check(pixels, label=row["path"])
            size = (pixels.shape[1], pixels.shape[0])
        else:
            result = guard.check(path)
            size = (result.width or 0, result.height or 0)
        stats = per_band[band_of(row["age"])]
        stats["faces"] += 1
        if result.error:
            stats["errors"] += 1
            continue
        face = labelled_face(result, row, size)
        if face is None:
            continue
        stats["detected"] += 1
        if face.category is not FaceCategory.NOT_IDENTIFIABLE:
            stats["identifiable"] += 1
        if face.age is not None:
            stats["abs_err"].append(abs(face.age.expected - row["age"]))
        if face.action is not FaceAction.ALLOW and face.category is not FaceCategory.NOT_IDENTIFIABLE:
            stats["flagged"] += 1
        if face.category is FaceCategory.POSSIBLE_MINOR:
            stats["possible_minor"] += 1
        if memo.misses and n % 200 == 0:
            memo.save()
            print(f"  {dataset}: {n}/{len(rows)} ({time.perf_counter() - start:.0f} s)", flush=True)
    if memo.misses:
        memo.save()
    bands = {}
    for name, s in per_band.items():
        n = s["faces"]
        errs = s.pop("abs_err")
        bands[name] = {
            **s,
            "detection_rate": s["detected"] / n if n else None,
            "mae": float(np.mean(errs)) if errs else None,
            "flag_rate": s["flagged"] / n if n else None,
            "possible_minor_rate": s["possible_minor"] / n if n else None,
        }
    minors = [bands[b] for b in ("0-12", "13-17")]
    n_minor = sum(b["faces"] for b in minors)
    return {
        "dataset": dataset,
        "images": len(rows),
        "bands": bands,
        "minor_recall": sum(b["flagged"] for b in minors) / n_minor if n_minor else None,
        "minor_recall_possible_minor_only": sum(b["possible_minor"] for b in minors) / n_minor if n_minor else None,
        "adult_flag_rate_18_24": bands["18-24"]["flag_rate"],
        "adult_flag_rate_25_plus": bands["25+"]["flag_rate"],
        "seconds": time.perf_counter() - start,
        "model_calls": memo.misses,
    }


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


def main() -> None:
    require_shared()
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--limit", type=int, help="photos per age band and dataset (quick runs)")
    parser.add_argument("--policy", help="policy TOML overlaid on the default")
    parser.add_argument("--datasets", default=",".join(DATASETS))
    parser.add_argument("--out", default="scan_accuracy.json")
    args = parser.parse_args()
    policy = load_policy(args.policy)
    real_pack = load_pack(None, policy.detector_threshold)
    results = [run_dataset(d, policy, real_pack, args.limit) for d in args.datasets.split(",")]
    guard_label = Guard(policy=policy, pack=real_pack).pack_label
    rows = []
    for r in results:
        for name, _, _ in BANDS:
            b = r["bands"][name]
            rows.append([r["dataset"], name, b["faces"], _pct(b["detection_rate"]), "-" if b["mae"] is None else f"{b['mae']:.1f}", _pct(b["flag_rate"]), _pct(b["possible_minor_rate"])])
    print_table(["dataset", "band", "faces", "detected", "MAE (y)", "flagged", "possible minor"], rows)
    print()
    print_table(
        ["dataset", "minor recall", "18-24 flagged", "25+ flagged"],
        [[r["dataset"], _pct(r["minor_recall"]), _pct(r["adult_flag_rate_18_24"]), _pct(r["adult_flag_rate_25_plus"])] for r in results],
    )
    out = write_json(
        args.out,
        {
            "policy_version": policy.version,
            "policy": policy.to_dict(),
            "model_pack": guard_label,
            "limit_per_band": args.limit,
            "results": results,
        },
    )
    print(f"written {out}")


if __name__ == "__main__":
    main()
