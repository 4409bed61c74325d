"""Offline maintenance: rebuilding the vector index, and checking an installation."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from memory.offline import configure_offline
from proxy.config import Config, ConfigError, load_config


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


def doctor(config_path: str | None, echo: Callable[[str], None]) -> bool:
    configure_offline()
    ok = True

    def report(name: str, good: bool, detail: str) -> None:
        nonlocal ok
        ok = ok and good
        echo(f"[{'ok' if good else 'FAIL'}] {name}: {detail}")

    try:
        config = load_config(config_path)
    except ConfigError as exc:
        report("config", False, str(exc))
        return False
    report(
        "config",
        True,
        f"{len(config.model_list)} model(s), "
        f"{len(config.injection.rules)} injection rule(s), "
        f"{len(config.contexts)} context(s), auth {'on' if config.auth.keys else 'OFF'}",
    )
    embedder = _check_embedder(config, report)
    _check_store(config, embedder, report)
    asyncio.run(_check_upstreams(config, report))
    return ok


def _check_embedder(config: Config, report: Callable[[str, bool, str], None]) -> Any:
    from memory.index.embed import build_embedder

    try:
        started = time.perf_counter()
        embedder = build_embedder(
            config.embedding.model, dict(config.embedding.params), config.embedding.batch_size
        )
        embedder.embed(["doctor check"])
        report(
            "embedding",
            True,
            f"{embedder.name} ({embedder.dim} dims, "
            f"{(time.perf_counter() - started) * 1000:.0f} ms to load and embed)",
        )
        return embedder
    except Exception as exc:  # noqa: BLE001 - the doctor reports every failure
        report("embedding", False, str(exc))
        return None


def _check_store(config: Config, embedder: Any, report: Callable[[str, bool, str], None]) -> None:
    from memory.index.chroma import EMBEDDER_KEY, VectorStore
    from memory.index.embed import embedder_name
    from memory.ledger import Database

    try:
        db = Database(Path(config.store.path) / "selfmodel.db")
        beliefs = db.conn.execute("SELECT COUNT(*) FROM beliefs").fetchone()[0]
        recorded = db.get_meta(EMBEDDER_KEY)
        wanted = embedder_name(config.embedding.model, dict(config.embedding.params))
        db.close()
        if recorded is not None and recorded != wanted:
            raise ValueError(
                f"the index was built with {recorded!r} but the config uses "
                f"{wanted!r}: run `selfmodel reindex` to rebuild it"
            )
        report("sqlite", True, f"{config.store.path}/selfmodel.db ({beliefs} beliefs)")
    except Exception as exc:  # noqa: BLE001
        report("sqlite", False, str(exc))
        return
    try:
        name = embedder_name(config.embedding.model, dict(config.embedding.params))
        store = VectorStore(config.store, name)
        report("vector store", store.heartbeat(), store.location)
    except Exception as exc:  # noqa: BLE001
        report(
            "vector store",
            False,
            f"{exc} (is another process using the embedded store? "
            "stop the proxy, or use a Chroma server)",
        )


async def _check_upstreams(config: Config, report: Callable[[str, bool, str], None]) -> None:
    import httpx

    for entry in config.model_list:
        params = entry.litellm_params.model_dump(exclude_none=True)
        base = params.get("api_base")
        if not base:
            has_key = bool(params.get("api_key")) or entry.forward_client_key
            report(
                f"model {entry.model_name}",
                has_key,
                f"{params['model']} via the provider's default endpoint"
                + ("" if has_key else ": no api_key set"),
            )
            continue
        try:
            async with httpx.AsyncClient(timeout=5) as client:
                response = await client.get(base.rstrip("/") + "/models")
            report(
                f"model {entry.model_name}",
                response.status_code < 500,
                f"{base} answered {response.status_code}",
            )
        except httpx.HTTPError as exc:
            report(f"model {entry.model_name}", False, f"{base} unreachable: {exc}")
