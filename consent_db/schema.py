"""SQLAlchemy 2 models of the register. The schema itself is created by the Alembic
migrations in ``consent_db/migrations``; these classes must match them.

Conventions: ids are short random strings with a prefix (``ch-``, ``g-``, ``cr-``,
``en-``, ``ev-``, ``ka-``) so that nothing in an id reveals a person; the child's
id is the pseudonymous reference used in reports. Every datetime is naive UTC.
Columns holding biometric data or documents end in ``_enc`` and hold AES-GCM blobs; names and contacts
of children, guardians and known adults, children's dates of birth and guardians' relations are sealed text ("enc1:" + base64 of an AES-GCM blob) beside a
keyed lookup digest (``name_index``).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

__all__ = ["AuditEntry", "Base", "Child", "Consent", "Enrolment", "Event", "Guardian", "KnownAdult", "Meta", "ReviewRow"]


class Base(DeclarativeBase):
    pass


class Meta(Base):
    """Key/value facts about the register itself (key check, audit head)."""

    __tablename__ = "meta"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class Child(Base):
    __tablename__ = "children"
    id: Mapped[str] = mapped_column(String(16), primary_key=True)
    name: Mapped[str] = mapped_column(Text)  # sealed (AES-GCM, "enc1:..."); see Register._seal
    name_index: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)  # keyed digest of the name
    dob: Mapped[date | None] = mapped_column(Date, nullable=True)  # registers before 0005 only: sealed on open into dob_sealed
    dob_sealed: Mapped[str | None] = mapped_column(Text, nullable=True)  # the date of birth (ISO), sealed
    never_publish: Mapped[bool] = mapped_column(Boolean, default=False)
    never_publish_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    created_by: Mapped[str] = mapped_column(String(200))
    biometrics_erased_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    erased_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)  # the record erased on request (0007)
    guardians: Mapped[list[Guardian]] = relationship(back_populates="child", order_by="Guardian.created_at")
    consents: Mapped[list[Consent]] = relationship(back_populates="child", order_by="Consent.recorded_at")
    enrolments: Mapped[list[Enrolment]] = relationship(back_populates="child", order_by="Enrolment.created_at")


class Guardian(Base):
    __tablename__ = "guardians"
    id: Mapped[str] = mapped_column(String(16), primary_key=True)
    child_id: Mapped[str] = mapped_column(ForeignKey("children.id"), index=True)
    name: Mapped[str] = mapped_column(Text)  # sealed
    relation: Mapped[str] = mapped_column(Text, default="")  # sealed
    contact: Mapped[str] = mapped_column(Text, default="")  # sealed
    created_at: Mapped[datetime] = mapped_column(DateTime)
    child: Mapped[Child] = relationship(back_populates="guardians")


class Consent(Base):
    __tablename__ = "consents"
    id: Mapped[str] = mapped_column(String(16), primary_key=True)
    child_id: Mapped[str] = mapped_column(ForeignKey("children.id"), index=True)
    guardian_id: Mapped[str | None] = mapped_column(ForeignKey("guardians.id"), nullable=True)
    document_enc: Mapped[bytes] = mapped_column(LargeBinary)
    document_sha256: Mapped[str] = mapped_column(String(64))
    document_type: Mapped[str] = mapped_column(String(16))  # pdf, jpeg, png, tiff, webp, heif
    date_signed: Mapped[date] = mapped_column(Date)
    recorded_by: Mapped[str] = mapped_column(String(200))
    recorded_at: Mapped[datetime] = mapped_column(DateTime)
    channels: Mapped[list] = mapped_column(JSON)  # subset of CHANNELS; "all" covers every channel
    purposes: Mapped[list] = mapped_column(JSON)
    event_ids: Mapped[list] = mapped_column(JSON)  # empty: any event
    valid_from: Mapped[date] = mapped_column(Date)
    valid_until: Mapped[date | None] = mapped_column(Date, nullable=True)  # inclusive; None: open-ended
    status: Mapped[str] = mapped_column(String(16), default="active")  # active | withdrawn
    withdrawn_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    withdrawn_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    child: Mapped[Child] = relationship(back_populates="consents")


class Enrolment(Base):
    """One reference photo of a child and its face embedding (both encrypted)."""

    __tablename__ = "enrolments"
    # one photo may enrol several children (siblings in one family photo), one face each (migration 0006)
    __table_args__ = (UniqueConstraint("photo_sha256", "face_index", name="uq_enrolments_photo_face"),)
    id: Mapped[str] = mapped_column(String(16), primary_key=True)
    child_id: Mapped[str] = mapped_column(ForeignKey("children.id"), index=True)
    photo_sha256: Mapped[str] = mapped_column(String(64))
    photo_enc: Mapped[bytes] = mapped_column(LargeBinary)
    embedding_enc: Mapped[bytes] = mapped_column(LargeBinary)
    embedder: Mapped[str] = mapped_column(String(100))
    face_index: Mapped[int] = mapped_column(Integer)  # the face's number in the photo (1 = leftmost), despite the name
    face_height_px: Mapped[float] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    created_by: Mapped[str] = mapped_column(String(200))
    child: Mapped[Child] = relationship(back_populates="enrolments")


class Event(Base):
    """An event a photo may belong to; ``basis`` public/outdoor is rule 5's exemption."""

    __tablename__ = "events"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(300))
    start_utc: Mapped[datetime] = mapped_column(DateTime)
    end_utc: Mapped[datetime] = mapped_column(DateTime)
    tz: Mapped[str] = mapped_column(String(64), default="UTC")
    place: Mapped[str] = mapped_column(String(300), default="")
    lat: Mapped[float | None] = mapped_column(Float, nullable=True)
    lon: Mapped[float | None] = mapped_column(Float, nullable=True)
    radius_m: Mapped[float | None] = mapped_column(Float, nullable=True)
    basis: Mapped[str] = mapped_column(String(16), default="none")  # public | outdoor | none
    declared_by: Mapped[str] = mapped_column(String(200))
    declared_at: Mapped[datetime] = mapped_column(DateTime)
    justification: Mapped[str] = mapped_column(Text, default="")
    closed: Mapped[bool] = mapped_column(Boolean, default=False)


class KnownAdult(Base):
    """An adult (staff, officials) whose face may be recognised as adult; embeddings encrypted."""

    __tablename__ = "known_adults"
    id: Mapped[str] = mapped_column(String(16), primary_key=True)
    name: Mapped[str] = mapped_column(Text)  # sealed
    name_index: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    role: Mapped[str] = mapped_column(String(200), default="")
    added_by: Mapped[str] = mapped_column(String(200))
    added_at: Mapped[datetime] = mapped_column(DateTime)
    expires: Mapped[date | None] = mapped_column(Date, nullable=True)
    embeddings_enc: Mapped[bytes] = mapped_column(LargeBinary)  # float32 N x D
    embedder: Mapped[str] = mapped_column(String(100), default="")


class AuditEntry(Base):
    """Append-only, hash-chained: hash = sha256(prev_hash | canonical JSON of the entry)."""

    __tablename__ = "audit_log"
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    at: Mapped[str] = mapped_column(String(40))  # ISO UTC, hashed as written
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str] = mapped_column(String(200), default="")
    details: Mapped[str] = mapped_column(Text, default="{}")  # canonical JSON
    photo_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    document_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class ReviewRow(Base):
    """A reviewer's decision about one face (``consent_db.reviews``); reason and source sealed."""

    __tablename__ = "review_decisions"
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    photo_sha256: Mapped[str] = mapped_column(String(64), index=True)
    face_index: Mapped[int] = mapped_column(Integer)
    box_x: Mapped[float] = mapped_column(Float)
    box_y: Mapped[float] = mapped_column(Float)
    box_w: Mapped[float] = mapped_column(Float)
    box_h: Mapped[float] = mapped_column(Float)
    kind: Mapped[str] = mapped_column(String(16))
    consent_id: Mapped[str | None] = mapped_column(String(16), nullable=True)
    child_id: Mapped[str | None] = mapped_column(String(16), nullable=True)
    confirms: Mapped[int | None] = mapped_column(ForeignKey("review_decisions.seq"), nullable=True)
    reviewer: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str] = mapped_column(Text, default="")
    decided_at: Mapped[datetime] = mapped_column(DateTime)  # naive UTC
    source: Mapped[str] = mapped_column(Text, default="")  # file name as the reviewer saw it
