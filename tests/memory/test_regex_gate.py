"""A gated pattern finds exactly what its pattern finds: its conditions are only necessary."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import memory.regex_gate as regex_gate
import memory.secrets as secrets
from memory.regex_gate import Atom, Digits, Gated, requirements

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
    "12-34 5678",
    "card 4111 1111 1111 1111",
    "1234567890:",
    "\\d",  # a backslash and a "d": no digit
    "\u0661\u0662\u0663-\u0664\u0665-\u0666\u0667\u0668\u0669",  # `\\d` takes Arabic-Indic digits
    "\uff14\uff11\uff11\uff11",  # and fullwidth ones
]
texts = st.lists(st.sampled_from(PIECES) | st.text(max_size=6), max_size=30).map("".join)
# Runs of digits around the patterns' thresholds (an SSN's run of 4, a card's 13 in all, a
# bot token's run of 8), split by the separators the patterns allow and by others.
DIGIT_RUNS = st.text(alphabet="0123456789", min_size=1, max_size=11)
SEPARATORS = st.sampled_from([" ", "-", ".", "/", "_", ":", "x", "A", "\n", " - ", ""])
digit_texts = st.lists(
    DIGIT_RUNS | SEPARATORS | st.sampled_from(PIECES), min_size=1, max_size=25
).map("".join)


def spans(pattern: re.Pattern[str] | Gated, text: str) -> list[tuple[int, int]]:
    return [m.span() for m in pattern.finditer(text)]


@settings(max_examples=400, deadline=None)
@given(texts)
def test_every_gated_pattern_finds_what_its_pattern_finds(text: str) -> None:
    for gated in all_gated():
        assert spans(gated, text) == spans(gated.pattern, text), gated.pattern.pattern


@settings(max_examples=400, deadline=None)
@given(digit_texts)
def test_runs_of_digits_are_gated_as_the_patterns_find(text: str) -> None:
    for gated in all_gated():
        assert spans(gated, text) == spans(gated.pattern, text), gated.pattern.pattern


@pytest.mark.parametrize(
    "text",
    [
        "12-34 5678",
        "078-05-1120",
        "078-05-112",
        "078 05 1120",
        "card 4111 1111 1111 1111",
        "card 4111 1111 1111 111",
        "4111-1111-1111-1111",
        "4111111111111111",
        "4111 1111 1111",
        "AB 12 34 56 C",
        "AB123456C",
        "AB 12 34 5 C",
        "GB82 WEST 1234 5698 7654 32",
        "1234567890:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw7",
        "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw",
        "my pin is 1234",
        "my pin is 123",
        "Bake at 180 for 25 minutes; 2 eggs, 3-4 apples, serves 6.",
    ],
)
def test_texts_around_the_digit_thresholds_are_scanned_alike(text: str) -> None:
    for gated in all_gated():
        assert spans(gated, text) == spans(gated.pattern, text), gated.pattern.pattern


def digits_asked(pattern: str) -> tuple[int, int]:
    """The shortest run and the fewest digits a text needs before `pattern` runs on it,
    probed through the gate itself: (0, 0) when it asks for no digit."""
    gated = Gated(re.compile(pattern))
    if gated.could_match("no digits here"):
        return 0, 0
    run = next(k for k in range(1, 40) if gated.could_match(" ".join(["7" * k] * 40)))
    total = next(n for n in range(run, 80) if gated.could_match("7" * run + " 7" * (n - run)))
    return run, total


@pytest.mark.parametrize(
    ("pattern", "run", "total"),
    [
        (r"\d{3}-\d{2}", 3, 5),
        (r"\d ?\d", 1, 2),  # the space may be there
        (r"(?:\d\d){2,}", 4, 4),
        (r"\d{4}|\d{2}x", 2, 2),  # the poorer alternative
        (r"\d{2,4}x", 2, 2),
        (r"\d{3}\d{2}", 5, 5),
        (r"\d{3}\d*\d{2}", 5, 5),  # digits only in between, if any: the run goes on
        (r"\d{3}(?!00)(?<=\d)\d{2}", 5, 5),  # what consumes nothing splits no run
        (r"(?:\d-){3}", 1, 3),
        (r"\d(?:[ ./_-]?\d){12,18}", 1, 13),  # secrets._CARD
        (r"\d{2}(?:\d|[0-9]{2})\d", 4, 4),
        (r"\d{2}(?:\d|x)\d", 2, 3),
        (r"(\d)\d\1\d{2}", 2, 4),  # a backreference may be anything
        (r"(?<![\d-])(?!000|666|9\d\d)\d{3}([- ])(?!00)\d{2}\1(?!0000)\d{4}(?![\d-])", 4, 9),
        (r"\d{8,10}:[0-9A-Za-z_-]{35}", 8, 8),
        (r"x?\d+", 1, 1),
        (r"(?:\d{3}|)\d", 1, 1),
        (r"[0-9a-f]{4}", 0, 0),
        (r"\d*", 0, 0),
    ],
)
def test_digits_asked_are_read_from_the_parse(pattern: str, run: int, total: int) -> None:
    assert digits_asked(pattern) == (run, total)


def test_short_runs_of_digits_skip_the_patterns_of_long_ones() -> None:
    reply = "Bake at 180 for 25 minutes; 2 eggs, 3-4 apples, serves 6."  # 9 digits
    ssn = next(p for kind, p in secrets._SIMPLE if kind == "ssn")
    assert not ssn.could_match(reply)
    assert not secrets._CARD.could_match(reply)
    assert not secrets._CARD.could_match("4111 1111 1111")  # 12 digits: 13 are needed
    assert secrets._CARD.could_match("4111 1111 1111 1")


@settings(max_examples=300, deadline=None)
@given(digit_texts | st.text())
def test_digits_are_counted_as_the_patterns_take_them(text: str) -> None:
    runs = [len(r) for r in re.findall(r"\d+", text)]
    view = regex_gate._view(text)
    assert (view.run, view.total) == (max(runs, default=0), sum(runs))


def test_a_literal_backslash_d_is_no_digit() -> None:
    pattern = re.compile(r"(?i)\\d")
    assert spans(Gated(pattern), "a \\d here") == spans(pattern, "a \\d here") != []


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
        (r"(?<!\d)\d{3}-\d{2}-\d{4}", [{Digits(4, 9)}]),
        # The digits' clause first (the cheapest test); a branch's weaker digits are enough.
        (r"(?i)(?:pin|\d{3})-\d{2}", [{Digits(2, 2)}, {"pin", Digits(3, 3)}]),
        (r"(?i)(?:\d{4}|\d{2}x|pw)", [{Digits(2, 2), "pw"}]),
        (r"(?i)(?:x|)(?:key|token)=\w+", [{"key", "token"}]),
        (r"(?i)[a-z]+", []),
        (r"(?i)(?:ab)?cd", [{"cd"}]),
    ],
)
def test_requirements_are_read_from_the_parse(pattern: str, needs: list[set[Atom]]) -> None:
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
