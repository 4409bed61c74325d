"""Belief, evidence and history rows. Plain SQL on a connection the caller holds."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from memory.errors import ConflictError
from memory.ledger.connections import Connection
from memory.ledger.db import iso, utcnow

_BELIEF_COLUMNS = (
    "id",
    "tenant",
    "user_id",
    "statement",
    "context",
    "status",
    "source",
    "confidence",
    "version",
    "supersedes",
    "superseded_by",
    "valid_from",
    "valid_to",
    "created_at",
    "updated_at",
)
_EVIDENCE_COLUMNS = (
    "id",
    "belief_id",
    "source",
    "kind",
    "quote",
    "request_id",
    "observation_id",
    "polarity",
    "weight",
    "anchor",
    "at",
    "note",
)


def ensure_user(conn: Connection, tenant: str, user: str) -> None:
    conn.execute(
        "INSERT INTO users (tenant, user_id, created_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
        (tenant, user, iso(utcnow())),
    )


def bump_revision(conn: Connection, tenant: str, user: str) -> None:
    """Give the user a revision no user of this store has had: every process that cached the
    user's snapshot sees it change, even across a forget that deleted the user's row."""
    ensure_user(conn, tenant, user)
    conn.execute("UPDATE revision_clock SET value = value + 1 WHERE id = 1")
    conn.execute(
        "UPDATE users SET revision = (SELECT value FROM revision_clock WHERE id = 1) "
        "WHERE tenant = ? AND user_id = ?",
        (tenant, user),
    )


def revision(conn: Connection, tenant: str, user: str) -> int | None:
    row = conn.execute(
        "SELECT revision FROM users WHERE tenant = ? AND user_id = ?", (tenant, user)
    ).fetchone()
    return None if row is None else row[0]


def user_exists(conn: Connection, tenant: str, user: str) -> bool:
    return revision(conn, tenant, user) is not None


_LIKE = {"sqlite": "LIKE", "postgresql": "ILIKE"}


def list_users(
    conn: Connection, tenant: str, query: str | None, limit: int, offset: int
) -> list[dict[str, Any]]:
    sql = (
        "SELECT u.user_id, u.created_at, "
        "(SELECT COUNT(*) FROM beliefs b WHERE b.tenant = u.tenant AND b.user_id = u.user_id "
        " AND b.status = 'active') AS active "
        "FROM users u WHERE u.tenant = ?"
    )
    args: list[Any] = [tenant]
    if query:
        # SQLite's LIKE ignores ASCII case; PostgreSQL's ILIKE does the same
        sql += f" AND u.user_id {_LIKE[conn.dialect]} ? ESCAPE '\\'"
        escaped = query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        args.append(f"%{escaped}%")
    sql += " ORDER BY u.user_id LIMIT ? OFFSET ?"
    args += [limit, offset]
    return [dict(row) for row in conn.execute(sql, args)]


def insert_belief(conn: Connection, row: dict[str, Any]) -> None:
    placeholders = ", ".join("?" for _ in _BELIEF_COLUMNS)
    conn.execute(
        f"INSERT INTO beliefs ({', '.join(_BELIEF_COLUMNS)}) VALUES ({placeholders})",
        [row.get(column) for column in _BELIEF_COLUMNS],
    )


def update_belief(
    conn: Connection, belief_id: str, fields: dict[str, Any], from_version: int | None = None
) -> None:
    """With `from_version`: only if the row is still at the version its writer read (another
    process may have changed it in between), else `ConflictError` and the transaction rolls
    back."""
    assignments = ", ".join(f"{name} = ?" for name in fields)
    sql, args = f"UPDATE beliefs SET {assignments} WHERE id = ?", [*fields.values(), belief_id]
    if from_version is None:
        conn.execute(sql, args)
    elif not conn.execute(sql + " AND version = ?", [*args, from_version]).rowcount:
        raise ConflictError(
            f"belief {belief_id!r} was changed by another writer at the same moment; retry"
        )


def insert_evidence(conn: Connection, row: dict[str, Any]) -> None:
    placeholders = ", ".join("?" for _ in _EVIDENCE_COLUMNS)
    conn.execute(
        f"INSERT INTO evidence ({', '.join(_EVIDENCE_COLUMNS)}) VALUES ({placeholders})",
        [row.get(column) for column in _EVIDENCE_COLUMNS],
    )


def insert_history(
    conn: Connection,
    belief: dict[str, Any],
    event: str,
    actor: str,
    request_id: str | None = None,
    observation_id: str | None = None,
) -> None:
    conn.execute(
        "INSERT INTO history (belief_id, version, event, statement, status, confidence, actor, "
        "request_id, observation_id, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            belief["id"],
            belief["version"],
            event,
            belief["statement"],
            belief["status"],
            belief["confidence"],
            actor,
            request_id,
            observation_id,
            belief["updated_at"],
        ),
    )


def get_belief(conn: Connection, tenant: str, user: str, belief_id: str) -> dict[str, Any] | None:
    row = conn.execute(
        "SELECT * FROM beliefs WHERE id = ? AND tenant = ? AND user_id = ?",
        (belief_id, tenant, user),
    ).fetchone()
    return None if row is None else dict(row)


def list_beliefs(
    conn: Connection,
    tenant: str,
    user: str,
    contexts: Sequence[str] | None = None,
    statuses: Sequence[str] | None = None,
) -> list[dict[str, Any]]:
    sql = "SELECT * FROM beliefs WHERE tenant = ? AND user_id = ?"
    args: list[Any] = [tenant, user]
    if contexts:
        sql += f" AND context IN ({', '.join('?' for _ in contexts)})"
        args += list(contexts)
    if statuses:
        sql += f" AND status IN ({', '.join('?' for _ in statuses)})"
        args += list(statuses)
    sql += " ORDER BY created_at, id"
    return [dict(row) for row in conn.execute(sql, args)]


def evidence_for(conn: Connection, belief_ids: Iterable[str]) -> dict[str, list[dict[str, Any]]]:
    ids = list(belief_ids)
    found: dict[str, list[dict[str, Any]]] = {belief_id: [] for belief_id in ids}
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        rows = conn.execute(
            f"SELECT * FROM evidence WHERE belief_id IN ({', '.join('?' for _ in chunk)}) "
            "ORDER BY at, id",
            chunk,
        )
        for row in rows:
            found[row["belief_id"]].append(dict(row))
    return found


def history_for(conn: Connection, belief_id: str) -> list[dict[str, Any]]:
    return [
        dict(row)
        for row in conn.execute(
            "SELECT * FROM history WHERE belief_id = ? ORDER BY seq", (belief_id,)
        )
    ]


def recent_history(
    conn: Connection, tenant: str, user: str, since: str, events: Sequence[str]
) -> list[dict[str, Any]]:
    return [
        dict(row)
        for row in conn.execute(
            "SELECT h.*, b.context FROM history h JOIN beliefs b ON b.id = h.belief_id "
            f"WHERE b.tenant = ? AND b.user_id = ? AND h.at >= ? "
            f"AND h.event IN ({', '.join('?' for _ in events)}) ORDER BY h.seq DESC LIMIT 200",
            [tenant, user, since, *events],
        )
    ]


_OBSERVATION_COLUMNS = ("id", "tenant", "user_id", "text", "context", "kind", "weight", "at")


def insert_observation(conn: Connection, row: dict[str, Any]) -> None:
    conn.execute(
        f"INSERT INTO observations ({', '.join(_OBSERVATION_COLUMNS)}) "
        f"VALUES ({', '.join('?' for _ in _OBSERVATION_COLUMNS)})",
        [row[c] for c in _OBSERVATION_COLUMNS],
    )


def delete_user(conn: Connection, tenant: str, user: str) -> int:
    ids = [
        row[0]
        for row in conn.execute(
            "SELECT id FROM beliefs WHERE tenant = ? AND user_id = ?", (tenant, user)
        )
    ]
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        marks = ", ".join("?" for _ in chunk)
        conn.execute(f"DELETE FROM evidence WHERE belief_id IN ({marks})", chunk)
        conn.execute(f"DELETE FROM history WHERE belief_id IN ({marks})", chunk)
    conn.execute("DELETE FROM beliefs WHERE tenant = ? AND user_id = ?", (tenant, user))
    conn.execute("DELETE FROM observations WHERE tenant = ? AND user_id = ?", (tenant, user))
    conn.execute("DELETE FROM users WHERE tenant = ? AND user_id = ?", (tenant, user))
    return len(ids)


def belief_exists(conn: Connection, belief_id: str) -> bool:
    return conn.execute("SELECT 1 FROM beliefs WHERE id = ?", (belief_id,)).fetchone() is not None


def statuses_by_context(conn: Connection, tenant: str, user: str) -> dict[str, dict[str, int]]:
    counts: dict[str, dict[str, int]] = {}
    for context, status, n in conn.execute(
        "SELECT context, status, COUNT(*) FROM beliefs WHERE tenant = ? AND user_id = ? "
        "GROUP BY context, status",
        (tenant, user),
    ):
        counts.setdefault(context, {})[status] = n
    return counts


def count_beliefs(conn: Connection, status: str | None = None) -> int:
    if status is None:
        return int(conn.execute("SELECT COUNT(*) FROM beliefs").fetchone()[0])
    return int(
        conn.execute("SELECT COUNT(*) FROM beliefs WHERE status = ?", (status,)).fetchone()[0]
    )


def user_corrections(conn: Connection, tenant: str, user: str) -> int:
    """How often the user corrected, revised or retracted one of their beliefs."""
    return int(
        conn.execute(
            "SELECT COUNT(*) FROM history h JOIN beliefs b ON b.id = h.belief_id "
            "WHERE b.tenant = ? AND b.user_id = ? AND h.actor = 'user' "
            "AND h.event IN ('corrected', 'superseded', 'retracted')",
            (tenant, user),
        ).fetchone()[0]
    )


def unembedded(conn: Connection, limit: int = 500) -> list[dict[str, Any]]:
    """Active beliefs whose embedding failed earlier (the embedder was down)."""
    return [
        dict(r)
        for r in conn.execute(
            "SELECT * FROM beliefs WHERE embedded = 0 AND status = 'active' LIMIT ?", (limit,)
        )
    ]


def count_unembedded(conn: Connection, tenant: str, user: str) -> int:
    return int(
        conn.execute(
            "SELECT COUNT(*) FROM beliefs WHERE tenant = ? AND user_id = ? "
            "AND status = 'active' AND embedded = 0",
            (tenant, user),
        ).fetchone()[0]
    )


def users_with_active_beliefs(conn: Connection) -> list[tuple[str, str]]:
    return [
        (r[0], r[1])
        for r in conn.execute(
            "SELECT DISTINCT tenant, user_id FROM beliefs WHERE status = 'active'"
        )
    ]


def observations_of(conn: Connection, tenant: str, user: str) -> list[dict[str, Any]]:
    return [
        dict(r)
        for r in conn.execute(
            "SELECT id, text, context, kind, weight, at FROM observations "
            "WHERE tenant = ? AND user_id = ? ORDER BY at",
            (tenant, user),
        )
    ]


def belief_tenants(conn: Connection, ids: list[str]) -> dict[str, str]:
    """The tenant of each of these belief ids that already exists."""
    found: dict[str, str] = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        marks = ", ".join("?" for _ in chunk)
        for row in conn.execute(f"SELECT id, tenant FROM beliefs WHERE id IN ({marks})", chunk):
            found[row[0]] = row[1]
    return found


def taken_ids(conn: Connection, table: str, ids: list[str]) -> set[str]:
    """Which of these ids `table` (evidence or observations) already holds."""
    if table not in ("evidence", "observations"):
        raise ValueError(table)
    found: set[str] = set()
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        marks = ", ".join("?" for _ in chunk)
        found.update(
            r[0] for r in conn.execute(f"SELECT id FROM {table} WHERE id IN ({marks})", chunk)
        )
    return found


def any_user(conn: Connection) -> tuple[str, str] | None:
    """Some (tenant, user) of the store, or None when it has none (the warm-up's probe)."""
    row = conn.execute("SELECT tenant, user_id FROM users LIMIT 1").fetchone()
    return None if row is None else (row[0], row[1])
