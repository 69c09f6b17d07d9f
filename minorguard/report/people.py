"""The people of a batch as the review page and the HTML report show them: pure, no I/O.

A scan with grouping (``scan --json``, ``review FOLDER``) numbers each face
to decide with its group, one group per person as the clustering sees it
(:mod:`minorguard.faces.grouping`). Here those groups become :class:`Person` rows
that point at (photo position, face index) pairs, so one decision can be
applied to every face of the person in the batch.

A results file written without its ``groups`` list still carries each face's
group number; the groups are rebuilt from those numbers, and the side (what
the age model called the faces) from each face's age estimate. Only the
``mixed_ages`` mark is lost then, and the side still keeps the split: a
group the age model calls partly child and partly adult never comes out of
:func:`people_of` as one person.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from minorguard.faces.grouping import face_side, split_by_side
from minorguard.rules.decide import categorize
from minorguard.rules.policy import Policy
from minorguard.types import FaceCategory, PhotoResult

__all__ = ["Person", "people_of", "side_key"]

FaceAt = tuple[int, int]  # (photo position in the batch, face index)


@dataclass(frozen=True, slots=True)
class Person:
    """Every face of one person in the batch, in batch order."""

    id: int
    faces: tuple[FaceAt, ...]
    side: str  # "adult", "minor" (possible minor or uncertain) or "none" (no age estimate)
    mixed_ages: bool = False  # split from a cluster that mixed faces the age model calls child and adult
    paired_with: int | None = None

    @property
    def photos(self) -> int:
        return len({photo for photo, _ in self.faces})


def people_of(results: Sequence[PhotoResult], policy: Policy, groups: Sequence[Any] | None = None) -> tuple[Person, ...]:
    """One :class:`Person` per group; ``groups`` are FaceGroups or the JSON report's group dicts.

    Members whose photo is not in ``results`` (a report edited by hand) are
    left out; a group whose faces disagree on the side is split, whatever the
    groups said.
    """
    where = {r.source: i for i, r in enumerate(results)}
    members: dict[int, list[FaceAt]] = {}
    marks: dict[int, tuple[bool, int | None]] = {}
    if groups is not None:
        for g in groups:
            gid, faces, mixed, paired = _fields(g)
            for source, index in faces:
                photo = where.get(source)
                if photo is not None and 0 <= index < len(results[photo].faces):
                    members.setdefault(gid, []).append((photo, index))
            marks[gid] = (mixed, paired)
    else:
        for photo, r in enumerate(results):
            for face in r.faces:
                if face.group is not None:
                    members.setdefault(face.group, []).append((photo, face.index))
    people: list[Person] = []
    next_id = max(members, default=0) + 1
    for gid in sorted(members):
        faces = tuple(sorted(members[gid]))
        mixed, paired = marks.get(gid, (False, None))
        parts = split_by_side(faces, lambda at: face_side(results[at[0]].faces[at[1]], policy))
        if len(parts) == 1:
            ((part, side),) = parts
            people.append(Person(gid, part, side, mixed, paired))
            continue
        # the age model disagrees within the group: never one decision, whatever the groups said
        (others, other_side), (adults, _) = parts
        people.append(Person(gid, others, other_side, True, next_id))
        people.append(Person(next_id, adults, "adult", True, gid))
        next_id += 1
    return tuple(sorted(people, key=lambda p: p.faces[0]))


def _fields(group: Any) -> tuple[int, list[tuple[str, int]], bool, int | None]:
    if isinstance(group, dict):
        # "face" is the number people see (1 = leftmost); reports before it was said so held the index there
        faces = [(str(f["source"]), int(f["face_index"]) if "face_index" in f else int(f["face"])) for f in group.get("faces") or ()]
        return int(group["group"]), faces, bool(group.get("mixed_ages")), group.get("paired_with")
    return int(group.id), [(s, int(i)) for s, i in group.members], bool(group.mixed_ages), group.paired_with


def side_key(person: Person, results: Sequence[PhotoResult], policy: Policy) -> str | None:
    """The message that says what the age model calls the person: an adult, a possible minor, or unsure (the
    "minor" side holds both; an uncertain young-looking adult was labelled a possible minor, yet could be
    remembered as an adult). None when there is no age estimate."""
    if person.side == "adult":
        return "review.person_side_adult"
    if person.side != "minor":
        return None
    ages = [results[photo].faces[index].age for photo, index in person.faces
            if photo < len(results) and index < len(results[photo].faces)]
    minor = any(age is not None and categorize(age, policy) is FaceCategory.POSSIBLE_MINOR for age in ages)
    return "review.person_side_minor" if minor else "review.person_side_uncertain"

