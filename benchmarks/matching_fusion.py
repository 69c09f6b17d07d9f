"""Does FaceRes's identity feature help dlib match a child across photos? (issue 16, item 4)

    python -m benchmarks.matching_fusion [--splits 50]

On ../shared/eval/age/fgnet_dev (41 people photographed across their lives), every
photo goes through the scan path's detector (the annotated landmark box where it
missed the subject, counted). Per face: the dlib 128-D descriptor the register
uses today, and FaceRes's pooled 1024-D feature from the crop its age reading
already runs on (``s115``: the detector's box grown 15%), so the feature would
cost nothing at scan time. Scores are cosine similarities; the fusion is the sum
of the two cosines, each z-scored with the mean and spread of *different-person*
pairs.

Held out: the 41 people are split in half ``--splits`` times; the z-scores and
the match threshold (at most 1 false match in 2,000 pairs, the register's rule)
are set on one half and measured on the other. Reported per scorer: false match
rate and genuine match rate held out, overall, when the younger photo shows a
child of 0-12, and when the two photos are at most 2 years apart. Writes
benchmarks/results/matching_fusion.json.
"""

from __future__ import annotations

import argparse
import csv
import os
import time
from pathlib import Path

import numpy as np

from benchmarks.common import EVAL, print_table, require_shared, write_json
from benchmarks.consent_matching import SAFETY, TARGET_FMR, evaluate, gallery, subject_face, threshold_for_fmr
from benchmarks.consent_matching import held_out as held_out_thresholds

CACHE = Path(os.environ.get("MINORGUARD_CACHE", "/work/cache"))
SCORERS = ("dlib", "faceres", "fused")


def extract() -> dict:
    from minorguard.models.age_networks import FACERES_CROPS, crop_face
    from minorguard.models.pack import load_pack
    from minorguard.photos.decode import load_photo

    root = EVAL / "age" / "fgnet_dev"
    with open(root / "labels.csv", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    cache = CACHE / f"matching_fusion_fgnet_{len(rows)}.npz"
    if cache.is_file():
        data = np.load(cache, allow_pickle=False)
        return {k: data[k] for k in data.files}
    pack = load_pack()
    faceres = pack.age_model.faceres
    out: dict[str, list] = {"ages": [], "subjects": [], "dlib": [], "faceres": [], "how": []}
    start = time.perf_counter()
    for n, row in enumerate(rows):
        photo = load_photo(root / row["path"])
        face, how = subject_face(pack, photo, row)
        out["dlib"].append(pack.embedder.embed(photo.pixels, [face])[0])
        out["faceres"].append(faceres.features_from_crops([crop_face(photo.pixels, face.box, *FACERES_CROPS["s115"])])[0])
        out["ages"].append(int(row["age"]))
        out["subjects"].append(int(row["subject_id"]))
        out["how"].append(how)
        if n % 100 == 0:
            print(f"{n}/{len(rows)} photos, {time.perf_counter() - start:.0f} s", flush=True)
    data = {k: np.asarray(v) for k, v in out.items()}
    CACHE.mkdir(parents=True, exist_ok=True)
    np.savez(cache, **data)
    return data


def _unit(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, np.float64)
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def pair_scores(data: dict, mask: np.ndarray) -> dict:
    """Cosines of every pair among the masked faces, per embedder, with the pairs' truth and ages."""
    idx = np.flatnonzero(mask)
    iu = np.triu_indices(len(idx), k=1)
    a, b = idx[iu[0]], idx[iu[1]]
    out = {name: np.einsum("ij,ij->i", _unit(data[name])[a], _unit(data[name])[b]) for name in ("dlib", "faceres")}
    ages = data["ages"]
    out.update(same=data["subjects"][a] == data["subjects"][b], younger=np.minimum(ages[a], ages[b]), gap=np.abs(ages[a] - ages[b]))
    return out


def z_params(pairs: dict) -> dict:
    """Mean and spread of different-person cosines per embedder: the scale on which the two are summed."""
    imp = ~pairs["same"]
    return {name: (float(pairs[name][imp].mean()), float(pairs[name][imp].std())) for name in ("dlib", "faceres")}


def scored(pairs: dict, scorer: str, params: dict) -> np.ndarray:
    if scorer != "fused":
        return pairs[scorer]
    return sum((pairs[n] - params[n][0]) / params[n][1] for n in ("dlib", "faceres"))


def held_out(data: dict, splits: int, seed: int = 0) -> dict:
    ids = np.unique(data["subjects"])
    rng = np.random.default_rng(seed)
    bands = {"all": lambda p: np.ones_like(p["same"]), "younger_0_12": lambda p: p["younger"] <= 12, "gap_0_2": lambda p: p["gap"] <= 2}
    figures = {s: {"fmr": [], **{b: [] for b in bands}} for s in SCORERS}
    for _ in range(splits):
        chosen = np.isin(data["subjects"], rng.permutation(ids)[: len(ids) // 2])
        fit, test = pair_scores(data, chosen), pair_scores(data, ~chosen)
        params = z_params(fit)
        for s in SCORERS:
            t = threshold_for_fmr(scored(fit, s, params)[~fit["same"]], TARGET_FMR / SAFETY)
            score = scored(test, s, params)
            figures[s]["fmr"].append(float(np.mean(score[~test["same"]] >= t)))
            for b, select in bands.items():
                genuine = test["same"] & select(test)
                figures[s][b].append(float(np.mean(score[genuine] >= t)))
    summary = {}
    for s in SCORERS:
        summary[s] = {"fmr_mean": round(float(np.mean(figures[s]["fmr"])), 5), "fmr_max": round(float(np.max(figures[s]["fmr"])), 5)}
        for b in bands:
            summary[s][f"gmr_{b}"] = round(float(np.mean(figures[s][b])), 4)
    gains = np.asarray(figures["fused"]["younger_0_12"]) - np.asarray(figures["dlib"]["younger_0_12"])
    summary["fused_minus_dlib_children"] = {"mean": round(float(gains.mean()), 4), "splits_better": int(np.sum(gains > 0)),
                                            "splits_worse": int(np.sum(gains < 0))}
    return summary


def whole_set(data: dict) -> dict:
    """The thresholds an adoption would ship: z-scores and match threshold on all 41 people (FMR 1 in 2,000)."""
    pairs = pair_scores(data, np.ones(len(data["ages"]), bool))
    params = z_params(pairs)
    score = scored(pairs, "fused", params)
    return {"z": {n: {"mean": round(m, 5), "sd": round(sd, 5)} for n, (m, sd) in params.items()},
            "match_threshold": round(threshold_for_fmr(score[~pairs["same"]], TARGET_FMR / SAFETY), 4),
            "review_threshold": round(threshold_for_fmr(score[~pairs["same"]], 0.01), 4)}


def shipped(data: dict) -> dict:
    """The vectors the register stores (``fuse_identity``): the policy's thresholds and margin, as
    benchmarks.consent_matching sets them for dlib alone, side by side."""
    from minorguard.models.identity import fuse_identity

    out = {}
    for name, vectors in (("dlib", _unit(data["dlib"])), ("fused", fuse_identity(data["dlib"], data["faceres"]))):
        d = {"embeddings": vectors.astype(np.float32), "subjects": data["subjects"], "ages": data["ages"]}
        figures = evaluate(d)
        figures["gallery_identification"] = gallery(d, figures["match_threshold"], figures["review_threshold"])
        figures["held_out_subjects"] = held_out_thresholds(d)
        out[name] = figures
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--splits", type=int, default=50)
    args = parser.parse_args()
    require_shared()
    data = extract()
    result = {
        "dataset": "fgnet_dev", "photos": int(len(data["ages"])), "subjects": int(len(np.unique(data["subjects"]))),
        "faces_from_landmark_box": int(np.sum(data["how"] == "landmark_box")),
        "target_fmr": TARGET_FMR, "chosen_at_fmr": TARGET_FMR / SAFETY, "splits": args.splits,
        "held_out": held_out(data, args.splits), "whole_set": whole_set(data), "shipped": shipped(data),
    }
    write_json("matching_fusion.json", result)
    h = result["held_out"]
    print_table(["scorer", "FMR mean", "FMR max", "GMR all", "GMR child 0-12", "GMR gap 0-2"],
                [[s, f"{h[s]['fmr_mean']:.4%}", f"{h[s]['fmr_max']:.4%}", f"{h[s]['gmr_all']:.1%}", f"{h[s]['gmr_younger_0_12']:.1%}",
                  f"{h[s]['gmr_gap_0_2']:.1%}"] for s in SCORERS])
    print("fused - dlib, children:", h["fused_minus_dlib_children"])
    for name, f in result["shipped"].items():
        print(f"{name}: match {f['match_threshold']} review {f['review_threshold']}, GMR {f['overall']['gmr_at_match']:.1%}, "
              f"held out FMR {f['held_out_subjects']['fmr_mean']:.4%} (max {f['held_out_subjects']['fmr_max']:.4%}); gallery {f['gallery_identification']}")


if __name__ == "__main__":
    main()
