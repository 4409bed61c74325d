"""Choosing the injection rule for a request: an ordered list, first match wins."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from fnmatch import fnmatchcase

from memory.settings import InjectionRule


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
