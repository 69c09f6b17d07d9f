"""Grouping faces across a batch: pure logic on plain vectors, then the real embedder."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from minorguard.faces.grouping import EmbeddingStore, cluster_embeddings, group_results
from minorguard.rules.policy import Policy
from minorguard.types import (
    AgeEstimate,
    Box,
    FaceAction,
    FaceCategory,
    FaceDecision,
    Identifiability,
    PhotoResult,
    ReasonCode,
    Verdict,
)

POLICY = Policy(minor_rule="calibrated", grouping_threshold=0.9, grouping_linkage="average", grouping_faces="all")
ADULT_AGE = AgeEstimate(40, 33, 47, 0.01, "test")
CHILD_AGE = AgeEstimate(9, 6, 12, 0.95, "test")
UNSURE_AGE = AgeEstimate(20, 15, 26, 0.2, "test")
TEEN_AGE = AgeEstimate(16, 12, 21, 0.4, "test")


def unit(v) -> np.ndarray:
    v = np.asarray(v, np.float32)
    return v / np.linalg.norm(v)


def person(seed: int, dim: int = 16) -> np.ndarray:
    return unit(np.random.default_rng(seed).normal(size=dim))


def near(base: np.ndarray, seed: int, noise: float = 0.1) -> np.ndarray:
    return unit(base + noise * np.random.default_rng(1000 + seed).normal(size=base.shape) / np.sqrt(base.size))


def decision(index: int, age: AgeEstimate | None, identifiable: bool = True) -> FaceDecision:
    return FaceDecision(
        index=index,
        box=Box(0, 0, 50, 50),
        score=0.9,
        category=FaceCategory.ADULT,
        action=FaceAction.ALLOW,
        reason=ReasonCode.ADULT,
        identifiability=Identifiability(identifiable, 50, 30, None if identifiable else ReasonCode.TOO_SMALL),
        age=age,
    )


def photo(source: str, *faces: FaceDecision) -> PhotoResult:
    return PhotoResult(source=source, verdict=Verdict.PASS, sha256="0" * 64, faces=tuple(faces))


def test_cluster_separates_two_people_and_joins_each():
    a, b = person(1), person(2)
    vectors = np.stack([near(a, 1), near(b, 2), near(a, 3), near(b, 4), near(a, 5)])
    labels = cluster_embeddings(vectors, 0.9)
    assert labels.tolist() == [0, 1, 0, 1, 0]


def test_cluster_threshold_one_keeps_everyone_apart():
    a = person(1)
    vectors = np.stack([near(a, i) for i in range(4)])
    assert len(set(cluster_embeddings(vectors, 0.99999).tolist())) == 4
    assert len(set(cluster_embeddings(vectors, 0.5).tolist())) == 1


@pytest.mark.parametrize("n", [0, 1])
def test_cluster_tiny_inputs(n):
    assert cluster_embeddings(np.zeros((n, 8), np.float32) + 1, 0.9).tolist() == [0] * n


def test_complete_linkage_does_not_chain():
    # a chain a - m - b where a and b are far apart but each is close to m
    a, b = unit([1, 0, 0]), unit([0, 1, 0])
    m = unit(a + b)
    vectors = np.stack([a, m, b])
    assert len(set(cluster_embeddings(vectors, 0.7, "single").tolist())) == 1
    assert len(set(cluster_embeddings(vectors, 0.7, "complete").tolist())) == 2


def test_group_results_fills_group_on_every_identifiable_face():
    a, b = person(1), person(2)
    results = [
        photo("p1.jpg", decision(0, ADULT_AGE), decision(1, ADULT_AGE), decision(2, None, identifiable=False)),
        photo("p2.jpg", decision(0, ADULT_AGE)),
        photo("p3.jpg", decision(0, ADULT_AGE)),
    ]
    store = EmbeddingStore()
    store.put("p1.jpg", 0, near(a, 1))
    store.put("p1.jpg", 1, near(b, 2))
    store.put("p2.jpg", 0, near(b, 3))
    store.put("p3.jpg", 0, near(a, 4))
    batch = group_results(results, store.as_mapping(), POLICY)
    groups = {(r.source, f.index): f.group for r in batch.results for f in r.faces}
    assert groups[("p1.jpg", 0)] == groups[("p3.jpg", 0)] == 1
    assert groups[("p1.jpg", 1)] == groups[("p2.jpg", 0)] == 2
    assert groups[("p1.jpg", 2)] is None  # not identifiable: nothing to decide
    assert [g.size for g in batch.groups] == [2, 2]
    # only the group field changed
    assert replace(batch.results[0].faces[0], group=None) == results[0].faces[0]


def test_face_without_embedding_gets_its_own_group():
    results = [photo("p1.jpg", decision(0, ADULT_AGE)), photo("p2.jpg", decision(0, ADULT_AGE))]
    batch = group_results(results, {("p1.jpg", 0): person(1)}, POLICY)
    assert [f.group for r in batch.results for f in r.faces] == [1, 2]


def test_mixed_child_and_adult_cluster_is_split_and_flagged():
    a = person(1)
    results = [
        photo("p1.jpg", decision(0, ADULT_AGE)),
        photo("p2.jpg", decision(0, TEEN_AGE)),
        photo("p3.jpg", decision(0, UNSURE_AGE)),
        photo("p4.jpg", decision(0, ADULT_AGE)),
    ]
    vectors = {(f"p{i}.jpg", 0): near(a, i) for i in range(1, 5)}
    batch = group_results(results, vectors, POLICY)
    assert len(batch.groups) == 2
    adult, minor = sorted(batch.groups, key=lambda g: g.side)
    assert adult.side == "adult" and set(adult.members) == {("p1.jpg", 0), ("p4.jpg", 0)}
    assert minor.side == "minor" and set(minor.members) == {("p2.jpg", 0), ("p3.jpg", 0)}
    assert adult.mixed_ages and minor.mixed_ages
    assert adult.paired_with == minor.id and minor.paired_with == adult.id
    by_face = {(r.source, f.index): f.group for r in batch.results for f in r.faces}
    assert by_face[("p1.jpg", 0)] != by_face[("p2.jpg", 0)]


def test_known_adult_decision_does_not_hide_the_model_call():
    # a face cleared as known adult keeps its child-leaning age: it must not join an adult group
    a = person(1)
    cleared = replace(decision(0, UNSURE_AGE), reason=ReasonCode.KNOWN_ADULT)
    results = [photo("p1.jpg", decision(0, ADULT_AGE)), photo("p2.jpg", cleared)]
    batch = group_results(results, {("p1.jpg", 0): near(a, 1), ("p2.jpg", 0): near(a, 2)}, POLICY)
    assert len(batch.groups) == 2 and all(g.mixed_ages for g in batch.groups)


def test_uniform_groups_are_not_flagged():
    a = person(1)
    results = [photo(f"p{i}.jpg", decision(0, UNSURE_AGE)) for i in range(3)]
    batch = group_results(results, {(f"p{i}.jpg", 0): near(a, i) for i in range(3)}, POLICY)
    assert len(batch.groups) == 1 and not batch.groups[0].mixed_ages and batch.groups[0].side == "minor"


def test_by_default_only_faces_to_decide_are_grouped():
    a = person(1)
    review = replace(POLICY, grouping_faces="review")
    flagged = replace(decision(0, UNSURE_AGE), action=FaceAction.REVIEW, reason=ReasonCode.MINOR_UNCERTAIN)
    results = [photo("p1.jpg", decision(0, ADULT_AGE)), photo("p2.jpg", flagged), photo("p3.jpg", flagged)]
    vectors = {(f"p{i}.jpg", 0): near(a, i) for i in range(1, 4)}
    batch = group_results(results, vectors, review)
    assert [r.faces[0].group for r in batch.results] == [None, 1, 1]
    assert len(batch.groups) == 1 and batch.groups[0].size == 2


def test_group_ids_follow_input_order():
    ps = [person(i) for i in range(5)]
    results = [photo(f"p{i}.jpg", decision(0, ADULT_AGE)) for i in range(5)]
    batch = group_results(results, {(f"p{i}.jpg", 0): ps[i] for i in range(5)}, POLICY)
    assert [r.faces[0].group for r in batch.results] == [1, 2, 3, 4, 5]


# -- real embedder ---------------------------------------------------------------------------------


def test_real_folder_groups_same_photo_twice_and_splits_children(tmp_path, guard, sample_images):
    """The same family photo under two names: each person's two faces form one group;
    the two children never share a group with an adult."""
    from minorguard.pipeline import Guard

    source = sample_images / "faceaisharp_obama_family.jpg"
    if not source.is_file():
        pytest.skip("sample image missing")
    copy = tmp_path / "kopja_ë.jpg"
    copy.write_bytes(source.read_bytes())
    store = EmbeddingStore()
    every_face = replace(guard.policy, grouping_faces="all")
    scanning = Guard(policy=every_face, pack=guard.pack, embeddings=store)
    results = [scanning.check(source), scanning.check(copy)]
    assert all(r.verdict is not Verdict.ERROR for r in results)
    batch = group_results(results, store.as_mapping(), every_face)
    first, second = batch.results
    ident = [f for f in first.faces if f.identifiability.identifiable]
    assert len(ident) >= 4
    for a, b in zip(first.faces, second.faces):
        if a.identifiability.identifiable:
            assert a.group is not None and a.group == b.group  # same face, same person
    # different people in one photo never share a group
    assert len({f.group for f in ident}) == len(ident)
    for g in batch.groups:
        sides = {guard_side(f, guard.policy) for r in batch.results for f in r.faces if f.group == g.id}
        assert not ({"adult", "minor"} <= sides)


def guard_side(face: FaceDecision, policy: Policy) -> str:
    from minorguard.rules.decide import categorize

    return "adult" if categorize(face.age, policy) is FaceCategory.ADULT else "minor"


@pytest.mark.parametrize(
    "age", [CHILD_AGE, AgeEstimate(20, 1, 30, 0.6, "test"), AgeEstimate(8, 3, 14, 0.3, "test"), None],
    ids=["child", "likely minor", "estimated under 13", "no estimate"],
)
def test_faces_read_as_children_are_never_grouped(age):
    """One row's consent or adult decision must not let another child through by proxy."""
    a = person(1)
    results = [photo(f"p{i}.jpg", decision(0, age)) for i in range(3)] + [photo("p9.jpg", decision(0, ADULT_AGE))]
    vectors = {(f"p{i}.jpg", 0): near(a, i, noise=0.0) for i in (0, 1, 2, 9)}  # identical embeddings
    batch = group_results(results, vectors, POLICY)
    assert len({r.faces[0].group for r in batch.results}) == 4
    assert all(g.size == 1 for g in batch.groups)
    assert all(g.paired_with is None or g.paired_with in {h.id for h in batch.groups} for g in batch.groups)


def test_two_different_babies_are_two_rows(shared, guard):
    """Issue: two different infants were grouped as one person, and one 'link to consent' let both pass."""
    from minorguard.pipeline import Guard

    store = EmbeddingStore()
    every_face = replace(guard.policy, grouping_faces="all")
    scanning = Guard(policy=every_face, pack=guard.pack, embeddings=store)
    babies = [shared / "samples" / "pexels_1648383_happy_baby.jpeg", shared / "samples" / "pexels_929436_baby_with_camera.jpg"]
    results = [scanning.check(p) for p in babies]
    batch = group_results(results, store.as_mapping(), every_face)
    groups = [f.group for r in batch.results for f in r.faces if f.group is not None]
    assert len(groups) >= 2 and len(set(groups)) == len(groups)


def test_real_fgnet_subjects_group_apart(shared, guard):
    """Adult photos of two FG-NET subjects: at the policy threshold they form separate groups."""
    import csv

    root = shared / "eval" / "age" / "fgnet_dev"
    with open(root / "labels.csv", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    by_subject: dict[str, list[str]] = {}
    for row in rows:
        if int(row["age"]) >= 25:
            by_subject.setdefault(row["subject_id"], []).append(row["path"])
    chosen = [s for s, paths in by_subject.items() if len(paths) >= 3][:2]
    if len(chosen) < 2:
        pytest.skip("fgnet_dev has too few adult photos per subject")
    from minorguard.pipeline import Guard

    store = EmbeddingStore()
    every_face = replace(guard.policy, grouping_faces="all")
    scanning = Guard(policy=every_face, pack=guard.pack, embeddings=store)
    paths = [root / p for s in chosen for p in by_subject[s][:3]]
    results = [scanning.check(p) for p in paths]
    batch = group_results(results, store.as_mapping(), every_face)
    subject_of = {str(root / p): s for s in chosen for p in by_subject[s][:3]}
    groups_by_subject: dict[str, set[int]] = {}
    for r in batch.results:
        faces = [f for f in r.faces if f.group is not None]
        if faces:  # the subject is the largest face; old photos may show others too
            main = max(faces, key=lambda f: f.box.height)
            groups_by_subject.setdefault(subject_of[r.source], set()).add(main.group)
    a, b = (groups_by_subject.get(s, set()) for s in chosen)
    assert a and b and not (a & b), "two different people were put in one group"


@pytest.mark.parametrize("linkage", ["average", "complete", "single"])
def test_clusters_are_scipys_for_every_linkage_and_threshold(linkage):
    """The nearest-neighbour chain written here (scipy's clustering took 0.4 s to import) gives scipy's clusters:
    people with several photos each, at thresholds around the policy's."""
    from scipy.cluster.hierarchy import fcluster
    from scipy.cluster.hierarchy import linkage as scipy_linkage
    from scipy.spatial.distance import pdist

    rng = np.random.default_rng(5)
    for trial in range(6):
        people = rng.normal(size=(12, 32))
        vectors = np.concatenate([people[i] + rng.normal(scale=0.3 + 0.15 * trial, size=(int(rng.integers(1, 8)), 32))
                                  for i in range(12)])
        vectors = vectors[rng.permutation(len(vectors))]
        unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
        tree = scipy_linkage(np.clip(pdist(unit, "cosine"), 0, 2), method=linkage)
        for threshold in (0.3, 0.5, 0.6, 0.7, 0.8, 0.9):
            theirs = fcluster(tree, t=1 - threshold, criterion="distance")
            ours = cluster_embeddings(vectors, threshold, linkage)
            # the same partition (numbering aside)
            assert len(set(zip(ours.tolist(), theirs.tolist()))) == len(set(ours.tolist())) == len(set(theirs.tolist()))


def test_a_face_without_a_usable_description_stays_alone_and_identical_faces_group_at_threshold_one():
    """An audit of the clustering written here: a NaN in one description made it loop for ever (scipy refused it),
    and identical descriptions were 1e-16 apart, so at threshold 1.0 the same face in two copies of a photo was
    split by rounding."""
    a = unit([1.0, 2.0, 3.0, 4.0])
    broken = np.array([np.nan, 1.0, 0.0, 0.0])
    labels = cluster_embeddings(np.stack([a, broken, a, np.zeros(4), np.full(4, np.inf), a]), 0.5)
    assert labels.tolist() == [0, 1, 0, 2, 3, 0]
    faces = np.random.default_rng(3).normal(size=(4, 128))
    assert cluster_embeddings(np.concatenate([faces, faces]), 1.0).tolist() == [0, 1, 2, 3, 0, 1, 2, 3]
    with pytest.raises(ValueError, match="unknown linkage 'ward'"):
        cluster_embeddings(np.stack([a, a]), 0.5, "ward")
