"""The reads behind `GET /v1/insights/*`: experiment arms, theme inputs and churn signals.

Every statement here is tenant-scoped and read-only; the computing is in `memory.insights`.
Users forgotten with `DELETE /v1/users/{user}` leave audit rows under `[forgotten]`: no
insight counts them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from memory.ledger.connections import Connection

FORGOTTEN = "[forgotten]"
USER_EVENTS = ("corrected", "superseded", "retracted")
# SQLite's CROSS JOIN keeps the written order (scan the vectors, look each belief up by key);
# PostgreSQL's planner chooses on its own and has no CROSS JOIN ... ON.
_SCAN_JOIN = {"sqlite": "CROSS JOIN", "postgresql": "JOIN"}


_STAMPS = {
    # the largest rowid of each table, read from the end of its b-tree
    "sqlite": [f"SELECT MAX(rowid) FROM {t}" for t in ("audit", "feedback", "history", "beliefs")],
    # PostgreSQL has no rowid: the newest of what each table's index orders, and its size
    # (appends commit in any order: a record written late is older than the newest one)
    "postgresql": [
        "SELECT COUNT(*), MAX(at) FROM audit",
        "SELECT COUNT(*) FROM feedback",
        "SELECT MAX(seq) FROM history",
        "SELECT COUNT(*), MAX(updated_at) FROM beliefs",
    ],
}


def stamp(conn: Connection) -> tuple[Any, ...]:
    """Changes whenever a request, a feedback or a belief change is written (cheap)."""
    return tuple(tuple(conn.execute(sql).fetchone()) for sql in _STAMPS[conn.dialect])


def _audit_filter(
    tenant: str, rule: str | None, since: str | None, alias: str = ""
) -> tuple[str, list[Any]]:
    a = f"{alias}." if alias else ""
    sql = f"{a}tenant = ? AND {a}arm IS NOT NULL AND {a}user_id IS NOT NULL AND {a}user_id != ?"
    args: list[Any] = [tenant, FORGOTTEN]
    if rule is not None:
        sql += f" AND {a}rule = ?"
        args.append(rule)
    if since is not None:
        sql += f" AND {a}at >= ?"
        args.append(since)
    return sql, args


def arm_requests(
    conn: Connection, tenant: str, rule: str | None, since: str | None
) -> list[tuple[str, str, int]]:
    """(user, arm, requests) for every user with requests in the window."""
    where, args = _audit_filter(tenant, rule, since)
    return [
        (r[0], r[1], r[2])
        for r in conn.execute(
            f"SELECT user_id, arm, COUNT(*) FROM audit WHERE {where} GROUP BY user_id, arm", args
        )
    ]


def daily_requests(
    conn: Connection, tenant: str, rule: str | None, since: str | None
) -> list[tuple[str, str, int, int]]:
    """(day, arm, requests, users) per UTC day."""
    where, args = _audit_filter(tenant, rule, since)
    return [
        (r[0], r[1], r[2], r[3])
        for r in conn.execute(
            f"SELECT substr(at, 1, 10) AS day, arm, COUNT(*), COUNT(DISTINCT user_id) "
            f"FROM audit WHERE {where} GROUP BY day, arm ORDER BY day",
            args,
        )
    ]


def arm_feedback(
    conn: Connection, tenant: str, rule: str | None, since: str | None
) -> list[tuple[str, str, float, str]]:
    """(user, arm, score, day) of each feedback on a request in the window."""
    where, args = _audit_filter(tenant, rule, since, alias="a")
    return [
        (r[0], r[1], float(r[2]), r[3])
        for r in conn.execute(
            "SELECT a.user_id, a.arm, f.score, substr(f.at, 1, 10) FROM feedback f "
            "JOIN audit a ON a.request_id = f.request_id AND a.tenant = f.tenant "
            f"WHERE f.tenant = ? AND {where}",
            [tenant, *args],
        )
    ]


def user_corrections(conn: Connection, tenant: str, since: str | None) -> dict[str, int]:
    """Per user: the beliefs they corrected, replaced or retracted themselves."""
    sql = (
        "SELECT b.user_id, COUNT(*) FROM history h JOIN beliefs b ON b.id = h.belief_id "
        "WHERE b.tenant = ? AND h.actor = 'user' "
        f"AND h.event IN ({', '.join('?' for _ in USER_EVENTS)})"
    )
    args: list[Any] = [tenant, *USER_EVENTS]
    if since is not None:
        sql += " AND h.at >= ?"
        args.append(since)
    return {r[0]: r[1] for r in conn.execute(sql + " GROUP BY b.user_id", args)}


def _block(blobs: list[bytes]) -> np.ndarray:
    """float32 vectors stored as bytes, as one read-only (rows, dim) block (no copy)."""
    if not blobs:
        return np.zeros((0, 1), dtype=np.float32)
    return np.frombuffer(b"".join(blobs), dtype=np.float32).reshape(len(blobs), -1)


def _contexts(contexts: Sequence[str] | None, alias: str) -> tuple[str, list[Any]]:
    if not contexts:
        return "", []
    return f" AND {alias}.context IN ({', '.join('?' for _ in contexts)})", list(contexts)


def active_vectors(
    conn: Connection, tenant: str, contexts: Sequence[str] | None
) -> tuple[list[str], list[str], list[str], list[str], list[str], np.ndarray]:
    """A tenant's active beliefs that have vectors: ids, users, statements, contexts, creation
    times, vectors.

    The vectors table is read in its own order and each belief found by its key (a scan of
    the big table instead of a random read per belief: several times faster on 100k)."""
    extra, args = _contexts(contexts, "b")
    found = conn.execute(
        "SELECT b.id, b.user_id, b.statement, b.context, b.created_at, v.vector "
        "FROM belief_vectors v "
        f"{_SCAN_JOIN[conn.dialect]} beliefs b ON b.id = v.belief_id "
        f"WHERE b.tenant = ? AND b.status = 'active'{extra}",
        [tenant, *args],
    ).fetchall()
    return (
        [r[0] for r in found],
        [r[1] for r in found],
        [r[2] for r in found],
        [r[3] for r in found],
        [r[4] for r in found],
        _block([r[5] for r in found]),
    )


def changes_since(
    conn: Connection, tenant: str, contexts: Sequence[str] | None, since: str
) -> list[tuple[str, str, str, bytes | None]]:
    """Belief changes in the window other than the creation of a belief still active (the
    caller has those from `active_vectors`): (belief id, event: new | superseded | retracted,
    at, the statement vector of a belief no longer active; None for an active one)."""
    extra, args = _contexts(contexts, "b")
    found = conn.execute(
        "SELECT h.belief_id, h.event, h.at, v.vector FROM history h "
        "JOIN beliefs b ON b.id = h.belief_id "
        "LEFT JOIN belief_vectors v ON v.belief_id = b.id AND b.status != 'active' "
        f"WHERE h.event IN ('superseded', 'retracted') AND h.at >= ? AND b.tenant = ?{extra}",
        [since, tenant, *args],
    ).fetchall()
    found += conn.execute(
        "SELECT b.id, 'new', b.created_at, v.vector FROM beliefs b "
        "JOIN belief_vectors v ON v.belief_id = b.id "
        f"WHERE b.tenant = ? AND b.status != 'active' AND b.created_at >= ?{extra}",
        [tenant, since, *args],
    ).fetchall()
    return [(r[0], r[1], r[2], r[3]) for r in found]


def risk_signals(
    conn: Connection, tenant: str, since: str, middle: str
) -> dict[str, dict[str, list[int]]]:
    """Per user, counts in the window's earlier half [since, middle) and later half
    [middle, now): `feedback`, `negative` (feedback below 0), `corrected` (by the user),
    `retracted` (by anyone: the user changed their mind) and `requests`, each [earlier, later].
    """
    out: dict[str, dict[str, list[int]]] = {}

    def put(user: str, name: str, earlier: int, later: int) -> None:
        counts = out.setdefault(user, {})
        slot = counts.setdefault(name, [0, 0])
        slot[0] += earlier
        slot[1] += later

    for user, n_old, n_new, neg_old, neg_new in conn.execute(
        "SELECT user_id, SUM(CASE WHEN at < ? THEN 1 ELSE 0 END), "
        "SUM(CASE WHEN at >= ? THEN 1 ELSE 0 END), "
        "SUM(CASE WHEN at < ? AND score < 0 THEN 1 ELSE 0 END), "
        "SUM(CASE WHEN at >= ? AND score < 0 THEN 1 ELSE 0 END) FROM feedback "
        "WHERE tenant = ? AND at >= ? "
        "AND user_id != ? GROUP BY user_id",
        (middle, middle, middle, middle, tenant, since, FORGOTTEN),
    ):
        put(user, "feedback", n_old, n_new)
        put(user, "negative", neg_old, neg_new)
    for user, kind, n_old, n_new in conn.execute(
        "SELECT b.user_id, CASE WHEN h.event = 'retracted' THEN 'retracted' ELSE 'corrected' END "
        "AS kind, SUM(CASE WHEN h.at < ? THEN 1 ELSE 0 END), "
        "SUM(CASE WHEN h.at >= ? THEN 1 ELSE 0 END) FROM history h "
        "JOIN beliefs b ON b.id = h.belief_id WHERE b.tenant = ? AND h.at >= ? "
        "AND (h.event = 'retracted' OR (h.actor = 'user' AND h.event IN "
        "('corrected', 'superseded'))) GROUP BY b.user_id, kind",
        (middle, middle, tenant, since),
    ):
        put(user, kind, n_old, n_new)
    for user, n_old, n_new in conn.execute(
        "SELECT user_id, SUM(CASE WHEN at < ? THEN 1 ELSE 0 END), "
        "SUM(CASE WHEN at >= ? THEN 1 ELSE 0 END) FROM audit WHERE tenant = ? AND at >= ? "
        "AND user_id IS NOT NULL AND user_id != ? GROUP BY user_id",
        (middle, middle, tenant, since, FORGOTTEN),
    ):
        if user in out:  # activity is context for a signal, not a signal of its own
            put(user, "requests", n_old, n_new)
    return out
