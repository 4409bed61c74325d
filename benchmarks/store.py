"""Store benchmark: write rate and one-user retrieval latency as the total number of beliefs grows.

What it measures, for each total (one store grown cumulatively, so 1M reuses the 100k data):
    * real write path: `Beliefs.create` (embed + SQLite + Chroma) on a sample of new beliefs;
    * bulk load used to reach the totals: SQLite rows in large transactions and
      `VectorStore.upsert_many` with precomputed vectors (the same views the real path writes);
    * cold retrieval (a snapshot-cache miss): `SnapshotCache` with capacity 0, i.e. the user's
      revision + active beliefs + evidence from SQLite and `VectorStore.user_vectors`;
    * warm retrieval (the hot path minus query embedding): a snapshot-cache hit + `ranking.rank`
      with a precomputed query vector;
    * for comparison, one shared collection queried with a `where` filter on the user (only while
      the total is at most --shared-max), next to an unfiltered query on the per-user collection;
    * RSS, open file descriptors and disk size after each total; and, at the end, a fresh process
      opening the store (start-up cost and first reads after a restart).
Loading stops at --budget-minutes of wall time; totals not reached are extrapolated from the
measured rates and clearly labelled as extrapolations.

Run from the repo root:
    python benchmarks/store.py [--totals 10000,100000,1000000] [--per-user 100] [--dir PATH]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from memory.beliefs import Beliefs, EvidenceIn  # noqa: E402
from memory.core import Core  # noqa: E402
from memory.embed import LocalEmbedder  # noqa: E402
from memory.ledger import Database  # noqa: E402
from memory.ledger import beliefs as rows  # noqa: E402
from memory.ledger.db import iso, utcnow  # noqa: E402
from memory.models import new_id  # noqa: E402
from memory.ranking import rank  # noqa: E402
from memory.settings import DEFAULT_CONTEXTS, StoreConfig  # noqa: E402
from memory.snapshot import SnapshotCache  # noqa: E402
from memory.store import VectorStore  # noqa: E402
from memory.views import index_views  # noqa: E402

TENANT = "bench"
CONTEXT = "preferences"
EVAL_FILE = ROOT.parent / "shared" / "eval" / "prefeval_explicit_dev.jsonl"
SHARED_COLLECTION = "bench_shared_where"
# Prefixes turn each gold preference into distinct statements (distinct vectors), so users do
# not all hold the same few hundred texts.
VARIANT_PREFIXES = ("", "Honestly, ", "For what it's worth, ", "As a rule, ", "These days ")
SQLITE_USERS_PER_TRANSACTION = 50
TOP_K = 8
MIN_CONFIDENCE = 0.3


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
            except FileNotFoundError:  # chroma may drop a WAL file while we walk
                continue
    return total


def percentiles(values_ms: Sequence[float]) -> dict[str, float]:
    if not values_ms:
        return {"p50": math.nan, "p99": math.nan, "n": 0}
    data = np.asarray(values_ms)
    return {"p50": float(np.percentile(data, 50)), "p99": float(np.percentile(data, 99)),
            "n": len(values_ms)}


def timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    start = time.perf_counter()
    result = fn()
    return result, (time.perf_counter() - start) * 1000


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


# -- the statement pool -------------------------------------------------------------------------

def load_texts(path: Path) -> tuple[list[str], list[str]]:
    """Distinct gold preferences and the queries of the eval file."""
    preferences: list[str] = []
    queries: list[str] = []
    with path.open() as handle:
        for line in handle:
            case = json.loads(line)
            if case["gold_preference"] not in preferences:
                preferences.append(case["gold_preference"])
            queries.append(case["query"])
    return preferences, queries


def variants(preferences: Sequence[str]) -> list[str]:
    out: list[str] = []
    for prefix in VARIANT_PREFIXES:
        for text in preferences:
            out.append(prefix + (text[0].lower() + text[1:] if prefix else text))
    return out


@dataclass
class Pool:
    statements: list[str]
    views: list[list[str]]
    vectors: list[np.ndarray]  # one (views, dim) matrix per statement


def build_pool(core: Core, statements: list[str]) -> Pool:
    """Embed every statement's views once; the bulk load reuses them (embedding is not what
    the layout decides, and 1M embeddings would take hours on 2 cores)."""
    views_of = getattr(core, "views_of", None)
    all_views: list[list[str]] = []
    all_vectors: list[np.ndarray] = []
    for start in range(0, len(statements), 256):
        chunk = statements[start:start + 256]
        if views_of is not None:
            got = views_of([{"statement": s, "context": CONTEXT} for s in chunk])
            all_views += [list(v) for v, _ in got]
            all_vectors += [np.asarray(m, dtype=np.float32) for _, m in got]
        else:  # an older core indexes the statement alone
            matrix = core.embedder.embed(chunk)
            all_views += [index_views(s, CONTEXT) for s in chunk]
            all_vectors += [matrix[i:i + 1] for i in range(len(chunk))]
    return Pool(statements, all_views, all_vectors)


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
        self.db = Database(root / "selfmodel.db")
        self.embedder = LocalEmbedder()
        self.vectors = VectorStore(StoreConfig(path=str(root)), self.embedder.name)
        self.core = Core(self.db, self.vectors, self.embedder, dict(DEFAULT_CONTEXTS))
        self.beliefs = Beliefs(self.core)
        self.users = 0
        self.shared_users: set[str] = set()
        self.load_seconds = 0.0
        preferences, queries = load_texts(EVAL_FILE)
        started = time.perf_counter()
        self.pool = build_pool(self.core, variants(preferences))
        log(f"pool: {len(self.pool.statements)} statements, "
            f"{sum(len(v) for v in self.pool.views)} views embedded in "
            f"{time.perf_counter() - started:.1f}s")
        self.query_vectors = self.embedder.embed(queries)
        self.real_writes = 0

    # The chroma client is private to VectorStore, but a path may have only one client per
    # process, so the shared-collection comparison has to borrow it.
    def shared(self) -> Any:
        return self.vectors._client.get_or_create_collection(
            SHARED_COLLECTION, embedding_function=None, metadata={"hnsw:space": "cosine"})

    @staticmethod
    def user_id(index: int) -> str:
        return f"user{index:07d}"

    # -- writes --------------------------------------------------------------------------------

    def real_path(self, count: int) -> dict[str, Any]:
        """`Beliefs.create` for `count` beliefs of new users: embed, SQLite, Chroma, revision."""
        latencies: list[float] = []
        users = math.ceil(count / self.per_user)
        started = time.perf_counter()
        for _ in range(users):
            user = self.user_id(self.users)
            for _ in range(self.per_user):
                # A unique suffix defeats the embedder's single-text cache, as new beliefs do.
                text = f"{self.pool.statements[int(self.rng.integers(len(self.pool.statements)))]}"
                text += f" (note {self.real_writes})"
                self.real_writes += 1
                evidence = EvidenceIn(source="stated", kind="turn", quote=text[:80])
                _, ms = timed(lambda u=user, t=text, e=evidence: self.beliefs.create(
                    TENANT, u, t, CONTEXT, e))
                latencies.append(ms)
            self.users += 1
        seconds = time.perf_counter() - started
        return {"beliefs": len(latencies), "per_s": len(latencies) / seconds,
                **{f"ms_{k}": v for k, v in percentiles(latencies).items() if k != "n"}}

    def _sqlite_rows(self, users: Sequence[str],
                     picks: Sequence[np.ndarray]) -> list[list[str]]:
        moment = iso(utcnow())
        ids: list[list[str]] = []
        with self.db.write() as conn:
            for user, pick in zip(users, picks, strict=True):
                rows.ensure_user(conn, TENANT, user)
                user_ids = []
                for p in pick:
                    row = {"id": new_id("bel"), "tenant": TENANT, "user_id": user,
                           "statement": self.pool.statements[p], "context": CONTEXT,
                           "status": "active", "source": "stated", "confidence": 0.6,
                           "version": 1, "supersedes": None, "superseded_by": None,
                           "valid_from": moment, "valid_to": None, "created_at": moment,
                           "updated_at": moment}
                    rows.insert_belief(conn, row)
                    rows.insert_evidence(conn, {
                        "id": new_id("evi"), "belief_id": row["id"], "source": "stated",
                        "kind": "turn", "quote": None, "request_id": None,
                        "observation_id": None, "polarity": 1, "weight": 1.0, "anchor": None,
                        "at": moment})
                    rows.insert_history(conn, row, "created", "bench")
                    user_ids.append(row["id"])
                # insert_belief leaves `indexed` at 0; one statement per user marks the rows
                # as indexed instead of an UPDATE per belief (Chroma gets them right after).
                conn.execute("UPDATE beliefs SET indexed = 1 WHERE tenant = ? AND user_id = ?",
                             (TENANT, user))
                rows.bump_revision(conn, TENANT, user)
                ids.append(user_ids)
        return ids

    def bulk_load(self, until_users: int, deadline: float, shared_max: int,
                  rate_log: list[dict[str, float]]) -> bool:
        """Add users up to `until_users`; False when the deadline stopped it early."""
        sqlite_s = chroma_s = shared_s = 0.0
        done = 0
        window_start, window_beliefs = time.perf_counter(), 0
        while self.users < until_users:
            if time.perf_counter() > deadline:
                log(f"time budget reached at {self.users} users")
                self._log_rates(sqlite_s, chroma_s, shared_s, done)
                return False
            batch = min(SQLITE_USERS_PER_TRANSACTION, until_users - self.users)
            users = [self.user_id(self.users + i) for i in range(batch)]
            picks = [self.rng.choice(len(self.pool.statements), self.per_user, replace=False)
                     for _ in users]
            t0 = time.perf_counter()
            ids = self._sqlite_rows(users, picks)
            t1 = time.perf_counter()
            for user, pick, belief_ids in zip(users, picks, ids, strict=True):
                items = [(b, self.pool.views[p], self.pool.vectors[p])
                         for b, p in zip(belief_ids, pick, strict=True)]
                self.vectors.upsert_many(TENANT, user, items)
            t2 = time.perf_counter()
            if (self.users + batch) * self.per_user <= shared_max:
                self._load_shared(users, picks, ids)
                self.shared_users.update(users)
            t3 = time.perf_counter()
            sqlite_s, chroma_s, shared_s = (sqlite_s + t1 - t0, chroma_s + t2 - t1,
                                            shared_s + t3 - t2)
            self.users += batch
            done += batch * self.per_user
            window_beliefs += batch * self.per_user
            if window_beliefs >= 10_000:
                now = time.perf_counter()
                rate = window_beliefs / (now - window_start)
                rate_log.append({"total": self.users * self.per_user, "per_s": rate})
                log(f"  {self.users * self.per_user:>9,} beliefs  {rate:7.0f} beliefs/s  "
                    f"rss {proc_status()['VmRSS'] / 1024:7.0f} MB  fds {open_fds()}")
                window_start, window_beliefs = now, 0
        self._log_rates(sqlite_s, chroma_s, shared_s, done)
        return True

    def _log_rates(self, sqlite_s: float, chroma_s: float, shared_s: float, done: int) -> None:
        self.load_seconds += sqlite_s + chroma_s + shared_s
        self.last_load = {"beliefs": done, "sqlite_s": sqlite_s, "chroma_s": chroma_s,
                          "shared_s": shared_s,
                          "per_s": done / max(sqlite_s + chroma_s, 1e-9),
                          "chroma_per_s": done / max(chroma_s, 1e-9),
                          "sqlite_per_s": done / max(sqlite_s, 1e-9)}

    def _load_shared(self, users: Sequence[str], picks: Sequence[np.ndarray],
                     ids: Sequence[list[str]]) -> None:
        # Statement view only, one row per belief: enough to show what the `where` filter costs,
        # at a quarter of the load time of all views.
        collection = self.shared()
        batch_ids, vectors, documents, metadatas = [], [], [], []
        for user, pick, belief_ids in zip(users, picks, ids, strict=True):
            for b, p in zip(belief_ids, pick, strict=True):
                batch_ids.append(f"{b}:0")
                vectors.append(self.pool.vectors[p][0].tolist())
                documents.append(self.pool.statements[p])
                metadatas.append({"user": user, "belief_id": b})
        collection.upsert(ids=batch_ids, embeddings=vectors, documents=documents,
                          metadatas=metadatas)

    # -- reads ---------------------------------------------------------------------------------

    def retrieval(self, samples: int, compare_shared: bool) -> dict[str, Any]:
        chosen = self.rng.choice(self.users, size=min(2 * samples, self.users), replace=False)
        users_a = [self.user_id(int(i)) for i in chosen[:samples]]
        users_b = [self.user_id(int(i)) for i in chosen[samples:]] or users_a
        queries = self.query_vectors
        out: dict[str, Any] = {}

        cold = SnapshotCache(self.core, 0)
        cold_ms = [timed(lambda u=u: cold.get(TENANT, u))[1] for u in users_a]
        out["cold"] = percentiles(cold_ms)
        # Split of a miss: Chroma's share on users not read yet, SQLite's on the same users.
        out["cold_chroma"] = percentiles(
            [timed(lambda u=u: self.vectors.user_vectors(TENANT, u))[1] for u in users_b])

        def sqlite_part(user: str) -> None:
            active = rows.list_beliefs(self.db.conn, TENANT, user, statuses=["active"])
            rows.evidence_for(self.db.conn, [r["id"] for r in active])

        out["cold_sqlite"] = percentiles([timed(lambda u=u: sqlite_part(u))[1] for u in users_a])

        warm = SnapshotCache(self.core, len(users_a))
        snapshots = [warm.get(TENANT, u) for u in users_a]
        out["snapshot_kb"] = float(np.mean([
            (s.view_matrix.nbytes + s.view_owner.nbytes) / 1024 for s in snapshots if s]))
        out["views_per_user"] = float(np.mean([s.view_matrix.shape[0] for s in snapshots if s]))
        warm_ms: list[float] = []
        rank_ms: list[float] = []
        for i, user in enumerate(users_a):
            query = queries[i % len(queries)]
            start = time.perf_counter()
            snapshot = warm.get(TENANT, user)
            assert snapshot is not None
            middle = time.perf_counter()
            ranked = rank(query, snapshot.view_matrix, snapshot.view_owner,
                          snapshot.features(utcnow()), top_k=TOP_K,
                          min_confidence=MIN_CONFIDENCE)
            end = time.perf_counter()
            assert ranked, "a user with beliefs ranked none"
            warm_ms.append((end - start) * 1000)
            rank_ms.append((end - middle) * 1000)
        out["warm"] = percentiles(warm_ms)
        out["warm_rank_only"] = percentiles(rank_ms)

        if compare_shared:
            shared = self.shared()
            # Users written through Beliefs.create are not in the shared collection.
            in_shared = [u for u in users_a if u in self.shared_users]
            per_user_ms, where_ms, where_get_ms = [], [], []
            for i, user in enumerate(in_shared):
                query = [queries[i % len(queries)].tolist()]
                collection = self.vectors._collection(TENANT, user, create=False)
                per_user_ms.append(timed(lambda c=collection, q=query: c.query(
                    query_embeddings=q, n_results=TOP_K))[1])
                where_ms.append(timed(lambda q=query, u=user: shared.query(
                    query_embeddings=q, n_results=TOP_K, where={"user": u}))[1])
                where_get_ms.append(timed(lambda u=user: shared.get(
                    where={"user": u}, include=["embeddings", "metadatas"]))[1])
            out["query_per_user_collection"] = percentiles(per_user_ms)
            out["query_shared_where"] = percentiles(where_ms)
            out["get_shared_where"] = percentiles(where_get_ms)
            out["shared_rows"] = shared.count()
        return out

    def footprint(self) -> dict[str, Any]:
        status = proc_status()
        chroma_dir = self.root / "chroma"
        return {"rss_mb": status["VmRSS"] / 1024, "hwm_mb": status["VmHWM"] / 1024,
                "fds": open_fds(), "disk_mb": disk_bytes(self.root) / 2**20,
                "chroma_sqlite_mb": (chroma_dir / "chroma.sqlite3").stat().st_size / 2**20,
                "segment_dirs": sum(1 for p in chroma_dir.iterdir() if p.is_dir()),
                "ledger_mb": (self.root / "selfmodel.db").stat().st_size / 2**20}


# -- a fresh process opening the grown store (restart cost) -------------------------------------

def probe_open(root: Path, users: int, samples: int) -> None:
    """Run in a child process: open the store as a restarted server would, read some users."""
    started = time.perf_counter()
    embedder_name = LocalEmbedder.name
    vectors = VectorStore(StoreConfig(path=str(root)), embedder_name)
    opened = time.perf_counter()
    db = Database(root / "selfmodel.db")
    core = Core(db, vectors, _NoEmbedder(), dict(DEFAULT_CONTEXTS))  # type: ignore[arg-type]
    cache = SnapshotCache(core, 0)
    rng = np.random.default_rng(1)
    picked = rng.choice(users, size=min(samples, users), replace=False)
    first = [timed(lambda i=int(i): cache.get(TENANT, Bench.user_id(i)))[1] for i in picked]
    print(json.dumps({"open_s": opened - started, "first_reads": percentiles(first),
                      "rss_mb": proc_status()["VmRSS"] / 1024}))


class _NoEmbedder:
    """The restart probe reads only; loading the ONNX model would blur its RSS figure."""

    name = LocalEmbedder.name
    dim = 384

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        raise RuntimeError("the restart probe does not embed")


# -- report -------------------------------------------------------------------------------------

def fmt(value: Any, digits: int = 1) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    return f"{value:,}"


def report(stages: list[Stage], rate_log: list[dict[str, float]], per_user: int,
           restart: dict[str, Any] | None, budget_minutes: float) -> None:
    measured = [s for s in stages if s.figures]
    header = ["metric"] + [f"{s.reached:,}{'*' if s.partial else ''}" for s in measured]
    lines: list[list[str]] = []

    def row(label: str, getter: Callable[[Stage], Any], digits: int = 1) -> None:
        values = []
        for s in measured:
            try:
                values.append(getter(s))
            except (KeyError, TypeError):
                values.append(None)
        growth = "-"
        numbers = [v for v in values if isinstance(v, int | float) and not math.isnan(v)]
        if len(numbers) >= 2 and numbers[0]:
            growth = f"x{numbers[-1] / numbers[0]:.2f}"
        lines.append([label] + [fmt(v, digits) for v in values] + [growth])

    f = "figures"
    row("users (= per-user collections)", lambda s: s.users)
    row("write: Beliefs.create beliefs/s", lambda s: getattr(s, f)["real"]["per_s"])
    row("write: Beliefs.create p50 ms", lambda s: s.figures["real"]["ms_p50"])
    row("write: Beliefs.create p99 ms", lambda s: s.figures["real"]["ms_p99"])
    row("bulk load beliefs/s (sqlite+chroma)", lambda s: s.figures["load"]["per_s"], 0)
    row("  chroma upsert_many beliefs/s", lambda s: s.figures["load"]["chroma_per_s"], 0)
    row("  sqlite beliefs/s", lambda s: s.figures["load"]["sqlite_per_s"], 0)
    row("cold (cache miss) p50 ms", lambda s: s.figures["read"]["cold"]["p50"], 2)
    row("cold (cache miss) p99 ms", lambda s: s.figures["read"]["cold"]["p99"], 2)
    row("  chroma user_vectors p50 ms", lambda s: s.figures["read"]["cold_chroma"]["p50"], 2)
    row("  chroma user_vectors p99 ms", lambda s: s.figures["read"]["cold_chroma"]["p99"], 2)
    row("  sqlite beliefs+evidence p50 ms", lambda s: s.figures["read"]["cold_sqlite"]["p50"], 2)
    row("warm (hit + rank) p50 ms", lambda s: s.figures["read"]["warm"]["p50"], 3)
    row("warm (hit + rank) p99 ms", lambda s: s.figures["read"]["warm"]["p99"], 3)
    row("  rank only p50 ms", lambda s: s.figures["read"]["warm_rank_only"]["p50"], 3)
    row("per-user collection query p50 ms",
        lambda s: s.figures["read"]["query_per_user_collection"]["p50"], 2)
    row("per-user collection query p99 ms",
        lambda s: s.figures["read"]["query_per_user_collection"]["p99"], 2)
    row("shared collection + where query p50 ms",
        lambda s: s.figures["read"]["query_shared_where"]["p50"], 2)
    row("shared collection + where query p99 ms",
        lambda s: s.figures["read"]["query_shared_where"]["p99"], 2)
    row("shared collection + where get p50 ms",
        lambda s: s.figures["read"]["get_shared_where"]["p50"], 2)
    row("  rows in shared collection", lambda s: s.figures["read"]["shared_rows"])
    row("snapshot size per user KB", lambda s: s.figures["read"]["snapshot_kb"])
    row("views (vectors) per user", lambda s: s.figures["read"]["views_per_user"])
    row("RSS MB", lambda s: s.figures["mem"]["rss_mb"], 0)
    row("peak RSS MB", lambda s: s.figures["mem"]["hwm_mb"], 0)
    row("open file descriptors", lambda s: s.figures["mem"]["fds"])
    row("disk MB (store dir)", lambda s: s.figures["mem"]["disk_mb"], 0)
    row("  chroma.sqlite3 MB", lambda s: s.figures["mem"]["chroma_sqlite_mb"], 0)
    row("  selfmodel.db MB", lambda s: s.figures["mem"]["ledger_mb"], 0)
    row("  chroma segment dirs", lambda s: s.figures["mem"]["segment_dirs"])
    row("cumulative load wall s", lambda s: s.figures["load_seconds_total"], 0)

    widths = [max(len(r[i]) for r in [header + ["growth"], *lines]) for i in range(len(header) + 1)]
    print()
    print(f"== store benchmark: {per_user} beliefs per user; columns are total beliefs "
          "(* = time budget stopped the load short of the requested total)")
    for r in [header + ["growth"], *lines]:
        print("  ".join(cell.ljust(widths[0]) if i == 0 else cell.rjust(widths[i])
                        for i, cell in enumerate(r)))
    print("growth = last measured column / first measured column")
    if rate_log:
        print("\nbulk-load rate as the store grows (beliefs/s over each 10k window):")
        step = max(1, len(rate_log) // 12)
        for entry in rate_log[::step] + ([rate_log[-1]] if len(rate_log) % step else []):
            print(f"  at {int(entry['total']):>9,}: {entry['per_s']:7.0f}/s")
    if restart:
        print(f"\nrestart (fresh process opening the store at {measured[-1].reached:,} beliefs): "
              f"open {restart['open_s']:.2f}s, first cold reads p50 "
              f"{restart['first_reads']['p50']:.1f} ms p99 {restart['first_reads']['p99']:.1f} "
              f"ms, RSS {restart['rss_mb']:.0f} MB")
    extrapolate(stages, rate_log, per_user, budget_minutes)


def extrapolate(stages: list[Stage], rate_log: list[dict[str, float]], per_user: int,
                budget_minutes: float) -> None:
    missing = [s for s in stages if s.reached < s.target]
    last = max((s for s in stages if s.figures), key=lambda s: s.reached, default=None)
    if not missing or last is None or not rate_log:
        return
    recent = [e["per_s"] for e in rate_log[-5:]]
    rate = float(np.mean(recent))
    mem = last.figures["mem"]
    disk_per_belief = mem["disk_mb"] / last.reached
    print(f"\nEXTRAPOLATION (not measured; the load stopped at {last.reached:,} beliefs, "
          f"{budget_minutes:g} min budget):")
    for s in missing:
        remaining = s.target - last.reached
        hours = remaining / rate / 3600
        print(f"  {s.target:,} beliefs ({s.target // per_user:,} collections): at the last "
              f"measured bulk rate {rate:.0f}/s another {remaining:,} take >= {hours:.1f} h "
              f"(the rate falls as the store grows, so this is a lower bound); disk "
              f"~{disk_per_belief * s.target / 1024:.1f} GB at {disk_per_belief * 1024:.2f} "
              f"KB/belief")


# -- main ---------------------------------------------------------------------------------------

def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--totals", default="10000,100000,1000000")
    parser.add_argument("--per-user", type=int, default=100)
    parser.add_argument("--dir", type=Path, default=Path("/tmp/selfmodel-store-bench"))
    parser.add_argument("--real-writes", type=int, default=500,
                        help="beliefs written through Beliefs.create at each total")
    parser.add_argument("--samples", type=int, default=300, help="users timed per total")
    parser.add_argument("--shared-max", type=int, default=100_000,
                        help="largest total also loaded into one shared collection")
    parser.add_argument("--budget-minutes", type=float, default=25.0,
                        help="wall time after which loading stops and the rest is extrapolated")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--probe-open", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--users", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.probe_open:
        probe_open(args.dir, args.users, args.samples)
        return 0

    totals = sorted(int(t) for t in args.totals.split(","))
    if args.dir.exists():
        shutil.rmtree(args.dir)  # totals are cumulative from an empty store
    args.dir.mkdir(parents=True)
    log(f"store at {args.dir}; totals {totals}; {args.per_user} beliefs/user; "
        f"open-file limit {os.sysconf('SC_OPEN_MAX')}")
    deadline = time.perf_counter() + args.budget_minutes * 60
    bench = Bench(args.dir, args.per_user, args.seed)
    stages = [Stage(target=t) for t in totals]
    rate_log: list[dict[str, float]] = []
    stopped = False
    for stage in stages:
        if stopped or time.perf_counter() > deadline:
            # Measuring again a few hundred beliefs further would repeat the last column.
            log(f"time budget spent: {stage.target:,} is extrapolated, not measured")
            break
        log(f"== total {stage.target:,}")
        real = bench.real_path(min(args.real_writes, stage.target - bench.users * args.per_user))
        log(f"  Beliefs.create: {real['per_s']:.1f} beliefs/s, p50 {real['ms_p50']:.1f} ms, "
            f"p99 {real['ms_p99']:.1f} ms")
        completed = bench.bulk_load(math.ceil(stage.target / args.per_user), deadline,
                                    args.shared_max, rate_log)
        stage.partial = not completed
        stopped = not completed
        stage.users = bench.users
        stage.reached = bench.users * args.per_user
        compare = bool(bench.shared_users) and stage.reached <= args.shared_max
        log(f"  measuring retrieval at {stage.reached:,} beliefs")
        stage.figures = {"real": real, "load": bench.last_load,
                         "load_seconds_total": bench.load_seconds,
                         "read": bench.retrieval(args.samples, compare),
                         "mem": bench.footprint()}
        read, mem = stage.figures["read"], stage.figures["mem"]
        log(f"  cold p50 {read['cold']['p50']:.1f} ms p99 {read['cold']['p99']:.1f} ms; "
            f"warm p50 {read['warm']['p50']:.3f} ms p99 {read['warm']['p99']:.3f} ms; "
            f"RSS {mem['rss_mb']:.0f} MB; disk {mem['disk_mb']:.0f} MB")

    restart = None
    last = max((s for s in stages if s.figures), key=lambda s: s.reached)
    bench.db.close()
    # A fresh process: what a restarted server pays to open the grown store (WAL replay,
    # collection cache) before its first requests. Our client stays idle meanwhile.
    log("restart probe: opening the store in a fresh process")
    child = subprocess.run(
        [sys.executable, __file__, "--probe-open", "--dir", str(args.dir),
         "--users", str(last.users), "--samples", "50"],
        capture_output=True, text=True, check=False)
    if child.returncode == 0 and child.stdout.strip():
        restart = json.loads(child.stdout.strip().splitlines()[-1])
    else:
        log(f"restart probe failed: {child.stderr.strip()[-500:]}")
    report(stages, rate_log, args.per_user, restart, args.budget_minutes)
    if args.json:
        args.json.write_text(json.dumps({"stages": [s.__dict__ for s in stages],
                                         "rates": rate_log, "restart": restart}, indent=1,
                                        default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
