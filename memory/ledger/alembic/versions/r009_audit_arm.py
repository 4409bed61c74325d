"""The holdout experiment's arm of each request. Records written before it existed had no
holdout: their end users were all treated. Insights read recent belief changes by kind and
time."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from memory.ledger.schema import TEXT

revision = "009_audit_arm"
down_revision = "008_worker_leases"


def upgrade() -> None:
    op.add_column("audit", sa.Column("arm", TEXT))
    op.execute("UPDATE audit SET arm = 'treatment' WHERE user_id IS NOT NULL")
    op.create_index("audit_by_arm", "audit", ["tenant", "arm", "at"])
    op.create_index("history_by_event", "history", ["event", "at"])
