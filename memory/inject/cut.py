"""The adaptive cut: how many of the best-scored beliefs a request keeps, and why."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["CUT_MAX", "CUT_STDS", "CUT_TOKENS", "MIN_KEEP", "CutInfo", "cut", "cut_explained"]

# Adaptive cut: keep beliefs within this many standard deviations (of the user's scores for
# this query) of the best one. Scale-free, so it does not depend on the score's weights. A query
# with one clear match keeps a few beliefs; a vague one keeps its whole area (then CUT_MAX and
# the rule's max_tokens are the ceilings). Measured on PrefEval (benchmarks/retrieval_lab_sweep.py):
# 2.0 keeps a median of 15 of 100 beliefs, 2.5 keeps 23 for +2 points of recall.
# CUT_MAX caps how many beliefs the cut keeps (None: only the rule's top_k caps it). With the
# linear ranker's weights (memory.inject.ranking) and the compact block (memory.inject.compact),
# width and cap are the grid's best on the dev topics with the situation table less each
# topic's own entries, median tokens <= 250 in-sample too (benchmarks/retrieval_lab_linear.py
# --fit-cap; widths 2.0-3.0 x caps 14-26 and none; wider cuts went over 250): 3.0 wide capped
# at 16 gave 0.960 recall at a median of 244.5 tokens, but a preference learned from a chat
# (benchmarks/evolve.py, whose statements are longer) then took 254; capped at 15, 0.951 at
# 232.5 (0.958 at 234.5 in-sample, 0.951 at 234 with the weights fitted on the other nine
# topics) and 0.970 at 241 learned from a chat, both under the bar; before the compact block,
# 2.25 and 18 gave 0.945 at 238. The cap bounds what a crowded topic spends (about 250 tokens),
# where an outside measurement found the uncapped cut at 314 tokens. At 3.0 spreads an area
# stands out of the rest when it holds up to ~12% of the user's beliefs; a larger one is
# capped. `selfmodel eval` refits width and cap per held-out topic.
# The block's opening line then went from 23 tokens to 14 (same warning, no "from earlier
# chats", no "use what is relevant"), and the 9 tokens went to a 16th belief: on this machine
# (another CPU, another build of the int8 model) `selfmodel eval` went 0.949 at 233 -> 0.958
# at 236.5 in-sample, 0.951 at 228 -> 0.964 at 237.5 leave-one-topic-out; learned from a chat
# 0.960 at 240 -> 0.960 at 244.
# The cap counted beliefs, so what it spends follows the length of a topic's statements: on the
# dev topics 16 beliefs took from 206 to 272 tokens (topic medians), 4 of 10 above the bar's
# 250. CUT_TOKENS caps the block itself: the cut fills the block best first up to this many
# tokens (below the rule's max_tokens, which stays the ceiling), whatever a topic's wording
# costs. Set from the bar (median <= 250 injected tokens), five under it so another tokenizer's
# count does not cross it; not fitted. With it the count cap matters little, and 18 (the next
# value of `selfmodel eval`'s grid) spends the room a topic of short statements leaves: on the
# dev topics (benchmarks/retrieval_lab_tokens.py), `CUT_MAX` 16 uncapped 0.964 at 238.5 (topic
# medians up to 271.5), 18 with 240 / 245 / 250 tokens 0.956 at 231 / 0.958 at 235 / 0.960 at
# 240 (every topic median under 245).
CUT_STDS = 3.0
CUT_MAX: int | None = 18
CUT_TOKENS: int | None = 245
MIN_KEEP = 3


@dataclass(frozen=True)
class CutInfo:
    """Why the adaptive cut kept what it kept."""

    eligible: int  # beliefs that could be injected
    best: float  # the best score
    threshold: float  # scores below this were cut (best - CUT_STDS x spread)
    passed: int  # beliefs at or above the threshold (at least MIN_KEEP)
    kept: int  # after the caps (the rule's top_k, and Weights.cut_max when set)
    # (The token fit comes after the cut: `memory.inject.plan` adds its account, and
    # "cut_tokens" or "max_tokens" to stopped_by when it dropped beliefs.)
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
