"""One place that builds ONNX Runtime sessions, so thread settings stay consistent."""

from __future__ import annotations

import onnxruntime as ort

__all__ = ["make_session"]


def make_session(model: bytes | str, threads: int = 1) -> ort.InferenceSession:
    # One intra-op thread per session: parallelism comes from processing
    # several photos at once (check_many), which scales better on 2 cores.
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    return ort.InferenceSession(model, sess_options=options, providers=["CPUExecutionProvider"])
