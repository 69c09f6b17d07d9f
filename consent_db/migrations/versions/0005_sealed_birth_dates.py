"""Children's dates of birth and guardians' relations sealed at rest.

A date of birth beside a pseudonymous id, and a relation such as "legal guardian (social services)", say more about a
child than its id should. The values already stored are sealed when the register is next opened with its key
(``Register._seal_legacy``): a migration has no key.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("children", sa.Column("dob_sealed", sa.Text(), nullable=True))
    if op.get_bind().dialect.name == "postgresql":  # SQLite does not enforce a VARCHAR's length
        op.alter_column("guardians", "relation", type_=sa.Text())


def downgrade() -> None:
    op.drop_column("children", "dob_sealed")
