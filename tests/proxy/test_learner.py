"""`selfmodel serve` learns in a child `selfmodel worker` it starts, restarts and stops
(`extraction.learner: process`, the default); real processes, the fake upstream."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
import yaml

from tests.conftest import MODEL, base_config, merge
from tests.fake_upstream import free_port

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="uses /proc")


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def wait_for(check: Callable[[], object], timeout: float, what: str) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


class Serve:
    def __init__(self, tmp_path: Path, upstream_url: str, extra: dict[str, object]) -> None:
        store = tmp_path / "store"
        config = tmp_path / "config.yaml"
        config.write_text(yaml.safe_dump(merge(base_config(store, upstream_url), extra)))
        self.url = f"http://127.0.0.1:{free_port()}"
        self.log_path = tmp_path / "serve.log"
        self._log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-c", "from proxy.cli import main; main()", "serve"]
            + ["--config", str(config), "--port", self.url.rsplit(":", 1)[1]],
            stdout=subprocess.DEVNULL,
            stderr=self._log,
            start_new_session=True,
        )
        wait_for(self.ready, 90, "the proxy to be ready")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def ready(self) -> bool:
        assert self.process.poll() is None, self.log()
        try:
            return httpx.get(self.url + "/readyz", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def learner_pid(self) -> int:
        found = re.findall(r"learning in process (\d+)", self.log())
        assert found, self.log()
        return int(found[-1])

    def chat(self, user: str, text: str) -> None:
        response = httpx.post(
            self.url + "/v1/chat/completions",
            json={"model": MODEL, "user": user, "messages": [{"role": "user", "content": text}]},
            timeout=30,
        )
        assert response.status_code == 200, response.text

    def statements(self, user: str) -> list[str]:
        response = httpx.get(f"{self.url}/v1/users/{user}/beliefs", timeout=10)
        if response.status_code == 404:
            return []
        return [b["statement"] for b in response.json()["data"]]

    def close(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)
        self._log.close()


@pytest.fixture
def serve(tmp_path: Path, upstream_url: str) -> Iterator[Callable[..., Serve]]:
    started: list[Serve] = []

    def start(extra: dict[str, object] | None = None) -> Serve:
        started.append(Serve(tmp_path, upstream_url, extra or {}))
        return started[-1]

    yield start
    for one in started:
        one.close()


def test_serve_learns_in_a_child_it_restarts_and_stops(serve: Callable[..., Serve]) -> None:
    proxy = serve()
    child = proxy.learner_pid()
    assert child != proxy.process.pid and alive(child)
    assert f"in learning process {child}" in proxy.log()
    proxy.chat("ana", "I'm allergic to peanuts. Any snack ideas?")
    wait_for(lambda: proxy.statements("ana"), 60, "the turn to be learned")

    os.kill(child, signal.SIGKILL)  # a crash: the proxy starts another, nothing is lost
    proxy.chat("ana", "I live in Lisbon. What should I do this weekend?")
    replacement = wait_for(
        lambda: (pid := proxy.learner_pid()) != child and pid, 30, "a new learning process"
    )
    assert isinstance(replacement, int) and alive(replacement)
    wait_for(lambda: len(proxy.statements("ana")) == 2, 60, "the second turn to be learned")

    proxy.process.send_signal(signal.SIGTERM)  # uvicorn shuts down, then re-raises it
    assert proxy.process.wait(timeout=60) in (0, -signal.SIGTERM)
    assert "Application shutdown complete" in proxy.log()
    assert not alive(replacement)


def test_the_child_stops_when_the_proxy_is_killed(serve: Callable[..., Serve]) -> None:
    proxy = serve()
    child = proxy.learner_pid()
    os.killpg(proxy.process.pid, signal.SIGKILL)  # the child is in a session of its own
    proxy.process.wait(timeout=30)
    wait_for(lambda: not alive(child), 30, "the orphaned learning process to stop")


def test_threads_keep_learning_in_the_proxy(serve: Callable[..., Serve]) -> None:
    proxy = serve({"extraction": {"learner": "threads"}})
    assert "learning in process" not in proxy.log()
    assert "in this process (2 consumer(s))" in proxy.log()
    proxy.chat("bo", "I'm a night-shift nurse. How should I plan meals?")
    wait_for(lambda: proxy.statements("bo"), 60, "the turn to be learned in-process")
