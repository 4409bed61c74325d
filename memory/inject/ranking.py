"""Pure scoring of a user's beliefs against a request: which beliefs to inject, best first.

How a belief is scored (all vectors L2-normalized, so dot products are cosines)
    1. Statement: cosine of the query with the belief's own text (its first view).
    2. Situations: the best cosine of the query with the everyday situations the belief was
       attached to when written (its later views, see `memory.index.views`). This routes the
       query to
       an area of the user's model: "restaurants in Bangkok" reaches "I have a peanut allergy"
       through "diet, nutrition and allergies" although the two texts share no word.
    3. Neighbourhood: a small pull towards the centroid of the best few beliefs (pseudo-relevance
       feedback over the user's own beliefs). Preferences about one area sit close together, so
       this lifts an on-topic belief whose wording is far from the query.
    4. Confidence and recency nudge the score (a belief held at 0.4 or last seen a year ago still
       beats an irrelevant one, but loses a tie), and beliefs under `min_confidence` are dropped.
    Then an adaptive cut keeps the beliefs scoring close to the best, up to `top_k` (and
    `Weights.cut_max` when set): a query with one clear match injects little, a vague one
    ("what should I watch?") gets the whole area.

No LLM and no model call here: a user's few hundred view vectors are one matrix product
(well under a millisecond), so this fits the per-request budget beside the query embedding.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = [
    "DEFAULT_WEIGHTS",
    "CutInfo",
    "FeatureArrays",
    "Features",
    "Scored",
    "Weights",
    "cut",
    "cut_explained",
    "rank",
    "score_beliefs",
    "score_indexed",
]

# Weight of the situation match relative to the statement match. Routing reaches beliefs whose
# words are far from a vague request, but the statement must still order beliefs within an area,
# and the situation table was written while reading the dev topics: the weight it gets is what a
# topic nobody tuned on loses. 0.4 rather than 0.8 narrows in-sample vs leave-one-topic-out from
# 0.956 vs 0.915 (at 249 and 214 tokens, cut 2.0) to 0.947 vs 0.930 (243 and 233, cut 2.25);
# with users crowded in the gold's topic, LOTO 0.902 at 382 -> 0.907 at 388
# (benchmarks/retrieval_lab_ideas.py). `selfmodel eval`'s nine-topic fit chooses it for half of
# the topics.
SITUATION_WEIGHT = 0.4
# Pseudo-relevance feedback: how many top beliefs form the centroid, and its weight.
FEEDBACK_TOP = 5
FEEDBACK_WEIGHT = 0.3
# Earlier user turns add context but must not outvote the latest message (several query
# vectors, when a caller passes them; the hot path embeds one text, `memory.inject.query`).
EARLIER_TURN_WEIGHT = 0.85
# Modest nudges: the largest possible penalty (0.10 + 0.05) is below the typical gap between an
# on-topic and an off-topic belief (~0.3), so they reorder near-ties only.
CONFIDENCE_WEIGHT = 0.10
RECENCY_WEIGHT = 0.05
RECENCY_HALF_LIFE_DAYS = 180.0
# Adaptive cut: keep beliefs within this many standard deviations (of the user's scores for
# this query) of the best one. Scale-free, so it does not depend on the weights above. A query
# with one clear match keeps a few beliefs; a vague one keeps its whole area (then the rule's
# max_tokens is the hard ceiling). Measured on PrefEval (benchmarks/retrieval_lab_sweep.py):
# 2.0 keeps a median of 15 of 100 beliefs, 2.5 keeps 23 for +2 points of recall. With the
# situation weight at 0.4 the scores spread less, so the cut is 2.25 wide (a median of 15).
# CUT_MAX can cap how many beliefs the cut keeps (None: only the rule's top_k caps it). Off by
# default: a cap trades recall for tokens along one curve, and where a topic is crowded it costs
# recall most. Measured leave-one-topic-out on the dev topics (benchmarks/retrieval_lab_ideas.py),
# 2.0 uncapped: 0.915 recall at a median of 214 tokens (p90 383); 2.25 capped at 16: 0.924 at
# 230 (p90 286). With users crowded in the gold's topic (25 of 100 beliefs, --crowded): 0.902
# at 382 uncapped, 0.824 at 260 capped at 16. `selfmodel eval` fits it per held-out topic.
CUT_STDS = 2.25
CUT_MAX: int | None = None
MIN_KEEP = 3


@dataclass(frozen=True)
class Weights:
    """The constants the hot path scores and cuts with; `selfmodel eval` refits them per
    held-out topic (leave-one-topic-out) to show what fitting them is worth."""

    situation: float = SITUATION_WEIGHT
    feedback: float = FEEDBACK_WEIGHT
    cut_stds: float = CUT_STDS
    cut_max: int | None = CUT_MAX


DEFAULT_WEIGHTS = Weights()


@dataclass(frozen=True)
class Features:
    confidence: float
    age_days: float
    context: str


@dataclass(frozen=True)
class FeatureArrays:
    """`Features` of all a user's beliefs as arrays: the hot path scores them without a loop."""

    confidence: np.ndarray  # float64, one per belief
    age_days: np.ndarray

    @classmethod
    def of(cls, features: Sequence[Features] | FeatureArrays) -> FeatureArrays:
        if isinstance(features, FeatureArrays):
            return features
        return cls(
            np.array([f.confidence for f in features], dtype=np.float64),
            np.array([f.age_days for f in features], dtype=np.float64),
        )

    def __len__(self) -> int:
        return len(self.confidence)


def _priors(features: FeatureArrays) -> np.ndarray:
    # Additive and at most 0 so a fully confident, fresh belief is scored by similarity alone.
    confidence = np.clip(features.confidence, 0.0, 1.0)
    age = np.maximum(features.age_days, 0.0)
    recency = np.exp(-age * math.log(2.0) / RECENCY_HALF_LIFE_DAYS)
    return (CONFIDENCE_WEIGHT * (confidence - 1.0) + RECENCY_WEIGHT * (recency - 1.0)).astype(
        np.float32
    )


def score_beliefs(
    query_vectors: np.ndarray,
    view_matrix: np.ndarray,
    view_owner: np.ndarray,
    features: Sequence[Features] | FeatureArrays,
    *,
    min_confidence: float,
) -> np.ndarray:
    """Relevance of every belief to the request; -inf for beliefs that must not be injected.

    `view_matrix` holds one row per view, `view_owner[i]` the belief index of row i; a belief's
    first row (in row order) is its statement, later rows are its situations.
    """
    n = len(features)
    queries = np.atleast_2d(np.asarray(query_vectors, dtype=np.float32))
    views = np.asarray(view_matrix, dtype=np.float32)
    owner = np.asarray(view_owner, dtype=np.int64)
    score = np.full(n, -np.inf, dtype=np.float32)
    if n == 0 or queries.shape[0] == 0 or views.shape[0] == 0:
        return score

    # First row of each belief is its statement; np.unique gives first occurrences.
    owners, first_rows = np.unique(owner, return_index=True)
    statement_row = np.full(n, -1, dtype=np.int64)
    statement_row[owners] = first_rows
    present = statement_row >= 0
    is_situation = np.ones(len(owner), dtype=bool)
    is_situation[first_rows] = False

    sims = views @ queries.T  # (rows, queries)
    statement = np.full((n, queries.shape[0]), -1.0, dtype=np.float32)
    statement[present] = sims[statement_row[present]]
    situation = np.full_like(statement, -np.inf)
    np.maximum.at(situation, owner[is_situation], sims[is_situation])
    # A belief indexed under its statement alone is its own situation.
    situation = np.where(np.isfinite(situation), situation, statement)
    per_query = statement + SITUATION_WEIGHT * situation
    weights = np.full(queries.shape[0], EARLIER_TURN_WEIGHT, dtype=np.float32)
    weights[0] = 1.0
    raw = (per_query * weights).max(axis=1)

    arrays = FeatureArrays.of(features)
    eligible = present & (arrays.confidence >= min_confidence)
    if not eligible.any():
        return score
    raw = np.where(eligible, raw, -np.inf)

    # Centroid of the best few statements; only eligible beliefs vote.
    k = min(FEEDBACK_TOP, int(eligible.sum()))
    top = np.argpartition(-raw, k - 1)[:k]
    stmt_vecs = np.zeros((n, views.shape[1]), dtype=np.float32)
    stmt_vecs[present] = views[statement_row[present]]
    centroid = stmt_vecs[top].mean(axis=0)
    raw = raw + FEEDBACK_WEIGHT * (stmt_vecs @ centroid)
    raw = raw + _priors(arrays)
    return np.where(eligible, raw, -np.inf).astype(np.float32)


@dataclass(frozen=True)
class Scored:
    """Every belief's score and the parts it is the sum of (for preview and the audit).

    `total = statement + weights.situation * situation (times the turn weight of the request
    text that matched best) + neighbourhood + prior`; -inf in `total` for beliefs not eligible.
    """

    total: np.ndarray
    statement: np.ndarray  # cosine with the best-matching request text
    situation: np.ndarray  # best cosine of that text with one of the belief's situations
    situation_row: np.ndarray  # which row of the situation table (-1: the statement itself)
    turn: np.ndarray  # which request text matched (0 the latest user turn)
    neighbourhood: np.ndarray
    prior: np.ndarray

    def parts(self, i: int, situation_texts: Sequence[str]) -> dict[str, Any]:
        row = int(self.situation_row[i])
        return {
            "statement": round(float(self.statement[i]), 4),
            "situation": round(float(self.situation[i]), 4),
            "situation_text": situation_texts[row] if 0 <= row < len(situation_texts) else None,
            "turn": int(self.turn[i]),
            "neighbourhood": round(float(self.neighbourhood[i]), 4),
            "prior": round(float(self.prior[i]), 4),
        }


def score_indexed(
    query_vectors: np.ndarray,
    statements: np.ndarray,
    situation_table: np.ndarray,
    situation_index: np.ndarray,
    features: Sequence[Features] | FeatureArrays,
    *,
    min_confidence: float,
    allowed: np.ndarray | None = None,
    weights: Weights = DEFAULT_WEIGHTS,
) -> np.ndarray:
    """`score_parts(...).total`."""
    return score_parts(
        query_vectors,
        statements,
        situation_table,
        situation_index,
        features,
        min_confidence=min_confidence,
        allowed=allowed,
        weights=weights,
    ).total


def score_parts(
    query_vectors: np.ndarray,
    statements: np.ndarray,
    situation_table: np.ndarray,
    situation_index: np.ndarray,
    features: Sequence[Features] | FeatureArrays,
    *,
    min_confidence: float,
    allowed: np.ndarray | None = None,
    weights: Weights = DEFAULT_WEIGHTS,
) -> Scored:
    """`score_beliefs` for the compact layout the hot path keeps in memory, with its parts.

    A belief's situation views are shared rows of `situation_table`, named by
    `situation_index` (beliefs x slots, -1 for an empty slot), so each query is scored against
    the situation list once instead of once per belief. `allowed` masks beliefs out.
    """
    n = len(features)
    queries = np.atleast_2d(np.asarray(query_vectors, dtype=np.float32))
    empty = np.zeros(n, dtype=np.float32)
    none = np.full(n, -np.inf, dtype=np.float32)
    minus = np.full(n, -1, dtype=np.int64)
    if n == 0 or queries.shape[0] == 0:
        return Scored(none, empty, empty, minus, minus, empty, empty)
    statement = statements @ queries.T  # (beliefs, queries)
    table = situation_table @ queries.T  # (situations, queries)
    if situation_index.size:
        padded = np.vstack([table, np.full((1, table.shape[1]), -np.inf, dtype=np.float32)])
        slots = np.where(situation_index < 0, len(table), situation_index)
        gathered = padded[slots]  # (beliefs, slots, queries)
        best_slot = gathered.argmax(axis=1)
        situation = np.take_along_axis(gathered, best_slot[:, None, :], axis=1)[:, 0, :]
        best_row = np.take_along_axis(slots, best_slot, axis=1)
    else:
        situation = np.full_like(statement, -np.inf)
        best_row = np.full(statement.shape, len(table), dtype=np.int64)
    found = np.isfinite(situation)
    situation = np.where(found, situation, statement)
    best_row = np.where(found, best_row, -1)
    turn_weights = np.full(queries.shape[0], EARLIER_TURN_WEIGHT, dtype=np.float32)
    turn_weights[0] = 1.0
    per_query = (statement + weights.situation * situation) * turn_weights
    turn = per_query.argmax(axis=1)
    pick = np.arange(n)
    raw = per_query[pick, turn]
    arrays = FeatureArrays.of(features)
    eligible = arrays.confidence >= min_confidence
    if allowed is not None:
        eligible &= allowed
    parts = (statement[pick, turn], situation[pick, turn], best_row[pick, turn], turn)
    if not eligible.any():
        return Scored(none, *parts, empty, empty)
    raw = np.where(eligible, raw, -np.inf)
    k = min(FEEDBACK_TOP, int(eligible.sum()))
    top = np.argpartition(-raw, k - 1)[:k]
    neighbourhood = (weights.feedback * (statements @ statements[top].mean(axis=0))).astype(
        np.float32
    )
    prior = _priors(arrays)
    total = np.where(eligible, raw + neighbourhood + prior, -np.inf).astype(np.float32)
    return Scored(total, *parts, neighbourhood, prior)


@dataclass(frozen=True)
class CutInfo:
    """Why the adaptive cut kept what it kept."""

    eligible: int  # beliefs that could be injected
    best: float  # the best score
    threshold: float  # scores below this were cut (best - CUT_STDS x spread)
    passed: int  # beliefs at or above the threshold (at least MIN_KEEP)
    kept: int  # after the caps (the rule's top_k, and Weights.cut_max when set)
    # "score" (the threshold), "top_k" (the rule's cap), "cut_max" (the cut's own cap, when set
    # and below top_k), or "all" (every eligible belief kept)
    stopped_by: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "eligible": self.eligible,
            "best": round(self.best, 4),
            "threshold": round(self.threshold, 4),
            "passed": self.passed,
            "kept": self.kept,
            "stopped_by": self.stopped_by,
        }


def cut(
    score: np.ndarray, top_k: int, cut_stds: float = CUT_STDS, cut_max: int | None = CUT_MAX
) -> list[int]:
    """Eligible beliefs best first, cut adaptively to at most `top_k` (and `cut_max`)."""
    return cut_explained(score, top_k, cut_stds, cut_max)[0]


def cut_explained(
    score: np.ndarray, top_k: int, cut_stds: float = CUT_STDS, cut_max: int | None = CUT_MAX
) -> tuple[list[int], CutInfo]:
    """`cut`, and why it stopped where it did."""
    order = np.argsort(-score, kind="stable")
    order = order[np.isfinite(score[order])]
    if not order.size:
        return [], CutInfo(0, 0.0, 0.0, 0, 0, "all")
    spread = float(score[np.isfinite(score)].std()) if order.size > 1 else 0.0
    ranked = score[order]
    threshold = float(ranked[0]) - cut_stds * spread
    keep = ranked >= threshold
    keep[:MIN_KEEP] = True
    passed = int(keep.sum())
    cap = top_k if cut_max is None else min(top_k, max(cut_max, MIN_KEEP))
    chosen = [int(i) for i in order[keep][:cap]]
    if passed > cap:
        stopped = "top_k" if cap == top_k else "cut_max"
    elif passed == order.size:
        stopped = "all"
    else:
        stopped = "score"
    info = CutInfo(int(order.size), float(ranked[0]), threshold, passed, len(chosen), stopped)
    return chosen, info


def rank(
    query_vectors: np.ndarray,
    view_matrix: np.ndarray,
    view_owner: np.ndarray,
    features: Sequence[Features],
    *,
    top_k: int,
    min_confidence: float,
) -> list[tuple[int, float]]:
    """Return (belief index, score) best first, cut adaptively to at most `top_k`."""
    if top_k <= 0:
        return []
    score = score_beliefs(
        query_vectors, view_matrix, view_owner, features, min_confidence=min_confidence
    )
    return [(i, float(score[i])) for i in cut(score, top_k)]
