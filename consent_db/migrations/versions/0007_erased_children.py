"""When a child's record was erased on request (``Register.erase_child``): the pseudonymous id and the consents'
dates and document digests stay, so the audit log's references still resolve.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("children", sa.Column("erased_at", sa.DateTime(), nullable=True))


def downgrade() -> None:
    op.drop_column("children", "erased_at")
