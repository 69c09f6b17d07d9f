"""The benchmarks' own matching and sampling rules (no evaluation data needed)."""

from __future__ import annotations

from types import SimpleNamespace

from benchmarks.detection import match
from benchmarks.scan_accuracy import labelled_face, pick
from minorguard.types import Box


def test_match_is_one_to_one_at_iou_03():
    truth = [Box(0, 0, 20, 20), Box(100, 100, 20, 20)]
    found = [Box(1, 1, 20, 20), Box(2, 0, 20, 20), Box(300, 300, 10, 10)]
    hits, unmatched = match(truth, found)
    assert hits == [True, False]
    assert len(unmatched) == 2  # the duplicate and the stray box both count against precision


def test_pick_takes_the_same_stratified_subset_every_time():
    rows = [{"path": str(i), "age": float(i % 40), "box": None} for i in range(400)]
    first = pick(rows, 5)
    assert first == pick(rows, 5)
    bands = [r["age"] for r in first]
    assert sum(a < 13 for a in bands) == 5 and sum(13 <= a < 18 for a in bands) == 5
    assert sum(18 <= a < 25 for a in bands) == 5 and sum(a >= 25 for a in bands) == 5
    assert pick(rows, None) == rows


def test_labelled_face_must_contain_the_label_centre():
    near = SimpleNamespace(box=Box(40, 40, 30, 30))
    other = SimpleNamespace(box=Box(0, 0, 30, 30))
    result = SimpleNamespace(faces=[other, near])
    assert labelled_face(result, {"box": (45, 45, 20, 20)}, (200, 200)) is near
    assert labelled_face(result, {"box": None}, (110, 110)) is near  # UTKFace: the image centre
    assert labelled_face(result, {"box": (150, 150, 10, 10)}, (200, 200)) is None  # a miss
