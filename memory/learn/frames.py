"""Grammatical frames of a change of state: which words name the old state, which the new.

A small grammar, not a list of sentences. Three lexical classes carry it:
- verbs of discarding, in any tense ("ditch", "drop", "give up (on)", "get rid of", "lose
  interest in", "grow out of", "move on from") and their adjectival kin ("I'm done with",
  "I'm over", "I'm through with");
- connectors that name what took the old thing's place ("for", "with", "in favour of",
  "and got into", "; ... instead", ", ... now");
- comparatives that rank a new thing above the old one ("Y over X", "prefer Y to X",
  "Y instead of X", "Y has replaced X", "X is out, Y is in").
A frame says only which words are old and which are new; the applier still has to find an
active belief about the old words (memory/learn/revise.py), so a frame that fires on a
sentence that changes nothing the user said ("I gave up on the crossword today") revises
nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Verbs of discarding, every tense ("ditch", "ditched", "ditching", "ditches").
_DISCARD = (
    r"(?:ditch(?:es|ed|ing)?|drop(?:s|ped|ping)?|dump(?:s|ed|ing)?|abandon(?:s|ed|ing)?|"
    r"scrap(?:s|ped|ping)?|shelve[sd]?|shelving|quit(?:s|ting)?|stop(?:s|ped|ping)?|"
    r"(?:give|gives|gave|given|giving) up(?: on)?|(?:get|gets|got|gotten|getting) rid of|"
    r"(?:lose|loses|lost|losing) (?:all |my |any )?interest in|"
    r"(?:grow|grows|grew|grown|growing) out of|outgr(?:ow|ows|ew|own|owing)|"
    r"(?:move|moves|moved|moving) on from|(?:turn|walk|step|back)(?:s|ed|ing)? away from|"
    r"(?:say|says|said|saying) goodbye to|(?:swear|swears|swore|sworn|swearing) off|"
    r"(?:cut|cuts|cutting) out|(?:phase|phases|phased|phasing) out|"
    r"(?:fall|falls|fell|fallen|falling) out of love with|(?:kick|kicks|kicked) the|"
    r"(?:hang|hangs|hung|hanging) up|"
    # "put X down for good"; "put money aside" saves it, "put down a deposit" pays it
    r"(?:put|puts|putting) down(?=[^.;!?]*\bfor good\b))"
)
# "I'm done with X", "I'm over X": an adjective of having finished with something.
_DONE = r"(?:done with|finished with|through with|over|want(?:s|ed)? nothing (?:more )?to do with)"
# The speaker, or someone a pronoun names ("He's given up rugby and joined a climbing club"):
# a change told of one of the user's people is linked only to a belief that names it.
_SUBJECT = (
    r"(?:i|we|he|she|they)(?:'ve| have|'d| had|'m| am|'re| are|'s| has| is)?"
    r"(?:\s+(?:just|finally|recently|"
    r"already|kind of|kinda|pretty much|totally|completely|officially|so|now|also))*"
)
_LEAD = (
    r"^\W*(?:(?:so|well|ok(?:ay)?|oh|hey|also|and|but|btw|actually|honestly|update|"
    r"lately|recently|these days|nowadays|anyway)\W+)*"
)
# What took the old thing's place, after the discarded words.
_FOR = (
    r"\s+(?:out\s+)?(?:for|with|in favou?r of|and (?:got|went|switched|moved|changed|turned)"
    r"(?: over)? (?:into|to|for)|and (?:(?:i|we)(?:'ve| have)?\s+)?(?:now\s+)?(?:bought|got|"
    r"picked up|took up|started|"
    r"adopted|joined))\s+(?P<new>[^.;!?]+)"
)

# Selling a thing drops it only when something replaced it ("sold the X and bought a Y").
_DISCARD_FOR = re.compile(
    _LEAD
    + _SUBJECT
    + r"\s+(?:"
    + _DISCARD
    + r"|sell(?:s|ing)?|sold|trade[sd]? in)\s+(?P<target>[^.;!?,]+?)"
    + _FOR,
    re.I,
)
_DISCARD_ONLY = re.compile(
    _LEAD
    + _SUBJECT
    + r"\s+(?:"
    + _DISCARD
    + r"|"
    + _DONE
    + r")\s+(?P<target>[^.;!?,]+?)(?:\s+(?:for good|now|anymore|any more|"
    r"altogether|completely|entirely))?\s*(?P<rest>(?:[.;!?,]|\s+and\s+(?=[^.;!?]*\b(?:now|these "
    r"days|nowadays|instead|lately)\b)).*)?$",
    re.I,
)
# "Y has replaced X (for me)", "Y wins over X", "Y beats X".
_SUBJECT_REPLACES = re.compile(
    _LEAD + r"(?P<new>[^.;!?,]+?)\s+(?:has |have |now |finally )*(?:replaced|taken over from|"
    r"took over from|overtaken|displaced|supplanted|(?:taken|took|takes|take) the place of|"
    r"win(?:s)? over|won over|beat(?:s|en)?|trump(?:s|ed)?)"
    r"\s+(?P<target>[^.;!?,]+)",
    re.I,
)
# "X is out, Y is in"; "out with X, in with Y".
_OUT_IN = re.compile(
    _LEAD + r"(?:(?P<target>[^.;!?,]+?)\s+(?:is|are)\s+out\s*[,;:-]+\s*(?:and\s+)?"
    r"(?P<new>[^.;!?,]+?)\s+(?:is|are)\s+in\b|out with\s+(?P<target2>[^.;!?,]+?)\s*[,;:-]+"
    r"\s*(?:and\s+)?in with\s+(?P<new2>[^.;!?,]+))",
    re.I,
)
# Ranking a new thing above the old one: "pick Y over X", "prefer Y to X", "Y instead of X".
_COMPARATIVE = re.compile(
    r"\b(?:over(?!\s+(?:to|from|here|there|again)\b)|rather than|instead of|more than|"
    r"better than|above|in place of)\s+"
    r"(?P<target>[^.;!?,]+)",
    re.I,
)
_PREFER_TO = re.compile(r"\bprefer(?:s|red|ring)?\s+.+?\s+to\s+(?P<target>[^.;!?,]+)", re.I)
_TAIL = re.compile(
    r"(?:\s+(?:for me|to me|by far|any day|these days|nowadays|lately|now|anymore|"
    r"instead|for good|any more))+\s*$",
    re.I,
)
_CLAUSES = re.compile(r"\s*(?:;|,|\s-\s|:)\s*(?:and |but |so )?|\s+(?:and|but|so)\s+(?=i\b)", re.I)
_NEW_STATE = re.compile(
    r"\b(?:now|these days|nowadays|lately|instead|currently|at the moment|from now on|"
    r"my (?:new )?(?:thing|jam|go-to|favou?rite)|is (?:it|what i \w+)|for me)\b",
    re.I,
)


_PHRASE = 5  # words at most in each noun phrase of a third-person frame


@dataclass(frozen=True)
class Frame:
    cue: str
    target: str  # the words naming the old state
    new: str | None  # the words naming the new one (None: nothing replaces it)


def _clean(part: str) -> str:
    part = _TAIL.sub("", " ".join(part.split()).strip(" ,;:-\"'"))
    return re.sub(r"^(?:(?:my|our|the|a|an|being|to be)\s+)+(?=\w)", "", part, flags=re.I).strip()


# Words that end a verb phrase before its object: "prefer tea over coffee" elides nothing.
_VERBISH = frozenset(
    re.findall(
        r"\S+",
        "i we me my prefer prefers preferring like love enjoy pick picks choose chose take go "
        "opt want use drink eat wear play watch read listen to for a an the some",
    )
)


def _unelide(target: str, new: str) -> str:
    """ "white wine over red": a lone modifier left its head noun with the new thing."""
    words = new.split()
    if (
        len(target.split()) == 1
        and len(words) >= 2
        and words[-2].lower() not in _VERBISH
        and words[-1].lower() != target.lower()
    ):
        return f"{target} {words[-1]}"
    return target


# A particle after a short object: "put the drumsticks down" reads as "put down the drumsticks".
_SPLIT_PARTICLE = re.compile(
    r"\b(put|puts|putting|set|sets|setting|hung|hang|hangs|cut|cuts|cutting|throw|threw|thrown|"
    r"phase|phased|give|gave|given)\s+((?:(?:my|the|our|those|these|a|an|all|his|her)\s+)?"
    r"(?:[\w-]+\s+){0,2}?[\w-]+)\s+(down|aside|away|up|out)\b",
    re.I,
)


def _join_particle(m: re.Match[str]) -> str:
    if m[2].lower().split()[-1] in ("up", "down", "out", "away", "aside", "on", "off"):
        return m[0]
    return f"{m[1]} {m[3]} {m[2]}"


def parse_frame(text: str) -> Frame | None:
    """The old and new states a sentence names by a frame of change, if any."""
    text = _SPLIT_PARTICLE.sub(_join_particle, text)
    if m := _OUT_IN.match(text):
        target, new = m["target"] or m["target2"], m["new"] or m["new2"]
        return Frame("out, in", _clean(target), _clean(new))
    if m := _DISCARD_FOR.match(text):
        return Frame("dropped for", _clean(m["target"]), _clean(m["new"]))
    if m := _DISCARD_ONLY.match(text):
        rest = (m["rest"] or "").strip(" .;,!?")
        parts = [p for p in _CLAUSES.split(rest) if p and p.strip()] if rest else []
        new = next((p for p in parts if _NEW_STATE.search(p) and len(p.split()) >= 2), None)
        return Frame("dropped", _clean(m["target"]), _clean(new) if new else None)
    if m := _SUBJECT_REPLACES.match(text):
        new, target = _clean(m["new"]), _clean(m["target"])
        # A short noun phrase on each side, not a pronoun: "Pilates has replaced yoga", never
        # a news sentence ("record fires across the north beat last year's ...").
        short = len(new.split()) <= _PHRASE and len(target.split()) <= _PHRASE
        if short and not re.match(r"(?:i|we|you|it|this|that|he|she|they)\b", new, re.I):
            return Frame("replaced by", _unelide(target, new), new)
    return None


def compared_away(text: str) -> str | None:
    """The old thing a comparative ranks below the new one ("Y over X" -> X), if any."""
    m = _PREFER_TO.search(text) or _COMPARATIVE.search(text)
    if not m:
        return None
    head = text[: m.start("target")].split()[:-1]  # the words before the comparative
    while head and head[-1].lower() in ("rather", "instead", "more", "better", "in", "place"):
        head.pop()
    target = _clean(m["target"])
    return _unelide(target, " ".join(head[-3:])) if target else None


# -- the topic as the subject: "X bores me", "X has lost its appeal", "X suits me better" ------

# A short noun phrase opening the sentence, not a pronoun: the thing the user feels about.
_TOPIC = (
    r"^\W*(?:(?:so|well|ok(?:ay)?|oh|also|and|but|btw|actually|honestly|update|lately|"
    r"recently|these days|nowadays|anyway|sadly|frankly)\W+)*"
    r"(?!(?:i|we|you|it|this|that|these|those|he|she|they|there|what|which|who|everything|"
    r"nothing|something|anything)\b)(?P<topic>[^.;!?,]{2,60}?)\s+"
)
_ME = r"(?:me|us)"
# Predicates that end the user's liking of the topic.
_FADED = re.compile(
    _TOPIC + r"(?:(?:is|are|'s|has become|have become)\s+(?:now\s+|really\s+|just\s+|kind of\s+)*"
    r"(?:a thing of the past|history|in the past|behind (?:me|us)|old news|dead to (?:me|us)|"
    r"not (?:really\s+)?(?:for (?:me|us)|my thing|our thing|my cup of tea)|no longer \w+)"
    r"|(?:has|have)\s+(?:\w+\s+)?lost\s+(?:all\s+|any\s+|much\s+|most\s+)?(?:of\s+)?(?:its|their)"
    r"\s+(?:\w+\s+)?(?:appeal|charm|magic|shine|allure|pull|fun|spark)"
    r"|(?:does not|doesn't|do not|don't|no longer|never|hardly|barely)\s+(?:\w+\s+)?"
    r"(?:interests?|excites?|appeals? to|thrills?|grabs?|moves?|do(?:es)? (?:it|much|anything) "
    r"for|suits?|works? for|agrees? with|speaks? to)\s+" + _ME + r"\b"
    r"|(?:didn't|did not|doesn't|does not|never|just didn't) (?:really )?work(?:ed)? out\b"
    r"|(?:bores?|annoys?|irritates?|disgusts?|repels?|bothers?|tires?|exhausts?|"
    r"(?:leaves?|left) (?:me|us) cold|turns? (?:me|us) off|puts? (?:me|us) off)\b"
    r"|used to be (?:my|our|a)\s+(?:\w+\s+){0,2}?(?:thing|passion|favou?rite\w*|jam|hobby|"
    r"go-to|obsession|love|routine|habit)\b"
    r"|(?:tastes?|sounds?|feels?|seems?|looks?)\s+(?:\w+\s+)?(?:awful|terrible|boring|dull|bad|"
    r"gross|wrong|off|tedious|pointless)\s+(?:to|for)\s+" + _ME + r"\b)",
    re.I,
)
# "No more X (for me)": the plainest dropping of all.
_NO_MORE = re.compile(
    r"^\W*(?:(?:so|well|ok(?:ay)?|and|but|actually|honestly)\W+)*no more\s+"
    r"(?P<topic>[^.;!?,]{2,60}?)(?:\s+for (?:me|us))?(?:\s+(?:now|anymore|these days))?\s*"
    r"(?:[.;!?,]|$)",
    re.I,
)
# Predicates that make the topic the user's current choice.
_FAVOURED = re.compile(
    _TOPIC + r"(?:now\s+|really\s+|just\s+|definitely\s+)*"
    r"(?:(?:suits?|suited|works? (?:better |best )?for|appeals? to|agrees? with|"
    r"(?:has|have) won)\s+" + _ME + r"\b"
    r"|(?:is|are|'s|has become|have become|became|has been|have been)\s+(?:now\s+|really\s+)?"
    r"(?:my|our)\s+(?:new\s+)?(?:\w+\s+){0,3}?(?:of choice|favou?rite\w*|go-to|thing|preference|"
    r"passion|choice|pick|obsession|jam|staple|routine|habit)\b"
    r"|(?:is|are)\s+(?:now\s+)?(?:how|what|where|when)\s+(?:i|we|(?:all\s+)?(?:my|our)\s+\w+)\b"
    # "Firefox is my browser now": the user's own thing, named as the current one
    r"|(?:is|are|'s)\s+(?:now\s+)?(?:my|our)\s+(?:[\w-]+\s+){0,2}?[\w-]+"
    r"(?=\s+(?:now|these days|nowadays)\b))",
    re.I,
)
_PRONOUN_TOPIC = re.compile(r"^(?:my|our|the)?\s*(?:one|ones|it|them|that|this)$", re.I)


def _topic(m: re.Match[str] | None) -> str | None:
    if m is None:
        return None
    topic = _clean(m["topic"])
    short = 0 < len(topic.split()) <= 6 and not _PRONOUN_TOPIC.match(topic)
    return topic if short else None


def faded_topic(text: str) -> str | None:
    """The thing a sentence says the user no longer likes, when the thing is its subject
    ("Crochet has lost its appeal for me", "Formula 1 bores me", "No more kombucha")."""
    return _topic(_NO_MORE.match(text)) or _topic(_FADED.match(text))


# A predicate negated in the present ("X doesn't agree with me", "X never appeals to me") says
# how the user stands with X; only set against an earlier time ("... anymore", "... the way it
# used to") does it say a liking ended.
_NEGATED_PRESENT = re.compile(
    r"\b(?:does not|doesn't|do not|don't|never|hardly|barely)\s+(?:\w+\s+)?(?:interests?|"
    r"excites?|appeals?|thrills?|grabs?|moves?|do(?:es)?|suits?|works?|agrees?|speaks?)\b",
    re.I,
)
_EARLIER = re.compile(
    r"\b(?:any ?more|any longer|now|nowadays|these days|lately|used to|since|again|no longer)\b",
    re.I,
)


def fading(text: str) -> str | None:
    """The topic of a sentence that ends a liking of it: `faded_topic`, except for a standing
    aversion, a present negation with no earlier time to set it against ("Dairy doesn't agree
    with me": a constraint, said again or anew, not a change)."""
    topic = faded_topic(text)
    if topic is None or _NO_MORE.match(text):
        return topic
    standing = _NEGATED_PRESENT.search(text) and not _EARLIER.search(text)
    return None if standing else topic


def favoured_topic(text: str) -> str | None:
    """The thing a sentence makes the user's choice, when the thing is its subject
    ("Spotify suits me better", "Chrome is my browser of choice", "Crosswords are what I
    enjoy")."""
    return _topic(_FAVOURED.match(text))
