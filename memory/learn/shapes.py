"""The grammatical shapes of a plain statement about the speaker, and of its look-alikes.

A statement about the user is told by its grammar more than by its words: the habitual
present of an activity verb ("I run marathons"), a noun of the speaker's described by an
adjective ("My skin is very oily"), a frequency adverbial ("every two weeks"), a thing that
acts on the speaker ("Spiders scare me"). Its look-alikes share a mark too: the verb's
object is the chat's material ("I run the script") or the assistant's words ("I read your
answer"), the subject sits in a clause of time ("... when I import pandas"). The gate
(memory/learn/gate.py) reads these; the local extractor reads them through the gate.
"""

from __future__ import annotations

import re

# What the user works on in the chat: the object or topic of a task, not of their life.
MATERIAL = (
    r"question|problem|issue|error|bug|query|request|task|assignment|file|code|list|dataset|"
    r"data|table|function|script|string|array|program|project|text|document|sentence|"
    r"paragraph|essay|draft|image|csv|spreadsheet|column|row|variable|class|method|prompt|"
    r"example|sample|answer|reply|response|output|input|result|message|command|test|commit|"
    r"warning|exception|page|app|line|loop|model|link|point|version|slide|post|article|"
    r"poem|translation|summary|website|server|build|config\w*|layout|component|widget|"
    r"repo\w*|branch|formula|chart|graph|query|option|step|section|chapter|idea|explanation"
)

ADDRESSEE = re.compile(r"^(?:\S+\s+){0,4}?(?:you|u)\b", re.I)
# A frequency adverbial marks a habit of the speaker's, whatever the verb: "I ski every
# winter", "we do pottery on Thursdays", "I swim twice a week", "I get a trim every six weeks".
# The speaker, or what is theirs, anywhere in a sentence.
FIRST_PERSON = re.compile(r"\b(?:i|i'm|i've|i'd|me|my|mine|we|we're|we've|us|our)\b", re.I)
# The people of a user's life, by their relation to the user (and their animals).
PEOPLE = (
    r"friends?|wife|husband|partner|spouse|fianc\w*|boyfriend|girlfriend|sons?|daughters?|"
    r"kids?|child|children|mom|mum|mother|dad|father|parents?|brothers?|sisters?|siblings?|boss|"
    r"co-?workers?|colleagues?|roommates?|flatmates?|neighbou?rs?|team|family|cousins?|uncle|"
    r"aunt|grand\w+|teachers?|students?|clients?|customers?|dogs?|cats?|pets?|baby|toddler|"
    r"nephew|niece|in-laws?|relatives?|manager|landlord|gran|nan|other half"
)
# A word naming one of them.
NAMES_PERSON = re.compile(rf"\b(?:{PEOPLE})\b", re.I)
DAY = r"(?:mon|tues|wednes|thurs|fri|satur|sun)day"
_UNIT = (
    r"(?:hour|day|night|morning|evening|afternoon|week|weekend|month|year|winter|summer|"
    rf"spring|autumn|fall|{DAY})"
)
_COUNT = r"(?:\d+|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|few|couple of|several)"
HABIT = re.compile(
    rf"\b(?:every|each)\s+(?:single\s+|other\s+|second\s+|third\s+)?{_UNIT}\b"
    rf"|\bevery\s+(?:other\s+)?{_COUNT}\s+{_UNIT}s\b"
    rf"|\b(?:on|at|most|many)\s+(?:{DAY}s|weekends|mornings|evenings|nights|afternoons|days)\b"
    rf"|\b(?:once|twice|(?:a\s+)?{_COUNT}\s+times|once or twice|a couple of times)\s+"
    rf"(?:a|per|each|every)\s+{_UNIT}\b"
    r"|\b(?:daily|weekly|nightly)\b"
    # As adverbs closing the clause; before a noun they name a thing ("the monthly report").
    r"|\b(?:monthly|fortnightly|biweekly|yearly|annually)(?=\s*(?:$|[.,;!?]|and\b|or\b))",
    re.I,
)
# "I fence épée", "I grow tomatoes", "I run marathons": a verb in the simple present right
# after "I" states what the user does, whatever the verb. Past tenses (a one-off event),
# modals, verbs of thinking and wanting (about the conversation) and hedges are not such
# verbs; nor is a verb whose object is the task's material or the assistant's words ("I run
# the script", "I read your answer", "I get an error").
NOT_PLAIN = frozenset(
    re.findall(
        r"\S+",
        "went got had was were made wrote ran saw tried said told found thought took came gave "
        "knew left put set heard felt kept began brought bought sent built spent lost meant "
        "paid sat stood understood won forgot did am have has need want think know guess "
        "mean wonder hope see understand believe feel would could should will can may might "
        "must shall just also really still recently already then so actually try "
        "am was ask asked agree disagree doubt suppose assume expect wish wonder tried "
        "remember recall forget forgot apologize apologise promise swear bet reckon gotta "
        "hear heard noticed notice",
    )
)
TASK_OBJECT = re.compile(
    # A pronoun object that ends the clause: "I run it", not "I find it hard to ...".
    r"^(?:(?:it|them|this|that|these|those)(?=\s*(?:$|[.,;:!?]|(?:and|but|so|too|now|again|once|"
    r"twice|every|a lot|very much|in|on|with|for|from)\b))|(?:there|here|your|yours)\b|"
    rf"(?:an?|the|this|that|these|those|some|another)\s+(?:[\w-]+\s+)?(?:{MATERIAL})s?\b)",
    re.I,
)
# "I tried that and it did not work": a predicate past a new clause with another subject
# belongs to that subject.
OTHER_CLAUSE = re.compile(
    r"\s(?:and|but|or|so|because|since|though|although|when|while|if|then|until|after|before)"
    r"\s+(?:it|this|that|they|he|she|you|there|the|these|those)\b",
    re.I,
)
# A subject inside a clause of time or condition ("... when I import pandas", "every time I
# push a commit") tells the circumstance of something else, not a habit of its own.
CIRCUMSTANCE = re.compile(
    r"\b(?:when|whenever|every time|each time|after|before|until|once|as soon as|while|if)\s*$",
    re.I,
)
_PLAIN_MAX_WORDS = 16  # a long sentence after "I <verb>" is usually about a task


def plain_verb(sentence: str, words: list[str]) -> str | None:
    if not words or len(sentence.split()) > _PLAIN_MAX_WORDS or sentence.rstrip().endswith("?"):
        return None
    verb = words[0]
    if verb == "do" and len(words) >= 2:
        # "I do yoga", not the emphatic "I do think" / "I do not".
        after = words[1].lower().strip(".,!")
        emphatic = after in NOT_PLAIN or after in ("not", "so", "it", "this", "that", "what")
        return None if emphatic or after.endswith("ly") else verb
    # "go" is the one two-letter verb of a habit ("I go to spin classes"); "do" is above.
    if verb == "go" and len(words) < 3:
        return None  # "I go there": where to, and how often, is unsaid
    # A compound verb is one verb: "I home-educate my boys", "I bulk-buy rice".
    if (
        not re.fullmatch(r"[a-z]{3,}(?:-[a-z]{3,})?|go", verb)
        or verb in NOT_PLAIN
        or verb.endswith("ed")
    ):
        return None
    rest = " ".join(words[1:])
    if verb == "keep" and rest.split(maxsplit=1)[0].lower().endswith("ing"):
        return None  # "I keep getting errors": a repetition of the moment, not a habit
    if len(words) < 2 or ADDRESSEE.match(rest) or TASK_OBJECT.match(rest):
        return None
    return verb


# "My skin is very oily", "Our flat is tiny": a noun of the speaker's described by an
# adjective is an attribute of the user (their body, skills, home, things), unless the noun
# is the chat's material ("my code is very slow", "my question is simple").
_DEGREE = (
    r"(?:very|really|quite|rather|pretty|so|too|super|extremely|incredibly|fairly|slightly|"
    r"somewhat|naturally|always|still|never|not|a bit|a little|kind of|sort of|way|more|less)"
)
_NOT_ADJECTIVE = (
    r"(?:a|an|the|my|your|his|her|their|our|its|this|that|these|those|in|at|on|to|from|with|"
    r"for|of|by|about|over|under|like|as|going|being|here|there|now|all|also|just|what|how|"
    r"who|where|which|no|one|some|any|because|and|but|or|ok|okay|fine|done|gone|up|out|off)"
)
_ADJECTIVE = rf"(?:{_DEGREE}\s+)*(?!{_NOT_ADJECTIVE}\b)[a-z][a-z-]+(?<!ing)(?<!ed)"
_ATTRIBUTE = re.compile(
    r"^\W*(?:(?:and|but|also|so|honestly|actually)\s+)?(?:my|our)\s+"
    r"(?P<noun>(?:[\w-]+\s+){0,2}?[\w-]+)\s+(?:is|are|'s|'re|gets?|feels?|looks?|tends? to be|"
    rf"ha(?:s|ve) (?:always )?been)\s+{_ADJECTIVE}(?:,?\s+(?:and|but|or)\s+{_ADJECTIVE})?"
    r"(?=\s*(?:$|[.!,;]|(?:in|during|when|after|at|by|around|on|most|every|all|from)\b))",
    re.I,
)
IS_MATERIAL = re.compile(rf"\b(?:{MATERIAL})s?\b", re.I)
_ATTRIBUTE_MAX_WORDS = 12  # past this the sentence is usually a task's description


def is_attribute(sentence: str) -> bool:
    m = _ATTRIBUTE.match(sentence)
    return bool(
        m
        and not IS_MATERIAL.search(m["noun"])
        and len(sentence.split()) <= _ATTRIBUTE_MAX_WORDS
        and not sentence.rstrip().endswith("?")
    )


# "Spiders scare me", "Coffee makes me jittery": a thing as the subject, the user as the
# object of a present-tense verb of feeling. A pronoun or the chat's material as the subject
# is a reaction or a task ("This makes me happy", "The script gives me an error"); a
# subject-less verb is a request ("Give me three examples").
_EXPERIENCER = re.compile(
    r"^\W*(?!(?:it|this|that|these|those|you|he|she|they|there|what|which|who|your|his|her|"
    r"their|everything|nothing|something|anything|please|just|also|now|then|so|thanks)\b)"
    r"(?P<subject>(?:[\w-]+\s+){0,2}?(?:[\w-]+s\s+(?!me\b)[a-z]+|[\w-]+\s+[a-z]+s))"
    r"(?<!\bfor)(?<!\bto)(?<!\bwith)(?<!\bat)(?<!\bof)(?<!\bby)(?<!\bon)(?<!\blike)(?<!\bthan)"
    r"(?<!\bfrom)(?<!\babout)\s+me\b(?!\s+(?:to|for|with|about|that|how|what|why|if|know)\b)",
    re.I,
)
_EXPERIENCER_MAX_WORDS = 8


def is_experiencer(sentence: str) -> bool:
    m = _EXPERIENCER.match(sentence)
    return bool(
        m
        and not IS_MATERIAL.search(m["subject"])
        and len(sentence.split()) <= _EXPERIENCER_MAX_WORDS
        and not sentence.rstrip().endswith("?")
    )


# "My son goes to a childminder three days a week", "My salary gets paid into my account",
# "Our gas and electricity are with Octopus": a person or thing of the user's as the subject of
# a habitual present is an arrangement of the user's life, when the clause says it lasts (a
# frequency), ties it back to the user (an object of theirs: "looks after my rabbit") or names
# who provides it ("are with Octopus", "on Bitbucket"). Verbs of saying, thinking and wanting
# report the other person's mind ("My boss wants the report"), not an arrangement.
_NOT_HABITUAL = (
    r"(?:says|thinks|wants|needs|asks|tells|believes|knows|feels|seems|sounds|means|"
    r"hopes|wonders|expects|is(?!\s+with)|was|has|uses|includes|contains|keeps\s+\w+ing)\b|looks\b(?!\s+after)"
)
_POSSESSED_HABIT = re.compile(
    r"^\W*(?:(?:and|but|also|so|honestly|actually)\s+)?(?:my|our)\s+"
    r"(?P<subject>(?:[\w-]+\s+){0,2}?[\w-]+(?:\s+(?-i:[A-Z][a-z]+))?"
    r"(?:\s+and\s+(?:my\s+)?[\w-]+)?)\s+"
    rf"(?:(?:always|usually|normally|still)\s+)?(?!{_NOT_HABITUAL})"
    r"(?P<verb>[a-z]{2,}s|are with|is with)\b(?P<rest>[^?]*)$",
    re.I,
)
_TIED_TO_USER = re.compile(r"\b(?:my|our|me|us)\b", re.I)
PROVIDER = re.compile(r"\b(?:with|on|at|through|via)\s+(?-i:[A-Z][a-z]+)")
_NAME_FIRST = re.compile(r"\s+(?-i:[A-Z][a-z]+)")
# "three days a week": a count of units per unit, a frequency too.
_PER = re.compile(rf"\b{_COUNT}\s+{_UNIT}s\s+(?:a|per|each|every)\s+{_UNIT}\b", re.I)
_POSSESSED_MAX_WORDS = 14


def is_possessed_habit(sentence: str) -> bool:
    m = _POSSESSED_HABIT.match(sentence.strip())
    if m is None or len(sentence.split()) > _POSSESSED_MAX_WORDS:
        return False
    rest = m["rest"]
    # "are with Octopus": the verb's preposition names the provider itself.
    provider = PROVIDER.search(rest) or (m["verb"].endswith("with") and _NAME_FIRST.match(rest))
    if IS_MATERIAL.search(m["subject"]) or (IS_MATERIAL.search(rest) and not provider):
        return False
    return bool(provider or HABIT.search(rest) or _PER.search(rest) or _TIED_TO_USER.search(rest))


# "Our energy supplier is British Gas", "My GP is Dr Ni Bhriain", "Our washing machine is an old
# Hotpoint that leaks": a thing of the user's named by its provider, maker or holder.
_NAMED_POSSESSION = re.compile(
    r"^\W*(?:my|our)\s+(?P<subject>(?:[\w-]+\s+){0,2}?[\w-]+)\s+(?:is|are)\s+"
    r"(?:(?:a|an|the)\s+)?(?:[a-z-]+\s+){0,2}?(?:(?:dr|mr|mrs|ms|prof)\.?\s+)?"
    r"(?-i:[A-Z][\w'-]+)",
    re.I,
)


def is_named_possession(sentence: str) -> bool:
    """ "Our energy supplier is British Gas": the user's thing, named; not the chat's material
    ("My code is Python") nor one of the user's people."""
    m = _NAMED_POSSESSION.match(sentence.strip())
    if m is None or len(sentence.split()) > _POSSESSED_MAX_WORDS or sentence.rstrip()[-1:] == "?":
        return False
    head = m["subject"].split()[-1]
    return not IS_MATERIAL.search(m["subject"]) and not NAMES_PERSON.fullmatch(head)
