"""Alembic environment: migrations run on the connection procert hands over (`procert db upgrade`)."""

from __future__ import annotations

from alembic import context

from procert.ledger.models import Base

config = context.config
connection = config.attributes.get("connection")
if connection is None or context.is_offline_mode():
    raise SystemExit("procert runs migrations on its own connection: use `procert db upgrade`")
context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
