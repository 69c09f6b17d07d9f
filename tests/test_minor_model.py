"""The calibrated minor estimator: its numpy forward pass, the shipped weights, and real faces."""

from __future__ import annotations

import json
from dataclasses import replace
from itertools import pairwise

import numpy as np
import pytest

from minorguard.faces.minor import CALIBRATED_WEIGHTS, CalibratedMinorEstimator, FaceFeatures
from minorguard.faces.minor_model import FORMAT, MinorModel, feature_vector

AGES = np.arange(81, dtype=np.float32)  # Cydral's grid
FACERES_AGES = np.arange(1, 101, dtype=np.float32)


def peaked(age: float, sd: float = 2.0, grid: np.ndarray = AGES) -> np.ndarray:
    p = np.exp(-0.5 * ((grid - age) / sd) ** 2)
    return (p / p.sum()).astype(np.float32)


def readings(age: float, sd: float = 2.0, **ages: float) -> dict[str, np.ndarray]:
    """Each network reading ``age`` (or its own age where given): what FusedAgeModel.read returns."""
    return {"cydral": peaked(ages.get("cydral", age), sd), "faceres": peaked(ages.get("faceres", age), sd, FACERES_AGES),
            "faceapi": np.array([ages.get("faceapi", age)], np.float64)}


def faces(age: float, sd: float = 2.0, **kw) -> FaceFeatures:
    from minorguard.models.age_networks import AGE_GRID, fuse_readings

    r = readings(age, sd, **kw.get("networks", {}))
    return FaceFeatures(age_probs=fuse_readings(r), ages=AGE_GRID, face_height_px=kw.get("h", 150.0),
                        sharpness=kw.get("sharp", 300.0), gray=kw.get("gray", False), readings=r)


@pytest.fixture(scope="module")
def shipped() -> dict:
    return json.loads(CALIBRATED_WEIGHTS.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def estimator() -> CalibratedMinorEstimator:
    return CalibratedMinorEstimator()


# -- the weights file -------------------------------------------------------------
def test_shipped_weights_are_small_json_with_monotone_calibration(shipped):
    assert CALIBRATED_WEIGHTS.stat().st_size < 100_000
    assert shipped["format"] == FORMAT
    model = MinorModel.from_json(shipped)
    assert np.all(np.diff(model.calib_y) >= 0) and 0 <= model.calib_y[0] <= model.calib_y[-1] <= 1
    t = shipped["thresholds"]
    assert 0 < t["review"] <= t["block"] <= 1
    assert (CALIBRATED_WEIGHTS.parent / "MODEL_CARD.md").is_file()


def test_malformed_weights_are_refused(shipped):
    with pytest.raises(ValueError, match="format"):
        MinorModel.from_json({**shipped, "format": "pickle"})
    broken = {**shipped, "calibration": {"x": [0.0, 1.0], "y": [0.9, 0.1]}}
    with pytest.raises(ValueError, match="non-decreasing"):
        MinorModel.from_json(broken)
    with pytest.raises(ValueError, match="sizes"):
        MinorModel.from_json({**shipped, "scorer": {**shipped["scorer"], "coef": shipped["scorer"]["coef"][:-1]}})


def test_weights_fitted_on_other_chip_variants_are_refused(shipped, tmp_path):
    """P(under 18) only means what it says on the distributions it was fitted on."""
    from minorguard.models.base import ModelError

    one_chip = tmp_path / "one_chip.json"
    one_chip.write_text(json.dumps({**shipped, "age_variants": ["p20"]}), encoding="utf-8")
    with pytest.raises(ModelError, match="retrain"):
        CalibratedMinorEstimator(one_chip)


def test_age_model_averages_each_chip_with_its_mirror_image(guard, sample_images):
    from minorguard.photos.decode import load_photo

    age = guard.pack.age_model.cydral  # the fused pack's Cydral voice
    photo = load_photo(sample_images / "faceaisharp_obama_family.jpg")
    faces = guard.pack.detector.detect(photo.pixels)
    chips = age.chips(photo.pixels, faces)
    plain = age.distributions_from_chips(chips)
    mirrored = age.distributions_from_chips([np.ascontiguousarray(c[:, ::-1]) for c in chips])
    averaged = age.age_distributions(photo.pixels, faces)
    assert np.allclose(averaged, (plain + mirrored) / 2, atol=1e-6)
    assert not np.allclose(plain, mirrored, atol=1e-3)  # the model is not mirror-symmetric: averaging does something
    assert np.allclose(averaged.sum(axis=1), 1.0, atol=1e-5)


# -- behaviour on clear cases -------------------------------------------------------
def test_child_distribution_is_a_minor_and_adult_is_not(estimator, shipped):
    review = shipped["thresholds"]["review"]
    child = estimator.estimate(faces(6))
    teen = estimator.estimate(faces(15))
    adult = estimator.estimate(faces(55))
    assert child.p_under_18 > 0.9 and child.p_under_18 >= shipped["thresholds"]["block"]
    assert teen.p_under_18 >= review
    assert adult.p_under_18 < review
    assert child.p_under_18 >= teen.p_under_18 >= adult.p_under_18
    assert child.method == shipped["name"]


def test_probability_falls_as_the_age_distribution_moves_up(estimator):
    ps = [estimator.estimate(faces(a)).p_under_18 for a in (4, 10, 16, 22, 30, 45, 70)]
    assert all(a >= b for a, b in pairwise(ps)), ps
    assert ps[0] - ps[-1] > 0.8


def test_interval_is_ordered_and_wider_than_the_over_confident_raw_one(estimator):
    from minorguard.faces.minor import RawAgeEstimator

    f = faces(20, sd=1.5)
    new, raw = estimator.estimate(f), RawAgeEstimator(0.10).estimate(f)
    assert new.low <= new.expected <= new.high
    assert new.high - new.low >= raw.high - raw.low


def test_undescribable_face_fails_closed(estimator):
    broken = {"cydral": np.full(81, np.nan), "faceres": np.full(100, np.nan), "faceapi": np.array([np.nan])}
    nan = FaceFeatures(age_probs=np.full(101, np.nan, np.float32), ages=np.arange(101.0), face_height_px=100, sharpness=100,
                       readings=broken)
    assert estimator.estimate(nan).p_under_18 == 1.0
    # a pack without the networks the weights need: an error, which the pipeline turns into REVIEW
    with pytest.raises(ValueError, match="faceres"):
        estimator.estimate(FaceFeatures(age_probs=peaked(30), ages=AGES))


def test_forward_pass_matches_scikit_learn_on_synthetic_data():
    """The numpy forward pass reproduces the trained logistic regression + isotonic map."""
    pytest.importorskip("sklearn")
    from sklearn.isotonic import IsotonicRegression
    from sklearn.linear_model import LogisticRegression

    from training.train_minor import DEFAULT_SPEC

    rng = np.random.default_rng(1)
    true_ages = rng.integers(1, 70, 400)
    x = np.stack([feature_vector(DEFAULT_SPEC, peaked(a + rng.normal(0, 6), 4), AGES, 120.0, 200.0, False) for a in true_ages])
    y = (true_ages < 18).astype(int)
    mean, scale = x.mean(0), x.std(0)
    scale[scale < 1e-9] = 1
    lr = LogisticRegression(max_iter=2000).fit((x - mean) / scale, y)
    iso = IsotonicRegression(out_of_bounds="clip").fit(lr.decision_function((x - mean) / scale), y)
    model = MinorModel.from_json({
        "format": FORMAT, "name": "t", "features": DEFAULT_SPEC,
        "scorer": {"mean": mean.tolist(), "scale": scale.tolist(), "coef": lr.coef_[0].tolist(), "intercept": float(lr.intercept_[0])},
        "calibration": {"x": iso.X_thresholds_.tolist(), "y": iso.y_thresholds_.tolist()},
    })
    np.testing.assert_allclose(model.score_matrix(x), lr.decision_function((x - mean) / scale), rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(model.predict_many(x), iso.predict(lr.decision_function((x - mean) / scale)), atol=1e-12)


# -- real models on real photos -----------------------------------------------------
def _calibrated_guard():
    from minorguard import Guard
    from minorguard.rules.policy import load_policy

    shipped = json.loads(CALIBRATED_WEIGHTS.read_text(encoding="utf-8"))
    policy = replace(load_policy(None), minor_rule="calibrated", minor_block_probability=shipped["thresholds"]["block"],
                     minor_review_probability=shipped["thresholds"]["review"])
    return Guard(policy=policy), shipped


@pytest.fixture(scope="module")
def calibrated_guard():
    return _calibrated_guard()


def test_family_portrait_children_flagged_adult_portrait_passes(calibrated_guard, sample_images):
    """Two girls (about 12 and 9) and their parents; one adult alone.

    The age model puts both girls in their twenties, so neither reaches the
    BLOCK probability: they must still be held for REVIEW, never let through.
    """
    from minorguard.types import FaceCategory, Verdict

    guard, shipped = calibrated_guard
    family = guard.check(sample_images / "faceaisharp_obama_family.jpg")
    assert family.verdict in (Verdict.REVIEW, Verdict.BLOCK)
    judged = [f for f in family.faces if f.age is not None]
    assert len(judged) >= 4
    held = [f for f in judged if f.category in (FaceCategory.POSSIBLE_MINOR, FaceCategory.UNCERTAIN)]
    assert len(held) >= 2, [(f.age.p_under_18, f.age.expected) for f in judged]
    assert all(f.age.method == shipped["name"] for f in judged)
    adult = guard.check(sample_images / "faceaisharp_biden_7mpx.jpg")
    assert adult.verdict is Verdict.PASS, [f.age for f in adult.faces]


@pytest.mark.shared
def test_shared_children_are_flagged(calibrated_guard, shared):
    """Young FG-NET children (true age 2-10) through the whole pipeline come out possible minor."""
    import csv

    from minorguard.types import FaceCategory

    guard, _ = calibrated_guard
    base = shared / "eval" / "age" / "fgnet_dev"
    with open(base / "labels.csv", encoding="utf-8") as handle:
        rows = [r for r in csv.DictReader(handle) if 2 <= int(r["age"]) <= 10][:8]
    flagged = 0
    for row in rows:
        result = guard.check(base / row["path"])
        if any(f.category in (FaceCategory.POSSIBLE_MINOR, FaceCategory.UNCERTAIN) for f in result.faces):
            flagged += 1
    assert flagged == len(rows)


# -- the training recipe, on synthetic faces ------------------------------------------
def _synthetic_data(n_per_set: int = 300, seed: int = 3):
    from training.train_minor import Data

    rng = np.random.default_rng(seed)
    names, ages, probs, faceres, faceapi = [], [], [], [], []
    for k, name in enumerate(("utkface", "all_age_faces", "fgnet_dev")):
        true = rng.integers(1, 70, n_per_set)
        shift = 3.0 * k  # each set reads a little older, as real sets differ
        for a in true:  # the chip and its mirror image read a little differently
            probs.append(np.stack([peaked(min(80, a + shift + rng.normal(0, 5)), 4) for _ in range(2)]))
            faceres.append(peaked(min(95, a + shift + rng.normal(0, 4)), 4, FACERES_AGES)[None])
            faceapi.append([max(0.0, a + shift + rng.normal(0, 4))])
        names += [name] * n_per_set
        ages += true.tolist()
    n = len(ages)
    return Data(
        dataset=np.array(names), age=np.array(ages), group=np.array([f"g{i}" for i in range(n)]),
        gender=np.full(n, -1), race=np.full(n, -1), path=np.array([f"p{i}" for i in range(n)]), usable=np.ones(n, bool),
        probs=np.array(probs, np.float32), variants=["p20", "p20f"], ages_grid=AGES.astype(float), face_h=np.full(n, 150.0),
        sharpness=np.full(n, 300.0), gray=np.zeros(n, bool), detected=np.ones(n, bool),
        faceres=np.array(faceres, np.float32), faceapi=np.array(faceapi, np.float32),
        faceres_variants=["s115"], faceapi_variants=["q10"],
    )


def test_training_recipe_keeps_target_recall_on_every_training_set_and_round_trips():
    pytest.importorskip("sklearn")
    from training.train_minor import Config, build_model_json, fit, predict

    data = _synthetic_data()
    config = Config(target_recall=0.99)
    _, thresholds, p_oof = fit(data, config)
    for name in np.unique(data.dataset):
        minors = (data.dataset == name) & data.minor
        assert (p_oof[minors] >= thresholds["review"]).mean() >= 0.99
    model_json = json.loads(json.dumps(build_model_json(data, config)))  # through text, as shipped
    p = predict(model_json, data, config)
    assert np.all((p >= 0) & (p <= 1))
    assert p[data.age < 8].mean() > 0.8 and p[data.age > 40].mean() < 0.1
