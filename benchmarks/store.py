"""Store benchmark: write rate and one-user retrieval latency as the total number of beliefs grows.

The layout measured (see memory/index/chroma.py, memory/ledger/vectors.py,
memory/index/sync.py): SQLite holds
every belief with its statement vector and situation indices (`belief_vectors`); the hot path
reads only SQLite. Chroma holds ONE collection per tenant (all users' statement vectors, user
as metadata), filled in batches by `indexer.sync_all`, and answers `VectorStore.search` (the
semantic search API, not on the request path).

For each total (one store grown cumulatively, 100 beliefs per user):
    * real write path: `Beliefs.create` on a sample of new beliefs (embed + SQLite + revision),
      and `Beliefs.create_many` for whole 100-belief users; then the Chroma sync of those;
    * bulk load used to reach the totals: precomputed vectors for a pool of distinct statements
      (each embedded once), written with `vectors.save` and the ledger row helpers in large
      transactions, then `indexer.sync_all` to Chroma; SQLite and Chroma rates apart;
    * one-user retrieval over random users: cold (`SnapshotCache(core, 0).get`), warm (cache
      hit + `score_indexed` + `cut` with a precomputed query vector) and `Injector._retrieve`
      with pre-embedded queries (cold and warm cache);
    * `VectorStore.search` (Chroma, where={"user": ...}): the semantic search API;
    * RSS, open file descriptors and disk size after each total.
Loading stops at --budget-minutes of wall time; a total not reached is measured where the load
stopped (marked *) and its figures at the requested total are extrapolated, labelled as such.

Run from the repo root:
    python benchmarks/store.py [--totals 10000,100000,1000000] [--budget-minutes 25] [--dir PATH]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from memory import indexer, vectors  # noqa: E402
from memory.beliefs import Beliefs, EvidenceIn  # noqa: E402
from memory.core import Core  # noqa: E402
from memory.index.chroma import VectorStore  # noqa: E402
from memory.index.embed import LocalEmbedder  # noqa: E402
from memory.inject.plan import Injector  # noqa: E402
from memory.inject.ranking import cut, score_indexed  # noqa: E402
from memory.inject.snapshot import SnapshotCache  # noqa: E402
from memory.ledger import Database  # noqa: E402
from memory.ledger import beliefs as rows  # noqa: E402
from memory.ledger.db import iso, utcnow  # noqa: E402
from memory.models import new_id  # noqa: E402
from memory.settings import DEFAULT_CONTEXTS, InjectionRule, MemoryConfig, StoreConfig  # noqa: E402

TENANT = "bench"
CONTEXT = "preferences"
EVAL_FILE = ROOT.parent / "shared" / "eval" / "prefeval_explicit_dev.jsonl"
# Prefixes turn each gold preference into distinct statements (distinct vectors), so users do
# not all hold the same few hundred texts.
VARIANT_PREFIXES = (
    "",
    "Honestly, ",
    "For what it's worth, ",
    "As a rule, ",
    "These days ",
    "I think ",
    "To be clear, ",
    "In general, ",
)
USERS_PER_TRANSACTION = 100  # 10k beliefs per SQLite transaction, then one sync_all
RULE = InjectionRule(name="bench")


# -- process and disk figures -------------------------------------------------------------------


def proc_status() -> dict[str, int]:
    """VmRSS and VmHWM in kB (Linux)."""
    out: dict[str, int] = {}
    with open("/proc/self/status") as status:
        for line in status:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                out[key] = int(value.split()[0])
    return out


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def disk_bytes(path: Path) -> int:
    total = 0
    for folder, _, files in os.walk(path):
        for name in files:
            try:
                total += os.stat(os.path.join(folder, name)).st_blocks * 512
            except FileNotFoundError:  # chroma may drop a file while we walk
                continue
    return total


def percentiles(values_ms: Sequence[float]) -> dict[str, float]:
    if not values_ms:
        return {"p50": math.nan, "p99": math.nan, "n": 0}
    data = np.asarray(values_ms)
    return {
        "p50": float(np.percentile(data, 50)),
        "p99": float(np.percentile(data, 99)),
        "n": len(values_ms),
    }


def timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    start = time.perf_counter()
    result = fn()
    return result, (time.perf_counter() - start) * 1000


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


# -- texts and the statement pool -----------------------------------------------------------------


def load_texts(path: Path) -> tuple[list[str], list[str]]:
    """Distinct gold preferences and the distinct queries of the eval file."""
    preferences: dict[str, None] = {}
    queries: dict[str, None] = {}
    with path.open() as handle:
        for line in handle:
            case = json.loads(line)
            preferences[case["gold_preference"]] = None
            queries[case["query"]] = None
    return list(preferences), list(queries)


def variants(preferences: Sequence[str]) -> list[str]:
    return [
        prefix + (text[0].lower() + text[1:] if prefix else text)
        for prefix in VARIANT_PREFIXES
        for text in preferences
    ]


@dataclass
class Pool:
    statements: list[str]
    vectors: list[np.ndarray]
    situations: list[list[int]]


def build_pool(core: Core, statements: list[str]) -> Pool:
    """Each distinct statement embedded once (`Core.views_of`, as `Core.index` does); the bulk
    load reuses them: embedding is not what the layout decides, and 1M embeddings would take
    hours on 2 cores."""
    vecs: list[np.ndarray] = []
    sits: list[list[int]] = []
    for start in range(0, len(statements), 256):
        got = core.views_of(
            [{"statement": s, "context": CONTEXT} for s in statements[start : start + 256]]
        )
        vecs += [np.asarray(v, dtype=np.float32) for v, _ in got]
        sits += [list(s) for _, s in got]
    return Pool(statements, vecs, sits)


class QueryCache:
    """The Injector's embedder with every query pre-embedded: `_retrieve` minus embedding."""

    def __init__(self, name: str, dim: int, texts: Sequence[str], matrix: np.ndarray) -> None:
        self.name, self.dim = name, dim
        self._vectors = {t: matrix[i] for i, t in enumerate(texts)}

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        return np.stack([self._vectors[t] for t in texts])


# -- the benchmark ------------------------------------------------------------------------------


@dataclass
class Stage:
    target: int
    reached: int = 0
    users: int = 0
    partial: bool = False
    figures: dict[str, Any] = field(default_factory=dict)


class Bench:
    def __init__(self, root: Path, per_user: int, seed: int) -> None:
        self.root = root
        self.per_user = per_user
        self.rng = np.random.default_rng(seed)
        self.baseline_rss_mb = proc_status()["VmRSS"] / 1024
        self.db = Database(root / "selfmodel.db")
        self.embedder = LocalEmbedder()
        self.store = VectorStore(StoreConfig(path=str(root)), self.embedder.name)
        self.core = Core(self.db, self.store, self.embedder, dict(DEFAULT_CONTEXTS))
        self.beliefs = Beliefs(self.core)
        self.bulk_users: list[str] = []  # users written by the bulk load (timed reads use them)
        self.total = 0
        self.real_writes = 0
        self.sqlite_s = self.chroma_s = 0.0
        self.sqlite_n = self.chroma_n = 0
        preferences, self.queries = load_texts(EVAL_FILE)
        started = time.perf_counter()
        self.pool = build_pool(self.core, variants(preferences))
        log(
            f"pool: {len(self.pool.statements)} distinct statements embedded once in "
            f"{time.perf_counter() - started:.1f}s"
        )
        self.query_vectors = self.embedder.embed(self.queries)
        self.injector_cold = Injector(
            MemoryConfig(),
            SnapshotCache(self.core, 0),
            QueryCache(self.embedder.name, self.embedder.dim, self.queries, self.query_vectors),
            None,
        )  # type: ignore[arg-type]  # _retrieve does not render
        self.rss_after_model_mb = proc_status()["VmRSS"] / 1024

    def new_user(self) -> str:
        return f"user{len(self.bulk_users) + self.real_writes:08d}"

    # -- writes --------------------------------------------------------------------------------

    def _text(self) -> str:
        # A unique suffix defeats the embedder's cache, as genuinely new beliefs would.
        text = self.pool.statements[int(self.rng.integers(len(self.pool.statements)))]
        self.real_writes += 1
        return f"{text} (note {self.real_writes})"

    def real_path(self, count: int, many_users: int) -> dict[str, Any]:
        """`Beliefs.create` one by one, then `create_many` of whole users; then their sync."""
        evidence = EvidenceIn(source="stated", kind="turn")
        single: list[float] = []
        started = time.perf_counter()
        while len(single) < count:
            user = self.new_user()
            for _ in range(min(self.per_user, count - len(single))):
                text = self._text()
                single.append(
                    timed(
                        lambda u=user, t=text: self.beliefs.create(TENANT, u, t, CONTEXT, evidence)
                    )[1]
                )
        single_s = time.perf_counter() - started
        many: list[float] = []
        for _ in range(many_users):
            user = self.new_user()
            items = [(self._text(), CONTEXT, evidence) for _ in range(self.per_user)]
            many.append(timed(lambda u=user, i=items: self.beliefs.create_many(TENANT, u, i))[1])
        synced, sync_ms = timed(lambda: indexer.sync_all(self.db, self.store))
        self.total += count + many_users * self.per_user
        return {
            "create_per_s": count / single_s,
            "create": percentiles(single),
            "many_per_s": many_users * self.per_user / (sum(many) / 1000),
            "many_user_ms": percentiles(many),
            "sync_per_s": synced / (sync_ms / 1000),
        }

    def _sqlite_chunk(self, users: Sequence[str]) -> None:
        moment = iso(utcnow())
        model = self.embedder.name
        with self.db.write() as conn:
            for user in users:
                rows.ensure_user(conn, TENANT, user)
                picks = self.rng.choice(len(self.pool.statements), self.per_user, replace=False)
                saved = []
                for p in picks:
                    row = {
                        "id": new_id("bel"),
                        "tenant": TENANT,
                        "user_id": user,
                        "statement": self.pool.statements[p],
                        "context": CONTEXT,
                        "status": "active",
                        "source": "stated",
                        "confidence": 0.6,
                        "version": 1,
                        "supersedes": None,
                        "superseded_by": None,
                        "valid_from": moment,
                        "valid_to": None,
                        "created_at": moment,
                        "updated_at": moment,
                    }
                    rows.insert_belief(conn, row)  # indexed = 0: the sync picks it up
                    rows.insert_evidence(
                        conn,
                        {
                            "id": new_id("evi"),
                            "belief_id": row["id"],
                            "source": "stated",
                            "kind": "turn",
                            "quote": None,
                            "request_id": None,
                            "observation_id": None,
                            "polarity": 1,
                            "weight": 1.0,
                            "anchor": None,
                            "at": moment,
                        },
                    )
                    rows.insert_history(conn, row, "created", "bench")
                    saved.append((row["id"], self.pool.vectors[p], self.pool.situations[p]))
                vectors.save(conn, model, saved)
                rows.bump_revision(conn, TENANT, user)

    def bulk_load(self, until: int, deadline: float, rate_log: list[dict[str, float]]) -> bool:
        """Add bulk users until `until` beliefs; False when the deadline stopped it early."""
        while self.total < until:
            if time.perf_counter() > deadline:
                log(f"time budget reached at {self.total:,} beliefs")
                return False
            batch = min(USERS_PER_TRANSACTION, math.ceil((until - self.total) / self.per_user))
            users = [f"bulk{len(self.bulk_users) + i:08d}" for i in range(batch)]
            t0 = time.perf_counter()
            self._sqlite_chunk(users)
            t1 = time.perf_counter()
            synced = indexer.sync_all(self.db, self.store)
            t2 = time.perf_counter()
            self.bulk_users += users
            added = batch * self.per_user
            self.total += added
            self.sqlite_s += t1 - t0
            self.chroma_s += t2 - t1
            self.sqlite_n += added
            self.chroma_n += synced
            rate_log.append(
                {
                    "total": self.total,
                    "sqlite_per_s": added / (t1 - t0),
                    "chroma_per_s": synced / (t2 - t1),
                }
            )
            if len(rate_log) % 10 == 0:
                log(
                    f"  {self.total:>9,} beliefs  sqlite {added / (t1 - t0):6.0f}/s  "
                    f"chroma sync {synced / (t2 - t1):6.0f}/s  "
                    f"rss {proc_status()['VmRSS'] / 1024:6.0f} MB"
                )
        return True

    # -- reads ---------------------------------------------------------------------------------

    def retrieval(self, samples: int, search_samples: int) -> dict[str, Any]:
        picked = self.rng.choice(
            len(self.bulk_users), size=min(samples, len(self.bulk_users)), replace=False
        )
        users = [self.bulk_users[int(i)] for i in picked]
        texts = [self.queries[i % len(self.queries)] for i in range(len(users))]
        qvecs = [self.query_vectors[i % len(self.queries)] for i in range(len(users))]
        situations = self.core.situation_matrix()
        out: dict[str, Any] = {}

        cold = SnapshotCache(self.core, 0)
        out["cold"] = percentiles([timed(lambda u=u: cold.get(TENANT, u))[1] for u in users])

        warm = SnapshotCache(self.core, len(users))
        for user in users:
            warm.get(TENANT, user)
        warm_ms, score_ms = [], []
        for user, query in zip(users, qvecs, strict=True):
            start = time.perf_counter()
            snapshot = warm.get(TENANT, user)
            assert snapshot is not None
            middle = time.perf_counter()
            scores = score_indexed(
                query,
                snapshot.statements,
                situations,
                snapshot.situations,
                snapshot.features(utcnow()),
                min_confidence=RULE.min_confidence,
            )
            kept = cut(scores, RULE.top_k)
            end = time.perf_counter()
            assert kept, "a user with beliefs ranked none"
            warm_ms.append((end - start) * 1000)
            score_ms.append((end - middle) * 1000)
        out["warm"] = percentiles(warm_ms)
        out["warm_score_only"] = percentiles(score_ms)

        def messages(text: str) -> list[dict[str, Any]]:
            return [{"role": "user", "content": text}]

        out["retrieve_cold"] = percentiles(
            [
                timed(lambda u=u, t=t: self.injector_cold._retrieve(TENANT, u, RULE, messages(t)))[
                    1
                ]
                for u, t in zip(users, texts, strict=True)
            ]
        )
        injector_warm = Injector(MemoryConfig(), warm, self.injector_cold.embedder, None)  # type: ignore[arg-type]
        found = []
        for u, t in zip(users, texts, strict=True):
            got, ms = timed(lambda u=u, t=t: injector_warm._retrieve(TENANT, u, RULE, messages(t)))
            found.append(ms)
            assert got, "retrieval found nothing"
        out["retrieve_warm"] = percentiles(found)

        # The semantic search API (not on the request path): one collection, where-filtered.
        # Every user holds 100 beliefs, so each search should return 10 hits; fewer means the
        # filtered HNSW search missed the user's rows (reported, not asserted).
        _, first = timed(lambda: self.store.search(TENANT, users[0], qvecs[0], 10))
        search_ms, short = [], 0
        for user, query in list(zip(users, qvecs, strict=True))[:search_samples]:
            hits, ms = timed(lambda u=user, q=query: self.store.search(TENANT, u, q, 10))
            search_ms.append(ms)
            short += len(hits) < 10
        out["search_first_ms"] = first
        out["search"] = percentiles(search_ms)
        out["search_short_pct"] = 100 * short / max(len(search_ms), 1)
        return out

    def footprint(self) -> dict[str, Any]:
        status = proc_status()
        db_files = [self.root / f"selfmodel.db{s}" for s in ("", "-wal", "-shm")]
        return {
            "rss_mb": status["VmRSS"] / 1024,
            "hwm_mb": status["VmHWM"] / 1024,
            "fds": open_fds(),
            "disk_mb": disk_bytes(self.root) / 2**20,
            "chroma_mb": disk_bytes(self.root / "chroma") / 2**20,
            "ledger_mb": sum(p.stat().st_size for p in db_files if p.exists()) / 2**20,
        }


# -- report -------------------------------------------------------------------------------------


def fmt(value: Any, digits: int = 1) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    return f"{value:,}"


METRICS: list[tuple[str, Callable[[dict[str, Any]], Any], int]] = [
    ("users", lambda f: f["users"], 0),
    ("write: Beliefs.create beliefs/s", lambda f: f["real"]["create_per_s"], 1),
    ("write: Beliefs.create p50 ms", lambda f: f["real"]["create"]["p50"], 2),
    ("write: Beliefs.create p99 ms", lambda f: f["real"]["create"]["p99"], 2),
    ("write: create_many (100/user) beliefs/s", lambda f: f["real"]["many_per_s"], 0),
    ("write: create_many per user p50 ms", lambda f: f["real"]["many_user_ms"]["p50"], 1),
    ("write: sync of those to Chroma beliefs/s", lambda f: f["real"]["sync_per_s"], 0),
    ("bulk: SQLite beliefs/s (this step)", lambda f: f["load"]["sqlite_per_s"], 0),
    ("bulk: Chroma sync_all beliefs/s (this step)", lambda f: f["load"]["chroma_per_s"], 0),
    ("cold: SnapshotCache miss p50 ms", lambda f: f["read"]["cold"]["p50"], 2),
    ("cold: SnapshotCache miss p99 ms", lambda f: f["read"]["cold"]["p99"], 2),
    ("warm: hit + score_indexed + cut p50 ms", lambda f: f["read"]["warm"]["p50"], 3),
    ("warm: hit + score_indexed + cut p99 ms", lambda f: f["read"]["warm"]["p99"], 3),
    ("  score_indexed + cut only p50 ms", lambda f: f["read"]["warm_score_only"]["p50"], 3),
    ("Injector._retrieve cold p50 ms (no embed)", lambda f: f["read"]["retrieve_cold"]["p50"], 2),
    ("Injector._retrieve cold p99 ms (no embed)", lambda f: f["read"]["retrieve_cold"]["p99"], 2),
    ("Injector._retrieve warm p50 ms (no embed)", lambda f: f["read"]["retrieve_warm"]["p50"], 2),
    ("Injector._retrieve warm p99 ms (no embed)", lambda f: f["read"]["retrieve_warm"]["p99"], 2),
    ("search API (Chroma where) p50 ms [1]", lambda f: f["read"]["search"]["p50"], 2),
    ("search API (Chroma where) p99 ms [1]", lambda f: f["read"]["search"]["p99"], 2),
    ("search API: % of searches with < 10 hits [1]", lambda f: f["read"]["search_short_pct"], 1),
    ("search API first call after load ms [1]", lambda f: f["read"]["search_first_ms"], 1),
    ("RSS MB", lambda f: f["mem"]["rss_mb"], 0),
    ("peak RSS MB", lambda f: f["mem"]["hwm_mb"], 0),
    ("open file descriptors", lambda f: f["mem"]["fds"], 0),
    ("disk MB (store dir)", lambda f: f["mem"]["disk_mb"], 0),
    ("  chroma dir MB", lambda f: f["mem"]["chroma_mb"], 0),
    ("  selfmodel.db (+wal) MB", lambda f: f["mem"]["ledger_mb"], 0),
]


def value_of(stage: Stage, getter: Callable[[dict[str, Any]], Any]) -> Any:
    try:
        return getter(stage.figures)
    except (KeyError, TypeError):
        return None


def slope(points: list[tuple[int, float]]) -> float | None:
    """Exponent b of cost ~ total^b between the first and last measured point."""
    usable = [(t, v) for t, v in points if isinstance(v, int | float) and v > 0 and t > 0]
    if len(usable) < 2 or usable[-1][0] == usable[0][0]:
        return None
    (t0, v0), (t1, v1) = usable[0], usable[-1]
    return math.log(v1 / v0) / math.log(t1 / t0)


def report(
    stages: list[Stage],
    bench: Bench,
    rate_log: list[dict[str, float]],
    per_user: int,
    budget_minutes: float,
) -> None:
    measured = [s for s in stages if s.figures]
    header = (
        ["metric"]
        + [f"{s.reached:,}{'*' if s.partial else ''}" for s in measured]
        + ["x per 10x total", "exponent"]
    )
    lines = [header]
    for label, getter, digits in METRICS:
        values = [value_of(s, getter) for s in measured]
        b = slope([(s.reached, v) for s, v in zip(measured, values, strict=True)])
        per10 = f"x{10**b:.2f}" if b is not None else "-"
        lines.append(
            [label]
            + [fmt(float(v) if digits else v, digits) for v in values]
            + [per10, f"{b:+.2f}" if b is not None else "-"]
        )
    widths = [max(len(r[i]) for r in lines) for i in range(len(header))]
    print()
    print(
        f"== store benchmark: {per_user} beliefs per user, one tenant (one Chroma collection);"
        " columns are total beliefs (* = the time budget stopped the load short)"
    )
    for r in lines:
        print(
            "  ".join(c.ljust(widths[0]) if i == 0 else c.rjust(widths[i]) for i, c in enumerate(r))
        )
    print(
        "x per 10x total / exponent: cost ~ total^exponent fitted between the first and last"
        " measured column (0 = flat, 1 = linear in the total)"
    )
    print(
        "[1] VectorStore.search is the semantic search API, not on the request path: "
        "Injector._retrieve reads SQLite only"
    )
    print(
        f"RSS before the store was opened: {bench.baseline_rss_mb:.0f} MB; after loading the "
        f"embedding model and the statement pool: {bench.rss_after_model_mb:.0f} MB"
    )
    if bench.sqlite_s and bench.chroma_s:
        print(
            f"bulk load overall: SQLite {bench.sqlite_n / bench.sqlite_s:,.0f} beliefs/s "
            f"({bench.sqlite_s:,.0f} s), Chroma sync_all {bench.chroma_n / bench.chroma_s:,.0f}"
            f" beliefs/s ({bench.chroma_s:,.0f} s)"
        )
    if rate_log:
        print("\nbulk-load rate as the store grows (beliefs/s per 10k-belief step):")
        step = max(1, len(rate_log) // 12)
        for entry in rate_log[::step] + ([rate_log[-1]] if (len(rate_log) - 1) % step else []):
            print(
                f"  at {int(entry['total']):>9,}: SQLite {entry['sqlite_per_s']:7.0f}/s  "
                f"Chroma {entry['chroma_per_s']:7.0f}/s"
            )
    extrapolate(stages, measured, rate_log, budget_minutes)


def extrapolate(
    stages: list[Stage],
    measured: list[Stage],
    rate_log: list[dict[str, float]],
    budget_minutes: float,
) -> None:
    missing = [s for s in stages if s.reached < s.target]
    if not missing or len(measured) < 2 or not rate_log:
        return
    last = measured[-1]
    recent = rate_log[-5:]
    sqlite_rate = float(np.mean([e["sqlite_per_s"] for e in recent]))
    chroma_rate = float(np.mean([e["chroma_per_s"] for e in recent]))
    print(
        f"\nEXTRAPOLATION - NOT MEASURED (the load stopped at {last.reached:,} beliefs after the "
        f"{budget_minutes:g} min budget); power law fitted over the measured columns:"
    )
    for s in missing:
        remaining = s.target - last.reached
        hours = remaining * (1 / sqlite_rate + 1 / chroma_rate) / 3600
        print(
            f"  to reach {s.target:,}: another {remaining:,} beliefs take ~{hours:.1f} h at the "
            f"last rates (SQLite {sqlite_rate:.0f}/s, Chroma {chroma_rate:.0f}/s)"
        )
        for label, getter, _ in METRICS[9:]:
            points = [(m.reached, value_of(m, getter)) for m in measured]
            b = slope(points)
            if b is None:
                continue
            v = points[-1][1] * (s.target / last.reached) ** b
            print(f"    {label:<45} ~{v:,.2f} (extrapolated)")


# -- main ---------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--totals", default="10000,100000,1000000")
    parser.add_argument("--per-user", type=int, default=100)
    parser.add_argument("--dir", type=Path, default=Path("/tmp/selfmodel-store-bench"))
    parser.add_argument(
        "--creates",
        type=int,
        default=300,
        help="beliefs written one by one through Beliefs.create at each total",
    )
    parser.add_argument(
        "--many-users",
        type=int,
        default=3,
        help="users written through Beliefs.create_many at each total",
    )
    parser.add_argument("--samples", type=int, default=300, help="users timed per total")
    parser.add_argument(
        "--budget-minutes",
        type=float,
        default=25.0,
        help="wall time after which loading stops and the rest is extrapolated",
    )
    parser.add_argument(
        "--search-samples",
        type=int,
        default=300,
        help="users timed through VectorStore.search per total",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)

    totals = sorted(int(t) for t in args.totals.split(","))
    if args.dir.exists():
        shutil.rmtree(args.dir)  # totals are cumulative from an empty store
    args.dir.mkdir(parents=True)
    log(
        f"store at {args.dir}; totals {totals}; {args.per_user} beliefs/user; "
        f"budget {args.budget_minutes:g} min; load average {os.getloadavg()[0]:.1f} on "
        f"{os.cpu_count()} CPUs"
    )
    deadline = time.perf_counter() + args.budget_minutes * 60
    bench = Bench(args.dir, args.per_user, args.seed)
    stages = [Stage(target=t) for t in totals]
    rate_log: list[dict[str, float]] = []
    for stage in stages:
        if time.perf_counter() > deadline:
            log(f"time budget spent: {stage.target:,} is extrapolated, not measured")
            break
        log(f"== total {stage.target:,}")
        real = bench.real_path(args.creates, args.many_users)
        log(
            f"  Beliefs.create {real['create_per_s']:.1f}/s (p50 {real['create']['p50']:.1f} "
            f"ms); create_many {real['many_per_s']:.0f}/s; sync {real['sync_per_s']:.0f}/s"
        )
        s0, c0, n0 = bench.sqlite_s, bench.chroma_s, bench.sqlite_n
        stage.partial = not bench.bulk_load(stage.target, deadline, rate_log)
        added = bench.sqlite_n - n0
        stage.reached = bench.total
        stage.users = bench.db.conn.execute("SELECT COUNT(*) FROM users").fetchone()[0]
        log(f"  measuring at {stage.reached:,} beliefs")
        read = bench.retrieval(args.samples, args.search_samples)
        stage.figures = {
            "users": stage.users,
            "real": real,
            "load": {
                "beliefs": added,
                "sqlite_per_s": added / max(bench.sqlite_s - s0, 1e-9) if added else None,
                "chroma_per_s": added / max(bench.chroma_s - c0, 1e-9) if added else None,
            },
            "read": read,
            "mem": bench.footprint(),
        }
        mem = stage.figures["mem"]
        log(
            f"  cold p50 {read['cold']['p50']:.2f} ms; warm p50 {read['warm']['p50']:.3f} ms; "
            f"_retrieve warm p50 {read['retrieve_warm']['p50']:.2f} ms; search p50 "
            f"{read['search']['p50']:.1f} ms p99 {read['search']['p99']:.1f} ms; RSS "
            f"{mem['rss_mb']:.0f} MB; disk {mem['disk_mb']:.0f} MB"
        )
        if stage.partial:
            break
    report(stages, bench, rate_log, args.per_user, args.budget_minutes)
    if args.json:
        args.json.write_text(
            json.dumps(
                {"stages": [s.__dict__ for s in stages], "rates": rate_log}, indent=1, default=str
            )
        )
    bench.db.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
