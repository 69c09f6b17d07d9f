"""Alembic environment: the register runs migrations itself on open, on the
connection (and inside the transaction) that ``consent_db.store`` hands over."""

from __future__ import annotations

from alembic import context

from consent_db.schema import Base

target_metadata = Base.metadata
connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - only the register runs these migrations
    raise RuntimeError("consent_db migrations run through consent_db.store.migrate(), not the alembic command")
context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
