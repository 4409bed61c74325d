"""The durable extraction queue."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from memory.ledger.schema import TEXT

revision = "003_outbox"
down_revision = "002_audit"


def upgrade() -> None:
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("request_id", TEXT, nullable=False),
        sa.Column("tenant", TEXT, nullable=False),
        sa.Column("user_id", TEXT, nullable=False),
        sa.Column("payload", TEXT, nullable=False),
        sa.Column("state", TEXT, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("next_attempt_at", TEXT, nullable=False),
        sa.Column("last_error", TEXT),
        sa.Column("raw_output", TEXT),
        sa.Column("created_at", TEXT, nullable=False),
        sa.Column("updated_at", TEXT, nullable=False),
        sqlite_autoincrement=True,
    )
    op.create_index("outbox_ready", "outbox", ["state", "next_attempt_at"])
    op.create_index("outbox_by_user", "outbox", ["tenant", "user_id"])
