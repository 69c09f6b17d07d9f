"""What the register hands out: frozen, plain records with no biometric data."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from minorguard.locale.typed_text import same_text

__all__ = ["BASES", "CHANNELS", "ChildInfo", "ConsentInfo", "EventInfo", "GuardianInfo", "KnownAdultInfo", "same_text"]

# Where a photo may be published; "all" in a consent covers every channel.
CHANNELS = ("facebook", "instagram", "x", "youtube", "tiktok", "website", "print", "all")
BASES = ("public", "outdoor", "none")


@dataclass(frozen=True, slots=True)
class GuardianInfo:
    id: str
    child_id: str
    name: str
    relation: str
    contact: str


@dataclass(frozen=True, slots=True)
class ConsentInfo:
    id: str
    child_id: str
    guardian_id: str | None
    document_sha256: str
    document_type: str
    date_signed: date
    recorded_by: str
    recorded_at: datetime
    channels: tuple[str, ...]
    purposes: tuple[str, ...]
    event_ids: tuple[str, ...]
    valid_from: date
    valid_until: date | None
    status: str
    withdrawn_on: date | None = None
    withdrawn_reason: str | None = None

    def covers(self, channel: str | None, when: date, event_id: str | None = None, purpose: str | None = None) -> bool:
        """Active, in force on ``when``, for ``channel`` (None: only "all") and the event, if limited.

        ``purpose``: what the publication is for (``--purpose``); a consent that lists purposes covers only those,
        and nothing when no purpose is said, as a consent limited to events covers nothing outside one (unsaid, the
        parents' limit went unchecked and the consent let the child through). Purposes are free text written by
        people: compared without case or extra spaces.
        """
        if self.status != "active" or when < self.valid_from:
            return False
        if self.valid_until is not None and when > self.valid_until:
            return False
        if "all" not in self.channels and (channel is None or channel not in self.channels):
            return False
        if self.purposes and (purpose is None or not self.allows_purpose(purpose)):
            return False
        return not self.event_ids or (event_id is not None and event_id in self.event_ids)

    def allows_purpose(self, purpose: str) -> bool:
        return any(same_text(purpose, listed) for listed in self.purposes)


@dataclass(frozen=True, slots=True)
class ChildInfo:
    id: str  # pseudonymous reference used in reports
    name: str
    dob: date | None
    never_publish: bool
    never_publish_reason: str | None
    enrolment_photos: int
    biometrics_erased_at: datetime | None
    guardians: tuple[GuardianInfo, ...] = ()
    consents: tuple[ConsentInfo, ...] = ()
    erased_at: datetime | None = None  # the record erased on request: no name, date of birth, guardians or forms left


@dataclass(frozen=True, slots=True)
class EventInfo:
    id: str
    name: str
    start_utc: datetime
    end_utc: datetime
    tz: str
    place: str
    lat: float | None
    lon: float | None
    radius_m: float | None
    basis: str  # public | outdoor | none
    declared_by: str
    declared_at: datetime
    justification: str
    closed: bool


@dataclass(frozen=True, slots=True)
class KnownAdultInfo:
    id: str
    name: str
    role: str
    added_by: str
    added_at: datetime
    expires: date | None
    embedder: str
    count: int  # number of reference embeddings
