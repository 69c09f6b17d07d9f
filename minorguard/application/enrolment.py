"""Enrolment: a reference photo of a child -> one face embedding, handed to the register.

The application layer computes the embedding (models, photo loader) and the
register only stores what it is given: ``consent_db`` imports no model and no
photo reader.

The photo must show exactly one face (or the caller names which, by the number
a scan shows: 1-based, left to right), at least 80 px high and sharp enough that the embedding describes
the child rather than the blur; every refusal is one clear line.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import numpy as np

from consent_db import Register, RegisterError

__all__ = ["MIN_FACE_PX", "MIN_SHARPNESS", "Enrolled", "Redescribed", "box_text", "enrol_photo", "redescribe_enrolments"]

MIN_FACE_PX = 80.0
# Variance of the Laplacian at 64 px (minorguard.faces.quality.face_sharpness). Sharp faces in
# the sample portraits and fgnet_dev measure 100-2,800; a Gaussian blur of sigma 4 on an
# 80 px face brings them to 13-30. Publication only needs 8; enrolment asks for more.
MIN_SHARPNESS = 40.0
# A face enrolled for another child: the same face found again (another detection threshold numbers it
# differently, a re-saved copy has other bytes) describes itself at 0.99-1.0; two photos of one child at different
# ages reached at most 0.949 on fgnet_dev, two different children over 0.97 only as duplicate images in all_age_faces.
SAME_FACE = 0.97


@dataclass(frozen=True, slots=True)
class Enrolled:
    enrolment_id: str
    child_id: str
    photo_sha256: str
    face: int  # 1-based, left to right
    faces_found: int
    face_height_px: float
    sharpness: float
    box: str = ""  # where the face is in the photo (full-size pixels)


def enrol_photo(
    register: Register,
    child_id: str,
    source: str | os.PathLike | bytes,
    face: int | None = None,
    pack: Any = None,
    *,
    guard: Any = None,
    confirm_child: bool = False,
) -> Enrolled:
    """Enrol face ``face`` of ``source`` (numbered as a scan numbers it: 1 = leftmost) for ``child_id``.

    The photo is loaded and searched exactly as a scan does (``guard``: the same
    policy, publication size and face order), so ``--face N`` is the face a scan
    called face N. A face the age estimate calls an adult is refused unless
    ``confirm_child``: enrolling a parent by mistake would let the parent's face
    carry the child's consent while the child still blocks.
    """
    from minorguard.faces.quality import face_sharpness
    from minorguard.photos.decode import PhotoError
    from minorguard.pipeline import Guard
    from minorguard.rules.decide import categorize
    from minorguard.types import FaceCategory

    register.get_child(child_id)  # unknown child: fail before any model runs
    label = os.fsdecode(source) if not isinstance(source, bytes) else "<photo>"
    guard = guard or Guard(pack=pack)
    try:
        photo = guard._load(source, label)
    except PhotoError as error:
        raise RegisterError("photo_unusable", message=error.message) from None
    assert photo.data is not None and photo.sha256 is not None
    owners = register.enrolled_faces(photo.sha256)  # a family photo may enrol each sibling, a face each
    if child_id in owners.values():
        raise RegisterError("already_enrolled_photo", label=label, child=child_id)
    faces = guard.detect(photo)
    if not faces:
        raise RegisterError("no_face", label=label)
    if face is None:
        if len(faces) > 1:
            where = ", ".join(f"{i + 1}: {box_text(f.box.scaled(1 / photo.scale))}" for i, f in enumerate(faces))
            raise RegisterError("many_faces", label=label, n=len(faces), where=where)
        face = 1
    if not 1 <= face <= len(faces):
        raise RegisterError("bad_face", label=label, face=face, n=len(faces))
    if face in owners:
        raise RegisterError("already_enrolled_face", label=label, face=face, child=owners[face])
    chosen = faces[face - 1]
    box = chosen.box.scaled(1 / photo.scale)
    height = box.height
    if height < MIN_FACE_PX:
        raise RegisterError("too_small", label=label, face=face, px=f"{height:.0f}", min=f"{MIN_FACE_PX:.0f}")
    sharpness = face_sharpness(photo.pixels, chosen)
    if sharpness < MIN_SHARPNESS:
        raise RegisterError("too_blurred", label=label, face=face, sharpness=f"{sharpness:.0f}", min=f"{MIN_SHARPNESS:.0f}")
    age = guard.assess(photo, [chosen])[0].age
    if age is not None and categorize(age, guard.policy) is FaceCategory.ADULT and not confirm_child:
        raise RegisterError("looks_adult", label=label, face=face, age=f"{age.expected:.0f}", box=box_text(box))
    embedder = guard.pack.consent_embedder
    vector = embedder.embed(photo.pixels, [chosen])[0]
    name = getattr(embedder, "name", type(embedder).__name__)
    other = _same_face_enrolled(register, child_id, vector, name)
    if other is not None:  # one face for two children would let it pass on either's consent
        raise RegisterError("already_enrolled_face", label=label, face=face, child=other)
    enrolment_id = register.add_enrolment(child_id, photo.data, vector, face_index=face, face_height_px=height, embedder=name)
    return Enrolled(enrolment_id, child_id, photo.sha256, face, len(faces), height, sharpness, box_text(box))


def _same_face_enrolled(register: Register, child_id: str, vector: np.ndarray, embedder: str) -> str | None:
    """Another child whose enrolment is this very face (``SAME_FACE``), or None."""
    unit = np.asarray(vector, np.float32).ravel()
    unit = unit / max(float(np.linalg.norm(unit)), 1e-9)
    for other, refs in register.enrolment_embeddings(embedder).items():
        if other == child_id or refs.shape[1] != unit.shape[0]:
            continue
        refs = refs / np.maximum(np.linalg.norm(refs, axis=1, keepdims=True), 1e-9)
        if float(np.max(refs @ unit)) >= SAME_FACE:
            return other
    return None


@dataclass(frozen=True, slots=True)
class Redescribed:
    enrolment_id: str
    child_id: str
    done: bool
    why: str = ""  # when not done: what stopped it (the enrolment keeps its old description)


# A stored description recomputed from its own photo with the same model agrees this well or better
# (the detector's box may move a pixel); less means the face numbering found another face.
SAME_FACE = 0.98


def redescribe_enrolments(register: Register, guard: Any) -> list[Redescribed]:
    """Describe every enrolment made with another embedder again, from its own stored photo, as this pack's consent
    matching compares faces (an upgrade, or a change of pack). The face is the one enrolled (its number, 1 =
    leftmost); where the old description came from this pack's plain embedder, the face found must agree with it,
    so a changed numbering cannot move a child's consent onto another face; where it came from another pack, only a
    photo with one face is described again."""
    from minorguard.photos.decode import PhotoError

    consent = guard.pack.consent_embedder
    out = []
    for enrolment_id, child_id, data, number, old, vector in register.enrolments_described_otherwise(consent.name):
        try:
            photo = guard._load(data, "<enrolment>")
        except PhotoError as error:
            out.append(Redescribed(enrolment_id, child_id, False, error.message))
            continue
        faces = guard.detect(photo)
        if not 1 <= number <= len(faces):
            out.append(Redescribed(enrolment_id, child_id, False, f"face {number} not found ({len(faces)} faces)"))
            continue
        chosen = faces[number - 1]
        plain = guard.pack.embedder.embed(photo.pixels, [chosen])
        if old == guard.pack.embedder.name:
            agreement = float(plain[0] @ vector / max(1e-9, float(np.linalg.norm(plain[0]) * np.linalg.norm(vector))))
            if agreement < SAME_FACE:
                out.append(Redescribed(enrolment_id, child_id, False, f"face {number} is not the face enrolled (similarity {agreement:.3f})"))
                continue
        elif len(faces) > 1:  # described by another pack: nothing to check the number against, and numbering has changed
            out.append(Redescribed(enrolment_id, child_id, False, f"{len(faces)} faces, and no way to check that face {number} is the face enrolled"))
            continue
        register.redescribe_enrolment(enrolment_id, guard.pack.consent_vectors(photo.pixels, [chosen], plain)[0], consent.name)
        out.append(Redescribed(enrolment_id, child_id, True))
    return out


def box_text(box: Any) -> str:
    """Where a face is, in the full-size photo's pixels, so a person can check whom they enrolled."""
    return f"x={box.x:.0f} y={box.y:.0f} {box.width:.0f}x{box.height:.0f} px"
