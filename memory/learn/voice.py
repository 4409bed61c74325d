"""A sentence about the user, put with the user as its subject.

Two shapes of English tell of the user without naming them as the subject:
- a diary sentence that drops the subject before a past verb ("Made the last payment on the
  van", "Finally sold my old bike"): the speaker did it;
- an act done to the user ("They've moved me to nights", "The school put us on the waiting
  list"): the passive says the same with the user as the subject ("I've been moved to
  nights"), which is how the rest of the learner reads a statement about the user.
The original words stay the quote; only the reading changes.
"""

from __future__ import annotations

import re

from memory.learn.polarity import APOSTROPHES
from memory.learn.shapes import FIRST_PERSON
from memory.learn.times import dates_past

# Past tenses of irregular verbs (a closed class of the grammar), or a regular "-ed"; not one
# that is also the base form ("put", "quit", "cut"), which opens a request as often.
_IRREGULAR_PAST = (
    r"went|got|took|left|bought|sold|began|became|broke|came|gave|grew|made|met|ran|won|lost|"
    r"found|kept|paid|told|wrote|drove|flew|chose|ate|drank|sent|built|brought|caught|taught|"
    r"held|led|rode|swam|wore|threw|spent|did|had"
)
# Verbs whose subject is no person: "Turned out fine", "Seemed a good idea".
_IMPERSONAL = r"turned|seemed|looked|sounded|happened|appeared|needed|used|based|called|named"
_ADVERBS = r"(?:(?:just|finally|recently|also|then|eventually|officially)\s+)*"


def _elided_verb(past: str, excluded: str) -> str:
    """The past verb of a sentence that dropped its subject, after an adverb or two."""
    return rf"(?P<verb>{_ADVERBS}(?!(?:{excluded})\b)(?:{past}|[a-z]{{2,}}ed))\s+"


_ELIDED_VERB = _elided_verb(_IRREGULAR_PAST, _IMPERSONAL)
# "Got rid of the landline": "rid of" is the verb's, as a particle is.
_PARTICLES = r"(?:(?:in|off|up|out|back|down|away|over|rid of)\s+)?"
# The object is determined, a name, or all of something ("Swapped Google Calendar for ...",
# "Moved everything over to Notion"); or a place or role the verb leads to ("Switched to
# Aldi", "Moved into a flatshare").
_OBJECT = (
    r"(?:(?:to|into|onto|from|as|for)\s+)?"
    r"(?:(?:the|my|our|a|an|everything|all|both)\s|(?-i:[A-Z]))"
)
_ELIDED = re.compile(rf"^(?P<lead>\W*){_ELIDED_VERB}(?={_PARTICLES}{_OBJECT})", re.I)
# A chat line, typed in lower case, names its objects in lower case too ("cancelled puregym,
# i was paying 25 a month"): any word may be the object, save a person (an act done to
# someone), a conjunction, or a complement of a feeling ("bored of", "excited about",
# "excited to try it": "to" only before a determiner, as "switched to the night shift").
_NOT_OBJECT = (
    r"(?!(?:me|us|you|him|her|them|it|that|this|so|and|but|or|of|with|about|by|like|"
    r"when|if|because)\b)"
)
_CHAT_OBJECT = rf"{_NOT_OBJECT}(?!to\s+(?!(?:the|my|our|a|an)\b))[a-z0-9]"
_ELIDED_CHAT = re.compile(rf"^(?P<lead>\W*){_ELIDED_VERB}(?={_PARTICLES}{_CHAT_OBJECT})")
# Participles that are feelings ("excited to try it", "bored of it"), not acts.
_FEELING = (
    r"excited|thrilled|pleased|delighted|relieved|surprised|shocked|bored|tired|interested|"
    r"scared|worried|amazed|annoyed|gutted|stoked|chuffed|stressed|obsessed|hooked|impressed"
)
# A lower-case line dated in the past ("switched to mullvad last month", "cut coffee right out
# 3 weeks ago"): a list's line is not dated, a diary's is, so its verb is the speaker's, even
# one whose past is its base form ("cut", "quit") and before any object but a person.
_ELIDED_DATED = re.compile(
    r"^(?P<lead>\W*)(?i:"
    + _elided_verb(rf"{_IRREGULAR_PAST}|cut|quit|put|shut|set", f"{_IMPERSONAL}|{_FEELING}")
    + rf")(?={_NOT_OBJECT}[a-z0-9])"
)
# "Been going to the Anglican church since Easter": a perfect that dropped "I've".
_ELIDED_PERFECT = re.compile(r"^(?P<lead>\W*)(?P<verb>been\s+[a-z]{2,}ing)\s+(?=[a-z])", re.I)

# Verbs of placing a person somewhere (a shift, a ward, a list, a team) or changing their
# standing, whose past tense is the participle; an outing ("took me to the zoo", "sent me to
# the shop") is a story, not a new state of the user's.
_PLACING = (
    r"put|moved|switched|transferred|assigned|placed|shifted|posted|signed|enrolled|promoted|"
    r"demoted|made|laid|kicked|booted|dropped|bumped|upgraded|downgraded|relocated|rotated|"
    r"swapped|discharged"
)
# Someone other than the user, as the subject: a pronoun, "the ...", "my ...", a name.
_AGENT = (
    r"(?:they|he|she|someone|(?:the|my|our)\s+(?:[\w-]+\s+){0,2}?[\w-]+|"
    r"(?-i:(?!(?:I|My|Our|The|This|That|These|Those|It|We|You)\b)[A-Z][a-z]+))"
)
_DONE_TO = re.compile(
    rf"^(?P<lead>\W*){_AGENT}(?P<perfect>'ve|'s|\s+have|\s+has)?"
    r"(?P<adverbs>(?:\s+(?:just|finally|recently|now|also|officially))*)"
    rf"\s+(?P<verb>{_PLACING})\s+(?P<who>me|us)\s+"
    r"(?=(?:on|onto|to|into|off|from|back|redundant|permanent)\b)",
    re.I,
)


def in_user_voice(sentence: str) -> str:
    """The sentence with the user as its subject, when it tells of them without it; else the
    sentence itself."""
    text = sentence.translate(APOSTROPHES)
    if text.rstrip().endswith("?"):
        return sentence
    # A diary sentence opens with a capital; a lower-case verb opens a line of a pasted list
    # ("organised weekly meetings with the team"), about someone or no one, unless the line
    # speaks of the user too.
    if (m := _ELIDED.match(text)) and m["verb"][:1].isupper():
        return _with_subject(m, text, "I")
    # What tells a lower-case line from a line of a pasted list: the user in it, in the first
    # person ("cancelled puregym, i was paying 25 a month").
    if (m := _ELIDED_CHAT.match(text)) and FIRST_PERSON.search(text, m.end()):
        return _with_subject(m, text, "I")
    if (m := _ELIDED_DATED.match(text)) and dates_past(text):
        return _with_subject(m, text, "I")
    perfect = _ELIDED_PERFECT.match(text)
    if perfect and (perfect["verb"][:1].isupper() or FIRST_PERSON.search(text, perfect.end())):
        return _with_subject(perfect, text, "I've")
    if m := _DONE_TO.match(text):
        who = "I" if m["who"].lower() == "me" else "We"
        # "also" stays: "My GP has also put me on magnesium" adds to what the user takes.
        also = " also" if re.search(r"\balso\b", m["adverbs"], re.I) else ""
        aux = f"'ve{also} been" if m["perfect"] else f"{' was' if who == 'I' else ' were'}{also}"
        return f"{m['lead']}{who}{aux} {m['verb'].lower()} {text[m.end() :]}"
    return sentence


def _with_subject(m: re.Match[str], text: str, subject: str) -> str:
    verb = m["verb"]
    return f"{m['lead']}{subject} {verb[:1].lower()}{verb[1:]} {text[m.end() :]}"
