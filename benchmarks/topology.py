"""The scale-out topology with plain processes, for tests and for the benchmark.

`Topology` starts, each as a process of its own (its own session, stopped by PID): the fake
upstream (tests/fake_upstream.py), optionally a Chroma server (`chroma run`), N x `selfmodel
serve` and M x `selfmodel worker`, all on one config and one SQLite store. With `workers` > 0
the proxies run `extraction.workers: 0` (they only enqueue; the workers learn and own the
embedded index, memory/index/owner.py); with `workers=0` the proxies learn in-process (the
one-box default). This is what deploy/compose.yaml runs, minus Docker and Postgres.

As a benchmark it measures, in one run, side by side: learning in-process (1 proxy), learning
in a worker process (1 proxy + 1 worker) and 2 proxies + 2 workers: the latency selfmodel adds
at concurrency 1 (in rounds alternating with direct calls to the fake upstream, so both see
the same moments of a shared machine), req/s at concurrency 16, and the proxies' CPU per
request. The traffic is the overhead benchmark's: questions from users of a populated store
(benchmarks/overhead.py builds and caches it), and every few requests a statement about the
user, so that there is something to learn. Run from the repo root:

    python benchmarks/topology.py                       # 300 requests per figure, 200 users
    python benchmarks/topology.py --quick               # 100 requests, 100 users
    python benchmarks/topology.py --requests 500 --users 1000 --chroma
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # `tests.fake_upstream` and `benchmarks._common` by path

from benchmarks import pg_cluster  # noqa: E402
from benchmarks._common import (  # noqa: E402
    HOST,
    Child,
    Children,
    Stats,
    begin,
    cpu_seconds,
    free_port,
    load_note,
    run_load,
    serve_fake,
    start_fake_upstream,
    timed,
    wait_ready,
)
from memory.ledger import Database  # noqa: E402
from memory.ledger.copy import copy_store  # noqa: E402

MODEL = "gpt-topology"
READY_LINE = "selfmodel worker ready"


def _exe(name: str) -> list[str]:
    found = Path(sys.executable).with_name(name)
    if found.is_file():
        return [str(found)]
    if name == "selfmodel":  # click reads the arguments after -c
        return [sys.executable, "-c", "from proxy.cli import main; main()"]
    raise RuntimeError(f"no `{name}` next to {sys.executable}")


@dataclass
class Topology:
    """N proxies and M workers on one store; a context manager that stops all it started."""

    workdir: Path
    proxies: int = 2
    workers: int = 2
    chroma: bool = False
    store: Path | None = None
    # The ledger: None keeps SQLite in `store`, shared by every process; a PostgreSQL URL
    # gives each process a local directory of its own (its cwd) and the database in common.
    database: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)  # merged into the config's sections
    log_level: str = "warning"
    launch_workers: bool = True  # False: the config says workers, start_worker() starts them
    kids: Children = field(init=False)
    upstream_url: str = field(init=False, default="")
    proxy_urls: list[str] = field(init=False, default_factory=list)
    proxy_children: list[Child] = field(init=False, default_factory=list)
    worker_children: list[Child] = field(init=False, default_factory=list)
    config_path: Path = field(init=False)

    def __post_init__(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.kids = Children(self.workdir)
        self.store = self.store or self.workdir / "store"
        self.config_path = self.workdir / "config.yaml"
        self._started = 0

    # -- lifecycle ----------------------------------------------------------------------------

    def __enter__(self) -> Topology:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()

    def start(self) -> None:
        self.upstream_url = start_fake_upstream(self.kids, __file__, "upstream", 60)
        chroma: dict[str, Any] | None = None
        if self.chroma:
            chroma_port = free_port()
            server = self.kids.start(
                "chroma",
                [
                    *_exe("chroma"),
                    "run",
                    "--path",
                    str(self.workdir / "chroma-server"),
                    "--host",
                    HOST,
                    "--port",
                    str(chroma_port),
                ],
                env={"ANONYMIZED_TELEMETRY": "False"},
                cwd=self.workdir,
            )
            wait_ready(server, f"http://{HOST}:{chroma_port}/api/v2/heartbeat", 90)
            chroma = {"host": HOST, "port": chroma_port}
        self.write_config(chroma)
        for i in range(self.proxies):  # one at a time: the first creates the schema
            self.start_proxy(i)
        for _ in range(self.workers if self.launch_workers else 0):
            self.start_worker()

    def write_config(self, chroma: dict[str, Any] | None) -> None:
        sections: dict[str, Any] = {
            "server": {"host": HOST, "log_level": self.log_level, "upstream_timeout_seconds": 30},
            "model_list": [
                {
                    "model_name": MODEL,
                    "litellm_params": {
                        "model": f"openai/{MODEL}",
                        "api_base": self.upstream_url,
                        "api_key": "sk-fake",
                    },
                }
            ],
            "store": {
                "path": "./.selfmodel" if self.database else str(self.store),
                **({"database": self.database} if self.database else {}),
                **({"chroma": chroma} if chroma else {}),
            },
            # With worker processes the proxies only enqueue; without, they learn in-process.
            "extraction": {"workers": 0} if self.workers else {},
        }
        for key, value in self.extra.items():
            if isinstance(value, dict) and isinstance(sections.get(key), dict):
                sections[key] = {**sections[key], **value}
            else:
                sections[key] = value
        self.config_path.write_text(yaml.safe_dump(sections, sort_keys=False))

    def start_proxy(self, index: int) -> str:
        port = free_port()
        cwd = self.workdir / f"run-proxy-{index}"  # each process in a directory of its own
        cwd.mkdir(exist_ok=True)
        child = self.kids.start(
            f"proxy-{index}",
            [*_exe("selfmodel"), "serve", "--config", str(self.config_path), "--port", str(port)],
            cwd=cwd,
        )
        url = f"http://{HOST}:{port}"
        wait_ready(child, f"{url}/healthz", 300)
        self.proxy_children.append(child)
        self.proxy_urls.append(url)
        return url

    def start_worker(self, timeout: float = 300) -> Child:
        self._started += 1
        cwd = self.workdir / f"run-worker-{self._started}"
        cwd.mkdir(exist_ok=True)
        child = self.kids.start(
            f"worker-{self._started}",
            [*_exe("selfmodel"), "worker", "--config", str(self.config_path)],
            cwd=cwd,
        )
        deadline = time.monotonic() + timeout
        while READY_LINE not in child.tail(200):
            if child.proc.poll() is not None:
                raise RuntimeError(f"{child.name} exited {child.proc.returncode}:\n{child.tail()}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"{child.name} not ready after {timeout:.0f} s:\n{child.tail()}")
            time.sleep(0.1)
        self.worker_children.append(child)
        return child

    def kill(self, child: Child, sig: int = signal.SIGKILL) -> None:
        """Signal a process this topology started, and its group (it has a session of its own)."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(child.proc.pid, sig)
        child.proc.wait(timeout=30)
        for group in (self.worker_children, self.proxy_children):
            if child in group:
                group.remove(child)
        if child in self.kids.children:
            self.kids.children.remove(child)

    def stop(self) -> None:
        self.kids.stop_all()

    # -- what tests and the benchmark ask -----------------------------------------------------

    @property
    def ledger(self) -> str | Path:
        assert self.store is not None
        return self.database or self.store / "selfmodel.db"

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        """Rows read from the store itself (not through a proxy)."""
        db = Database(self.ledger, migrate=False)
        try:
            return [tuple(r) for r in db.conn.execute(sql).fetchall()]
        finally:
            db.close()

    def outbox_counts(self) -> dict[str, int]:
        """Job states, read from the store itself."""
        return {
            str(k): int(v)
            for k, v in self.rows("SELECT state, COUNT(*) FROM outbox GROUP BY state")
        }

    def wait_indexed(self, timeout: float = 600) -> None:
        """Until every active belief is in the vector index (a store just copied is not)."""
        deadline = time.monotonic() + timeout
        sql = "SELECT COUNT(*) FROM beliefs WHERE indexed = 0 AND status = 'active'"
        while self.rows(sql)[0][0]:
            if time.monotonic() > deadline:
                raise TimeoutError(f"beliefs still unindexed after {timeout:.0f} s")
            time.sleep(0.5)

    def wait_learned(self, timeout: float = 120) -> dict[str, int]:
        """Until no job is pending or running; returns the final counts."""
        deadline = time.monotonic() + timeout
        while True:
            counts = self.outbox_counts()
            if not counts.get("pending") and not counts.get("running"):
                return counts
            if time.monotonic() > deadline:
                raise TimeoutError(f"jobs still queued after {timeout:.0f} s: {counts}")
            time.sleep(0.25)


# -- the benchmark ------------------------------------------------------------------------------


@dataclass
class Traffic:
    """Request i: a question from a populated user, and every `learn_every`-th also says
    something about the user (a stated preference from the pool)."""

    questions: list[str]
    statements: list[str]
    users: list[str]
    learn_every: int

    def __call__(self, i: int) -> dict[str, Any]:
        question = self.questions[i % len(self.questions)]
        text = f"{question} (#{i})"
        if self.learn_every and i % self.learn_every == 0:
            text = f"{self.statements[(i * 31) % len(self.statements)]} {text}"
        return {
            "model": MODEL,
            "max_tokens": 64,
            "user": self.users[(i * 7919) % len(self.users)],
            "messages": [
                {"role": "system", "content": "You are a helpful assistant."},
                {"role": "user", "content": text},
            ],
        }


@dataclass
class Result:
    name: str
    paired: tuple[Stats, Stats] | None = None  # (direct, through the proxies), c=1
    loaded: Stats | None = None  # c=16
    cpu_ms: float | None = None  # proxies' CPU per request, c=1
    worker_cpu_ms: float | None = None  # workers' CPU per request, c=1
    outbox: dict[str, int] = field(default_factory=dict)


async def _load(
    urls: Sequence[str], traffic: Traffic, n: int, concurrency: int, start: int
) -> Stats:
    """n requests, request i to urls[i % len(urls)] (one load per proxy, run together)."""
    if len(urls) == 1:
        return await run_load("load", urls[0], traffic, n, concurrency, start=start)
    parts = await asyncio.gather(
        *(
            run_load(
                "load",
                url,
                lambda i, k=k: traffic(i * len(urls) + k),
                n // len(urls),
                max(1, concurrency // len(urls)),
                start=start,
            )
            for k, url in enumerate(urls)
        )
    )
    total = Stats("load", concurrency)
    for part in parts:
        total.latencies += part.latencies
        total.errors += part.errors
        total.first_error = total.first_error or part.first_error
    total.elapsed = max(p.elapsed for p in parts)
    return total


ROUNDS = 10


async def _measure(
    topo: Topology, traffic: Traffic, requests: int, offset: int
) -> tuple[Stats, Stats, Stats, float, float]:
    urls = [f"{u}/v1/chat/completions" for u in topo.proxy_urls]
    direct_url = f"{topo.upstream_url}/chat/completions"
    await _load(urls, traffic, min(60, requests), 4, offset)  # warm-up
    direct, ours = Stats("direct", 1), Stats("proxies", 1)
    proxy_pids = [c.proc.pid for c in topo.proxy_children]
    worker_pids = [c.proc.pid for c in topo.worker_children]
    cpu_before = sum(cpu_seconds(p) for p in proxy_pids)
    workers_before = sum(cpu_seconds(p) for p in worker_pids)
    per_round = max(10, requests // ROUNDS)
    sent = 0
    for r in range(ROUNDS):
        start = offset + 100_000 * (r + 1)
        got = await run_load("direct", direct_url, traffic, per_round, 1, start=start)
        direct.latencies += got.latencies
        for k, url in enumerate(urls):  # alternately through each proxy
            got = await run_load(
                "ours", url, traffic, per_round // len(urls), 1, start=start + 50_000 + k * 1000
            )
            ours.latencies += got.latencies
            ours.errors += got.errors
            ours.first_error = ours.first_error or got.first_error
            sent += got.ok
    await asyncio.sleep(1.0)  # let learning that follows the responses land in the count
    cpu_ms = (sum(cpu_seconds(p) for p in proxy_pids) - cpu_before) * 1000 / max(1, sent)
    worker_ms = (sum(cpu_seconds(p) for p in worker_pids) - workers_before) * 1000 / max(1, sent)
    loaded = await _load(urls, traffic, requests, 16, offset + 5_000_000)
    return direct, ours, loaded, cpu_ms, worker_ms


SETUPS = (  # name, proxies, workers, ledger
    ("learning in-process, 1 proxy", 1, 0, "sqlite"),
    ("learning in a worker, 1 proxy + 1 worker", 1, 1, "sqlite"),
    ("2 proxies + 2 workers", 2, 2, "sqlite"),
)
POSTGRES_SETUPS = (
    ("PostgreSQL: learning in-process, 1 proxy", 1, 0, "postgresql"),
    ("PostgreSQL: 1 proxy + 1 worker", 1, 1, "postgresql"),
    ("PostgreSQL: 2 proxies + 2 workers", 2, 2, "postgresql"),
)


def bench(args: argparse.Namespace) -> list[Result]:
    from benchmarks.overhead import ensure_store, load_pool, user_id

    pool = load_pool()
    cached = ensure_store(args.users, args.beliefs, pool)
    rng = random.Random(7)
    users = rng.sample([user_id(i) for i in range(args.users)], min(args.users, 200))
    traffic = Traffic(pool.questions, pool.statements, users, args.learn_every)
    results = []
    with contextlib.ExitStack() as stack:
        cluster = stack.enter_context(pg_cluster.running()) if args.postgres else None
        for index, setup in enumerate(SETUPS + (POSTGRES_SETUPS if args.postgres else ())):
            results.append(_bench_one(args, setup, index, cached, traffic, cluster))
    return results


def _bench_one(
    args: argparse.Namespace,
    setup: tuple[str, int, int, str],
    index: int,
    cached: Path,
    traffic: Traffic,
    cluster: pg_cluster.Cluster | None,
) -> Result:
    name, proxies, workers, ledger = setup
    workdir = Path(tempfile.mkdtemp(prefix="selfmodel-topology-"))
    try:
        store = workdir / "store"
        shutil.copytree(cached, store, ignore=shutil.ignore_patterns("READY"))
        database = None
        if ledger == "postgresql":
            assert cluster is not None
            database = cluster.fresh()
            with timed(f"{name}: copying the store into PostgreSQL"):
                copy_store(store / "selfmodel.db", database)
        # PostgreSQL as deployed: with a Chroma server (an embedded index would be each
        # process's own); the copied store is indexed before anything is measured
        chroma = args.chroma or database is not None
        with timed(f"{name}: starting"):
            topo = Topology(
                workdir, proxies, workers, chroma=chroma, store=store, database=database
            )
            topo.__enter__()
        if workers or database is not None:
            with timed(f"{name}: indexing"):
                topo.wait_indexed()
        try:
            with timed(f"{name}: measuring"):
                direct, ours, loaded, cpu_ms, worker_ms = asyncio.run(
                    _measure(topo, traffic, args.requests, 10_000_000 * (index + 1))
                )
            with contextlib.suppress(TimeoutError):
                topo.wait_learned(60)
            return Result(name, (direct, ours), loaded, cpu_ms, worker_ms, topo.outbox_counts())
        finally:
            topo.stop()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def report(results: list[Result]) -> str:
    lines = [
        f"{'setup':<44} {'added p50':>10} {'added p99':>10} {'c=16 req/s':>11} "
        f"{'proxy CPU/req':>14} {'worker CPU/req':>15}  outbox after"
    ]
    for r in results:
        assert r.paired is not None and r.loaded is not None
        direct, ours = r.paired
        errors = ours.errors + r.loaded.errors
        first_error = ours.first_error or r.loaded.first_error
        lines.append(
            f"{r.name:<44} {ours.p(50) - direct.p(50):>7.2f} ms "
            f"{ours.p(99) - direct.p(99):>7.2f} ms {r.loaded.rps:>11.1f} "
            f"{r.cpu_ms or 0:>11.2f} ms {r.worker_cpu_ms or 0:>12.2f} ms  {r.outbox}"
            + (f"  ({errors} errors: {first_error})" if errors else "")
        )
    return "\n".join(lines)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=300, help="requests per figure")
    parser.add_argument("--users", type=int, default=200, help="users in the populated store")
    parser.add_argument("--beliefs", type=int, default=100, help="beliefs per user")
    parser.add_argument("--learn-every", type=int, default=4, help="a statement every N requests")
    parser.add_argument("--chroma", action="store_true", help="a Chroma server (`chroma run`)")
    parser.add_argument(
        "--postgres",
        action="store_true",
        help="also each setup on PostgreSQL (a throwaway cluster, benchmarks/pg_cluster.py)",
    )
    parser.add_argument("--quick", action="store_true", help="100 requests, 100 users")
    parser.add_argument("--serve-fake", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.quick:
        args.requests, args.users = 100, 100
    return args


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    if args.serve_fake is not None:
        serve_fake(args.serve_fake)
        return
    begin()
    print(
        f"{os.cpu_count()} CPUs; {args.requests} requests per figure; store {args.users} users "
        f"x {args.beliefs} beliefs; a statement every {args.learn_every} requests; "
        f"{'Chroma server' if args.chroma else 'embedded Chroma'}; {load_note()}"
    )
    results = bench(args)
    print()
    print(report(results))
    print(
        f"\nadded = p50/p99 through the proxies minus direct calls, c=1, alternating rounds; "
        f"CPU per request summed over the proxies (and over the workers).\n{load_note()} "
        "(other processes on this machine inflate every column; 2 cores cap what 2 proxies "
        "can gain)"
    )


if __name__ == "__main__":
    main()
