"""Choosing the injection rule for a request: an ordered list, first match wins."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from fnmatch import fnmatchcase
from typing import Literal

from memory.settings import HoldoutConfig, InjectionRule

Arm = Literal["treatment", "holdout"]


def _glob(pattern: str | None, value: str | None) -> bool:
    if pattern is None:
        return True
    return value is not None and fnmatchcase(value, pattern)


def matches(
    rule: InjectionRule, *, model: str, tenant: str, user: str | None, headers: Mapping[str, str]
) -> bool:
    when = rule.match
    if not (_glob(when.model, model) and _glob(when.tenant, tenant) and _glob(when.user, user)):
        return False
    lowered = {key.lower(): value for key, value in headers.items()}
    return all(_glob(pattern, lowered.get(name.lower())) for name, pattern in when.headers.items())


def choose_rule(
    rules: Sequence[InjectionRule],
    *,
    model: str,
    tenant: str,
    user: str | None,
    headers: Mapping[str, str],
) -> InjectionRule | None:
    for rule in rules:
        if matches(rule, model=model, tenant=tenant, user=user, headers=headers):
            return rule
    return None


def holdout_draw(tenant: str, user: str, salt: str) -> float:
    """A user's fixed position in [0, 1) for a salt: a pure function of its inputs."""
    digest = hashlib.sha256("\x1f".join((salt, tenant, user)).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def arm(tenant: str, user: str, rule: InjectionRule | None, default: HoldoutConfig) -> Arm:
    """The experiment arm: the rule's holdout if it has one, else the global one. Comparing
    the draw with percent/100 means a change of percent moves only the users between the two."""
    holdout = rule.holdout if rule is not None and rule.holdout is not None else default
    if holdout.percent <= 0:
        return "treatment"
    held = holdout_draw(tenant, user, holdout.salt) < holdout.percent / 100
    return "holdout" if held else "treatment"
