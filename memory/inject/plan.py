"""The hot path: rule → retrieve → budget → render → insert. No LLM call, no blocking I/O
on the event loop (the retrieval step runs in a worker thread)."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import anyio

from memory.index.embed import Embedder
from memory.inject import budget, render
from memory.inject.ranking import cut, query_texts, score_indexed
from memory.inject.rules import Arm, arm, choose_rule
from memory.inject.snapshot import SnapshotCache
from memory.ledger.db import utcnow
from memory.models import ScoredBelief
from memory.prompts import PromptLibrary
from memory.settings import InjectionRule, MemoryConfig

log = logging.getLogger("selfmodel.injection")

# Beliefs closer than this to a better-ranked one say the same thing: keep one.
NEAR_DUPLICATE = 0.92
CORE_CONTEXTS = ("communication_style", "constraints")
CORE_MIN_CONFIDENCE = 0.85
CORE_MAX = 2


class MemoryDegraded(Exception):
    """The store or the embedder failed; the request may go on without memory."""


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
    ) -> None:
        self.config = config
        self.core = snapshots.core
        self.snapshots = snapshots
        self.embedder = embedder
        self.prompts = prompts

    async def plan(
        self,
        *,
        tenant: str,
        user: str | None,
        model: str,
        messages: list[dict[str, Any]],
        headers: Mapping[str, str],
        model_info: Mapping[str, Any] | None = None,
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
        started = time.perf_counter()
        try:
            chosen = await anyio.to_thread.run_sync(self._retrieve, tenant, user, rule, messages)
        except Exception as exc:  # noqa: BLE001 - fail open: forward without memory
            log.warning("memory retrieval failed: %s", exc)
            raise MemoryDegraded(f"{type(exc).__name__}: {exc}") from exc
        retrieved = time.perf_counter()
        template = self.prompts.injection(rule.template)
        limit = self._token_limit(rule, model, messages, model_info)
        fitted = render.fit(template, chosen, limit, model)
        done = time.perf_counter()
        return Injection(
            messages=render.insert(messages, fitted.text, rule.position),
            rule=rule.name,
            beliefs=fitted.beliefs,
            rendered=fitted.text or None,
            tokens=fitted.tokens,
            template=template.name,
            template_sha256=template.sha256,
            retrieve_ms=(retrieved - started) * 1000,
            render_ms=(done - retrieved) * 1000,
            arm=assigned,
        )

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

    def _retrieve(
        self, tenant: str, user: str, rule: InjectionRule, messages: list[dict[str, Any]]
    ) -> list[ScoredBelief]:
        snapshot = self.snapshots.get(tenant, user)
        if snapshot is None or not (snapshot.entries or snapshot.unembedded):
            return []
        texts = query_texts(messages)
        if not texts:
            return []
        queries = self.embedder.embed(texts)
        if not snapshot.entries:
            return []
        features = snapshot.features(utcnow())
        allowed = set(rule.contexts) if rule.contexts else None
        # Route by observation context before ranking, so other contexts take no places.
        mask = snapshot.in_contexts(allowed) if allowed is not None else None
        scores_all = score_indexed(
            queries,
            snapshot.statements,
            self.core.situation_matrix(),
            snapshot.situations,
            features,
            min_confidence=rule.min_confidence,
            allowed=mask,
        )
        ranked = cut(scores_all, rule.top_k)
        core = self._core(snapshot.entries, allowed) if rule.include_core else []
        scores = dict.fromkeys(core, 1.0)
        limit = rule.top_k + (CORE_MAX if rule.include_core else 0)
        candidates = core + [i for i in ranked if i not in scores]
        # Cosines among the few candidates at once; a candidate too close to one already
        # picked says the same thing.
        vectors = snapshot.statements[candidates]
        close = ((vectors @ vectors.T) >= NEAR_DUPLICATE).tolist()
        kept: list[int] = list(range(len(core)))
        for position in range(len(core), len(candidates)):
            if len(kept) >= limit:
                break
            if not any(close[position][earlier] for earlier in kept):
                kept.append(position)
                scores[candidates[position]] = float(scores_all[candidates[position]])
        picked = [candidates[position] for position in kept]
        return [
            ScoredBelief(
                id=snapshot.entries[i].id,
                statement=snapshot.entries[i].statement,
                context=snapshot.entries[i].context,
                confidence=round(snapshot.entries[i].confidence, 4),
                score=round(scores[i], 4),
            )
            for i in picked
        ]

    @staticmethod
    def _core(entries: list[Any], allowed: set[str] | None) -> list[int]:
        core = [
            (e.confidence, i)
            for i, e in enumerate(entries)
            if e.context in CORE_CONTEXTS
            and e.confidence >= CORE_MIN_CONFIDENCE
            and (allowed is None or e.context in allowed)
        ]
        return [i for _, i in sorted(core, reverse=True)[:CORE_MAX]]
