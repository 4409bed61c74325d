"""Offline maintenance: rebuilding the vector index, and the checks before serving.

(`selfmodel doctor` lives in `proxy.doctor`.)
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from memory.offline import configure_offline
from proxy.config import Config


def reindex(config: Config) -> dict[str, Any]:
    """Re-embed every active belief from SQLite and rebuild the Chroma index from scratch."""
    configure_offline()
    from memory.core import Core
    from memory.index import sync as indexer
    from memory.index.chroma import EMBEDDER_KEY, VectorStore
    from memory.index.embed import build_embedder
    from memory.ledger import Database

    started = time.perf_counter()
    memory = config.memory
    db = Database(Path(memory.store.path) / "selfmodel.db")
    embedder = build_embedder(
        memory.embedding.model, dict(memory.embedding.params), memory.embedding.batch_size
    )
    vectors = VectorStore(memory.store, embedder.name)
    dropped = vectors.drop_all()
    with db.write() as conn:
        conn.execute("DELETE FROM belief_vectors")
        conn.execute("UPDATE beliefs SET indexed = 0, embedded = 0")
    db.set_meta(EMBEDDER_KEY, embedder.name)
    core = Core(db, vectors, embedder, memory.contexts)
    users = [
        tuple(r)
        for r in db.conn.execute(
            "SELECT DISTINCT tenant, user_id FROM beliefs WHERE status = 'active'"
        )
    ]
    for tenant, user in users:
        core.index(
            tenant,
            user,
            [
                dict(r)
                for r in db.conn.execute(
                    "SELECT * FROM beliefs WHERE tenant = ? AND user_id = ? AND status = 'active'",
                    (tenant, user),
                )
            ],
        )
    synced = indexer.sync_all(db, vectors)
    embedded = db.conn.execute("SELECT COUNT(*) FROM belief_vectors").fetchone()[0]
    active = db.conn.execute("SELECT COUNT(*) FROM beliefs WHERE status = 'active'").fetchone()[0]
    db.close()
    return {
        "embedding_model": embedder.name,
        "collections_dropped": dropped,
        "users": len(users),
        "beliefs_indexed": embedded,
        "failed": active - embedded,
        "index_rows_synced": synced,
        "seconds": round(time.perf_counter() - started, 2),
    }


def preflight(config: Config) -> str | None:
    """What would stop the server from starting on this store, said before it binds."""
    from memory.index.chroma import EMBEDDER_KEY
    from memory.index.embed import embedder_name
    from memory.ledger import Database

    path = Path(config.store.path) / "selfmodel.db"
    if not path.exists():
        return None
    db = Database(path)
    try:
        recorded = db.get_meta(EMBEDDER_KEY)
    finally:
        db.close()
    wanted = embedder_name(config.embedding.model, dict(config.embedding.params))
    if recorded is not None and recorded != wanted:
        return (
            f"the vector index in {config.store.path} was built with {recorded!r} but the "
            f"config uses {wanted!r}: run `selfmodel reindex` to rebuild it"
        )
    return None
