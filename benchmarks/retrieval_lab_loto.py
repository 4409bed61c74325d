"""Retrieval lab, leave-one-topic-out: score variants measured on topics the table never saw.

Same protocol as retrieval_lab.py (gold + 99 others, numpy seed 0; near-duplicate collapse;
exact token counts). For every held-out topic the situation table loses the entries written
from that topic (memory.index.views.DERIVED_FROM) and any constant is chosen on the other nine
topics (bar objective: best recall with median tokens <= 250), then measured on the held-out
one. Fast: vectors are cached by retrieval_lab_data, scoring is numpy.

Run:  python benchmarks/retrieval_lab_loto.py
"""

from __future__ import annotations

import itertools
import statistics
import sys

import numpy as np
from retrieval_lab_data import Data, load
from retrieval_lab_sweep import Cost, bar_objective, dedupe

from memory.index.views import DEFAULT_TABLE, SITUATIONS, index_views
from memory.offline import configure_offline
from memory.prompts import PromptLibrary

POS = {s: i for i, s in enumerate(SITUATIONS)}


def situation_lists(d: Data, topic: str | None) -> list[list[int]]:
    return situation_lists_without(d, (topic,) if topic else ())


def situation_lists_without(d: Data, dropped: tuple[str, ...]) -> list[list[int]]:
    """Each preference's situation rows, indexed with the table less the `dropped` topics."""
    table = DEFAULT_TABLE
    for topic in dropped:
        table = table.without(topic)
    rows = np.array([POS[s] for s in table.situations])
    smat = d.smat[rows]
    return [
        [
            POS[v]
            for v in index_views(
                p, "preferences", statement_vector=d.pvec[b], situation_matrix=smat, table=table
            )[1:]
        ]
        for b, p in enumerate(d.prefs)
    ]


def parts(d: Data, lists: list[list[int]], cases: list[int]) -> list[dict[str, np.ndarray]]:
    out = []
    for i in cases:
        u = d.users[i]
        q = d.qvec[i]
        stmt = d.pvec[u] @ q
        tab = d.smat @ q
        sit = np.array([max((tab[s] for s in lists[b]), default=stmt[j]) for j, b in enumerate(u)])
        clause = np.array(
            [max([stmt[j], *(d.clause_vecs[b] @ q)]) for j, b in enumerate(u)], dtype=np.float32
        )
        # Soft routing: query and belief as profiles over the same situation basis (the table
        # with the held-out topic's entries removed), compared by cosine.
        basis = d.smat[sorted({s for b in u for s in lists[b]} | set(range(0)))]
        avail = d.smat[np.array(sorted({s for ls in lists for s in ls}))]
        pq = avail @ q
        pq = pq - pq.mean()
        pb = d.pvec[u] @ avail.T
        pb = pb - pb.mean(axis=1, keepdims=True)
        soft = (pb @ pq) / (np.linalg.norm(pb, axis=1) * np.linalg.norm(pq) + 1e-9)
        del basis
        # Crowding (CSLS-style hubness correction over the user's own beliefs): the mean
        # cosine of each belief with its k nearest other beliefs of the same user.
        gram = d.pvec[u] @ d.pvec[u].T
        np.fill_diagonal(gram, -1.0)
        crowd = {k: np.sort(gram, axis=1)[:, -k:].mean(axis=1) for k in (3, 5, 10)}
        out.append(
            {
                "stmt": stmt,
                "sit": sit,
                "clause": clause,
                "vec": d.pvec[u],
                "soft": soft,
                "crowd": crowd,
            }
        )
    return out


def score(p: dict[str, np.ndarray], w_sit: float, w_fb: float, clause) -> np.ndarray:
    if isinstance(clause, tuple):  # ("crowd", k, lambda)
        _, k, lam = clause
        base = p["stmt"] + w_sit * p["sit"]
        top = np.argsort(-base)[:5]
        fb = w_fb * (p["vec"] @ p["vec"][top].mean(axis=0))
        return base + fb - lam * p["crowd"][k]
    if clause == "soft":
        base = p["stmt"] + w_sit * p["soft"]
    elif clause == "both":
        base = p["stmt"] + w_sit * p["sit"] + 0.3 * p["soft"]
    else:
        base = (p["clause"] if clause else p["stmt"]) + w_sit * p["sit"]
    top = np.argsort(-base)[:5]
    return base + w_fb * (p["vec"] @ p["vec"][top].mean(axis=0))


def cut_std(s: np.ndarray, c: float, cap: int) -> list[int]:
    order = np.argsort(-s, kind="stable")
    keep = s[order] >= s[order[0]] - c * s.std()
    keep[:3] = True
    return [int(j) for j in order[keep][:cap]]


def evaluate(d, cost, cases, plist, cfg, max_tokens=400):
    w_sit, w_fb, clause, c, cap = cfg
    hits, toks = [], []
    for i, p in zip(cases, plist, strict=True):
        s = score(p, w_sit, w_fb, clause)
        order = dedupe(d, d.users[i], cut_std(s, c, cap))
        n, t = cost.fit([d.users[i][j] for j in order], max_tokens)
        hits.append(0 in order[:n])
        toks.append(t)
    return np.array(hits), np.array(toks)


def main() -> None:
    configure_offline()
    d = load()
    cost = Cost(PromptLibrary().injection("default").compiled, d.prefs)
    topics = np.array(d.topics)
    names = sorted(set(d.topics))
    grid = list(
        itertools.product(
            (0.4, 0.8, 1.2), (0.3,), (False,), (1.75, 2.0, 2.25, 2.5), (14, 16, 18, 40)
        )
    )
    if "--crowd" in sys.argv:
        grid = [
            (w, 0.3, c, cut, 40)
            for w in (0.8,)
            for c in [False]
            + [("crowd", k, lam) for k in (3, 5, 10) for lam in (0.2, 0.4, 0.6, 0.8)]
            for cut in (2.0, 2.5)
        ]
    if "--quick" in sys.argv:
        grid = [
            (0.8, 0.3, False, 2.0, 40),
            (0.8, 0.3, True, 2.0, 40),
            (0.0, 0.3, False, 2.0, 40),
            (0.2, 0.3, "soft", 2.0, 40),
            (0.4, 0.3, "soft", 2.0, 40),
            (0.8, 0.3, "both", 2.0, 40),
        ]
    full_lists = situation_lists(d, None)
    every = list(range(len(d.prefs)))
    full_parts = parts(d, full_lists, every)
    insample = {cfg: evaluate(d, cost, every, full_parts, cfg) for cfg in grid}
    loto_hits = np.zeros(len(every), bool)
    loto_toks = np.zeros(len(every), int)
    fixed = {cfg: (np.zeros(len(every), bool), np.zeros(len(every), int)) for cfg in grid}
    for t in names:
        held = [i for i in every if d.topics[i] == t]
        lists = situation_lists(d, t)
        held_parts = parts(d, lists, held)
        train = topics != t
        best = max(
            grid,
            key=lambda g: bar_objective({"hits": insample[g][0], "tokens": insample[g][1]}, train),
        )
        for cfg in grid:
            h, k = evaluate(d, cost, held, held_parts, cfg)
            fixed[cfg][0][held], fixed[cfg][1][held] = h, k
            if cfg == best:
                loto_hits[held], loto_toks[held] = h, k
        print(f"{t:22s} chose {best}  recall {loto_hits[held].mean():.3f}", flush=True)
    print(
        f"\nLOTO (constants chosen on 9, table less the 10th): recall {loto_hits.mean():.3f} "
        f"median {statistics.median(loto_toks)}"
    )
    print(f"{'config':40s} {'in-sample':>18s} {'table LOTO':>18s}")
    for cfg in grid:
        h, k = insample[cfg]
        lh, lk = fixed[cfg]
        print(
            f"{str(cfg):40s} {h.mean():.3f} ({statistics.median(k):5.0f})   "
            f"{lh.mean():.3f} ({statistics.median(lk):5.0f})"
        )


if __name__ == "__main__":
    main()
