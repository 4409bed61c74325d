"""Alembic's environment: migrations run on the connection `memory.ledger.migrations` hands
over (never one opened from a URL here), inside the transaction it holds."""

from __future__ import annotations

from alembic import context

connection = context.config.attributes["connection"]
context.configure(connection=connection, transactional_ddl=True)
with context.begin_transaction():
    context.run_migrations()
