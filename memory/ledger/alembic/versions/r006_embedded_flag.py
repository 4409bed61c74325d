"""Finding beliefs that still need vectors must not scan every belief."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "006_embedded_flag"
down_revision = "005_belief_vectors"


def upgrade() -> None:
    op.add_column("beliefs", sa.Column("embedded", sa.Integer, nullable=False, server_default="0"))
    op.execute("UPDATE beliefs SET embedded = 1 WHERE id IN (SELECT belief_id FROM belief_vectors)")
    op.create_index("beliefs_unembedded", "beliefs", ["embedded", "status"])
    op.create_index("audit_by_age", "audit", ["at"])
