"""The client APIs' dependencies run on the event loop: FastAPI runs a plain `def` dependency in
its thread pool, a thread hop per dependency on every call."""

import inspect

from fastapi.routing import APIRoute

CLIENT_PATHS = {"/v1/chat/completions", "/v1/responses", "/v1/messages", "/v1/embeddings"}


def _api_routes(routes):
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        included = getattr(route, "original_router", None)  # FastAPI's included routers
        if included is not None:
            yield from _api_routes(included.routes)


def _calls(dependant):
    for sub in dependant.dependencies:
        yield sub.call
        yield from _calls(sub)


def test_no_client_api_dependency_takes_a_thread_hop(proxy):
    routes = [r for r in _api_routes(proxy.app.routes) if r.path in CLIENT_PATHS]
    assert {r.path for r in routes} == CLIENT_PATHS
    for route in routes:
        calls = [route.endpoint, *_calls(route.dependant)]
        sync = [c.__name__ for c in calls if not inspect.iscoroutinefunction(c)]
        assert not sync, f"{route.path}: {sync}"
