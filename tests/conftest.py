"""Shared fixtures: a real fake upstream, a real proxy on loopback, the real openai client."""

from __future__ import annotations

import copy
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from memory.offline import configure_offline

configure_offline()

from memory.index.embed import LocalEmbedder  # noqa: E402
from proxy.app import create_app  # noqa: E402
from proxy.config import Config, parse_config  # noqa: E402
from tests.fake_upstream import FakeUpstream, ServerThread, build_app  # noqa: E402

MODEL = "gpt-test"


@pytest.fixture(scope="session")
def embedder() -> LocalEmbedder:
    return LocalEmbedder()


@pytest.fixture(scope="session")
def _fake_server() -> Iterator[tuple[FakeUpstream, ServerThread]]:
    fake = FakeUpstream()
    server = ServerThread(build_app(fake)).start()
    yield fake, server
    server.stop()


@pytest.fixture
def upstream(_fake_server: tuple[FakeUpstream, ServerThread]) -> FakeUpstream:
    fake, _ = _fake_server
    fake.reset()
    return fake


@pytest.fixture
def upstream_url(_fake_server: tuple[FakeUpstream, ServerThread]) -> str:
    return _fake_server[1].url + "/v1"


def base_config(store: Path, upstream_url: str) -> dict[str, Any]:
    return {
        "server": {"max_body_bytes": 64 * 1024, "upstream_timeout_seconds": 5},
        "model_list": [
            {
                "model_name": MODEL,
                "litellm_params": {
                    "model": "openai/gpt-test",
                    "api_base": upstream_url,
                    "api_key": "sk-provider-secret",
                },
            },
            {
                "model_name": "byok-model",
                "forward_client_key": True,
                "litellm_params": {"model": "openai/byok-model", "api_base": upstream_url},
            },
            {
                "model_name": "dead-model",
                "litellm_params": {
                    "model": "openai/dead",
                    "api_base": "http://127.0.0.1:9/v1",
                    "api_key": "x",
                },
            },
        ],
        "store": {"path": str(store)},
        "extraction": {"backoff_seconds": 0.05},
        "audit": {"retention_days": 30},
    }


def merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    result = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(result.get(key), dict):
            result[key] = merge(result[key], value)
        else:
            result[key] = value
    return result


class Proxy:
    def __init__(self, config: Config, embedder: LocalEmbedder | None, workers: bool) -> None:
        self.config = config
        self.app = create_app(config, workers=workers, embedder=embedder)
        self.server = ServerThread(self.app).start()
        self.url = self.server.url

    @property
    def state(self) -> Any:
        return self.app.state.selfmodel

    def stop(self) -> None:
        self.server.stop()


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[Any]:
    """One throwaway PostgreSQL cluster for the session (tests/pg_cluster.py). Without a
    server to run, PostgreSQL tests are skipped locally and fail in CI (`CI` set)."""
    from benchmarks.pg_cluster import running

    try:
        context = running()
        cluster = context.__enter__()
    except Exception as exc:  # noqa: BLE001
        if os.environ.get("CI"):
            raise
        pytest.skip(f"no PostgreSQL to test on: {exc}")
    yield cluster
    context.__exit__(None, None, None)


@pytest.fixture
def ledger(request: pytest.FixtureRequest) -> str:
    """Which ledger a test's store uses: `sqlite` (the default) or `postgresql` (modules that
    set BOTH_LEDGERS run each such test on both)."""
    return getattr(request, "param", "sqlite")


@pytest.fixture
def ledger_target(ledger: str, tmp_path: Path, request: pytest.FixtureRequest) -> str | Path:
    """A fresh, empty ledger: a SQLite file, or a URL into a new PostgreSQL schema."""
    if ledger == "postgresql":
        return str(request.getfixturevalue("pg_cluster").fresh())
    return tmp_path / "ledger.db"


@pytest.fixture
def database_for(ledger: str, request: pytest.FixtureRequest) -> Callable[[Path], str | None]:
    """The `store.database` for a store directory: None on SQLite; on PostgreSQL one fresh
    database per directory, so that proxies (and servers) made on one store share it."""
    databases: dict[str, str] = {}

    def find(store: Path) -> str | None:
        if ledger != "postgresql":
            return None
        if str(store) not in databases:
            databases[str(store)] = request.getfixturevalue("pg_cluster").fresh()
        return databases[str(store)]

    return find


@pytest.fixture
def make_proxy(
    tmp_path: Path,
    upstream_url: str,
    embedder: LocalEmbedder,
    database_for: Callable[[Path], str | None],
) -> Iterator[Callable[..., Proxy]]:
    started: list[Proxy] = []

    def make(
        override: dict[str, Any] | None = None,
        workers: bool = True,
        store: Path | None = None,
        shared_embedder: bool = True,
    ) -> Proxy:
        raw = merge(base_config(store or tmp_path / "store", upstream_url), override or {})
        database = database_for(Path(raw["store"]["path"]))
        if database is not None and "database" not in raw["store"]:
            raw["store"]["database"] = database
        proxy = Proxy(parse_config(raw), embedder if shared_embedder else None, workers)
        started.append(proxy)
        return proxy

    yield make
    for proxy in started:
        proxy.stop()


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    # A module that sets BOTH_LEDGERS runs each test that opens a store on SQLite and on
    # PostgreSQL.
    if "ledger" in metafunc.fixturenames and getattr(metafunc.module, "BOTH_LEDGERS", False):
        metafunc.parametrize("ledger", ["sqlite", "postgresql"], indirect=True)
    # A module that sets BOTH_UPSTREAM_PATHS runs each test using `proxy` twice: through the
    # direct OpenAI-compatible path (the default for `openai/` models) and through litellm.
    if "proxy" in metafunc.fixturenames and getattr(metafunc.module, "BOTH_UPSTREAM_PATHS", False):
        metafunc.parametrize("proxy", ["direct", "litellm"], indirect=True)


@pytest.fixture
def proxy(make_proxy: Callable[..., Proxy], request: pytest.FixtureRequest) -> Proxy:
    path = getattr(request, "param", "direct")
    return make_proxy({"server": {"direct_openai": path == "direct"}})


@pytest.fixture
def client(proxy: Proxy) -> Any:
    import openai

    return openai.OpenAI(base_url=proxy.url + "/v1", api_key="sk-client", max_retries=0)


@pytest.fixture
def http(proxy: Proxy) -> Iterator[Any]:
    import httpx

    with httpx.Client(base_url=proxy.url, timeout=30) as session:
        yield session
