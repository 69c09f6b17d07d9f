"""Ablation: the age model's own 256 features (before its last layer) beside the summaries of its output.

The Cydral network ends in global average pooling to 256 values and one linear
layer to 81 ages. The 81 probabilities keep only what that layer projects out
for age; the 256 values might tell a child's face from an adult's that the age
layer reads as old. Per labelled face the pooled features of the shipped chip
and its mirror image are averaged (as the pipeline averages their outputs) and
appended to the estimator's inputs, at several strengths of regularisation.

    python -m training.ablation_penultimate [--extract]

Needs the feature caches of ``training.extract_features`` (the detected boxes);
``--extract`` writes ``minor_pool_<dataset>.npz`` beside them (about a minute on two
cores for all three sets). Measured 2026-11-27: worse on every held-out set (MODEL_CARD.md).
"""

from __future__ import annotations

import numpy as np

from training.ablation import data_after_extract, extract_per_face, photo_at_box, report
from training.extract_features import CACHE, DATASETS, cache_path, read_labels
from training.train_minor import Config, cross_dataset

POOLED = "layer_1_flatten"  # the graph's name for the pooled features feeding the age layer


def _path(dataset: str):
    return CACHE / f"minor_pool_{dataset}.npz"


def _pooled_session(path: str):
    import onnx
    import onnxruntime as ort

    model = onnx.load(path)
    model.graph.output.append(onnx.helper.make_tensor_value_info(POOLED, onnx.TensorProto.FLOAT, None))
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    return ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])


def extract(dataset: str) -> None:
    from minorguard.models.dlib_models import CydralAgeModel
    from minorguard.rules.policy import load_policy
    from minorguard.types import Box, DetectedFace

    policy, age = load_policy(None), CydralAgeModel()
    session = _pooled_session(str(age.path))
    rows, cached = read_labels(dataset), np.load(cache_path(dataset))

    def one(i: int) -> np.ndarray:
        rgb, (x, y, w, h) = photo_at_box(dataset, rows[i], cached["box"][i], policy)
        chip = age.chips(rgb, [DetectedFace(Box(x, y, w, h), 1.0)])[0]
        pooled = session.run([POOLED], age.model_input([chip, chip[:, ::-1]]))[0]
        return pooled.mean(axis=0)

    extract_per_face(dataset, one, (256,), _path(dataset), "pooled")


def main(argv: list[str] | None = None) -> int:
    data = data_after_extract(argv, __doc__, "read every labelled face's pooled features first", extract)
    pooled = np.concatenate([np.load(_path(d))["pooled"] for d in DATASETS])
    report("age features only", cross_dataset(Config(), data))
    for c in (0.003, 0.01, 0.03, 0.1):
        data.extra = np.log1p(pooled)
        report(f"+ 256 pooled (log1p), C={c}", cross_dataset(Config(c=c), data))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
