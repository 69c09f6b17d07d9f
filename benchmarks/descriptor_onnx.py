"""Is the ONNX descriptor dlib's own? (issue 16, item 4: face-api.js's copy of dlib's network as a speed lever)

    python -m benchmarks.descriptor_onnx        # needs the test extra (face-recognition-models: dlib's weights)

On ../shared/eval/age/fgnet_dev (504 photos of 41 people), each subject's face as the
scan path finds it (benchmarks.consent_matching.subject_face) is described three ways
on dlib's aligned 150 px chip: by dlib's own network (dlib.face_recognition_model_v1,
the weights of face-recognition-models), by the shipped ONNX copy
(minorguard.models.dlib_models.DlibEmbedder), and by dlib's own network with the
face's box moved one pixel right and down: the noise every threshold already lives
with, since detectors and crops move boxes by that much. For every pair of photos,
each decision the policy takes on these descriptions (consent match and review on
the fused description with FaceRes's feature, grouping, the known-adult match and the
one-person check on dlib's part) is compared with dlib's own: how many pairs cross the
threshold, up or down, and how many of those are two different people. Also the time
per face of each network on one core. Writes benchmarks/results/descriptor_onnx.json.
"""

from __future__ import annotations

import csv
import time

import numpy as np

from benchmarks.common import EVAL, print_table, require_shared, write_json
from benchmarks.consent_matching import subject_face


def describe() -> dict:
    import dlib
    import face_recognition_models

    from minorguard.models.age_networks import FACERES_CROPS, crop_face
    from minorguard.models.dlib_models import EMBED_CHIP_PADDING, EMBED_CHIP_SIZE
    from minorguard.models.pack import load_pack
    from minorguard.photos.decode import load_photo
    from minorguard.types import Box, DetectedFace

    root = EVAL / "age" / "fgnet_dev"
    with open(root / "labels.csv", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    pack = load_pack()
    embedder, faceres = pack.embedder, pack.age_model.faceres
    aligner = embedder.aligner
    own_net = dlib.face_recognition_model_v1(face_recognition_models.face_recognition_model_location())
    out: dict[str, list] = {"subjects": [], "own": [], "onnx": [], "shifted": [], "faceres": []}
    seconds = {"own": 0.0, "onnx": 0.0}
    for row in rows:
        photo = load_photo(root / row["path"])
        face, _how = subject_face(pack, photo, row)
        b = face.box
        moved = DetectedFace(Box(b.x + 1, b.y + 1, b.width, b.height), face.score, face.landmarks, face.detector)
        chip = aligner.chip(photo.pixels, aligner.shape(photo.pixels, face), EMBED_CHIP_SIZE, EMBED_CHIP_PADDING)
        moved_chip = aligner.chip(photo.pixels, aligner.shape(photo.pixels, moved), EMBED_CHIP_SIZE, EMBED_CHIP_PADDING)
        t = time.perf_counter()
        out["own"].append(np.asarray(own_net.compute_face_descriptor(chip), np.float64))
        seconds["own"] += time.perf_counter() - t
        t = time.perf_counter()
        out["onnx"].append(embedder._session.run(None, {"input": chip[None].astype(np.float32)})[0][0])
        seconds["onnx"] += time.perf_counter() - t
        out["shifted"].append(np.asarray(own_net.compute_face_descriptor(moved_chip), np.float64))
        out["faceres"].append(faceres.features_from_crops([crop_face(photo.pixels, face.box, *FACERES_CROPS["s115"])])[0])
        out["subjects"].append(row["subject_id"])
    data = {k: np.asarray(v) for k, v in out.items()}
    for k in ("own", "onnx", "shifted"):
        data[k] = data[k] / np.linalg.norm(data[k], axis=1, keepdims=True)
    data["ms_per_face"] = {k: 1000 * v / len(rows) for k, v in seconds.items()}
    return data


def main() -> None:
    require_shared()
    from minorguard.models.identity import fuse_identity
    from minorguard.rules.policy import load_policy

    data = describe()
    policy = load_policy()
    n = len(data["subjects"])
    upper = np.triu_indices(n, 1)
    same = (data["subjects"][:, None] == data["subjects"][None, :])[upper]
    own, fused_own = data["own"], fuse_identity(data["own"], data["faceres"])
    cosines = {"onnx": (own * data["onnx"]).sum(1), "shifted": (own * data["shifted"]).sum(1)}
    decisions = [  # name, threshold, fused description?, both sides described the new way?
        ("consent match (stored by dlib, probe by the other)", policy.consent_match_threshold, True, False),
        ("consent review (stored by dlib, probe by the other)", policy.consent_review_threshold, True, False),
        ("grouping (both by the other)", policy.grouping_threshold, True, True),
        ("known adult match, dlib part (stored by dlib)", policy.known_adult_match_threshold, False, False),
        ("one person at enrolment, dlib part (both)", 0.955, False, True),
    ]
    results = []
    for name, threshold, fused, both in decisions:
        before_matrix = fused_own if fused else own
        before = (before_matrix @ before_matrix.T)[upper]
        row = {"decision": name, "threshold": round(float(threshold), 4), "pairs": int(len(before)),
               "above_with_dlib": int((before >= threshold).sum())}
        for other in ("onnx", "shifted"):
            other_matrix = fuse_identity(data[other], data["faceres"]) if fused else data[other]
            after = (other_matrix @ (other_matrix if both else before_matrix).T)[upper]
            up, down = (before < threshold) & (after >= threshold), (before >= threshold) & (after < threshold)
            row[other] = {"up": int(up.sum()), "up_different_people": int((up & ~same).sum()),
                          "down": int(down.sum()), "down_same_person": int((down & same).sum()),
                          "max_abs_change": round(float(np.abs(after - before).max()), 5)}
        results.append(row)
    print(f"{n} fgnet_dev faces; cosine to dlib's own descriptor: ONNX min {cosines['onnx'].min():.5f} mean "
          f"{cosines['onnx'].mean():.5f}; dlib's own with the box moved 1 px: min {cosines['shifted'].min():.5f} "
          f"mean {cosines['shifted'].mean():.5f}; ms per face: dlib {data['ms_per_face']['own']:.1f}, "
          f"ONNX {data['ms_per_face']['onnx']:.1f}")
    print_table(
        ["decision", "t", "above (dlib)", "ONNX: up (diff. people) / down", "1 px: up (diff. people) / down"],
        [[r["decision"], r["threshold"], r["above_with_dlib"],
          f"{r['onnx']['up']} ({r['onnx']['up_different_people']}) / {r['onnx']['down']}",
          f"{r['shifted']['up']} ({r['shifted']['up_different_people']}) / {r['shifted']['down']}"] for r in results],
    )
    out = write_json("descriptor_onnx.json", {
        "faces": n,
        "cosine_to_dlib": {k: {"min": round(float(v.min()), 6), "mean": round(float(v.mean()), 6)} for k, v in cosines.items()},
        "ms_per_face_one_core": {k: round(v, 2) for k, v in data["ms_per_face"].items()},
        "decisions": results,
    })
    print(f"written {out}")


if __name__ == "__main__":
    main()
