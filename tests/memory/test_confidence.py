import math
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from memory.confidence import (
    MAX_CONFIDENCE,
    MIN_CONFIDENCE,
    SOURCE_WEIGHTS,
    Signal,
    confidence,
    explain,
    logit,
    sigmoid,
)

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)

priors = st.floats(min_value=0.01, max_value=0.99)
half_lives = st.floats(min_value=0.5, max_value=365.0)
ages = st.floats(min_value=0.0, max_value=400.0)
sources = st.sampled_from(sorted(SOURCE_WEIGHTS))
weights = st.floats(min_value=0.0, max_value=5.0)


@st.composite
def plain_signals(draw, polarity=None, max_age=400.0):
    return Signal(
        source=draw(sources),
        polarity=draw(st.sampled_from([1, -1])) if polarity is None else polarity,
        weight=draw(weights),
        at=NOW - timedelta(days=draw(st.floats(min_value=0.0, max_value=max_age))),
    )


@st.composite
def any_signals(draw):
    s = draw(plain_signals())
    if draw(st.booleans()):
        return s
    anchor = draw(st.floats(min_value=0.0, max_value=1.0))
    return Signal(s.source, s.polarity, s.at, s.weight, anchor=anchor)


def conf(signals, prior=0.5, half_life=30.0, now=NOW):
    return confidence(signals, prior=prior, half_life_days=half_life, now=now)


# --- properties ---------------------------------------------------------------------------


@given(st.lists(any_signals(), max_size=20), priors, half_lives)
def test_bounded(signals, prior, half_life):
    c = conf(signals, prior, half_life)
    assert 0.0 < MIN_CONFIDENCE <= c <= MAX_CONFIDENCE < 1.0


@given(
    st.lists(
        st.builds(Signal, sources, st.just(1), st.just(NOW), st.floats(1e3, 1e300)), max_size=5
    )
)
def test_bounded_even_with_absurd_weights(signals):
    c = conf(signals)
    assert c == MAX_CONFIDENCE or not signals


@given(priors, half_lives)
def test_no_signals_is_prior(prior, half_life):
    assert conf([], prior, half_life) == prior


@given(st.lists(any_signals(), max_size=15), plain_signals(polarity=1), priors, half_lives)
def test_supporting_signal_never_lowers(signals, extra, prior, half_life):
    assert conf([*signals, extra], prior, half_life) >= conf(signals, prior, half_life)


@given(st.lists(any_signals(), max_size=15), plain_signals(polarity=-1), priors, half_lives)
def test_contradicting_signal_never_raises(signals, extra, prior, half_life):
    assert conf([*signals, extra], prior, half_life) <= conf(signals, prior, half_life)


@given(
    st.lists(plain_signals(), max_size=15),
    priors,
    half_lives,
    st.lists(st.floats(min_value=0.0, max_value=1000.0), min_size=2, max_size=6),
)
def test_decays_toward_prior(signals, prior, half_life, offsets):
    distances = [
        abs(conf(signals, prior, half_life, NOW + timedelta(days=d)) - prior)
        for d in sorted(offsets)
    ]
    for earlier, later in zip(distances, distances[1:], strict=False):
        assert later <= earlier + 1e-12


@given(
    st.lists(plain_signals(), max_size=12).flatmap(
        lambda s: st.tuples(st.just(s), st.permutations(s))
    )
)
def test_order_does_not_matter(pair):
    signals, shuffled = pair
    assert conf(shuffled) == conf(signals)


@given(
    st.lists(plain_signals(polarity=1, max_age=30.0), min_size=1, max_size=40),
    priors,
    half_lives,
)
def test_latest_correction_dominates(supporting, prior, half_life):
    correction = Signal("corrected", -1, NOW, anchor=0.1)
    assert conf([*supporting, correction], prior, half_life) == pytest.approx(0.1, abs=1e-9)


@given(st.lists(any_signals(), max_size=15), priors, half_lives)
def test_explain_last_step_equals_confidence(signals, prior, half_life):
    steps = explain(signals, prior=prior, half_life_days=half_life, now=NOW)
    assert len(steps) == len(signals)
    assert sorted(s.index for s in steps) == list(range(len(signals)))
    assert [s.at for s in steps] == sorted(s.at for s in signals)
    if steps:
        assert steps[-1].confidence_after == conf(signals, prior, half_life)
        # The deltas are the explanation: prior plus their sum is the (unclamped) estimate.
        total = logit(prior) + math.fsum(s.delta_logodds for s in steps)
        expected = min(MAX_CONFIDENCE, max(MIN_CONFIDENCE, sigmoid(total)))
        assert expected == pytest.approx(steps[-1].confidence_after, abs=1e-9)


# --- examples -----------------------------------------------------------------------------


def test_single_fresh_statement():
    assert conf([Signal("stated", 1, NOW)]) == pytest.approx(sigmoid(2.0))


def test_statement_beats_inference_beats_observation():
    stated = conf([Signal("stated", 1, NOW)])
    inferred = conf([Signal("inferred", 1, NOW)])
    observed = conf([Signal("observed", 1, NOW)])
    assert stated > inferred > observed > 0.5


def test_contradiction_lowers():
    support = Signal("stated", 1, NOW - timedelta(days=2))
    base = conf([support])
    assert conf([support, Signal("inferred", -1, NOW)]) < base
    assert conf([Signal("stated", -1, NOW)]) == pytest.approx(sigmoid(-2.0))


def test_one_half_life_halves_the_log_odds():
    old = Signal("stated", 1, NOW - timedelta(days=30))
    assert conf([old], half_life=30.0) == pytest.approx(sigmoid(1.0))


def test_weight_multiplies():
    assert conf([Signal("observed", 1, NOW, weight=4.0)]) == pytest.approx(sigmoid(2.0))
    assert conf([Signal("observed", 1, NOW, weight=0.0)]) == pytest.approx(0.5)


def test_future_timestamp_counts_as_fresh():
    future = Signal("stated", 1, NOW + timedelta(days=10))
    assert conf([future]) == pytest.approx(sigmoid(2.0))


def test_anchor_decays_toward_prior_and_later_evidence_moves_it():
    anchor = Signal("corrected", -1, NOW - timedelta(days=30), anchor=0.1)
    # One half-life later, half of the anchor's offset from the prior remains.
    assert conf([anchor], half_life=30.0) == pytest.approx(sigmoid(logit(0.1) / 2))
    later = Signal("stated", 1, NOW)
    assert conf([anchor, later], half_life=30.0) == pytest.approx(sigmoid(logit(0.1) / 2 + 2.0))


def test_evidence_at_the_anchor_instant_is_superseded():
    anchor = Signal("asserted", 1, NOW, anchor=0.7)
    same_time = Signal("stated", -1, NOW)
    assert conf([anchor, same_time]) == pytest.approx(0.7)
    assert conf([same_time, anchor]) == pytest.approx(0.7)


def test_extreme_anchor_is_clamped():
    assert conf([Signal("corrected", 1, NOW, anchor=1.0)]) == pytest.approx(MAX_CONFIDENCE)
    assert conf([Signal("corrected", -1, NOW, anchor=0.0)]) == pytest.approx(MIN_CONFIDENCE)


def test_explain_marks_superseded_evidence():
    signals = [
        Signal("stated", 1, NOW - timedelta(days=3)),
        Signal("corrected", -1, NOW - timedelta(days=2), anchor=0.2),
        Signal("observed", 1, NOW - timedelta(days=1)),
    ]
    steps = explain(list(reversed(signals)), prior=0.5, half_life_days=30.0, now=NOW)
    assert [s.source for s in steps] == ["stated", "corrected", "observed"]
    assert [s.index for s in steps] == [2, 1, 0]
    assert [s.superseded for s in steps] == [True, False, False]
    assert steps[0].delta_logodds == 0.0
    assert steps[0].confidence_after > 0.5
    assert steps[1].confidence_after < 0.25
    assert steps[2].confidence_after > steps[1].confidence_after


def test_unknown_source_raises():
    with pytest.raises(ValueError, match="unknown evidence source"):
        conf([Signal("rumour", 1, NOW)])
    with pytest.raises(ValueError):
        explain([Signal("rumour", 1, NOW)], prior=0.5, half_life_days=30.0, now=NOW)


@pytest.mark.parametrize("prior", [0.0, 1.0, -0.1, 1.5, math.nan])
def test_prior_must_be_strictly_inside(prior):
    with pytest.raises(ValueError):
        conf([], prior=prior)


@pytest.mark.parametrize("half_life", [0.0, -1.0, math.nan])
def test_half_life_must_be_positive(half_life):
    with pytest.raises(ValueError):
        conf([], half_life=half_life)


def test_infinite_half_life_never_decays():
    old = Signal("stated", 1, NOW - timedelta(days=10_000))
    assert conf([old], half_life=math.inf) == pytest.approx(sigmoid(2.0))


@pytest.mark.parametrize(
    "kwargs",
    [
        {"polarity": 0},
        {"polarity": 2},
        {"weight": -1.0},
        {"weight": math.inf},
        {"weight": math.nan},
        {"anchor": 1.5},
        {"anchor": -0.1},
        {"at": datetime(2025, 1, 1)},
    ],
)
def test_signal_validation(kwargs):
    args = {"source": "stated", "polarity": 1, "at": NOW, **kwargs}
    with pytest.raises(ValueError):
        Signal(**args)


def test_naive_now_rejected():
    with pytest.raises(ValueError):
        conf([], now=datetime(2025, 1, 1))
