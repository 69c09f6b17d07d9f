"""Initial register: children, guardians, consents, enrolments, events, known adults, audit log.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "meta",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("value", sa.Text(), nullable=False),
    )
    op.create_table(
        "children",
        sa.Column("id", sa.String(16), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("dob", sa.Date(), nullable=True),
        sa.Column("never_publish", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("never_publish_reason", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("biometrics_erased_at", sa.DateTime(), nullable=True),
    )
    op.create_table(
        "guardians",
        sa.Column("id", sa.String(16), primary_key=True),
        sa.Column("child_id", sa.String(16), sa.ForeignKey("children.id"), nullable=False, index=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("relation", sa.String(100), nullable=False),
        sa.Column("contact", sa.String(300), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )
    op.create_table(
        "consents",
        sa.Column("id", sa.String(16), primary_key=True),
        sa.Column("child_id", sa.String(16), sa.ForeignKey("children.id"), nullable=False, index=True),
        sa.Column("guardian_id", sa.String(16), sa.ForeignKey("guardians.id"), nullable=True),
        sa.Column("document_enc", sa.LargeBinary(), nullable=False),
        sa.Column("document_sha256", sa.String(64), nullable=False),
        sa.Column("document_type", sa.String(16), nullable=False),
        sa.Column("date_signed", sa.Date(), nullable=False),
        sa.Column("recorded_by", sa.String(200), nullable=False),
        sa.Column("recorded_at", sa.DateTime(), nullable=False),
        sa.Column("channels", sa.JSON(), nullable=False),
        sa.Column("purposes", sa.JSON(), nullable=False),
        sa.Column("event_ids", sa.JSON(), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_until", sa.Date(), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("withdrawn_on", sa.Date(), nullable=True),
        sa.Column("withdrawn_reason", sa.Text(), nullable=True),
        sa.CheckConstraint("valid_until IS NULL OR valid_until >= valid_from", name="ck_consent_period"),
        sa.CheckConstraint("status IN ('active', 'withdrawn')", name="ck_consent_status"),
    )
    op.create_table(
        "enrolments",
        sa.Column("id", sa.String(16), primary_key=True),
        sa.Column("child_id", sa.String(16), sa.ForeignKey("children.id"), nullable=False, index=True),
        sa.Column("photo_sha256", sa.String(64), nullable=False, unique=True),
        sa.Column("photo_enc", sa.LargeBinary(), nullable=False),
        sa.Column("embedding_enc", sa.LargeBinary(), nullable=False),
        sa.Column("embedder", sa.String(100), nullable=False),
        sa.Column("face_index", sa.Integer(), nullable=False),
        sa.Column("face_height_px", sa.Float(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
    )
    op.create_table(
        "events",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(300), nullable=False),
        sa.Column("start_utc", sa.DateTime(), nullable=False),
        sa.Column("end_utc", sa.DateTime(), nullable=False),
        sa.Column("tz", sa.String(64), nullable=False),
        sa.Column("place", sa.String(300), nullable=False),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column("radius_m", sa.Float(), nullable=True),
        sa.Column("basis", sa.String(16), nullable=False),
        sa.Column("declared_by", sa.String(200), nullable=False),
        sa.Column("declared_at", sa.DateTime(), nullable=False),
        sa.Column("justification", sa.Text(), nullable=False),
        sa.Column("closed", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.CheckConstraint("end_utc >= start_utc", name="ck_event_period"),
        sa.CheckConstraint("basis IN ('public', 'outdoor', 'none')", name="ck_event_basis"),
    )
    op.create_table(
        "known_adults",
        sa.Column("id", sa.String(16), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("role", sa.String(200), nullable=False),
        sa.Column("added_by", sa.String(200), nullable=False),
        sa.Column("added_at", sa.DateTime(), nullable=False),
        sa.Column("expires", sa.Date(), nullable=True),
        sa.Column("embeddings_enc", sa.LargeBinary(), nullable=False),
        sa.Column("embedder", sa.String(100), nullable=False),
    )
    op.create_table(
        "audit_log",
        sa.Column("seq", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("at", sa.String(40), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("subject", sa.String(200), nullable=False),
        sa.Column("details", sa.Text(), nullable=False),
        sa.Column("photo_sha256", sa.String(64), nullable=True),
        sa.Column("document_sha256", sa.String(64), nullable=True),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )


def downgrade() -> None:
    for table in ("audit_log", "known_adults", "events", "enrolments", "consents", "guardians", "children", "meta"):
        op.drop_table(table)
