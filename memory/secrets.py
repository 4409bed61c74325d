"""Detection and redaction of secrets, which must never become beliefs or rest on disk.

Sources: the token plugins of `detect-secrets` (its regex denylists: cloud keys, service
tokens, credentials in URLs), and our checks for prose: cards (Luhn, any separators), IBANs
(mod-97), national ids, passwords and login phrases, high-entropy and base64 credentials.
Recall is favoured on secret-shaped text, but checksums and valid ranges leave phone
numbers, dates, flight numbers and order ids alone (tests/data/secrets_corpus.jsonl).
"""

from __future__ import annotations

import base64
import binascii
import functools
import importlib
import math
import pkgutil
import re
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import cast

import detect_secrets.plugins as plugins
from detect_secrets.plugins.base import RegexBasedDetector

from memory.regex_gate import Gated


@dataclass(frozen=True)
class SecretMatch:
    kind: str
    start: int
    end: int


# Broad family of each kind, for callers that report or decide per family.
KIND_CATEGORY: Mapping[str, str] = MappingProxyType(
    {
        "private_key": "api_key",
        "jwt": "api_key",
        "openai_key": "api_key",
        "aws_access_key": "api_key",
        "github_token": "api_key",
        "slack_token": "api_key",
        "google_api_key": "api_key",
        "bearer_token": "api_key",
        "aws_secret_key": "api_key",
        "service_token": "api_key",
        "generic_secret": "api_key",
        "credential": "password",
        "password": "password",
        "card_number": "financial",
        "iban": "financial",
        "ssn": "national_id",
        "uk_ni_number": "national_id",
        "national_id": "national_id",
        "high_entropy_token": "api_key",
    }
)
# When matches overlap they are merged and labelled with the most specific kind: the order of
# KIND_CATEGORY, first wins.
_PRIORITY = {kind: n for n, kind in enumerate(KIND_CATEGORY)}

_TOKEN_END = r"(?![A-Za-z0-9_-])"
_TOKEN_START = r"(?<![A-Za-z0-9_-])"
_SEP = r"[^\S\n]*(?:(?:\bis\b|\bwas\b|:=|=>|->|[:=#])[^\S\n]*)?"

# Every pattern here runs only on a text holding what each of its matches holds (a keyword, a
# prefix, a digit): most of them never scan a reply of plain prose (memory/regex_gate.py).
_SIMPLE: list[tuple[str, Gated]] = [
    (
        "private_key",
        Gated(
            re.compile(
                r"-----BEGIN[ A-Z0-9]*PRIVATE KEY(?: BLOCK)?-----"
                # A truncated paste without its END line is still a key: take the rest of the text.
                r"(?:.*?-----END[ A-Z0-9]*PRIVATE KEY(?: BLOCK)?-----|.*\Z)",
                re.DOTALL,
            )
        ),
    ),
    (
        "jwt",
        Gated(
            re.compile(_TOKEN_START + r"eyJ[A-Za-z0-9_-]{5,}\.eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*")
        ),
    ),
    # sk-, sk-proj-, sk-svcacct-, also Anthropic's sk-ant-: all share the prefix.
    ("openai_key", Gated(re.compile(_TOKEN_START + r"sk-[A-Za-z0-9_-]{20,}" + _TOKEN_END))),
    ("aws_access_key", Gated(re.compile(r"\b(?:AKIA|ASIA|AGPA|AIDA|AROA)[0-9A-Z]{16}\b"))),
    (
        "github_token",
        Gated(
            re.compile(
                r"\b(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{22,})" + _TOKEN_END
            )
        ),
    ),
    ("slack_token", Gated(re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}" + _TOKEN_END))),
    ("google_api_key", Gated(re.compile(r"\bAIza[0-9A-Za-z_-]{35}" + _TOKEN_END))),
    # Only the token is redacted, so the text still reads "Bearer [REDACTED:...]".
    ("bearer_token", Gated(re.compile(r"\bBearer[^\S\n]+(?P<s>[A-Za-z0-9._~+/=-]{20,})", re.I))),
    (
        # 078-05-1120 and friends aside, the SSA never issues area 000, 666 or 9xx, group 00 or
        # serial 0000; the same separator on both sides keeps "123-45 6789" style noise out.
        "ssn",
        Gated(
            re.compile(r"(?<![\d-])(?!000|666|9\d\d)\d{3}([- ])(?!00)\d{2}\1(?!0000)\d{4}(?![\d-])")
        ),
    ),
    (
        # HMRC: first letter not D F I Q U V, second not D F I O Q U V, some prefixes unused.
        "uk_ni_number",
        Gated(
            re.compile(
                r"\b(?!BG|GB|KN|NK|NT|TN|ZZ)[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z]"
                r" ?\d{2} ?\d{2} ?\d{2} ?[A-D]\b",
                re.I,
            )
        ),
    ),
    (
        "national_id",
        Gated(
            re.compile(
                r"\b(?:social[ -]security(?:[ -]number|[ -]no\.?|[ -]#)?|ssn|"
                r"social[ -]insurance[ -]number|"
                r"national[ -](?:id|identity|identification|insurance)"
                r"(?:[ -](?:card[ -])?(?:number|no\.?))?|passport[ -](?:number|no\.?|#)|"
                r"tax[ -](?:id|identification|file)(?:[ -]number)?|"
                r"(?:personal|citizen)[ -]id(?:entification)?[ -](?:number|code)|"
                r"id[ -]card[ -]number|driver'?s[ -]licen[cs]e[ -](?:number|no\.?)|aadhaar"
                r"(?:[ -]number)?)"
                # "my SSN number is ...", "social security no. on file: ...": a few words between.
                + r"(?:[^\S\n]+[A-Za-z.']{1,12}){0,3}?"
                + _SEP
                # Every space- or dash-separated group holds a digit: no trailing words taken.
                + r"(?P<s>[A-Z0-9]*\d[A-Z0-9]*(?:[ -][A-Z0-9]*\d[A-Z0-9]*)*)",
                re.I,
            )
        ),
    ),
]

_CARD = Gated(re.compile(r"(?<![\d+.])\d(?:[ ./_-]?\d){12,18}(?![\d])"))
_IBAN = Gated(
    re.compile(r"\b[A-Z]{2}\d{2}(?:[A-Z0-9]{11,30}|(?: [A-Z0-9]{4}){2,7}(?: [A-Z0-9]{1,3})?)\b")
)
_PASSWORD = Gated(
    re.compile(
        r"\b(?:pass(?:word|wd|code|phrase)s?|pwd)"
        # "password for my bank is X", "the wifi password: X"
        r"(?:[^\S\n]+(?:for|to|on|of|at)[^\S\n]+(?:my[^\S\n]+|the[^\S\n]+)?[\w.@-]+)?"
        r"[^\S\n]*(?:\bis\b|\bwas\b|:=|[:=])[^\S\n]*"
        r"(?:\"(?P<dq>[^\"\n]{1,100})\"|'(?P<sq>[^'\n]{1,100})'|(?P<s>\S+))",
        re.I,
    )
)
# Words that follow "password is" in ordinary talk about passwords rather than a password.
_NOT_A_PASSWORD_WORDS = """
a an the my your his her our their this that too very not no so quite really required needed
incorrect wrong right correct invalid expired reset changed set saved stored strong weak secure
insecure long short hard easy same different missing empty blank forgotten lost case-sensitive
mandatory optional new old ok fine at in on for being now still also only just what why how
where something managed used shown hidden sent
"""
_NOT_A_PASSWORD = frozenset(_NOT_A_PASSWORD_WORDS.split())
# A PIN is only digits, which keeps "the pin is located under the lid" out.
_PIN = Gated(re.compile(r"\bpin(?:[ -]?code)?(?:[ -]number)?" + _SEP + r"(?P<s>\d{4,8})\b", re.I))
_GENERIC = Gated(
    re.compile(
        r"\b(?:api[_ -]?key|access[_ -]?key|secret(?:[_ -]?key)?|client[_ -]?secret|"
        r"auth[_ -]?token|access[_ -]?token|refresh[_ -]?token|token|credentials?|private[_ -]?key)"
        # (?![A-Za-z]) keeps "tokenization" or "keyboard" from counting as the keyword.
        r"s?(?![A-Za-z])[\"']?(?:[^\S\n]+[A-Za-z]{1,12}){0,3}?"
        + _SEP
        + r"[\"'`]?(?P<s>[A-Za-z0-9_\-./+=~]{16,})",
        re.I,
    )
)

_SHORT_PASSWORD = Gated(
    re.compile(r"\b(?:pw|pwd|passwd|pword|pass)[^\S\n]*[:=][^\S\n]*(?P<s>\S+)", re.I)
)
# "my password hunter2", "the password for the wifi Xk9mm2": no separator, so the value must
# look like a password (see _password_like).
_BARE_PASSWORD = Gated(
    re.compile(
        r"\bpass(?:word|wd|code|phrase)s?"
        r"(?:[^\S\n]+(?:for|to|on|of|at)[^\S\n]+(?:my[^\S\n]+|the[^\S\n]+)?[\w.@-]+)?"
        r"[^\S\n]+(?P<s>[^\s\"']{4,100})",
        re.I,
    )
)
# "login: bob / hunter2", "log in with alice@example.com and S3cret!", "credentials admin:admin1"
_LOGIN = Gated(
    re.compile(
        r"\b(?:log[ -]?in|sign[ -]?in|username|user[ -]?name|user|account|credentials?|creds)\b"
        r"[^\n]{0,30}?(?P<u>[\w.@+-]{2,64})[^\S\n]*(?:[:/|,]|\band\b|\bwith\b)[^\S\n]*"
        r"(?:(?:pass(?:word)?|pw|pwd)[^\S\n]*[:=]?[^\S\n]*)?(?P<s>[^\s\"',]{4,100})",
        re.I,
    )
)
_TOKEN = re.compile(r"(?<![A-Za-z0-9+/_=-])[A-Za-z0-9+/_-]{20,}={0,2}(?![A-Za-z0-9+/_=-])")
# Base64 credentials: after "Basic"/"base64", or any base64 that decodes to "a:b".
_BASE64 = re.compile(
    r"(?<![A-Za-z0-9+/=])(?:[A-Za-z0-9+/]{4}){2,}(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?"
    r"(?![A-Za-z0-9+/=])"
)
_BASIC = Gated(
    re.compile(r"\b(?:Basic|base64)[^\S\n]*[:=]?[^\S\n]*(?P<s>[A-Za-z0-9+/]{8,}={0,2})", re.I)
)
_PLACEHOLDER = re.compile(r"\[REDACTED:[a-z_]+\]")  # not a secret: redact() is idempotent
_NON_SECRET_PLUGINS = frozenset({"IPPublicDetector"})


def _library_patterns() -> tuple[re.Pattern[str], ...]:
    """The regex denylists of every token plugin `detect-secrets` ships."""
    found: list[re.Pattern[str]] = []
    for info in pkgutil.iter_modules(plugins.__path__):
        module = importlib.import_module(f"{plugins.__name__}.{info.name}")
        for value in vars(module).values():
            if (
                isinstance(value, type)
                and issubclass(value, RegexBasedDetector)
                and value is not RegexBasedDetector
                and value.__module__ == module.__name__
                and value.__name__ not in _NON_SECRET_PLUGINS
            ):
                found.extend(cast("tuple[re.Pattern[str], ...]", value.denylist))
    return tuple(found)


_LIBRARY = tuple(Gated(pattern) for pattern in _library_patterns())


def find_secrets(text: str) -> list[SecretMatch]:
    """Secrets in ``text``, in text order; overlapping detections are merged into one."""
    found = [m for detect in _DETECTORS for m in detect(text)]
    placed = [(p.start(), p.end()) for p in _PLACEHOLDER.finditer(text)]
    if placed:
        found = [m for m in found if not any(m.start < e and s < m.end for s, e in placed)]
    return _merge(found)


# The same texts are redacted again and again: a request's user message for its audit row and
# for its queued turn, a reply that the next request sends back as history. Scanning 1,300
# characters takes ~2.4 ms; a repeat costs a lookup. Bounded in entries and in text length
# (at most ~4 M characters held, in memory only: nothing here reaches the disk).
_CACHED_TEXTS = 256
_CACHED_MAX_CHARS = 8192


def redact(text: str) -> tuple[str, list[str]]:
    """``text`` with each secret replaced by ``[REDACTED:<kind>]``, and the kinds, one per match."""
    if len(text) > _CACHED_MAX_CHARS:
        return _redact(text)
    redacted, kinds = _redact_cached(text)
    return redacted, list(kinds)


@functools.lru_cache(maxsize=_CACHED_TEXTS)
def _redact_cached(text: str) -> tuple[str, tuple[str, ...]]:
    redacted, kinds = _redact(text)
    return redacted, tuple(kinds)


def _redact(text: str) -> tuple[str, list[str]]:
    matches = find_secrets(text)
    parts: list[str] = []
    pos = 0
    for m in matches:
        parts.append(text[pos : m.start])
        parts.append(f"[REDACTED:{m.kind}]")
        pos = m.end
    parts.append(text[pos:])
    return "".join(parts), [m.kind for m in matches]


def contains_secret(text: str) -> bool:
    return bool(find_secrets(text))


def luhn_valid(digits: str) -> bool:
    total = 0
    for n, ch in enumerate(reversed(digits)):
        d = int(ch)
        if n % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def iban_valid(iban: str) -> bool:
    iban = iban.replace(" ", "").upper()
    if not 15 <= len(iban) <= 34 or not iban.isalnum():
        return False
    rearranged = iban[4:] + iban[:4]
    return int("".join(str(int(ch, 36)) for ch in rearranged)) % 97 == 1


def _simple(text: str) -> Iterator[SecretMatch]:
    for kind, pattern in _SIMPLE:
        for m in pattern.finditer(text):
            group = "s" if "s" in pattern.groupindex else 0
            if kind == "national_id" and len(re.sub(r"[\W_]", "", m.group(group))) < 6:
                continue  # "passport number expires 2030" names no number
            yield SecretMatch(kind, m.start(group), m.end(group))


def _cards(text: str) -> Iterator[SecretMatch]:
    for m in _CARD.finditer(text):
        digits = re.sub(r"\D", "", m.group())
        # Issuers' ranges start with 2-6 (Mastercard 2/5, Amex/JCB/Diners 3, Visa 4, Discover/
        # UnionPay/Maestro 6); that and Luhn leave about one random number in fifty.
        if digits[0] in "23456" and len(set(digits)) > 1 and luhn_valid(digits):
            yield SecretMatch("card_number", m.start(), m.end())


def _ibans(text: str) -> Iterator[SecretMatch]:
    for m in _IBAN.finditer(text):
        candidate = m.group()
        # The regex may have swallowed a short trailing group that is not part of the IBAN.
        shorter = candidate.rsplit(" ", 1)[0] if " " in candidate else candidate
        for option in (candidate, shorter):
            if iban_valid(option):
                yield SecretMatch("iban", m.start(), m.start() + len(option))
                break


def _passwords(text: str) -> Iterator[SecretMatch]:
    for m in _PASSWORD.finditer(text):
        group = next(g for g in ("dq", "sq", "s") if m.group(g) is not None)
        value = m.group(group).rstrip(".,;:!?)").lower()
        if value.startswith("[redacted:"):
            continue  # our own placeholder: keeps redact() idempotent
        # Quoted values are deliberate; only a bare word can be ordinary talk.
        if group == "s" and (not value or value in _NOT_A_PASSWORD):
            continue
        yield SecretMatch("password", m.start(group), m.end(group))
    for m in _PIN.finditer(text):
        yield SecretMatch("password", m.start("s"), m.end("s"))


def _generic(text: str) -> Iterator[SecretMatch]:
    for m in _GENERIC.finditer(text):
        value = m.group("s")
        # Require a token-like mix so that "token: documentation-page-for-users" stays readable.
        has_digit = any(c.isdigit() for c in value)
        has_alpha = any(c.isalpha() for c in value)
        if has_digit and has_alpha and _entropy(value) >= 3.0:
            yield SecretMatch("generic_secret", m.start("s"), m.end("s"))


def _password_like(value: str) -> bool:
    """A bare word is talk about passwords; a password mixes classes or carries symbols."""
    core = value.rstrip(".,;:!?)")
    if len(core) < 4 or core.lower() in _NOT_A_PASSWORD or core.lower().startswith("[redacted"):
        return False
    has_digit = any(c.isdigit() for c in core)
    has_symbol = any(not c.isalnum() for c in core)
    mixed = any(c.isupper() for c in core[1:]) and any(c.islower() for c in core)
    return has_digit or has_symbol or mixed


def _more_passwords(text: str) -> Iterator[SecretMatch]:
    for m in _SHORT_PASSWORD.finditer(text):
        if not m.group("s").lower().startswith("[redacted"):
            yield SecretMatch("password", m.start("s"), m.end("s"))
    for pattern in (_BARE_PASSWORD, _LOGIN):
        for m in pattern.finditer(text):
            if _password_like(m.group("s")):
                end = m.start("s") + len(m.group("s").rstrip(".,;:!?)"))
                yield SecretMatch(
                    "password" if pattern is _BARE_PASSWORD else "credential", m.start("s"), end
                )


def _classes(value: str) -> int:
    return sum(
        (
            any(c.isupper() for c in value),
            any(c.islower() for c in value),
            any(c.isdigit() for c in value),
        )
    )


def _tokens(text: str) -> Iterator[SecretMatch]:
    """Upper and lower case and digits, 20+ long (AWS secret keys...), and base64 logins."""
    for m in _TOKEN.finditer(text):
        value = m.group().rstrip("=")
        if _classes(value) == 3 and _entropy(value) >= (4.0 if len(value) < 32 else 3.8):
            yield SecretMatch("high_entropy_token", m.start(), m.end())
    for m in _BASIC.finditer(text):
        yield SecretMatch("credential", m.start("s"), m.end("s"))
    for m in _BASE64.finditer(text):
        if _decodes_to_credential(m.group()):
            yield SecretMatch("credential", m.start(), m.end())


def _decodes_to_credential(candidate: str) -> bool:
    if len(candidate) < 12 or _classes(candidate) < 2:
        return False
    try:
        decoded = base64.b64decode(candidate, validate=True).decode("ascii")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return False
    user, sep, secret = decoded.partition(":")
    return bool(sep and user and secret and decoded.isprintable() and " " not in decoded)


def _library(text: str) -> Iterator[SecretMatch]:
    for pattern in _LIBRARY:
        for m in pattern.finditer(text):
            group = 1 if pattern.groups and m.group(1) else 0
            aws = m.group(group).startswith(("AKIA", "ASIA"))
            kind = "aws_access_key" if aws else "service_token"
            if m.end(group) > m.start(group):
                yield SecretMatch(kind, m.start(group), m.end(group))


def _entropy(s: str) -> float:
    counts = Counter(s)
    return -sum(c / len(s) * math.log2(c / len(s)) for c in counts.values())


def _merge(found: list[SecretMatch]) -> list[SecretMatch]:
    # Merging (rather than dropping the loser of an overlap) guarantees that every character
    # any detector flagged is redacted.
    merged: list[SecretMatch] = []
    for m in sorted(found, key=lambda m: (m.start, -m.end)):
        if merged and m.start < merged[-1].end:
            last = merged[-1]
            kind = min(last.kind, m.kind, key=_PRIORITY.__getitem__)
            merged[-1] = SecretMatch(kind, last.start, max(last.end, m.end))
        else:
            merged.append(m)
    return merged


_DETECTORS: tuple[Callable[[str], Iterator[SecretMatch]], ...] = (
    _simple,
    _cards,
    _ibans,
    _passwords,
    _generic,
    _more_passwords,
    _tokens,
    _library,
)
