"""`create_app(config)`: the FastAPI app, with its state built in the lifespan."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from threadpoolctl import threadpool_limits

from memory.offline import configure_offline
from memory.selfmodel import SelfModel
from proxy import serverlock, startup, tracing
from proxy.accesslog import AccessLog
from proxy.config import Config
from proxy.errors import install_error_handlers
from proxy.learner import Learner
from proxy.metrics import Metrics
from proxy.middleware import RequestContext
from proxy.routes import (
    audit,
    beliefs,
    chat,
    insights,
    messages,
    ops,
    responses,
    service,
    ui,
    users,
)
from proxy.state import AppState
from proxy.upstream import Upstream

log = logging.getLogger("selfmodel")


def create_app(
    config: Config,
    *,
    workers: bool = True,
    embedder: Any = None,
    span_exporter: Any = None,
    settle_heap: bool = False,
    learner: Learner | None = None,
) -> FastAPI:
    """The proxy's app. `settle_heap`: the app is its process's whole purpose (`selfmodel
    serve`), so what start-up leaves is frozen out of the garbage collector's full passes
    (`startup.settle_heap`); an app embedded in another program leaves its heap alone.
    `learner`: the learning process to start with the app and stop with it."""
    configure_offline()
    # numpy's OpenBLAS keeps a thread per core that spins after every call. On our small
    # matrices it did no useful work and burned ~3 ms of CPU per request, a core the
    # embedder and the event loop needed.
    threadpool_limits(1, user_api="blas")
    metrics = Metrics()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        upstream = Upstream(
            config.model_list,
            config.server.upstream_timeout_seconds,
            direct=config.server.direct_openai,
        )
        upstream.warm_up()
        memory = SelfModel(config.memory, embedder=embedder, complete=upstream.complete_text)
        await memory.start(workers=workers)
        app.state.selfmodel = AppState(
            config=config, metrics=metrics, upstream=upstream, memory=memory
        )
        pid_file = serverlock.claim(config.store.path)
        if learner is not None:
            await learner.start()
        warm_ms = await startup.warm_up(config, memory, app)
        await startup.banner(config, memory, warm_ms, None if learner is None else learner.pid)
        if settle_heap:
            startup.settle_heap()
        setattr(app.state, ops.READY_FLAG, True)
        try:
            yield
        finally:
            setattr(app.state, ops.READY_FLAG, False)
            if learner is not None:
                await learner.stop()
            await memory.stop()
            await upstream.aclose()
            serverlock.release(pid_file)
            if tracer is not None:
                tracer.shutdown()

    app = FastAPI(
        title="selfmodel", version="0.1.0", lifespan=lifespan, docs_url=None, redoc_url=None
    )
    install_error_handlers(app)
    for module in (chat, responses, messages, service, beliefs, users, audit, insights, ui, ops):
        app.include_router(module.router)
    # Innermost first: tracing and the access log run inside RequestContext (the request id).
    tracer = tracing.build(config.tracing, config.model_list, span_exporter)
    if tracer is not None:
        app.add_middleware(tracing.TraceMiddleware, tracing=tracer)
    if config.server.access_log:
        app.add_middleware(AccessLog, log_user_ids=config.server.log_user_ids)
    app.add_middleware(RequestContext, metrics=metrics)
    return app
