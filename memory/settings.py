"""The self-model's sections of `config.yaml`, as validated pydantic models.

`proxy.config` composes these with the HTTP side's sections into one schema.
Every model forbids unknown keys so a typo is an error that names its path.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

_CONTEXT_NAME = re.compile(r"^[a-z][a-z0-9_]{1,63}$")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ChromaServer(Strict):
    host: str
    port: int = 8000
    ssl: bool = False
    headers: dict[str, str] = Field(default_factory=dict)


class StoreConfig(Strict):
    path: str = "./.selfmodel"
    # The ledger (beliefs, evidence, audit, outbox): None keeps SQLite in `path`; a
    # `postgresql://user:pass@host:5432/db` URL (or `sqlite:///file`) puts it there.
    database: str | None = None
    chroma: ChromaServer | None = None
    # PostgreSQL only: the connections this process keeps at most (a thread holds one for a
    # transaction or a statement), and how long a thread waits when all are taken before
    # failing as a transient error (503).
    pool_size: int = Field(default=10, ge=1, le=1000)
    pool_timeout_seconds: float = Field(default=10.0, gt=0, le=600)
    user_cache_size: int = Field(default=4096, ge=0)
    user_cache_mb: float = Field(default=256, gt=0)


class EmbeddingConfig(Strict):
    model: str = "local"
    params: dict[str, object] = Field(default_factory=dict)
    batch_size: int = Field(default=32, ge=1, le=2048)


class ContextConfig(Strict):
    description: str
    half_life_days: float = Field(default=180.0, gt=0)
    prior: float = Field(default=0.5, gt=0, lt=1)
    # Core: its confident beliefs are injected whatever the request is about (rules with
    # `include_core`), e.g. how the user wants to be answered, or a diet they keep.
    core: bool = False


DEFAULT_CONTEXTS: dict[str, ContextConfig] = {
    "preferences": ContextConfig(
        description="What the user likes, dislikes or prefers: products, food, tools, "
        "formats, activities, ways of doing things.",
        half_life_days=365,
    ),
    "expertise": ContextConfig(
        description="What the user knows and does: profession, skills, experience level, "
        "domains they are expert or novice in.",
        half_life_days=730,
    ),
    "goals": ContextConfig(
        description="What the user is working toward: projects, plans, learning goals, "
        "events they prepare for.",
        half_life_days=90,
    ),
    "constraints": ContextConfig(
        description="Hard limits on what suits the user: diet, allergies, health, budget, "
        "schedule, location, accessibility, family situation.",
        half_life_days=730,
        core=True,
    ),
    "communication_style": ContextConfig(
        description="How the user wants to be answered: length, tone, format, language, "
        "level of detail.",
        half_life_days=365,
        core=True,
    ),
}

Position = Literal["system_prepend", "system_append", "before_last_user"]


class RuleMatch(Strict):
    model: str | None = None
    tenant: str | None = None
    user: str | None = None
    headers: dict[str, str] = Field(default_factory=dict)


class HoldoutConfig(Strict):
    """A deterministic share of users that gets no injection (the experiment's control arm).

    A user is held out when the hash of (tenant, user, salt), read as a number in [0, 1), is
    below `percent / 100`: raising the percent only moves users into the holdout, lowering it
    only moves them out, and a new salt draws a new holdout.
    """

    percent: float = Field(default=0.0, ge=0, le=100)
    salt: str = Field(default="holdout", min_length=1, max_length=200)


class InjectionRule(Strict):
    name: str
    match: RuleMatch = Field(default_factory=RuleMatch)
    enabled: bool = True
    contexts: list[str] | None = None
    top_k: int = Field(default=40, ge=0, le=200)
    min_confidence: float = Field(default=0.3, ge=0, le=1)
    max_tokens: int = Field(default=400, ge=0)
    position: Position = "system_prepend"
    template: str = "default"
    include_core: bool = True
    holdout: HoldoutConfig | None = None  # this rule's own holdout, else injection.holdout


class InjectionConfig(Strict):
    fail_closed: bool = False
    holdout: HoldoutConfig = Field(default_factory=HoldoutConfig)
    rules: list[InjectionRule] = Field(default_factory=lambda: [InjectionRule(name="default")])

    @field_validator("rules")
    @classmethod
    def _unique_names(cls, rules: list[InjectionRule]) -> list[InjectionRule]:
        names = [rule.name for rule in rules]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"rule names must be unique, repeated: {duplicates}")
        return rules


class ExtractionConfig(Strict):
    enabled: bool = True
    mode: Literal["local", "llm"] = "local"
    model: str | None = None
    gate: bool = True
    contexts: list[str] | None = None
    # Extraction jobs this process runs at once; 0: it only enqueues turns, and
    # `selfmodel worker` processes learn from them (and own an embedded Chroma index).
    workers: int = Field(default=2, ge=0, le=32)
    # Where `selfmodel serve` runs those jobs: `process`, a `selfmodel worker` child it
    # starts and restarts (learning off the requests' interpreter); `threads`, its own.
    learner: Literal["process", "threads"] = "process"
    # A claimed job is the claimant's for this long, renewed while it runs; a crashed
    # process's jobs go back to the queue when their lease runs out.
    lease_seconds: float = Field(default=30.0, ge=1, le=3600)
    max_attempts: int = Field(default=5, ge=1, le=100)
    backoff_seconds: float = Field(default=2.0, ge=0)
    related_beliefs: int = Field(default=12, ge=0, le=100)


class AuditConfig(Strict):
    retention_days: float = Field(default=30.0, ge=0)
    store_rendered: bool = True


class InsightsConfig(Strict):
    """`GET /v1/insights/*`: computed on demand, cached until the store changes."""

    min_users: int = Field(default=5, ge=2, le=10_000)  # k: no theme, no quote under k users
    theme_similarity: float = Field(default=0.5, gt=0, lt=1)
    weeks: int = Field(default=4, ge=1, le=52)
    risk_window_days: float = Field(default=28.0, gt=0, le=365)
    cache_seconds: float = Field(default=300.0, ge=0)
    confidence: float = Field(default=0.95, ge=0.5, lt=1)


class MemoryConfig(Strict):
    """The self-model's part of the config, handed to `memory` code."""

    store: StoreConfig = Field(default_factory=StoreConfig)
    embedding: EmbeddingConfig = Field(default_factory=EmbeddingConfig)
    contexts: dict[str, ContextConfig] = Field(default_factory=lambda: dict(DEFAULT_CONTEXTS))
    injection: InjectionConfig = Field(default_factory=InjectionConfig)
    extraction: ExtractionConfig = Field(default_factory=ExtractionConfig)
    audit: AuditConfig = Field(default_factory=AuditConfig)
    insights: InsightsConfig = Field(default_factory=InsightsConfig)
    prompts_dir: str | None = None

    @field_validator("contexts")
    @classmethod
    def _context_names(cls, contexts: dict[str, ContextConfig]) -> dict[str, ContextConfig]:
        if not contexts:
            raise ValueError("at least one observation context is required")
        for name in contexts:
            if not _CONTEXT_NAME.match(name):
                raise ValueError(
                    f"context name {name!r} must be lowercase letters, digits or _ "
                    "(2-64 characters, starting with a letter)"
                )
        return contexts

    @model_validator(mode="after")
    def _references_exist(self) -> MemoryConfig:
        known = set(self.contexts)
        for index, rule in enumerate(self.injection.rules):
            for name in rule.contexts or []:
                if name not in known:
                    raise ValueError(
                        f"injection.rules.{index}.contexts: unknown context {name!r} "
                        f"(declared: {sorted(known)})"
                    )
        for name in self.extraction.contexts or []:
            if name not in known:
                raise ValueError(
                    f"extraction.contexts: unknown context {name!r} (declared: {sorted(known)})"
                )
        return self
