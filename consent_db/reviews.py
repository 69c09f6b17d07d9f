"""Reviewer decisions about single faces, kept in the register beside the consents.

A decision is tied to the photo's bytes (sha256) and the face's position in
it, not to a file name: renaming a photo keeps its decisions, editing it drops
them. Rows are only ever added: a later decision about the same face
supersedes an earlier one without erasing it, and every row is written to the
hash-chained audit log in the same transaction.

    reviews = Reviews(register)
    row = reviews.record(sha, face_index=2, box=(x, y, w, h), kind="adult", reviewer="Ana", reason="teacher")
    reviews.for_photo(sha)  # every row, oldest first
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select

from consent_db import audit
from consent_db.errors import NotFound, RegisterError
from consent_db.register import Register
from consent_db.schema import Consent, ReviewRow
from minorguard.locale.typed_text import folded_form as _fold  # the one way a name is looked up (child list --name too)
from minorguard.photos.file_names import shown
from minorguard.rules.reviews import same_person  # the rule the page reads confirmations by

__all__ = ["KINDS", "LETS_THROUGH", "MAX_GROUP_FACES", "FaceRef", "ReviewRecord", "Reviews"]

# adult / consent / hide settle a face; clear returns it to the models' decision;
# confirm is a second reviewer agreeing with an earlier adult or consent decision.
KINDS = ("adult", "consent", "hide", "clear", "confirm")
# the decisions that let a possible minor be published (a second pair of eyes may be required)
LETS_THROUGH = ("adult", "consent")
_SHA = re.compile(r"[0-9a-f]{64}")
# one person across a very large batch; more than this in one decision is more likely a clustering fault than a person
MAX_GROUP_FACES = 2000


@dataclass(frozen=True, slots=True)
class FaceRef:
    """A face a decision is about: the photo's bytes and the face's position in them."""

    photo_sha256: str
    face_index: int
    box: tuple[float, float, float, float]
    source: str = ""
    confirms: int | None = None  # for a confirmation: the decision about this face it confirms


@dataclass(frozen=True, slots=True)
class ReviewRecord:
    """One reviewer decision as stored (no biometric data, no child name)."""

    seq: int
    photo_sha256: str
    face_index: int
    box: tuple[float, float, float, float]  # x, y, width, height in the oriented full-size photo
    kind: str
    consent_id: str | None
    child_id: str | None
    confirms: int | None
    reviewer: str
    reason: str
    decided_at: datetime
    source: str = ""


def _record(register: Register, row: ReviewRow) -> ReviewRecord:
    return ReviewRecord(
        seq=row.seq, photo_sha256=row.photo_sha256, face_index=row.face_index,
        box=(row.box_x, row.box_y, row.box_w, row.box_h), kind=row.kind, consent_id=row.consent_id,
        child_id=row.child_id, confirms=row.confirms, reviewer=row.reviewer,
        reason=register._unseal(row.reason, f"review_decisions.reason:{row.seq}"), decided_at=row.decided_at,
        source=register._unseal(row.source, f"review_decisions.source:{row.seq}"),
    )


class Reviews:
    """Reviewer decisions in ``register``'s database (SQLite or PostgreSQL)."""

    def __init__(self, register: Register) -> None:
        self.register = register
        self.store = register.store

    def record(
        self,
        photo_sha256: str,
        face_index: int,
        box: tuple[float, float, float, float],
        kind: str,
        reviewer: str,
        reason: str = "",
        *,
        consent_id: str | None = None,
        confirms: int | None = None,
        source: str = "",
    ) -> ReviewRecord:
        """Append one decision and its audit entry; refuse bad input with one line, writing nothing."""
        face = FaceRef(photo_sha256, face_index, box, source, confirms)
        reviewer, reason = self._check(kind, reviewer, reason, consent_id, [face])
        with self.register._transaction() as session:
            child_id = self._consent_child(session, kind, consent_id)
            row = self._row(session, face, kind, reviewer, reason, consent_id, child_id)
            x, y, w, h = face.box
            audit.append(
                session,
                reviewer,
                f"review_{kind}",
                row.child_id or "",
                {
                    # "face": the number every page and command shows (1 = leftmost), as the scan's entries write it
                    "decision": row.seq, "face": row.face_index + 1, "face_index": row.face_index, "box": [round(v, 1) for v in (x, y, w, h)],
                    "consent": row.consent_id, "confirms": row.confirms, "os_user": self.register.actor,
                    "reason": self.register._seal(reason, f"audit.review_reason:{row.seq}"),
                },
                photo_sha256=photo_sha256,
            )
            return _record(self.register, row)

    def record_group(
        self,
        faces: Sequence[FaceRef],
        kind: str,
        reviewer: str,
        reason: str = "",
        *,
        consent_id: str | None = None,
        group: str = "",
    ) -> list[ReviewRecord]:
        """One decision about one person, for every face of theirs: one row per face, ONE audit entry.

        All or nothing: a bad face (or a confirmation that no longer holds)
        refuses the whole decision. The audit entry lists every face, so the
        log reads as what the reviewer did: one decision about one person.
        """
        faces = list(faces)
        if not faces:
            raise RegisterError("review_group_empty")
        if len(faces) > MAX_GROUP_FACES:
            raise RegisterError("review_group_too_big", n=MAX_GROUP_FACES)
        reviewer, reason = self._check(kind, reviewer, reason, consent_id, faces)
        with self.register._transaction() as session:
            child_id = self._consent_child(session, kind, consent_id)
            rows = [self._row(session, face, kind, reviewer, reason, consent_id, child_id) for face in faces]
            audit.append(
                session,
                reviewer,
                f"review_group_{kind}",
                child_id or "",
                {
                    "group": str(group)[:100], "consent": consent_id, "os_user": self.register.actor,
                    "reason": self.register._seal(reason, f"audit.review_reason:{rows[0].seq}"),
                    "faces": [
                        {"decision": r.seq, "photo_sha256": r.photo_sha256, "face": r.face_index + 1, "face_index": r.face_index,
                         "box": [round(v, 1) for v in (r.box_x, r.box_y, r.box_w, r.box_h)], "confirms": r.confirms}
                        for r in rows
                    ],
                },
            )
            return [_record(self.register, r) for r in rows]

    @staticmethod
    def _check(kind: str, reviewer: str, reason: str, consent_id: str | None, faces: Sequence[FaceRef]) -> tuple[str, str]:
        reviewer = " ".join(str(reviewer or "").split())
        reason = str(reason or "").strip()
        if not reviewer:
            raise RegisterError("review_no_reviewer")
        if len(reviewer) > 200 or len(reason) > 2000:
            raise RegisterError("review_too_long")
        if kind not in KINDS:
            raise RegisterError("review_unknown_kind", kind=repr(kind), allowed=", ".join(KINDS))
        if kind == "consent" and not consent_id:
            raise RegisterError("review_no_consent_id")
        for face in faces:
            if not _SHA.fullmatch(face.photo_sha256 or ""):
                raise RegisterError("review_bad_sha")
            x, y, w, h = (float(v) for v in face.box)
            if w <= 0 or h <= 0 or x < 0 or y < 0:
                raise RegisterError("review_bad_box")
            if kind == "confirm" and face.confirms is None:
                raise RegisterError("review_confirms_nothing")
        return reviewer, reason

    @staticmethod
    def _consent_child(session, kind: str, consent_id: str | None) -> str | None:
        if kind != "consent":
            return None
        consent = session.get(Consent, consent_id)
        if consent is None:
            raise NotFound("not_found_record", id=consent_id)
        if consent.status == "withdrawn":
            # it would never apply (the scan checks the consent again), but the log would read as a face allowed on it
            raise RegisterError("review_consent_withdrawn", id=consent_id, on=str(consent.withdrawn_on or ""))
        return consent.child_id

    def _row(self, session, face: FaceRef, kind: str, reviewer: str, reason: str, consent_id: str | None, child_id: str | None) -> ReviewRow:
        confirms = face.confirms if kind == "confirm" else None
        if kind == "confirm":
            first = session.get(ReviewRow, confirms)
            if first is None:
                raise NotFound("review_unknown_decision", id=confirms)
            if first.photo_sha256 != face.photo_sha256:
                raise NotFound("review_no_decision", id=confirms)
            if first.kind not in LETS_THROUGH:
                raise RegisterError("review_no_second_needed", kinds=" and ".join(LETS_THROUGH))
            if same_person(first.reviewer, reviewer):
                raise RegisterError("review_same_reviewer")
            consent_id, child_id = first.consent_id, first.child_id
        x, y, w, h = (float(v) for v in face.box)
        row = ReviewRow(
            photo_sha256=face.photo_sha256, face_index=int(face.face_index), box_x=x, box_y=y, box_w=w, box_h=h,
            kind=kind, consent_id=consent_id, child_id=child_id, confirms=confirms, reviewer=reviewer,
            reason="", decided_at=datetime.now(UTC).replace(tzinfo=None), source="",
        )
        session.add(row)
        session.flush()
        # a reviewer's words and a file name can name a child: sealed like every name, bound to the row's number
        row.reason = self.register._seal(reason, f"review_decisions.reason:{row.seq}")
        row.source = self.register._seal(shown(str(face.source))[:1000], f"review_decisions.source:{row.seq}")
        session.flush()
        return row

    def for_photo(self, photo_sha256: str) -> list[ReviewRecord]:
        """Every decision about this photo's faces, oldest first."""
        return self.for_photos([photo_sha256]).get(photo_sha256, [])

    def for_photos(self, shas: list[str]) -> dict[str, list[ReviewRecord]]:
        wanted = sorted({s for s in shas if s})
        out: dict[str, list[ReviewRecord]] = {}
        with self.register._transaction() as session:
            for start in range(0, len(wanted), 500):  # keep IN (...) lists short for SQLite
                query = select(ReviewRow).where(ReviewRow.photo_sha256.in_(wanted[start : start + 500])).order_by(ReviewRow.seq)
                for row in session.execute(query).scalars():
                    out.setdefault(row.photo_sha256, []).append(_record(self.register, row))
        return out

    def search_children(self, text: str, limit: int = 20) -> list[tuple[str, str, bool]]:
        """(child id, name, never publish) of children whose name contains ``text``, accents ignored."""
        needle = _fold(text)
        if not needle:
            return []
        rows = sorted(self.register.child_names(), key=lambda r: _fold(r[1]))  # sealed at rest: opened, then searched
        return [(cid, name, bool(never)) for cid, name, never in rows if needle in _fold(name)][:limit]

