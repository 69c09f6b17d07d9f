"""Names and contacts sealed at rest: wide text columns and keyed lookup digests.

The encryption of names already stored happens when the register is next opened
with its key (``Register._seal_legacy``): a migration has no key.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":  # SQLite does not enforce a VARCHAR's length
        for table, column in (("children", "name"), ("guardians", "name"), ("guardians", "contact"), ("known_adults", "name")):
            op.alter_column(table, column, type_=sa.Text())
    for table in ("children", "known_adults"):
        op.add_column(table, sa.Column("name_index", sa.String(64), nullable=True))
        op.create_index(f"ix_{table}_name_index", table, ["name_index"])


def downgrade() -> None:
    for table in ("children", "known_adults"):
        op.drop_index(f"ix_{table}_name_index", table)
        op.drop_column(table, "name_index")
