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
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from minorguard.faces.minor_model import network_ages
from minorguard.types import AgeEstimate

__all__ = ["DOUBT_RULES", "WEIGHTS_DIR", "CalibratedMinorEstimator", "FaceFeatures", "MinorEstimator", "RawAgeEstimator", "disagree", "fitted_age_model", "load_minor_estimator", "reading_doubt"]

WEIGHTS_DIR = Path(__file__).parents[1] / "weights"
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
    # each age network's own output (a distribution, or one age), when the pack runs several
    readings: Mapping[str, np.ndarray] | None = None
    tones: int | None = None  # distinct grey levels in the face (faces.quality.face_tones)


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

        from minorguard.faces.minor_model import MinorModel

        data = json.loads(Path(path).read_text(encoding="utf-8"))
        # fitted on the age model's distributions averaged over these chip variants: the
        # pipeline must average the same ones, or P(under 18) no longer means what it says
        from minorguard.models.dlib_models import AGE_VARIANTS

        variants = tuple(data.get("age_variants") or ("p20",))
        if variants != AGE_VARIANTS:
            from minorguard.models.base import ModelError

            raise ModelError("estimator_variants", fitted=list(variants), used=list(AGE_VARIANTS))
        # the policy's interval percentile, not the one the weights were written with
        self.model = replace(MinorModel.from_json(data), percentile=percentile)
        self.name = self.model.name
        self.needs_embedding = self.model.needs_embedding
        self.age_model = str(data.get("age_model") or type(self).age_model)
        self.disagreement_age = float(data.get("disagreement_age", 0.0))
        self.network_variants = data.get("network_variants")
        self.point_estimate = tuple(data.get("point_estimate") or ())
        self.raw = RawAgeEstimator(percentile)

    def estimate(self, features: FaceFeatures) -> AgeEstimate:
        raw = self.raw.estimate(features)
        p, low, high, expected = self.model.predict(features)
        readings = network_ages(features.readings) if features.readings else {}
        if expected is None and self.point_estimate and all(n in readings for n in self.point_estimate):
            # the geometric mean of the named networks' ages: MAE 4.7-4.9 years on the three sets,
            # against 4.6-5.1 for the fused distribution's mean, with fewer children read as 18+
            expected = float(np.expm1(np.mean([np.log1p(max(readings[n], 0.0)) for n in self.point_estimate])))
        return AgeEstimate(
            expected=expected if expected is not None else raw.expected,
            low=low if low is not None else raw.low,
            high=high if high is not None else raw.high,
            p_under_18=p,
            method=self.name,
            networks=tuple((name, round(age, 1)) for name, age in readings.items()),
            disagreement=disagree(readings, self.disagreement_age),
            doubt=reading_doubt(features.landmarks, features.tones),
        )


# The age networks were trained on upright faces of ordinary photos. Turned this far (the eye line's angle), or with
# this few grey levels (a 1-bit or posterised picture), their reading is not evidence of an adult: a photo shown
# sideways by its EXIF orientation read the portrait's older girl as 34 (P 0.007), a 1-bit copy read both girls as
# 45-51. On the three age sets 0.02-0.10% of faces are turned this far and none has under 75 tones (75-103 at least).
TURNED_DEGREES = 45.0
FEW_TONES = 16
DOUBT_RULES = 1  # raised whenever reading_doubt changes: results judged under another rule are judged again


def reading_doubt(landmarks: np.ndarray | None, tones: int | None) -> tuple[str, float] | None:
    """Why the networks' reading of a face cannot be relied on, with the measure; None when it can."""
    if landmarks is not None and len(landmarks) >= 2:
        (x1, y1), (x2, y2) = landmarks[0][:2], landmarks[1][:2]
        turned = abs(math.degrees(math.atan2(float(y2 - y1), float(x2 - x1))))  # 0 upright, 180 upside down
        if turned >= TURNED_DEGREES:
            return ("turned", round(turned))
    if tones is not None and tones < FEW_TONES:
        return ("few_tones", float(tones))
    return None


def disagree(readings: dict[str, float], young: float) -> bool:
    """Whether one network reads a child (under ``young`` years) while another reads an adult (18 or over).

    Where the networks disagree that strongly the estimate must not settle for
    the adult side on the others' word (fail closed): decide() sends such a face
    to a person at least. ``young`` comes from the weights file, where it was set
    from held-out figures (0 turns the rule off).
    """
    if young <= 0 or len(readings) < 2:
        return False
    ages = list(readings.values())
    return min(ages) < young and max(ages) >= 18


def fitted_age_model() -> str:
    """The age model (pack) the shipped calibrated estimator was fitted on."""
    try:
        data = json.loads(CALIBRATED_WEIGHTS.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return CalibratedMinorEstimator.age_model
    return str(data.get("age_model") or CalibratedMinorEstimator.age_model)


def load_minor_estimator(rule: str, percentile: float) -> MinorEstimator:
    """The estimator a policy asks for; the calibrated one when its weights ship."""
    if rule == "calibrated":
        if not CALIBRATED_WEIGHTS.is_file():
            from minorguard.models.base import ModelError

            raise ModelError("weights_missing", what="calibrated minor estimator", path=CALIBRATED_WEIGHTS)
        return CalibratedMinorEstimator(CALIBRATED_WEIGHTS, percentile)
    return RawAgeEstimator(percentile)
