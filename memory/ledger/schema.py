"""Column types both dialects read alike, and the tables in the order a copy must fill them.

Text compares byte by byte in both (SQLite's default; the "C" collation in PostgreSQL), so
ISO timestamps, ids and keys sort the same whichever database holds them. Floats are double
precision in both (PostgreSQL's REAL is single).
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

TEXT = sa.Text().with_variant(postgresql.TEXT(collation="C"), "postgresql")
FLOAT = sa.Float().with_variant(postgresql.DOUBLE_PRECISION(), "postgresql")
BLOB = sa.LargeBinary()

# Parents before children (foreign keys), so a copy inserts in this order and deletes in the
# reverse one. `alembic_version` is the migrations' own.
TABLES = (
    "meta",
    "revision_clock",
    "users",
    "beliefs",
    "evidence",
    "history",
    "observations",
    "belief_vectors",
    "audit",
    "feedback",
    "outbox",
    "index_drops",
)
# Integer keys the database assigns: after a copy, PostgreSQL's sequences move past them.
SERIAL_KEYS = {"history": "seq", "outbox": "id"}
