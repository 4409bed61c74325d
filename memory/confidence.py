"""Confidence of a belief, computed from its evidence.

Every piece of evidence is a :class:`Signal`. Signals add log-odds to the prior; their effect
halves every ``half_life_days`` so a belief nobody reinforces drifts back to the prior. An
*anchor* (a confidence typed by the user in a correction, or asserted by the app) resets the
estimate: everything up to it is superseded, and only later evidence moves it again.
"""

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from types import MappingProxyType

# Log-odds added by one full-strength signal of each source (before its weight and decay).
# From a 0.5 prior: 0.5 -> ~62%, 0.6 -> ~65%, 1.0 -> ~73%, 2.0 -> ~88%, 4.0 -> ~98%.
# - stated: the user said it about themselves; the best evidence a conversation gives.
# - asserted: the app's onboarding answers are just as explicit as a statement.
# - inferred: an LLM's reading between the lines can be wrong, so half a statement.
# - feedback: a rating on a reply that used the belief says little about the belief itself.
# - observed: one click or choice is weak and noisy; it takes several to count.
# - corrected: the user fixing us must outweigh whatever we concluded before.
SOURCE_WEIGHTS: Mapping[str, float] = MappingProxyType(
    dict(stated=2.0, asserted=2.0, inferred=1.0, feedback=0.6, observed=0.5, corrected=4.0)
)

MIN_CONFIDENCE = 0.001
MAX_CONFIDENCE = 0.999
# One signal may move the estimate at most this far, whatever its weight: a runaway weight
# must not overflow the sum, and the cap sits far beyond what the clamp above can show.
MAX_SIGNAL_LOGODDS = 50.0


@dataclass(frozen=True)
class Signal:
    source: str
    polarity: int
    at: datetime
    weight: float = 1.0
    anchor: float | None = None

    def __post_init__(self) -> None:
        if self.polarity not in (1, -1):
            raise ValueError(f"polarity must be +1 or -1, got {self.polarity!r}")
        if not (math.isfinite(self.weight) and self.weight >= 0):
            raise ValueError(f"weight must be a finite number >= 0, got {self.weight!r}")
        if self.anchor is not None and not 0.0 <= self.anchor <= 1.0:
            raise ValueError(f"anchor must be within [0, 1], got {self.anchor!r}")
        _require_aware(self.at, "at")


@dataclass(frozen=True)
class Step:
    index: int  # position in the caller's sequence, so it can be mapped back to stored evidence
    source: str
    polarity: int
    weight: float
    at: datetime
    anchor: float | None
    delta_logodds: float
    confidence_after: float
    superseded: bool = False  # a later anchor replaced this signal; it no longer counts


def logit(p: float) -> float:
    return math.log(p / (1.0 - p))


def sigmoid(x: float) -> float:
    # Two branches so that exp() never overflows for very negative or very positive x.
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


def decay_factor(at: datetime, now: datetime, half_life_days: float) -> float:
    # A timestamp in the future (clock skew between writers) counts as fresh, never as stronger.
    age_days = max(0.0, (now - at).total_seconds() / 86400.0)
    return 0.5 ** (age_days / half_life_days)


def contribution(signal: Signal, *, half_life_days: float, now: datetime) -> float:
    """Log-odds a non-anchor signal adds at ``now``."""
    # Cap before decaying so every term shrinks by the same factor over time; capping after
    # would let a large term sit at the cap while its opposite decays, moving away from prior.
    strength = min(_source_weight(signal.source) * signal.weight, MAX_SIGNAL_LOGODDS)
    return signal.polarity * strength * decay_factor(signal.at, now, half_life_days)


def anchor_offset(signal: Signal, *, prior: float, half_life_days: float, now: datetime) -> float:
    """How far an anchor still holds the estimate from the prior, in log-odds, at ``now``."""
    assert signal.anchor is not None
    _source_weight(signal.source)  # an anchor's source must still be a known one
    target = logit(_clamp(signal.anchor))
    return (target - logit(prior)) * decay_factor(signal.at, now, half_life_days)


def confidence(
    signals: Sequence[Signal], *, prior: float, half_life_days: float, now: datetime
) -> float:
    _check_params(prior, half_life_days, now)
    ordered = _time_order(signals)
    terms = _terms(ordered, prior=prior, half_life_days=half_life_days, now=now)
    return _from_deltas(terms[_effective_from(ordered) :], prior)


def explain(
    signals: Sequence[Signal], *, prior: float, half_life_days: float, now: datetime
) -> list[Step]:
    """One step per signal, in time order, with what it contributes now and where it leaves us.

    ``prior`` plus the sum of ``delta_logodds`` gives the (unclamped) log-odds of the belief.
    """
    _check_params(prior, half_life_days, now)
    ordered = _time_order(signals)
    terms = _terms(ordered, prior=prior, half_life_days=half_life_days, now=now)
    effective_from = _effective_from(ordered)
    steps: list[Step] = []
    start = 0
    for n, (i, s) in enumerate(ordered):
        if s.anchor is not None:
            start = n
        steps.append(
            Step(
                index=i,
                source=s.source,
                polarity=s.polarity,
                weight=s.weight,
                at=s.at,
                anchor=s.anchor,
                delta_logodds=terms[n] if n >= effective_from else 0.0,
                # Same arithmetic as confidence() on this prefix, so the last step equals it.
                confidence_after=_from_deltas(terms[start : n + 1], prior),
                superseded=n < effective_from,
            )
        )
    return steps


def _time_order(signals: Sequence[Signal]) -> list[tuple[int, Signal]]:
    # At equal times an anchor goes after plain evidence: a correction made "now" overrides
    # whatever was recorded at that same instant. Index breaks the remaining ties.
    return sorted(enumerate(signals), key=lambda p: (p[1].at, p[1].anchor is not None, p[0]))


def _effective_from(ordered: Sequence[tuple[int, Signal]]) -> int:
    """Position of the latest anchor: it and what follows count, everything before is replaced."""
    return max((n for n, (_, s) in enumerate(ordered) if s.anchor is not None), default=0)


def _terms(
    ordered: Sequence[tuple[int, Signal]], *, prior: float, half_life_days: float, now: datetime
) -> list[float]:
    # Every signal is evaluated, superseded ones too: a bad source is a bug wherever it sits.
    return [
        anchor_offset(s, prior=prior, half_life_days=half_life_days, now=now)
        if s.anchor is not None
        else contribution(s, half_life_days=half_life_days, now=now)
        for _, s in ordered
    ]


def _from_deltas(deltas: Iterable[float], prior: float) -> float:
    # fsum is exact, so the result does not depend on the order evidence arrived in.
    total = math.fsum(deltas)
    if total == 0.0:
        return _clamp(prior)  # exactly the prior, not its logit round-trip
    p = sigmoid(logit(prior) + total)
    # The logit round-trip can land an ulp on the wrong side of the prior; net support must
    # never read as (slightly) less than the prior, nor net contradiction as more.
    p = max(p, prior) if total > 0 else min(p, prior)
    return _clamp(p)


def _source_weight(source: str) -> float:
    try:
        return SOURCE_WEIGHTS[source]
    except KeyError:
        raise ValueError(f"unknown evidence source {source!r}") from None


def _clamp(p: float) -> float:
    return min(MAX_CONFIDENCE, max(MIN_CONFIDENCE, p))


def _check_params(prior: float, half_life_days: float, now: datetime) -> None:
    if not 0.0 < prior < 1.0:
        raise ValueError(f"prior must be strictly between 0 and 1, got {prior!r}")
    if not half_life_days > 0:  # also rejects NaN; +inf means "never decays"
        raise ValueError(f"half_life_days must be > 0, got {half_life_days!r}")
    _require_aware(now, "now")


def _require_aware(value: datetime, name: str) -> None:
    # Naive datetimes would silently mix local time and UTC in age computations.
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime, got {value!r}")
