"""Faces of the same person across a batch, so a reviewer decides once per person.

A folder from one event shows the same officials in dozens of photos. The
faces' embeddings are clustered (agglomerative, average linkage) and each
identifiable face's :class:`~minorguard.types.FaceDecision` gets a ``group``
number. The clustering never changes a decision: it only says which faces a
single review decision may cover.

Safety rules, so no decision on one row lets a child through by proxy:

* faces the estimator reads as children (:func:`may_share_a_group`) are never
  grouped: children's face embeddings are much less distinct than adults'
  (two different infants in ../shared/samples cluster as one person);
* a cluster holding faces the age model calls *possible minor* together with
  faces it calls *adult* is never one group. It is split by the model's side
  and both parts are marked ``mixed_ages`` so the report warns the reviewer
  that the clustering thought they were one person;
* on a row of possible minors, an allowing decision (adult, consent) covers
  only the faces a reviewer ticked one by one (``review_app``).

Embeddings never leave memory: the :class:`EmbeddingStore` a Guard fills
during a scan is discarded with the batch; reports carry only group numbers.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TypeVar

import numpy as np

from minorguard.locale import t
from minorguard.rules.decide import categorize
from minorguard.rules.policy import Policy
from minorguard.types import FaceAction, FaceCategory, FaceDecision, PhotoResult

__all__ = [
    "MAX_FACES", "EmbeddingStore", "FaceGroup", "GroupedBatch", "cluster_embeddings", "face_side", "group_results",
    "may_share_a_group", "split_by_side", "wants_grouping",
]

# Agglomerative clustering keeps n*(n-1)/2 distances: 8,000 faces is ~256 MB.
# Past that each face stays its own group (per-face review), and the batch says so.
MAX_FACES = 8000

FaceKey = tuple[str, int]  # (photo source label, face index)
K = TypeVar("K")


class EmbeddingStore:
    """Face embeddings of one batch, in memory only; thread-safe for Guard.check_many."""

    def __init__(self) -> None:
        self._vectors: dict[FaceKey, np.ndarray] = {}
        self._lock = threading.Lock()

    def put(self, source: str, index: int, vector: np.ndarray) -> None:
        with self._lock:
            self._vectors[(source, index)] = np.asarray(vector, np.float32)

    def get(self, source: str, index: int) -> np.ndarray | None:
        return self._vectors.get((source, index))

    def __len__(self) -> int:
        return len(self._vectors)

    def as_mapping(self) -> Mapping[FaceKey, np.ndarray]:
        with self._lock:
            return dict(self._vectors)

    def clear(self) -> None:
        with self._lock:
            self._vectors.clear()


@dataclass(frozen=True, slots=True)
class FaceGroup:
    """One person (as the clustering sees it) and every face of theirs in the batch."""

    id: int
    members: tuple[FaceKey, ...]
    side: str  # "adult", "minor" (possible minor or uncertain) or "none" (no age estimate)
    mixed_ages: bool = False  # split from a cluster that mixed child and adult faces
    paired_with: int | None = None  # the other part of a split cluster

    @property
    def size(self) -> int:
        return len(self.members)


@dataclass(frozen=True, slots=True)
class GroupedBatch:
    """Results with ``group`` filled in, the groups, and what the grouping could not do."""

    results: tuple[PhotoResult, ...]
    groups: tuple[FaceGroup, ...]
    threshold: float
    linkage: str
    note: str = ""

    def group(self, group_id: int) -> FaceGroup | None:
        return next((g for g in self.groups if g.id == group_id), None)


def cluster_embeddings(vectors: np.ndarray, threshold: float, linkage: str = "average") -> np.ndarray:
    """Cluster labels 0..k-1 for L2-normalised rows; a cluster's linkage similarity >= ``threshold``.

    ``threshold`` is a cosine similarity. "complete" linkage puts two faces in
    one cluster only if every pair in it is at least that similar; "average"
    asks it of the mean pair; "single" chains (any one pair suffices).
    """
    if linkage not in _LINKAGES:
        raise ValueError(f"unknown linkage {linkage!r}: one of {', '.join(_LINKAGES)}")
    vectors = np.asarray(vectors, np.float64)
    n = len(vectors)
    norms = np.linalg.norm(vectors, axis=1) if n else np.zeros(0)
    # a description with no direction (zero, or not finite: a model that failed on the face) matches nobody:
    # its face stays in a group of its own, never in another's
    usable = np.flatnonzero(np.isfinite(norms) & (norms > 1e-12))
    labels = list(range(n))
    if len(usable) > 1:
        unit = vectors[usable] / norms[usable, None]
        distances = unit @ unit.T  # cosine distance of unit rows, in place: 8,000 faces take 512 MB, not twice that
        np.subtract(1.0, distances, out=distances)
        np.clip(distances, 0.0, 2.0, out=distances)  # the tiny negatives rounding makes
        # every observation in a flat cluster within 1 - threshold of the others at their merge (cophenetic)
        # height; the margin is rounding's (identical faces are 1e-16 apart here, 0 by scipy's pdist)
        cut = 1.0 - threshold + 1e-12
        parent = np.arange(len(usable))
        for height, a, b in _merges(distances, linkage):
            if height <= cut:
                parent[_root(parent, a)] = _root(parent, b)
        for k, i in enumerate(usable):
            labels[i] = int(usable[_root(parent, k)])
    # renumber by first appearance so numbering follows input order
    order: dict[int, int] = {}
    return np.array([order.setdefault(int(lab), len(order)) for lab in labels], np.int64)


_LINKAGES = ("average", "complete", "single")


def _merges(distances: np.ndarray, linkage: str) -> list[tuple[float, int, int]]:
    """The merges (height, a, b) of agglomerative clustering on a full distance matrix (overwritten).

    The nearest-neighbour chain, as scipy's ``linkage`` runs it: single, complete and average linkage are
    reducible, so following nearest neighbours until two are each other's finds the merges of joining the
    closest pair each time, in O(n^2). Written here because importing scipy's clustering took 0.4 s of every
    scan that groups (the batch's clustering itself takes milliseconds); ``tests/test_grouping.py`` compares the
    clusters with scipy's."""
    d = distances
    n = len(d)
    np.fill_diagonal(d, np.inf)
    size = np.ones(n)
    active = np.ones(n, bool)
    merges: list[tuple[float, int, int]] = []
    chain: list[int] = []
    for _ in range(n - 1):
        if not chain:
            chain.append(int(np.flatnonzero(active)[0]))
        while True:
            a = chain[-1]
            b = int(np.argmin(d[a]))
            if len(chain) > 1 and d[a, chain[-2]] <= d[a, b]:  # a tie goes back down the chain: it ends
                b = chain[-2]
                break
            chain.append(b)
        chain.pop()
        chain.pop()
        a, b = min(a, b), max(a, b)  # the union takes the higher index, as in scipy: ties then break as there
        merges.append((float(d[a, b]), a, b))
        if linkage == "single":
            joined = np.minimum(d[a], d[b])
        elif linkage == "complete":
            joined = np.maximum(d[a], d[b])
        else:  # average: the mean over every pair of the two clusters' members
            joined = (size[a] * d[a] + size[b] * d[b]) / (size[a] + size[b])
        joined[a] = joined[b] = np.inf
        d[a, :] = d[:, a] = np.inf  # a is gone; b holds the union
        d[b, :] = d[:, b] = joined
        size[b] += size[a]
        active[a] = False
    return merges


def _root(parent: np.ndarray, i: int) -> int:
    while parent[i] != i:
        parent[i] = parent[parent[i]]
        i = int(parent[i])
    return i


def wants_grouping(face: FaceDecision, policy: Policy) -> bool:
    """Whether a face takes part in grouping (and so needs an embedding).

    By default only the faces a person must decide (REVIEW or BLOCK): they are
    what grouping saves work on, and embedding every allowed face too would
    double the time of a folder scan on two cores (18.6 s against 9.3 s for
    ``sample_images/``). ``[grouping] faces = "all"`` groups every identifiable face.
    """
    if not face.identifiability.identifiable:
        return False
    return policy.grouping_faces == "all" or face.action is not FaceAction.ALLOW


def face_side(face: FaceDecision, policy: Policy) -> str:
    """What the age model itself calls the face: "adult", "minor" (possible minor or uncertain) or "none".

    The age model's own call, not the final category: a known-adult or reviewer
    decision must not make a child's face look adult to the grouping.
    """
    if face.age is None:
        return "none"
    return "adult" if categorize(face.age, policy) is FaceCategory.ADULT else "minor"


# Below this estimated age a face is never grouped. Face embeddings do not tell young
# children apart: on fgnet_dev children every embedder available here puts two different
# infants among the 0.03-2% most similar pairs of different children, and the grouping
# threshold admits 0.6-0.8% of different-child pairs (dlib + FaceRes at 0.85: 0.63%; dlib
# alone at 0.955: 0.77%), against 0.007% of different-adult pairs; the two different babies of ../shared/samples
# cluster as one person. A row's decision there would rest on a guess.
GROUP_MIN_AGE = 13.0


def may_share_a_group(face: FaceDecision, policy: Policy) -> bool:
    """Whether a face may be grouped with others: never a face the estimator reads as a child.

    Faces without an age estimate, with P(under 18) at the blocking level, or
    estimated under GROUP_MIN_AGE are each a row of their own. Faces the model
    is merely unsure about (young-looking adults, teenagers) are still grouped,
    and the review page applies a row's allowing decision only to the faces a
    person ticked one by one.
    """
    if face.age is None:
        return False
    return face.age.expected >= GROUP_MIN_AGE and face.age.p_under_18 < policy.minor_block_probability


def split_by_side(members: Sequence[K], side_of: Callable[[K], str]) -> list[tuple[tuple[K, ...], str]]:
    """The safety rule: faces the age model calls adult never share a group with faces it does not.

    One part, or two (the others first, then the adults), each with its side;
    a part holding both possible minors and faces without an estimate is "minor".
    """
    sides = {m: side_of(m) for m in members}
    present = set(sides.values())
    other_side = "minor" if "minor" in present else "none"
    if "adult" in present and len(present) > 1:
        others = tuple(m for m in members if sides[m] != "adult")
        return [(others, other_side), (tuple(m for m in members if sides[m] == "adult"), "adult")]
    return [(tuple(members), "adult" if present == {"adult"} else other_side)]


def group_results(
    results: Sequence[PhotoResult],
    embeddings: Mapping[FaceKey, np.ndarray],
    policy: Policy,
    lang: str = "en",
) -> GroupedBatch:
    """Every face that takes part (:func:`wants_grouping`) gets a group; one with no embedding gets its own.

    Other faces keep ``group=None``: faces that are not identifiable are allowed
    whatever their identity, and by default allowed faces need no decision.
    """
    threshold, linkage = policy.grouping_threshold, policy.grouping_linkage
    keys: list[FaceKey] = []
    sides: dict[FaceKey, str] = {}
    alone: set[FaceKey] = set()
    for result in results:
        for face in result.faces:
            if wants_grouping(face, policy):
                key = (result.source, face.index)
                keys.append(key)
                sides[key] = face_side(face, policy)
                if not may_share_a_group(face, policy):
                    alone.add(key)
    with_vector = [k for k in keys if embeddings.get(k) is not None]
    note = ""
    if len(with_vector) > MAX_FACES:
        note = t("group.over_limit", lang, n=len(with_vector), limit=MAX_FACES)
        with_vector = []
    labels = cluster_embeddings(np.stack([embeddings[k] for k in with_vector]), threshold, linkage) if with_vector else np.zeros(0, np.int64)
    clusters: dict[int, list[FaceKey]] = {}
    for key, label in zip(with_vector, labels):
        clusters.setdefault(int(label), []).append(key)
    vector_set = set(with_vector)
    next_label = len(clusters)
    for key in keys:
        if key not in vector_set:  # no embedding (embedder failed): a group of its own
            clusters[next_label] = [key]
            next_label += 1
    groups: list[FaceGroup] = []
    position = {k: i for i, k in enumerate(keys)}
    for label, members in sorted(clusters.items(), key=lambda item: min(position[k] for k in item[1])):
        parts = split_by_side(sorted(members, key=position.__getitem__), sides.__getitem__)
        split = len(parts) > 1
        for part, side in parts:
            together = tuple(k for k in part if k not in alone)
            if together:
                groups.append(FaceGroup(0, together, side, mixed_ages=split, paired_with=label if split else None))
            groups.extend(FaceGroup(0, (k,), side) for k in part if k in alone)
    groups.sort(key=lambda g: position[g.members[0]])
    ids = {id(g): i + 1 for i, g in enumerate(groups)}
    halves: dict[int, list[int]] = {}
    for g in groups:
        if g.paired_with is not None:
            halves.setdefault(g.paired_with, []).append(ids[id(g)])
    groups = [
        replace(g, id=ids[id(g)], paired_with=next((x for x in halves.get(g.paired_with, ()) if x != ids[id(g)]), None))
        for g in groups
    ]
    of: dict[FaceKey, int] = {k: g.id for g in groups for k in g.members}
    out = []
    for result in results:
        if not result.faces:
            out.append(result)
            continue
        faces = tuple(replace(f, group=of.get((result.source, f.index))) for f in result.faces)
        out.append(replace(result, faces=faces))
    return GroupedBatch(tuple(out), tuple(groups), threshold, linkage, note)
