"""How often does a stranger's child match an enrolled child? The age line of consent matching, measured.

    python -m benchmarks.infant_matching [--aaf-max-age 7]

A consent match on a face the age model reads as younger than ``[consent] match_alone_from_age`` goes to a person
(``consent_young``; the line was 4 years, for babies, until this benchmark), and under 18 a match needs
``minor_match_threshold``. This measures the line on labelled faces the register's thresholds were not set on as well
as on FG-NET:

* ``../shared/eval/age/all_age_faces``: one photo per person, so every pair is two different people; its faces aged
  0 to ``--aaf-max-age`` (the labelled keypoint box picks the detected face);
* ``../shared/eval/age/fgnet_dev``: 41 people photographed across their lives (genuine pairs too).

Per face, what a scan computes: the default pack's detector face, the fused consent embedding (dlib + FaceRes) and
the fused age estimate's expected age (``Guard.assess``). Every ordered pair (scanned face, enrolled face) of
different people is an impostor trial; each is counted under the scanned face's *estimated* age (the rule acts on
it) and under the pair's true ages. Reported at the policy's match and review thresholds: the false match rate per
band, how many false matches the infant rule sends to a person, and, on FG-NET's genuine pairs, how many true matches
of a scanned baby it sends to a person (its cost). Then a register: ``K`` children enrolled at random (one photo
each), every face of everyone else as a stranger scanned against them with the matcher's rules (best match, a
runner-up within the margin makes it ambiguous), 300 draws per size: how many strangers' children pass on someone's
consent, and how many of the enrolled FG-NET children's other photos are matched, under three rules: the match
threshold alone (before), higher thresholds by age (considered), and the shipped rule.
Writes benchmarks/results/infant_matching.json.
"""

from __future__ import annotations

import argparse
import csv
import os
import time
from pathlib import Path

import numpy as np

from benchmarks.common import EVAL, print_table, require_shared, write_json

CACHE = Path(os.environ.get("MINORGUARD_CACHE", "/work/cache"))  # outside the repository: derived per image
EST_BANDS = ((0, 2), (2, 4), (4, 6), (6, 8), (8, 13), (13, 200))
TRUE_BANDS = {"both 0-3": lambda a, b: (a <= 3) & (b <= 3), "one 0-3, other 4-7": lambda a, b: ((a <= 3) & (b >= 4) & (b <= 7)) | ((b <= 3) & (a >= 4) & (a <= 7)),
              "both 4-7": lambda a, b: (a >= 4) & (a <= 7) & (b >= 4) & (b <= 7), "any": lambda a, b: np.ones_like(a, bool)}


def _rows(aaf_max_age: int) -> list[dict]:
    rows = []
    with open(EVAL / "age" / "all_age_faces" / "labels.csv", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            if int(row["age"]) <= aaf_max_age:
                rows.append({"set": "all_age_faces", "path": EVAL / "age" / "all_age_faces" / row["path"], "age": int(row["age"]),
                             "person": f"aaf{row['person_id']}", "box": [float(row[f"kp_box_{k}"]) for k in "xywh"]})
    with open(EVAL / "age" / "fgnet_dev" / "labels.csv", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            rows.append({"set": "fgnet_dev", "path": EVAL / "age" / "fgnet_dev" / row["path"], "age": int(row["age"]),
                         "person": f"fg{row['subject_id']}", "box": [float(row[f"lm_box_{k}"]) for k in "xywh"]})
    return rows


def extract(rows: list[dict]) -> dict:
    """Per labelled face: embedding, expected age, true age, person; faces the detector missed are left out (counted)."""
    cache = CACHE / f"infant_matching_v2_{len(rows)}.npz"
    if cache.is_file():
        stored = np.load(cache, allow_pickle=False)
        return {k: stored[k] for k in stored.files}
    from minorguard.pipeline import Guard
    from minorguard.types import Box

    guard = Guard()
    embedder = guard.pack.consent_embedder
    out = {"vectors": [], "expected": [], "low": [], "disagreement": [], "ages": [], "persons": [], "sets": []}
    missed, start = 0, time.perf_counter()
    for n, row in enumerate(rows):
        photo = guard._load(str(row["path"]), str(row["path"]))
        truth = Box(*row["box"])
        faces = guard.detect(photo)
        best = max(faces, key=lambda f: f.box.scaled(1 / photo.scale).iou(truth), default=None)
        if best is None or best.box.scaled(1 / photo.scale).iou(truth) < 0.3:
            missed += 1
            continue
        age = guard.assess(photo, [best])[0].age
        out["vectors"].append(embedder.embed(photo.pixels, [best])[0])
        out["expected"].append(np.nan if age is None else age.expected)
        out["low"].append(np.nan if age is None else age.low)
        out["disagreement"].append(bool(age is not None and age.disagreement))
        out["ages"].append(row["age"])
        out["persons"].append(row["person"])
        out["sets"].append(row["set"])
        if n % 200 == 0:
            print(f"{n}/{len(rows)} photos, {time.perf_counter() - start:.0f} s", flush=True)
    data = {k: np.asarray(v) for k, v in out.items()}
    data["missed"] = np.asarray(missed)
    CACHE.mkdir(parents=True, exist_ok=True)
    np.savez(cache, **data)
    return data


def similarities(data: dict) -> np.ndarray:
    """Cosine similarity of every pair of faces' consent descriptions."""
    v = np.asarray(data["vectors"], np.float64)
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    return v @ v.T


def measure(data: dict, sim: np.ndarray, match: float, review: float, alone_from_age: float) -> dict:
    n = len(sim)
    scanned, enrolled = np.nonzero(~np.eye(n, dtype=bool))  # ordered pairs: each face as the scanned one
    same = data["persons"][scanned] == data["persons"][enrolled]
    score = sim[scanned, enrolled]
    expected = data["expected"][scanned]
    ages_a, ages_b = data["ages"][scanned], data["ages"][enrolled]
    low, split = data["low"][scanned], data["disagreement"][scanned]
    to_person = np.isnan(low) | (low < alone_from_age) | split  # what the rule does with a match on the scanned face
    out: dict = {"faces": int(n), "missed_by_detector": int(data["missed"]), "match_threshold": match,
                 "review_threshold": review, "match_alone_from_age": alone_from_age, "by_estimated_age": {}, "by_true_ages": {}}
    impostor = ~same
    for lo, hi in EST_BANDS:
        sel = impostor & (expected >= lo) & (expected < hi)
        out["by_estimated_age"][f"{lo}-{hi if hi < 200 else ''}"] = {
            "impostor_trials": int(sel.sum()), "false_matches": int(np.sum(score[sel] >= match)),
            "fmr_at_match": round(float(np.mean(score[sel] >= match)), 6) if sel.any() else None,
            "fmr_at_review": round(float(np.mean(score[sel] >= review)), 5) if sel.any() else None}
    for name, band in TRUE_BANDS.items():
        sel = impostor & band(ages_a, ages_b)
        false = sel & (score >= match)
        out["by_true_ages"][name] = {"impostor_trials": int(sel.sum()), "false_matches": int(false.sum()),
                                     "fmr_at_match": round(float(false.sum() / max(sel.sum(), 1)), 6),
                                     "false_matches_sent_to_a_person": int(np.sum(false & to_person))}
    false = impostor & (score >= match)
    out["false_matches"] = {"all": int(false.sum()), "sent_to_a_person_by_the_rule": int(np.sum(false & to_person)),
                            "passed_on_the_match": int(np.sum(false & ~to_person))}
    genuine = same & (ages_a <= 3)
    matched = genuine & (score >= match)
    out["genuine_scanned_0_3"] = {"pairs": int(genuine.sum()), "matched": int(matched.sum()),
                                  "sent_to_a_person_by_the_rule": int(np.sum(matched & to_person))}
    true_0_3 = data["ages"] <= 3
    young = (data["low"] < alone_from_age) | data["disagreement"]
    out["true_0_3_faces_estimated_under_line"] = f"{int(np.sum(true_0_3 & young))} of {int(true_0_3.sum())}"
    under_13 = data["ages"] <= 12
    out["true_under_13_faces_a_match_settles"] = f"{int(np.sum(under_13 & ~young))} of {int(under_13.sum())}"
    return out


RULES = {
    "match threshold alone (before)": lambda e, p, low, split: np.full(len(e), p.consent_match_threshold),
    "0.93 under 8, 0.905 under 13, 0.89 under 18 (considered)": lambda e, p, low, split: np.where(
        e < 8, 0.93, np.where(e < 13, 0.905, np.where(e < 18, 0.89, p.consent_match_threshold))),
    # the rule acts on the low end of the estimate and on the networks' disagreement (minorguard.rules.decide)
    "shipped: a person when the low end is under match_alone_from_age or the networks disagree, minor_match_threshold under 18 there": lambda e, p, low, split: np.where(
        np.isnan(low) | (low < p.consent_alone_from_age) | split, np.inf,
        np.where(low < 18, max(p.consent_minor_match_threshold, p.consent_match_threshold), p.consent_match_threshold)),
}


def register_trials(data: dict, sim: np.ndarray, policy, sizes=(5, 20, 100), bands=((0, 13), (13, 18)), draws: int = 300,
                    seed: int = 0) -> dict:
    """Strangers and enrolled children banded by their TRUE age: a child the estimator reads older still counts."""
    persons, expected, ages = data["persons"], data["expected"], data["ages"]
    everyone = np.unique(persons)
    out: dict = {}
    for lo, hi in bands:
        for k in sizes:
            rng = np.random.default_rng(seed)
            passed = {r: [0, 0] for r in RULES}
            matched = {r: [0, 0] for r in RULES}
            for _ in range(draws):
                enrolled = rng.choice(everyone, k, replace=False)
                refs = np.array([rng.choice(np.flatnonzero(persons == p)) for p in enrolled])
                strangers = np.flatnonzero(~np.isin(persons, enrolled) & (ages >= lo) & (ages < hi))
                known = np.flatnonzero(np.isin(persons, enrolled) & ~np.isin(np.arange(len(persons)), refs)
                                       & (ages >= lo) & (ages < hi))
                for probes, tally, right in ((strangers, passed, None), (known, matched, persons[refs])):
                    if not len(probes):
                        continue
                    scores = sim[np.ix_(probes, refs)]
                    ranked = np.sort(scores, axis=1)[:, ::-1]
                    best = ranked[:, 0]
                    runner = ranked[:, 1] if k > 1 else np.full(len(best), -1.0)
                    ambiguous = (runner >= policy.consent_review_threshold) & (best - runner < policy.consent_margin)
                    correct = np.ones(len(best), bool) if right is None else right[np.argmax(scores, axis=1)] == persons[probes]
                    for rule, threshold in RULES.items():
                        ok = (best >= threshold(expected[probes], policy, data["low"][probes], data["disagreement"][probes])) & ~ambiguous & correct
                        tally[rule][0] += int(ok.sum())
                        tally[rule][1] += len(probes)
            out[f"true age {lo}-{hi - 1}, {k} enrolled"] = {
                rule: {"strangers_passed": round(passed[rule][0] / max(passed[rule][1], 1), 5),
                       "enrolled_matched": round(matched[rule][0] / max(matched[rule][1], 1), 4)} for rule in RULES}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--aaf-max-age", type=int, default=7)
    args = parser.parse_args()
    require_shared()
    from minorguard.rules.policy import load_policy

    policy = load_policy()
    rows = _rows(args.aaf_max_age)
    start = time.perf_counter()
    data = extract(rows)
    sim = similarities(data)
    result = measure(data, sim, policy.consent_match_threshold, policy.consent_review_threshold, policy.consent_alone_from_age)
    result["register"] = register_trials(data, sim, policy)
    result.update(seconds=round(time.perf_counter() - start), aaf_max_age=args.aaf_max_age)
    write_json("infant_matching.json", result)
    print_table(["scanned face's estimated age", "impostor trials", "false matches", "FMR at match", "FMR at review"],
                [[k, v["impostor_trials"], v["false_matches"], v["fmr_at_match"], v["fmr_at_review"]] for k, v in result["by_estimated_age"].items()])
    print_table(["true ages of the pair", "impostor trials", "false matches", "FMR at match", "sent to a person by the rule"],
                [[k, v["impostor_trials"], v["false_matches"], v["fmr_at_match"], v["false_matches_sent_to_a_person"]] for k, v in result["by_true_ages"].items()])
    print("false matches:", result["false_matches"], "| genuine, scanned 0-3:", result["genuine_scanned_0_3"],
          "| true 0-3 estimated under the line:", result["true_0_3_faces_estimated_under_line"],
          "| true under-13s a match settles alone:", result["true_under_13_faces_a_match_settles"])
    print_table(["register", "rule", "strangers' children passed", "enrolled child's other photos matched"],
                [[where, rule, f"{v['strangers_passed']:.3%}", f"{v['enrolled_matched']:.1%}"]
                 for where, rules in result["register"].items() for rule, v in rules.items()])


if __name__ == "__main__":
    main()
