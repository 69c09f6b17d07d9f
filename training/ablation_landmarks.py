"""Ablation: does 68-point landmark geometry add to the age-distribution features?

Children's faces have other proportions (larger eyes, shorter lower face), so dlib's
68-point shape predictor (``face-recognition-models``, CC0) on the detected box
might tell a toddler the age model calls old from an adult. Landmarks are
normalised to the eye line (centre between the eyes, inter-ocular distance 1);
the experiment appends either 11 ratios or all 136 coordinates to the
estimator's features and reruns the leave-one-dataset-out validation.

    python -m training.ablation_landmarks [--extract]

Needs the feature caches of ``training.extract_features`` (the detected boxes);
``--extract`` writes ``minor_lm68_<dataset>.npz`` beside them (~30 s for all three
sets). Measured 2026-11-27: worse on every held-out set (MODEL_CARD.md).
"""

from __future__ import annotations

import numpy as np

from training.ablation import data_after_extract, photo_at_box, report
from training.extract_features import CACHE, DATASETS, cache_path, read_labels
from training.train_minor import Config, cross_dataset


def _lm_path(dataset: str):
    return CACHE / f"minor_lm68_{dataset}.npz"


def eye_frame(points: np.ndarray) -> np.ndarray:
    """68 x 2 points moved to the centre between the eyes, eye line level, inter-ocular distance 1."""
    left, right = points[36:42].mean(axis=0), points[42:48].mean(axis=0)
    dx, dy = right - left
    angle = -np.arctan2(dy, dx)
    rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    return ((points - (left + right) / 2) @ rotation.T) / max(np.hypot(dx, dy), 1e-9)


def extract(dataset: str) -> None:
    import importlib.util
    from pathlib import Path

    import dlib

    from minorguard.rules.policy import load_policy

    policy = load_policy(None)
    models = Path(importlib.util.find_spec("face_recognition_models").origin).parent / "models"
    predictor = dlib.shape_predictor(str(models / "shape_predictor_68_face_landmarks.dat"))
    rows, cached = read_labels(dataset), np.load(cache_path(dataset))
    landmarks = np.full((len(rows), 68, 2), np.nan, np.float32)
    for i, row in enumerate(rows):
        if not cached["detected"][i]:
            continue
        rgb, (x, y, w, h) = photo_at_box(dataset, row, cached["box"][i], policy)
        shape = predictor(rgb, dlib.rectangle(int(x), int(y), int(x + w), int(y + h)))
        landmarks[i] = eye_frame(np.array([[p.x, p.y] for p in shape.parts()], np.float64))
    np.savez_compressed(_lm_path(dataset), landmarks=landmarks)
    print(f"wrote {_lm_path(dataset)}", flush=True)


def ratios(landmarks: np.ndarray) -> np.ndarray:
    """11 proportions that change from childhood to adulthood (eye-frame units)."""
    p = landmarks

    def dist(a: int, b: int) -> np.ndarray:
        return np.hypot(*(p[:, a] - p[:, b]).T)

    eye_w = (dist(36, 39) + dist(42, 45)) / 2
    eye_h = (dist(37, 41) + dist(38, 40) + dist(43, 47) + dist(44, 46)) / 4
    return np.stack([
        p[:, 33, 1], p[:, 8, 1], p[:, 62, 1], p[:, 8, 1] - p[:, 33, 1],  # nose tip, chin, mouth below the eyes; lower face
        dist(0, 16), dist(4, 12), dist(31, 35), dist(48, 54),  # face, jaw, nose, mouth widths
        eye_w, eye_h / np.maximum(eye_w, 1e-9), p[:, 19, 1] + p[:, 24, 1],  # eye size and openness, brow height
    ], axis=1)


def main(argv: list[str] | None = None) -> int:
    data = data_after_extract(argv, __doc__, "run dlib's 68-point predictor first", extract)
    landmarks = np.concatenate([np.load(_lm_path(d))["landmarks"] for d in DATASETS]).astype(np.float64)
    for name, extra in (("age features only", None), ("+ 11 ratios", ratios(landmarks)), ("+ 136 coordinates", landmarks.reshape(len(landmarks), -1))):
        data.extra = extra
        report(name, cross_dataset(Config(), data))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
