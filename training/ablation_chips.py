"""Ablation: other inputs to the age model than the shipped chip and its mirror image.

Each labelled face's 64 px chip (padding 0.2, as the pipeline cuts it) is also
read in greyscale, with local contrast equalised (CLAHE on lightness), slightly
blurred, and cut from the box shifted by 4% of its size in each direction or
scaled by 0.92 / 1.08; the age model's distributions of a set of these chips are
averaged, as the pipeline averages the chip and its mirror, and the
leave-one-dataset-out validation reruns on the averages.

    python -m training.ablation_chips [--extract]

Needs the feature caches of ``training.extract_features`` (the detected boxes);
``--extract`` writes ``minor_chips_<dataset>.npz`` beside them (~2 minutes on two
cores for all three sets). Measured 2026-11-27: none pays (MODEL_CARD.md).
"""

from __future__ import annotations

import cv2
import numpy as np

from training.ablation import data_after_extract, extract_per_face, photo_at_box, report
from training.extract_features import CACHE, DATASETS, cache_path, read_labels
from training.train_minor import Config, cross_dataset

# chip name -> (box shift x, shift y, scale, how the chip is read); "f" in the name: mirrored
SHIFTS = {"left": (-0.04, 0, 1.0), "right": (0.04, 0, 1.0), "up": (0, -0.04, 1.0), "down": (0, 0.04, 1.0),
          "smaller": (0, 0, 0.92), "larger": (0, 0, 1.08)}
_CLAHE = cv2.createCLAHE(clipLimit=2.0, tileGridSize=(4, 4))


def _grey(chip: np.ndarray) -> np.ndarray:
    grey = cv2.cvtColor(chip, cv2.COLOR_RGB2GRAY)
    return np.dstack([grey, grey, grey])


def _equalised(chip: np.ndarray) -> np.ndarray:
    lab = cv2.cvtColor(chip, cv2.COLOR_RGB2LAB)
    lab[..., 0] = _CLAHE.apply(lab[..., 0])
    return cv2.cvtColor(lab, cv2.COLOR_LAB2RGB)


READINGS = {"plain": lambda c: c, "grey": _grey, "clahe": _equalised, "blur": lambda c: cv2.GaussianBlur(c, (0, 0), 0.8)}
NAMES = [*(n for r in READINGS for n in (r, r + "f")), *SHIFTS]

# the combinations compared; "plain" + "plainf" is what ships (AGE_VARIANTS p20 + p20f)
COMBOS = (("plain", "plainf"), ("grey", "greyf"), ("plain", "plainf", "grey", "greyf"), ("clahe", "clahef"),
          ("plain", "plainf", "clahe", "clahef"), ("blur", "blurf"), ("plain", "plainf", "blur", "blurf"),
          ("plain", "plainf", "left", "right", "up", "down"), ("plain", "plainf", "smaller", "larger"))


def _path(dataset: str):
    return CACHE / f"minor_chips_{dataset}.npz"


def extract(dataset: str) -> None:
    from minorguard.models.dlib_models import AGE_CHIP_PADDING, AGE_CHIP_SIZE, CydralAgeModel
    from minorguard.rules.policy import load_policy
    from minorguard.types import Box, DetectedFace

    policy, age = load_policy(None), CydralAgeModel()
    rows, cached = read_labels(dataset), np.load(cache_path(dataset))

    def chip(rgb: np.ndarray, box: tuple, dx: float, dy: float, scale: float) -> np.ndarray:
        x, y, w, h = box
        cx, cy = x + w / 2 + dx * w, y + h / 2 + dy * h
        face = DetectedFace(Box(cx - w * scale / 2, cy - h * scale / 2, w * scale, h * scale), 1.0)
        return age.aligner.chip(rgb, age.aligner.shape(rgb, face), AGE_CHIP_SIZE, AGE_CHIP_PADDING)

    def one(i: int) -> np.ndarray:
        rgb, box = photo_at_box(dataset, rows[i], cached["box"][i], policy)
        centred = chip(rgb, box, 0, 0, 1.0)
        chips = [c for read in READINGS.values() for c in (read(centred), read(centred)[:, ::-1])]
        chips += [chip(rgb, box, *shift) for shift in SHIFTS.values()]
        return age.distributions_from_chips([np.ascontiguousarray(c) for c in chips])

    extract_per_face(dataset, one, (len(NAMES), len(age.ages)), _path(dataset), "probs", names=np.array(NAMES))


def main(argv: list[str] | None = None) -> int:
    data = data_after_extract(argv, __doc__, "read every labelled face's chip variants first", extract)
    data.probs = np.concatenate([np.load(_path(d))["probs"] for d in DATASETS])
    data.variants = list(NAMES)
    for combo in COMBOS:
        report(" + ".join(combo), cross_dataset(Config(variants=combo), data))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
