"""Two of issue 13's bars, measured on real processes (fake upstream, `selfmodel serve`, this
process as the client, each its own interpreter):

1. stall: the worst and median `/healthz` latency while one 3.9 MB chat (for a user with
   beliefs) is in flight, polled every 10 ms from another thread;
2. kill -9: requests answered 200 (alternating chats with and without a user), then the
   server is killed with SIGKILL right after the last answer; how many of the acknowledged
   requests have no audit record once the store is reopened.

Run from the repo root: `python benchmarks/hardening.py [--requests 200]`. Wall-clock figures
on a shared machine are noisy: the load average is printed with them.
"""

from __future__ import annotations

import argparse
import json
import signal
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks._common import HOST, Children, free_port, load_note, wait_ready  # noqa: E402

MODEL = "gpt-bench"


def _config(root: Path, upstream: str) -> Path:
    raw = {
        "server": {"max_body_bytes": 4 * 1024 * 1024},
        "model_list": [
            {
                "model_name": MODEL,
                "litellm_params": {
                    "model": "openai/gpt-bench",
                    "api_base": upstream,
                    "api_key": "sk-bench",
                },
            }
        ],
        "store": {"path": str(root / "store")},
    }
    path = root / "config.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def _serve(children: Children, config: Path, port: int) -> object:
    code = "from proxy.cli import main; main()"
    argv = [sys.executable, "-c", code, "serve", "--config", str(config), "--port", str(port)]
    child = children.start(f"selfmodel-{port}", argv, cwd=REPO)
    wait_ready(child, f"http://{HOST}:{port}/healthz", 180)
    return child


def stall(url: str) -> None:
    httpx.post(
        url + "/v1/users/ana/beliefs",
        json={"statement": "I am vegetarian.", "context": "constraints"},
        timeout=60,
    )
    content = "I like long walks and quiet evenings by the sea. " * 80_000
    body = json.dumps(
        {"model": MODEL, "user": "ana", "messages": [{"role": "user", "content": content}]}
    ).encode()
    latencies: list[float] = []
    done = threading.Event()

    def poll() -> None:
        with httpx.Client(timeout=60) as client:
            while not done.is_set():
                started = time.perf_counter()
                client.get(url + "/healthz")
                latencies.append(time.perf_counter() - started)
                time.sleep(0.01)

    poller = threading.Thread(target=poll)
    poller.start()
    time.sleep(0.3)
    started = time.perf_counter()
    response = httpx.post(
        url + "/v1/chat/completions",
        content=body,
        headers={"content-type": "application/json"},
        timeout=120,
    )
    took = time.perf_counter() - started
    time.sleep(0.3)
    done.set()
    poller.join()
    print(
        f"stall: {len(body) / 2**20:.2f} MB chat -> {response.status_code} in {took * 1000:.0f} ms;"
        f" /healthz during it: worst {max(latencies) * 1000:.0f} ms, median "
        f"{statistics.median(latencies) * 1000:.1f} ms over {len(latencies)} polls"
    )


def kill9(children: Children, root: Path, config: Path, requests: int) -> None:
    port = free_port()
    child = _serve(children, config, port)
    url = f"http://{HOST}:{port}"
    acknowledged: list[str] = []
    with httpx.Client(timeout=60) as client:
        for n in range(requests):
            body: dict[str, object] = {
                "model": MODEL,
                "messages": [{"role": "user", "content": f"I run {n} km a week."}],
            }
            if n % 2:
                body["user"] = f"user-{n % 7}"
            response = client.post(url + "/v1/chat/completions", json=body)
            if response.status_code == 200:
                acknowledged.append(response.headers["x-selfmodel-request-id"])
    child.proc.send_signal(signal.SIGKILL)  # type: ignore[attr-defined]
    child.proc.wait()  # type: ignore[attr-defined]
    conn = sqlite3.connect(root / "store" / "selfmodel.db")
    audited = {r[0] for r in conn.execute("SELECT request_id FROM audit")}
    missing = [r for r in acknowledged if r not in audited]
    print(
        f"kill -9: {len(acknowledged)} acknowledged requests, {len(missing)} without an audit "
        "record after restart"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    print(load_note())
    with tempfile.TemporaryDirectory() as tmp, Children(Path(tmp)) as children:
        root = Path(tmp)
        fake_port = free_port()
        fake = children.start(
            "fake",
            [sys.executable, str(REPO / "benchmarks/overhead.py"), "--serve-fake", str(fake_port)],
            cwd=REPO,
        )
        upstream = f"http://{HOST}:{fake_port}/v1"
        wait_ready(fake, f"http://{HOST}:{fake_port}/v1/models", 60)
        config = _config(root, upstream)
        port = free_port()
        server = _serve(children, config, port)
        stall(f"http://{HOST}:{port}")
        children.stop(server)  # type: ignore[arg-type]
        kill9(children, root, config, args.requests)


if __name__ == "__main__":
    main()
