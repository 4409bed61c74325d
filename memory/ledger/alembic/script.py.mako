"""${message}"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from memory.ledger.schema import BLOB, FLOAT, TEXT

revision = ${repr(up_revision)}
down_revision = ${repr(down_revision)}


def upgrade() -> None:
    ${upgrades if upgrades else "pass"}
