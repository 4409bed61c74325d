"""What happens between opening the store and taking the first request: warm-up and banner.

Warm-up runs before the server accepts requests, so the first injected request is as fast as
the rest: the embedding model runs once, each rule's template is compiled and rendered, each
configured model's tokenizer is loaded, and requests go through the whole app in process (a
preview for a stored user: the injection path end to end, read only). `/readyz` answers 200
only after it.
"""

from __future__ import annotations

import gc
import logging
import time
from typing import TYPE_CHECKING, Any

from memory.inject import render
from memory.ledger.urls import redact
from memory.models import ScoredBelief
from proxy.logsetup import FIELDS

if TYPE_CHECKING:
    from memory.selfmodel import SelfModel
    from proxy.config import Config

log = logging.getLogger("selfmodel")

_SAMPLE = [
    ScoredBelief(
        id="b_warmup",
        statement="Prefers short answers",
        context="preferences",
        confidence=0.9,
        score=0.9,
    )
]


def _warm_memory(config: Config, memory: SelfModel) -> None:
    memory.embedder.embed(["warm-up"])
    memory.query_embedder.embed(["warm-up query"])
    models = [m.model_name for m in config.model_list] or ["gpt-4o"]
    for rule in config.injection.rules:
        template = memory.prompts.injection(rule.template)
        for model in models:
            render.fit(template, _SAMPLE, max(rule.max_tokens, 1), model)


async def warm_up(config: Config, memory: SelfModel, app: Any = None) -> float:
    """Warm every lazily built part of the hot path; returns the milliseconds it took."""
    import anyio

    started = time.perf_counter()
    try:
        await anyio.to_thread.run_sync(_warm_memory, config, memory)
        found = await memory.some_user()
        if app is not None:
            await _warm_http(config, app, found)
    except Exception:  # noqa: BLE001 - a cold first request is better than no server
        log.warning("warm-up failed; the first requests may be slow", exc_info=True)
    return (time.perf_counter() - started) * 1000


async def _warm_http(config: Config, app: Any, found: tuple[str, str] | None) -> None:
    """One in-process request through the whole app (middleware, routing, auth, JSON) and, for
    a stored user, a preview: the injection path end to end, without an upstream call or a
    write."""
    import httpx

    from proxy.identity import TENANT_HEADER

    headers: dict[str, str] = {}
    if found is not None and config.auth.keys:
        tenant = found[0]
        key = next((k for k in config.auth.keys if k.admin), None) or next(
            (k for k in config.auth.keys if k.tenant == tenant), None
        )
        if key is None:
            found = None
        else:
            headers["authorization"] = f"Bearer {key.key}"
            if key.admin:
                headers[TENANT_HEADER] = tenant
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://warm-up") as client:
        await client.get("/readyz", headers=headers)
        if found is None:
            return
        for entry in config.model_list[:1]:
            await client.post(
                f"/v1/users/{found[1]}/preview",
                headers=headers,
                json={
                    "model": entry.model_name,
                    "messages": [{"role": "user", "content": "What would you suggest today?"}],
                },
            )


async def _tenant_note(config: Config, memory: SelfModel) -> str | None:
    """Users written before auth was on live in tenant `default`: say how to reach them."""
    if not config.auth.keys or any(k.tenant == "default" for k in config.auth.keys):
        return None
    if not await memory.has_users("default"):
        return None
    return (
        "the store has users in tenant `default` (written before auth was turned on) and no key "
        "is bound to it: reach them with an admin key and the header "
        "`X-Selfmodel-Tenant: default` (in the inspector: the key dialog's tenant field)"
    )


def learning_line(config: Config, learner_pid: int | None) -> str:
    extraction = config.extraction
    if not extraction.enabled:
        return "off"
    if learner_pid is not None:
        return f"{extraction.mode}, in learning process {learner_pid} (restarted if it dies)"
    if extraction.workers:
        return f"{extraction.mode}, in this process ({extraction.workers} consumer(s))"
    return f"{extraction.mode}, by `selfmodel worker` processes (this proxy only enqueues)"


async def banner(
    config: Config, memory: SelfModel, warm_ms: float, learner_pid: int | None = None
) -> None:
    host = config.server.host
    shown = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
    base = f"http://{'[' + shown + ']' if ':' in shown else shown}:{config.server.port}"
    keys = config.auth.keys
    endpoint = config.tracing.otlp_endpoint
    tenants = sorted({k.tenant for k in keys})
    auth = (
        f"on ({len(keys)} key(s), {sum(k.admin for k in keys)} admin; tenants {', '.join(tenants)})"
        if keys
        else "OFF (no auth.keys: anyone who can reach the port can read every self-model)"
    )
    models = (
        ", ".join(f"{m.model_name} ({m.litellm_params.model})" for m in config.model_list)
        or "none (add a model_list)"
    )
    # the ledger: SQLite in store.path, or the PostgreSQL URL without its password
    ledger = redact(config.store.database) if config.store.database else str(config.store.path)
    fields: dict[str, Any] = {
        "event": "startup",
        "config": config.source,
        "store": ledger,
        "index": memory.store_location,
        "embedding": memory.embedder.name,
        "models": [m.model_name for m in config.model_list],
        "api": f"{base}/v1",
        "inspector": f"{base}/ui",
        "auth": bool(keys),
        "tracing": config.tracing.otlp_endpoint,
        "warm_up_ms": round(warm_ms, 1),
        "learning": learning_line(config, learner_pid),
    }
    source = (
        config.source or "embedded defaults (no --config, no $SELFMODEL_CONFIG, no ./config.yaml)"
    )
    lines = [
        "selfmodel ready",
        f"  config:    {source}",
        f"  store:     {ledger} (index: {memory.store_location})",
        f"  embedding: {memory.embedder.name}",
        f"  learning:  {fields['learning']}",
        f"  models:    {models}",
        f"  API:       {base}/v1  (OpenAI base_url)",
        f"  inspector: {base}/ui",
        f"  auth:      {auth}",
        f"  tracing:   {'OTLP to ' + endpoint if endpoint else 'off'}",
        f"  warm-up:   {warm_ms:.0f} ms",
    ]
    log.info("\n".join(lines), extra={FIELDS: fields})
    note = await _tenant_note(config, memory)
    if note:
        log.warning(note, extra={FIELDS: {"event": "default_tenant_users"}})


def settle_heap() -> int:
    """Put what start-up left alive out of the cyclic garbage collector's reach; returns how
    many objects that is.

    Start-up leaves ~530,000 objects (litellm's and chromadb's modules, the model's tables,
    the config) that live as long as the process. Python's full collection walks every one
    of them each time enough new long-lived objects have piled up: ~190 ms of CPU (465 ms on
    a loaded machine), once every few hundred requests, one request's tail latency and every
    concurrent one's. Frozen, they are still freed by reference counting; only a cycle among
    them would never be collected, so the garbage start-up made is collected first.
    """
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()
