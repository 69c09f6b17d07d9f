"""A folder of insightface ONNX models (SCRFD, genderage, ArcFace) as a model pack.

The user brings the folder (``~/.insightface/models/buffalo_l`` or any copy);
minorguard never downloads these models, because their licence is
non-commercial research only and a government office must accept it
knowingly. Each file's role comes from its ONNX signature, with the same rule
insightface's ``model_zoo`` router applies (five or more outputs: detector;
96x96 input: attribute; square input of 112+ px: recognition), so renamed
files still load and a misnamed file cannot take the wrong role.

Loading goes through ``insightface.model_zoo.get_model`` with an absolute
``.onnx`` path and ``download=False``: for such a path insightface 0.7 and 2.x
skip package manifests and the download branch, and only build an ONNX
Runtime session and route it (checked in ``model_zoo/model_zoo.py``).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from minorguard.locale.coded_error import Problem
from minorguard.locale.os_reasons import os_reason
from minorguard.models.base import ModelError, ModelFile, ModelPack, gaussian_age_distribution, sha256_of_file
from minorguard.models.detectors import nms_faces
from minorguard.types import Box, DetectedFace

__all__ = [
    "GENDERAGE_AGE_SD",
    "INSIGHTFACE_LICENCE",
    "InsightFaceAgeModel",
    "InsightFaceDetector",
    "InsightFaceEmbedder",
    "classify_onnx",
    "load_insightface_pack",
]

INSIGHTFACE_LICENCE = "non-commercial research only (insightface model packs)"
SOURCE = "user folder; never downloaded by minorguard"

# genderage.onnx gives one number (age / 100). insightface publishes no age
# error for it, so the spread is an assumption: 8 years, a Gaussian whose mean
# absolute error is 6.4 years -- wider than the 4-6 year MAE usual for small
# face-age regressors, because too narrow a spread would make P(under 18)
# overconfident, and a missed child is the costly error. Replace it with a
# measured figure once the benchmark runs on a real buffalo pack.
GENDERAGE_AGE_SD = 8.0
GENDERAGE_AGES = np.arange(0, 101, dtype=np.float32)  # the model's output is scaled by 100

# SCRFD on a dynamic-input model: insightface's default 640 px square, plus
# 1280 px because faces that shrink below ~10 px at 640 are missed, and
# identifiability is judged at about 2048 px on the long side.
DEFAULT_DETECTOR_SIZES: tuple[tuple[int, int], ...] = ((640, 640), (1280, 1280))

ROLE_DETECTOR, ROLE_GENDERAGE, ROLE_RECOGNITION = "detector", "genderage", "recognition"
# each role's description is the message catalogue's model.role_<role>
REQUIRED_ROLES = (ROLE_DETECTOR, ROLE_GENDERAGE, ROLE_RECOGNITION)


@dataclass(frozen=True, slots=True)
class OnnxSignature:
    """What the router looks at: input shape (None for a dynamic axis) and outputs."""

    path: Path
    input_shape: tuple[int | None, ...]
    input_count: int
    output_count: int
    output_shapes: tuple[tuple[int | None, ...], ...]

    def describe(self) -> str:
        shape = "x".join("?" if d is None else str(d) for d in self.input_shape)
        return f"input {shape}, {self.output_count} output(s)"


def _dims(value_info: Any) -> tuple[int | None, ...]:
    return tuple(int(d.dim_value) if d.dim_value > 0 else None for d in value_info.type.tensor_type.shape.dim)


def read_signature(path: Path) -> OnnxSignature:
    """The file's graph inputs and outputs, without loading weights into a session."""
    import onnx
    from google.protobuf.message import DecodeError

    try:
        try:
            model = onnx.load_model(str(path), load_external_data=False)
        except TypeError:  # very old onnx without the keyword
            model = onnx.load_model(str(path))
    except OSError as error:  # a file that cannot be read is not thereby "not a valid ONNX model"
        raise ModelError("onnx_unreadable", name=path.name, folder=path.parent, why=os_reason(error)) from None
    except (DecodeError, ValueError, RuntimeError) as error:
        raise ModelError("not_onnx", name=path.name, folder=path.parent, why=error) from None
    graph = model.graph
    # protobuf parses many non-ONNX byte strings into an empty message, so an
    # empty graph is the sign of a file that is not a model.
    if not graph.input or not graph.output or not graph.node:
        raise ModelError("not_onnx", name=path.name, folder=path.parent, why="no graph")
    initializers = {t.name for t in graph.initializer}
    inputs = [i for i in graph.input if i.name not in initializers]  # old exporters list weights as inputs
    if not inputs:
        raise ModelError("not_onnx", name=path.name, folder=path.parent, why="no inputs")
    return OnnxSignature(
        path=path,
        input_shape=_dims(inputs[0]),
        input_count=len(inputs),
        output_count=len(graph.output),
        output_shapes=tuple(_dims(o) for o in graph.output),
    )


def classify_onnx(sig: OnnxSignature) -> str | None:
    """The role insightface's ModelRouter would give this file, or None for roles we do not use.

    Mirrors ``ModelRouter.get_model`` in the same order, so a 192x192 landmark
    model or a 128x128 two-input swapper is recognised and left alone.
    """
    shape = sig.input_shape
    if sig.output_count >= 5:
        return ROLE_DETECTOR
    if len(shape) != 4:
        return None
    h, w = shape[2], shape[3]
    if h == 192 and w == 192:
        return None  # landmark_2d_106 / landmark_3d_68
    if h == 96 and w == 96:
        if sig.output_count == 1 and sig.output_shapes[0][-1:] == (3,):
            return ROLE_GENDERAGE
        return None  # another attribute model
    if sig.input_count == 2 and h == 128 and w == 128:
        return None  # inswapper
    if h is not None and h == w and h >= 112 and h % 16 == 0:
        return ROLE_RECOGNITION
    return None


def _session_options():
    import onnxruntime as ort

    # Same settings as minorguard's own sessions (models/onnx_session.py):
    # parallelism comes from checking several photos at once.
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    return options


def _zoo_model(sig: OnnxSignature, expected_task: str) -> Any:
    """One model through insightface's model_zoo, from a local path only."""
    path = sig.path.resolve()
    if path.suffix != ".onnx" or not path.is_file():
        # get_model treats a name without ".onnx" as a model to look up (and
        # possibly fetch) under ~/.insightface: never hand it one.
        raise ModelError("not_onnx_file", name=sig.path.name)
    try:
        from insightface.model_zoo import model_zoo
    except ImportError as error:
        raise ModelError("no_insightface", error=error) from None
    try:
        model = model_zoo.get_model(
            str(path), download=False, providers=["CPUExecutionProvider"], sess_options=_session_options()
        )
    except ModelError:
        raise
    except Exception as error:
        raise ModelError("onnx_did_not_load", name=sig.path.name, folder=sig.path.parent, error=error) from None
    task = getattr(model, "taskname", None)
    if model is None or task != expected_task:
        raise ModelError("wrong_task", name=sig.path.name, task=task or "nothing", expected=expected_task, signature=sig.describe())
    return model


def _ran(path: Path, call: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """``call(*args, **kwargs)``, a run of the model in ``path``; any failure of its own (a graph whose outputs do
    not fit its role, a kernel that fails) as a ModelError naming the file, never Python's words alone ("operands
    could not be broadcast together ...")."""
    try:
        return call(*args, **kwargs)
    except (ModelError, MemoryError):  # already said; out of memory is the photo's (Guard.check says so)
        raise
    except Exception as error:
        raise ModelError("run_failed", name=path.name, folder=path.parent, error=f"{type(error).__name__}: {str(error).strip()}") from None


def _model_file(role: str, description: str, path: Path, cache: dict[Path, str]) -> ModelFile:
    if path not in cache:  # ArcFace files are ~170 MB: hash once
        cache[path] = sha256_of_file(path)
    return ModelFile(role, description, str(path), cache[path], INSIGHTFACE_LICENCE, SOURCE)


def _bgr(rgb: np.ndarray) -> np.ndarray:
    # insightface models take OpenCV's BGR order (they swap to RGB inside blobFromImage).
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ModelError("not_rgb", shape=rgb.shape)
    return np.ascontiguousarray(rgb[..., ::-1])


def _fixed_size(shape: Sequence[Any]) -> tuple[int, int] | None:
    if len(shape) == 4 and all(isinstance(v, (int, np.integer)) and v > 0 for v in shape[2:4]):
        return int(shape[3]), int(shape[2])
    return None


class InsightFaceDetector:
    """SCRFD from the folder; boxes and five landmarks in input-image pixels."""

    def __init__(
        self,
        sig: OnnxSignature,
        score_threshold: float = 0.5,
        input_sizes: Sequence[tuple[int, int]] = DEFAULT_DETECTOR_SIZES,
        nms_iou: float = 0.4,
    ) -> None:
        self.path = sig.path
        self._model = _zoo_model(sig, "detection")
        if not getattr(self._model, "use_kps", False):
            raise ModelError("scrfd_without_landmarks", name=sig.path.name, outputs=sig.output_count)
        # det_thresh is set once here and never per call, so threads share it safely
        self._model.prepare(0, det_thresh=float(score_threshold), nms_thresh=nms_iou)
        fixed = _fixed_size(self._model.session.get_inputs()[0].shape)
        self.input_sizes = (fixed,) if fixed else tuple(input_sizes)
        self.score_threshold = score_threshold
        self.nms_iou = nms_iou
        self.name = f"scrfd:{sig.path.stem}"
        self._hashes: dict[Path, str] = {}

    def files(self) -> list[ModelFile]:
        return [_model_file("detector", f"SCRFD detector {self.path.name}", self.path, self._hashes)]

    def detect(self, rgb: np.ndarray) -> list[DetectedFace]:
        bgr = _bgr(rgb)
        h, w = bgr.shape[:2]
        faces: list[DetectedFace] = []
        # One call per size (the API both insightface 0.7 and 2.x share), merged below.
        for size in self.input_sizes:
            boxes, kpss = _ran(self.path, self._model.detect, bgr, input_size=size)
            for i in range(boxes.shape[0]):
                x1, y1 = max(0.0, float(boxes[i, 0])), max(0.0, float(boxes[i, 1]))
                x2, y2 = min(float(w), float(boxes[i, 2])), min(float(h), float(boxes[i, 3]))
                if x2 <= x1 or y2 <= y1:
                    continue
                marks = tuple((float(x), float(y)) for x, y in kpss[i]) if kpss is not None else ()
                faces.append(DetectedFace(Box(x1, y1, x2 - x1, y2 - y1), float(boxes[i, 4]), marks, self.name))
        return nms_faces(faces, self.nms_iou)


class InsightFaceAgeModel:
    """genderage: one age per face, spread into a Gaussian of GENDERAGE_AGE_SD years."""

    ages = GENDERAGE_AGES

    def __init__(self, sig: OnnxSignature, sd: float = GENDERAGE_AGE_SD) -> None:
        self.path = sig.path
        self._model = _zoo_model(sig, "genderage")
        self.sd = sd
        self.name = f"insightface-genderage:{sig.path.stem} (sd {sd:g} y)"
        self._hashes: dict[Path, str] = {}

    def files(self) -> list[ModelFile]:
        return [_model_file("age", f"genderage {self.path.name} (age as Gaussian, sd {self.sd:g} y)", self.path, self._hashes)]

    def point_ages(self, rgb: np.ndarray, faces: Sequence[DetectedFace]) -> np.ndarray:
        from insightface.app.common import Face

        bgr = _bgr(rgb)
        out = np.zeros(len(faces), np.float32)
        for i, face in enumerate(faces):
            b = face.box
            # Attribute.get crops around the box itself (1.5x the longer side).
            record = Face(bbox=np.array([b.x, b.y, b.x2, b.y2], np.float32))
            _gender, age = _ran(self.path, self._model.get, bgr, record)
            out[i] = float(age)
        return out

    def age_distributions(self, rgb: np.ndarray, faces: Sequence[DetectedFace]) -> np.ndarray:
        if not faces:
            return np.zeros((0, len(self.ages)), np.float32)
        return np.stack([gaussian_age_distribution(a, self.ages, self.sd) for a in self.point_ages(rgb, faces)])


class InsightFaceEmbedder:
    """ArcFace on a chip aligned by the detector's five landmarks (insightface norm_crop)."""

    def __init__(self, sig: OnnxSignature) -> None:
        self.path = sig.path
        self._model = _zoo_model(sig, "recognition")
        shape = self._model.output_shape
        self.dimension = int(shape[-1]) if isinstance(shape[-1], (int, np.integer)) else 512
        self.name = f"arcface:{sig.path.stem}"
        self._hashes: dict[Path, str] = {}
        self._lock = threading.Lock()

    def files(self) -> list[ModelFile]:
        return [_model_file("embedding", f"ArcFace {self.path.name} ({self.dimension}-D)", self.path, self._hashes)]

    def embed(self, rgb: np.ndarray, faces: Sequence[DetectedFace]) -> np.ndarray:
        from insightface.utils import face_align

        if not faces:
            return np.zeros((0, self.dimension), np.float32)
        bgr = _bgr(rgb)
        size = int(self._model.input_size[0])
        chips = []
        for face in faces:
            if len(face.landmarks) != 5:
                # no landmarks, no alignment: an unaligned embedding would match the wrong child
                raise ModelError("no_landmarks", detector=face.detector or "unknown detector")
            chips.append(face_align.norm_crop(bgr, landmark=np.asarray(face.landmarks, np.float32), image_size=size))
        vectors = np.asarray(_ran(self.path, self._model.get_feat, chips), dtype=np.float32).reshape(len(faces), -1)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors / np.maximum(norms, 1e-9)


def _find_roles(folder: Path) -> dict[str, OnnxSignature]:
    try:
        files = sorted(p for p in folder.iterdir() if p.suffix.lower() == ".onnx" and p.is_file())
    except OSError as error:  # a folder that cannot be listed: said with the system's reason, in the run's language
        raise ModelError("folder_unreadable", folder=folder, why=os_reason(error)) from None
    if not files:
        raise ModelError("no_onnx_files", folder=folder)
    found: dict[str, list[OnnxSignature]] = {}
    for path in files:
        sig = read_signature(path)
        role = classify_onnx(sig)
        if role is not None:
            found.setdefault(role, []).append(sig)
    missing = [role for role in REQUIRED_ROLES if role not in found]
    if missing:
        seen = ", ".join(f"{p.name}" for p in files)
        wanted = tuple(Problem(f"role_{role}") for role in missing)
        raise ModelError("folder_lacks", folder=folder, missing=", ".join(missing), wanted=wanted, seen=seen)
    for role, sigs in found.items():
        if len(sigs) > 1:
            names = ", ".join(s.path.name for s in sigs)
            raise ModelError("folder_several", folder=folder, n=len(sigs), role=role, names=names)
    return {role: sigs[0] for role, sigs in found.items()}


def _check_manifest(folder: Path, used: Sequence[Path]) -> None:
    """The files to be used against the sha256 in the folder's own ``manifest.json`` (insightface's packs since
    0.7.3 carry one): a file changed since refuses to load. An audit's forged graphs (a detector that finds no face)
    loaded beside a manifest insightface itself refused them by, and every photo passed."""
    manifest = folder / "manifest.json"
    if not manifest.is_file():
        return
    try:
        tasks = json.loads(manifest.read_text(encoding="utf-8")).get("tasks") or {}
        pinned = {str(entry["file"]): str(entry["sha256"]).lower() for entry in tasks.values()
                  if isinstance(entry, dict) and entry.get("file") and entry.get("sha256")}
    except (OSError, ValueError, AttributeError, TypeError, KeyError) as error:
        raise ModelError("bad_manifest", path=manifest, error=error) from None
    for path in used:
        if path.name in pinned and sha256_of_file(path) != pinned[path.name]:
            raise ModelError("manifest_mismatch", name=path.name, path=manifest)


# the trial picture: a plain grey square, and a face-sized box with five landmarks on it
TRIAL_SIDE = 128
TRIAL_FACE = DetectedFace(Box(32.0, 32.0, 64.0, 64.0), 1.0, ((50.0, 56.0), (78.0, 56.0), (64.0, 70.0), (53.0, 84.0), (75.0, 84.0)), "trial")


def _try_out(detector: InsightFaceDetector, age_model: InsightFaceAgeModel, embedder: InsightFaceEmbedder) -> None:
    """Run each model once on a grey picture before any photo is judged: a model that fails whatever the photo (a
    detector graph whose outputs do not fit SCRFD) stops the command here with one line naming it, instead of
    making every photo ERROR with Python's words. The detector runs at its fixed size, or at TRIAL_SIDE px: the
    graph's layout shows at any size, and a 128 px pass costs a twenty-fifth of a 640 px one."""
    grey = np.full((TRIAL_SIDE, TRIAL_SIDE, 3), 128, np.uint8)
    size = detector.input_sizes[0] if len(detector.input_sizes) == 1 else (TRIAL_SIDE, TRIAL_SIDE)
    try:
        _ran(detector.path, detector._model.detect, grey, input_size=size)
        age_model.point_ages(grey, [TRIAL_FACE])
        embedder.embed(grey, [TRIAL_FACE])
    except ModelError as error:
        if error.code != "run_failed":
            raise
        raise ModelError("trial_failed", **error.problems[0].params) from None


def load_insightface_pack(path: Path, detector_threshold: float) -> ModelPack:
    """A ModelPack from a folder of insightface ONNX files; raises ModelError naming what is wrong.

    Every model loads, and runs once on a trial picture, here: a model that cannot is found before any photo is
    judged (``minorguard models``, ``scan``, ``export``, ``review`` and ``Guard`` all stop with the same line),
    not by the first photo that needs it."""
    folder = Path(path).expanduser()
    if not folder.is_dir():
        raise ModelError("no_folder", folder=folder)
    roles = _find_roles(folder)
    _check_manifest(folder, [sig.path for sig in roles.values()])
    detector = InsightFaceDetector(roles[ROLE_DETECTOR], score_threshold=detector_threshold)
    age_model = InsightFaceAgeModel(roles[ROLE_GENDERAGE])
    # the ArcFace session (~170 MB) loads now too: loaded when a photo first needed it, a recognition model ONNX
    # Runtime refuses let a one-photo scan pass and made every photo of a grouped scan ERROR
    embedder = InsightFaceEmbedder(roles[ROLE_RECOGNITION])
    _try_out(detector, age_model, embedder)
    return ModelPack(
        name=f"insightface:{folder.name}",
        detector=detector,
        age_model=age_model,
        _embedder_factory=lambda: embedder,
        _embedder_name=embedder.name,  # known now: worker processes can describe the pack to the driver by name
        licence_note=(
            f"insightface models from {folder}: licensed {INSIGHTFACE_LICENCE}; "
            "minorguard never downloads them. Check the licence before any official use."
        ),
    )
