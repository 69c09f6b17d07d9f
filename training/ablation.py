"""What the ablation scripts share: the photo and face box the feature extractor saw, and the report.

Each ablation recomputes one candidate input per labelled face from the boxes that
:mod:`training.extract_features` cached (no detector run: seconds, not half an hour),
then reruns the leave-one-dataset-out validation of :mod:`training.train_minor`.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from training.extract_features import DATASETS, cache_path, pad_chip

__all__ = ["data_after_extract", "extract_per_face", "photo_at_box", "report"]


def data_after_extract(argv: list[str] | None, doc: str, extract_help: str, extract: Callable[[str], None]) -> Any:
    """The command line of an ablation: ``--extract`` runs ``extract`` on every age set; then the cached features."""
    from training.train_minor import load_data

    parser = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    parser.add_argument("--extract", action="store_true", help=extract_help)
    if parser.parse_args(argv).extract:
        for dataset in DATASETS:
            extract(dataset)
    return load_data()


def extract_per_face(dataset: str, one: Callable[[int], Any], shape: tuple[int, ...], path: Path, key: str, **also: Any) -> None:
    """``one(i)`` for each labelled face the extractor detected (two threads), saved as ``key`` in ``path``.

    Rows of faces it did not detect stay NaN; ``also`` is saved beside (names of the columns, say).
    """
    detected = np.load(cache_path(dataset))["detected"]
    values = np.full((len(detected), *shape), np.nan, np.float32)
    found = np.flatnonzero(detected)
    with ThreadPoolExecutor(2) as pool:
        for i, value in zip(found, pool.map(one, found)):
            values[i] = value
    np.savez_compressed(path, **{key: values}, **also)
    print(f"wrote {path}", flush=True)


def photo_at_box(dataset: str, row: dict, box: np.ndarray, policy: Any) -> tuple[np.ndarray, tuple[float, float, float, float]]:
    """RGB pixels as the extractor saw them (UTKFace chips padded) and the cached box (x, y, w, h) in them."""
    from minorguard.photos.decode import load_photo

    photo = load_photo(row["path"], max_pixels=policy.max_pixels, target_long_side=policy.publish_long_side)
    rgb, offset = pad_chip(photo.pixels) if dataset == "utkface" else (photo.pixels, 0)
    x, y, w, h = (float(v) * photo.scale for v in box)
    return rgb, (x + offset, y + offset, w, h)


def _test_set_trade_off(run: dict) -> str:
    """25+ flagged at 97% and 99.5% minor recall, thresholds picked on the held-out set itself (the best possible)."""
    d, p = run["data"], np.where(run["data"].usable, run["p"], -1.0)
    cells = []
    for recall in (0.97, 0.995):
        threshold = np.sort(p[d.minor])[int(np.floor((1 - recall) * d.minor.sum()))]
        cells.append(f"{recall:.1%}: {(p[d.age >= 25] >= threshold).mean():.1%}")
    return ", ".join(cells)


def report(name: str, runs: dict[str, dict[str, Any]]) -> None:
    """The held-out figures of one candidate, as train_minor's summary plus the test-set trade-off."""
    from training.train_minor import summary

    print(name)
    for line, run in zip(summary(runs), runs.values()):
        print(f"  {line}\n  {'':14s} 25+ flagged at the test set's own threshold: {_test_set_trade_off(run)}", flush=True)
