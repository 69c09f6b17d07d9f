"""The face description consent matching compares: dlib's descriptor and FaceRes's identity feature, together.

FaceRes (the age network of the default pack) was pre-trained for identity on
VGGFace2; its pooled 1024-D feature, from the crop its age reading uses, tells
children apart better across years than dlib's 128-D descriptor alone. Summed
as z-scores of the two cosines (each scaled by the spread of different-person
pairs), held out on fgnet_dev's 41 people, the genuine match rate at the
register's false-match rule went from 17% to 29% of pairs, 15% to 22% when the
younger photo shows a child of 0-12, better in 50 of 50 splits
(benchmarks/results/matching_fusion.json).

The sum is built into one vector, so that matching stays a cosine: each part is
made unit length and weighted by 1/sqrt(spread); the dot product of two such
vectors, once they are unit length, is an increasing affine function of the
z-score sum. Thresholds on it are in the policy's ``[consent]``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from minorguard.models.age_networks import FACERES_CROPS, FACERES_IDENTITY_CROP, crop_face
from minorguard.types import DetectedFace

__all__ = ["IDENTITY_SPREAD", "FusedIdentity", "fuse_identity"]

# Spread (standard deviation) of different-person cosines on fgnet_dev, per part; only the
# ratio matters (benchmarks/matching_fusion.py, "whole_set").
IDENTITY_SPREAD = {"dlib": 0.03043, "faceres": 0.07619}


def fuse_identity(dlib: np.ndarray, faceres: np.ndarray) -> np.ndarray:
    """Rows of dlib descriptors and FaceRes features -> unit rows whose dot product ranks like the z-score sum."""
    parts = []
    for name, x in (("dlib", dlib), ("faceres", faceres)):
        x = np.atleast_2d(np.asarray(x, np.float64))
        x = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
        parts.append(x / np.sqrt(IDENTITY_SPREAD[name]))
    out = np.concatenate(parts, axis=1)
    return (out / np.linalg.norm(out, axis=1, keepdims=True)).astype(np.float32)


class FusedIdentity:
    """The consent embedder of the default pack: ``embed`` gives one fused vector per face (1,152 values)."""

    def __init__(self, dlib_embedder: Any, faceres: Any) -> None:
        self.dlib, self.faceres = dlib_embedder, faceres
        self.name = self.label(dlib_embedder.name, faceres.name)

    @staticmethod
    def label(dlib_name: str, faceres_name: str) -> str:
        """The name enrolments made with this embedder carry, from its parts' names."""
        return f"{dlib_name}+{faceres_name}-{FACERES_IDENTITY_CROP}"

    def files(self) -> list:
        return list(self.dlib.files()) + list(self.faceres.files())

    def embed(self, rgb: np.ndarray, faces: Sequence[DetectedFace], dlib: np.ndarray | None = None,
              faceres: Sequence[np.ndarray | None] | None = None) -> np.ndarray:
        """``dlib``: the faces' dlib descriptors where the caller has them already (grouping computes the same);
        ``faceres``: per face, FaceRes's identity feature from the age reading's pass, or ``None`` to compute it."""
        if not faces:
            return np.zeros((0, 128 + 1024), np.float32)
        if dlib is None:
            dlib = self.dlib.embed(rgb, faces)
        known = list(faceres) if faceres is not None else [None] * len(faces)
        missing = [i for i, feature in enumerate(known) if feature is None]
        if missing:
            crops = [crop_face(rgb, faces[i].box, *FACERES_CROPS[FACERES_IDENTITY_CROP]) for i in missing]
            for i, feature in zip(missing, self.faceres.features_from_crops(crops)):
                known[i] = feature
        return fuse_identity(dlib, np.stack(known))
