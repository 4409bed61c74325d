"""Proxy overhead: selfmodel vs calling the upstream directly vs LiteLLM's own proxy.

One run prints, side by side, for the same load against the same fast fake upstream:
p50/p99 latency and req/s at concurrency 1, 16 and 64; the latency selfmodel adds at
concurrency 1 (without a user, and with injection from a store of U users x B beliefs, the
latter also in rounds alternating with direct calls, which the bar is judged on);
streaming time to first `data:` chunk; the proxy's RSS. The fake upstream, each proxy and
the load generator (this process, httpx) run in separate processes, so that on 2 cores no
server shares an interpreter (or a GIL) with the client measuring it.

Request bodies are, by default, shaped as deployed (`--shape realistic`, issue #12): a system
prompt and one earlier exchange (a real user turn and the assistant's answer, from the eval's
distractor chats) before the latest question, every question and earlier turn unseen before
(no query-cache hit), 30 users x 100 beliefs, learning on, and the fake provider answering
as long as real answers are (the earlier exchanges' answers in turn, ~1,300 characters, each
made unique). `--shape short` is the earlier figure: a one-line system prompt and the
question alone, a one-line answer, 1000 users.

Learning runs as the config says (`--learning`): `process` (the one-box default: the proxy
gates and enqueues, and the learning process `selfmodel serve` starts beside it learns),
`in-process` (`extraction.learner: threads`: the proxy's own threads learn), `off`, or
`worker` (the proxy only enqueues, `extraction.workers: 0`, and a `selfmodel worker` process
started apart learns, issue #15); `--learning all` measures them side by side, each on its own
copy of the store, with the proxy's CPU per request (and the learning process's) beside the
latencies: CPU is the figure a shared machine does not blur.

Run from the repo root:
    python benchmarks/overhead.py                 # 300 requests per level, realistic bodies
    python benchmarks/overhead.py --learning all --skip-litellm   # every learning mode
    python benchmarks/overhead.py --quick         # 60 per level, 100 users x 100
    python benchmarks/overhead.py --requests 500 --users 10000 --beliefs 100

The populated store is cached in benchmarks/.cache/ (keyed by U x B, the statement pool and
the indexing code) and copied to a temporary directory for each run, so runs do not see each
other's audit rows or learned beliefs. LiteLLM's proxy is measured when `litellm[proxy]` is
importable (`pip install -e ".[bench]"`).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import random
import secrets
import shutil
import subprocess
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

from benchmarks._common import (  # noqa: E402
    HOST,
    Child,
    Children,
    Stats,
    begin,
    cpu_seconds,
    free_port,
    learner_of,
    load_note,
    rss_mb,
    run_load,
    serve_fake,
    start_fake_upstream,
    timed,
    wait_ready,
)

CACHE = REPO / "benchmarks" / ".cache"
EVAL_DIR = Path(
    os.environ.get("SELFMODEL_EVAL_DIR")
    or next(
        (
            d
            for d in (REPO.parent / "shared" / "eval", REPO.parents[1] / "shared" / "eval")
            if (d / "prefeval_explicit_dev.jsonl").is_file()
        ),
        REPO.parent / "shared" / "eval",
    )
)
EVAL_SET = EVAL_DIR / "prefeval_explicit_dev.jsonl"
DISTRACTORS = EVAL_DIR / "distractor_messages.json"
SYSTEM_PROMPT = (
    "You are a helpful assistant for a travel, shopping and lifestyle app. Answer in a friendly, "
    "concise tone; use bullet points for lists; ask a clarifying question when the request is "
    "ambiguous; never invent prices, opening hours or availability; say so when you are unsure."
)
MODEL = "gpt-bench"
TENANT = "default"  # the tenant of a proxy without auth keys
LEVELS = (1, 16, 64)
WARM_USERS = 500  # users touched before the warm measurements (the proxy caches 4096)
SEED = 7
# Where beliefs fall: mostly preferences, as in real self-models; constraints and style feed
# the proxy's "core" beliefs, which take another path through the injector.
CONTEXT_WEIGHTS = {
    "preferences": 60,
    "constraints": 15,
    "expertise": 10,
    "goals": 10,
    "communication_style": 5,
}
# Files whose change makes a cached store stale (how rows and vectors are written).
INDEX_CODE = (
    "memory/core.py",
    "memory/index/views.py",
    "memory/index/chroma.py",
    "memory/index/embed.py",
    "memory/index/quantize.py",
    "memory/index/encoder_graph.py",
)
OPENERS = ("", "Hi! ", "Quick question: ", "Hey, ", "I was wondering: ", "Please help. ")


# -- statement and question pools -------------------------------------------------------------


@dataclass
class Pool:
    tag: str
    statements: list[str]
    questions: list[str]
    # Earlier exchanges (user turn, assistant answer) for realistic bodies.
    history: list[tuple[str, str]] = field(default_factory=list)

    def shape(self, **options: Any) -> Shape:
        return Shape(self.questions, history=self.history, **options)


def _history() -> list[tuple[str, str]]:
    """Real user/assistant exchanges (the eval's distractor chats), else synthetic ones."""
    if DISTRACTORS.is_file():
        turns = json.loads(DISTRACTORS.read_text(encoding="utf-8"))
        pairs = [
            (a["content"], b["content"])
            for a, b in zip(turns[::2], turns[1::2], strict=False)
            if a.get("role") == "user" and b.get("role") == "assistant"
        ]
        if pairs:
            return pairs
    return [
        (
            f"Can you explain how {thing} works, step by step?",
            f"Sure. {thing.capitalize()} works in a few stages. " * 8,
        )
        for thing in ("compound interest", "a heat pump", "HTTP caching", "sourdough starter")
    ]


def _synthetic_pool() -> Pool:
    likes = (
        "I prefer",
        "I really dislike",
        "I love",
        "I avoid",
        "I'm a big fan of",
        "I can't stand",
        "I usually choose",
        "I'm trying to cut down on",
    )
    things = (
        "spicy food",
        "long meetings",
        "early mornings",
        "jazz music",
        "horror movies",
        "crowded beaches",
        "electric cars",
        "paper books",
        "dark roast coffee",
        "budget hotels",
        "solo travel",
        "open-source software",
        "video tutorials",
        "red wine",
        "running outdoors",
        "vegan recipes",
        "board games",
        "podcasts",
        "minimalist design",
        "detailed answers",
        "short answers",
        "cats",
        "hiking",
        "science fiction",
        "online courses",
        "live concerts",
        "seafood",
        "yoga",
    )
    statements = [f"{like} {thing}." for like in likes for thing in things]
    asks = ("Can you recommend", "What are some good", "Suggest", "Help me pick")
    topics = (
        "a dinner recipe for tonight",
        "weekend activities in Lisbon",
        "a laptop for programming",
        "books to read this summer",
        "a workout plan",
        "a gift for my sister",
        "places to eat in Bangkok",
        "a movie for tonight",
        "ways to learn Spanish",
        "a hotel in Tokyo",
        "a new hobby",
        "a podcast",
    )
    questions = [f"{ask} {topic}?" for ask in asks for topic in topics]
    return Pool("synthetic", statements, questions, _history())


def load_pool() -> Pool:
    """PrefEval's stated preferences and queries if the eval set is here, else synthetic."""
    if not EVAL_SET.is_file():
        # Said aloud: a tree checked out beside another repo finds no ../shared/eval, and its
        # figures would silently compare other inputs than the checkout's.
        print(f"... no eval set at {EVAL_SET}: a synthetic pool (set SELFMODEL_EVAL_DIR)")
        return _synthetic_pool()
    statements: dict[str, None] = {}
    questions: dict[str, None] = {}
    for line in EVAL_SET.read_text(encoding="utf-8").splitlines():
        if line.strip():
            case = json.loads(line)
            statements[" ".join(case["gold_preference"].split())] = None
            questions[" ".join(case["query"].split())] = None
    return Pool("prefeval", list(statements), list(questions), _history())


# -- populating a store (runs in a child process: `--populate-into DIR`) -----------------------


class PrecomputedEmbedder:
    """The real embedder's name and vectors, but each distinct statement is embedded once."""

    def __init__(self, real: Any, known: dict[str, Any]) -> None:
        self.real = real
        self.name = real.name
        self.dim = real.dim
        self.known = known

    def embed(self, texts: Sequence[str]) -> Any:
        import numpy as np

        missing = [t for t in dict.fromkeys(texts) if t not in self.known]
        if missing:  # e.g. the situation list, embedded once by Core
            self.known.update(zip(missing, self.real.embed(missing), strict=True))
        return np.stack([self.known[t] for t in texts]).astype(np.float32)


def _belief_rows(
    core: Any, user: str, texts: Sequence[str], rng: random.Random, now: Any
) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """Rows as `Beliefs._insert` writes them: one stated evidence each, ages up to a year."""
    from datetime import timedelta

    from memory.beliefs import EvidenceIn
    from memory.ledger.db import iso
    from memory.models import evidence_row, new_id

    out = []
    contexts, weights = list(CONTEXT_WEIGHTS), list(CONTEXT_WEIGHTS.values())
    for text in texts:
        moment = iso(now - timedelta(days=rng.uniform(0, 365)))
        context = rng.choices(contexts, weights)[0]
        row = {
            "id": new_id("bel"),
            "tenant": TENANT,
            "user_id": user,
            "statement": text,
            "context": context,
            "status": "active",
            "source": "stated",
            "confidence": 0.0,
            "version": 1,
            "supersedes": None,
            "superseded_by": None,
            "valid_from": moment,
            "valid_to": None,
            "created_at": moment,
            "updated_at": moment,
        }
        evidence = evidence_row(
            row["id"], EvidenceIn(source="stated", kind="turn", quote=text), moment
        )
        row["confidence"] = core.confidence_of(context, [evidence], now)
        out.append((row, evidence))
    return out


def _write_rows(
    runtime: Any,
    batch: dict[str, list[tuple[dict[str, Any], dict[str, Any]]]],
) -> None:
    from memory.ledger import beliefs as rows

    with runtime.db.write() as conn:  # one transaction for the whole batch of users
        for user, items in batch.items():
            rows.ensure_user(conn, TENANT, user)
            for row, evidence in items:
                rows.insert_belief(conn, row)
                rows.insert_evidence(conn, evidence)
                rows.insert_history(conn, row, "created", "benchmark")


def populate(store: Path, users: int, beliefs: int) -> None:
    from memory.offline import configure_offline

    configure_offline()
    from memory.beliefs import clean_statement
    from memory.errors import InvalidError
    from memory.index.embed import LocalEmbedder
    from memory.ledger.db import utcnow
    from memory.selfmodel import SelfModel
    from proxy.config import parse_config

    pool = load_pool()
    statements = []
    for text in pool.statements:
        try:
            statements.append(clean_statement(text))
        except InvalidError:
            continue
    real = LocalEmbedder(batch_size=64)
    began = time.perf_counter()
    known = dict(zip(statements, real.embed(statements), strict=True))
    print(
        f"    embedded {len(known)} distinct statements in {time.perf_counter() - began:.1f} s",
        flush=True,
    )
    config = parse_config({"store": {"path": str(store)}})
    runtime = SelfModel(config.memory, embedder=PrecomputedEmbedder(real, known))
    rng, now = random.Random(SEED), utcnow()
    began, batch_size = time.perf_counter(), 50
    for first in range(0, users, batch_size):
        batch = {}
        for number in range(first, min(users, first + batch_size)):
            texts = (
                rng.sample(statements, beliefs)
                if beliefs <= len(statements)
                else rng.choices(statements, k=beliefs)
            )
            batch[user_id(number)] = _belief_rows(runtime.core, user_id(number), texts, rng, now)
        _write_rows(runtime, batch)
        for user, items in batch.items():
            runtime.core.embed(TENANT, user, [row for row, _ in items])
        done = min(users, first + batch_size)
        rate = done / (time.perf_counter() - began)
        print(
            f"    {done}/{users} users ({rate:.1f} users/s, ~{(users - done) / rate:.0f} s left)",
            flush=True,
        )
    runtime.sync_index()
    pending = runtime.db.conn.execute(
        "SELECT COUNT(*) FROM beliefs b LEFT JOIN belief_vectors v ON v.belief_id = b.id "
        "WHERE v.belief_id IS NULL OR b.indexed = 0"
    ).fetchone()
    runtime.db.close()
    if pending[0]:
        raise SystemExit(f"{pending[0]} beliefs failed to index; see the warnings above")


def user_id(number: int) -> str:
    return f"bench-user-{number:06d}"


def _cache_key(users: int, beliefs: int, pool: Pool) -> str:
    digest = hashlib.sha256("\n".join(pool.statements).encode())
    for name in INDEX_CODE:
        path = REPO / name
        digest.update(path.read_bytes() if path.is_file() else b"")
    return f"store-u{users}-b{beliefs}-{pool.tag}-{digest.hexdigest()[:12]}"


def ensure_store(users: int, beliefs: int, pool: Pool) -> Path:
    """The cached store for U x B, built in a child process when missing or stale."""
    target = CACHE / _cache_key(users, beliefs, pool)
    if (target / "READY").is_file():
        print(f"... using cached store {target.relative_to(REPO)}")
        return target
    CACHE.mkdir(parents=True, exist_ok=True)
    for stale in CACHE.glob(f"store-u{users}-b{beliefs}-*"):
        shutil.rmtree(stale, ignore_errors=True)  # same size, older code or pool
    building = CACHE / f"building-{os.getpid()}"
    shutil.rmtree(building, ignore_errors=True)
    try:
        with timed(f"populating {users} users x {beliefs} beliefs into {target.name}"):
            subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "--populate-into",
                    str(building),
                    "--users",
                    str(users),
                    "--beliefs",
                    str(beliefs),
                ],
                check=True,
                cwd=REPO,
                timeout=4 * 3600,
            )
        (building / "READY").write_text(
            json.dumps({"users": users, "beliefs": beliefs, "pool": pool.tag})
        )
        building.rename(target)
    finally:
        shutil.rmtree(building, ignore_errors=True)
    return target


# -- the servers ----------------------------------------------------------------------------------


def model_entry(upstream: str) -> dict[str, Any]:
    return {
        "model_name": MODEL,
        "litellm_params": {"model": f"openai/{MODEL}", "api_base": upstream, "api_key": "sk-fake"},
    }


def selfmodel_config(path: Path, store: Path, upstream: str, learning: str) -> Path:
    """The proxy's config for a learning mode: `off`, `process` (the one-box default: a
    learning process `serve` starts), `in-process` (its own threads) or `worker` (the proxy
    only enqueues, `extraction.workers: 0`; a `selfmodel worker` started apart learns)."""
    extraction: dict[str, Any] = {"enabled": learning != "off"}
    if learning == "worker":
        extraction["workers"] = 0
    if learning == "in-process":
        extraction["learner"] = "threads"
    raw = {
        "server": {"host": HOST, "log_level": "warning", "upstream_timeout_seconds": 30},
        "model_list": [model_entry(upstream)],
        "store": {"path": str(store)},
        "extraction": extraction,
    }
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path


def litellm_files(workdir: Path, upstream: str) -> tuple[Path, Path]:
    config = workdir / "litellm.yaml"
    config.write_text(yaml.safe_dump({"model_list": [model_entry(upstream)]}, sort_keys=False))
    # Per-request access lines cost CPU that selfmodel (access_log=False) does not pay.
    logs = workdir / "litellm-logging.json"
    logs.write_text(
        json.dumps(
            {
                "version": 1,
                "disable_existing_loggers": False,
                "loggers": {"uvicorn.access": {"level": "WARNING"}},
            }
        )
    )
    return config, logs


def litellm_problem() -> str | None:
    """Why LiteLLM's proxy cannot run here, or None; checked in a child (a slow import)."""
    code = "import litellm.proxy.proxy_server"
    env = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    try:
        done = subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            timeout=180,
            env=env,
            cwd=tempfile.gettempdir(),
        )
    except subprocess.TimeoutExpired:
        return "importing litellm.proxy.proxy_server took over 180 s"
    if done.returncode == 0:
        return None
    lines = done.stderr.strip().splitlines()
    return lines[-1] if lines else f"exit {done.returncode}"


# -- load shapes ------------------------------------------------------------------------------


def chat_body(
    question: str,
    user: str | None,
    stream: bool,
    earlier: tuple[str, str] | None = None,
) -> dict[str, Any]:
    messages: list[dict[str, Any]] = [
        {"role": "system", "content": SYSTEM_PROMPT if earlier else "You are a helpful assistant."}
    ]
    if earlier:
        messages += [
            {"role": "user", "content": earlier[0]},
            {"role": "assistant", "content": earlier[1]},
        ]
    messages.append({"role": "user", "content": question})
    body: dict[str, Any] = {"model": MODEL, "max_tokens": 64, "messages": messages}
    if user is not None:
        body["user"] = user
    if stream:
        body["stream"] = True
    return body


@dataclass
class Shape:
    """How request i looks: a unique question (the proxy caches query embeddings, real
    traffic rarely repeats) and, with injection, which populated user asks it."""

    questions: list[str]
    users: list[str] = field(default_factory=list)
    stream: bool = False
    spread: bool = True  # False: request i goes to users[i] (first touch of each user)
    history: list[tuple[str, str]] = field(default_factory=list)  # realistic bodies

    def question(self, i: int) -> str:
        base = self.questions[i % len(self.questions)]
        return f"{OPENERS[i % len(OPENERS)]}{base} (#{i})"

    def user(self, i: int) -> str | None:
        if not self.users:
            return None
        return self.users[(i * 7919) % len(self.users) if self.spread else i % len(self.users)]

    def earlier(self, i: int) -> tuple[str, str] | None:
        if not self.history:
            return None
        user_turn, answer = self.history[(i * 31) % len(self.history)]
        return f"{user_turn} (#{i})", answer  # unseen, like the question

    def __call__(self, i: int) -> dict[str, Any]:
        return chat_body(self.question(i), self.user(i), self.stream, self.earlier(i))


@dataclass
class Target:
    name: str
    url: str
    headers: dict[str, str] = field(default_factory=dict)
    levels: dict[int, Stats] = field(default_factory=dict)
    stream: Stats | None = None
    cold: Stats | None = None
    rss: float | None = None
    startup_s: float | None = None
    pid: int | None = None
    cpu_ms: float | None = None  # server CPU per request at c=1: robust to a noisy machine
    worker_pid: int | None = None  # a `selfmodel worker` learning for this proxy
    learner_pid: int | None = None  # the learning process this proxy started (a descendant)
    learner_rss: float | None = None
    worker_cpu_ms: float | None = None  # its CPU per request at c=1
    # c=1 latencies taken in alternating rounds with direct calls: (direct, this target).
    paired: tuple[Stats, Stats] | None = None


class Run:
    """Phase offsets keep every question of the run distinct."""

    def __init__(self, requests: int, quiet: bool = False) -> None:
        self.requests = requests
        self.offset = 0
        self.quiet = quiet

    def next_start(self) -> int:
        self.offset += 1_000_000
        return self.offset

    async def load(
        self, target: Target, shape: Shape, n: int, concurrency: int, label: str
    ) -> Stats:
        before = cpu_seconds(target.pid, target.learner_pid) if target.pid else None
        worker_before = cpu_seconds(target.worker_pid) if target.worker_pid else None
        stats = await run_load(
            label,
            target.url,
            shape,
            n,
            concurrency,
            target.headers,
            stream=shape.stream,
            start=self.next_start(),
        )
        if before is not None and concurrency == 1 and not shape.stream and target.pid:
            # Let work that runs after the response (extraction, audit) land in the count.
            await asyncio.sleep(1.0)
            target.cpu_ms = (cpu_seconds(target.pid, target.learner_pid) - before) * 1000 / n
            if worker_before is not None and target.worker_pid:
                target.worker_cpu_ms = (cpu_seconds(target.worker_pid) - worker_before) * 1000 / n
        if not self.quiet:
            print("    " + stats.line(), flush=True)
        return stats

    async def measure(self, target: Target, shape: Shape, stream_shape: Shape) -> None:
        # Warm up connections, lazy imports and the upstream client before timing anything.
        await run_load(
            "warm-up",
            target.url,
            shape,
            min(40, self.requests),
            4,
            target.headers,
            start=self.next_start(),
        )
        for level in LEVELS:
            target.levels[level] = await self.load(
                target, shape, self.requests, level, f"{target.name}"
            )
        target.stream = await self.load(
            target, stream_shape, self.requests, 1, f"{target.name} stream TTFB"
        )


# -- the phases ---------------------------------------------------------------------------------


def bench_direct(run: Run, upstream: str, pool: Pool) -> Target:
    target = Target("direct", f"{upstream}/chat/completions")
    with timed("direct to the fake upstream"):
        asyncio.run(run.measure(target, pool.shape(), pool.shape(stream=True)))
    return target


def _selfmodel_argv(*arguments: str) -> list[str]:
    """The `selfmodel` command line with these arguments (`serve ...`, `worker ...`)."""
    exe = Path(sys.executable).with_name("selfmodel")
    if exe.is_file():
        return [str(exe), *arguments]
    code = "from proxy.cli import main; main()"  # click reads the arguments after -c
    return [sys.executable, "-c", code, *arguments]


PAIRED_ROUNDS = 10


async def _paired(run: Run, target: Target, direct_url: str, shape: Shape) -> None:
    """c=1 latency of `target` and of direct calls in alternating short rounds, so that both
    see the same moments of a shared machine (its speed drifts by tens of percent over the
    minutes one run takes); pooled, they give the added latency the bars are judged on."""
    per_round = max(10, run.requests // PAIRED_ROUNDS)
    direct, ours = Stats("direct (paired)", 1), Stats(f"{target.name} (paired)", 1)
    for _ in range(PAIRED_ROUNDS):
        for pooled, url in ((direct, direct_url), (ours, target.url)):
            got = await run_load(
                "paired", url, shape, per_round, 1, target.headers, start=run.next_start()
            )
            pooled.latencies += got.latencies
            pooled.errors += got.errors
            pooled.injected += got.injected
            pooled.elapsed += got.elapsed
    target.paired = (direct, ours)
    if not run.quiet:
        print(f"    {ours.line()}\n    {direct.line()}", flush=True)


async def _injection(run: Run, target: Target, pool: Pool, warm: list[str]) -> None:
    # First touch: each request is a user the proxy has not seen since it started (its
    # snapshot is loaded from SQLite + Chroma); then every warm user is touched once.
    first = pool.shape(users=warm, spread=False)
    target.cold = await run.load(
        target, first, min(run.requests, len(warm)), 1, f"{target.name} first touch"
    )
    await run_load("touch", target.url, first, len(warm), 8, start=run.next_start())
    await run.measure(target, pool.shape(users=warm), pool.shape(users=warm, stream=True))


LEARNING_MODES = ("off", "process", "in-process", "worker")
# Column names of the injection targets, per learning mode.
INJECT_NAMES = {
    "off": "inject, no learning",
    "process": "inject+learning",
    "in-process": "inject+learn threads",
    "worker": "inject+worker proc",
}
WORKER_READY = "selfmodel worker ready"


def _start_worker(kids: Children, config: Path, workdir: Path, timeout: float = 300) -> Child:
    """A `selfmodel worker` on the proxy's config; returns once it says it is ready."""
    argv = _selfmodel_argv("worker", "--config", str(config))
    child = kids.start("selfmodel-worker", argv, cwd=workdir)
    deadline = time.monotonic() + timeout
    while WORKER_READY not in child.tail(200):
        if child.proc.poll() is not None:
            raise RuntimeError(f"the worker exited {child.proc.returncode}:\n{child.tail()}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"the worker is not ready after {timeout:.0f} s:\n{child.tail()}")
        time.sleep(0.1)
    return child


def _learner(child: Child, timeout: float = 60) -> int:
    deadline = time.monotonic() + timeout
    while (found := learner_of(child.proc.pid)) is None:
        if time.monotonic() > deadline:
            raise RuntimeError(f"no learning process after {timeout:.0f} s:\n{child.tail()}")
        time.sleep(0.1)
    return found


def bench_selfmodel(
    run: Run,
    kids: Children,
    workdir: Path,
    store: Path,
    upstream: str,
    pool: Pool,
    args: argparse.Namespace,
    learning: str,
    pass_through: bool = True,
) -> tuple[Target | None, Target]:
    """One proxy (and, in `worker` mode, one worker process) on its own copy of the store:
    pass-through without a user (when asked), then injection, then the paired rounds."""
    port, users = free_port(), args.users
    config = selfmodel_config(workdir / f"selfmodel-{learning}.yaml", store, upstream, learning)
    worker = _start_worker(kids, config, workdir) if learning == "worker" else None
    serve = _selfmodel_argv("serve", "--config", str(config), "--port", str(port))
    child = kids.start(f"selfmodel-{learning}", serve, cwd=workdir)
    url = f"http://{HOST}:{port}"
    plain = Target("selfmodel", f"{url}/v1/chat/completions", pid=child.proc.pid)
    inject = Target(INJECT_NAMES[learning], plain.url, pid=child.proc.pid)
    inject.worker_pid = worker.proc.pid if worker else None
    with timed(f"starting selfmodel (learning {learning})"):
        plain.startup_s = inject.startup_s = wait_ready(child, f"{url}/healthz", 300)
    if learning == "process":
        inject.worker_pid = plain.learner_pid = inject.learner_pid = _learner(child)
    if pass_through:
        with timed("selfmodel, no user (pass-through)"):
            asyncio.run(run.measure(plain, pool.shape(), pool.shape(stream=True)))
    warm = random.Random(SEED).sample([user_id(i) for i in range(users)], min(users, WARM_USERS))
    with timed(f"selfmodel with injection, learning {learning} ({len(warm)} distinct users)"):
        asyncio.run(_injection(run, inject, pool, warm))
    with timed(f"injection (learning {learning}) and direct calls, alternating (c=1)"):
        asyncio.run(_paired(run, inject, f"{upstream}/chat/completions", pool.shape(users=warm)))
    plain.rss = inject.rss = rss_mb(child.proc.pid, without=inject.learner_pid)
    if inject.learner_pid is not None:
        inject.learner_rss = rss_mb(inject.learner_pid)
    kids.stop(child)
    if worker is not None:
        kids.stop(worker)
    return (plain if pass_through else None), inject


def bench_litellm(
    run: Run, kids: Children, workdir: Path, upstream: str, pool: Pool
) -> Target | None:
    with timed("checking that LiteLLM's proxy can be imported"):
        problem = litellm_problem()
    if problem:
        print(f'LiteLLM proxy not measured ({problem}). Install it with: pip install -e ".[bench]"')
        return None
    port, key = free_port(), "sk-bench-" + secrets.token_hex(24)
    config, logs = litellm_files(workdir, upstream)
    exe = Path(sys.executable).with_name("litellm")
    argv = [
        str(exe),
        "--config",
        str(config),
        "--host",
        HOST,
        "--port",
        str(port),
        "--num_workers",
        "1",
        "--log_config",
        str(logs),
    ]
    # No DB: keys other than the master key, spend logs and the UI's state are all off.
    # Newer versions refuse to start without a master key, so give it a random one.
    env = {
        "LITELLM_LOCAL_MODEL_COST_MAP": "True",
        "LITELLM_MASTER_KEY": key,
        "ANONYMIZED_TELEMETRY": "False",
    }
    child = kids.start("litellm", argv, env=env, cwd=workdir)
    url = f"http://{HOST}:{port}"
    target = Target(
        "litellm-proxy",
        f"{url}/v1/chat/completions",
        headers={"Authorization": f"Bearer {key}"},
        pid=child.proc.pid,
    )
    with timed("starting LiteLLM's proxy"):
        target.startup_s = wait_ready(child, f"{url}/health/liveliness", 300)
    with timed("LiteLLM proxy (pass-through)"):
        asyncio.run(run.measure(target, pool.shape(), pool.shape(stream=True)))
    target.rss = rss_mb(child.proc.pid)
    kids.stop(child)
    return target


# -- report -----------------------------------------------------------------------------------


def _pair(stats: Stats | None) -> str:
    return "-" if stats is None or not stats.ok else f"{stats.p(50):.2f} / {stats.p(99):.2f}"


def _added(stats: Stats | None, base: Stats | None) -> str:
    if stats is None or base is None or not stats.ok or not base.ok:
        return "-"
    return f"{stats.p(50) - base.p(50):+.2f} / {stats.p(99) - base.p(99):+.2f}"


def _rows(targets: list[Target], direct: Target) -> list[tuple[str, list[str]]]:
    rows: list[tuple[str, list[str]]] = []
    for level in LEVELS:
        rows.append((f"c={level} p50 / p99 ms", [_pair(t.levels.get(level)) for t in targets]))
        if level == 1:
            rows.append(
                (
                    "c=1 added p50 / p99 ms",
                    [_added(t.levels.get(1), direct.levels.get(1)) for t in targets],
                )
            )
        rows.append(
            (
                f"c={level} req/s",
                [f"{t.levels[level].rps:.0f}" if level in t.levels else "-" for t in targets],
            )
        )
    rows += [
        (
            "c=1 added, alternating with direct",
            [_added(t.paired[1], t.paired[0]) if t.paired else "-" for t in targets],
        ),
        ("stream TTFB p50 / p99 ms", [_pair(t.stream) for t in targets]),
        ("stream TTFB added p50 / p99", [_added(t.stream, direct.stream) for t in targets]),
        ("first touch c=1 p50 / p99", [_pair(t.cold) for t in targets]),
        ("first touch added p50 / p99", [_added(t.cold, direct.levels.get(1)) for t in targets]),
        ("injected beliefs (avg)", [_injected(t) for t in targets]),
        ("errors", [str(_errors(t)) for t in targets]),
        (
            "server CPU ms per request, c=1",
            [f"{t.cpu_ms:.2f}" if t.cpu_ms else "-" for t in targets],
        ),
        (
            "worker process CPU ms per request",
            [f"{t.worker_cpu_ms:.2f}" if t.worker_cpu_ms is not None else "-" for t in targets],
        ),
        ("RSS MB (after run)", [f"{t.rss:.0f}" if t.rss else "-" for t in targets]),
        (
            "learning process RSS MB",
            [f"{t.learner_rss:.0f}" if t.learner_rss else "-" for t in targets],
        ),
        ("startup s", [f"{t.startup_s:.1f}" if t.startup_s else "-" for t in targets]),
    ]
    return rows


def _all_stats(target: Target) -> list[Stats]:
    return [s for s in (*target.levels.values(), target.stream, target.cold) if s is not None]


def _errors(target: Target) -> int:
    return sum(s.errors for s in _all_stats(target))


def _injected(target: Target) -> str:
    values = [v for s in _all_stats(target) for v in s.injected]
    return f"{sum(values) / len(values):.2f}" if values else "-"


def table(targets: list[Target], direct: Target) -> str:
    header = ["", *(t.name for t in targets)]
    body = [[name, *cells] for name, cells in _rows(targets, direct)]
    widths = [max(len(row[i]) for row in [header, *body]) for i in range(len(header))]
    lines = [
        "  ".join(
            cell.ljust(widths[i]) if i == 0 else cell.rjust(widths[i]) for i, cell in enumerate(row)
        )
        for row in [header, *body]
    ]
    lines.insert(1, "-" * len(lines[0]))
    return "\n".join(lines)


# Added latency as deployed (issue #12: p50 / p99, learning on; issue #15: p50 with learning in
# a worker process), judged on the rounds alternating with direct calls.
BAR_P50, BAR_P99 = 8.0, 30.0


def bars(direct: Target, injects: list[Target], lite: Target | None) -> list[str]:
    """The bars, as far as this run measures them (warm users at concurrency 1; the added
    latency from the rounds alternating with direct calls)."""
    out = []
    for inject in injects:
        base, warm = inject.paired or (direct.levels.get(1), inject.levels.get(1))
        if base and warm and base.ok and warm.ok:
            p50, p99 = warm.p(50) - base.p(50), warm.p(99) - base.p(99)
            cpu = f"; proxy CPU {inject.cpu_ms:.2f} ms/request" if inject.cpu_ms else ""
            out.append(
                f"{inject.name}: added latency p50 {p50:.2f} ms (bar {BAR_P50:g}), p99 "
                f"{p99:.2f} ms (bar {BAR_P99:g}): "
                f"{'PASS' if p50 <= BAR_P50 and p99 <= BAR_P99 else 'FAIL'}{cpu}"
            )
    for inject in injects:
        if direct.stream and inject.stream and direct.stream.ok and inject.stream.ok:
            added = inject.stream.p(50) - direct.stream.p(50)
            out.append(
                f"{inject.name}: stream TTFB added p50 {added:.2f} ms (bar 10): "
                f"{'PASS' if added <= 10 else 'FAIL'}"
            )
    if lite is not None:
        for inject in injects:
            for level in LEVELS[1:]:
                ours, theirs = inject.levels.get(level), lite.levels.get(level)
                if ours and theirs:
                    verdict = "PASS" if ours.rps >= theirs.rps else "FAIL"
                    out.append(
                        f"{inject.name}: throughput c={level} {ours.rps:.0f} req/s vs "
                        f"LiteLLM {theirs.rps:.0f} req/s: {verdict}"
                    )
    for inject in injects:
        if inject.rss:
            verdict = "PASS" if inject.rss <= 600 else "FAIL"
            out.append(f"{inject.name}: proxy RSS {inject.rss:.0f} MB (bar 600): {verdict}")
    return out


def to_json(targets: list[Target]) -> dict[str, Any]:
    def stats(s: Stats | None) -> dict[str, Any] | None:
        if s is None:
            return None
        return {
            "n": s.ok,
            "errors": s.errors,
            "p50_ms": s.p(50),
            "p99_ms": s.p(99),
            "rps": s.rps,
            "injected_avg": s.injected_avg if s.injected else None,
        }

    return {
        t.name: {
            "levels": {str(c): stats(s) for c, s in t.levels.items()},
            "paired_c1": (
                {"direct": stats(t.paired[0]), "target": stats(t.paired[1])} if t.paired else None
            ),
            "stream_ttfb": stats(t.stream),
            "first_touch": stats(t.cold),
            "rss_mb": t.rss,
            "startup_s": t.startup_s,
            "cpu_ms_per_request": t.cpu_ms,
            "worker_cpu_ms_per_request": t.worker_cpu_ms,
        }
        for t in targets
    }


# -- main ---------------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--requests",
        type=int,
        default=None,
        help="requests per concurrency level (default 300, --quick 60)",
    )
    parser.add_argument(
        "--users",
        type=int,
        default=None,
        help="users in the store (default 30 realistic, 1000 short; --quick 100 short)",
    )
    parser.add_argument(
        "--shape",
        choices=("realistic", "short"),
        default="realistic",
        help="request bodies: as deployed (system prompt, an earlier exchange, unseen "
        "questions; the README's figure) or the question alone",
    )
    parser.add_argument("--beliefs", type=int, default=100, help="beliefs per user")
    parser.add_argument("--quick", action="store_true", help="fewer requests and users")
    parser.add_argument("--json", type=Path, default=None, help="also write figures here")
    parser.add_argument("--skip-litellm", action="store_true", help="do not run LiteLLM")
    parser.add_argument(
        "--learning",
        default="process",
        help="learning modes to measure, comma-separated, side by side: off, process (the "
        "one-box default: a learning process `serve` starts), in-process (the proxy's own "
        "threads), worker (the proxy only enqueues, extraction.workers: 0, and a `selfmodel "
        "worker` process started apart learns); `all` for the four",
    )
    parser.add_argument(
        "--no-extraction",
        action="store_true",
        help="the same as --learning off (isolates injection)",
    )
    # Child-process entry points (the same file, so the benchmark stays one script).
    parser.add_argument("--serve-fake", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--fake-answers", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--populate-into", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.requests = args.requests or (60 if args.quick else 300)
    if args.users is None:
        args.users = 30 if args.shape == "realistic" else (100 if args.quick else 1000)
    if min(args.requests, args.users, args.beliefs) < 1:
        parser.error("--requests, --users and --beliefs must be at least 1")
    modes = LEARNING_MODES if args.learning == "all" else args.learning.split(",")
    args.learning = ["off"] if args.no_extraction else list(dict.fromkeys(modes))
    unknown = [m for m in args.learning if m not in LEARNING_MODES]
    if unknown or not args.learning:
        parser.error(f"--learning takes {', '.join(LEARNING_MODES)} or all, not {unknown}")
    return args


def run_all(
    args: argparse.Namespace, workdir: Path
) -> tuple[list[Target], Target, list[Target], Target | None]:
    pool = load_pool()
    if args.shape == "short":
        pool.history = []
    print(
        f"bodies: {args.shape}; pool: {pool.tag}, {len(pool.statements)} statements, "
        f"{len(pool.questions)} questions"
    )
    cached = ensure_store(args.users, args.beliefs, pool)
    run = Run(args.requests)
    injects: list[Target] = []
    plain: Target | None = None
    with Children(workdir) as kids:
        # As deployed, the provider answers as long as real answers are (~1,300 characters),
        # which the audit redacts and keeps: the earlier exchanges' answers, in turn.
        extra = ["--fake-answers", "history"] if args.shape == "realistic" else []
        upstream = start_fake_upstream(kids, __file__, "fake-upstream", 120, extra)
        direct = bench_direct(run, upstream, pool)
        for learning in args.learning:
            # Each mode on a fresh copy: no mode sees another's audit rows or learned beliefs.
            store = workdir / f"store-{learning}"
            with timed(f"copying the store for learning {learning}"):
                shutil.copytree(cached, store, ignore=shutil.ignore_patterns("READY"))
            first, inject = bench_selfmodel(
                run, kids, workdir, store, upstream, pool, args, learning, plain is None
            )
            plain = plain or first
            injects.append(inject)
        lite = None if args.skip_litellm else bench_litellm(run, kids, workdir, upstream, pool)
    assert plain is not None
    targets = [direct, plain, *injects] + ([lite] if lite else [])
    return targets, direct, injects, lite


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    if args.serve_fake is not None:
        answers = [answer for _, answer in _history()] if args.fake_answers == "history" else []
        serve_fake(args.serve_fake, answers)
        return
    if args.populate_into is not None:
        populate(args.populate_into, args.users, args.beliefs)
        return
    begin()
    print(
        f"{os.cpu_count()} CPUs; {args.requests} requests per level; store "
        f"{args.users} users x {args.beliefs} beliefs; learning {', '.join(args.learning)}; "
        f"{load_note()}"
    )
    workdir = Path(tempfile.mkdtemp(prefix="selfmodel-bench-"))
    try:
        targets, direct, injects, lite = run_all(args, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print(
        f"\nresults ({args.requests} requests per level, injection from {args.users} users x "
        f"{args.beliefs} beliefs, warm = {min(args.users, WARM_USERS)} users touched once)\n"
    )
    print(table(targets, direct))
    print(f"\n{load_note()} (other processes on this machine inflate every column)")
    print()
    for line in bars(direct, injects, lite):
        print(line)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(to_json(targets), indent=2))
        print(f"figures written to {args.json}")


if __name__ == "__main__":
    main()
