"""The audit log of every request, and feedback on requests."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from memory.ledger.schema import FLOAT, TEXT

revision = "002_audit"
down_revision = "001_beliefs"


def upgrade() -> None:
    op.create_table(
        "audit",
        sa.Column("request_id", TEXT, primary_key=True),
        sa.Column("at", TEXT, nullable=False),
        sa.Column("tenant", TEXT, nullable=False),
        sa.Column("user_id", TEXT),
        sa.Column("model", TEXT, nullable=False),
        sa.Column("rule", TEXT),
        sa.Column("injected", TEXT, nullable=False),
        sa.Column("rendered", TEXT),
        sa.Column("template", TEXT),
        sa.Column("template_sha256", TEXT),
        sa.Column("tokens", sa.Integer, nullable=False),
        sa.Column("retrieve_ms", FLOAT, nullable=False),
        sa.Column("render_ms", FLOAT, nullable=False),
        sa.Column("upstream_ms", FLOAT, nullable=False),
        sa.Column("status", sa.Integer, nullable=False),
        sa.Column("error", TEXT),
        sa.Column("stream", sa.Integer, nullable=False),
        sa.Column("degraded", sa.Integer, nullable=False),
        sa.Column("degraded_reason", TEXT),
    )
    op.create_index("audit_by_time", "audit", ["tenant", "at"])
    op.create_index("audit_by_user", "audit", ["tenant", "user_id", "at"])
    op.create_table(
        "feedback",
        sa.Column("id", TEXT, primary_key=True),
        sa.Column("request_id", TEXT, nullable=False),
        sa.Column("tenant", TEXT, nullable=False),
        sa.Column("user_id", TEXT, nullable=False),
        sa.Column("score", FLOAT, nullable=False),
        sa.Column("comment", TEXT),
        sa.Column("at", TEXT, nullable=False),
    )
    op.create_index("feedback_by_user", "feedback", ["tenant", "user_id", "at"])
