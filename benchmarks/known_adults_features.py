"""Per-face features of ``../shared/eval/age/fgnet_dev`` for the known-adults benchmark (cached).

    python -m benchmarks.known_adults_features

Every photo goes through the scan path's own pieces (``load_photo``, the
default pack's detector at the default policy's threshold, identifiability,
the Cydral age distribution, the dlib 128-D embedding); the detection that
overlaps the landmark box best is the subject's face. Everything a minor
estimator may use is kept (age distribution, detector landmarks, face height,
sharpness, greyscale flag), so the benchmark can re-run any estimator without
the models. The cache lives outside the repository (``/work/cache`` or
``$MINORGUARD_CACHE``): the data's licence forbids shipping per-image derivatives.
"""

from __future__ import annotations

import csv
import os
import sys
import time
from pathlib import Path

import numpy as np

from benchmarks.common import EVAL, require_shared

CACHE = Path(os.environ.get("MINORGUARD_CACHE", "/work/cache"))
CACHE_FILE = CACHE / "known_adults_fgnet_dev.npz"
MIN_IOU = 0.3


def fingerprint() -> str:
    """Changes whenever the models' code or the detection/identifiability policy does: the cache is then rebuilt."""
    import hashlib

    from minorguard.rules.policy import load_policy

    root = Path(__file__).resolve().parents[1] / "minorguard"
    digest = hashlib.sha256()
    for path in sorted((root / "models").glob("*.py")) + [root / "faces" / "quality.py", root / "photos" / "decode.py", root / "weights" / "minor_estimator.json"]:
        digest.update(path.read_bytes())
    policy = load_policy(None)
    digest.update(repr((policy.detector_threshold, policy.publish_long_side, policy.min_face_px, policy.min_sharpness)).encode())
    return digest.hexdigest()[:16]


def _description_width(pack) -> int:
    if pack.consent_embedder is pack.embedder:
        return 128
    return pack.consent_embedder.embed(np.zeros((8, 8, 3), np.uint8), []).shape[1]


def extract() -> dict[str, np.ndarray]:
    """{path, age, subject, found, identifiable, probs, embedding, landmarks, face_h, sharpness, gray}."""
    current = fingerprint()
    if CACHE_FILE.is_file():
        data = np.load(CACHE_FILE, allow_pickle=False)
        if "fingerprint" in data.files and str(data["fingerprint"]) == current:
            return {k: data[k] for k in data.files}
        print("models or policy changed since the cache was made: extracting again", flush=True)
    from minorguard.faces.quality import assess_identifiability, face_sharpness, publish_scale
    from minorguard.models.pack import load_pack
    from minorguard.photos.decode import load_photo
    from minorguard.pipeline import _is_gray
    from minorguard.rules.policy import load_policy
    from minorguard.types import Box

    policy = load_policy(None)
    pack = load_pack(None, policy.detector_threshold)
    root = EVAL / "age" / "fgnet_dev"
    with open(root / "labels.csv", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    n = len(rows)
    out = {
        "path": np.array([r["path"] for r in rows]),
        "age": np.array([int(r["age"]) for r in rows], np.int16),
        "subject": np.array([int(r["subject_id"]) for r in rows], np.int32),
        "found": np.zeros(n, bool),
        "identifiable": np.zeros(n, bool),
        "probs": np.full((n, len(pack.age_model.ages)), np.nan, np.float32),
        "ages_grid": np.asarray(pack.age_model.ages, np.float32),
        "embedding": np.full((n, 128), np.nan, np.float32),
        # what grouping clusters and consent matching compares (pack.consent_vectors)
        "described": np.full((n, _description_width(pack)), np.nan, np.float32),
        "landmarks": np.full((n, 5, 2), np.nan, np.float32),
        "face_h": np.zeros(n, np.float32),
        "sharpness": np.zeros(n, np.float32),
        "gray": np.zeros(n, bool),
        "fingerprint": np.array(current),
    }
    networks = getattr(pack.age_model, "read", None)  # the fused pack: each network's own reading too
    if networks is not None:
        out.update(reading_cydral=np.full((n, 81), np.nan, np.float32), reading_faceres=np.full((n, 100), np.nan, np.float32),
                   reading_faceapi=np.full((n, 1), np.nan, np.float32))
    start = time.perf_counter()
    for i, row in enumerate(rows):
        try:
            photo = load_photo(root / row["path"], max_pixels=policy.max_pixels, target_long_side=policy.publish_long_side)
            truth = Box(*(float(row[k]) for k in ("lm_box_x", "lm_box_y", "lm_box_w", "lm_box_h")))
            faces = pack.detector.detect(photo.pixels)
            best = max(faces, key=lambda f: f.box.scaled(1 / photo.scale).iou(truth), default=None)
            if best is None or best.box.scaled(1 / photo.scale).iou(truth) < MIN_IOU:
                continue  # a miss: the scan would not see this face either
            sharp = face_sharpness(photo.pixels, best)
            ident = assess_identifiability(
                best.box.height / photo.scale, sharp, publish_scale(photo.width, photo.height, policy.publish_long_side),
                policy.min_face_px, policy.min_sharpness,
            )
            out["found"][i] = True
            out["identifiable"][i] = ident.identifiable
            out["probs"][i] = pack.age_model.age_distributions(photo.pixels, [best])[0]
            if networks is not None:
                for name, value in networks(photo.pixels, [best])[0].items():
                    out[f"reading_{name}"][i] = value
            out["embedding"][i] = pack.embedder.embed(photo.pixels, [best])[0]
            out["described"][i] = pack.consent_vectors(photo.pixels, [best], out["embedding"][i : i + 1])[0]
            if best.landmarks:
                out["landmarks"][i] = np.asarray(best.landmarks, np.float32).reshape(5, 2)
            out["face_h"][i] = best.box.height
            out["sharpness"][i] = sharp
            out["gray"][i] = _is_gray(photo.pixels)
        except Exception as error:
            print(f"{row['path']}: {type(error).__name__}: {error}", file=sys.stderr)
        if i % 50 == 0:
            print(f"{i}/{n} photos, {time.perf_counter() - start:.0f} s", flush=True)
    CACHE.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(CACHE_FILE, **out)
    return out


if __name__ == "__main__":
    require_shared()
    data = extract()
    print(f"{int(data['found'].sum())}/{len(data['found'])} faces found; cache {CACHE_FILE}")
