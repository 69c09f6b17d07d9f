"""The pipeline's ``ReviewLookup`` backed by the register: later scans and exports apply reviewers' decisions.

    from consent_db import Register
    reg = Register()
    guard = Guard(reviews=StoredReviews.open(reg, guard_policy, CheckContext(channel="facebook")))
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date as Date
from typing import TYPE_CHECKING

from minorguard.locale import t
from minorguard.rules.decide import ReviewerOverride
from minorguard.rules.policy import Policy
from minorguard.rules.reviews import FaceReview, assign_to_faces, standing, to_override
from minorguard.types import FaceDecision

if TYPE_CHECKING:  # the register is optional at import time
    from consent_db import Register
    from consent_db.reviews import Reviews

__all__ = ["StoredReviews", "register_consent_check"]


def register_consent_check(
    register: Register, channel: str | None, when: Date, event_id: str | None = None, purpose: str | None = None,
    lang: str = "en",
):
    """A ``ConsentCheck`` that asks the register whether a record covers this publication now; why it does not is
    said in ``lang`` (a reason a communicator reads quotes it)."""
    from consent_db import NotFound

    def check(record_id: str) -> tuple[bool, str, bool]:
        try:
            consent = register.get_consent(record_id)
            child = register.get_child(consent.child_id)
        except NotFound:
            return False, t("note.consent_gone", lang, id=record_id), False
        if consent.covers(channel, when, event_id, purpose):
            return True, "", child.never_publish
        if consent.status != "active":
            why = t("note.consent_withdrawn", lang, date=consent.withdrawn_on)
        elif when < consent.valid_from or (consent.valid_until is not None and when > consent.valid_until):
            why = t("note.consent_dates", lang, start=consent.valid_from, until=consent.valid_until or t("note.consent_open", lang),
                    date=when)
        elif consent.event_ids and event_id not in consent.event_ids:
            why = t("note.consent_events", lang, ids=", ".join(consent.event_ids))
        elif consent.purposes and purpose is None:
            why = t("note.consent_purpose_unsaid", lang, purposes=", ".join(consent.purposes))
        elif consent.purposes and not consent.allows_purpose(purpose):
            why = t("note.consent_purposes", lang, purposes=", ".join(consent.purposes), purpose=purpose)
        else:
            why = t("note.consent_channels", lang, channels=", ".join(consent.channels), channel=channel or t("note.no_channel", lang))
        return False, why, child.never_publish

    return check


class StoredReviews:
    """Reviewer decisions from the register, as overrides for a scan's face decisions."""

    def __init__(
        self,
        reviews: Reviews,
        policy: Policy,
        channel: str | None = None,
        when: Date | None = None,
        event_id: str | None = None,
        lang: str = "en",
        purpose: str | None = None,
    ) -> None:
        self.reviews = reviews
        self.lang = lang
        self.second_required = policy.second_reviewer_required
        self.consent_check = register_consent_check(reviews.register, channel, when or Date.today(), event_id, purpose, lang)

    @classmethod
    def open(cls, register: Register, policy: Policy, context=None, lang: str = "en") -> StoredReviews:
        from consent_db.reviews import Reviews

        channel = getattr(context, "channel", None)
        when = getattr(context, "when", None)
        event_id = getattr(context, "event_id", None)
        return cls(Reviews(register), policy, channel, when, event_id, lang, getattr(context, "purpose", None))

    def standings(self, sha256: str, decisions: Sequence[FaceDecision]) -> list[FaceReview]:
        records = self.reviews.for_photo(sha256)
        per_face = assign_to_faces(records, [d.box for d in decisions])
        return [standing(rows, self.second_required) for rows in per_face]

    def overrides(self, sha256: str, decisions: Sequence[FaceDecision]) -> list[ReviewerOverride | None]:
        if not decisions:
            return []
        return [to_override(s, d, self.consent_check, self.lang) for s, d in zip(self.standings(sha256, decisions), decisions)]
