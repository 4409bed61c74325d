"""Insights benchmark: GET /v1/insights/* computations on a tenant of 100k beliefs.

Builds a store with the real ledger helpers: `--users` users with `--per-user` active beliefs
each, drawn from a pool of statements (subjects x phrasings, each embedded once with the local
model; each belief's vector is its statement's plus a little noise, as different wordings of
one preference would be), created over the last six weeks with some superseded or retracted;
one audit record per user per `--requests-per-user` with the arm of a 10% holdout, and feedback
on a third of the requests (through `Signals.feedback`, as the API writes it).

Then times each insight cold (a fresh cache) `--rounds` times, and once warm (cached):
    * experiment: per-arm figures and Welch's t-test over the audit + feedback rows;
    * beliefs: the k-anonymous themes of all the tenant's beliefs, and of one context;
    * at-risk: per-user churn signals over the risk window.

Run from the repo root (wall-clock figures depend on the machine's load, printed with them):
    python benchmarks/insights.py [--users 20000] [--per-user 5] [--rounds 3] [--dir PATH]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks._common import load_note  # noqa: E402
from memory.index.embed import LocalEmbedder  # noqa: E402
from memory.inject.rules import arm  # noqa: E402
from memory.insights.service import Insights  # noqa: E402
from memory.ledger import beliefs as rows  # noqa: E402
from memory.ledger import vectors  # noqa: E402
from memory.ledger.db import iso, utcnow  # noqa: E402
from memory.models import new_id  # noqa: E402
from memory.selfmodel import SelfModel  # noqa: E402
from memory.settings import HoldoutConfig, MemoryConfig  # noqa: E402
from tests.audit_records import plain_record  # noqa: E402

TENANT = "bench"
CONTEXTS = ("preferences", "goals", "constraints")
SUBJECTS = [
    "vegetarian food",
    "spicy dishes",
    "Python for examples",
    "Rust for systems code",
    "metric units",
    "trains over planes",
    "dark roast coffee",
    "green tea",
    "paper books",
    "audiobooks",
    "short answers",
    "detailed explanations",
    "bullet points",
    "morning workouts",
    "yoga",
    "trail running",
    "jazz",
    "classical music",
    "board games",
    "video games",
    "hiking trips",
    "beach holidays",
    "city breaks",
    "camping",
    "learning Spanish",
    "learning Japanese",
    "running a marathon",
    "saving for a house",
    "a gluten-free diet",
    "a nut allergy",
    "working night shifts",
    "a tight budget",
    "two small children",
    "a wheelchair",
    "remote work",
    "woodworking",
    "gardening",
    "photography",
    "baking bread",
    "chess",
]
PHRASINGS = [
    "I really like {}.",
    "I prefer {}.",
    "{} matters a lot to me.",
    "My life revolves around {}.",
    "Anything about {} suits me.",
]
HOLDOUT = HoldoutConfig(percent=10, salt="bench")


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def build(model: SelfModel, users: int, per_user: int, requests_per_user: int) -> None:
    rng = np.random.default_rng(0)
    statements = [p.format(s) for s in SUBJECTS for p in PHRASINGS]
    pool = np.asarray(model.embedder.embed(statements), dtype=np.float32)
    now = utcnow()
    started = time.perf_counter()
    ids: list[tuple[str, str]] = []
    for first in range(0, users, 1000):
        with model.db.write() as conn:
            for u in range(first, min(users, first + 1000)):
                user = f"user{u:06d}"
                rows.ensure_user(conn, TENANT, user)
                saved = []
                for p in rng.choice(len(statements), per_user, replace=False):
                    moment = iso(now - timedelta(days=float(rng.uniform(0, 42))))
                    status = rng.choice(["active"] * 18 + ["superseded", "retracted"])
                    row = {
                        "id": new_id("bel"),
                        "tenant": TENANT,
                        "user_id": user,
                        "statement": statements[p],
                        "context": CONTEXTS[p % len(CONTEXTS)],
                        "status": "active",
                        "source": "stated",
                        "confidence": 0.7,
                        "version": 1,
                        "supersedes": None,
                        "superseded_by": None,
                        "valid_from": moment,
                        "valid_to": None,
                        "created_at": moment,
                        "updated_at": moment,
                    }
                    rows.insert_belief(conn, row)
                    rows.insert_history(conn, row, "created", "bench")
                    if status != "active":
                        rows.update_belief(conn, row["id"], {"status": status})
                        rows.insert_history(conn, {**row, "status": status}, status, "user")
                    noisy = pool[p] + rng.normal(0, 0.012, pool.shape[1]).astype(np.float32)
                    saved.append((row["id"], noisy / np.linalg.norm(noisy), []))
                    ids.append((user, row["id"]))
                vectors.save(conn, model.embedder.name, saved)
    log(f"beliefs: {len(ids):,} in {time.perf_counter() - started:.1f} s")
    started = time.perf_counter()
    requests = []
    for u in range(users):
        user = f"user{u:06d}"
        side = arm(TENANT, user, None, HOLDOUT)
        for _ in range(requests_per_user):
            request_id = new_id("req")
            moment = iso(now - timedelta(days=float(rng.uniform(0, 28))))
            model.audit(
                plain_record(
                    request_id, tenant=TENANT, user=user, rule="default", arm=side, at=moment
                )
            )
            requests.append((request_id, side))
    model.audit_log.flush()
    log(f"audit: {len(requests):,} records in {time.perf_counter() - started:.1f} s")
    started = time.perf_counter()
    rated = requests[::3]
    for request_id, side in rated:
        score = float(np.clip(rng.normal(0.25 if side == "treatment" else 0.1, 0.5), -1, 1))
        model.feedback.feedback(TENANT, request_id, score, None)
    log(f"feedback: {len(rated):,} in {time.perf_counter() - started:.1f} s")


def timed(fn: Any) -> tuple[dict[str, Any], float, float]:
    """The value, wall-clock ms and this process's CPU ms (less inflated by other processes
    on a shared machine)."""
    started, cpu = time.perf_counter(), time.process_time()
    value = fn()
    return value, (time.perf_counter() - started) * 1000, (time.process_time() - cpu) * 1000


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--users", type=int, default=20_000)
    ap.add_argument("--per-user", type=int, default=5)
    ap.add_argument("--requests-per-user", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--dir", default=None)
    ap.add_argument("--keep", action="store_true", help="keep the store (for profiling)")
    ap.add_argument("--reuse", action="store_true", help="--dir holds a store built before")
    args = ap.parse_args()
    threadpool_limits(1, user_api="blas")  # as the server runs (proxy/app.py)
    root = Path(args.dir or tempfile.mkdtemp(prefix="selfmodel-insights-"))
    config = MemoryConfig.model_validate(
        {"store": {"path": str(root)}, "injection": {"holdout": HOLDOUT.model_dump()}}
    )
    model = SelfModel(config, embedder=LocalEmbedder())
    try:
        if not args.reuse:
            build(model, args.users, args.per_user, args.requests_per_user)
        runs: dict[str, list[float]] = {}
        cpus: dict[str, list[float]] = {}
        last: dict[str, dict[str, Any]] = {}
        calls = {
            "experiment": lambda i: i.experiment(TENANT, None, None),
            "beliefs (all contexts)": lambda i: i.beliefs(TENANT, None),
            "beliefs (context=preferences)": lambda i: i.beliefs(TENANT, "preferences"),
            "at-risk": lambda i: i.at_risk(TENANT, None, 0.2, 50),
        }
        for _ in range(args.rounds):
            fresh = Insights(model.db, config, model.audit_log.flush)  # an empty cache
            for name, call in calls.items():
                last[name], ms, cpu = timed(lambda c=call, f=fresh: c(f))
                runs.setdefault(name, []).append(ms)
                cpus.setdefault(name, []).append(cpu)
        warm = Insights(model.db, config, model.audit_log.flush)
        calls["experiment"](warm)
        _, warm_ms, _ = timed(lambda: calls["experiment"](warm))
        beliefs = last["beliefs (all contexts)"]
        lift = last["experiment"]["lift"]
        print(
            f"insights on {beliefs['beliefs']:,} active beliefs of {beliefs['users']:,} users "
            f"({load_note()})"
        )
        for name, values in runs.items():
            print(
                f"  {name:32} cold median {statistics.median(values):7.0f} ms wall, "
                f"{statistics.median(cpus[name]):6.0f} ms CPU "
                f"(wall min {min(values):.0f}, max {max(values):.0f}; {len(values)} rounds)"
            )
        print(f"  {'experiment, cached':32} {warm_ms:8.1f} ms")
        print(
            f"  themes: {len(beliefs['themes'])} shown (>= {beliefs['min_users']} users), "
            f"{beliefs['below_min_users']} below k; largest "
            f"{[t['users'] for t in beliefs['themes'][:5]]}; drifting "
            f"{[t['drift'] for t in beliefs['drifting'][:3]]}"
        )
        print(
            f"  lift {lift['feedback_mean']:+.3f} {lift['ci']} p={lift['p_value']:.2g} "
            f"(simulated +0.15); at-risk listed {len(last['at-risk']['data'])}"
        )
    finally:
        model.db.close()
        if args.keep:
            print(f"store kept in {root}", file=sys.stderr)
        if not args.dir and not args.keep:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
