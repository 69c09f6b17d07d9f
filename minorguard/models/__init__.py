"""Model packs: the default offline pack and insightface model folders."""

from __future__ import annotations

from minorguard.models.base import AgeModel, Detector, Embedder, ModelError, ModelFile
from minorguard.models.detectors import CenterFaceDetector, FusedDetector, RetinaFaceDetector

__all__ = [
    "AgeModel",
    "CenterFaceDetector",
    "Detector",
    "Embedder",
    "FusedDetector",
    "ModelError",
    "ModelFile",
    "RetinaFaceDetector",
    "build_detector",
]


def build_detector(spec: str = "pack", **overrides):
    """A detector by name: ``retinaface``, ``centerface``, ``fused`` or ``pack``.

    ``name:key=value,key=value`` overrides constructor arguments (benchmarks).
    """
    name, _, args = spec.partition(":")
    kwargs = dict(overrides)
    for part in filter(None, args.split(",")):
        key, _, value = part.partition("=")
        kwargs[key] = float(value) if "." in value else int(value)
    if name == "retinaface":
        return RetinaFaceDetector(**kwargs)
    if name == "centerface":
        return CenterFaceDetector(**kwargs)
    if name in ("fused", "pack"):
        from minorguard.models.pack import default_detector

        return default_detector(**kwargs)
    raise ModelError("unknown_detector", name=repr(name))
