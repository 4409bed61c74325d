"""Jobs claimed with a lease (several worker processes share the outbox); a revision clock for
the whole store, so that a user forgotten and re-created never reuses a revision another
process has cached; forgotten users whose vectors the index owner must drop."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from memory.ledger.schema import TEXT

revision = "008_worker_leases"
down_revision = "007_evidence_note"


def upgrade() -> None:
    op.add_column("outbox", sa.Column("lease_owner", TEXT))
    op.add_column("outbox", sa.Column("lease_until", TEXT))
    op.create_index("outbox_leases", "outbox", ["state", "lease_until"])
    op.create_index("outbox_running_users", "outbox", ["tenant", "user_id", "state"])
    op.create_table(
        "revision_clock",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("value", sa.Integer, nullable=False),
        sa.CheckConstraint("id = 1", name="revision_clock_one_row"),
    )
    op.execute(
        "INSERT INTO revision_clock (id, value) SELECT 1, COALESCE(MAX(revision), 0) FROM users"
    )
    op.create_table(
        "index_drops",
        sa.Column("tenant", TEXT, nullable=False),
        sa.Column("user_id", TEXT, nullable=False),
        sa.Column("at", TEXT, nullable=False),
        sa.PrimaryKeyConstraint("tenant", "user_id"),
    )
