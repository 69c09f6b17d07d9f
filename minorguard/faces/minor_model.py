"""The learned minor estimator's forward pass, in plain numpy.

The weights file (``minorguard/weights/minor_estimator.json``, written by
``training/train_minor.py``) holds everything needed, so nothing here depends on
scikit-learn and nothing is unpickled:

* ``features``: which summaries of the age model's distribution (and of the
  face's quality) feed the scorer. :func:`feature_vector` computes them; the
  training script calls the same function, so run time and training agree.
* ``scorer``: a standardised logistic regression giving a score.
* ``calibration``: an isotonic table from score to P(under 18), fitted on
  out-of-fold scores, so the probability means what it says on held-out data;
  a small share (``blend``) of a Platt sigmoid keeps the map strictly
  increasing, so a threshold deep in the isotonic table's flat bottom step
  still ranks faces by score instead of flagging the whole step at once.
* ``age_recalibration``: a monotone map of the age model's cumulative
  distribution (its probability-integral-transform on training faces), which
  turns its over-confident percentiles into an interval that holds.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["FORMAT", "NETWORK_AGES", "MinorModel", "feature_vector", "network_ages"]

FORMAT = "minorguard-minor-estimator/1"
_EPS = 1e-6


def _summaries(probs: np.ndarray, ages: np.ndarray) -> dict[str, Any]:
    probs = np.clip(np.asarray(probs, np.float64), 0.0, None)
    probs = probs / max(probs.sum(), _EPS)
    cdf = np.cumsum(probs)
    return {"probs": probs, "cdf": cdf, "ages": np.asarray(ages, np.float64)}


def _cdf_at(s: dict[str, Any], age: float) -> float:
    """P(age < ``age``) under the model's distribution."""
    return float(s["probs"][s["ages"] < age].sum())


def _quantile(s: dict[str, Any], q: float) -> float:
    index = int(np.searchsorted(s["cdf"], q))
    return float(s["ages"][min(index, len(s["ages"]) - 1)])


def _logit(p: float) -> float:
    p = min(max(p, _EPS), 1 - _EPS)
    return float(np.log(p / (1 - p)))


# The age each output of a network refers to (minorguard.models.age_networks)
NETWORK_AGES = {"cydral": np.arange(0, 81, dtype=np.float64), "faceres": np.arange(1, 101, dtype=np.float64)}


def _network_block(spec: dict[str, Any], name: str, readings: Mapping[str, np.ndarray] | None) -> list[float]:
    """``net_<kind>:<network>`` blocks: summaries of one network's own reading."""
    kind, network = name[len("net_"):].split(":", 1)
    if readings is None or network not in readings:
        raise ValueError(f"minor estimator needs the {network!r} age network's reading")
    value = np.asarray(readings[network], np.float64)
    if kind == "log_age":  # a network that gives one number
        return [float(np.log1p(max(float(value.reshape(-1)[0]), 0.0)))]
    s = _summaries(value, NETWORK_AGES[network])
    if kind == "cdf_logits":
        return [_logit(_cdf_at(s, a)) for a in spec["cdf_ages"]]
    if kind == "log_expected":
        return [float(np.log1p(s["probs"] @ s["ages"]))]
    if kind == "quantiles":
        return [float(np.log1p(_quantile(s, q))) for q in spec["quantiles"]]
    if kind == "entropy":
        p = s["probs"]
        return [float(-(p * np.log(p + _EPS)).sum())]
    raise ValueError(f"unknown feature block {name!r} in minor estimator weights")


def network_ages(readings: Mapping[str, np.ndarray]) -> dict[str, float]:
    """Each network's own point estimate: its distribution's mean, or the number it gives."""
    out = {}
    for network, value in readings.items():
        value = np.asarray(value, np.float64).reshape(-1)
        if network in NETWORK_AGES:
            probs = np.clip(value, 0.0, None)
            out[network] = float(probs @ NETWORK_AGES[network] / max(probs.sum(), _EPS))
        else:
            out[network] = float(value[0])
    return out


def feature_vector(spec: dict[str, Any], age_probs: np.ndarray, ages: np.ndarray, face_height_px: float = 0.0,
                   sharpness: float = 0.0, gray: bool = False, readings: Mapping[str, np.ndarray] | None = None) -> np.ndarray:
    """The scorer's input for one face, as ``spec`` (from the weights file) lists it."""
    s = _summaries(age_probs, ages)
    out: list[float] = []
    for name in spec["blocks"]:
        if name.startswith("net_"):
            out.extend(_network_block(spec, name, readings))
        elif name == "expected":
            out.append(float(s["probs"] @ s["ages"]))
        elif name == "log_expected":
            out.append(float(np.log1p(s["probs"] @ s["ages"])))
        elif name == "cdf_logits":
            out.extend(_logit(_cdf_at(s, a)) for a in spec["cdf_ages"])
        elif name == "quantiles":
            out.extend(np.log1p(_quantile(s, q)) for q in spec["quantiles"])
        elif name == "entropy":
            p = s["probs"]
            out.append(float(-(p * np.log(p + _EPS)).sum()))
        elif name == "log_probs":
            out.extend(np.log(s["probs"] + spec.get("log_floor", 1e-4)).tolist())
        elif name == "log_face_height":
            out.append(float(np.log(max(face_height_px, 1.0))))
        elif name == "log_sharpness":
            out.append(float(np.log1p(max(sharpness, 0.0))))
        elif name == "gray":
            out.append(1.0 if gray else 0.0)
        else:
            raise ValueError(f"unknown feature block {name!r} in minor estimator weights")
    return np.asarray(out, np.float64)


@dataclass(frozen=True)
class MinorModel:
    """Calibrated P(under 18) and a recalibrated age interval from one face's features."""

    name: str
    needs_embedding: bool
    spec: dict[str, Any]
    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: float
    calib_x: np.ndarray
    calib_y: np.ndarray
    platt: tuple[float, float] = (0.0, 0.0)  # slope, intercept on the score
    blend: float = 0.0
    pit_x: np.ndarray | None = None  # age model's CDF value ...
    pit_y: np.ndarray | None = None  # ... and how often the true age fell below it
    percentile: float = 0.10

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> MinorModel:
        if data.get("format") != FORMAT:
            raise ValueError(f"minor estimator weights: expected format {FORMAT!r}, got {data.get('format')!r}")
        scorer, calib = data["scorer"], data["calibration"]
        recal = data.get("age_recalibration") or {}
        model = cls(
            name=str(data["name"]),
            needs_embedding=bool(data.get("needs_embedding", False)),
            spec=data["features"],
            mean=np.asarray(scorer["mean"], np.float64),
            scale=np.asarray(scorer["scale"], np.float64),
            coef=np.asarray(scorer["coef"], np.float64),
            intercept=float(scorer["intercept"]),
            calib_x=np.asarray(calib["x"], np.float64),
            calib_y=np.asarray(calib["y"], np.float64),
            platt=(float(calib.get("platt", [0.0, 0.0])[0]), float(calib.get("platt", [0.0, 0.0])[1])),
            blend=float(calib.get("blend", 0.0)),
            pit_x=np.asarray(recal["x"], np.float64) if recal else None,
            pit_y=np.asarray(recal["y"], np.float64) if recal else None,
            percentile=float(data.get("interval_percentile", 0.10)),
        )
        sizes = {len(model.mean), len(model.scale), len(model.coef)}
        if len(sizes) != 1 or len(model.calib_x) != len(model.calib_y) or len(model.calib_x) < 2:
            raise ValueError("minor estimator weights: inconsistent array sizes")
        if np.any(np.diff(model.calib_x) < 0) or np.any(np.diff(model.calib_y) < 0):
            raise ValueError("minor estimator weights: calibration table must be non-decreasing")
        return model

    # -- scoring ----------------------------------------------------------
    def score_matrix(self, x: np.ndarray) -> np.ndarray:
        """Raw scores (log-odds before calibration) for rows of feature vectors."""
        return ((np.atleast_2d(x) - self.mean) / self.scale) @ self.coef + self.intercept

    def calibrate(self, scores: np.ndarray | float) -> np.ndarray:
        iso = np.interp(scores, self.calib_x, self.calib_y)
        if self.blend <= 0:
            return iso
        platt = 1.0 / (1.0 + np.exp(-(self.platt[0] * np.asarray(scores, np.float64) + self.platt[1])))
        return (1 - self.blend) * iso + self.blend * platt

    def features_of(self, features: Any) -> np.ndarray:
        return feature_vector(self.spec, features.age_probs, features.ages, features.face_height_px, features.sharpness, features.gray,
                              features.readings)

    # -- age interval -----------------------------------------------------
    def recalibrated_cdf(self, age_probs: np.ndarray) -> np.ndarray:
        """P(true age <= each grid age), corrected by the training faces' PIT."""
        probs = np.clip(np.asarray(age_probs, np.float64), 0.0, None)
        cdf = np.cumsum(probs / max(probs.sum(), _EPS))
        if self.pit_x is None or self.pit_y is None:
            return cdf
        return np.interp(cdf, self.pit_x, self.pit_y)

    def age_summary(self, age_probs: np.ndarray, ages: np.ndarray) -> tuple[float, float, float]:
        """(expected, low, high) from the recalibrated distribution."""
        ages = np.asarray(ages, np.float64)
        cdf = np.maximum.accumulate(self.recalibrated_cdf(age_probs))
        cdf[-1] = 1.0
        mass = np.diff(np.concatenate([[0.0], cdf]))
        expected = float(mass @ ages)

        def quantile(q: float) -> float:
            return float(ages[min(int(np.searchsorted(cdf, q)), len(ages) - 1)])

        return expected, quantile(self.percentile), quantile(1 - self.percentile)

    # -- the estimator's entry point --------------------------------------
    def predict(self, features: Any) -> tuple[float, float | None, float | None, float | None]:
        """(P(under 18), low, high, expected) for one face's :class:`~minorguard.faces.minor.FaceFeatures`.

        ``low``/``high`` bound the recalibrated interval; ``expected`` is None
        (the caller keeps the age model's own expected age).
        """
        x = self.features_of(features)
        if not np.all(np.isfinite(x)):
            # fail closed: a face we cannot describe is treated as a possible minor
            return 1.0, None, None, None
        p = float(self.calibrate(self.score_matrix(x))[0])
        _, low, high = self.age_summary(features.age_probs, features.ages)
        # The age model's own expected age stays the point estimate (None): the
        # recalibrated mean measured no better (benchmarks/results/minor.json).
        return p, low, high, None

    def predict_many(self, rows: Sequence[np.ndarray]) -> np.ndarray:
        return self.calibrate(self.score_matrix(np.asarray(rows, np.float64)))
