"""Enrolment: a reference photo of a child -> one face embedding in the register.

The photo must show exactly one face (or the caller names which, 1-based, left
to right), at least 80 px high and sharp enough that the embedding describes
the child rather than the blur; every refusal is one clear line.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from .errors import RegisterError
from .register import Register

__all__ = ["MIN_FACE_PX", "MIN_SHARPNESS", "Enrolled", "enrol_photo"]

MIN_FACE_PX = 80.0
# Variance of the Laplacian at 64 px (minorguard.quality.face_sharpness). Sharp faces in
# the sample portraits and fgnet_dev measure 100-2,800; a Gaussian blur of sigma 4 on an
# 80 px face brings them to 13-30. Publication only needs 8; enrolment asks for more.
MIN_SHARPNESS = 40.0


@dataclass(frozen=True, slots=True)
class Enrolled:
    enrolment_id: str
    child_id: str
    photo_sha256: str
    face: int  # 1-based, left to right
    faces_found: int
    face_height_px: float
    sharpness: float


def _distinct(faces: list) -> list:
    """One box per face: the fused detector may report the same face twice (different box sizes)."""
    kept: list = []
    for face in sorted(faces, key=lambda f: -f.score):
        b = face.box
        duplicate = False
        for other in kept:
            o = other.box
            smaller = min(b.width * b.height, o.width * o.height)
            if smaller > 0 and b.intersection(o) / smaller >= 0.6:
                duplicate = True
                break
        if not duplicate:
            kept.append(face)
    return sorted(kept, key=lambda f: f.box.x)


def enrol_photo(
    register: Register, child_id: str, source: str | os.PathLike | bytes, face: int | None = None, pack: Any = None
) -> Enrolled:
    from minorguard.models.pack import load_pack
    from minorguard.photo import PhotoError, load_photo
    from minorguard.quality import face_sharpness

    register.get_child(child_id)  # unknown child: fail before any model runs
    label = os.fsdecode(source) if not isinstance(source, bytes) else "<photo>"
    try:
        photo = load_photo(source, label=label)
    except PhotoError as error:
        raise RegisterError("photo_unusable", message=error.message) from None
    assert photo.data is not None and photo.sha256 is not None
    owner = register.is_enrolled(photo.sha256)
    if owner is not None:
        raise RegisterError("already_enrolled_photo", label=label, child=owner)
    pack = pack or load_pack()
    faces = _distinct(pack.detector.detect(photo.pixels))
    if not faces:
        raise RegisterError("no_face", label=label)
    if face is None:
        if len(faces) > 1:
            where = ", ".join(f"{i + 1} at x={f.box.x / photo.scale:.0f}" for i, f in enumerate(faces))
            raise RegisterError("many_faces", label=label, n=len(faces), where=where)
        face = 1
    if not 1 <= face <= len(faces):
        raise RegisterError("bad_face", label=label, face=face, n=len(faces))
    chosen = faces[face - 1]
    height = chosen.box.height / photo.scale
    if height < MIN_FACE_PX:
        raise RegisterError("too_small", label=label, face=face, px=f"{height:.0f}", min=f"{MIN_FACE_PX:.0f}")
    sharpness = face_sharpness(photo.pixels, chosen)
    if sharpness < MIN_SHARPNESS:
        raise RegisterError("too_blurred", label=label, face=face, sharpness=f"{sharpness:.0f}", min=f"{MIN_SHARPNESS:.0f}")
    embedder = pack.embedder
    vector = embedder.embed(photo.pixels, [chosen])[0]
    enrolment_id = register.add_enrolment(
        child_id, photo.data, vector, face_index=face, face_height_px=height, embedder=getattr(embedder, "name", type(embedder).__name__)
    )
    return Enrolled(enrolment_id, child_id, photo.sha256, face, len(faces), height, sharpness)
