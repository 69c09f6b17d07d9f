"""How far P(under 18) moves when a small face's box moves by one pixel.

The real ``Guard`` lost one 13-year-old of 10,321 labelled photos when CenterFace
went to 8 bits: a 45 px face whose box grew by 1 px went from P 0.036 (just over
the review line) to 0.007. This measures how often that happens: faces drawn
from each age set and band alike (after the feature extractor's detection), the photo shrunk so
the face is ``--face-px`` tall, then assessed by the pipeline (``Guard.assess``)
at the box and at six boxes moved or grown by one pixel, landmarks moved with
them. Reported per age band: flagged at the box, and how often the flag (P at or
above the policy's review line) differs between the seven boxes.

    python -m benchmarks.box_jitter [--per-set 150] [--face-px 45]

Needs the feature caches of ``training.extract_features`` (the detected boxes).
"""

from __future__ import annotations

import argparse

import numpy as np

from benchmarks.common import print_table, require_shared, write_json

MOVES = ((0, 0, 0, 0), (1, 0, 0, 0), (-1, 0, 0, 0), (0, 1, 0, 0), (0, -1, 0, 0), (0, 0, 1, 1), (0, 0, -1, -1))
BANDS = (("0-12", 0, 13), ("13-17", 13, 18), ("18-24", 18, 25), ("25+", 25, 200))


def probabilities(per_set: int, face_px: float) -> tuple[np.ndarray, np.ndarray]:
    """Ages and, per face, P(under 18) at each of MOVES."""
    import cv2

    from minorguard import Guard
    from minorguard.types import Box, DetectedFace
    from training.ablation import photo_at_box
    from training.extract_features import DATASETS, cache_path, read_labels

    guard = Guard()
    rng = np.random.default_rng(0)
    ages, rows_p = [], []
    for dataset in DATASETS:
        labels, cached = read_labels(dataset), np.load(cache_path(dataset))
        drawn = [rng.permutation(np.flatnonzero(cached["detected"] & (cached["age"] >= low) & (cached["age"] < high)))[:per_set // len(BANDS)]
                 for _, low, high in BANDS]  # as many of each age band: the teenagers near the line are the risk
        for i in np.concatenate(drawn):
            rgb, (x, y, w, h) = photo_at_box(dataset, labels[i], cached["box"][i], guard.policy)
            box = cached["box"][i]
            scale = face_px / h  # the photo shrunk so the face is face_px tall; the landmarks follow the box
            to_photo = w / float(box[2])
            ox, oy = x - float(box[0]) * to_photo, y - float(box[1]) * to_photo
            rgb = cv2.resize(rgb, (max(1, round(rgb.shape[1] * scale)), max(1, round(rgb.shape[0] * scale))), interpolation=cv2.INTER_AREA)
            photo = guard._load(rgb, "box_jitter")
            points = [((float(px) * to_photo + ox) * scale, (float(py) * to_photo + oy) * scale) for px, py in cached["det_landmarks"][i]]
            p = []
            for dx, dy, dw, dh in MOVES:
                face = DetectedFace(Box(x * scale + dx, y * scale + dy, w * scale + dw, h * scale + dh), 0.9,
                                    tuple((px + dx, py + dy) for px, py in points), "box_jitter")
                [assessed] = guard.assess(photo, [face])
                p.append(assessed.age.p_under_18 if assessed.age is not None else np.nan)
            ages.append(int(cached["age"][i]))
            rows_p.append(p)
    return np.array(ages), np.array(rows_p)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--per-set", type=int, default=200, help="faces per age set, shared equally by the four age bands")
    parser.add_argument("--face-px", type=float, default=45.0)
    args = parser.parse_args()
    require_shared()
    from minorguard.rules.policy import load_policy

    line = load_policy(None).minor_review_probability
    ages, p = probabilities(args.per_set, args.face_px)
    flagged = p >= line
    differs = flagged.any(axis=1) != flagged.all(axis=1)
    logit = np.log(np.clip(p, 1e-4, 1 - 1e-4) / (1 - np.clip(p, 1e-4, 1 - 1e-4)))
    moved = np.abs(logit[:, 1:] - logit[:, :1]).max(axis=1)
    bands, rows = {}, []
    for name, low, high in BANDS:
        m = (ages >= low) & (ages < high)
        bands[name] = {"faces": int(m.sum()), "flagged_at_box": float(flagged[m, 0].mean()),
                       "flag_differs_between_boxes": float(differs[m].mean()), "flagged_at_every_box": float(flagged[m].all(axis=1).mean()),
                       "boxes_not_flagged": float(1 - flagged[m].mean())}
        rows.append([name, int(m.sum()), f"{flagged[m, 0].mean():.1%}", f"{differs[m].mean():.1%}", f"{flagged[m].all(axis=1).mean():.1%}", f"{1 - flagged[m].mean():.2%}"])
    print_table(["ages", "faces", "flagged at the box", "flag differs between boxes", "flagged at every box", "boxes not flagged"], rows)
    print(f"largest move of logit P over the six boxes: median {np.median(moved):.2f}, 90th percentile {np.percentile(moved, 90):.2f}")
    path = write_json("box_jitter.json", {"face_px": args.face_px, "per_set": args.per_set, "review_line": line,
                                          "moves": [list(m) for m in MOVES], "bands": bands,
                                          "logit_move_median": float(np.median(moved)), "logit_move_p90": float(np.percentile(moved, 90))})
    print(f"written {path}")


if __name__ == "__main__":
    main()
