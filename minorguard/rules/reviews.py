"""What the reviewers' decisions mean for a face: pure functions, no I/O.

Stored decisions (``consent_db.reviews.ReviewRecord`` or anything with the same
fields) are matched to the faces of a fresh scan by position, the latest one
stands, and it becomes a :class:`~minorguard.rules.decide.ReviewerOverride`. Under a
second-reviewer policy, a decision that lets a possible minor through (adult,
linked to a consent) only takes effect once someone else confirms it; until
then the face stays REVIEW.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Protocol

from minorguard.locale import t
from minorguard.locale.typed_text import same_text, typed_form
from minorguard.rules.decide import ReviewerOverride
from minorguard.types import Box, ConsentEvidence, FaceAction, FaceCategory, FaceDecision, ReasonCode

__all__ = [
    "MIN_IOU",
    "ConsentCheck",
    "FaceReview",
    "apply_override",
    "assign_to_faces",
    "models_own",
    "same_person",
    "standing",
    "to_override",
]

# A stored box belongs to a scanned face when they overlap this much; a rescan
# with the same models gives the same box (IoU 1.0), a different detector or
# threshold shifts it by a few pixels (IoU > 0.7 in practice), a neighbour in
# a group photo barely overlaps.
MIN_IOU = 0.5

SETTLING = ("adult", "consent", "hide")
LETS_THROUGH = ("adult", "consent")


class Record(Protocol):
    seq: int
    face_index: int
    box: tuple[float, float, float, float]
    kind: str
    consent_id: str | None
    child_id: str | None
    confirms: int | None
    reviewer: str
    reason: str


# consent record id -> (covers this publication?, why not, child is never-publish)
ConsentCheck = Callable[[str], tuple[bool, str, bool]]


def same_person(a: str, b: str) -> bool:
    """Reviewer names compared the way a person would: case, spaces and punctuation ignored ("Ana" and "Ana." are one
    reviewer: an audit confirmed its own decision as the second reviewer that way)."""
    return same_text(a, b) or _letters(a) == _letters(b)


def _letters(name: str) -> str:
    return "".join(c for c in typed_form(name) if c.isalnum())


@dataclass(frozen=True, slots=True)
class FaceReview:
    """The reviewers' standing on one face."""

    current: Record | None  # the decision that stands (None: none, or cleared)
    confirmations: tuple[Record, ...]  # by other reviewers, of ``current``
    history: tuple[Record, ...]  # every row about this face, oldest first
    second_required: bool

    @property
    def pending_second(self) -> bool:
        return (
            self.second_required
            and self.current is not None
            and self.current.kind in LETS_THROUGH
            and not self.confirmations
        )


def assign_to_faces(records: Sequence[Record], boxes: Sequence[Box]) -> list[list[Record]]:
    """Each stored record goes to the face whose box overlaps it most (at least MIN_IOU)."""
    out: list[list[Record]] = [[] for _ in boxes]
    for record in records:
        stored = Box(*record.box)
        best, best_iou = -1, MIN_IOU
        for i, box in enumerate(boxes):
            iou = stored.iou(box)
            if iou >= best_iou:
                best, best_iou = i, iou
        if best >= 0:
            out[best].append(record)
    return out


def standing(records: Sequence[Record], second_required: bool) -> FaceReview:
    """The latest settling decision wins (two tabs: the later one); confirmations must be by someone else."""
    history = tuple(sorted(records, key=lambda r: r.seq))
    current: Record | None = None
    for record in history:
        if record.kind in SETTLING:
            current = record
        elif record.kind == "clear":
            current = None
    confirmations: tuple[Record, ...] = ()
    if current is not None:
        confirmations = tuple(
            r for r in history
            if r.kind == "confirm" and r.confirms == current.seq and not same_person(r.reviewer, current.reviewer)
        )
    return FaceReview(current, confirmations, history, second_required)


def _note(review: FaceReview, lang: str) -> str:
    current = review.current
    assert current is not None
    what = t(f"review.note_{current.kind}", lang, id=current.consent_id)
    when = getattr(current, "decided_at", None)
    parts = [what, current.reviewer]
    if when is not None:
        parts.append(when.strftime("%Y-%m-%d %H:%M UTC"))
    if current.reason:
        parts.append(current.reason)
    if review.confirmations:
        parts.append(t("review.note_confirmed", lang, names=", ".join(sorted({r.reviewer for r in review.confirmations}))))
    return " · ".join(parts)


def to_override(
    review: FaceReview, decision: FaceDecision, consent_check: ConsentCheck | None = None, lang: str = "en"
) -> ReviewerOverride | None:
    """The override a standing decision gives this face, or None to keep the models' decision.

    Its note (the reason's detail a communicator reads) is written in ``lang``.
    """
    current = review.current
    if current is None:
        return None
    note = _note(review, lang)
    if current.kind == "hide":
        return ReviewerOverride(FaceAction.BLOCK, decision.category, note)
    if review.pending_second:
        return ReviewerOverride(FaceAction.REVIEW, decision.category, note + " · " + t("review.note_pending", lang))
    if current.kind == "adult":
        return ReviewerOverride(FaceAction.ALLOW, FaceCategory.ADULT, note)
    # consent: checked again on every scan, since a consent can be withdrawn or run out
    if consent_check is None:
        return ReviewerOverride(FaceAction.REVIEW, decision.category, note + " · " + t("review.note_no_register", lang))
    covers, why, never = consent_check(current.consent_id or "")
    evidence = ConsentEvidence(
        child_ref=current.child_id or "", similarity=1.0, record_id=current.consent_id if covers else None,
        confident=True, ambiguous=False, never_publish=never, note=t("note.linked_by_reviewer", lang, name=current.reviewer),
    )
    if never:
        return ReviewerOverride(FaceAction.BLOCK, decision.category, note + " · " + t("review.note_never", lang), evidence)
    if not covers:
        return ReviewerOverride(FaceAction.BLOCK, decision.category, note + " · " + t("review.note_not_covered", lang, why=why), evidence)
    return ReviewerOverride(FaceAction.ALLOW, decision.category, note, evidence)


def apply_override(decision: FaceDecision, override: ReviewerOverride | None) -> FaceDecision:
    """The decision ``decide_face`` would give with this override, for a result read back from JSON.

    Same order as ``decide_face``: a face that is not identifiable, or a child on
    the never-publish list, is not the reviewer's to change.
    """
    if override is None or decision.category is FaceCategory.NOT_IDENTIFIABLE or decision.reason is ReasonCode.NEVER_PUBLISH:
        return decision
    return replace(
        decision, category=override.category, action=override.action, reason=ReasonCode.REVIEWER,
        detail=override.note, consent=override.consent or decision.consent, models_decision=models_own(decision),
    )


def models_own(decision: FaceDecision) -> FaceDecision:
    """The decision the models and the register gave the face, whether or not a reviewer has replaced it."""
    own = decision.models_decision
    if own is None:
        return decision
    return replace(own, group=decision.group, models_decision=None)  # the person grouping found is the face's own
