"""Enrol a known adult: reference photos -> one face each -> embeddings -> the register.

Every photo is checked before anything is written, so a bad photo leaves the
register as it was. Refused, with a stable ``code`` the CLI turns into an
Albanian or English line:

* ``unreadable``: the photo cannot be decoded;
* ``no_face`` / ``several_faces`` (choose one with ``face``, counted left to right) /
  ``face_out_of_range``;
* ``face_too_small`` (under :data:`ENROL_MIN_FACE_PX` in the photo) / ``too_blurred``;
* ``looks_minor``: the age model calls the face a possible minor. A known
  adult must never be a way to clear a child, so such a face is enrolled only
  when the person enrolling confirms the adult's age (``confirm_adult``), and
  never when P(under 18) reaches the policy's block probability;
* ``different_people``: the photos given do not show one person;
* ``already_enrolled``: the name, or the face, is already a known adult;
* ``expired``: the expiry date is already past.

Only embeddings are kept (encrypted by the register); the photos are not stored.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date as Date
from pathlib import Path
from typing import Any

import numpy as np

from minorguard.application.enrolment import MIN_FACE_PX, MIN_SHARPNESS, box_text
from minorguard.locale.typed_text import same_text
from minorguard.photos.decode import PhotoError, load_photo
from minorguard.rules.decide import categorize
from minorguard.rules.known_adults import KnownAdultRef, match_known_adult
from minorguard.types import Box, FaceCategory

__all__ = [
    "ENROL_MIN_FACE_PX", "EnrolProblem", "ReferenceFace", "check_adult_entry", "enrol_known_adult", "enrol_problem_text",
    "known_adult_references", "reference_face", "remember_adult",
]

# dlib cosine at which 0.20% of different-person pairs of fgnet_dev pass: where grouping stood on dlib alone (0.955),
# and the same share as the grouping threshold of the consent description now lets through (policy [grouping])
ONE_PERSON = 0.955

# The same bars as a child's enrolment, taken from it: the dlib embedder aligns
# to a 150 px chip, and a small or blurred face gives a noisy reference that
# would weaken every later match.
ENROL_MIN_FACE_PX = MIN_FACE_PX
ENROL_MIN_SHARPNESS = MIN_SHARPNESS


def enrol_problem_text(problem: EnrolProblem, lang: str) -> str:
    """The problem in the communicator's language (its English text where no message exists)."""
    from minorguard.locale import t
    from minorguard.locale.messages import MESSAGES

    key = f"adult.{problem.code}"
    return t(key, lang, **problem.values) if key in MESSAGES["en"] else str(problem)


class EnrolProblem(ValueError):
    """Bad enrolment input: ``code`` is stable, ``values`` fill its message."""

    def __init__(self, code: str, message: str, **values: Any) -> None:
        super().__init__(message)
        self.code = code
        self.values = values


@dataclass(frozen=True, slots=True)
class ReferenceFace:
    """The face chosen in one reference photo (embedding in memory only)."""

    path: str
    face_number: int  # 1-based, left to right
    faces_in_photo: int
    height_px: float
    p_under_18: float | None
    embedding: np.ndarray
    box: str = ""  # where the face is (full-size pixels), so the person sees whom they enrolled


def reference_face(
    guard: Any, path: str | Path, face: int | None = None, confirm_adult: bool = False, box: Box | None = None
) -> ReferenceFace:
    """The one face of ``path`` to enrol, checked; ``face`` (1-based, left to right) picks among several.

    ``box`` (full-size photo pixels, as a scan result gives it) picks the face a
    reviewer decided about instead: the detection overlapping it best.
    """
    name = str(path)
    policy = guard.policy
    try:
        photo = load_photo(path, max_pixels=policy.max_pixels, target_long_side=policy.publish_long_side, label=name)
    except PhotoError as error:
        raise EnrolProblem("unreadable", f"{name}: {error.message}", path=name, detail=error.message) from None
    detected = guard.detect(photo)  # numbered as a scan numbers them (face_numbers)
    if not detected:
        raise EnrolProblem("no_face", f"{name}: no face found", path=name)
    if box is not None:
        overlap = [f.box.scaled(1 / photo.scale).iou(box) for f in detected]
        best = max(range(len(detected)), key=overlap.__getitem__)
        if overlap[best] < 0.5:
            raise EnrolProblem("face_moved", f"{name}: the reviewed face is not found again in the photo", path=name)
        face = best + 1
    if face is None and len(detected) > 1:
        listing = ", ".join(f"{n}: {box_text(f.box.scaled(1 / photo.scale))}" for n, f in enumerate(detected, 1))
        raise EnrolProblem("several_faces", f"{name}: {len(detected)} faces ({listing}); choose one with --face N",
                           path=name, n=len(detected), listing=listing)
    number = face or 1
    if not 1 <= number <= len(detected):
        raise EnrolProblem("face_out_of_range", f"{name}: --face {number}, but the photo shows {len(detected)} face(s)",
                           path=name, face=number, n=len(detected))
    chosen = detected[number - 1]
    assessment = guard.assess(photo, [chosen])[0]
    height = assessment.face.box.height  # in the oriented, full-size photo
    if height < ENROL_MIN_FACE_PX:
        raise EnrolProblem("face_too_small", f"{name}: face {number} is {height:.0f} px high; a reference needs {ENROL_MIN_FACE_PX:.0f}",
                           path=name, px=height, min=ENROL_MIN_FACE_PX)
    if not assessment.identifiability.identifiable or assessment.identifiability.sharpness < ENROL_MIN_SHARPNESS:
        raise EnrolProblem("too_blurred", f"{name}: face {number} is too blurred to serve as a reference", path=name)
    if assessment.age is None:
        raise EnrolProblem("unreadable", f"{name}: age model failed: {assessment.age_error}", path=name, detail=assessment.age_error)
    p = assessment.age.p_under_18
    if p >= policy.minor_block_probability:
        raise EnrolProblem("looks_minor", f"{name}: face {number} looks like a minor (P(under 18) {p:.0%}); "
                           "a known adult must be an adult", path=name, p=p, age=assessment.age.expected)
    if categorize(assessment.age, policy) is FaceCategory.POSSIBLE_MINOR and not confirm_adult:
        # the raw age model gives some children a tiny P(under 18): a person must vouch
        raise EnrolProblem("confirm_adult", f"{name}: the age model calls face {number} a possible minor "
                           f"(estimated {assessment.age.expected:.0f}); if this person is an adult, confirm with --confirm-adult",
                           path=name, age=assessment.age.expected)
    vector = guard.pack.embedder.embed(photo.pixels, [chosen])[0]
    return ReferenceFace(name, number, len(detected), height, assessment.age.p_under_18, vector,
                         box_text(chosen.box.scaled(1 / photo.scale)))


def enrol_known_adult(
    register: Any,
    guard: Any,
    name: str,
    photos: Sequence[str | Path],
    *,
    role: str = "",
    expires: Date | None = None,
    face: int | None = None,
    today: Date | None = None,
    confirm_adult: bool = False,
    chosen: list[ReferenceFace] | None = None,
    references: Sequence[ReferenceFace] | None = None,
) -> Any:
    """Check every photo, then write the adult in one register transaction (``KnownAdultInfo``).

    ``chosen``, when given, receives the reference face taken from each photo, so
    the caller can show the person which face (number and box) was enrolled.
    ``references``: the photos' faces already taken by :func:`known_adult_references`
    (a command that checks the photos before it opens, and so makes, a register).
    """
    today = today or Date.today()
    if references is None:
        _check_photos_given(photos, face)
    name, existing = _precheck(register, name, expires, today)  # before any model runs
    refs = list(references) if references is not None else [reference_face(guard, p, face, confirm_adult) for p in photos]
    info = _write(register, guard, name, refs, role, expires, today, existing)
    if chosen is not None:
        chosen.extend(refs)
    return info


def known_adult_references(guard: Any, photos: Sequence[str | Path], face: int | None = None,
                           confirm_adult: bool = False) -> list[ReferenceFace]:
    """The reference face of each photo, checked as :func:`enrol_known_adult` checks them; needs no register."""
    _check_photos_given(photos, face)
    return [reference_face(guard, p, face, confirm_adult) for p in photos]


def _check_photos_given(photos: Sequence[str | Path], face: int | None) -> None:
    if not photos:
        raise EnrolProblem("no_photo", "give at least one reference photo (--photo)")
    if face is not None and len(photos) > 1:
        raise EnrolProblem("face_needs_one_photo", "--face picks a face in one photo: enrol photos with several faces one at a time")


def check_adult_entry(name: str, expires: Date | None, today: Date | None = None) -> str:
    """The name, stripped, when it and the expiry may be enrolled; EnrolProblem otherwise. Needs no register."""
    name = (name or "").strip()
    if not name:
        raise EnrolProblem("no_name", "a known adult needs a name")
    if expires is not None and expires < (today or Date.today()):
        raise EnrolProblem("expired", f"expiry date {expires} is already past", expires=str(expires))
    return name


def _precheck(register: Any, name: str, expires: Date | None, today: Date) -> tuple[str, list]:
    """Name given, not enrolled yet, expiry not past; returns the register's known adults."""
    name = check_adult_entry(name, expires, today)
    existing = register.known_adult_embeddings(include_expired=True)
    for info, _ in existing:
        if same_text(info.name, name):
            raise EnrolProblem("already_enrolled", f"{name} is already a known adult ({info.id})", name=info.name, id=info.id)
    return name, existing


def _write(register: Any, guard: Any, name: str, refs: list[ReferenceFace], role: str, expires: Date | None, today: Date,
           existing: list, actor: str | None = None) -> Any:
    """Checks that need every reference (one person, not enrolled yet), then one register write."""
    matrix = np.stack([r.embedding for r in refs]).astype(np.float32)
    policy = guard.policy
    # the photos must show one person: every pair at least as similar as the embedder's pairs of one person that
    # grouping would put together (grouping itself compares the consent description, on another scale)
    if len(refs) > 1:
        sims = matrix @ matrix.T
        worst = float(sims[np.triu_indices(len(refs), 1)].min())
        if worst < ONE_PERSON:
            raise EnrolProblem("different_people", f"the photos do not seem to show one person (similarity {worst:.3f})", sim=worst)
    others = [KnownAdultRef(info.id, info.name, vectors, info.role, info.expires) for info, vectors in existing]
    for ref in refs:
        match = match_known_adult(ref.embedding, others, today, policy.known_adult_match_threshold, 0.0)
        if match is not None:
            raise EnrolProblem("already_enrolled", f"{ref.path}: this face is already known adult {match.name} ({match.adult_id})",
                               name=match.name, id=match.adult_id)
    embedder = getattr(guard.pack.embedder, "name", "")
    return register.add_known_adult(name, matrix, role=role, expires=expires, embedder=embedder, actor=actor)


def remember_adult(
    register: Any,
    guard: Any,
    name: str,
    faces: Sequence[tuple[str | Path, Box]],
    *,
    role: str = "",
    expires: Date | None = None,
    today: Date | None = None,
    confirm_adult: bool = True,
    max_references: int = 3,
    reviewer: str | None = None,
) -> Any:
    """A reviewer marked a person (one face, or a whole group) adult: enrol them as a known adult.

    ``faces`` are (photo path, box) pairs from the scan results: the faces the
    reviewer's decision covered, never others of the group; the largest ``max_references`` usable faces become the
    references. Faces too small or blurred to serve are skipped; if none
    serves, the first problem is raised and nothing is written. The
    reviewer's decision is the confirmation that the person is an adult
    (``confirm_adult``); a face at or above the block probability is still refused.
    """
    today = today or Date.today()
    name, existing = _precheck(register, name, expires, today)
    ordered = sorted(faces, key=lambda item: -item[1].height)
    refs: list[ReferenceFace] = []
    first: EnrolProblem | None = None
    for path, box in ordered:
        try:
            refs.append(reference_face(guard, path, None, confirm_adult, box=box))
        except EnrolProblem as problem:
            if problem.code in ("looks_minor", "confirm_adult"):
                raise  # one face of the person looks like a child: a person must look again
            first = first or problem
        if len(refs) >= max_references:
            break
    if not refs:
        raise first or EnrolProblem("no_photo", "no face to remember")
    return _write(register, guard, name, refs, role, expires, today, existing, actor=reviewer)
