"""Shared data for the retrieval lab helpers: cases, embeddings (cached), users, token costs.

The cache lives in /tmp and is keyed by the eval file, the situation list and the embedder, so
a change to any of them re-embeds.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from memory.index.views import SITUATIONS  # noqa: E402
from memory.offline import configure_offline  # noqa: E402

configure_offline()

EVAL_DIR = Path(
    os.environ.get("SELFMODEL_EVAL_DIR")
    or next(
        (p for p in (ROOT.parent / "shared" / "eval", Path("/work/shared/eval")) if p.is_dir()),
        ROOT.parent / "shared" / "eval",
    )
)
CACHE = Path("/tmp/retrieval_lab_cache")
_SENT = re.compile(r"(?<=[.!?])\s+")


@dataclass
class Data:
    prefs: list[str]
    queries: list[str]
    topics: list[str]
    pvec: np.ndarray  # statement vectors
    qvec: np.ndarray  # query vectors
    smat: np.ndarray  # situation vectors
    clause_vecs: list[np.ndarray]  # per pref, its clause vectors (may be empty)
    users: list[list[int]]


def _embedder():
    from memory.index.embed import LocalEmbedder

    return LocalEmbedder()


def build_users(n: int, prefs: list[str]) -> list[list[int]]:
    rng = np.random.default_rng(0)
    users = []
    for i in range(n):
        pool = [j for j in range(n) if prefs[j] != prefs[i]]
        users.append([i, *(int(j) for j in rng.choice(pool, 99, replace=False))])
    return users


def load(eval_dir: Path = EVAL_DIR) -> Data:
    text = (eval_dir / "prefeval_explicit_dev.jsonl").read_text(encoding="utf-8")
    rows = [json.loads(x) for x in text.splitlines() if x.strip()]
    prefs = [r["gold_preference"] for r in rows]
    queries = [r["query"] for r in rows]
    topics = [r["topic"] for r in rows]
    clauses = [[s for s in _SENT.split(p.strip()) if s] for p in prefs]
    clauses = [c if len(c) > 1 else [] for c in clauses]
    flat = [c for cs in clauses for c in cs]
    key = hashlib.sha256(json.dumps([text, list(SITUATIONS), flat]).encode()).hexdigest()[:16]
    CACHE.mkdir(exist_ok=True)
    path = CACHE / f"{key}.npz"
    if path.exists():
        z = np.load(path)
        pvec, qvec, smat, cvec = z["pvec"], z["qvec"], z["smat"], z["cvec"]
    else:
        emb = _embedder()
        pvec, qvec = emb.embed(prefs), emb.embed(queries)
        smat = emb.embed(list(SITUATIONS))
        cvec = emb.embed(flat) if flat else np.zeros((0, pvec.shape[1]), np.float32)
        np.savez(path, pvec=pvec, qvec=qvec, smat=smat, cvec=cvec)
    out, k = [], 0
    for cs in clauses:
        out.append(cvec[k : k + len(cs)])
        k += len(cs)
    return Data(prefs, queries, topics, pvec, qvec, smat, out, build_users(len(rows), prefs))
