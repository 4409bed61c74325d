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
    4. Shape: breadth (a belief indexed under more situations, such as a constraint linked to
       the areas it bears on, gains a little per situation), crowding (a belief with many close
       neighbours among the user's beliefs loses a little: one of twenty near-alike
       preferences says less than a lone one) and diminishing returns on the statement cosine.
    5. Confidence and recency nudge the score (a belief held at 0.4 or last seen a year ago still
       beats an irrelevant one, but loses a tie), and beliefs under `min_confidence` are dropped.
    The weights of 1-4 are a small linear ranker fitted leave-one-topic-out
    (benchmarks/retrieval_lab_linear.py), not chosen by hand.
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

from memory.inject.cut import CUT_MAX, CUT_STDS, CUT_TOKENS, MIN_KEEP, CutInfo, cut, cut_explained

__all__ = [
    "CUT_MAX",
    "CUT_STDS",
    "CUT_TOKENS",
    "DEFAULT_WEIGHTS",
    "MIN_KEEP",
    "CutInfo",
    "FeatureArrays",
    "Features",
    "Scored",
    "Weights",
    "cut",
    "crowding",
    "cut_explained",
    "rank",
    "score_beliefs",
    "score_indexed",
]

# The weights of the score's parts, relative to the statement cosine (weight 1). They are a
# linear ranker's: the log-probability of the stated preference under a softmax over the
# user's 100 beliefs, maximized on the dev topics with every case's features computed as if its
# topic were unseen (the situation table less the entries written from that topic), rounded
# (benchmarks/retrieval_lab_linear.py). Fitted on nine topics and measured on the tenth, for
# every topic, this ranker gave 0.943 recall at a median of 241 tokens (0.938 at 236 with the
# cut capped at 18, one belief per line) where the earlier hand weights (situation 0.4,
# neighbourhood 0.3, no shape terms) gave 0.930 at 233; the per-fold weights stay within about
# 0.1 of these. (With the compact block and its cut, memory.inject.cut, see there.)
# Situation: routing reaches beliefs whose words are far from a vague request, but the
# statement must still order beliefs within an area (the hand value was 0.4).
SITUATION_WEIGHT = 0.25
# Pseudo-relevance feedback: how many top beliefs form the centroid, and its weight. The best
# few are chosen by statement + FEEDBACK_SEED_SITUATION x situation (the earlier weight).
FEEDBACK_TOP = 5
FEEDBACK_WEIGHT = 0.45
FEEDBACK_SEED_SITUATION = 0.4
# Shape terms: per situation a belief is indexed under; times the mean cosine with its
# CROWDING_NEIGHBOURS nearest beliefs of the same user; times the statement cosine squared.
BREADTH_WEIGHT = 0.009
CROWDING_WEIGHT = -0.24
CROWDING_NEIGHBOURS = 5
CONCAVITY_WEIGHT = -0.28
# Earlier user turns add context but must not outvote the latest message (several query
# vectors, when a caller passes them; the hot path embeds one text, `memory.inject.query`).
EARLIER_TURN_WEIGHT = 0.85
# Modest nudges: the largest possible penalty (0.10 + 0.05) is below the typical gap between an
# on-topic and an off-topic belief (~0.3), so they reorder near-ties only.
CONFIDENCE_WEIGHT = 0.10
RECENCY_WEIGHT = 0.05
RECENCY_HALF_LIFE_DAYS = 180.0


@dataclass(frozen=True)
class Weights:
    """The constants the hot path scores and cuts with; `selfmodel eval` refits them per
    held-out topic (leave-one-topic-out) to show what fitting them is worth."""

    situation: float = SITUATION_WEIGHT
    feedback: float = FEEDBACK_WEIGHT
    cut_stds: float = CUT_STDS
    cut_max: int | None = CUT_MAX
    cut_tokens: int | None = CUT_TOKENS
    breadth: float = BREADTH_WEIGHT
    crowding: float = CROWDING_WEIGHT
    concavity: float = CONCAVITY_WEIGHT


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


def crowding(statements: np.ndarray, neighbours: int = CROWDING_NEIGHBOURS) -> np.ndarray:
    """Each belief's mean cosine with its `neighbours` nearest other beliefs (0 when alone).

    A property of the user's beliefs alone, not of the request (a snapshot can keep it).
    """
    vectors = np.asarray(statements, dtype=np.float32)
    n = len(vectors)
    k = min(neighbours, n - 1)
    if k <= 0:
        return np.zeros(n, dtype=np.float32)
    gram = vectors @ vectors.T
    np.fill_diagonal(gram, -np.inf)
    return np.partition(gram, n - k, axis=1)[:, n - k :].mean(axis=1).astype(np.float32)


@dataclass(frozen=True)
class Scored:
    """Every belief's score and the parts it is the sum of (for preview and the audit).

    `total = (statement + weights.situation * situation + concavity) (times the turn weight of
    the request text that matched best) + neighbourhood + shape + prior`, where `shape` is
    breadth plus crowding; -inf in `total` for beliefs not eligible.
    """

    total: np.ndarray
    statement: np.ndarray  # cosine with the best-matching request text
    situation: np.ndarray  # best cosine of that text with one of the belief's situations
    situation_row: np.ndarray  # which row of the situation table (-1: the statement itself)
    turn: np.ndarray  # which request text matched (0 the latest user turn)
    neighbourhood: np.ndarray
    prior: np.ndarray
    shape: np.ndarray  # breadth + crowding (weighted), a property of the belief in its user
    concavity: np.ndarray  # weights.concavity x statement^2 (times the turn weight)

    def parts(self, i: int, situation_texts: Sequence[str]) -> dict[str, Any]:
        row = int(self.situation_row[i])
        return {
            "statement": round(float(self.statement[i]), 4),
            "situation": round(float(self.situation[i]), 4),
            "situation_text": situation_texts[row] if 0 <= row < len(situation_texts) else None,
            "turn": int(self.turn[i]),
            "neighbourhood": round(float(self.neighbourhood[i]), 4),
            "shape": round(float(self.shape[i] + self.concavity[i]), 4),
            "prior": round(float(self.prior[i]), 4),
        }


def _combine(
    statement: np.ndarray,
    situation: np.ndarray,
    best_row: np.ndarray,
    vectors: np.ndarray,
    breadth: np.ndarray,
    eligible: np.ndarray,
    arrays: FeatureArrays,
    weights: Weights,
    crowded: np.ndarray | None,
) -> Scored:
    """The score from per-(belief, request text) cosines; see the module docstring."""
    n, texts = statement.shape
    empty = np.zeros(n, dtype=np.float32)
    turn_weights = np.full(texts, EARLIER_TURN_WEIGHT, dtype=np.float32)
    turn_weights[0] = 1.0
    curve = weights.concavity * statement * statement
    per_query = (statement + weights.situation * situation + curve) * turn_weights
    turn = per_query.argmax(axis=1)
    pick = np.arange(n)
    raw = per_query[pick, turn]
    parts = (statement[pick, turn], situation[pick, turn], best_row[pick, turn], turn)
    if not eligible.any():
        none = np.full(n, -np.inf, dtype=np.float32)
        return Scored(none, *parts, empty, empty, empty, empty)
    seed = np.where(eligible, parts[0] + FEEDBACK_SEED_SITUATION * parts[1], -np.inf)
    k = min(FEEDBACK_TOP, int(eligible.sum()))
    top = np.argpartition(-seed, k - 1)[:k]
    neighbourhood = (weights.feedback * (vectors @ vectors[top].mean(axis=0))).astype(np.float32)
    if crowded is None:
        crowded = crowding(vectors) if weights.crowding else empty
    shape = (weights.breadth * breadth + weights.crowding * crowded).astype(np.float32)
    prior = _priors(arrays)
    total = raw + neighbourhood + shape + prior
    total = np.where(eligible, total, -np.inf).astype(np.float32)
    concavity = (curve[pick, turn] * turn_weights[turn]).astype(np.float32)
    return Scored(total, *parts, neighbourhood, prior, shape, concavity)


def score_beliefs(
    query_vectors: np.ndarray,
    view_matrix: np.ndarray,
    view_owner: np.ndarray,
    features: Sequence[Features] | FeatureArrays,
    *,
    min_confidence: float,
    weights: Weights = DEFAULT_WEIGHTS,
) -> np.ndarray:
    """Relevance of every belief to the request; -inf for beliefs that must not be injected.

    `view_matrix` holds one row per view, `view_owner[i]` the belief index of row i; a belief's
    first row (in row order) is its statement, later rows are its situations.
    """
    n = len(features)
    queries = np.atleast_2d(np.asarray(query_vectors, dtype=np.float32))
    views = np.asarray(view_matrix, dtype=np.float32)
    owner = np.asarray(view_owner, dtype=np.int64)
    if n == 0 or queries.shape[0] == 0 or views.shape[0] == 0:
        return np.full(n, -np.inf, dtype=np.float32)
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
    vectors = np.zeros((n, views.shape[1]), dtype=np.float32)
    vectors[present] = views[statement_row[present]]
    breadth = np.bincount(owner[is_situation], minlength=n).astype(np.float32)
    arrays = FeatureArrays.of(features)
    eligible = present & (arrays.confidence >= min_confidence)
    rows = np.full(statement.shape, -1, dtype=np.int64)
    crowded = np.zeros(n, dtype=np.float32)
    if weights.crowding and present.any():
        crowded[present] = crowding(vectors[present])
    return _combine(
        statement, situation, rows, vectors, breadth, eligible, arrays, weights, crowded
    ).total


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
    crowded: np.ndarray | None = None,
    previous: np.ndarray | None = None,
) -> Scored:
    """`score_beliefs` for the compact layout the hot path keeps in memory, with its parts.

    A belief's situation views are shared rows of `situation_table`, named by
    `situation_index` (beliefs x slots, -1 for an empty slot), so each query is scored against
    the situation list once instead of once per belief. `allowed` masks beliefs out.
    `crowded`: `crowding(statements)` when the caller keeps it (computed here otherwise).
    `previous`: per belief, the statement vector of the belief it revised (zero rows for none):
    a revision's statement match is the better of its own and its old state's, so that what
    asked about the old state finds the new one ("I sold my car" for a car question).
    """
    n = len(features)
    queries = np.atleast_2d(np.asarray(query_vectors, dtype=np.float32))
    if n == 0 or queries.shape[0] == 0:
        empty = np.zeros(n, dtype=np.float32)
        minus = np.full(n, -1, dtype=np.int64)
        none = np.full(n, -np.inf, dtype=np.float32)
        return Scored(none, empty, empty, minus, minus, empty, empty, empty, empty)
    statement = statements @ queries.T  # (beliefs, queries)
    if previous is not None:
        revised = np.asarray(previous.any(axis=1))[:, None]
        statement = np.where(revised, np.maximum(statement, previous @ queries.T), statement)
    table = situation_table @ queries.T  # (situations, queries)
    if situation_index.size:
        padded = np.vstack([table, np.full((1, table.shape[1]), -np.inf, dtype=np.float32)])
        slots = np.where(situation_index < 0, len(table), situation_index)
        gathered = padded[slots]  # (beliefs, slots, queries)
        best_slot = gathered.argmax(axis=1)
        situation = np.take_along_axis(gathered, best_slot[:, None, :], axis=1)[:, 0, :]
        best_row = np.take_along_axis(slots, best_slot, axis=1)
        breadth = (situation_index >= 0).sum(axis=1).astype(np.float32)
    else:
        situation = np.full_like(statement, -np.inf)
        best_row = np.full(statement.shape, len(table), dtype=np.int64)
        breadth = np.zeros(n, dtype=np.float32)
    found = np.isfinite(situation)
    situation = np.where(found, situation, statement)
    best_row = np.where(found, best_row, -1)
    arrays = FeatureArrays.of(features)
    eligible = arrays.confidence >= min_confidence
    if allowed is not None:
        eligible &= allowed
    return _combine(
        statement, situation, best_row, statements, breadth, eligible, arrays, weights, crowded
    )


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
