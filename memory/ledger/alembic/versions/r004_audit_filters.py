"""Audit reads filtered by model and by rule."""

from __future__ import annotations

from alembic import op

revision = "004_audit_filters"
down_revision = "003_outbox"


def upgrade() -> None:
    op.create_index("audit_by_model", "audit", ["tenant", "model", "at"])
    op.create_index("audit_by_rule", "audit", ["tenant", "rule", "at"])
