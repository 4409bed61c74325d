"""Which active belief a new statement or a change of mind is about, and how they relate.

A link needs meaning, not equal strings: the cosine of statement vectors, backed by shared
content words when the cosine alone is weak, and polarity ("I like X" against "I don't like
X") decides whether a close statement repeats a belief or contradicts it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from memory.learn.polarity import content_stems, polarity

SAME = 0.9  # at least this close, same polarity: the same belief said again
SAME_WITH_WORDS = 0.8  # ... or this close and half the shorter one's content words shared
SHARED_SHARE = 0.5  # content words shared, over the shorter statement's, for a restatement
# ... or, less close, when the longer one keeps every content word of the shorter (two at the
# least): "I prefer window seats" / "I always pick the window seat when I fly" (0.65). Two
# different facts on one topic each have words of their own ("I play tennis on Mondays" /
# "I play chess on Mondays").
SAME_CONTAINED = 0.6
CONTRADICTS = 0.72  # at least this close, opposite polarity, shared topic: a contradiction
CONTRADICTION_SHARE = 0.5  # ... and at least half of their content words in common
TARGET = 0.5  # a named old state ("switched from X") and a belief about X
TARGET_WITH_WORDS = 0.4  # ... when they also share a content word
TARGET_NAMED = 0.2  # ... or one belief alone holds every word the old state was named by
TOPIC = 0.5  # a new state marked as current ("I now ...") and the belief it replaces
TOPIC_WITH_WORDS = 0.42
TOPIC_MARGIN = 0.04  # ... and it must stand out from the runner-up
TOPIC_FLOOR = 0.4  # or, less close, when it stands far out from the runner-up
TOPIC_FAR_MARGIN = 0.1
KEEP_SHARE = 0.5  # a rewording keeps at least this share of the old wording's content words
# Or a belief less close that stands alone among those of the statement's polarity: "My
# roommates moved out, so I live alone now" is 0.37 from "I split rent with two roommates" and
# no other liking or habit of the user's comes within two thirds of that.
# Only for a sentence that sets the present against the past ("... now"), and only among enough
# beliefs for standing alone to mean something.
TOPIC_ALONE = 0.3
TOPIC_ALONE_RATIO = 0.65
ALONE_AMONG = 5


@dataclass(frozen=True)
class Match:
    id: str
    statement: str
    similarity: float
    shares_words: bool


def ranked(
    sims: np.ndarray, ids: Sequence[str], statements: dict[str, str], limit: int | None = 10
) -> list[Match]:
    """The beliefs most similar to a text, best first, given each one's cosine to it."""
    if not ids:
        return []
    order = np.argsort(-sims, kind="stable")[:limit]
    return [
        Match(ids[int(i)], statements.get(ids[int(i)], ""), float(sims[int(i)]), False)
        for i in order
    ]


def _shared(a: str, b: str) -> float:
    """The share of the shorter statement's content words that the other one has too: a
    restatement adds words ("... over screens", "... at home") but keeps the old ones."""
    x, y = content_stems(a), content_stems(b)
    if not x or not y:
        return 0.0
    paired = _negated_pairs(a, b) + _negated_pairs(b, a)
    return min(1.0, (len(x & y) + paired) / min(len(x), len(y)))


# A negative prefix before a word of five letters or more ("intolerant", "unhealthy").
_NEGATIVE_PREFIX = re.compile(r"\b(?:in|un|im|il|ir|dis|non)-?([a-z]{5,})", re.I)


def _negated_pairs(a: str, b: str) -> int:
    """How many words of a are a word of b negated by a prefix: the same topic, one
    constraint said by a prefix ("I'm gluten intolerant") and by a negation ("I can't
    tolerate gluten"). Words meet on their first five letters, as content stems do."""
    bases = {m[1].lower()[:5] for m in _NEGATIVE_PREFIX.finditer(a)}
    words = {w[:5] for w in re.findall(r"[a-z]{5,}", b.lower())}
    return len(bases & words)


def is_same(a: str, b: str, similarity: float) -> bool:
    """b says a again (in other words): close in meaning, same polarity."""
    if polarity(a) != polarity(b):
        return False
    if similarity >= SAME:
        return True
    shared = _shared(a, b)
    if similarity >= SAME_WITH_WORDS and shared >= SHARED_SHARE:
        return True
    shorter = min(len(content_stems(a)), len(content_stems(b)))
    return similarity >= SAME_CONTAINED and shared == 1.0 and shorter >= 2


def says_more(new: str, old: str) -> bool:
    """A restatement the belief should take the wording of: it keeps at least half of the old
    wording's content words and is no terser ("I like jazz" -> "I like jazz, especially
    1950s bebop"; "I dislike leather seats in cars" -> "I dislike vehicles with leather
    seats"). The user's latest words are the best evidence of how they now put it (the newer
    statement wins, as in memory/learn/conflicts.py); history keeps the old wording. A terser
    restatement leaves the fuller wording."""
    x, y = content_stems(old), content_stems(new)
    if not x or not y or x == y or polarity(new) != polarity(old):
        return False
    return len(x & y) / len(x) >= KEEP_SHARE and len(y) >= len(x)


def _each_has_own(a: str, b: str) -> bool:
    x, y = content_stems(a), content_stems(b)
    return bool(x - y) and bool(y - x)


def changed_value(new: str, old: str) -> bool:
    """Close statements where each has words the other lacks ("my favourite sport is
    sailing" / "... bouldering"): said with a change cue, the same frame with a new value."""
    x, y = content_stems(old), content_stems(new)
    return bool(x - y) and bool(y - x)


_NUMBER_WORDS = re.findall(
    r"\S+",
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
    "fifteen sixteen seventeen eighteen nineteen twenty",
)
_NUMBER = re.compile(r"\b(?:\d+(?:[.,:]\d+)?|" + "|".join(_NUMBER_WORDS) + r")\b", re.I)
_NUMBER_VALUE = {w: str(n) for n, w in enumerate(_NUMBER_WORDS)}


def numbers_of(text: str) -> set[str]:
    """The numbers a statement says, words as digits ("ten instalments" -> {"10"})."""
    return {_NUMBER_VALUE.get(n.lower(), n) for n in _NUMBER.findall(text)}


def changed_number(new: str, old: str) -> bool:
    """Both statements give a number and share none: the same slot with a new value ("I pay
    in ten instalments" / "I've spread it over twelve now")."""
    x, y = numbers_of(old), numbers_of(new)
    return bool(x) and bool(y) and not x & y


def _with_words(found: list[Match], text: str) -> list[Match]:
    words = content_stems(text)
    return [
        Match(m.id, m.statement, m.similarity, bool(words & content_stems(m.statement)))
        for m in found
    ]


def same_or_contradicting(statement: str, found: list[Match]) -> tuple[str, Match] | None:
    """("same", m) when the statement repeats m, ("contradicts", m) when it negates m."""
    found = _with_words(found, statement)
    for m in found:
        if is_same(statement, m.statement, m.similarity):
            return "same", m
    for m in found:
        if contradicts(statement, m.statement, m.similarity):
            return "contradicts", m
    return None


def target_of(target: str, found: list[Match], sign: int | None = None) -> Match | None:
    """The belief a named old state refers to ("forget what I said about X"). With `sign`,
    the old state has that polarity: "I don't like X anymore" drops a liking of X, never
    "I dislike X with Y"."""
    if sign is not None:
        found = [m for m in found if polarity(m.statement) == sign]
    for m in _with_words(found, target)[:3]:
        # Shared words back a weak cosine only when they are what the old state named: in
        # "stopped visiting zoos" against "I love visiting museums" they are the verb alone.
        backed = m.shares_words and not _each_has_own(target, m.statement)
        if m.similarity >= TARGET or (backed and m.similarity >= TARGET_WITH_WORDS):
            return m
    # "Drop the allotment from your notes": a short name is far in cosine from the sentence
    # it stands in, but when one belief alone holds all its words, it is the one named.
    words = content_stems(target)
    holding = [m for m in found if words and words <= content_stems(m.statement)]
    if len(holding) == 1 and holding[0].similarity >= TARGET_NAMED:
        return holding[0]
    return None


PART_NAMED = 0.45  # the whole sentence and the belief holding a word of the old state named
PART_NAMED_MARGIN = 0.15  # ... standing out from every other belief


def partly_named(target: str, found: list[Match], sign: int | None = None) -> Match | None:
    """The belief a change names in part ("so no more paying for the multi-storey" after "I
    park in the multi-storey by work"): far from the few words that name it, but the belief
    closest to the whole sentence, standing well out, and holding a word of those. With
    `sign`, the old state had that polarity."""
    words = content_stems(target)
    if not found or not words or (sign is not None and polarity(found[0].statement) != sign):
        return None
    best = found[0]
    runner = found[1].similarity if len(found) > 1 else 0.0
    if (
        words & content_stems(best.statement)
        and best.similarity >= PART_NAMED
        and best.similarity - runner >= PART_NAMED_MARGIN
    ):
        return best
    return None


def topic_of(statement: str, found: list[Match], contrasted: bool = False) -> Match | None:
    """The belief a new state marked as current replaces, when one clearly stands out.

    Only beliefs of the statement's polarity compete: "I now enjoy Y much more" replaces a
    liking, not "I avoid Z" however close Z is to Y (a negation of the same thing is a
    contradiction, found by `same_or_contradicting` first)."""
    mine = polarity(statement)
    among = len(found)
    found = _with_words([m for m in found if polarity(m.statement) == mine], statement)
    if not found:
        return None
    best = found[0]
    runner = found[1].similarity if len(found) > 1 else 0.0
    if is_same(statement, best.statement, best.similarity):
        return None  # a restatement, not a change
    lead = best.similarity - runner
    if (
        (best.similarity >= TOPIC and lead >= TOPIC_MARGIN)
        or (best.similarity >= TOPIC_FLOOR and lead >= TOPIC_FAR_MARGIN)
        or (best.shares_words and best.similarity >= TOPIC_WITH_WORDS)
        or (
            contrasted
            and among >= ALONE_AMONG
            and best.similarity >= TOPIC_ALONE
            and runner <= TOPIC_ALONE_RATIO * best.similarity
        )
    ):
        return best
    return None


# The words of a statement that frame it rather than name its object: the attitude, the
# change cue, the cleft ("X is what I enjoy now" -> "X"). What is left names the slot's value.
_FRAME_WORDS = frozenset(
    re.findall(
        r"\S+",
        "i i'm i've i'd me my we we're we've our us is are am was be been being have has "
        "had do does did now nowadays these days lately currently actually turns out turned "
        "again anymore really truly honestly just still much more most better best rather "
        "prefer prefers preferred preferring like likes liked love loves loved enjoy enjoys "
        "enjoyed into fan favourite favorite favourites favorites thing things choice go-to "
        "pick what how where when which that this the a an of for to suit suits suited "
        "started start begun become became new instead",
    )
)
SLOT = 0.3  # the object alone and the belief it replaces
SLOT_MARGIN = 0.1  # ... standing out from the runner-up
SLOT_SENTENCE = 0.25  # ... and the whole statements not unrelated


def object_phrase(statement: str) -> str:
    """The statement without its framing words: what the attitude is about."""
    words = re.findall(r"[A-Za-z0-9][\w'-]*", statement.replace("\u2019", "'"))
    return " ".join(w for w in words if w.lower() not in _FRAME_WORDS)


def slot_of(statement: str, by_object: list[Match], by_sentence: list[Match]) -> Match | None:
    """The belief a new value for the same slot replaces, found by its object ("Crosswords
    are what I enjoy now" -> "I'm obsessed with sudoku puzzles"): the whole sentences share
    a frame ("I ... enjoy") with many beliefs; the objects single out the one about the same
    kind of thing. Only a clear winner of the same polarity counts."""
    mine = polarity(statement)
    whole = {m.id: m.similarity for m in by_sentence}
    found = [m for m in by_object if polarity(m.statement) == mine]
    if not found:
        return None
    best = found[0]
    runner = found[1].similarity if len(found) > 1 else 0.0
    if (
        best.similarity >= SLOT
        and best.similarity - runner >= SLOT_MARGIN
        and whole.get(best.id, 0.0) >= SLOT_SENTENCE
        and not is_same(statement, best.statement, whole.get(best.id, 0.0))
    ):
        return best
    return None


def residence_of(statement: str, found: list[Match]) -> Match | None:
    """For a statement of where the user now lives, the belief that said where they lived."""
    return next((m for m in found if m.statement != statement), None)


def _jaccard(a: str, b: str) -> float:
    x, y = content_stems(a), content_stems(b)
    return len(x & y) / len(x | y) if x and y else 0.0


def contradicts(a: str, b: str, similarity: float) -> bool:
    """a negates b: close, opposite polarity, about the same things. A qualified negation
    ("I dislike horror movies with jump scares") does not contradict a general liking ("I
    love horror movies"): the words they do not share must not outnumber those they do."""
    return (
        similarity >= CONTRADICTS
        and polarity(a) != polarity(b)
        and _jaccard(a, b) >= CONTRADICTION_SHARE
    )


def conflicts(
    ids: Sequence[str], matrix: np.ndarray, rows: dict[str, dict[str, Any]]
) -> list[tuple[str, str, float]]:
    """Pairs of active beliefs that contradict each other, closest first."""
    if len(ids) < 2:
        return []
    sims = matrix @ matrix.T
    out = []
    for i in range(len(ids)):
        for j in np.nonzero(sims[i, i + 1 :] >= CONTRADICTS)[0]:
            k = i + 1 + int(j)
            a, b = rows.get(ids[i]), rows.get(ids[k])
            if a and b and contradicts(a["statement"], b["statement"], float(sims[i, k])):
                out.append((ids[i], ids[k], float(sims[i, k])))
    return sorted(out, key=lambda t: -t[2])


# A change the cues read but no frame linked ("We finished breastfeeding this month - she just
# wasn't interested any more", whose "any more" names the wrong clause as the old state): the
# user's beliefs are mostly about other things, so the one the change is about is usually far
# closer to it than any other. Closer, and alone, by more than any shared topic makes two
# beliefs of one user: the runner-up within this share of the winner is a crowd, not a
# standout.
STANDOUT = 0.45
STANDOUT_RATIO = 0.6


def standing_out(statement: str, found: list[Match]) -> Match | None:
    """The one belief a change said as `statement` is about, when it alone is close to it."""
    if len(found) < ALONE_AMONG:
        return None  # standing alone among a handful of beliefs means little
    best, runner = found[0], found[1].similarity
    if best.similarity < STANDOUT or runner > STANDOUT_RATIO * best.similarity:
        return None
    if is_same(statement, best.statement, best.similarity):
        return None  # said again, not changed
    return best
