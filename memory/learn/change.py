"""Does a sentence report that the speaker's state changed, and which belief's state is it?

The frames of memory/learn/frames.py and the cues of memory/learn/cues.py name the old and the
new state when the user words a change in one of the ways they know. Users word most changes
otherwise: "Our son was born two weeks ago" (after "I'm pregnant"), "The trio broke up, so I'm
not in any band now", "Obsidian is where all my notes live now". What such sentences share is
grammar, not words:
- a time contrast: an adverb or subordinator that sets the present against an earlier state
  ("now", "these days", "anymore", "again", "instead", "ever since", "now that", "back to",
  "from now on", "my new ...");
- or an event: the main verb in the past tense or the perfect ("I passed the bar", "I've
  raised the budget", "My doctor took me off the pills"), which says something happened, not
  what the user is like. A weaker mark: a past event is as often an anecdote.

Neither says which belief changed. That is found by retrieval over the user's active beliefs:
the belief the whole sentence is closest to must stand out from the runner-up, in meaning
(cosine) and in the content words they share. The old state is usually named, in part, in the
sentence ("the half marathon is off"), while the ~100 other beliefs of a user rarely share a
content word with it. An event alone needs a closer and clearer winner than a time contrast.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from memory.learn.polarity import content_stems, polarity
from memory.learn.revise import Match
from memory.learn.shapes import DAY, FIRST_PERSON, HABIT, PEOPLE

# -- the grammar of a change -------------------------------------------------------------------

_CONTRAST = re.compile(
    r"\b(?:now|nowadays|these days|lately|any ?more|any longer|no longer|again|instead|"
    r"from now on|ever since|now that|since then|back (?:to|on|in|into|at)|"
    r"(?:my|our) new|for the first time|not \w+ (?:yet )?any ?more)\b",
    re.I,
)
# Irregular English verbs: past tense and past participle (a closed class of the grammar).
_IRREGULAR_PAST = (
    r"went|gone|got|gotten|took|taken|left|bought|sold|began|begun|became|become|broke|broken|"
    r"came|gave|given|grew|grown|made|met|quit|ran|won|lost|fell|fallen|found|kept|paid|put|"
    r"told|wrote|written|drove|driven|flew|flown|chose|chosen|ate|eaten|drank|drunk|sent|"
    r"built|brought|caught|taught|held|led|rode|ridden|swam|swum|wore|worn|woke|woken|"
    r"forgot|forgotten|hung|threw|thrown|stood|sat|slept|hurt|cut|shut|split|spent|sold|"
    r"switched|born|been|done|did|had"
)
# The subject of a clause: the speaker, a noun phrase of theirs or a definite one ("the trio"),
# or a name; then the verb, after an adverb or two.
_CLAUSE_SUBJECT = (
    r"(?:(?:^\W*|[,;:]\s*|\b(?:and|so|but|since|once|after|when|because)\s+)"
    r"(?:i|we|(?:(?:all|both|most|some|each)\s+(?:of\s+)?)?(?:my|our|the)\s+(?:[\w-]+\s+){0,2}?[\w-]+|"
    # a name, not a capitalised determiner ("My left ear ..." is no "My" who left)
    r"(?-i:(?!(?:My|Our|The|This|That|These|Those|His|Her|Their|Its|Your|A|An)\b)[A-Z][a-z]+))"
    # "I" and "we" are nominative: a subject wherever they stand, whatever clause went before
    # ("After the bank froze my card I moved my salary").
    r"|(?<![\w'-])(?:i|we)(?![\w-]))"
)
_ADVERBS = r"(?:\s+(?:just|recently|finally|also|already|eventually|then|actually|even))*"
VERB_PAST = rf"(?:{_IRREGULAR_PAST}|[a-z]{{2,}}ed)"
# The event's verb right after its subject: simple past ("I passed", "the trio broke up"), the
# passive of an event ("our son was born", "I got promoted"), or the perfect ("I've raised",
# "we have been renting"). An "-ed" word elsewhere is an adjective ("kosher-certified",
# "products tested on animals", "I'm interested").
_EVENT = re.compile(
    _CLAUSE_SUBJECT
    + r"(?:(?:'ve|\s+(?:have|has))"
    + _ADVERBS
    # "I've got two cats", "we have got a car": possession in the present, not an event;
    # "I got the offer", "I've got rid of the car" are events.
    + r"\s+(?!got\b(?!\s+(?:rid|into|promoted|married|engaged|divorced|hired|fired)\b))"
    # the perfect of a passive: "all my docs have been migrated"
    + rf"(?:been\s+(?=(?:{_IRREGULAR_PAST}|[a-z]{{2,}}ed)\b))?"
    + r"|(?:'d|\s+(?:had|was|were|got|get))?"
    + _ADVERBS
    + r"\s+)"
    + rf"{VERB_PAST}\b",
    re.I,
)
# A reason in the past and what the user does since, joined by "so": "The queues at the
# chemist were ridiculous, so I've got my prescriptions posted". The past cause says the
# consequence is new.
_PAST_REASON = re.compile(
    r"^[^,;]*?\b"
    # after a determiner a participle is an adjective ("My left ear", "the closed road")
    + "".join(rf"(?<!\b{d}\s)" for d in ("my", "our", "the", "a", "an", "his", "her", "their"))
    + rf"(?:was|were|had|kept|{VERB_PAST})\b[^;]*?,?\s+so\s+(?:now\s+)?(?:i|we)\b",
    re.I,
)
# Not a report of the speaker's state: a question, a wish, a plan, a conditional.
_NOT_A_REPORT = re.compile(
    r"\?\s*$|^\W*(?:if|when|whenever|should|could|would|can|do|does|did|is|are|what|how|why|"
    r"which|where|who)\b|\b(?:i|we)(?:'d| would| will|'ll| might| may)\s+(?:like|love|want|"
    r"prefer|be|need)\b(?!.*\b(?:from now on|now on)\b)|\b(?:going to|plan to|planning to|"
    r"want to|hope to|thinking (?:of|about))\b",
    re.I,
)
# An event that adds to what was, not replaces it: "My partner bought one for her side too",
# "I've also joined a choir". The speaker's own birth ("My twin and I were born ten minutes
# apart") is a fact of their whole life, never a change of it.
_ADDITIVE = re.compile(
    # "too" as an additive adverb closes its clause ("... too, at his work"); before an
    # adjective it is a degree ("too windy").
    r"\b(?:too|as well|also|either)(?:\s+now)?\W*(?:$|[,;:]|\s-)|\b(?:i|we)(?:'ve| have)?\s+also\b"
    # "The doctor has also put me on iron", "We've just adopted a second dog": one more beside
    # the one there was
    r"|\b(?:has|have|had|'s|'ve)\s+also\b|\ba\s+(?:second|third|fourth)\b(?!-)"
    r"|\b(?:i|we)\s+(?:was|were)\s+born\b",
    re.I,
)

# The cue of a change told as someone else's act and its consequence for the user ("They shut
# the pool, so I swim in the lake now"): the user's clause is the new state, and the whole
# sentence, which names the old one, is what finds the belief it changed.
CONSEQUENCE = "consequence"

# A change the user reports is said in a short sentence; a long one is a task or a story (and
# the gate, on the request path, should not spend time reading it).
MAX_WORDS = 25
CONTRAST = 2  # a time contrast: the sentence sets the present against an earlier state
EVENT = 1  # a past or perfect event of the speaker's


@dataclass(frozen=True)
class Signal:
    strength: int  # CONTRAST or EVENT
    mark: str  # the words that carried it, for the evidence's note
    thing: str | None = None  # a rearranged thing the belief it changed must name
    named: bool = False  # ... the thing is a name ("Little Acorns shut down")

    def begins(self, text: str) -> bool:
        """The sentence opens on an event of beginning ("I signed up ...", "I've joined
        ..."): it adds a state, and by itself says that none ended. A beginning in a clause
        after ("Meal prepping fell by the wayside once I started working weekends") may be
        the reason for what ended."""
        return self.strength == EVENT and _opens_with_beginning(text, self.mark)


# A thing of the user's arranged anew, in the passive: "the stand-up got pushed to 11",
# "the class has been moved to Thursdays". No first person is said, but a definite thing that
# someone rearranged is the user's when one of their beliefs holds it.
_REARRANGED = re.compile(
    r"\bthe\s+(?P<thing>(?:[\w-]+\s+){0,2}?[\w-]+)\s+"
    r"(?:got|gets|was|were|has been|have been|'s been)\s+"
    r"(?:just\s+|finally\s+)?(?:moved|pushed|pulled|brought|put|shifted|changed|switched|"
    r"rescheduled|cancelled|canceled|replaced|cut|reduced|raised|dropped)\b",
    re.I,
)


# A named thing's event, told with no first person: "Little Acorns shut down over the summer".
# The name is the user's when one of their beliefs holds it ("My daughter goes to Little
# Acorns nursery").
_NAMED_EVENT = re.compile(
    r"^\W*(?P<thing>(?-i:(?!(?:The|This|That|These|Those|A|An|It|There|He|She|They|You|Your|His|Her|Their|Its|We|I)\b)"
    r"[A-Z][\w'-]*(?:\s+[A-Z][\w'-]*){0,3}))"
    r"\s+(?:(?:has|have|had|was|were|got)\s+)?(?:(?:just|finally|recently)\s+)?"
    # a verb of ending or changing hands, what a place or provider does to the user's use of it
    r"(?:shut|closed|moved|changed|switched|stopped|ended|cancell?ed|canceled|replaced|merged|"
    r"folded|took over|left|quit|retired|sold|relocated|went (?:bust|under)|packed in|dropped|"
    r"scrapped|axed|raised|cut|discontinued|upgraded)\b",
    re.I,
)


# One occasion in the past, not a recurring one ("on Sunday nights"): "last Saturday",
# "yesterday", "on Tuesday". What the user did "instead" on it is an anecdote of that day, not a
# new state ("It rained last Sunday so I went bowling instead").
_ONE_OCCASION = re.compile(
    rf"\b(?:yesterday|last (?:night|nite)|(?:last|on|this past)\s+{DAY}"
    r"(?!s\b|\s+(?:night|morning|evening|afternoon)s\b)|this (?:morning|afternoon|evening))\b",
    re.I,
)


# A thing given to someone else: "Got my son a Sonos for his bedroom", "Bought my mum an iPhone
# 15": the verb's first object is a person, so the thing is theirs, and nothing of the user's
# own changed.
_GIFT = re.compile(
    r"\b(?:got|bought|gave|given|sent|ordered|gifted|made|brought|found)\s+"
    rf"(?:(?:my|our)\s+(?:[\w-]+\s+)?(?:{PEOPLE})|him|her|them)\s+"
    r"(?:an?|the|some|one|two|this|that|his|her|their|its|[\w-]+'s)\b",
    re.I,
)


def is_report(text: str) -> bool:
    """The sentence reports what is, not a question, a wish, a plan or a conditional."""
    return _NOT_A_REPORT.search(text.replace("\u2019", "'")) is None


def is_gift(text: str) -> bool:
    """ "Bought my mum an iPhone": a thing given to someone, not a change of the user's."""
    return bool(_GIFT.search(text.replace("\u2019", "'")))


# What the user does as a rule: "I usually go to bed around 11", "I swim every Monday".
_AS_A_RULE = re.compile(r"\b(?:usually|normally|typically|generally|always|mostly)\b", re.I)


def one_night_against_habit(text: str, belief: str) -> bool:
    """ "Stayed up till 3 last night finishing the quilt" against "I usually go to bed around
    11": one occasion told as an event breaks no rule the user keeps, unless it sets the
    present against it ("... so bedtime's 10 now")."""
    occasion = _ONE_OCCASION.search(text) and not _CONTRAST.search(text)
    return bool(occasion) and bool(_AS_A_RULE.search(belief) or HABIT.search(belief))


def is_additive(text: str) -> bool:
    """ "We've put one in the shed as well now": added to what was, replacing nothing."""
    return bool(_ADDITIVE.search(text.replace("\u2019", "'")))


def one_occasion_instead(text: str) -> bool:
    """What the user did instead on one past occasion ("... last Saturday, so I went ...
    instead"): an anecdote, no change of state."""
    return bool(re.search(r"\binstead\b", text, re.I) and _ONE_OCCASION.search(text))


_INCEPTION = re.compile(
    r"\b(?:signed|started|began|begun|joined|enrolled|registered|applied|entered|opened)$", re.I
)
# A trial or a loan is over by the time it is told ("Tried a compound bow at a have-a-go day",
# "Borrowed my wife's iPhone for the weekend"): it changed nothing the user holds.
_TRIAL = re.compile(r"\b(?:tried|borrowed|tested|test-drove|sampled|trialled|trialed)$", re.I)


def _opens_with_beginning(text: str, mark: str) -> bool:
    opening = re.match(r"\W*(.*)", text.lower())
    opens = opening is not None and opening.group(1).startswith(mark.strip().lower())
    # The user's own beginning: another's ("My teacher started a new job, so ...") may be
    # the reason something of the user's changed.
    own = re.match(r"\W*(?:i|we)\b", mark, re.I) is not None
    return opens and own and _INCEPTION.search(mark) is not None


# An event's mark whose subject is someone else ("my sister just cancelled", "he sold"), with
# no "I"/"we" in it.
_OTHERS_EVENT = re.compile(
    r"^\W*(?:(?:my|our|his|her|their)\s+[\w-]+|he|she|they)\b(?!.*\b(?:i|we)\b)", re.I
)


def change_signal(text: str) -> Signal | None:
    """The grammatical mark that a sentence reports a change of the speaker's state, if any."""
    words = text.replace("\u2019", "'").split()
    if len(words) > MAX_WORDS:
        return None
    text = " ".join(words)
    # The subject of the event is the speaker or theirs: a story about someone else changes
    # nothing the user said about themselves (handled by the third-party check upstream).
    if not FIRST_PERSON.search(text):
        m = _REARRANGED.search(text)
        named = m is None and (m := _NAMED_EVENT.match(text)) is not None
        if m is None or _NOT_A_REPORT.search(text):
            return None
        return Signal(EVENT, m.group(0).lower(), thing=m["thing"], named=named)
    if one_occasion_instead(text) or is_additive(text) or is_gift(text):
        return None
    if _CONTINUITY.search(text):
        return None  # "Been retired a good while now": the state goes on
    if m := _CONTRAST.search(text):
        signal = Signal(CONTRAST, m.group(0).lower())
    elif m := _EVENT.search(text):
        signal = Signal(EVENT, m.group(0).strip(" ,;:").lower())
        if _TRIAL.search(signal.mark):
            return None
    elif _PAST_REASON.search(text):
        signal = Signal(EVENT, "a past reason, so")
    else:
        return None
    return None if _NOT_A_REPORT.search(text) else signal


# "Lately", "these days", "nowadays" say what is true now, not that it differs from before;
# "still", "as always" say it does not. Said of a belief's own topic in its own words, such
# a sentence restates it ("I've been studying Korean lately" after "I'm learning Korean").
_RECENT_ONLY = re.compile(r"\b(?:these days|nowadays|lately|recently|currently)\b", re.I)
_CONTINUITY = re.compile(
    r"\b(?:still|as always|as usual|as ever|same as (?:always|before|ever|usual)|"
    # a restatement said as one: "as I think I mentioned", "like I said", "flagging again"
    r"as (?:i (?:think i |may have |might have )?)?(?:mentioned|said|told you)|like i said|"
    r"(?:flagging|saying|mentioning|repeating|reminding you|noting|stressing)\s+(?:\w+\s+)?"
    r"again)\b",
    re.I,
)


def contrasts_past(text: str) -> bool:
    """The sentence sets the present against an earlier state (not only "these days")."""
    text = text.replace("\u2019", "'")
    if _CONTINUITY.search(text):
        return False
    event = _EVENT.search(text)
    # "I've been studying X", "I had X": a state, not an event that changed it. "I signed up
    # for my first half marathon": a beginning, which adds a state and says none ended.
    state = event is not None and re.search(r"\b(?:been|had|done|did)$", event.group(0), re.I)
    begun = event is not None and _opens_with_beginning(text, event.group(0))
    happened = event is not None and not state and not begun
    return bool(_CONTRAST.search(_RECENT_ONLY.sub(" ", text))) or happened


def says_it_goes_on(text: str) -> bool:
    """ "still", "as always", "as I mentioned": the sentence says a state goes on."""
    return bool(_CONTINUITY.search(text.replace("\u2019", "'")))


def continues(text: str) -> bool:
    """ "I still take the ferry, same as always": the state goes on, nothing changed."""
    text = text.replace("\u2019", "'")
    return bool(_CONTINUITY.search(text)) and polarity(text) > 0


# -- which belief it changes -------------------------------------------------------------------

WORD_WEIGHT = 0.25  # how much the share of a belief's content words in the sentence adds
FLOOR = {CONTRAST: 0.35, EVENT: 0.42}  # the winner's score, by the signal's strength
MARGIN = {CONTRAST: 0.12, EVENT: 0.15}  # ... and its lead over the runner-up
MIN_COSINE = {CONTRAST: 0.3, EVENT: 0.35}  # ... and its cosine alone
# Or a winner less close that stands alone: "I got married in June" is far from "I'm single"
# in words (0.32), yet nothing else the user holds comes within half of that. The runner-up's
# share of the winner's score says how alone it stands, whatever the scale of the cosines.
ALONE_FLOOR = 0.3
ALONE_RATIO = 0.6
ALONE_AMONG = 5


def _share(sentence: frozenset[str] | set[str], belief: str) -> float:
    words = content_stems(belief)
    return len(words & sentence) / len(words) if words else 0.0


# A name: a capitalised word inside the sentence (not its first word, not "I").
_NAME = re.compile(r"(?<=\S\s)(?-i:[A-Z][a-z]+(?:[A-Z][a-z]+)*)\b")
NAMED_FLOOR = 0.2  # the cosine of a belief that alone names what the change names


def names_of(text: str) -> set[str]:
    """The names a sentence uses, lowercased ("... after Octopus hiked ..." -> {"octopus"})."""
    return {n.lower() for n in _NAME.findall(text.replace("\u2019", "'"))} - {"i"}


def _named_alone(statement: str, best: Match, found: list[Match]) -> bool:
    """The best belief holds a name of the sentence's, and no other close belief does."""
    names = names_of(statement)
    if not names or best.similarity < NAMED_FLOOR:
        return False

    def holds(m: Match) -> bool:
        return bool(names & set(re.findall(r"[a-z]+", m.statement.lower())))

    return holds(best) and not any(holds(m) for m in found if m.id != best.id)


def changed_belief(statement: str, found: list[Match], signal: Signal) -> Match | None:
    """The one belief a change reported by `statement` is about, when one stands out."""
    if not found:
        return None
    words = content_stems(statement)
    scored = sorted(
        ((m.similarity + WORD_WEIGHT * _share(words, m.statement), m) for m in found),
        key=lambda pair: -pair[0],
    )
    best_score, best = scored[0]
    runner = scored[1][0] if len(scored) > 1 else 0.0
    if signal.thing and not content_stems(signal.thing) & content_stems(best.statement):
        return None  # "the meeting got moved", and the belief names no meeting
    if signal.strength == EVENT and polarity(best.statement) < 0 < polarity(statement):
        # An event alone ("I've started having wine with dinner") does not say it negates an
        # aversion it is close to ("I avoid places known for their wine lists"). A negative
        # event against a held state is how its end is told ("Lost the cover when I went
        # freelance" after "I have health insurance"), so that way round the event may link.
        return None
    if (
        signal.strength == EVENT
        and polarity(statement) < 0 < polarity(best.statement)
        and _OTHERS_EVENT.match(signal.mark)
    ):
        # ... when the speaker is the one it happened to: "My sister cancelled her card, it's
        # not worth it" ends nothing of the user's membership.
        return None
    if (
        best_score >= FLOOR[signal.strength]
        and best_score - runner >= MARGIN[signal.strength]
        and best.similarity >= MIN_COSINE[signal.strength]
    ):
        return best
    if signal.strength == CONTRAST and _named_alone(statement, best, found):
        # "We switched supplier to EDF after Octopus hiked the bill again": the old provider
        # only in a reason clause, far in meaning (0.28) from "My gas is with Octopus Energy",
        # yet the one belief that names what the sentence names.
        return best
    # "I have been using Excel for years": a perfect of a state says what went on, not that
    # anything ended; being close to nothing else is no reason to end the one near belief.
    state = signal.strength == EVENT and re.search(r"\b(?:been|had|done|did)$", signal.mark)
    among = len(scored) >= ALONE_AMONG  # standing alone among two beliefs means little
    if (
        not state
        and among
        and best.similarity >= ALONE_FLOOR
        and runner <= ALONE_RATIO * best_score
    ):
        return best
    return None


# -- a return: "I'm eating cheese again", "I've started having wine with dinner" -----------------

# A return ("again", "back on"): the state is back, so what it ended was its absence, a belief
# worded as an abstention ("I don't eat sugar", "I avoid dairy"). A mere inception ("I've
# started having wine with dinner") is not: it may be the first time, and its abstention form
# is close to aversions it does not end ("I avoid places known for their wine lists").
_RETURN = re.compile(r"\b(?:again|back (?:on|to|into))\b", re.I)
_RETURN_FRAME = re.compile(
    r"^\W*(?:i|we)(?:'m|'ve|'re| am| are| have| has)?\s+(?:(?:just|recently|finally|now|"
    r"also|slowly|even)\s+)*(?P<verb>(?:started|begun|began|taken up|took up|picked up|gone back "
    r"to|went back to|back (?:on|to|into))\s+)?",
    re.I,
)
_TIME_WORDS = re.compile(
    r"\s*\b(?:again|these days|nowadays|lately|now|recently|for the first time)\b", re.I
)
_DETERMINER = re.compile(r"^(?:a|an|the|my|our|this|that|some)\b", re.I)
RETURN_FLOOR = 0.5  # the abstention's cosine to the belief that said it
RETURN_MARGIN = 0.08  # ... and its lead over the next abstention


def abstention_of(statement: str) -> str | None:
    """The state a return ended, worded as the user would have said it: "I'm eating eggs
    again" -> "I avoid eating eggs", "I'm back on coffee" -> "I avoid coffee"; None when the
    sentence marks no return."""
    text = statement.replace("\u2019", "'")
    if not _RETURN.search(text) or polarity(text) < 0:
        return None
    m = _RETURN_FRAME.match(text)
    if m is None:
        return None
    rest = re.split(r"\s*[,;:]\s*", _TIME_WORDS.sub("", text[m.end() :]).strip(" ,.;!?"))[0]
    words = rest.split()
    if not words or not content_stems(rest) or _DETERMINER.match(rest):
        return None
    if m["verb"] or words[0].lower().endswith("ing"):
        return f"I avoid {rest}."  # a gerund or a noun: "I avoid running", "I avoid coffee"
    return f"I don't {rest}."  # a verb: "I eat bread again" -> "I don't eat bread"


def returned_belief(found: list[Match]) -> Match | None:
    """The abstention a return ended, when one clearly stands out of those the user holds."""
    held = [m for m in found if polarity(m.statement) < 0]
    if not held:
        return None
    runner = held[1].similarity if len(held) > 1 else 0.0
    best = held[0]
    if best.similarity >= RETURN_FLOOR and best.similarity - runner >= RETURN_MARGIN:
        return best
    return None
