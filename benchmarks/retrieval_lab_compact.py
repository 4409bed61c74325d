"""Retrieval lab, the compact block: tokens at the same beliefs, and the block as the request
path renders it.

`Block.measure` replays what `memory.inject.plan` and `memory.inject.render` do with the cut's
candidates: near-identical candidates (statement cosine >= NEAR_DUPLICATE) are rendered by the
line they repeat and stay among the injected beliefs (`compact.near_identical`), lines of one
context that open with the same words are folded (`compact.lines`), and the longest prefix
whose rendering with the shipped template fits the budget is kept (`render.fit`, tokens
counted exactly with o200k, as for gpt-4o-mini). `Block(compact=False)` is the render before
it: near-identical candidates dropped, one belief per line.

Run:  python benchmarks/retrieval_lab_compact.py [--example] [--cost]
      the saving at the same beliefs: every case's block under the shipped ranker and cut,
      rendered both ways, with no token ceiling and under the 400-token rule; `--example` an
      example block before/after; `--cost` the render step's CPU per request both ways (the
      near-identical pass and the fit, with a token counter that has seen every belief's own
      line but no folded one, as for a question never asked before).
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Sequence

import numpy as np
from retrieval_lab_data import Data, load

from memory.inject import budget, compact, render
from memory.models import ScoredBelief
from memory.prompts import PromptLibrary

MODEL = "gpt-4o-mini"


class Block:
    """Hit, tokens and beliefs of one case's block, rendered as the request path renders it."""

    def __init__(self, d: Data, compact_block: bool = True, template: str = "default") -> None:
        self.d = d
        self.compact = compact_block
        self.template = PromptLibrary().injection(template)
        self.counter = budget.BlockCounter()
        self.folder = compact.Folder()
        self._beliefs: dict[int, ScoredBelief] = {}
        self._measured: dict[tuple[tuple[int, ...], int], tuple[bool, int, int]] = {}

    def belief(self, b: int) -> ScoredBelief:
        found = self._beliefs.get(b)
        if found is None:
            found = self._beliefs[b] = ScoredBelief.model_construct(
                id=str(b),
                statement=self.d.prefs[b],
                context="preferences",
                confidence=0.9,
                score=0.0,
            )
        return found

    def render(
        self, u: Sequence[int], picked: Sequence[int], max_tokens: int
    ) -> tuple[render.Rendered, list[int]]:
        """The fitted block for the user's local beliefs `picked` (best first), and the local
        indices it stands for."""
        globals_ = [u[j] for j in picked]
        vectors = self.d.pvec[globals_]
        new, repeats = compact.near_identical(vectors @ vectors.T)
        if self.compact:
            positions = sorted([*new, *repeats])
            index_of = {p: n for n, p in enumerate(positions)}
            same_as = {index_of[p]: index_of[r] for p, r in repeats.items()}
        else:
            positions, same_as = new, None
        beliefs = [self.belief(globals_[p]) for p in positions]
        texts = [b.statement for b in beliefs]
        if self.compact:
            fitted = render.fit(
                self.template,
                beliefs,
                max_tokens,
                MODEL,
                texts,
                self.counter.count,
                same_as,
                self.folder,
            )
        else:
            fitted = _one_per_line(self.template, beliefs, max_tokens, self.counter)
        return fitted, [picked[positions[n]] for n in range(len(fitted.beliefs))]

    def measure(self, u: Sequence[int], picked: Sequence[int], max_tokens: int = 400):
        """(gold injected, tokens, beliefs injected); the gold is local belief 0."""
        key = (tuple(u[j] if j else -1 - u[0] for j in picked), max_tokens)
        found = self._measured.get(key)
        if found is None:
            fitted, local = self.render(u, picked, max_tokens)
            found = self._measured[key] = (0 in local, fitted.tokens, len(local))
        return found


def _one_per_line(template, beliefs, max_tokens, counter) -> render.Rendered:
    """The render before the compact block: one line per belief, longest fitting prefix."""
    size = len(beliefs)
    while size:
        lines = [render._Shown([b], b.statement, b.confidence) for b in beliefs[:size]]
        text = template.render(beliefs=lines)
        tokens = counter.count(text, MODEL)
        if tokens <= max_tokens:
            return render.Rendered(text, list(beliefs[:size]), tokens, size)
        size -= 1
    return render.Rendered("", [], 0)


def cost(d: Data, cases: list[tuple[list[int], list[int]]], rounds: int = 5) -> None:
    """CPU per request of the render step, before and after (best of `rounds` medians): the
    first time each question is asked (no folded line or part counted before), and again (as
    a user's beliefs come back in request after request)."""
    best: dict[str, float] = {}
    for _ in range(rounds):
        for name, compact_block in (("one per line", False), ("compact", True)):
            block = Block(d, compact_block)
            for b in range(len(d.prefs)):  # every belief's own line counted once, as warm
                block.render([b], [0], 100_000)
            for when in ("first", "again"):
                times = []
                for u, picked in cases:
                    t0 = time.process_time()
                    block.render(u, picked, 400)
                    times.append(time.process_time() - t0)
                key = f"{name}, {when}"
                best[key] = min(best.get(key, float("inf")), statistics.median(times) * 1e6)
    print(f"render step per request (median of {len(cases)} questions, best of {rounds}):")
    for name, us in best.items():
        print(f"  {name:20s} {us:7.1f} us")
    for when in ("first", "again"):
        added = best[f"compact, {when}"] - best[f"one per line, {when}"]
        print(f"  added, {when:13s} {added:7.1f} us")


def main() -> None:
    from retrieval_lab_linear import SHIPPED, USERS, features, order, shipped_vector

    d = load()
    w = shipped_vector()
    cut = ("std", SHIPPED.cut_stds)
    old, new = Block(d, False), Block(d, True)
    rows: dict[str, list[tuple[int, int, int, bool, bool]]] = {"ceiling": [], "400": []}
    example: tuple[int, str, str, str] | None = None
    cases = []
    for i in range(len(d.prefs)):
        u = USERS[i]
        picked = order(features(i, ()) @ w, cut)
        cases.append((u, picked))
        for label, budget_ in (("ceiling", 100_000), ("400", 400)):
            a, b = old.render(u, picked, budget_), new.render(u, picked, budget_)
            rows[label].append(
                (a[0].tokens, b[0].tokens, len(b[1]) - len(a[1]), 0 in a[1], 0 in b[1])
            )
            saved = a[0].tokens - b[0].tokens
            if label == "ceiling" and (example is None or saved > example[0]):
                example = (saved, d.queries[i], a[0].text, b[0].text)
    for label, r in rows.items():
        before = np.array([x[0] for x in r])
        after = np.array([x[1] for x in r])
        print(
            f"{'no ceiling' if label == 'ceiling' else 'max_tokens 400'}: tokens per block "
            f"before median {statistics.median(before)} mean {before.mean():.1f}, after median "
            f"{statistics.median(after)} mean {after.mean():.1f} (saving mean "
            f"{(before - after).mean():.1f}, {(1 - after.sum() / before.sum()) * 100:.1f}%); "
            f"beliefs gained mean {np.mean([x[2] for x in r]):.2f}; recall "
            f"{np.mean([x[3] for x in r]):.3f} -> {np.mean([x[4] for x in r]):.3f}"
        )
    if "--cost" in sys.argv:
        cost(d, cases)
    if example and "--example" in sys.argv:
        saved, question, before, after = example
        print(f"\nthe block that saved most ({saved} tokens), question: {question}")
        print(f"--- before\n{before}\n--- after\n{after}")


if __name__ == "__main__":
    main()
