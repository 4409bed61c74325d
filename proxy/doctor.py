"""`selfmodel doctor`: check an installation, and say what to fix for each problem.

Checks the config (and which file it came from), the embedding model, SQLite, the vector
index (Chroma), whether a server holds the store, and each model of `model_list`: by default
whether its endpoint answers and a key is set; with `--call`, one real 1-token completion per
model, which tells whether the key works (it costs a call).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from memory.offline import configure_offline
from proxy import serverlock
from proxy.config import Config, ConfigError, load_config

Report = Callable[..., None]


def run(config_path: str | None, echo: Callable[[str], None], real_call: bool = False) -> bool:
    configure_offline()
    ok = True

    def report(name: str, good: bool | None, detail: str, fix: str | None = None) -> None:
        """good None: a warning (reported, does not fail the check)."""
        nonlocal ok
        ok = ok and good is not False
        mark = "ok" if good else ("warn" if good is None else "FAIL")
        echo(f"[{mark}] {name}: {detail}")
        if fix and not good:
            echo(f"       fix: {fix}")

    try:
        config = load_config(config_path)
    except ConfigError as exc:
        report("config", False, str(exc), "correct the keys named above (see README, Config)")
        return False
    report(
        "config",
        True,
        f"{config.source or 'embedded defaults (no config file found)'}: "
        f"{len(config.model_list)} model(s), {len(config.injection.rules)} injection rule(s), "
        f"{len(config.contexts)} context(s), auth {'on' if config.auth.keys else 'OFF'}",
    )
    if not config.model_list:
        report("models", False, "model_list is empty", "add your models (LiteLLM's format)")
    embedder = _check_embedder(config, report)
    _check_store(config, embedder, report)
    asyncio.run(_check_upstreams(config, report, real_call))
    if not real_call and config.model_list:
        echo("       (run `selfmodel doctor --call` to check each key with a real 1-token call)")
    return ok


def _check_embedder(config: Config, report: Report) -> Any:
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
        report(
            "embedding",
            False,
            str(exc),
            "check embedding.model / embedding.params; `local` needs no network",
        )
        return None


def _check_store(config: Config, embedder: Any, report: Report) -> None:
    from memory.core import open_database
    from memory.index.chroma import EMBEDDER_KEY, VectorStore
    from memory.index.embed import embedder_name
    from memory.ledger import beliefs as rows
    from memory.ledger.urls import is_postgres, scrub

    wanted = embedder_name(config.embedding.model, dict(config.embedding.params))
    postgres = config.store.database is not None and is_postgres(config.store.database)
    name = "postgresql" if postgres else "sqlite"
    try:
        db = open_database(config.store)
        try:
            beliefs = rows.count_beliefs(db.conn)
            recorded = db.get_meta(EMBEDDER_KEY)
            where = db.where
        finally:
            db.close()
    except Exception as exc:  # noqa: BLE001
        fix = (
            "store.database must name a reachable PostgreSQL database the user may create "
            "tables in (postgresql://user:pass@host:5432/db)"
            if postgres
            else f"store.path ({config.store.path}) must be a writable directory"
        )
        report(name, False, scrub(str(exc), config.store.database), fix)
        return
    report(name, True, f"{where} ({beliefs} beliefs)")
    if recorded is not None and recorded != wanted:
        report(
            "index model",
            False,
            f"the index was built with {recorded!r} but the config uses {wanted!r}",
            "run `selfmodel reindex` (with the server stopped), or set embedding.model back",
        )
    holder = serverlock.holder(config.store.path)
    if holder and config.store.chroma is None:
        report(
            "vector store",
            None,
            f"a server (pid {holder['pid']}) holds the embedded index; not opened twice "
            "(its /readyz reports the index's health)",
        )
        return
    try:
        store = VectorStore(config.store, wanted)
        good = store.heartbeat()
        report(
            "vector store",
            good,
            store.location,
            "start the Chroma server named in store.chroma, or drop store.chroma to embed it",
        )
    except Exception as exc:  # noqa: BLE001
        report(
            "vector store",
            False,
            str(exc),
            "is another process using the embedded store? stop it, or use a Chroma server",
        )


def _fix_for(status: int) -> str:
    if status in (401, 403):
        return (
            "the provider rejected the key: set litellm_params.api_key (or the variable it names)"
        )
    if status == 404:
        return "the provider does not know this model: check litellm_params.model"
    if status == 429:
        return "rate-limited or out of quota at the provider"
    if status in (502, 504):
        return "the endpoint is unreachable or slow: check litellm_params.api_base and the network"
    return "see the provider's message above"


async def _check_upstreams(config: Config, report: Report, real_call: bool) -> None:
    if real_call:
        await _call_each(config, report)
        return
    import httpx

    for entry in config.model_list:
        params = entry.litellm_params.model_dump(exclude_none=True)
        name = f"model {entry.model_name}"
        has_key = bool(params.get("api_key")) or entry.forward_client_key
        base = params.get("api_base")
        if not base:
            report(
                name,
                has_key or None,
                f"{params['model']} via the provider's default endpoint"
                + ("" if has_key else ": no api_key set (the provider's env variable may hold it)"),
                "set litellm_params.api_key",
            )
            continue
        try:
            async with httpx.AsyncClient(timeout=5) as client:
                response = await client.get(base.rstrip("/") + "/models")
        except httpx.HTTPError as exc:
            report(name, False, f"{base} unreachable: {exc}", "check litellm_params.api_base")
            continue
        report(
            name,
            response.status_code < 500,
            f"{base} answered {response.status_code}"
            + (" (reachable; the key is checked only with --call)" if has_key else ": no api_key"),
            _fix_for(response.status_code),
        )


async def _call_each(config: Config, report: Report) -> None:
    from proxy.errors import SelfmodelError
    from proxy.upstream import Upstream

    upstream = Upstream(config.model_list, 30.0, direct=config.server.direct_openai)
    try:
        for entry in config.model_list:
            name = f"model {entry.model_name}"
            if entry.forward_client_key and not entry.litellm_params.model_dump().get("api_key"):
                report(name, None, "forwards the client's key: nothing to check here")
                continue
            body = {
                "model": entry.model_name,
                "messages": [{"role": "user", "content": "Say OK."}],
                "max_tokens": 1,
            }
            started = time.perf_counter()
            try:
                response = await upstream.complete(entry, body)
            except SelfmodelError as exc:
                report(
                    name,
                    False,
                    f"a 1-token call failed: {exc.status} {exc.message}",
                    _fix_for(exc.status),
                )
                continue
            except Exception as exc:  # noqa: BLE001
                report(name, False, f"a 1-token call failed: {exc}", _fix_for(0))
                continue
            report(
                name,
                True,
                f"a 1-token call answered in {(time.perf_counter() - started) * 1000:.0f} ms "
                f"(model {_model_of(response)}): the key works",
            )
    finally:
        await upstream.aclose()


def _model_of(answer: Any) -> str:
    """The model a provider's answer names (an `Answer` from the direct path, or a dict)."""
    try:
        data = answer.json() if hasattr(answer, "json") else answer
    except Exception:  # noqa: BLE001 - only a label for the report
        return "?"
    return str(data.get("model", "?")) if isinstance(data, dict) else "?"
