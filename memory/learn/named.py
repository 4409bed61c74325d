"""A change told of a thing the user's self-model names: "cancelled netflix, nothing on it",
"the lads took the old Hotpoint away", "Royal Mail cut my round, so Friday was my last day".

Users tell most changes of their things without the grammar the cues and change signals read:
no "I" ("British Gas gone."), lower case and typos ("ugh our it dept moved evrything to onedrive
so no more dropbox"), the end one clause among news of the new. What such messages keep is the
thing's own name, the word the user called it by when they first told of it (a brand, a
provider, a place, a person), and a word of ending or switching. A name is rare among what one
user has said: when one active belief alone holds a name the sentence says, the sentence is
about that belief, however far apart the two are in meaning (0.2-0.3 in cosine is usual for a
terse update against its first telling).

A name alone says nothing changed ("My Lloyds card got cloned"), so a word of the closed class
that ends or replaces a state must be said with it. Such a sentence is only ever read as the
revision of that one belief, never stored alone.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from memory.learn.change import is_additive, is_report, says_it_goes_on
from memory.learn.polarity import polarity
from memory.learn.revise import Match, is_same

# Words that end, leave or replace a state, a closed class of the grammar: verbs of ending
# and switching, the negated present ("no more", "not anymore"), and what marks a thing as
# past ("my last day", "the final bill"; not "old", which is as often its age).
_ENDING = re.compile(
    r"\b(?:gone|left|quit|cancell?ed|canceled|closed|ended|finished|stopped|dropped|ditched|"
    r"switched|swapped|swiched|changed|moved|ported|traded|replaced|sold|scrapped|deleted|"
    r"retired|lapsed|fizzled|folded|wound up|gave up|given up|got rid|died|broke down|"
    r"packed up|stolen|written off|let\s+(?:\S+\s+){0,3}?(?:go|"
    r"lapse)|took\s+(?:\S+\s+){1,5}?away|no more|no longer|not\s+(?:\S+\s+){0,3}?any ?more|"
    r"instead|former|last day|final|done with|(?:is|'s|are) done|"
    r"over now)\b",
    re.I,
)
# A capitalised word after the first: a name the user gave a thing ("Royal Mail", "Hotpoint",
# "the NHS").
_CAPITALISED = re.compile(r"(?<=\S\s)(?-i:[A-Z][A-Za-z0-9'-]+)")
# Capitalised by convention, not names of the user's things: days, months, the speaker.
_NOT_NAMES = frozenset(
    re.findall(
        r"\S+",
        "i i'm i've i'd i'll monday tuesday wednesday thursday friday saturday sunday mondays "
        "tuesdays wednesdays thursdays fridays saturdays sundays january february march april "
        "may june july august september october november december",
    )
)
# The cue of a change read by a name and a word of ending alone.
NAMED = "named"
NAMED_FLOOR = 0.2  # the cosine of the belief that alone names what the sentence names
# A statement that says a name one belief alone holds, this close to it, in the same polarity and
# with no word of ending, says that belief again ("My bakkie is a Hilux, the white one" after
# "I drive a white Toyota Hilux", 0.54-0.9 in cosine); a new fact of the same named thing is
# usually further off, or said as one more ("too", "a second").
NAMED_SAME = 0.65


# A verb of ending negated is no ending: "We never switched from Virgin", "I haven't cancelled".
_NEGATED_BEFORE = re.compile(
    r"\b(?:never|not|didn't|did not|haven't|hasn't|have not|has not|won't|wouldn't|don't|"
    r"doesn't|hadn't|nobody|no one)\s+(?:\w+\s+)?$",
    re.I,
)


def ending_mark(text: str) -> str | None:
    """The words that end or replace a state in `text`, if any; none in a sentence that says
    the state goes on ("Still driving the Toyota, never changed a thing on it"), and none
    negated ("We never switched from Virgin")."""
    text = text.replace("\u2019", "'")
    if says_it_goes_on(text):
        return None
    for m in _ENDING.finditer(text):
        if not _NEGATED_BEFORE.search(text[: m.start()]):
            return m.group(0).lower()
    return None


def _words(text: str) -> set[str]:
    return set(re.findall(r"[a-z0-9][a-z0-9'-]*", text.lower().replace("\u2019", "'")))


def _names(text: str) -> set[str]:
    text = text.replace("\u2019", "'")
    names = {re.sub(r"'s$", "", n.lower()) for n in _CAPITALISED.findall(text)}
    return {n for n in names if len(n) >= 3} - _NOT_NAMES


def shared_names(sentence: str, belief: str) -> set[str]:
    """The names one of the two says and the other holds as a word, in any case ("cancelled
    netflix" and "I have a Netflix subscription")."""
    return (_names(belief) & _words(sentence)) | (_names(sentence) & _words(belief))


def named_belief(sentence: str, found: Sequence[Match]) -> Match | None:
    """The one belief among `found` (every active belief of the user) that holds a name the
    sentence says, when no other belief holds it and the sentence does not merely say it
    again."""
    best = _sole_holder(sentence, found)
    if best is None:
        return None
    if best.similarity < NAMED_FLOOR or is_same(sentence, best.statement, best.similarity):
        return None
    return best


def _sole_holder(sentence: str, found: Sequence[Match]) -> Match | None:
    holders = [m for m in found if shared_names(sentence, m.statement)]
    if len(holders) != 1:
        return None
    best = holders[0]
    names = shared_names(sentence, best.statement)
    if any(names & _words(m.statement) for m in found if m.id != best.id):
        return None  # another belief holds the name too, in lower case
    return best


def said_again(sentence: str, found: Sequence[Match]) -> Match | None:
    """The one belief among `found` (every active belief of the user) that a statement says
    again by its name: close, of the same polarity, with nothing ended or added."""
    best = _sole_holder(sentence, found)
    if best is None or best.similarity < NAMED_SAME:
        return None
    if _ENDING.search(sentence.replace("\u2019", "'")) or is_additive(sentence):
        return None
    if not is_report(sentence):
        return None  # "I'm thinking about cancelling Hulu": a plan, not the state again
    return best if polarity(sentence) == polarity(best.statement) else None
