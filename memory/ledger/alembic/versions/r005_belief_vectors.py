"""Each belief's statement vector and situation ids, kept beside it in the ledger."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from memory.ledger.schema import BLOB, TEXT

revision = "005_belief_vectors"
down_revision = "004_audit_filters"


def upgrade() -> None:
    op.create_table(
        "belief_vectors",
        sa.Column(
            "belief_id", TEXT, sa.ForeignKey("beliefs.id", ondelete="CASCADE"), primary_key=True
        ),
        sa.Column("model", TEXT, nullable=False),
        sa.Column("vector", BLOB, nullable=False),
        sa.Column("situations", TEXT, nullable=False),
    )
