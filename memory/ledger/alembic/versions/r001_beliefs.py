"""Users, beliefs, their evidence and history, observations, and the store's meta keys."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from memory.ledger.schema import FLOAT, TEXT

revision = "001_beliefs"
down_revision = None


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("tenant", TEXT, nullable=False),
        sa.Column("user_id", TEXT, nullable=False),
        sa.Column("created_at", TEXT, nullable=False),
        sa.Column("revision", sa.Integer, nullable=False, server_default="0"),
        sa.PrimaryKeyConstraint("tenant", "user_id"),
    )
    op.create_table(
        "beliefs",
        sa.Column("id", TEXT, primary_key=True),
        sa.Column("tenant", TEXT, nullable=False),
        sa.Column("user_id", TEXT, nullable=False),
        sa.Column("statement", TEXT, nullable=False),
        sa.Column("context", TEXT, nullable=False),
        sa.Column("status", TEXT, nullable=False),
        sa.Column("source", TEXT, nullable=False),
        sa.Column("confidence", FLOAT, nullable=False),
        sa.Column("version", sa.Integer, nullable=False, server_default="1"),
        sa.Column("supersedes", TEXT),
        sa.Column("superseded_by", TEXT),
        sa.Column("valid_from", TEXT, nullable=False),
        sa.Column("valid_to", TEXT),
        sa.Column("created_at", TEXT, nullable=False),
        sa.Column("updated_at", TEXT, nullable=False),
        sa.Column("indexed", sa.Integer, nullable=False, server_default="0"),
    )
    op.create_index("beliefs_unindexed", "beliefs", ["indexed", "status"])
    op.create_index("beliefs_by_user", "beliefs", ["tenant", "user_id", "status", "context"])
    op.create_table(
        "evidence",
        sa.Column("id", TEXT, primary_key=True),
        sa.Column(
            "belief_id", TEXT, sa.ForeignKey("beliefs.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("source", TEXT, nullable=False),
        sa.Column("kind", TEXT, nullable=False),
        sa.Column("quote", TEXT),
        sa.Column("request_id", TEXT),
        sa.Column("observation_id", TEXT),
        sa.Column("polarity", sa.Integer, nullable=False),
        sa.Column("weight", FLOAT, nullable=False),
        sa.Column("anchor", FLOAT),
        sa.Column("at", TEXT, nullable=False),
    )
    op.create_index("evidence_by_belief", "evidence", ["belief_id", "at"])
    op.create_index("evidence_by_request", "evidence", ["request_id"])
    op.create_table(
        "history",
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "belief_id", TEXT, sa.ForeignKey("beliefs.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("event", TEXT, nullable=False),
        sa.Column("statement", TEXT, nullable=False),
        sa.Column("status", TEXT, nullable=False),
        sa.Column("confidence", FLOAT, nullable=False),
        sa.Column("actor", TEXT, nullable=False),
        sa.Column("request_id", TEXT),
        sa.Column("observation_id", TEXT),
        sa.Column("at", TEXT, nullable=False),
        sqlite_autoincrement=True,
    )
    op.create_index("history_by_belief", "history", ["belief_id", "seq"])
    op.create_table(
        "observations",
        sa.Column("id", TEXT, primary_key=True),
        sa.Column("tenant", TEXT, nullable=False),
        sa.Column("user_id", TEXT, nullable=False),
        sa.Column("text", TEXT, nullable=False),
        sa.Column("context", TEXT),
        sa.Column("kind", TEXT, nullable=False),
        sa.Column("weight", FLOAT, nullable=False),
        sa.Column("at", TEXT, nullable=False),
    )
    op.create_table(
        "meta",
        sa.Column("key", TEXT, primary_key=True),
        sa.Column("value", TEXT, nullable=False),
    )
