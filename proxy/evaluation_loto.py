"""`selfmodel eval`'s leave-one-topic-out report: a general method or one fitted to this data?

Leave-one-topic-out (LOTO): the in-sample figure flatters anything written or fitted while
looking at this data. So for every topic of the file, the method is measured on that topic's
cases as if it had never been seen: the situation table loses every entry written from it
(`memory.index.views.DERIVED_FROM`; those cases' users are written again under the reduced
table), and the scoring weights (`memory.inject.ranking.Weights`: situation weight, cut width
and the cut's cap) are chosen on the other nine topics from a small grid (best recall with
median tokens <= BAR_TOKENS there). The weights are chosen on the nine topics' own unseen-topic
runs (each under the table less its own entries), nested: choosing them on in-sample runs,
where every topic's entries help, favours a heavy situation weight that the held-out topic,
without its entries, then pays for. On the dev topics (cut capped at 245 tokens) the
weights chosen in-sample gave 0.938 and those chosen nested 0.941, against 0.953 for the
default weights: a nine-topic grid fit is noise at this size; the defaults stay.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

# The injection bar (issue #12): recall at a median of at most this many injected tokens.
BAR_TOKENS = 250
# Weights the leave-one-topic-out fit chooses among (situation weight x cut width x the cut's
# cap on beliefs).
SITUATION_GRID = (0.15, 0.25, 0.4)
CUT_GRID = (2.25, 2.5, 3.0)
CUT_MAX_GRID: tuple[int | None, ...] = (16, 18, None)  # None: no cap but the rule's top_k


async def probe(runtime: Any, user: str, query: str, gold: str) -> tuple[bool, int, int]:
    """Hit, injected tokens and injected beliefs for one case under the current weights."""
    injection = await runtime.plan(
        tenant="eval",
        user=user,
        model="gpt-4o-mini",
        messages=[{"role": "user", "content": query}],
        headers={},
    )
    chosen = [b.id for b in injection.beliefs]
    return gold in chosen, injection.tokens, len(chosen)


def _figures(rows: Sequence[tuple[bool, int, int]]) -> dict[str, Any]:
    if not rows:
        return {"cases": 0, "recall": 0.0, "median_tokens": 0, "median_beliefs": 0}
    return {
        "cases": len(rows),
        "recall": round(sum(r[0] for r in rows) / len(rows), 4),
        "median_tokens": statistics.median(r[1] for r in rows),
        "median_beliefs": statistics.median(r[2] for r in rows),
    }


def _bar_objective(rows: Sequence[tuple[bool, int, int]]) -> float:
    """Recall if the median stays within BAR_TOKENS, else below any recall that does."""
    figures = _figures(rows)
    over = float(figures["median_tokens"]) - BAR_TOKENS
    return float(figures["recall"]) - (0.0 if over <= 0 else 1.0 + over / 1000)


async def loto(
    runtime: Any,
    cases: list[dict[str, Any]],
    users: list[list[int]],
    golds: list[str],
    preferences: list[str],
    echo: Callable[[str], None],
) -> dict[str, Any]:
    """Leave-one-topic-out beside in-sample, per topic (see the module docstring)."""
    from memory.index.views import DEFAULT_TABLE
    from memory.inject.ranking import DEFAULT_WEIGHTS, Weights
    from proxy.evaluation import write_user

    grid = [
        replace(DEFAULT_WEIGHTS, situation=w, cut_stds=c, cut_max=m)
        for w in SITUATION_GRID
        for c in CUT_GRID
        for m in CUT_MAX_GRID
    ]
    if DEFAULT_WEIGHTS not in grid:
        grid.append(DEFAULT_WEIGHTS)
    topic_of = [cases[members[0]]["topic"] for members in users]
    queries = [cases[members[0]]["query"] for members in users]
    echo(f"leave-one-topic-out: {len(grid)} weight settings x {len(users)} unseen-topic cases")
    runtime.set_weights(DEFAULT_WEIGHTS)
    insample = [await probe(runtime, f"case-{n}", queries[n], golds[n]) for n in range(len(users))]
    topics = sorted(set(topic_of))
    # unseen[w][n]: case n under weights w, its topic's table entries removed.
    unseen: dict[Weights, dict[int, tuple[bool, int, int]]] = {w: {} for w in grid}
    try:
        for topic in topics:
            runtime.use_situations(DEFAULT_TABLE.without(topic))
            for n in (n for n in range(len(users)) if topic_of[n] == topic):
                user = f"loto-{n}"
                gold = await write_user(runtime, user, preferences, users[n])
                for weights in grid:
                    runtime.set_weights(weights)
                    unseen[weights][n] = await probe(runtime, user, queries[n], gold)
    finally:
        runtime.use_situations(DEFAULT_TABLE)
        runtime.set_weights(DEFAULT_WEIGHTS)
    per_topic: dict[str, Any] = {}
    table_only: list[tuple[bool, int, int]] = []
    both: list[tuple[bool, int, int]] = []
    for topic in topics:
        held = [n for n in range(len(users)) if topic_of[n] == topic]
        train = [n for n in range(len(users)) if topic_of[n] != topic]
        chosen = (
            max(grid, key=lambda w: _bar_objective([unseen[w][n] for n in train]))
            if train
            else DEFAULT_WEIGHTS
        )
        fixed = [unseen[DEFAULT_WEIGHTS][n] for n in held]
        fitted = [unseen[chosen][n] for n in held]
        table_only.extend(fixed)
        both.extend(fitted)
        per_topic[topic] = {
            "in_sample": _figures([insample[n] for n in held]),
            "loto_table": _figures(fixed),
            "loto": _figures(fitted),
            "weights": {
                "situation": chosen.situation,
                "feedback": chosen.feedback,
                "cut_stds": chosen.cut_stds,
                "cut_max": chosen.cut_max,
            },
        }
    return {
        "in_sample": _figures(insample),
        "loto_table": _figures(table_only),
        "loto": _figures(both),
        "topics": per_topic,
    }


def _cell(figures: dict[str, Any]) -> str:
    return (
        f"{figures['recall']:.3f} ({figures['median_tokens']:>5}, {figures['median_beliefs']:>4})"
    )


def report(loto: dict[str, Any], echo: Callable[[str], None]) -> None:
    echo("")
    echo(
        "leave-one-topic-out: recall (median tokens, median beliefs); 'table' = the held-out "
        "topic's situation entries removed, default weights; 'LOTO' = that plus weights fitted "
        "on the other nine topics"
    )
    echo(f"{'topic':<22} {'cases':>5} {'in-sample':>22} {'table':>22} {'LOTO':>22}  weights")
    for topic, row in loto["topics"].items():
        w = row["weights"]
        echo(
            f"{topic:<22} {row['in_sample']['cases']:>5} {_cell(row['in_sample']):>22} "
            f"{_cell(row['loto_table']):>22} {_cell(row['loto']):>22}  "
            f"sit {w['situation']} cut {w['cut_stds']} max {w['cut_max'] or '-'}"
        )
    echo(
        f"{'all':<22} {loto['in_sample']['cases']:>5} {_cell(loto['in_sample']):>22} "
        f"{_cell(loto['loto_table']):>22} {_cell(loto['loto']):>22}"
    )
