"""The user message that drove retrieval and the reply, kept when audit.store_rendered is on;
history rows and jobs are looked up by the request they came from."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from memory.ledger.schema import TEXT

revision = "010_audit_turn_text"
down_revision = "009_audit_arm"


def upgrade() -> None:
    op.add_column("audit", sa.Column("user_message", TEXT))
    op.add_column("audit", sa.Column("reply", TEXT))
    op.create_index("history_by_request", "history", ["request_id"], if_not_exists=True)
    op.create_index("outbox_by_request", "outbox", ["request_id"], if_not_exists=True)
