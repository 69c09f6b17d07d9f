"""From the age model's distribution (and other cues) to an age estimate and P(under 18).

Two estimators share one interface:

* :class:`RawAgeEstimator` reads the age model's softmax as it is: expected
  age, an interval from its percentiles, and its own mass under 18. That mass
  is over-confident (see ``minorguard/weights/MODEL_CARD.md``), so the policy
  pairs it with a challenge age well above 18.
* :class:`CalibratedMinorEstimator` applies a small learned, calibrated model
  (weights in ``minorguard/weights/minor_estimator.json``) to features of the
  face; its P(under 18) means what it says on held-out data.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from .types import AgeEstimate

__all__ = ["WEIGHTS_DIR", "CalibratedMinorEstimator", "FaceFeatures", "MinorEstimator", "RawAgeEstimator", "load_minor_estimator"]

WEIGHTS_DIR = Path(__file__).with_name("weights")
CALIBRATED_WEIGHTS = WEIGHTS_DIR / "minor_estimator.json"


@dataclass(frozen=True)
class FaceFeatures:
    """What the estimators may use about one face."""

    age_probs: np.ndarray  # softmax over ``ages``
    ages: np.ndarray
    embedding: np.ndarray | None = None
    landmarks: np.ndarray | None = None  # 5 x 2, full-photo pixels
    face_height_px: float = 0.0
    sharpness: float = 0.0
    gray: bool = False


class MinorEstimator(Protocol):
    name: str
    needs_embedding: bool

    def estimate(self, features: FaceFeatures) -> AgeEstimate: ...


def _percentile(probs: np.ndarray, ages: np.ndarray, q: float) -> float:
    cdf = np.cumsum(probs)
    return float(ages[min(len(ages) - 1, int(np.searchsorted(cdf, q)))])


class RawAgeEstimator:
    """The age model's own distribution, uncalibrated."""

    name = "raw"
    needs_embedding = False

    def __init__(self, percentile: float = 0.10) -> None:
        self.percentile = percentile

    def estimate(self, features: FaceFeatures) -> AgeEstimate:
        probs, ages = features.age_probs, features.ages
        return AgeEstimate(
            expected=float(probs @ ages),
            low=_percentile(probs, ages, self.percentile),
            high=_percentile(probs, ages, 1 - self.percentile),
            p_under_18=float(probs[ages < 18].sum()),
            method="cydral-raw",
        )


class CalibratedMinorEstimator:
    """Learned P(under 18) from the age distribution and face cues, calibrated.

    The weights file holds a feature list, a linear/boosted scorer and an
    isotonic calibration table; see ``training/train_minor.py``.
    """

    needs_embedding = False
    # the age model whose softmax the weights were fitted on (training/extract_features.py)
    age_model = "cydral-age-v1"

    def __init__(self, path: Path = CALIBRATED_WEIGHTS, percentile: float = 0.10) -> None:
        from dataclasses import replace

        from .minor_model import MinorModel

        data = json.loads(Path(path).read_text(encoding="utf-8"))
        # fitted on the age model's distributions averaged over these chip variants: the
        # pipeline must average the same ones, or P(under 18) no longer means what it says
        from .models.dlib_models import AGE_VARIANTS

        variants = tuple(data.get("age_variants") or ("p20",))
        if variants != AGE_VARIANTS:
            from .models.base import ModelError

            raise ModelError("estimator_variants", fitted=list(variants), used=list(AGE_VARIANTS))
        # the policy's interval percentile, not the one the weights were written with
        self.model = replace(MinorModel.from_json(data), percentile=percentile)
        self.name = self.model.name
        self.needs_embedding = self.model.needs_embedding
        self.raw = RawAgeEstimator(percentile)

    def estimate(self, features: FaceFeatures) -> AgeEstimate:
        raw = self.raw.estimate(features)
        p, low, high, expected = self.model.predict(features)
        return AgeEstimate(
            expected=expected if expected is not None else raw.expected,
            low=low if low is not None else raw.low,
            high=high if high is not None else raw.high,
            p_under_18=p,
            method=self.name,
        )


def load_minor_estimator(rule: str, percentile: float) -> MinorEstimator:
    """The estimator a policy asks for; the calibrated one when its weights ship."""
    if rule == "calibrated":
        if not CALIBRATED_WEIGHTS.is_file():
            from .models.base import ModelError

            raise ModelError("weights_missing", what="calibrated minor estimator", path=CALIBRATED_WEIGHTS)
        return CalibratedMinorEstimator(CALIBRATED_WEIGHTS, percentile)
    return RawAgeEstimator(percentile)
