"""Offline maintenance: rebuilding the vector index, and checking an installation."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from memory.offline import configure_offline
from proxy.config import Config, ConfigError, load_config


def reindex(config: Config) -> dict[str, Any]:
    """Re-embed every active belief from SQLite and rebuild the Chroma index from scratch."""
    configure_offline()
    from memory.selfmodel import SelfModel

    return SelfModel.reindex(config.memory)


def preflight(config: Config) -> str | None:
    """What would stop the server from starting on this store, said before it binds."""
    from memory.selfmodel import SelfModel

    return SelfModel.index_problem(config.memory)


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
    from memory.selfmodel import SelfModel

    try:
        started = time.perf_counter()
        embedder = SelfModel.open_embedder(config.memory)
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
    from memory.ledger.db import DB_FILE
    from memory.selfmodel import SelfModel

    try:
        beliefs = SelfModel.stored_beliefs(config.memory)
        problem = SelfModel.index_problem(config.memory)
        if problem:
            raise ValueError(problem)
        report("sqlite", True, f"{config.store.path}/{DB_FILE} ({beliefs} beliefs)")
    except Exception as exc:  # noqa: BLE001
        report("sqlite", False, str(exc))
        return
    try:
        report("vector store", *SelfModel.index_heartbeat(config.memory))
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
