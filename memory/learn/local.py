"""Offline default extractor: explicit first-person self-statements become beliefs.

No model is involved, so it only captures what the user says outright about
themselves ("I prefer...", "I'm allergic to...", "please keep answers short").
Anything that needs inference is left to the LLM extractor. Precision matters
more than recall here: a wrong belief gets injected into later prompts, while a
missed one can still be picked up when the user repeats it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from memory.learn.cues import states_home
from memory.learn.frames import faded_topic, favoured_topic
from memory.learn.gate import normalize_apostrophes, prose_of, self_cue, sentences_of
from memory.learn.shapes import PEOPLE as _PEOPLE
from memory.learn.shapes import is_possessed_habit


@dataclass(frozen=True)
class Extracted:
    statement: str
    context: str
    quote: str
    polarity: int = 1


_QUESTION_START = re.compile(
    r"^\W*(?:what|how|which|where|when|why|who|whom|whose|is|are|am|was|were|can|could|should|"
    r"would|will|do|does|did|have|has|shall|may|might|any|anyone)\b",
    re.I,
)
# A sentence opening with an imperative (or a polite request) asks for work;
# a style request is the exception and is handled before this check.
_REQUEST_START = re.compile(
    r"^\W*(?:(?:ok(?:ay)?|so|now|hey|hi|also|and|then)\W+)*(?:please\W+)?(?:can|could|would|"
    r"will) you\b|^\W*(?:(?:ok(?:ay)?|so|now|hey|hi|also|and|then)\W+)*(?:please\W+)?(?:write|"
    r"give|tell|list|translate|make|create|generate|show|explain|summari[sz]e|help|find|suggest|"
    r"recommend|describe|compare|calculate|fix|convert|draft|plan|design|rewrite|rephrase|"
    r"provide|name|add|remove|change|simulate|continue|answer|solve|check|correct|edit|"
    r"improve|let's|lets|imagine|pretend|act|send|book|search|look up)\b",
    re.I,
)
_INTRO = re.compile(
    r"^\W*(?:(?:also|and|but|so|well|ok(?:ay)?|honestly|actually|btw|fyi|by the way|just so "
    r"you know|for the record|in general|generally|personally|anyway|oh|hey|hi|hello|note|"
    r"nowadays|these days|lately|recently)\b\W*)+",
    re.I,
)
# A leading subordinate clause ("Due to my allergies, I ...") is skipped to
# reach the main subject.
_SUBORDINATE = re.compile(
    r"^\W*(?:since|because|as|due to|although|though|while|when|after|before|given|"
    r"ever since|for)\b[^,]{1,80}?(?:,\s*|\s+(?=(?:i|i'm|i've|we|we're)\s))",
    re.I,
)
_SPEAKER_START = re.compile(
    r"^(?:\S+\s+){0,4}?(?:i|i'm|i've|i'd|i'll|im|ive|we|we're|we've|my|our|me and)\b", re.I
)
_PEOPLE_SUBJECT = re.compile(rf"^(?:my|our)\s+(?:\w+\s+){{0,2}}?(?:{_PEOPLE})\b", re.I)
# The relation named ("my manager is Sarah") or sharing the speaker's home ("my mother lives
# with us"): a fact of the user's life, not a report about someone else.
_RELATION = re.compile(
    r"^(?:my|our)\s+(?:[\w-]+\s+){0,2}?[\w-]+\s+(?:(?:is|'s)\s+(?-i:[A-Z][a-z]+)\W*$|"
    r"(?:lives?|stays?|has moved in|moved in)\s+with\s+(?:me|us)\b)",
    re.I,
)
_WITH_SPEAKER = re.compile(r"^[^.,;]{0,60}?\b(?:and|&)\s+(?:i|me|myself)\b", re.I)
_OTHER_SUBJECT = re.compile(
    r"^(?:he|she|they|he's|she's|they're|his|her|their|someone|somebody|everyone|everybody|"
    r"people|a friend|a colleague|NAME_\d+)\b",
    re.I,
)
_NAMED_SUBJECT = re.compile(
    r"^(?-i:[A-Z][a-z]+)\s+(?:likes|loves|prefers|hates|dislikes|is|has|wants|works|lives|"
    r"needs|enjoys|eats|can't|doesn't|does not|won't|only)\b"
)
# A secret named with its value ("my PIN is ...", "password: ..."); a mention of the thing
# ("I pay off my credit card", "I use a password manager") is not one. The applier also
# scans every statement for secret-shaped values (memory/secrets.py).
_SECRET = re.compile(
    r"\b(?:password|passcode|pin|api[ _-]?key|secret|token|credit card|card|cvv|ssn|"
    r"social security|passport|iban|account)(?:\s+(?:number|no\.?|code|details|key))?"
    r"(?:\s+(?:is|was|are|were)|\s*[:=])\s*\S"
    r"|\b(?:card number|cvv|ssn|social security number|passport number|iban)\b",
    re.I,
)
_NEGATIVE = re.compile(
    r"\b(?:don'?t|do not|doesn'?t|didn'?t|never|no longer|not|no|dislike|hate|avoid|can'?t "
    r"stand|cannot stand|refuse|detest|despise|loathe|aversion|against|won'?t|will not|"
    r"stopped|quit|gave up|anymore|averse|objection)\b",
    re.I,
)

_STOPWORDS = frozenset(
    re.findall(
        r"\w+",
        "the and for with that this what which about from into your their them they user "
        "users how are was were has have had not but you",
    )
)


def _stems(text: str) -> set[str]:
    # A crude 5-letter prefix lets "allergic" meet "allergies" without a stemmer.
    words = re.findall(r"[a-z]{3,}", text.lower())
    return {w[:5] for w in words if w not in _STOPWORDS}


def _main_clause(sentence: str) -> str:
    text = _INTRO.sub("", sentence)
    text = _SUBORDINATE.sub("", text, count=1)
    return _INTRO.sub("", text)


def is_about_third_party(sentence: str) -> bool:
    """True when the sentence's subject is someone other than the speaker.

    "my friend likes sushi" is about the friend; "my wife and I are vegan" and
    "I avoid cars that distract my kids" are about the speaker.
    """
    head = _main_clause(normalize_apostrophes(sentence))
    if favoured_topic(head) or faded_topic(head) or states_home(head):
        return False  # "Chrome is my browser of choice": a thing, felt about by the user
    if _PEOPLE_SUBJECT.match(head):
        # "My mum picks the kids up on Wednesdays": a lasting arrangement of the user's life.
        arranged = is_possessed_habit(head)
        return not (_WITH_SPEAKER.match(head) or _RELATION.match(head) or arranged)
    return bool(_OTHER_SUBJECT.match(head) or _NAMED_SUBJECT.match(head))


# A nominative pronoun of the third person: always a subject ("Since May he's been ...").
_THIRD_PRONOUN = re.compile(r"\b(?:he|she|they)\b(?!-)", re.I)


def named_subject(statement: str, old: str) -> str:
    """A change told of someone by a pronoun ("He's given up rugby") with the person the
    belief it revises named ("My son plays rugby ..." -> "My son's given up rugby"): the new
    statement stands alone, and is found by what named them."""
    person = _PEOPLE_SUBJECT.match(_main_clause(normalize_apostrophes(old)))
    pronoun = _THIRD_PRONOUN.search(statement)
    if person is None or pronoun is None:
        return statement
    name = person.group(0)
    if pronoun.start() > 0:
        name = name[:1].lower() + name[1:]
    return statement[: pronoun.start()] + name + statement[pronoun.end() :]


def of_my_people(sentence: str) -> bool:
    """The sentence's subject is one of the user's people ("My mom moved ...", "Our son was
    born ..."): what happens to them may change what the user said about their own life."""
    return bool(_PEOPLE_SUBJECT.match(_main_clause(normalize_apostrophes(sentence))))


def person_of(sentence: str) -> str | None:
    """The relation a sentence about one of the user's people names ("My brother just bought
    a flat" -> "brother"), if its subject is one."""
    m = _PEOPLE_SUBJECT.match(_main_clause(normalize_apostrophes(sentence)))
    return m.group(0).split()[-1].lower() if m else None


def _is_question(clause: str) -> bool:
    return clause.rstrip().endswith("?") or bool(_QUESTION_START.match(clause))


# Not about the user: talk about the conversation ("I need to correct something"), a
# reaction with no lasting content ("I can't wait", "I'm so excited", "I love it"), or a
# problem with the material at hand ("I cannot limit the size of widgets in this layout").
_DISCOURSE = re.compile(
    r"^(?:i|we)(?:'d| would| will|'ll)?\s+(?:\w+\s+)?(?:need|want|have|like|wanted|going|"
    r"forgot|meant|mean)\s+to\s+(?:correct|clarify|ask|say|mention|add|rephrase|repeat|check|"
    r"confirm|tell you|share|point out|go back|fix|follow up|change|update|explain)\b"
    r"(?!.*\b(?:always|every|usually|never)\b)",
    re.I,
)
_REACTION = re.compile(
    r"^(?:i|we)(?:'m|'re| am| are)?\s+(?:(?:so|really|very|just|totally|absolutely|super|"
    r"pretty|quite|all|now|kind of|a bit)\s+)*(?:excited|happy|glad|thrilled|pleased|sorry|"
    r"grateful|thankful|impressed|amazed|speechless|confused|lost|done|finished|back|ready|"
    r"here|good|fine|ok(?:ay)?|stuck|curious|relieved|satisfied|disappointed|shocked|"
    r"surprised|interested|convinced)\b(?:\s+(?:now|then|too|again|already|for now|"
    r"for today|with (?:it|that|this|your \w+|(?:that|this|the) \w+)|to hear (?:it|that)|"
    r"about (?:it|that|this)))?"
    r"\W*$"
    r"|^(?:i|we)\s+(?:can'?t|cannot)\s+(?:wait|believe(?: (?:it|this|that|you))?)\W*$"
    r"|^(?:i|we)\s+(?:(?:really|totally|absolutely|just)\s+)?(?:love|like|hate|agree|"
    r"disagree|appreciate|understand|see|get|know|guess|think|hope|doubt)\b"
    r"(?:\s+(?:with\s+)?(?:it|that|this|them|those|these|you|so|what you mean))?"
    r"(?:[\s,]+(?:thanks?|thank you)(?: so much)?)?\W*$",
    re.I,
)
_AT_HAND = re.compile(
    r"\b(?:can'?t|cannot|unable to|not able to|trying to|struggling to|failing to|managed to)\b"
    r".*\b(?:this|these|the following|my|the)\s+(?:\w+\s+)?(?:code|script|function|file|page|"
    r"layout|app|program|query|error|widgets?|component|class|method|loop|table|document|"
    r"essay|text|sentence|paragraph|spreadsheet|formula|model|setup|config\w*|project|"
    r"build|test)s?\b|\b(?:errors?|bugs?|exceptions?|stack ?traces?|crash(?:es|ed)?)\b",
    re.I,
)
_ONE_OFF_STYLE = re.compile(
    r"^\W*(?:please\s+)?\w+\s+(?:this|that|these|those|it|the above|the following|the "
    r"(?:text|answer|article|code|passage|story|email|concept|topic|idea))\b",
    re.I,
)
_LASTING = re.compile(
    r"\b(?:always|from now on|going forward|in (?:the )?future|in general|every time|whenever|"
    r"all (?:your|the) |(?:your|all) (?:answers|responses|replies|explanations)|never)\b",
    re.I,
)


def _not_about_user(clause: str) -> bool:
    head = _main_clause(clause).strip()
    return bool(_DISCOURSE.match(head) or _REACTION.match(head) or _AT_HAND.search(head))


def _is_self_statement(clause: str) -> bool:
    cue = self_cue(clause)
    if cue is None or _SECRET.search(clause):
        return False
    if cue.startswith("style:"):
        if _ONE_OFF_STYLE.match(_main_clause(clause)) and not _LASTING.search(clause):
            return False  # "Explain this like I'm five" shapes one answer, not all of them
        # A style request is the sentence itself ("Please keep it short") or the
        # speaker's stated wish ("I like short answers"), not a modifier of a
        # one-off task ("Summarize this like I'm 5").
        head = re.sub(r"^\W*(?:please\W+)?", "", _main_clause(clause).lower())
        owned = head.startswith(cue[6:]) or bool(re.match(r"(?:i|we|my|our)\b", head))
        return owned and not _is_question(clause)
    if _is_question(clause) or _REQUEST_START.match(clause) or is_about_third_party(clause):
        return False
    if _not_about_user(clause):
        return False
    head = _main_clause(clause)
    return bool(_SPEAKER_START.match(head) or faded_topic(head))


def _candidates(sentence: str) -> list[str]:
    """The sentence itself, or, when it is a question or request as a whole,
    its comma-separated clauses ("I'm vegan, what should I cook?")."""
    if _is_self_statement(sentence):
        return [sentence]
    parts = [p.strip() for p in re.split(r"[,;:]\s+|\s+-\s+", sentence) if p.strip()]
    if len(parts) < 2:
        return []
    # A clause of time or reason ("Ever since we moved across town, ...") only sets the scene
    # for the clause it leads into; alone, it is no statement of the user's.
    chosen = [p for p in parts if _is_self_statement(p) and not _ADVERBIAL_CLAUSE.match(p)]
    if len(chosen) == 1 and _PRONOUN_OBJECT.search(chosen[0]) and not _is_question(sentence):
        # "French is basically my second language, I'm fluent in it": alone, the clause says
        # nothing ("I'm fluent in it."); the sentence names what "it" is.
        return [sentence]
    if len(chosen) == 1 and _BARE_ADJECTIVE.match(chosen[0]) and _all_told(parts, sentence):
        # "Cats still make me sneeze, I'm allergic": an adjective that takes an object ("to
        # cats") said without it; the sentence names what it is about.
        return [sentence]
    return chosen


_ADVERBIAL_CLAUSE = re.compile(
    r"^\W*(?:ever since|since|after|before|when|whenever|once|because|although|though|while|"
    r"until|if|as soon as)\b",
    re.I,
)


def _all_told(parts: list[str], sentence: str) -> bool:
    """No part of the sentence asks or requests anything."""
    return not _is_question(sentence) and not any(_REQUEST_START.match(p) for p in parts)


# The speaker's copula and a lone adjective of the kinds that take an object ("allergic to",
# "sensitive to", "hooked on", "fluent in"): the clause stops where its object would be.
_BARE_ADJECTIVE = re.compile(
    r"^\W*(?:i|we)(?:'m|'re| am| are)\s+(?:(?:so|very|really|quite|badly|severely|seriously|"
    r"mildly|also|too|still|a bit|kind of)\s+)*[a-z]+(?:ic|ant|ent|ive|ous|ible|able)\W*$",
    re.I,
)


# The speaker's clause whose object is a pronoun: "I'm fluent in it", "I eat them daily".
_PRONOUN_OBJECT = re.compile(
    r"^\W*(?:i|we)(?:'m|'re|'ve| am| are| have)?\s+(?:[\w-]+\s+){0,3}?(?:it|them)\b(?!')", re.I
)


# Conversational openers carry nothing about the user: "Hey, I'm vegan" states "I'm vegan".
_OPENER = re.compile(
    r"^(?:(?:hey|hi|hello|so|well|ok(?:ay)?|also|and|but|actually|honestly|quick question|"
    r"fyi|btw|by the way|anyway|oh)\b[\s,:;.!-]*)+(?=\S)",
    re.I,
)


def normalize_statement(quote: str) -> str:
    text = " ".join(quote.split()).strip(" \"'\u201c\u201d-*\u2022")
    text = _OPENER.sub("", text)
    text = re.sub(r"(?<![\w'])i(?=$|[\s,.'!])", "I", text)
    text = text[:1].upper() + text[1:]
    text = text.rstrip(" ,;:!")
    return text if text.endswith(".") else text + "."


def choose_context(sentence: str, contexts: Mapping[str, str], cue: str | None = None) -> str:
    """The declared context whose name and description share most words with the sentence
    (the first declared one when none does). The fallback of `ContextClassifier`, which
    compares meaning (memory/learn/contexts.py)."""
    if not contexts:
        raise ValueError("at least one observation context is required")
    words = _stems(sentence)
    scored = [(len(words & _stems(f"{name} {desc}")), name) for name, desc in contexts.items()]
    overlap, name = max(scored, key=lambda pair: pair[0])
    return name if overlap > 0 else next(iter(contexts))


Classify = Callable[[str, Mapping[str, str], str | None], str]


def extract_statements(
    text: str, contexts: Mapping[str, str], classify: Classify = choose_context
) -> list[Extracted]:
    """Explicit first-person self-statements in one user message, in order."""
    original = normalize_apostrophes(text)
    found: list[Extracted] = []
    seen: set[str] = set()
    for sentence in sentences_of(prose_of(text)):
        for clause in _candidates(sentence):
            start = original.find(clause)
            quote = text[start : start + len(clause)] if start >= 0 else clause
            statement = normalize_statement(clause)
            cue = self_cue(clause)
            if cue and cue.startswith("style:") and not _SPEAKER_START.match(statement):
                # An imperative about answers is stored as the user's wish, in their voice.
                wish = re.sub(r"^(?:please\s+)", "", statement, flags=re.I)
                statement = f"I prefer that you {wish[:1].lower()}{wish[1:]}"
            if statement.lower() in seen:
                continue
            seen.add(statement.lower())
            context = classify(clause, contexts, self_cue(clause))
            polarity = -1 if _NEGATIVE.search(clause) else 1
            found.append(Extracted(statement, context, quote, polarity))
    return found
