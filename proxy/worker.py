"""`selfmodel worker`: learning in a process of its own, without an HTTP server.

It runs the outbox consumer (gate → extract → apply, with retries and dead letters) and the
index maintenance against the store the config names; proxies configured with
`extraction.workers: 0` only enqueue turns for it. Any number of workers may run at once: a
claim is a lease renewed while the job runs, a user's jobs run one at a time, and a job's
writes commit together with its end, so a worker killed at any moment loses and repeats
nothing (memory/ledger/outbox.py). With an embedded Chroma index, the worker holding
`<store>/chroma.lock` writes it (memory/index/owner.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal

from memory.offline import configure_offline
from proxy import startup
from proxy.config import Config
from proxy.learner import watch_parent
from proxy.upstream import Upstream

log = logging.getLogger("selfmodel.worker")

STATS_SECONDS = 60.0


async def run(
    config: Config,
    concurrency: int,
    stop: asyncio.Event | None = None,
    settle_heap: bool = False,
    parent: int | None = None,
) -> None:
    """Until SIGTERM/SIGINT (or `stop` is set, or the process `parent` is gone): learn from
    the outbox, keep the index. `settle_heap` as for `proxy.app.create_app`."""
    from memory.selfmodel import SelfModel

    configure_offline()
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    watching = None if parent is None else watch_parent(parent, stop)
    upstream = Upstream(
        config.model_list,
        config.server.upstream_timeout_seconds,
        direct=config.server.direct_openai,
    )
    if config.extraction.mode == "llm":
        upstream.warm_up()
    memory = SelfModel(config.memory, complete=upstream.complete_text, index_owner=True)
    # The worker learns even when the config it shares with the proxies says workers: 0.
    await memory.start(workers=True, consumers=concurrency)
    owner = "writes it" if memory.index_lock is None or memory.index_lock.held else "on standby"
    log.info(
        "selfmodel worker ready: %d consumer(s), store %s, index %s (%s)",
        concurrency,
        config.store.path if config.store.chroma is None else "shared",
        memory.chroma.location,
        owner,
    )
    if settle_heap:
        startup.settle_heap()
    print(f"selfmodel worker ready ({concurrency} consumer(s), index {owner})", flush=True)
    try:
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), STATS_SECONDS)
            done = {k: v for k, v in memory.stats.items() if k.startswith("jobs_")}
            log.info("worker stats: %s", done)
    finally:
        if watching is not None:
            watching.cancel()
        await memory.stop()
        await upstream.aclose()
