"""The age networks one by one and fused: who is a minor, leave one data set out.

    python -m benchmarks.age_networks [--crops]

Features come from ``training.extract_features`` (cached outside the repo; the
first run extracts them). For each of utkface / all_age_faces / fgnet_dev, the
estimator (``training.train_minor``: logistic score, isotonic calibration,
REVIEW threshold for 99.7% minor recall on each training set) is fitted on the
other two sets with one network's features, two, or all three, and measured on
the held-out set. A face the detector missed or judged not identifiable counts
as not flagged. ``--crops`` adds the crop study (box scale, mirror) for the
fusion. Output: ``benchmarks/results/age_networks.json`` and a printed table.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace
from typing import Any

import numpy as np

from benchmarks.common import print_table, require_shared, write_json
from training.extract_features import DATASETS
from training.train_minor import DEFAULT_SPEC, FUSED_SPEC, Config, Data, cross_dataset, load_data

CDF_AGES = FUSED_SPEC["cdf_ages"]
QUANTILES = FUSED_SPEC["quantiles"]


def _spec(*blocks: str) -> dict[str, Any]:
    return {"blocks": list(blocks), "cdf_ages": CDF_AGES, "quantiles": QUANTILES}


# one network, two, all three (the shipped fusion last); crops as shipped unless named
CANDIDATES: dict[str, Config] = {
    "cydral alone (before)": Config(spec=dict(DEFAULT_SPEC), fused=False),
    "faceres alone": Config(spec=_spec("net_quantiles:faceres", "net_log_expected:faceres")),
    "faceapi alone": Config(spec=_spec("net_log_age:faceapi")),
    "faceres + faceapi": Config(spec=_spec("net_quantiles:faceres", "net_log_expected:faceres", "net_log_age:faceapi")),
    "all three, cumulative log-odds": Config(spec=_spec("net_cdf_logits:faceres", "net_log_expected:faceres", "net_log_age:faceapi",
                                                        "net_cdf_logits:cydral", "net_log_expected:cydral")),
    "fusion (shipped)": Config(),
}
CROPS: dict[str, dict[str, tuple[str, ...]]] = {
    "faceres box x1.15, faceapi square x1.0 (shipped)": {},
    "faceres x1.15 + its mirror": {"faceres_variants": ("s115", "s115f")},
    "faceres x1.35": {"faceres_variants": ("s135",)},
    "faceapi square x1.2": {"faceapi_variants": ("q12",)},
    "faceapi square x1.2 + its mirror": {"faceapi_variants": ("q12", "q12f")},
    "faceapi square x1.4": {"faceapi_variants": ("q14",)},
}


def _rate(mask: np.ndarray, where: np.ndarray) -> float | None:
    return round(float(mask[where].mean()), 4) if where.any() else None


def figures(runs: dict[str, dict[str, Any]]) -> dict[str, Any]:
    out = {}
    for name, run in runs.items():
        d, p, t = run["data"], run["p"], run["thresholds"]["review"]
        flagged = np.where(d.usable, p >= t, False)
        out[name] = {
            "review_threshold": round(float(t), 5),
            "minor_recall": _rate(flagged, d.minor),
            "0-12": _rate(flagged, d.age < 13), "13-17": _rate(flagged, (d.age >= 13) & (d.age < 18)),
            "18-24 flagged": _rate(flagged, (d.age >= 18) & (d.age < 25)), "25+ flagged": _rate(flagged, d.age >= 25),
            "25+ flagged at 99.5% recall set on the held-out set itself": _oracle(p, d),
            "25+ blocked (P >= 0.5)": _rate(np.where(d.usable, p >= 0.5, False), d.age >= 25),
            "minors at P >= 0.5": _rate(np.where(d.usable, p >= 0.5, False), d.minor),
        }
    return out


def _oracle(p: np.ndarray, d: Data, recall: float = 0.995) -> float | None:
    """25+ flagged if the threshold were set on the held-out set for ``recall``: how well the estimate ranks."""
    minors = np.sort(np.where(d.usable, p, -1.0)[d.minor])
    if not len(minors):
        return None
    t = minors[int(np.floor((1 - recall) * len(minors)))]
    return _rate(np.where(d.usable, p >= t, False), d.age >= 25)


def young_children_read_as_adults(data: Data, config: Config) -> list[dict[str, Any]]:
    """Faces aged 0-12, at least 64 px high, whose estimated age is 18 or older, with their P(under 18) held out.

    The estimate is the one the pipeline reports: the geometric mean of FaceRes's and face-api's ages.
    """
    from minorguard.faces.minor_model import network_ages

    readings = data.readings(config)
    expected = np.full(len(data.age), np.nan)
    for i in np.flatnonzero(data.usable):
        ages = network_ages(readings[i])
        expected[i] = np.expm1((np.log1p(ages["faceres"]) + np.log1p(ages["faceapi"])) / 2)
    hit = data.usable & (data.age < 13) & (data.face_h >= 64) & (expected >= 18)
    return [{"path": str(data.path[i]), "age": int(data.age[i]), "estimated": round(float(expected[i]), 1)} for i in np.flatnonzero(hit)]


def time_per_face(repeats: int = 30) -> dict[str, float]:
    """ms per face of each network on this CPU (one face, one thread), on the sample portrait."""
    from pathlib import Path

    from minorguard.models.age_networks import FaceApiAgeModel, FaceResAgeModel
    from minorguard.models.dlib_models import CydralAgeModel
    from minorguard.models.pack import default_detector
    from minorguard.photos.decode import load_photo

    photo = load_photo(Path(__file__).resolve().parents[1] / "sample_images" / "faceaisharp_obama_family.jpg")
    faces = default_detector().detect(photo.pixels)
    out = {}
    cydral, faceres, faceapi = CydralAgeModel(), FaceResAgeModel(), FaceApiAgeModel()
    jobs = {
        "cydral (chip + mirror)": lambda: cydral.age_distributions(photo.pixels, faces),
        "faceres": lambda: faceres.distributions(photo.pixels, [f.box for f in faces]),
        "faceapi (crop + mirror)": lambda: faceapi.predict_ages(photo.pixels, [f.box for f in faces]),
    }
    for name, job in jobs.items():
        job()
        start = time.perf_counter()
        for _ in range(repeats):
            job()
        out[name] = round((time.perf_counter() - start) * 1000 / (repeats * len(faces)), 2)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--crops", action="store_true", help="also the crop study for the fusion")
    args = parser.parse_args(argv)
    require_shared()
    data = load_data()
    if data.faceres is None:
        print("the feature cache predates the age networks: run python -m training.extract_features")
        return 2
    result: dict[str, Any] = {"method": __doc__.split("\n\n")[1], "held_out": {}}
    for name, config in CANDIDATES.items():
        result["held_out"][name] = figures(cross_dataset(config, data))
    if args.crops:
        result["crops"] = {name: figures(cross_dataset(replace(Config(), **change), data)) for name, change in CROPS.items()}
    young = young_children_read_as_adults(data, Config())
    fusion = cross_dataset(Config(), data)
    held_p = {str(path): p for run in fusion.values() for path, p in zip(run["data"].path, run["p"])}
    review = {held: run["thresholds"]["review"] for held, run in fusion.items()}
    for item in young:
        p = held_p[item["path"]]
        item["p_under_18_held_out"] = round(float(p), 4)
        item["flagged_held_out"] = bool(p >= review[item["path"].split("/")[2]])
    result["young_children_read_as_adults"] = young
    result["ms_per_face"] = time_per_face()
    rows = []
    for name, per_set in result["held_out"].items():
        for held in DATASETS:
            f = per_set[held]
            rows.append([name, held, f["minor_recall"], f["18-24 flagged"], f["25+ flagged"], f["25+ blocked (P >= 0.5)"]])
    print_table(["estimator", "held out", "minor recall", "18-24 flagged", "25+ flagged", "25+ P>=0.5"], rows)
    unflagged = [y for y in young if not y["flagged_held_out"]]
    print(f"0-12 and >= 64 px estimated 18+: {len(young)}, of them not flagged held out: {len(unflagged)}")
    for item in unflagged:
        print(f"  {item['path']} (age {item['age']}, estimated {item['estimated']}, P {item['p_under_18_held_out']})")
    print(f"ms per face: {result['ms_per_face']}")
    write_json("age_networks.json", result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
