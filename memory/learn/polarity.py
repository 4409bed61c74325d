"""Polarity and content words of a statement: is a state affirmed or negated, and what is it
about (general patterns of English, shared by the cues, the linker and feedback)."""

from __future__ import annotations

import functools
import re

# Curly and modifier apostrophes read as the plain one.
APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'"})


# Not inside a hyphenated compound: "a no-makeup look", "a not-for-profit" are affirmed.
_NEGATORS = re.compile(
    r"\b(?<!-)(?:not|never|no|nor|n't|dont|doesnt|didnt|cant|wont|isnt|arent|cannot|without|"
    r"neither)\b(?!-)|n't\b",
    re.I,
)
_NEGATIVE_VERBS = re.compile(
    r"\b(?:dislike[sd]?|hate[sd]?|hating|avoid(?:s|ed|ing)?|detest\w*|despise[sd]?|loath\w*|"
    r"abhor\w*|can'?t stand|cannot stand|refuse[sd]?|reject\w*|averse|aversion|against|"
    r"opposed|tired of|sick of|bored (?:of|by|with)|stay away|steer clear|"
    # verbs of negative affect with the user as their object: "X bores me"
    r"(?:bores?|annoys?|irritates?|disgusts?|repels?|bothers?|frustrates?) (?:me|us))\b",
    re.I,
)
# Verbs that end a habit or a treatment: "I quit X", "I've come off the medication".
CESSATION_VERBS = (
    # "I've had to give up the soup run": an end the user did not choose is still an end
    r"had to (?:give up|stop|quit|come off|ditch)|"
    r"stopped|quit|given up|gave up|giving up|ceased|c[oa]me off|coming off|"
    r"weaned (?:myself )?off|ditched"
)
_CESSATION = re.compile(
    rf"\b(?:no longer|any ?more|{CESSATION_VERBS}|not \w+ing (?:these days|nowadays))\b",
    re.I,
)


@functools.lru_cache(maxsize=4096)
def polarity(text: str) -> int:
    """+1 for an affirmed state, -1 for a negated one ("I don't like X", "I dislike X",
    "I'm no longer X"); double negation cancels ("I don't dislike X")."""
    text = text.translate(APOSTROPHES)
    flips = len(_NEGATORS.findall(text)) + len(_NEGATIVE_VERBS.findall(text))
    flips += len(re.findall(rf"\bno longer\b|\b(?:{CESSATION_VERBS})\b", text, re.I))
    # "no longer" matched "no" as well; "not ... anymore" is one negation; "can't stand" is
    # one negative verb, not a negated one.
    flips -= len(re.findall(r"\bno longer\b|\b(?:can'?t|cannot) stand\b", text, re.I))
    return -1 if flips % 2 else 1


def is_cessation(text: str) -> bool:
    return bool(_CESSATION.search(text.translate(APOSTROPHES)))


def cessation_clause(text: str) -> str:
    """The clause of a sentence that ends a state ("I've come off the melatonin" in "I've come
    off the melatonin, I sleep fine without it"), or the whole sentence when none does alone:
    what follows it is a reason or a new state, whose negations are not the cessation's."""
    text = text.translate(APOSTROPHES)
    parts = [p for p in re.split(r"\s*[;:]\s*|,\s+|\s+-\s+", text) if p.strip()]
    ending = [p for p in parts if _CESSATION.search(p)]
    return ending[0] if len(parts) > 1 and len(ending) == 1 else text


_STOP = frozenset(
    re.findall(
        r"\S+",
        "i im i'm me my mine we our you your the a an and or but so to of in on at for with "
        "from by about as is am are was were be been being do does did dont don't not no "
        "never very really much more most now these days nowadays lately anymore any longer "
        "also just still than that this it its like likes liked love loves loved enjoy "
        "enjoys prefer prefers would rather have has had get got into fan big huge usually "
        "always often quite actually honestly these those them they there again ",
    )
)


_NUMBER_WORDS = ("one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
_DIGITS = dict(zip("123456789", _NUMBER_WORDS, strict=True))
_SUFFIX = re.compile(r"(?:ing|ed|es|s|e)$")


def _stem(word: str) -> str:
    cut = _SUFFIX.sub("", word)
    if cut != word and re.search(r"([bdgkmnprtv])\1$", cut) and len(cut) >= 4:
        # A consonant doubled before "-ing"/"-ed" is the verb's ("running", "swimming",
        # "stopped" meet "run", "swim", "stop"); "ll", "ss", "ff", "zz" and a doubled vowel
        # ("cooking", "booked") are in the word itself.
        cut = cut[:-1]
    return (cut if len(cut) >= 3 else word)[:5]


# The linker compares each statement with a user's ~100 beliefs, op after op: the same
# texts' words are asked for again and again.
@functools.lru_cache(maxsize=4096)
def content_stems(text: str) -> frozenset[str]:
    """Content words, crudely stemmed ("living" and "live" meet), numbers as words, for
    checking that two sentences share a topic."""
    text = re.sub(r"\b[1-9]\b", lambda m: _DIGITS[m.group(0)], text.translate(APOSTROPHES).lower())
    words = re.findall(r"[a-z][a-z'-]+", text)
    return frozenset(_stem(w) for w in words if w not in _STOP and len(w) > 2)
