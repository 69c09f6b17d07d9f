"""Extract per-face features from ``../shared/eval/age`` through minorguard's own pipeline pieces.

For every labelled photo: decode as the pipeline does (``load_photo``), detect
with the default pack's detector at the default policy's threshold, keep the
face nearest the centre (UTKFace chips are padded by half their size first,
because the detectors miss faces that fill the whole frame), and record what
the minor estimator may use at run time (the age model's distribution,
landmarks, face height, sharpness, greyscale flag) plus a few test-time
variants of the age chip (horizontal flip, tighter and looser crops) to measure
whether they pay. A photo with no detection is kept with ``detected=False``:
it counts as a miss for minor recall.

Results are cached in ``/work/cache/minor_features_<dataset>.npz`` (outside the
repository: the data's licences forbid shipping anything derived per image).

    python -m training.extract_features [--datasets fgnet_dev,...] [--workers 1] [--embedding]
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("MINORGUARD_SHARED", ROOT.parent / "shared"))
AGE_EVAL = SHARED / "eval" / "age"
CACHE = Path(os.environ.get("MINORGUARD_CACHE", ROOT.parent / "cache"))
DATASETS = ("utkface", "all_age_faces", "fgnet_dev")

# (name, padding of the 64 px age chip, mirrored). The pipeline averages "p20" and
# "p20f" (minorguard.models.dlib_models.AGE_VARIANTS); the others serve the ablation.
# crops for the two npm networks, as the run-time model names them (minorguard.models.age_networks)
from minorguard.models.age_networks import FACEAPI_CROPS, FACERES_CROPS  # noqa: E402

FACERES_VARIANTS = tuple((name, *spec) for name, spec in FACERES_CROPS.items())
FACEAPI_VARIANTS = tuple((name, *spec) for name, spec in FACEAPI_CROPS.items())
VARIANTS = (("p20", 0.2, False), ("p20f", 0.2, True), ("p10", 0.1, False), ("p10f", 0.1, True), ("p35", 0.35, False), ("p35f", 0.35, True))


def cache_path(dataset: str, embedding: bool = False) -> Path:
    return CACHE / f"minor_features_{dataset}{'_emb' if embedding else ''}.npz"


def read_labels(dataset: str) -> list[dict]:
    """Rows with path, age, group (subject), gender (0 male, 1 female, -1 unknown), race (-1 unknown), gt box."""
    base = AGE_EVAL / dataset
    rows = []
    with open(base / "labels.csv", newline="", encoding="utf-8") as handle:
        for i, row in enumerate(csv.DictReader(handle)):
            if dataset == "utkface":
                group, gender, race, box = f"utk{i}", int(row["gender"]), int(row["race"]), None
            elif dataset == "all_age_faces":
                group = f"aaf{row['person_id']}"
                gender = {"M": 0, "F": 1}.get(row.get("gender", ""), -1)
                race = -1
                box = [float(row[f"kp_box_{k}"]) for k in "xywh"]
            else:
                group, gender, race = f"fg{row['subject_id']}", -1, -1
                box = [float(row[f"lm_box_{k}"]) for k in "xywh"]
            rows.append({"path": str(base / row["path"]), "rel": f"eval/age/{dataset}/{row['path']}", "age": int(row["age"]),
                         "group": group, "gender": gender, "race": race, "gt_box": box})
    return rows


def pad_chip(rgb: np.ndarray) -> tuple[np.ndarray, int]:
    """An aligned face chip (UTKFace) padded by half its size, so the detectors see a whole head; and the offset."""
    h, w = rgb.shape[:2]
    return cv2.copyMakeBorder(rgb, h // 2, h // 2, w // 2, w // 2, cv2.BORDER_CONSTANT, value=0), h // 2


class Extractor:
    def __init__(self, embedding: bool = False) -> None:
        from minorguard.models.pack import load_pack
        from minorguard.rules.policy import load_policy

        self.policy = load_policy(None)
        self.pack = load_pack(None, self.policy.detector_threshold)
        self.age = getattr(self.pack.age_model, "cydral", self.pack.age_model)  # Cydral's own chips and variants
        self.embedder = self.pack.embedder if embedding else None
        from minorguard.models.age_networks import FaceApiAgeModel, FaceResAgeModel

        self.faceres, self.faceapi = FaceResAgeModel(), FaceApiAgeModel()

    def one(self, row: dict, utk: bool) -> dict:
        from minorguard.faces.quality import assess_identifiability, face_sharpness, publish_scale
        from minorguard.photos.decode import load_photo
        from minorguard.pipeline import _is_gray

        policy = self.policy
        photo = load_photo(row["path"], max_pixels=policy.max_pixels, target_long_side=policy.publish_long_side)
        rgb, scale = photo.pixels, photo.scale
        offset = 0.0
        if utk:
            rgb, offset = pad_chip(rgb)
        faces = self.pack.detector.detect(rgb)
        out = {"n_faces": len(faces), "detected": bool(faces)}
        if not faces:
            return out
        cy, cx = rgb.shape[0] / 2, rgb.shape[1] / 2
        face = min(faces, key=lambda f: (f.box.x + f.box.width / 2 - cx) ** 2 + (f.box.y + f.box.height / 2 - cy) ** 2)
        sharp = face_sharpness(rgb, face)
        full_h = face.box.height / scale
        ident = assess_identifiability(full_h, sharp, publish_scale(photo.width, photo.height, policy.publish_long_side), policy.min_face_px, policy.min_sharpness)
        aligner = self.age.aligner
        shape = aligner.shape(rgb, face)
        chips = []
        for _, padding, mirrored in VARIANTS:
            chip = aligner.chip(rgb, shape, 64, padding)
            chips.append(np.ascontiguousarray(chip[:, ::-1]) if mirrored else chip)
        probs = self.age.distributions_from_chips(chips)
        b = face.box
        gt_iou = np.nan
        if row["gt_box"] is not None:
            from minorguard.types import Box

            gt_iou = Box(*row["gt_box"]).iou(b.scaled(1 / scale))
        out.update(
            probs=probs.astype(np.float32),
            box=np.array([b.x - offset, b.y - offset, b.width, b.height], np.float32) / scale,
            det_score=face.score,
            det_landmarks=np.array(face.landmarks if face.landmarks else np.full((5, 2), np.nan), np.float32).reshape(5, 2),
            dlib_points=aligner.points(shape),
            face_h=face.box.height,
            sharpness=sharp,
            identifiable=ident.identifiable,
            gray=_is_gray(rgb),
            gt_iou=gt_iou,
        )
        if self.embedder is not None:
            out["embedding"] = self.embedder.embed(rgb, [face])[0]
        from minorguard.models.age_networks import crop_face

        out["faceres_probs"] = self.faceres.distributions_from_crops(
            [crop_face(rgb, face.box, s, sq, m) for _, s, sq, m in FACERES_VARIANTS]).astype(np.float32)
        out["faceapi_age"] = self.faceapi.ages_from_crops(
            [crop_face(rgb, face.box, s, sq, m) for _, s, sq, m in FACEAPI_VARIANTS]).astype(np.float32)
        return out


def extract(dataset: str, extractor: Extractor, workers: int = 1, limit: int | None = None, every: int = 1) -> Path:
    rows = read_labels(dataset)[::every][:limit]
    utk = dataset == "utkface"
    n, v = len(rows), len(VARIANTS)
    probs = np.full((n, v, len(extractor.age.ages)), np.nan, np.float32)
    arrays = {
        "detected": np.zeros(n, bool), "identifiable": np.zeros(n, bool), "gray": np.zeros(n, bool),
        "n_faces": np.zeros(n, np.int16), "det_score": np.zeros(n, np.float32), "face_h": np.zeros(n, np.float32),
        "sharpness": np.zeros(n, np.float32), "gt_iou": np.full(n, np.nan, np.float32), "box": np.full((n, 4), np.nan, np.float32),
        "det_landmarks": np.full((n, 5, 2), np.nan, np.float32), "dlib_points": np.full((n, 5, 2), np.nan, np.float32),
    }
    embeddings = np.full((n, 128), np.nan, np.float32) if extractor.embedder is not None else None
    arrays["faceres_probs"] = np.full((n, len(FACERES_VARIANTS), 100), np.nan, np.float32)
    arrays["faceapi_age"] = np.full((n, len(FACEAPI_VARIANTS)), np.nan, np.float32)
    start = time.perf_counter()

    def work(i: int) -> tuple[int, dict]:
        try:
            return i, extractor.one(rows[i], utk)
        except Exception as error:
            print(f"{rows[i]['rel']}: {type(error).__name__}: {error}", file=sys.stderr)
            return i, {"n_faces": 0, "detected": False}

    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        for done, (i, res) in enumerate(pool.map(work, range(n)), 1):
            for key, value in res.items():
                if key == "probs":
                    probs[i] = value
                elif key == "embedding":
                    embeddings[i] = value
                else:
                    arrays[key][i] = value
            if done % 250 == 0 or done == n:
                rate = done / (time.perf_counter() - start)
                print(f"{dataset}: {done}/{n} ({rate:.1f}/s)", flush=True)
    CACHE.mkdir(parents=True, exist_ok=True)
    path = cache_path(dataset)
    extra = {"embedding": embeddings} if embeddings is not None else {}
    np.savez_compressed(
        path, probs=probs, ages_grid=extractor.age.ages, variants=np.array([name for name, _, _ in VARIANTS]),
        faceres_variants=np.array([v[0] for v in FACERES_VARIANTS]), faceapi_variants=np.array([v[0] for v in FACEAPI_VARIANTS]),
        age=np.array([r["age"] for r in rows], np.int16), group=np.array([r["group"] for r in rows]),
        gender=np.array([r["gender"] for r in rows], np.int8), race=np.array([r["race"] for r in rows], np.int8),
        path=np.array([r["rel"] for r in rows]), seconds=time.perf_counter() - start, detector=extractor.pack.detector.name, **arrays, **extra,
    )
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", default=",".join(DATASETS))
    parser.add_argument("--workers", type=int, default=1, help="photos in flight (2 uses both cores)")
    parser.add_argument("--embedding", action="store_true", help="also compute the 128-D dlib embedding (~+0.15 s/face)")
    parser.add_argument("--limit", type=int, default=None, help="first N photos only (smoke test)")
    parser.add_argument("--every", default="", help="subsample, e.g. utkface=2: every 2nd labelled photo of that set")
    args = parser.parse_args(argv)
    if not AGE_EVAL.is_dir():
        print(f"evaluation data not found at {AGE_EVAL} (set MINORGUARD_SHARED)", file=sys.stderr)
        return 2
    extractor = Extractor(args.embedding)
    every = {k: int(v) for k, v in (item.split("=") for item in args.every.split(",") if item)}
    for dataset in args.datasets.split(","):
        print(f"wrote {extract(dataset, extractor, args.workers, args.limit, every.get(dataset, 1))}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
