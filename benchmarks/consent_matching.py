"""Consent-register matching thresholds on ../shared/eval/age/fgnet_dev (same people at different ages).

    python -m benchmarks.consent_matching [--limit N]

Every photo goes through the scan path (default detector, dlib 5-point alignment,
dlib 128-D embedder); the detection that overlaps the landmark box best is the
subject's face. Genuine pairs are two photos of one subject (at different ages),
impostor pairs two photos of different subjects. Similarity is the cosine of the
L2-normalised embeddings, as ``consent_db.matcher`` uses it.

The match threshold is the lowest similarity at which at most 1 in 2,000 impostor
pairs match (the requirement, FMR <= 0.001, with a safety factor of 2 because the
threshold is chosen on the data it is measured on; ``held_out`` checks it on unseen
people); the review threshold the lowest with FMR <= 0.01, so a face between the two
goes to a person. Embeddings are cached in /work/cache (or
$MINORGUARD_CACHE) because extraction takes minutes on two cores.
"""

from __future__ import annotations

import argparse
import csv
import os
import time
from pathlib import Path

import numpy as np

from benchmarks.common import EVAL, print_table, require_shared, write_json

CACHE = Path(os.environ.get("MINORGUARD_CACHE", "/work/cache"))
GAP_BANDS = [("0-2", 0, 2), ("3-5", 3, 5), ("6-10", 6, 10), ("11-20", 11, 20), ("21+", 21, 10**9)]
# age of the younger photo in the pair: children change fastest
YOUNG_BANDS = [("0-12", 0, 12), ("13-17", 13, 17), ("18+", 18, 10**9)]
TARGET_FMR = 0.001  # the requirement: at most 1 false match in 1,000 pairs of different people
# The threshold is set on the same 41 people it is measured on, which flatters it: set on half of
# them, the 0.1% point gave 0.12% on the other half (mean of 20 splits). Choosing at half the
# target brings the held-out figure under 0.1%.
SAFETY = 2.0
REVIEW_FMR = 0.01


def extract(limit: int | None) -> dict:
    """Embeddings of fgnet_dev (cached): {paths, ages, subjects, embeddings, missed}."""
    from minorguard.models.pack import load_pack
    from minorguard.photos.decode import load_photo

    root = EVAL / "age" / "fgnet_dev"
    with open(root / "labels.csv", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))[:limit]
    pack = load_pack()
    # the detector's box feeds the landmark model: a changed detector means new embeddings
    tag = "".join(c if c.isalnum() else "_" for c in pack.detector.name)[:60]
    cache = CACHE / f"consent_matching_fgnet_dlib_{tag}_{len(rows)}.npz"
    if cache.is_file():
        data = np.load(cache, allow_pickle=False)
        return {k: data[k] for k in data.files}
    paths, ages, subjects, vectors, how = [], [], [], [], []
    start = time.perf_counter()
    for n, row in enumerate(rows):
        photo = load_photo(root / row["path"])
        face, source = subject_face(pack, photo, row)
        vectors.append(pack.embedder.embed(photo.pixels, [face])[0])
        paths.append(row["path"])
        ages.append(int(row["age"]))
        subjects.append(int(row["subject_id"]))
        how.append(source)
        if n % 50 == 0:
            print(f"{n}/{len(rows)} photos, {time.perf_counter() - start:.0f} s", flush=True)
    out = {
        "paths": np.array(paths),
        "ages": np.array(ages),
        "subjects": np.array(subjects),
        "embeddings": np.stack(vectors).astype(np.float32),
        "how": np.array(how),
    }
    CACHE.mkdir(parents=True, exist_ok=True)
    np.savez(cache, **out)
    return out


def subject_face(pack, photo, row: dict) -> tuple:
    """The labelled subject's face as the scan path finds it: ``(face, "detector")``, or the annotated landmark box
    where the detector missed it, so the pair still counts (``"landmark_box"``, reported)."""
    from minorguard.types import Box, DetectedFace

    truth = Box(*(float(row[k]) for k in ("lm_box_x", "lm_box_y", "lm_box_w", "lm_box_h")))
    best = max(pack.detector.detect(photo.pixels), key=lambda f: f.box.scaled(1 / photo.scale).iou(truth), default=None)
    if best is not None and best.box.scaled(1 / photo.scale).iou(truth) >= 0.3:
        return best, "detector"
    return DetectedFace(truth.scaled(photo.scale), 1.0), "landmark_box"


def detector_name() -> str:
    from minorguard.models.pack import default_detector

    return default_detector().name


def threshold_for_fmr(impostor: np.ndarray, fmr: float) -> float:
    """Lowest threshold t with mean(impostor >= t) <= fmr."""
    ordered = np.sort(impostor)[::-1]
    allowed = int(np.floor(fmr * len(ordered)))
    # t just above the (allowed+1)-th highest impostor score
    return float(np.nextafter(ordered[allowed], np.float32(np.inf))) if allowed < len(ordered) else float(ordered[-1])


def evaluate(data: dict) -> dict:
    emb, subjects, ages = data["embeddings"], data["subjects"], data["ages"]
    sims = emb @ emb.T
    iu = np.triu_indices(len(emb), k=1)
    scores = sims[iu]
    same = subjects[iu[0]] == subjects[iu[1]]
    gaps = np.abs(ages[iu[0]] - ages[iu[1]])
    younger = np.minimum(ages[iu[0]], ages[iu[1]])
    genuine, impostor = scores[same], scores[~same]
    match_t = threshold_for_fmr(impostor, TARGET_FMR / SAFETY)
    review_t = threshold_for_fmr(impostor, REVIEW_FMR)

    def rates(mask: np.ndarray) -> dict:
        g = scores[mask & same]
        return {
            "genuine_pairs": len(g),
            "gmr_at_match": round(float(np.mean(g >= match_t)), 4) if len(g) else None,
            "gmr_at_review": round(float(np.mean(g >= review_t)), 4) if len(g) else None,
        }

    by_gap = {name: rates((gaps >= lo) & (gaps <= hi)) for name, lo, hi in GAP_BANDS}
    by_young = {name: rates((younger >= lo) & (younger <= hi)) for name, lo, hi in YOUNG_BANDS}
    return {
        "match_threshold": round(match_t, 4),
        "review_threshold": round(review_t, 4),
        "fmr_at_match": float(np.mean(impostor >= match_t)),
        "fmr_at_review": float(np.mean(impostor >= review_t)),
        "genuine_pairs": len(genuine),
        "impostor_pairs": len(impostor),
        "overall": rates(np.ones_like(same)),
        "by_age_gap": by_gap,
        "by_younger_age": by_young,
        "impostor_similarity_p99_9": round(float(np.quantile(impostor, 0.999)), 4),
        "genuine_similarity_median": round(float(np.median(genuine)), 4),
    }


def held_out(data: dict, splits: int = 20, seed: int = 0) -> dict:
    """Thresholds chosen on half the subjects, measured on the other half (the figures above reuse the data)."""
    emb, subjects = data["embeddings"], data["subjects"]
    ids = np.unique(subjects)
    rng = np.random.default_rng(seed)
    fmrs, gmrs = [], []
    for _ in range(splits):
        chosen = set(rng.permutation(ids)[: len(ids) // 2].tolist())
        halves = []
        for keep in (True, False):
            mask = np.array([(s in chosen) == keep for s in subjects])
            e, s = emb[mask], subjects[mask]
            iu = np.triu_indices(len(e), k=1)
            scores = (e @ e.T)[iu]
            same = s[iu[0]] == s[iu[1]]
            halves.append((scores[same], scores[~same]))
        t = threshold_for_fmr(halves[0][1], TARGET_FMR / SAFETY)
        fmrs.append(float(np.mean(halves[1][1] >= t)))
        gmrs.append(float(np.mean(halves[1][0] >= t)))
    return {
        "splits": splits,
        "fmr_mean": round(float(np.mean(fmrs)), 5),
        "fmr_max": round(float(np.max(fmrs)), 5),
        "gmr_mean": round(float(np.mean(gmrs)), 4),
    }


def gallery(data: dict, match_t: float, review_t: float, margins=(0.0, 0.01, 0.02, 0.03)) -> dict:
    """Each photo as a probe against every subject's other photos (best per subject), as the register matches.

    Counts, per margin, probes confidently given to the right subject, to a wrong one,
    and sent to review as ambiguous (runner-up above the review threshold within the margin).
    """
    emb, subjects = data["embeddings"], data["subjects"]
    sims = emb @ emb.T
    np.fill_diagonal(sims, -1.0)
    ids = np.unique(subjects)
    per_subject = np.stack([np.where(subjects == s, sims, -1.0).max(axis=1) for s in ids], axis=1)
    order = np.argsort(per_subject, axis=1)[:, ::-1]
    rows = np.arange(len(emb))
    best, second = per_subject[rows, order[:, 0]], per_subject[rows, order[:, 1]]
    right = ids[order[:, 0]] == subjects
    out = {}
    for margin in margins:
        ambiguous = (best >= match_t) & (second >= review_t) & (best - second < margin)
        confident = (best >= match_t) & ~ambiguous
        out[f"margin_{margin}"] = {
            "confident_right": int(np.sum(confident & right)),
            "confident_wrong": int(np.sum(confident & ~right)),
            "ambiguous_review": int(np.sum(ambiguous)),
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=None)
    args = parser.parse_args()
    require_shared()
    data = extract(args.limit)
    result = evaluate(data)
    how = data["how"]
    result.update(
        dataset="fgnet_dev",
        photos=len(how),
        subjects=len(set(data["subjects"].tolist())),
        faces_from_detector=int(np.sum(how == "detector")),
        faces_from_landmark_box=int(np.sum(how == "landmark_box")),
        embedder="dlib-resnet-v1 (128-D, cosine similarity)",
        detector=detector_name(),
        target_fmr=TARGET_FMR,
        chosen_at_fmr=TARGET_FMR / SAFETY,
        review_fmr=REVIEW_FMR,
        note="Pairs of single photos. The register compares a face with every enrolment photo of every child, "
        "so the chance that a stranger crosses the match threshold for some child grows with the register's size.",
    )
    result["gallery_identification"] = gallery(data, result["match_threshold"], result["review_threshold"])
    result["held_out_subjects"] = held_out(data)
    write_json("consent_matching.json", result)
    print(f"match threshold {result['match_threshold']} (FMR {result['fmr_at_match']:.4%}), "
          f"review threshold {result['review_threshold']} (FMR {result['fmr_at_review']:.4%}); "
          f"{result['genuine_pairs']} genuine / {result['impostor_pairs']} impostor pairs")
    rows = [["all", result["overall"]["genuine_pairs"], result["overall"]["gmr_at_match"], result["overall"]["gmr_at_review"]]]
    rows += [[f"gap {k}", v["genuine_pairs"], v["gmr_at_match"], v["gmr_at_review"]] for k, v in result["by_age_gap"].items()]
    rows += [[f"younger {k}", v["genuine_pairs"], v["gmr_at_match"], v["gmr_at_review"]] for k, v in result["by_younger_age"].items()]
    print_table(["pairs", "n", "GMR@match", "GMR@review"], rows)
    h = result["held_out_subjects"]
    print(f"threshold set on half the subjects, measured on the other half ({h['splits']} splits): "
          f"FMR mean {h['fmr_mean']:.4%}, max {h['fmr_max']:.4%}; GMR mean {h['gmr_mean']:.1%}")
    print("gallery (each photo against the other photos of all subjects):")
    print_table(["margin", "right", "wrong", "review"], [[k.split("_")[1], v["confident_right"], v["confident_wrong"], v["ambiguous_review"]] for k, v in result["gallery_identification"].items()])


if __name__ == "__main__":
    main()
