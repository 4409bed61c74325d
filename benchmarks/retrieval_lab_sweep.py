"""Retrieval lab, sweep: scorer variants x cut policies x templates, with per-topic figures
and leave-one-topic-out (LOTO) choice of any fitted constant.

Same protocol as retrieval_lab.py (gold + 99 others, numpy seed 0), plus the pipeline's
near-duplicate collapse (statement cosine >= 0.92, memory/inject/plan.py) before the token fit.
Token counts are exact renders of the template with tiktoken o200k_base.

Run:  python benchmarks/retrieval_lab_sweep.py
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import jinja2
import numpy as np
import tiktoken
from retrieval_lab_data import ROOT, Data, load

import memory.inject.ranking as ranking
from memory.index.views import SITUATIONS, index_views
from memory.inject.ranking import Features, score_beliefs
from memory.prompts import as_data

SITUATION_INDEX = {s: i for i, s in enumerate(SITUATIONS)}

NEAR_DUPLICATE = 0.92
FEATS = Features(0.9, 30.0, "preferences")


def template(source: str) -> jinja2.Template:
    env = jinja2.Environment(trim_blocks=True, lstrip_blocks=True)
    env.filters["data"] = as_data
    return env.from_string(source)


class Cost:
    """Exact token cost of rendering a prefix of beliefs (line costs are additive here)."""

    def __init__(self, tpl: jinja2.Template, prefs: Sequence[str]) -> None:
        enc = tiktoken.get_encoding("o200k_base")
        self.enc, self.tpl = enc, tpl

        class B:
            def __init__(self, s: str) -> None:
                self.statement, self.context, self.confidence = s, "preferences", 0.9

        self.B = B
        self.header = self.count([])
        two = self.count([B(prefs[0]), B(prefs[1])])
        one = [self.count([B(p)]) for p in prefs]
        # First belief pays the context label; later ones only their line.
        self.first_extra = two - self.header - (one[0] - self.header) - (one[1] - self.header)
        self.line = np.array([o - self.header for o in one])
        self.label = -self.first_extra  # the context label, paid once

    def count(self, beliefs: list) -> int:
        return len(self.enc.encode(self.tpl.render(beliefs=beliefs).strip()))

    def fit(self, order: Sequence[int], budget: int) -> tuple[int, int]:
        """How many of `order` fit into `budget`, and their token count (0 if none)."""
        used, n = self.header, 0
        for j, b in enumerate(order):
            c = int(self.line[b]) if j == 0 else int(self.line[b]) - self.label
            if used + c > budget:
                break
            used, n = used + c, n + 1
        return n, (used if n else 0)


@dataclass
class Case:
    gold: int  # global index of the gold pref
    users: list[int]  # global indices, gold first
    score: np.ndarray  # per local belief


def views_for(
    d: Data, b: int, per_belief: int, clauses: bool, linked: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """Rows for belief b as memory.views.index_views picks them (statement, [clauses as
    statement-kind rows], situations); and each row's kind (0 statement, 1 clause, 2 situation).
    """
    texts = index_views(
        d.prefs[b],
        "preferences",
        statement_vector=d.pvec[b],
        situation_matrix=d.smat,
        per_belief=per_belief,
        linked=linked,
    )
    rows = [d.pvec[b]]
    kind = [0]
    if clauses and len(d.clause_vecs[b]):
        rows.extend(d.clause_vecs[b])
        kind.extend([1] * len(d.clause_vecs[b]))
    rows.extend(d.smat[SITUATION_INDEX[t]] for t in texts[1:])
    kind.extend([2] * (len(texts) - 1))
    return np.stack(rows), np.array(kind)


def score_cases(
    d: Data,
    *,
    per_belief: int = 3,
    clauses: bool = False,
    linked: bool = True,
    query_split: bool = False,
    **consts: float,
) -> list[Case]:
    saved = {k: getattr(ranking, k) for k in consts}
    for k, v in consts.items():
        setattr(ranking, k, v)
    cache = {b: views_for(d, b, per_belief, clauses, linked) for b in range(len(d.prefs))}
    out = []
    try:
        for i, u in enumerate(d.users):
            rows, owner, kinds = [], [], []
            for local, b in enumerate(u):
                r, k = cache[b]
                rows.append(r)
                kinds.append(k)
                owner.extend([local] * len(r))
            vm = np.concatenate(rows)
            kw = {}
            if clauses:
                kw["view_kind"] = np.concatenate(kinds)
            q = d.qvec[i][None, :] if not query_split else d.query_rows[i]
            s = score_beliefs(q, vm, np.array(owner), [FEATS] * len(u), min_confidence=0.3, **kw)
            out.append(Case(i, u, s))
    finally:
        for k, v in saved.items():
            setattr(ranking, k, v)
    return out


def dedupe(d: Data, u: list[int], order: list[int]) -> list[int]:
    picked: list[int] = []
    for j in order:
        v = d.pvec[u[j]]
        if any(float(v @ d.pvec[u[p]]) >= NEAR_DUPLICATE for p in picked):
            continue
        picked.append(j)
    return picked


Policy = Callable[[np.ndarray], int]  # sorted scores (desc) -> how many to keep


def evaluate(
    d: Data, cases: list[Case], policy: Policy, cost: Cost, *, top_k: int, max_tokens: int
) -> dict:
    hits, toks, kept = [], [], []
    for c in cases:
        order = [int(j) for j in np.argsort(-c.score, kind="stable") if np.isfinite(c.score[j])]
        k = min(policy(c.score[order]), top_k)
        order = dedupe(d, c.users, order[:k])
        glob = [c.users[j] for j in order]
        n, t = cost.fit(glob, max_tokens)
        hits.append(0 in order[:n])
        toks.append(t)
        kept.append(n)
    return {"hits": np.array(hits), "tokens": np.array(toks), "kept": np.array(kept)}


def summary(r: dict) -> str:
    t = r["tokens"]
    return (
        f"recall {r['hits'].mean():.3f}  median {statistics.median(t):5.0f}  "
        f"p90 {np.percentile(t, 90):5.0f}  mean {t.mean():5.0f}  "
        f"median kept {statistics.median(r['kept']):.0f}"
    )


def per_topic(d: Data, r: dict) -> dict[str, float]:
    topics = np.array(d.topics)
    return {t: float(r["hits"][topics == t].mean()) for t in sorted(set(d.topics))}


# -- cut policies --------------------------------------------------------------------------


def fixed(k: int) -> Policy:
    return lambda s: k


def std_cut(c: float, min_keep: int = 3) -> Policy:
    def f(s: np.ndarray) -> int:
        return max(min_keep, int((s >= s[0] - c * s.std()).sum()))

    return f


def gap_cut(delta: float, min_keep: int = 1) -> Policy:
    return lambda s: max(min_keep, int((s >= s[0] - delta).sum()))


def mass_cut(temp: float, mass: float, min_keep: int = 1) -> Policy:
    def f(s: np.ndarray) -> int:
        p = np.exp((s - s[0]) / temp)
        cum = np.cumsum(p) / p.sum()
        return max(min_keep, int(np.searchsorted(cum, mass) + 1))

    return f


def zmass_cut(temp: float, mass: float, min_keep: int = 1) -> Policy:
    """Softmax mass over scores standardized by this query's own spread (scale-free)."""

    def f(s: np.ndarray) -> int:
        z = (s - s[0]) / max(float(s.std()), 1e-6)
        p = np.exp(z / temp)
        cum = np.cumsum(p) / p.sum()
        return max(min_keep, int(np.searchsorted(cum, mass) + 1))

    return f


def loto(
    d: Data, candidates: dict[str, dict], objective: Callable[[dict, np.ndarray], float]
) -> dict:
    """Leave-one-topic-out: for each topic choose the candidate best on the other topics,
    report its figures on the held-out topic; merge into one result."""
    topics = np.array(d.topics)
    hits = np.zeros(len(topics), bool)
    toks = np.zeros(len(topics), int)
    kept = np.zeros(len(topics), int)
    chosen = {}
    for t in sorted(set(d.topics)):
        train = topics != t
        best = max(candidates, key=lambda name: objective(candidates[name], train))
        chosen[t] = best
        r = candidates[best]
        hits[~train], toks[~train], kept[~train] = (
            r["hits"][~train],
            r["tokens"][~train],
            r["kept"][~train],
        )
    return {"hits": hits, "tokens": toks, "kept": kept, "chosen": chosen}


def bar_objective(r: dict, mask: np.ndarray) -> float:
    """Recall if median tokens <= 250 on the training topics, else heavily penalized."""
    med = float(np.median(r["tokens"][mask]))
    return float(r["hits"][mask].mean()) - (0 if med <= 250 else 1 + med / 1000)


TEMPLATES = {
    "old_default": (ROOT / "prompts" / "inject_default.j2").read_text(),
}


if __name__ == "__main__":
    data = load()
    print(len(data.prefs), "cases")
