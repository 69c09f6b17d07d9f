"""Ablation: FaceRes's pooled 1024-D features beside the fused age readings.

The shipped estimator sees each network's age reading only. FaceRes computes a
1024-D feature (trained for identity on VGGFace2, before its age head) in the same
pass, at no extra cost at run time: it might tell a 15-year-old from a young adult
where the age head reads both as 20-30, which the held-out figures show is what
keeps 25+ flagged above 20%. A head trained alone on these features lost recall
held out (issue 16: 75-92%); here it is added to the fusion instead, two ways,
each fitted only on the two training sets of each leave-one-data-set-out run:

- ``pca-k``: the first k principal components (fitted on the training sets);
- ``head``: one number, the log-odds of an L2-regularised logistic head on the
  standardised features, out of fold (subject-disjoint) for the training rows and
  from a head fitted on all training rows for the held-out set.

    python -m training.ablation_faceres_features [--extract]

``--extract`` writes ``minor_faceres_feat_<dataset>.npz`` beside the feature caches (float16).
"""

from __future__ import annotations

import numpy as np

from training.ablation import data_after_extract, extract_per_face, photo_at_box, report
from training.extract_features import CACHE, DATASETS, cache_path, read_labels
from training.train_minor import Config, _group_folds, build_model_json, predict


def _path(dataset: str):
    return CACHE / f"minor_faceres_feat_{dataset}.npz"


def extract(dataset: str) -> None:
    from minorguard.models.age_networks import FACERES_CROPS, FaceResAgeModel, crop_face
    from minorguard.rules.policy import load_policy
    from minorguard.types import Box

    policy = load_policy(None)
    faceres = FaceResAgeModel()
    rows, cached = read_labels(dataset), np.load(cache_path(dataset))

    def one(i: int) -> np.ndarray:
        rgb, (x, y, w, h) = photo_at_box(dataset, rows[i], cached["box"][i], policy)
        return faceres.features_from_crops([crop_face(rgb, Box(x, y, w, h), *FACERES_CROPS["s115"])])[0]

    extract_per_face(dataset, one, (1024,), _path(dataset), "features")


def _standardised(train: np.ndarray, *others: np.ndarray) -> list[np.ndarray]:
    mean, scale = train.mean(axis=0), train.std(axis=0) + 1e-6
    return [(x - mean) / scale for x in (train, *others)]


def _pca(train: np.ndarray, test: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    a, b = _standardised(train, test)
    _, _, vt = np.linalg.svd(a - a.mean(axis=0), full_matrices=False)
    return a @ vt[:k].T, b @ vt[:k].T


def _head(train: np.ndarray, y: np.ndarray, groups: np.ndarray, test: np.ndarray, c: float) -> tuple[np.ndarray, np.ndarray]:
    from sklearn.linear_model import LogisticRegression

    a, b = _standardised(train, test)
    folds = _group_folds(groups, 5, seed=1)
    oof = np.zeros(len(a))
    for k in range(5):
        lr = LogisticRegression(C=c, max_iter=3000).fit(a[folds != k], y[folds != k])
        oof[folds == k] = lr.decision_function(a[folds == k])
    return oof, LogisticRegression(C=c, max_iter=3000).fit(a, y).decision_function(b)


def _held_out(data, features: np.ndarray, how: str, config: Config) -> dict:
    """Leave one data set out, the extra columns built from the training sets only."""
    out = {}
    for held in DATASETS:
        tr, te = data.dataset != held, data.dataset == held
        f_tr, f_te = features[tr], features[te]
        if how.startswith("pca-"):
            x_tr, x_te = _pca(f_tr, f_te, int(how[4:]))
        else:
            x_tr, x_te = _head(f_tr, data.minor[tr].astype(int), data.group[tr], f_te, float(how[5:]))
            x_tr, x_te = x_tr[:, None], x_te[:, None]
        data.extra = np.zeros((len(data.age), x_tr.shape[1]))
        data.extra[tr], data.extra[te] = x_tr, x_te
        train, test = data.subset(tr), data.subset(te)
        model_json = build_model_json(train, config)
        out[held] = {"data": test, "p": predict(model_json, test, config), "thresholds": model_json["thresholds"]}
    data.extra = None
    return out


def main(argv: list[str] | None = None) -> int:
    data = data_after_extract(argv, __doc__, "read every labelled face's FaceRes features first", extract)
    features = np.nan_to_num(np.concatenate([np.load(_path(d))["features"].astype(np.float32) for d in DATASETS]))
    config = Config()
    data.extra = None
    from training.train_minor import cross_dataset

    report("fusion (shipped)", cross_dataset(config, data))
    for how in ("pca-4", "pca-16", "pca-64", "head-0.001", "head-0.01", "head-0.1"):
        report(f"+ {how}", _held_out(data, features, how, config))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
