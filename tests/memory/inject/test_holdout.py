"""The holdout arm: a pure function of (tenant, user, salt) that moves the fewest users."""

from __future__ import annotations

import pytest

from memory.inject.rules import arm, holdout_draw
from memory.settings import HoldoutConfig, InjectionRule, MemoryConfig

USERS = [f"user-{i}" for i in range(20_000)]


def held(percent: float, salt: str = "s1", tenant: str = "acme") -> set[str]:
    config = HoldoutConfig(percent=percent, salt=salt)
    return {u for u in USERS if arm(tenant, u, None, config) == "holdout"}


def test_the_draw_is_a_pure_function_in_the_unit_interval():
    draws = [holdout_draw("acme", u, "s1") for u in USERS[:1000]]
    assert draws == [holdout_draw("acme", u, "s1") for u in USERS[:1000]]
    assert all(0 <= d < 1 for d in draws)
    assert holdout_draw("acme", "u", "s1") != holdout_draw("other", "u", "s1")
    assert holdout_draw("acme", "u", "s1") != holdout_draw("acme", "u", "s2")


@pytest.mark.parametrize("percent", [1, 10, 30, 50])
def test_the_share_held_out_is_the_percent(percent):
    share = 100 * len(held(percent)) / len(USERS)
    assert abs(share - percent) < 1.0  # binomial sd at 20k users is at most 0.35 points


def test_changing_the_percent_moves_only_the_users_between():
    ten, twenty = held(10), held(20)
    assert ten <= twenty  # raising it only adds users to the holdout
    assert len(twenty - ten) == len(twenty) - len(ten)


def test_a_new_salt_draws_a_new_holdout_and_zero_holds_no_one():
    a, b = held(30, "q3"), held(30, "q4")
    overlap = len(a & b) / len(a)
    assert 0.2 < overlap < 0.4  # independent draws overlap by about the percent
    assert held(0) == set()
    assert held(100) == set(USERS)


def test_a_rules_own_holdout_wins_over_the_global_one():
    rule = InjectionRule(name="r", holdout=HoldoutConfig(percent=100, salt="x"))
    plain = InjectionRule(name="p")
    default = HoldoutConfig(percent=0)
    assert arm("t", "u", rule, default) == "holdout"
    assert arm("t", "u", plain, default) == "treatment"
    assert arm("t", "u", None, HoldoutConfig(percent=100)) == "holdout"


def test_config_bounds():
    with pytest.raises(ValueError):
        HoldoutConfig(percent=101)
    with pytest.raises(ValueError):
        MemoryConfig.model_validate({"injection": {"holdout": {"percent": 10, "colour": 1}}})
    config = MemoryConfig.model_validate({"injection": {"holdout": {"percent": 12.5}}})
    assert config.injection.holdout.percent == 12.5
