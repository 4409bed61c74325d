"""The holdout experiment: per-arm figures and the lift of injecting the self-model.

The unit is the user, as the arms are drawn per user: a user's feedback scores are averaged
first, so a user who rates often does not weigh more, and the lift is Welch's t-test (unequal
variances, `scipy.stats.ttest_ind(equal_var=False)`) on those per-user means, with its
confidence interval for the difference treatment - holdout. A user seen in both arms in the
window (the percent or salt changed) belongs to neither and is counted in `mixed_users`.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
from scipy import stats  # type: ignore[import-untyped]

ARMS = ("treatment", "holdout")
METHOD = "welch_t"


def _num(x: float) -> float | None:
    return round(float(x), 6) if math.isfinite(x) else None


def mean_ci(values: Sequence[float], confidence: float) -> tuple[float | None, list[float] | None]:
    """The mean and its t interval (None with fewer than two values or no spread)."""
    if not values:
        return None, None
    data = np.asarray(values, dtype=float)
    mean = float(data.mean())
    if len(data) < 2:
        return _num(mean), None
    sem = float(stats.sem(data))
    if sem == 0:
        return _num(mean), [_num(mean) or 0.0, _num(mean) or 0.0]
    lo, hi = stats.t.interval(confidence, len(data) - 1, loc=mean, scale=sem)
    return _num(mean), [round(float(lo), 6), round(float(hi), 6)]


def compare(
    treatment: Sequence[float], holdout: Sequence[float], confidence: float = 0.95
) -> dict[str, Any]:
    """Welch's t-test of treatment - holdout: the difference, its interval and p-value."""
    t = np.asarray(treatment, dtype=float)
    h = np.asarray(holdout, dtype=float)
    out: dict[str, Any] = {
        "feedback_mean": None,
        "ci": None,
        "p_value": None,
        "method": METHOD,
        "unit": "user",
        "confidence": confidence,
        "n": {"treatment": len(t), "holdout": len(h)},
    }
    if len(t) and len(h):
        out["feedback_mean"] = _num(float(t.mean() - h.mean()))
    if len(t) < 2 or len(h) < 2:
        out["note"] = "needs feedback from at least 2 users in each arm"
        return out
    result = None if np.ptp(t) == 0 and np.ptp(h) == 0 else stats.ttest_ind(t, h, equal_var=False)
    if result is None or not math.isfinite(float(result.pvalue)):
        out["note"] = "no spread in either arm's feedback: no test"
        return out
    interval = result.confidence_interval(confidence)
    out.update(
        ci=[round(float(interval.low), 6), round(float(interval.high), 6)],
        p_value=_num(float(result.pvalue)),
        t=_num(float(result.statistic)),
        df=_num(float(result.df)),
    )
    return out


def _arm_of_users(requests: Iterable[tuple[str, str, int]]) -> tuple[dict[str, str], int]:
    arms: dict[str, set[str]] = defaultdict(set)
    for user, arm, _ in requests:
        arms[user].add(arm)
    single = {user: next(iter(a)) for user, a in arms.items() if len(a) == 1}
    return single, len(arms) - len(single)


def summarize(
    requests: Sequence[tuple[str, str, int]],
    feedback: Sequence[tuple[str, str, float, str]],
    corrections: Mapping[str, int],
    daily: Sequence[tuple[str, str, int, int]],
    confidence: float,
) -> dict[str, Any]:
    """`arms`, `lift` and `timeline` from the ledger's rows (`memory.ledger.insights`)."""
    arm_of, mixed = _arm_of_users(requests)
    counts = {arm: {"users": 0, "requests": 0, "corrections": 0} for arm in ARMS}
    for user, arm, n in requests:
        if arm_of.get(user) == arm:
            counts[arm]["requests"] += n
    for user, arm in arm_of.items():
        counts[arm]["users"] += 1
        counts[arm]["corrections"] += corrections.get(user, 0)
    scores: dict[str, dict[str, list[float]]] = {arm: defaultdict(list) for arm in ARMS}
    for user, arm, score, _ in feedback:
        if arm_of.get(user) == arm:
            scores[arm][user].append(score)
    arms: dict[str, Any] = {}
    user_means: dict[str, list[float]] = {}
    for arm in ARMS:
        per_user = scores[arm]
        user_means[arm] = [sum(v) / len(v) for v in per_user.values()]
        every = [s for v in per_user.values() for s in v]
        mean, ci = mean_ci(user_means[arm], confidence)
        c = counts[arm]
        arms[arm] = {
            "users": c["users"],
            "requests": c["requests"],
            "feedback_n": len(every),
            "feedback_users": len(per_user),
            "feedback_mean": mean,
            "feedback_ci": ci,
            "negative_rate": round(sum(s < 0 for s in every) / len(every), 6) if every else None,
            "corrections": c["corrections"],
            "correction_rate": round(c["corrections"] / c["requests"], 6)
            if c["requests"]
            else None,
        }
    return {
        "arms": arms,
        "mixed_users": mixed,
        "lift": compare(user_means["treatment"], user_means["holdout"], confidence),
        "timeline": timeline(daily, feedback),
    }


def timeline(
    daily: Sequence[tuple[str, str, int, int]], feedback: Sequence[tuple[str, str, float, str]]
) -> list[dict[str, Any]]:
    """Per UTC day and arm: requests, users, feedback count and mean (for the chart)."""

    def empty() -> dict[str, dict[str, Any]]:
        return {a: {"requests": 0, "users": 0, "feedback_n": 0, "score_sum": 0.0} for a in ARMS}

    days: dict[str, dict[str, dict[str, Any]]] = defaultdict(empty)
    for day, arm, n, users in daily:
        days[day][arm]["requests"] = n
        days[day][arm]["users"] = users
    for _, arm, score, day in feedback:
        days[day][arm]["feedback_n"] += 1
        days[day][arm]["score_sum"] += score
    out = []
    for day in sorted(days):
        row: dict[str, Any] = {"day": day}
        for arm in ARMS:
            cell = days[day][arm]
            total = cell.pop("score_sum")
            n = cell["feedback_n"]
            cell["feedback_mean"] = round(total / n, 6) if n else None
            row[arm] = cell
        out.append(row)
    return out
