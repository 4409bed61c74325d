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
from proxy.config import Config
from proxy.errors import install_error_handlers
from proxy.metrics import Metrics
from proxy.middleware import RequestContext
from proxy.routes import audit, beliefs, chat, insights, messages, responses, service, ui, users
from proxy.state import AppState
from proxy.upstream import Upstream

log = logging.getLogger("selfmodel")


def create_app(config: Config, *, workers: bool = True, embedder: Any = None) -> FastAPI:
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
        log.info(
            "selfmodel ready: %d model(s), store %s, embedding %s",
            len(config.model_list),
            memory.store_location,
            memory.embedder.name,
        )
        try:
            yield
        finally:
            await memory.stop()
            await upstream.aclose()

    app = FastAPI(
        title="selfmodel", version="0.1.0", lifespan=lifespan, docs_url=None, redoc_url=None
    )
    install_error_handlers(app)
    for module in (chat, responses, messages, service, beliefs, users, audit, insights, ui):
        app.include_router(module.router)
    app.add_middleware(RequestContext, metrics=metrics)
    return app
