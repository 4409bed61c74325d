"""Scale-out mode: the store on a real `chroma run` server, across proxy and server restarts."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import MODEL
from tests.fake_upstream import free_port

# The chromadb package installs `chroma` beside the interpreter running the tests.
CHROMA = (
    str(Path(sys.executable).with_name("chroma"))
    if Path(sys.executable).with_name("chroma").exists()
    else (shutil.which("chroma") or "chroma")
)


def start_chroma(path: Path, port: int) -> subprocess.Popen[bytes]:
    server = subprocess.Popen(
        [CHROMA, "run", "--path", str(path), "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert server.poll() is None, "chroma server exited"
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/v2/heartbeat", timeout=1).is_success:
                return server
        except httpx.HTTPError:
            time.sleep(0.2)
    server.kill()
    raise AssertionError("chroma server did not start")


def stop(server: subprocess.Popen[bytes]) -> None:
    server.terminate()
    try:
        server.wait(timeout=20)
    except subprocess.TimeoutExpired:
        server.kill()


@pytest.fixture
def chroma(tmp_path):
    if not Path(CHROMA).exists():
        pytest.fail("the `chroma` command (from the chromadb package) is missing")
    port = free_port()
    holder = [start_chroma(tmp_path / "chroma-server", port)]
    yield {"port": port, "path": tmp_path / "chroma-server", "server": holder}
    stop(holder[0])


def _injected(proxy, text):
    response = httpx.post(
        proxy.url + "/v1/chat/completions",
        timeout=30,
        json={"model": MODEL, "user": "ana", "messages": [{"role": "user", "content": text}]},
    )
    assert response.status_code == 200
    return int(response.headers["x-selfmodel-injected"])


def test_beliefs_survive_proxy_and_server_restarts(make_proxy, upstream, chroma, tmp_path):
    store = tmp_path / "store"
    override = {"store": {"chroma": {"host": "127.0.0.1", "port": chroma["port"]}}}
    first = make_proxy(override, store=store)
    assert "chroma server" in first.state.memory.chroma.location
    with httpx.Client(base_url=first.url) as session:
        for i in range(40):
            created = session.post(
                "/v1/users/ana/beliefs",
                json={"statement": f"I collect vintage item number {i}.", "context": "preferences"},
            )
            assert created.status_code == 201
        session.post(
            "/v1/users/ana/beliefs",
            json={"statement": "I am vegetarian.", "context": "constraints"},
        )
    assert _injected(first, "Suggest a dinner recipe") >= 1
    first.state.memory.sync_index()  # the background sync may have run already
    assert first.state.memory.chroma.count_user("default", "ana") == 41
    first.stop()

    stop(chroma["server"][0])
    chroma["server"][0] = start_chroma(chroma["path"], chroma["port"])
    second = make_proxy(override, store=store)
    assert _injected(second, "Suggest a dinner recipe") >= 1
    assert second.state.memory.chroma.count_user("default", "ana") == 41
    nearest = asyncio.run(second.state.memory.search("default", "ana", "vegetarian food", 3))
    assert nearest[0][0].statement == "I am vegetarian."
