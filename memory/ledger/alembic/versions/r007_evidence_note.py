"""Why a piece of evidence was recorded (a revision's cue and the belief it linked to)."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from memory.ledger.schema import TEXT

revision = "007_evidence_note"
down_revision = "006_embedded_flag"


def upgrade() -> None:
    op.add_column("evidence", sa.Column("note", TEXT))
