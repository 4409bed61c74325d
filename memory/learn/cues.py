"""Linguistic cues of a change of mind, a negation and a retraction.

General patterns of English, not sentences: a cessation marker ("no longer", "anymore",
"stopped", "gave up"), a change frame ("switched from X to Y", "used to X but now Y", "moved
to Y"), a now-marker on a new state ("actually", "now", "these days"), and a request to drop
something said ("forget what I said about X"). Each parse names the cue that fired, so the
evidence can say why a belief changed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from memory.learn.change import VERB_PAST, is_additive, is_gift, one_occasion_instead
from memory.learn.frames import Frame, compared_away, fading, favoured_topic, parse_frame
from memory.learn.polarity import (
    APOSTROPHES,
    CESSATION_VERBS,
    content_stems,
    is_cessation,
    polarity,
)
from memory.learn.shapes import is_possessed_habit
from memory.learn.times import LEADING_TIME, without_time


@dataclass(frozen=True)
class Change:
    kind: str  # "retract": drop what `target` describes; "revise": `statement` replaces it
    cue: str
    target: str | None  # words naming the old state (None: find it from `statement`)
    statement: str | None = None  # the new state, a first-person sentence


# Where the user lives: a move replaces the belief that says so, whatever its wording.
_RESIDENCE = re.compile(
    r"\b(?:i|we)(?:'m|'re| am| are)?\s+(?:\w+\s+){0,2}?(?:live|living|lives|based|located|"
    r"residing|reside|settled|stationed)\s+(?:in|at|near|on|outside|close to)\b"
    r"|^\W*(?:(?:my|our) (?:new )?)?home is (?:now |currently )?(?:in )?(?-i:[A-Z])"
    r"|\b(?:my|our) (?:home|house|flat|apartment|place) is (?:in|at|near)\b"
    r"|\b(?:i|we)(?:'ve| have)?\s+(?:just\s+|recently\s+)?(?:moved|relocated)\s+to\b",
    re.I,
)


# A new home, said of the household ("we", "our family") as often as of the user: bought or
# rented, or "we're in Queens these days" (a lasting stay, not "I'm in Rome this week").
_HOME = re.compile(
    r"\b(?:i|we|(?:my|our) (?:family|household))(?:'ve| have|'re| are|'m| am)?\s+"
    r"(?:(?:just|now|recently|finally|since)\s+)*(?:bought|own|owns|rent|rents|rented|purchased|"
    r"moved into|got)\s+(?:a|an|our|my|the)\s+(?:[\w-]+\s+){0,3}?(?:house|home|flat|apartment|"
    r"farmhouse|condo|cottage|bungalow|studio|townhouse|loft)\b"
    r"|\b(?:i|we)(?:'m|'re| am| are)\s+(?:(?:now|living|based|settled)\s+)?in\s+(?-i:[A-Z])"
    r"[^.;!?]*\b(?:these days|nowadays|for good|permanently)\b",
    re.I,
)


def states_home(text: str) -> bool:
    return bool(_HOME.search(text.translate(APOSTROPHES)))


def states_residence(text: str) -> bool:
    text = text.translate(APOSTROPHES)
    return bool(_RESIDENCE.search(text) or _HOME.search(text))


# -- change cues ------------------------------------------------------------------------------

_LEAD = r"^\W*(?:(?:so|well|ok(?:ay)?|oh|hey|also|and|but|btw|actually|update|quick update)\W+)*"
_FORGET_THING = re.compile(
    _LEAD + r"(?:(?:please|you can|you may|feel free to|just|go ahead and)\s+)*(?:forget|"
    r"disregard|ignore|scratch|drop)\s+(?:about\s+)?(?:the|that|my)\s+(?P<target>[^.;!?]+?)\s+"
    r"(?:thing|stuff|bit|part|business|comment|remark)\b",
    re.I,
)
_FORGET = re.compile(
    _LEAD + r"(?:(?:please|you can|you may|feel free to|just|go ahead and)\s+)*(?:forget|disregard|"
    r"ignore|scratch|strike|drop|delete|erase|"
    r"remove|never ?mind|take back|i take back|i retract|retract)\b[\s,]*(?:about\s+)?"
    r"(?:what|everything|anything|all|the (?:thing|part|bit|stuff)s?|my (?:earlier |last |"
    r"previous )?(?:comment|note|message|remark|statement)s?)?\s*"
    r"(?:(?:i|i've|i have)\s+(?:just\s+)?(?:said|told you|mentioned|wrote|shared|stated|"
    r"written)\s*)?(?:earlier|before|previously)?\s*(?:about|regarding|re|on|concerning)\s+"
    r"(?P<target>[^.;!?]+)",
    re.I,
)
_AFTER_TARGET = re.compile(r"\s*(?:[,;:]|\s-)\s*(?:and\s+|but\s+)?(?=(?:i|we)(?:'\w+)?\s)", re.I)
_CHANGED_MIND = re.compile(
    _LEAD + r"i(?:'ve| have)?\s+changed my mind\s+(?:about|on|regarding)\s+"
    r"(?P<target>[^:;,.!?-]+?)(?:\s*[:;,.!-]+\s*(?P<rest>.+))?$",
    re.I,
)
_FROM_TO = re.compile(
    _LEAD + r"(?:i|we|(?:my|our) \w+(?: \w+)?)(?:'ve| have|'s| has|'m| am)?\s+"
    r"(?:recently\s+|finally\s+|just\s+)?(?:switched|changed|"
    r"moved|gone|went|converted|shifted|migrated|transitioned|switching|moving|upgraded|"
    r"downgraded)\s+(?:over\s+)?from\s+(?P<target>.+?)\s+(?:to|for|towards)\s+(?P<new>[^.;!?]+)",
    re.I,
)
_REPLACED = re.compile(
    _LEAD + r"i(?:'ve| have)?\s+(?:recently\s+|just\s+)?(?:replaced|swapped|traded|exchanged|"
    r"substituted)\s+(?P<target>.+?)\s+(?:with|for)\s+(?P<new>[^.;!?]+)",
    re.I,
)
_USED_TO = re.compile(
    _LEAD + r"i\s+used\s+to\s+(?P<target>.+?)\s*[,;]?\s*(?:but|though|whereas|and)\s+"
    r"(?:now|these days|nowadays|lately|today)?\s*,?\s*(?P<new>[^.;!?]+)",
    re.I,
)
_MOVED = re.compile(
    _LEAD + r"(?:(?:i|we)(?:'ve| have| just| recently| finally| now)*\s+(?:moved|relocated|"
    r"emigrated|immigrated|settled(?: down)?)\s+(?:(?:back|out|away)\s+)?(?:to|into|in)\s+"
    # A place is named ("Berlin") or determined ("a village", "our new flat"): "moved to
    # day shifts" or "moved to working from home" is no change of home.
    r"(?=(?-i:[A-Z])|(?:a|an|the|my|our|this|that)\s)"
    r"|(?:(?:my|our) (?:new )?)?home is (?:now |currently )?(?:in )?(?=(?-i:[A-Z])))"
    r"(?P<new>[^.;!?,]+)",
    re.I,
)
_NEGATED_NOT = re.compile(
    _LEAD + r"not\s+(?P<target>[^.;!?,]+?)\s+(?:any ?more|any longer)\b\W*(?P<rest>.*)$", re.I
)
_THAN = re.compile(r"\b(?:rather|more|better)\b.*?\bthan\s+(?P<target>[^.;!?,]+)", re.I)
_NOT_TAIL = re.compile(
    r",?\s*(?:and\s+)?\b(?:not|instead of|rather than)\s+(?P<target>[^.;!?,]+)\W*$", re.I
)
# Before "instead of", a subject that says what is so: the user or theirs, or someone a
# pronoun names; not a request ("Write it in Go instead of the Java") nor a wish or a plan
# ("I'd like tea instead of the coffee").
_TOLD_SUBJECT = re.compile(r"\b(?:i|we|he|she|they|my|our)\b", re.I)
_MODAL = re.compile(
    r"\b(?:i|we|you|he|she|they)(?:'d|'ll| would| will| could| should| can| might| may)\b"
    r"|\b(?:please|want to|plan to|thinking of)\b",
    re.I,
)


def _told_state(head: str) -> bool:
    return bool(_TOLD_SUBJECT.search(head)) and not _MODAL.search(head)


_INSTEAD_OF = re.compile(
    r"\b(?:instead of|in place of)\s+(?P<target>(?:the|my|our|a|an|his|her|their)\s+[^.;!?,]+)",
    re.I,
)
# A new state marked as current: "Actually, I ...", "I now ...", "I'm X now", "these days I ...".
_NOW = re.compile(
    r"^\W*(?:actually|correction|update|change of plans?|in fact|turns out)\b"
    r"|\b(?:now|nowadays|these days|lately|anymore|any more|at the moment|currently|"
    r"since then|from now on|again)\b"
    r"|\bi(?:'ve| have)\s+(?:recently\s+)?(?:started|begun|become|turned|taken up|got into|"
    r"gotten into|switched|decided|moved over|changed over|gone over|converted|migrated|"
    r"upgraded|downgraded)\b"
    r"|\b(?:won|win|wins) (?:me|us) over\b",
    re.I,
)
_CESSATION_SELF = re.compile(
    r"\b(?:i|we)(?:'m| am|'re| are)?\s+(?:no longer|not\b.*?\b(?:any ?more|any longer))", re.I
)
_STOPPED = re.compile(
    rf"\b(?:i|we)(?:'ve| have)?\s+(?:just\s+|finally\s+)?(?:{CESSATION_VERBS})\s+"
    r"(?P<target>[^.;!?,]+)",
    re.I,
)

# "I'm off the waiting list": the particle "off" negates the state "on" named ("I'm on the
# waiting list"). Only a determined noun phrase: "I'm off to Leeds", "I'm off work today"
# place the user, they end nothing.
_OFF = re.compile(
    r"\b(?:i|we)(?:'m|'re| am| are)\s+(?:(?:now|finally|officially|also|just)\s+)*off\s+"
    r"(?P<target>(?:the|my|our)\s+[^.;!?,]+?)"
    r"(?:\s+(?:for good|now|permanently|at last|altogether|for now))*\s*(?:[.;!?,]|$)",
    re.I,
)
# "The tutoring's finished": an activity, named by its gerund as the subject, has ended; what
# ended is the user doing it ("I tutor ..."). The gerund stripped of "-ing" is the verb.
_ACTIVITY_ENDED = re.compile(
    r"^\W*(?:(?:so|well|and|but|anyway|sadly)\W+)*(?:the|my|our)\s+(?:[\w-]+\s+)?"
    r"(?P<verb>[a-z]{3,})ing(?:'s|\s+(?:is|has|was|have|are))\s+(?:(?:now|finally|all|"
    r"officially|well and truly)\s+)*(?:finished|over|ended|done|stopped|come to an end|"
    r"wrapped up)\b",
    re.I,
)


# The user parting with a thing of theirs: a verb of ending, cancelling, selling or leaving
# (a closed class of the grammar) with the thing as its object ("We cancelled the gym
# membership", "I sold the campervan", "I finally got out of the lease", "I didn't renew the
# subscription"), or the thing as the subject of an ending ("The allotment's gone", "my book
# club fizzled out"). The thing named is the old state.
_PARTED = (
    r"cancell?ed|sold|flogged|scrapped|got rid of|gotten rid of|got out of|gave away|"
    r"given away|packed in|let go of|"
    r"(?:didn't|did not|haven't|have not|won't be|am not|'m not) renew(?:ed|ing)?"
)
_PARTED_WITH = re.compile(
    r"\b(?:i|we)(?:'ve| have)?\s+(?:(?:just|finally|also|eventually|actually)\s+)*"
    rf"(?:{_PARTED})\s+(?P<target>(?:the|my|our)\s+[^.;!?,]+?|(?-i:[A-Z])[^.;!?,]*?)"
    r"(?=\s+(?:when|after|because|as|since|so|and|but|last|in|on|this|at)\b|\s+-|[.;!?,]|$)",
    re.I,
)
_THING_ENDED = re.compile(
    r"(?:^|[,;:]\s*|\b(?:and|so|but)\s+)(?P<target>(?:the|my|our)\s+(?:[\w-]+\s+){0,2}?[\w-]+)"
    r"(?:'s|\s+(?:is|has|was|have|are))?\s+(?:(?:now|finally|all|officially|just)\s+)*"
    r"(?:gone|fizzled out|packed in|packed up|wound up|been (?:sold|cancelled|scrapped))\b",
    re.I,
)
# A lapse: the negated perfect over a stretch of time that runs up to now ("I haven't played
# squash since Easter", "we haven't been to the cinema in over a year") says a habit stopped,
# the way "not anymore" does. What lapsed is the habit in the positive.
_SPAN = (
    r"(?:since\s+(?!(?:i|we|you|he|she|they|it)\b)\S+(?:\s+(?:last|this)\s+\w+)?|"
    r"(?:in|for)\s+(?:(?:over|more than|nearly|almost|about|at least|well over)\s+)?"
    r"(?:(?:a|an|two|three|four|five|six|several|many|\d+)\s+(?:years?|months?|weeks?)|"
    r"decades|years|months|weeks|ages|forever|a (?:long )?(?:while|time)))"
)
_LAPSED = re.compile(
    r"(?:^\W*|\b(?:i|we)\s+)(?:haven't|have not|hasn't)\s+"
    r"(?:(?:really|actually|even|properly)\s+)?"
    rf"(?P<habit>[a-z]+\s+[^.;!?,]*?)\s+{_SPAN}"
    r"(?=\s*(?:$|[.;!?,]|-\s|(?:now|because|as|since|so|and|but)\b))",
    re.I,
)


# "No more X": said at the head of the sentence, the thing is what ended.
_NO_MORE = re.compile(r"^\W*no more\s+(?P<target>[^.;!?,]+?)(?=\s+-|[.;!?,]|$)", re.I)


def _parted(text: str) -> Change | None:
    """A thing the user parted with, or that ended, as the old state to retract."""
    if text.endswith("?"):
        return None
    m = _PARTED_WITH.search(text) or _THING_ENDED.search(text) or _NO_MORE.match(text)
    if m is None or not content_stems(m["target"]):
        return None
    target = _clean(m["target"])
    rest = text[m.end() :]
    if re.match(r"\s*,?\s*(?:and|so)\s+", rest, re.I) and polarity(rest) > 0:
        # "I sold the van and bought bikes", "I cancelled X, so Y is all I pay for": what
        # follows is what took its place; the whole sentence is the new state.
        return Change("revise", "parted", target, _sentence(text))
    return _after_event(text, Change("retract", "parted", target))


_FIRST_PERSON = re.compile(r"\b(?:i|i'm|i've|i'd|we|my|our|me|us)\b", re.I)


def _clean(part: str) -> str:
    return " ".join(part.strip(" ,;:-\"'").split())


# A clause told of someone a pronoun names: its subject is theirs, never the user's.
_TOLD_OF = re.compile(r"(?:he|she|they)\b", re.I)


# A clause with a subject of its own that is no person of the user's: a determined noun ("New
# job starts at 7 ...", "the gym shut"), an acronym ("MIL moved back"), a name and its verb
# ("Octopus took over our supply"). "I" goes before a clause that dropped it, not before one.
_OWN_SUBJECT = re.compile(
    r"^\W*(?:(?:the|a|an|this|that|these|those|his|her|their|its|everyone|everybody|nobody|"
    r"someone|somebody|all|both|each|every|some|no|new|old|everything|nothing|something|"
    r"anything|it|it's|there|there's|that's)\s|(?-i:[A-Z]{2,})\s|"
    rf"(?!(?:{VERB_PAST})\b)(?-i:[A-Z][a-z]+)\s+(?:{VERB_PAST}|is|are|was|were|has)\b|"
    # two names joined: "Sydney and Melbourne and are now expanding ..."
    r"(?-i:[A-Z][a-z]+)\s+(?:and|&)\s+(?-i:[A-Z]))",
    re.I,
)


def _sentence(part: str) -> str:
    text = re.sub(_LEAD, "", _clean(part), flags=re.I)
    text = re.sub(
        r"^(?:(?:now|these days|nowadays|lately|today|correction|change of plans?|in fact|"
        r"turns out)\W+)+",
        "",
        text,
        flags=re.I,
    )
    own = _FIRST_PERSON.search(text) or _TOLD_OF.match(text) or _OWN_SUBJECT.match(text)
    if not own:
        # "Got moved onshore ..." -> "I got moved onshore ..."; "MRI scans" keep their case.
        text = f"I {text[:1].lower()}{text[1:]}" if re.match(r"[A-Z][a-z]", text) else f"I {text}"
    text = text[:1].upper() + text[1:]
    return text if text.endswith(".") else text + "."


def affirmed(text: str) -> str:
    """The positive form of a cessation ("I'm no longer vegetarian" -> "I'm vegetarian")."""
    out = text.translate(APOSTROPHES)
    out = re.sub(r"\bno longer\b\s*", "", out, flags=re.I)
    out = re.sub(r"\b(?:any ?more|any longer)\b", "", out, flags=re.I)
    out = re.sub(r"\b(?:do|does|did)(?: not|n't)\s+", "", out, flags=re.I)
    out = re.sub(r"\b(am|is|are|was|were|'m|'re)\s+not\b", r"\1", out, flags=re.I)
    # "isn't", "aren't", "wasn't", "haven't": the verb without its negation.
    out = re.sub(r"\b(is|are|was|were|has|have|had)n't\b", r"\1", out, flags=re.I)
    out = re.sub(r"\b(?:don'?t|doesn'?t|didn'?t|not)\s+", "", out, flags=re.I)
    out = re.sub(rf"\b(?:{CESSATION_VERBS})\s+(?:being\s+)?", "", out, flags=re.I)
    return " ".join(out.split())


_CLAUSE_BREAK = re.compile(r"\s*[;:]\s*|,\s+(?:and\s+|but\s+|so\s+)?|\s+-\s+")


def _clauses(text: str) -> list[str]:
    """The clauses of a sentence, split at semicolons, colons, dashes and comma joins."""
    return [p for p in _CLAUSE_BREAK.split(text) if p and p.strip()]


def _held_state(clause: str) -> str:
    """The state a negated clause ends, affirmed and without its time words ("and I don't
    play darts at all these days" -> "I play darts")."""
    clause = re.sub(r"^\W*(?:and|but|so|which is why)\s+", "", clause, flags=re.I)
    held = _TIME_NOW.sub("", affirmed(clause))
    held = re.sub(r"\s+(?=[.,])", "", re.sub(r"\bat all\b", "", held, flags=re.I))
    return _clean(held)


_NEW_MARK = re.compile(
    r"\b(?:now|these days|nowadays|lately|instead|currently|from now on|my (?:new )?(?:thing|"
    r"go-to|jam)|for me)\b",
    re.I,
)


def _dropped_then_new(text: str) -> Change | None:
    """ "X is no longer my thing; I do Y instead": a clause dropping the old state, then a
    clause stating what replaced it."""
    parts = _clauses(text)
    if len(parts) < 2:
        return None
    first = parse_change(parts[0])
    if first is None or first.kind != "retract" or first.target is None:
        return None
    rest = [p for p in parts[1:] if _NEW_MARK.search(p) and len(p.split()) >= 2]
    if not rest:
        # "I no longer drive to work; I cycle there every day": the user's own affirmed
        # clause right after the drop is what replaced it, marked as current or not. The whole
        # sentence is the new state: its first clause says what it is no longer.
        if _replacing(parts[1]):
            return Change("revise", first.cue, first.target, _sentence(text))
        return None
    if any(polarity(p) < 0 for p in rest):
        return None
    # The whole sentence, unless its negation would read as the new state's.
    statement = text if polarity(text) > 0 else " ".join(rest)
    return Change("revise", first.cue, first.target, _sentence(statement))


# An event done to the user: "Work's given me a permit", "The council offered us a flat".
_TO_USER = re.compile(rf"\b{VERB_PAST}\s+(?:me|us)\b", re.I)
# A clause that shares the user's subject with the one before it ("I don't do spotify anymore,
# switched to apple music"): its past verb is theirs, as in a diary line; not a verb whose
# subject is no person ("turned out", "seemed").
_SHARED_SUBJECT = re.compile(
    rf"^\W*(?:(?:and|then|just|so)\s+)*(?!(?:turned|seemed|looked|sounded|happened|used)\b)"
    rf"{VERB_PAST}\s+(?:\w+\s+)?(?:to|into|onto|for|with|at|up|over|the|an?|my|our)\b",
    re.I,
)


def _replacing(clause: str) -> bool:
    """A clause that can state what replaced a dropped state: the user's own (or one joined
    into it by "and": "the GP suggested X and I've been on it since"), an event done to them,
    or a lasting arrangement of one of their people ("my partner collects them on Fridays");
    affirmed, and more than a reaction ("I feel great" is one; "I do" is not)."""
    clause = re.sub(r"^\W*(?:so|and|but|instead|now)\W+", "", clause, flags=re.I)
    joined = re.split(r"\s+and\s+(?=(?:i|we)\b)", clause, flags=re.I)
    own = any(_SELF_CLAUSE.match(p) and len(p.split()) >= 3 for p in joined)
    own = own or bool(_SHARED_SUBJECT.match(clause))
    return bool(
        (own or _TO_USER.search(clause) or is_possessed_habit(clause))
        and polarity(clause) > 0
        and len(clause.split()) >= 3
        and not is_cessation(clause)
    )


def _after_event(text: str, change: Change) -> Change:
    """ "I took a job at a bank, so I'm not freelancing anymore": a retraction whose sentence
    also states, in an earlier clause of the user's, what they do instead is a revision; the
    whole sentence is the new state."""
    parts = _clauses(text)
    if change.kind != "retract" or len(parts) < 2:
        return change
    dropping = [n for n, p in enumerate(parts) if polarity(p) < 0 or is_cessation(p)]
    if not dropping:
        return change
    # What replaced it, before the drop or after it ("X stopped working, so I'm on Y now").
    others = parts[: dropping[0]] + parts[dropping[0] + 1 :]
    if not any(_replacing(p) for p in others):
        return change
    return Change(
        "revise", change.cue, _held_state(parts[dropping[0]]) or change.target, _sentence(text)
    )


def _faded(text: str, topic: str) -> Change:
    """ "X bores me these days": X, the topic, is no longer liked; a later clause in the
    user's voice ("...; I take it bitter") is what replaced it."""
    parts = _clauses(text)
    rest = [p for p in parts[1:] if re.match(r"\W*(?:i|we)\b", p, re.I) and polarity(p) > 0]
    if rest and len(rest[0].split()) >= 3:
        return Change("revise", "faded", topic, _sentence(rest[0]))
    return Change("retract", "faded", topic, _sentence(text))


# "Cooking shows have become my favourite": the verb itself says the state is new.
_BECAME = re.compile(r"\b(?:has|have|'s|'ve)\s+(?:\w+\s+)?become\b|\bbecame\b", re.I)
_TIME_NOW = re.compile(
    r"\b(?:now|these days|nowadays|lately|at the moment|any ?more|any longer)\b", re.I
)
_SELF_CLAUSE = re.compile(r"^\W*(?:(?:and|but|so|now)\s+)?(?:i|we)\b", re.I)


def _negated_now(text: str) -> Change | None:
    """ "The league ended, and I don't play darts at all these days": a clause of the user's
    that negates a state at the present time ends the affirmed state, whatever the other
    clauses say (the reason, the event); a later affirmed clause of theirs marked as current
    is what replaced it."""
    parts = _clauses(text)
    for n, part in enumerate(parts):
        if _SELF_CLAUSE.match(part) and polarity(part) < 0 and _TIME_NOW.search(part):
            held = _held_state(part)
            rest = [
                p
                for p in parts[n + 1 :]
                if _SELF_CLAUSE.match(p) and polarity(p) > 0 and _NEW_MARK.search(p)
            ]
            if rest and len(rest[0].split()) >= 3:
                return Change("revise", "no longer", held, _sentence(rest[0]))
            return Change("retract", "no longer", held)
    return None


def _faded_later(text: str) -> str | None:
    parts = _clauses(text)
    for part in parts[1:]:
        part = re.sub(r"^\W*(?:so|and|but|which is why|hence)\s+", "", part, flags=re.I)
        if (topic := fading(part)) is not None:
            return topic
    return None


_PRONOUN = re.compile(r"(?:it|them|those|that|this|these|they|one|ones)", re.I)


def _anaphoric(text: str) -> Change | None:
    """ "Afternoon naps leave me groggy, so I've cut them out": a later clause drops a
    pronoun whose antecedent is the first clause, which then names the old state."""
    parts = _clauses(text)
    if len(parts) < 2 or len(parts[0].split()) < 2:
        return None
    for part in parts[1:]:
        part = re.sub(r"^\W*(?:so|and|but|which is why)\s+", "", part, flags=re.I)
        # A particle after its pronoun object: "cut them out" -> "cut out them".
        part = re.sub(
            r"\b(cut|put|give|gave|given|throw|threw|thrown|phase|phased)\s+(it|them|those|that)\s+"
            r"(out|down|away|up)\b",
            r"\1 \3 \2",
            part,
            flags=re.I,
        )
        change = parse_change(part)
        if change is not None and change.target and _PRONOUN.fullmatch(change.target):
            return Change(change.kind, change.cue, _clean(parts[0]), change.statement)
    return None


# A clause giving the reason for a change by what went wrong with the old thing: its subject
# is that thing ("the Garmin strap kept breaking", "my old bank's fees were too high").
_REASON_SUBJECT = re.compile(
    r"^\W*(?:(?:because|since|as|cause)\s+)?(?:the|my|our|that|this)\s+"
    r"(?P<thing>(?:[\w'-]+\s+){0,3}?[\w'-]+)\s+(?:(?:just|really|simply)\s+)?(?:was|were|is|"
    r"are|got|had|has|kept|became|cost|costs|went|stopped|broke|died)\b",
    re.I,
)
_NAME = re.compile(r"\b(?-i:[A-Z][\w-]*[A-Za-z])\b")


def _reason_of(text: str) -> str | None:
    """ "I've moved over to Linux, the Windows updates were driving me mad": the old thing,
    named as the subject of the reason after the user's own clause. A name in it ("Windows")
    is the thing; the rest says what of it was wrong ("updates")."""
    parts = _clauses(text)
    if len(parts) < 2 or not _SELF_CLAUSE.match(parts[0]):
        return None
    for part in parts[1:]:
        if m := _REASON_SUBJECT.match(part):
            names = [n for n in _NAME.findall(m["thing"]) if n != "I"]
            return " ".join(names) if names else _clean(m["thing"])
    return None


# "You can drop the council flat from your notes": the thing itself, named, to be removed
# from what the assistant keeps about the user.
_FORGET_FROM = re.compile(
    _LEAD + r"(?:(?:please|you can|you may|feel free to|just|go ahead and)\s+)*(?:forget|"
    r"drop|remove|delete|erase|scratch|strike|take|cross)\s+(?:the|that|my|our)\s+"
    r"(?P<target>[^.;!?,]+?)\s+(?:off|from|out of)\s+(?:your|the|my)\s+(?:\w+\s+)?"
    r"(?:notes|memory|list|records?|profile|files?)\b",
    re.I,
)


def _later_frame(text: str) -> Frame | None:
    """A frame of change in a clause after the first ("The cat kept eating the pieces, so I
    gave up jigsaws and took up knitting"): the reason first, then the change. Only a frame
    that names what replaced the old state; a bare drop after a reason is read elsewhere."""
    for part in _clauses(text)[1:]:
        frame = parse_frame(part)
        if frame is not None and frame.new is not None:
            return frame
    return None


def parse_change(sentence: str) -> Change | None:
    """The change of mind a sentence announces, if it announces one."""
    text = " ".join(sentence.translate(APOSTROPHES).split()).rstrip()
    if not text:
        return None
    if m := _FORGET_FROM.match(text):
        return Change("retract", "forget", _clean(m["target"]))
    if m := _FORGET.match(text) or _FORGET_THING.match(text):
        # "Scratch that X thing, I use Y now": a clause of the user's after the dropped words
        # is what replaced them.
        pieces = _AFTER_TARGET.split(m["target"] + text[m.end() :], maxsplit=1)
        target, rest = pieces[0], pieces[1] if len(pieces) > 1 else ""
        new = _sentence(rest) if rest and len(rest.split()) >= 3 and polarity(rest) > 0 else None
        return Change("revise" if new else "retract", "forget", _clean(target).rstrip(".!?"), new)
    if m := _CHANGED_MIND.match(text):
        rest = m["rest"]
        new = _sentence(rest) if rest and len(rest.split()) >= 2 else None
        return Change("revise" if new else "retract", "changed my mind", _clean(m["target"]), new)
    for pattern, cue in ((_FROM_TO, "switched from"), (_REPLACED, "replaced")):
        if m := pattern.match(text):
            return Change("revise", cue, _clean(m["target"]), _sentence(text))
    if m := _USED_TO.match(text):
        return Change("revise", "used to", _sentence(m["target"]), _sentence(m["new"]))
    if m := _MOVED.match(LEADING_TIME.sub("", text)):
        # When the move happened dates the new home (valid_from, from the quote); it is no
        # part of where the user lives.
        place = without_time(
            re.sub(r"\s+(?:now|these days|nowadays|for good)$", "", _clean(m["new"]), flags=re.I)
        )
        return Change("revise", "moved", f"I live in {place}", f"I live in {place}.")
    if states_home(text):
        return Change("revise", "moved", None, _sentence(text))
    if frame := parse_frame(text) or _later_frame(text):
        if frame.new is None:
            return Change("retract", frame.cue, frame.target)
        if frame.cue in ("out, in", "replaced by") and not _FIRST_PERSON.match(
            re.sub(_LEAD, "", text, flags=re.I)
        ):
            # "Pilates has replaced yoga": the same change, in the user's voice.
            return Change(
                "revise",
                frame.cue,
                frame.target,
                _sentence(f"I now prefer {frame.new} over {frame.target}"),
            )
        return Change("revise", frame.cue, frame.target, _sentence(text))
    if (split := _dropped_then_new(text)) is not None:
        return split
    if (topic := fading(text)) is not None:
        return _faded(text, topic)
    if (topic := _faded_later(text)) is not None:
        # "My back is fine now, so no more physio sessions": the reason, then the drop; an
        # event of the user's before it ("I got a season ticket, so no more paying per
        # match") is what replaced the dropped state.
        dropped = Change("retract", "faded", topic)
        after = _after_event(text, dropped)
        return replace(after, target=topic) if after is not dropped else dropped
    if (topic := favoured_topic(text)) is not None and (_NOW.search(text) or _BECAME.search(text)):
        # "Crosswords are what I enjoy now": the new state, the old one left to be found.
        return Change("revise", "favoured", None, _sentence(text))
    if m := _NEGATED_NOT.match(text):
        rest = m["rest"].strip()
        new = _sentence(rest) if rest and len(rest.split()) >= 2 else None
        target = _sentence(m["target"])
        return Change("revise" if new else "retract", "not anymore", target, new)
    if m := _OFF.search(text):
        return Change("retract", "off", f"I'm on {_clean(m['target'])}")
    if (m := _ACTIVITY_ENDED.match(text)) and not text.endswith("?"):
        return Change("retract", "ended", f"I {m['verb'].lower()}")
    if (parted := _parted(text)) is not None:
        return parted
    if (m := _LAPSED.search(text.translate(APOSTROPHES))) and not text.endswith("?"):
        return Change("retract", "lapsed", _sentence(f"I've {m['habit']}"))
    if (
        _CESSATION_SELF.search(text)
        or _STOPPED.search(text)
        or (is_cessation(text) and polarity(text) < 0)
    ):
        return _after_event(text, Change("retract", "no longer", affirmed(text)))
    if (negated := _negated_now(text)) is not None:
        return _after_event(text, negated)
    if (back := _anaphoric(text)) is not None:
        return back
    if (m := _INSTEAD_OF.search(text)) and _told_state(text[: m.start()]) and text[-1:] != "?":
        # "Since May she's been at the new school instead of the old one": "instead of" names
        # the state the new one took the place of, with or without a time marker.
        told = _clean(text)  # as told: "She's at ..." is no "I She's at ..."
        told = told[:1].upper() + told[1:] + ("" if told.endswith(".") else ".")
        return Change("revise", "instead of", _clean(m["target"]), told)
    if (
        _NOW.search(text)
        and not is_additive(text)
        and not one_occasion_instead(text)
        and not is_gift(text)
    ):
        than = _THAN.search(text) or _NOT_TAIL.search(text)
        named = _clean(str(than["target"])) if than else compared_away(text) or _reason_of(text)
        statement = text
        if than:
            statement = text[: than.start()] if than.re is _NOT_TAIL else text
        return Change("revise", "now", named, _sentence(statement))
    return None
