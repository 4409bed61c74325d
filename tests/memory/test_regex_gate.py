"""A gated pattern finds exactly what its pattern finds: its conditions are only necessary."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import memory.secrets as secrets
from memory.regex_gate import DIGIT, Gated, requirements

CORPUS = Path(__file__).resolve().parents[1] / "data" / "secrets_corpus.jsonl"


def all_gated() -> list[Gated]:
    found = [p for _, p in secrets._SIMPLE] + list(secrets._LIBRARY)
    found += [v for v in vars(secrets).values() if isinstance(v, Gated)]
    return found


# Pieces that the patterns need (keywords, prefixes, digits) and characters that fold onto
# ASCII letters under IGNORECASE, so that random texts exercise both sides of every test.
PIECES = [
    "password",
    "PassWord",
    "paſſword",
    "pin",
    "PIN",
    "token",
    "Token",
    "KEY",
    "key",
    "api",
    "secret",
    "user",
    "login",
    "log in",
    "ssn",
    "SSN",
    "passport number",
    "Bearer",
    "basic",
    "sk-",
    "AKIA",
    "xoxb-",
    "ghp_",
    "eyJ",
    "-----BEGIN",
    "PRIVATE KEY",
    "http://",
    "://",
    "@",
    ":",
    "=",
    " is ",
    " ",
    "\n",
    "-",
    "_",
    ".",
    "/",
    "0",
    "7",
    "123",
    "4111 1111 1111 1111",
    "078-05-1120",
    "GB82WEST12345698765432",
    "QQ123456C",
    "ab12CD34ef56GH78ij90",
    "İ",
    "ı",
    "\u212a",
    "é",
    "’",
    "cloudant",
    "softlayer",
    "AC",
    "SK",
    "-us1",
    "aHVudGVyOmh1bnRlcjI=",
]
texts = st.lists(st.sampled_from(PIECES) | st.text(max_size=6), max_size=30).map("".join)


def spans(pattern: re.Pattern[str] | Gated, text: str) -> list[tuple[int, int]]:
    return [m.span() for m in pattern.finditer(text)]


@settings(max_examples=400, deadline=None)
@given(texts)
def test_every_gated_pattern_finds_what_its_pattern_finds(text: str) -> None:
    for gated in all_gated():
        assert spans(gated, text) == spans(gated.pattern, text), gated.pattern.pattern


def test_the_corpus_is_scanned_alike() -> None:
    lines = [json.loads(line) for line in CORPUS.read_text().splitlines() if line.strip()]
    assert lines
    for line in lines:
        text = line["text"]
        for gated in all_gated():
            assert spans(gated, text) == spans(gated.pattern, text), (gated.pattern, text)


@pytest.mark.parametrize(
    ("pattern", "needs"),
    [
        (r"(?i)\bpass(?:word|wd)\s*[:=]\s*\S+", [{"passw"}, {"passwd", "password"}]),
        (r"\b(?:pw|pwd|pass)\s*:", []),  # starts with a literal: `re` finds it itself
        (r"(?i)\b(?:pw|pass)\s*:", [{"pw", "pass"}]),
        (r"(?<!\d)\d{3}-\d{2}-\d{4}", [{DIGIT}]),
        (r"(?i)(?:x|)(?:key|token)=\w+", [{"key", "token"}]),
        (r"(?i)[a-z]+", []),
        (r"(?i)(?:ab)?cd", [{"cd"}]),
    ],
)
def test_requirements_are_read_from_the_parse(pattern: str, needs: list[set[str]]) -> None:
    clauses, _ = requirements(re.compile(pattern))
    assert [set(c) for c in dict.fromkeys(clauses)] == needs


def test_folding_beyond_ascii_is_the_patterns_own() -> None:
    pattern = re.compile(r"(?i)\bpassword\s*:\s*(\S+)")
    text = "the paſſword: hunter22"  # "ſ" matches "s" under IGNORECASE
    assert spans(Gated(pattern), text) == spans(pattern, text) != []


def test_prose_skips_most_patterns() -> None:
    prose = (
        "Here are a few ideas for a quiet weekend: a long walk by the river, a new recipe, "
        "and an early night. Pack light and bring a book."
    )
    skipped = [g for g in all_gated() if g.clauses and not g.could_match(prose)]
    assert len(skipped) >= len([g for g in all_gated() if g.clauses]) * 0.8
    assert secrets.find_secrets(prose) == []
