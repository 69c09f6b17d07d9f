"""One photo may enrol several children, one face each: unique (photo, face) instead of unique photo.

Parents often send one photo of two siblings; the register refused the second child ("this photo is already
enrolled"), so that child's photos could never be matched to its consent.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

# SQLite names no column-level UNIQUE: reflected under this convention, the one on photo_sha256 gets a name to drop
_CONVENTION = {"uq": "uq_%(table_name)s_%(column_0_name)s"}


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":  # named by the server ("enrolments_photo_sha256_key") or by a downgrade
        for constraint in sa.inspect(bind).get_unique_constraints("enrolments"):
            if constraint["column_names"] == ["photo_sha256"]:
                op.drop_constraint(constraint["name"], "enrolments", type_="unique")
        op.create_unique_constraint("uq_enrolments_photo_face", "enrolments", ["photo_sha256", "face_index"])
        return
    with op.batch_alter_table("enrolments", recreate="always", naming_convention=_CONVENTION) as batch:
        batch.drop_constraint("uq_enrolments_photo_sha256", type_="unique")
        batch.create_unique_constraint("uq_enrolments_photo_face", ["photo_sha256", "face_index"])


def downgrade() -> None:
    with op.batch_alter_table("enrolments", recreate="always") as batch:
        batch.drop_constraint("uq_enrolments_photo_face", type_="unique")
        batch.create_unique_constraint("uq_enrolments_photo_sha256", ["photo_sha256"])
