"""The hot path: rule → retrieve → budget → render → insert. No LLM call, no blocking I/O
on the event loop (the retrieval step runs in a worker thread)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import anyio
import numpy as np

from memory.errors import MemoryDegraded
from memory.index.embed import Embedder
from memory.inject import budget, compact, render
from memory.inject.query import query_texts
from memory.inject.ranking import DEFAULT_WEIGHTS, Weights, cut_explained, score_parts
from memory.inject.rules import Arm, arm, choose_rule
from memory.inject.snapshot import Snapshot, SnapshotCache
from memory.learn.revise import CONTRADICTS, contradicts
from memory.ledger.db import utcnow
from memory.models import ScoredBelief
from memory.prompts import PromptLibrary, Template
from memory.settings import InjectionRule, MemoryConfig

log = logging.getLogger("selfmodel.injection")

# Confident beliefs of the contexts the config marks `core` go in whatever the request.
CORE_MIN_CONFIDENCE = 0.85
CORE_MAX = 2
# Contradiction answers kept per snapshot, at most (a user's close pairs are far fewer).
KNOWN_PAIRS = 4096


def _contradict(snapshot: Snapshot, first: int, second: int, sim: float) -> bool:
    """Whether two entries contradict (read as text once per snapshot and pair)."""
    entries, known = snapshot.entries, snapshot.contradicting
    pair = (min(first, second), max(first, second))
    found = known.get(pair)
    if found is None:
        found = contradicts(entries[first].statement, entries[second].statement, sim)
        if len(known) < KNOWN_PAIRS:
            known[pair] = found
    return found


def _without_contradictions(
    picked: list[int], sims: np.ndarray, snapshot: Snapshot, candidates: list[int]
) -> list[int]:
    """Never two contradicting beliefs in one block: of such a pair the newer one stays.

    `picked`: positions in `candidates` (entry indices, best first); `sims`: the cosines among
    `picked`."""
    if len(picked) < 2:
        return picked
    entries = snapshot.entries
    dropped: set[int] = set()
    # Only pairs close enough to contradict are read as text (a handful of ~100 pairs), each
    # once per snapshot.
    for a, b in zip(*np.nonzero(np.triu(sims >= CONTRADICTS, k=1)), strict=True):
        a, b = int(a), int(b)
        if a in dropped or b in dropped:
            continue
        first, second = candidates[picked[a]], candidates[picked[b]]
        if _contradict(snapshot, first, second, float(sims[a, b])):
            dropped.add(a if entries[first].updated < entries[second].updated else b)
    return [i for position, i in enumerate(picked) if position not in dropped]


def _why(
    i: int,
    core: list[int],
    rank_of: dict[int, int],
    parts: Callable[[int, Sequence[str]], dict[str, Any]],
    names: Sequence[str],
    same_as: str | None,
) -> dict[str, Any]:
    """A belief's account in preview and the audit: core, or its rank and score parts (and,
    for one rendered by a near-identical belief's line, which one)."""
    if i in core:
        return {"via": "core"}
    why: dict[str, Any] = {"via": "score", "rank": rank_of[i], **parts(i, names)}
    if same_as is not None:
        why["same_as"] = same_as
    return why


class _RetrievalFailed(Exception):
    """Retrieval (not rendering) failed: the request goes on without memory."""


@dataclass
class _Selected:
    chosen: list[ScoredBelief]
    fitted: render.Rendered
    limit: int
    retrieve_ms: float
    render_ms: float


@dataclass
class Injection:
    messages: list[dict[str, Any]]
    rule: str | None = None
    beliefs: list[ScoredBelief] = field(default_factory=list)
    rendered: str | None = None
    tokens: int = 0
    template: str | None = None
    template_sha256: str | None = None
    retrieve_ms: float = 0.0
    render_ms: float = 0.0
    degraded_reason: str | None = None
    # Why the block holds what it holds: the adaptive cut, the near-duplicate collapse and the
    # token fit (see `Injector._explain`); also on the last injected belief's `why`.
    cut: dict[str, Any] | None = None
    arm: Arm | None = None  # None: no end user, so no experiment unit


def _context_window(model_info: Mapping[str, Any] | None) -> int | None:
    if not model_info:
        return None
    value = model_info.get("max_input_tokens") or model_info.get("max_tokens")
    return int(value) if isinstance(value, int | float) and value > 0 else None


class Injector:
    def __init__(
        self,
        config: MemoryConfig,
        snapshots: SnapshotCache,
        embedder: Embedder,
        prompts: PromptLibrary,
        situation_matrix: Callable[[], np.ndarray],
        situation_names: Callable[[], Sequence[str]],
    ) -> None:
        self.config = config
        self.snapshots = snapshots
        self.embedder = embedder
        self.prompts = prompts
        self.situation_matrix = situation_matrix
        self.situation_names = situation_names
        self.core_contexts = frozenset(n for n, c in config.contexts.items() if c.core)
        self.weights: Weights = DEFAULT_WEIGHTS
        self.tokens = budget.BlockCounter()
        self.folder = compact.Folder()

    async def plan(
        self,
        *,
        tenant: str,
        user: str | None,
        model: str,
        messages: list[dict[str, Any]],
        headers: Mapping[str, str],
        model_info: Mapping[str, Any] | None = None,
        inline: bool = False,
    ) -> Injection:
        rule = choose_rule(
            self.config.injection.rules, model=model, tenant=tenant, user=user, headers=headers
        )
        if user is None:
            return Injection(messages=messages, rule=rule.name if rule else None)
        # The holdout arm gets no injection; audit, feedback and learning go on as usual.
        assigned = arm(tenant, user, rule, self.config.injection.holdout)
        if rule is None or not rule.enabled or rule.top_k == 0 or assigned == "holdout":
            return Injection(messages=messages, rule=rule.name if rule else None, arm=assigned)
        cut_info: dict[str, Any] = {}
        template = self.prompts.injection(rule.template)
        try:
            # Retrieval, the token limit and the render in one hop off the event loop (or on
            # it, `inline`, for a request that has the process to itself).
            args = (tenant, user, rule, model, messages, model_info, template, cut_info)
            if inline:
                selected = self._select(*args)
            else:
                selected = await anyio.to_thread.run_sync(self._select, *args)
        except _RetrievalFailed as failed:  # fail open: forward without memory
            exc = failed.__cause__ or failed
            log.warning("memory retrieval failed: %s", exc)
            raise MemoryDegraded(f"{type(exc).__name__}: {exc}") from exc
        fitted = selected.fitted
        explained = self._explain(
            cut_info, fitted.beliefs, len(selected.chosen), selected.limit, fitted.lines
        )
        return Injection(
            messages=render.insert(messages, fitted.text, rule.position),
            rule=rule.name,
            beliefs=explained,
            rendered=fitted.text or None,
            tokens=fitted.tokens,
            template=template.name,
            template_sha256=template.sha256,
            retrieve_ms=selected.retrieve_ms,
            render_ms=selected.render_ms,
            cut=cut_info or None,
            arm=assigned,
        )

    def _select(
        self,
        tenant: str,
        user: str,
        rule: InjectionRule,
        model: str,
        messages: list[dict[str, Any]],
        model_info: Mapping[str, Any] | None,
        template: Template,
        cut_info: dict[str, Any],
    ) -> _Selected:
        """Retrieve, then fit the rendering into the budget (blocking: run in a thread)."""
        started = time.perf_counter()
        try:
            chosen, shown, same_as = self._retrieve(tenant, user, rule, messages, cut_info)
        except Exception as exc:  # noqa: BLE001 - told apart from a rendering failure
            raise _RetrievalFailed from exc
        retrieved = time.perf_counter()
        limit = self._token_limit(rule, model, messages, model_info)
        # The cut's own token target (`memory.inject.cut.CUT_TOKENS`) below the rule's ceiling.
        target = self.weights.cut_tokens
        fit_to = limit if target is None else min(limit, target)
        fitted = render.fit(
            template, chosen, fit_to, model, shown, self.tokens.count, same_as, self.folder
        )
        done = time.perf_counter()
        return _Selected(
            chosen, fitted, limit, (retrieved - started) * 1000, (done - retrieved) * 1000
        )

    def _explain(
        self,
        info: dict[str, Any],
        fitted: list[ScoredBelief],
        chosen: int,
        limit: int,
        lines: int = 0,
    ) -> list[ScoredBelief]:
        """Complete the cut's account with the token fit; the last belief carries it."""
        if not info:
            return fitted
        # Beliefs before the token fit (near-identical ones included: they are rendered by
        # the line they repeat), injected after it, and the lines those take.
        info["after_duplicates"] = chosen
        info["injected"] = len(fitted)
        info["lines"] = lines
        info["max_tokens"] = limit
        target = self.weights.cut_tokens
        if target is not None and target < limit:
            info["cut_tokens"] = target
        if len(fitted) < chosen:
            info["stopped_by"] = "cut_tokens" if "cut_tokens" in info else "max_tokens"
        if not fitted:
            return fitted
        last = fitted[-1]
        why = dict(last.why or {})
        why["cut"] = info
        return [*fitted[:-1], last.model_copy(update={"why": why})]

    def _token_limit(
        self,
        rule: InjectionRule,
        model: str,
        messages: list[dict[str, Any]],
        model_info: Mapping[str, Any] | None,
    ) -> int:
        window = _context_window(model_info)
        if window is None:
            return rule.max_tokens
        # Leave the reply room to breathe; shrink the injection rather than break the call.
        reserve = min(4096, window // 4)
        used = budget.estimate_request_tokens(
            messages, model, exact_above=window - reserve - rule.max_tokens
        )
        return max(0, min(rule.max_tokens, window - reserve - used))

    def retrieve(
        self,
        tenant: str,
        user: str,
        rule: InjectionRule,
        messages: list[dict[str, Any]],
        cut_info: dict[str, Any] | None = None,
    ) -> list[ScoredBelief]:
        """The beliefs a rule picks for these messages, best first, before the token fit."""
        return self._retrieve(tenant, user, rule, messages, cut_info)[0]

    def _retrieve(
        self,
        tenant: str,
        user: str,
        rule: InjectionRule,
        messages: list[dict[str, Any]],
        cut_info: dict[str, Any] | None = None,
    ) -> tuple[list[ScoredBelief], list[str], dict[int, int]]:
        """`retrieve`, each belief's statement as the block shows it (from the snapshot), and
        which beliefs repeat an earlier one (position -> that one's position)."""
        snapshot = self.snapshots.get(tenant, user)
        if snapshot is None or not (snapshot.entries or snapshot.unembedded):
            return [], [], {}
        texts = query_texts(messages)
        if not texts:
            return [], [], {}
        queries = self.embedder.embed(texts)
        if not snapshot.entries:
            return [], [], {}
        features = snapshot.features(utcnow())
        allowed = set(rule.contexts) if rule.contexts else None
        # Route by observation context before ranking, so other contexts take no places.
        mask = snapshot.in_contexts(allowed) if allowed is not None else None
        scored = score_parts(
            queries,
            snapshot.statements,
            self.situation_matrix(),
            snapshot.situations,
            features,
            min_confidence=rule.min_confidence,
            allowed=mask,
            weights=self.weights,
            crowded=snapshot.crowded,
            previous=snapshot.previous,
        )
        scores_all = scored.total
        ranked, info = cut_explained(
            scores_all, rule.top_k, self.weights.cut_stds, self.weights.cut_max
        )
        core = self._core(snapshot.entries, allowed) if rule.include_core else []
        scores = dict.fromkeys(core, 1.0)
        limit = rule.top_k + (CORE_MAX if rule.include_core else 0)
        candidates = core + [i for i in ranked if i not in scores]
        # Cosines among the few candidates at once; a candidate too close to one already
        # picked says the same thing: it is rendered by that one's line (`compact`).
        vectors = snapshot.statements[candidates]
        sims = vectors @ vectors.T
        new, repeats = compact.near_identical(sims, first=len(core))
        # The rule's top_k counts what the block says: beliefs that repeat one kept do not.
        if len(new) > limit:
            bound = new[limit]
            new = new[:limit]
            repeats = {p: r for p, r in repeats.items() if p < bound}
        kept = _without_contradictions(new, sims[np.ix_(new, new)], snapshot, candidates)
        survivors = set(kept)
        # A repeat goes with the line it repeats, unless that line went or the two contradict.
        repeating = {
            p: r
            for p, r in repeats.items()
            if r in survivors
            and not _contradict(snapshot, candidates[r], candidates[p], float(sims[r, p]))
        }
        positions = sorted(survivors | repeating.keys())
        picked = [candidates[p] for p in positions]
        index_of = {p: n for n, p in enumerate(positions)}
        same_as = {index_of[p]: index_of[r] for p, r in repeating.items()}
        for i in picked:
            if i not in scores:
                scores[i] = float(scores_all[i])
        if cut_info is not None:
            cut_info.update(info.as_dict())
            cut_info["core"] = len(core)
            cut_info["duplicates"] = len(same_as)
            cut_info["contradictions"] = len(new) - len(kept) + len(repeats) - len(repeating)
        names = self.situation_names()
        rank_of = {i: r for r, i in enumerate(ranked)}
        entries = snapshot.entries
        same_of = {picked[n]: entries[picked[r]].id for n, r in same_as.items()}
        # Built from the snapshot's own rows: no field to validate (~5 us a belief saved).
        chosen = [
            ScoredBelief.model_construct(
                id=entries[i].id,
                statement=entries[i].statement,
                context=entries[i].context,
                confidence=round(entries[i].confidence, 4),
                score=round(scores[i], 4),
                why=_why(i, core, rank_of, scored.parts, names, same_of.get(i)),
            )
            for i in picked
        ]
        return chosen, [entries[i].shown for i in picked], same_as

    def _core(self, entries: list[Any], allowed: set[str] | None) -> list[int]:
        core = [
            (e.confidence, i)
            for i, e in enumerate(entries)
            if e.context in self.core_contexts
            and e.confidence >= CORE_MIN_CONFIDENCE
            and (allowed is None or e.context in allowed)
        ]
        return [i for _, i in sorted(core, reverse=True)[:CORE_MAX]]
