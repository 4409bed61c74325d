"""The first injected request after a start against the median of the next 20.

Starts `selfmodel serve` on a fake upstream with one stored user, then restarts it `--rounds`
times and times 21 chat requests for that user after each start (the bar: first <= 3 x median).
Figures on a shared machine are noisy: read the ratio over several rounds.

    .venv/bin/python benchmarks/first_request.py [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # `tests.fake_upstream` by path

from tests.fake_upstream import FakeUpstream, ServerThread, build_app, free_port  # noqa: E402

SELFMODEL = Path(sys.executable).with_name("selfmodel")


def post(port: int, path: str, body: dict[str, object]) -> float:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}",
        json.dumps(body).encode(),
        {"content-type": "application/json"},
    )
    started = time.perf_counter()
    with urllib.request.urlopen(request, timeout=60) as response:
        response.read()
    return (time.perf_counter() - started) * 1000


def start(config: Path, port: int, log: Path) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        [str(SELFMODEL), "serve", "--config", str(config)],
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )
    for _ in range(1200):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=1):
                return process
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise SystemExit(f"the proxy did not become ready (see {log})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    upstream = ServerThread(build_app(FakeUpstream())).start()
    port = free_port()
    with tempfile.TemporaryDirectory() as work:
        config = Path(work) / "config.yaml"
        config.write_text(
            f"server: {{port: {port}}}\n"
            "model_list:\n  - model_name: mock\n"
            f"    litellm_params: {{model: openai/mock, api_base: {upstream.url}/v1,"
            " api_key: sk-x}\n"
            f"store: {{path: {work}/store}}\nextraction: {{enabled: false}}\n"
        )
        log = Path(work) / "proxy.log"
        process = start(config, port, log)
        post(
            port,
            "/v1/users/op-user/beliefs",
            {"statement": "I am vegetarian.", "context": "constraints"},
        )
        process.terminate()
        process.wait()
        for number in range(args.rounds):
            process = start(config, port, log)
            times = [
                post(
                    port,
                    "/v1/chat/completions",
                    {
                        "model": "mock",
                        "user": "op-user",
                        "messages": [
                            {"role": "user", "content": f"Dinner idea number {i} for tonight?"}
                        ],
                    },
                )
                for i in range(21)
            ]
            process.terminate()
            process.wait()
            rest = statistics.median(times[1:])
            print(
                f"round {number}: first {times[0]:.1f} ms, median of the next 20 {rest:.1f} ms, "
                f"ratio {times[0] / rest:.2f}"
            )
    upstream.stop()


if __name__ == "__main__":
    main()
