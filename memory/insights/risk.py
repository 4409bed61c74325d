"""Churn risk per user, from belief drift: is the share of signals saying "you had me wrong"
rising?

Over a window (`insights.risk_window_days`) split in two halves, a user's signals are their
feedback scores, the beliefs they corrected or replaced themselves, and retractions (by the
user or by learning: they changed their mind). The negative ones are negative feedback,
corrections and retractions. Each half's share is

    negative / (signals + 2)

(two pseudo-signals of a content user, so one correction alone reads 1/3, not 1), and

    risk = 0.5 * later share + 0.5 * max(0, later share - earlier share)

in [0, 1]: high when the user is being misread now, higher when that is new. Users with no
negative signal in the later half are not listed. Requests per half are given as context.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

PSEUDO = 2


def _share(counts: Mapping[str, list[int]], half: int) -> tuple[float, int, int]:
    def n(name: str) -> int:
        return counts.get(name, [0, 0])[half]

    negative = n("negative") + n("corrected") + n("retracted")
    signals = n("feedback") + n("corrected") + n("retracted")
    return negative / (signals + PSEUDO), negative, signals


def at_risk(
    signals: Mapping[str, Mapping[str, list[int]]], *, min_risk: float, limit: int
) -> list[dict[str, Any]]:
    found: list[tuple[float, float, str, dict[str, Any]]] = []
    for user, counts in signals.items():
        earlier, _, _ = _share(counts, 0)
        later, negative, _ = _share(counts, 1)
        if negative == 0:
            continue
        trend = later - earlier
        risk = 0.5 * later + 0.5 * max(0.0, trend)
        if risk < min_risk:
            continue
        found.append(
            (
                -risk,
                -trend,
                user,
                {
                    "user": user,
                    "risk": round(risk, 4),
                    "negative_share": {"earlier": round(earlier, 4), "later": round(later, 4)},
                    "trend": round(trend, 4),
                    "inputs": {
                        name: {"earlier": pair[0], "later": pair[1]}
                        for name, pair in sorted(counts.items())
                    },
                },
            )
        )
    found.sort(key=lambda item: item[:3])
    return [item[3] for item in found[:limit]]
