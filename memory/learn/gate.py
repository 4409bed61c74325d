"""Cheap local gate: may this chat turn carry information about the user?

Extraction costs an LLM call, so it should run only on turns where the user says
something about themselves. The gate is a handful of regexes (microseconds, no
model). It errs towards keeping: a false keep costs one LLM call, a false skip
loses a belief for good.

The rule, in order:
1. Read only the user's own prose (memory/learn/prose.py): no code, URLs, quoted or
   pasted passages, no payload after a task label, only the framing of a long paste.
2. Keep when a sentence has the speaker as subject ("I", "we", "my wife and I")
   followed closely by a self-descriptive predicate (likes, identity, work,
   goals, constraints, health, family...), when it starts with a self-noun
   ("my budget is", "our kids are"), when it has a plain shape of a statement about the
   speaker (memory/learn/shapes.py: "I run marathons", "My skin is very oily", "I get my
   nails done every two weeks", "Spiders scare me"), or when it asks for an answering style.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from memory.learn.change import VERB_PAST, change_signal, is_report
from memory.learn.cues import parse_change
from memory.learn.frames import faded_topic
from memory.learn.named import ending_mark
from memory.learn.prose import normalize_apostrophes as normalize_apostrophes
from memory.learn.prose import prose_of as prose_of
from memory.learn.prose import sentences_of as sentences_of
from memory.learn.shapes import (
    ADDRESSEE,
    CIRCUMSTANCE,
    HABIT,
    IS_MATERIAL,
    MATERIAL,
    NOT_PLAIN,
    OTHER_CLAUSE,
    PROVIDER,
    TASK_OBJECT,
    is_attribute,
    is_experiencer,
    is_named_possession,
    is_possessed_habit,
    plain_verb,
)
from memory.learn.voice import in_user_voice

# Speaker as grammatical subject. An auxiliary right before it ("can I",
# "how do I") marks a question, not a statement; handled by _INVERTED.
_SUBJECT = re.compile(r"\b(?:i|we)(?:'m|'ve|'d|'ll|'re)?\b|\b(?:im|ive|i'm)\b", re.I)
_INVERTED = re.compile(
    r"\b(?:can|could|should|would|will|shall|may|might|must|do|does|did|am|was|were|are|"
    r"have|has|had|if|were|suppose|imagine|pretend|unless|whether|can'?t|couldn'?t|don'?t|"
    r"doesn'?t|didn'?t|won'?t|wouldn'?t|shouldn'?t|isn'?t|aren'?t)\s*$",
    re.I,
)

# Self-descriptive predicates, matched at a word start within a few words after
# the subject. Grouped only for readability; any hit is enough for the gate.
_PREFERENCE = (
    r"prefer|like[sd]?\b|likin|love|lovin|enjoy|ador|hate|hatin|dislik|despis|detest|loath|"
    r"avoid|abhor|can'?t stand|cannot stand|fond\b|fan\b|big fan|into\b|favou?rite|interest|"
    r"passion|fascinat|aversion|rather\b|refuse|appreciat|crave|keen\b|obsess|tired of|"
    r"sick of|value\b|care about|tend\b|not a fan|no interest|stay away|steer clear|"
    r"gravitate|lean towards|find\b|thrive|opt\b|choose|believe|advocate|prioriti|require|"
    r"insist|must\b|have to|objection|object to|opposed|bias|against|wear|listen|watch|read|"
    r"play|collect|drive|ride|own\b|buy|shop|use\b|rely on"
)
_STATE = (
    r"allerg|intoleran|sensitiv|vegan|vegetarian|pescatarian|kosher|halal|gluten|lactose|diet|"
    r"eat\b|eating|drink\b|drinking|smoke|cook|follow|diabet|pregnan|injur|disab|"
    r"condition|pain|anxi|afraid|scared|phobi|fear|nervous|uncomfortable|comfortable|"
    r"struggl|suffer|recover|deaf|blind|colou?r.?blind|sick\b|nause|get (?:sick|nause|bored)|"
    r"feel\b|can'?t\b|cannot|unable|don'?t\b|dont\b|do not|won'?t|will not|no longer|"
    r"anymore|budget|afford|limited|tight|broke\b|busy|schedule|free on|available|"
    r"work|job|career|profession|employ|retire|freelanc|self-employed|run a|studying|study|"
    r"student|major|graduat|degree|teach|expert|beginner|novice|newbie|familiar|experienc|"
    r"proficient|fluent|native|speak|years? old|\d+ years?|years|background|certified|"
    r"skilled|good at|bad at|terrible at|new to|learn|live|living|moved|based|located|from\b|"
    r"born|grew up|married|single|divorc|engaged|parent|mother|father|mom\b|dad\b|"
    r"goal|want to|wanna|plan|hope|hoping|aim|trying|try to|training|preparing|saving|dream|"
    r"wish|intend|aspir|would like to|need to|working on|decided|going to|gonna|"
    r"switched|stopped|quit\b|gave up|gotten into|became|become|took up|started|began|adopted|"
    r"joined|"
    r"am (?!not sure|sorry|going to \w+ (?:you|this))|are\b|have been|been\b|identify|"
    r"consider myself|call me|describe myself"
)
# Adverbs right after the subject mark a habit or a strength of feeling
# ("I only eat", "I strongly prefer"); further on they are usually about the task.
_HEAD_ADVERB = re.compile(
    r"^(?:usually|always|never|rarely|often|only|mostly|exclusively|strongly|really|much|"
    r"firmly|strictly|generally|absolutely|definitely|truly|honestly|personally|seriously)\b",
    re.I,
)
# "We" is often a team, a paper's authors or "people in general"; only
# personal-life predicates make it about the speaker's household.
_WE_PREDICATE = re.compile(
    r"\b(?:prefer|love|like|enjoy|hate|dislike|avoid|are (?:an? |both |all )?(?:vegan|"
    r"vegetarian|family|couple|parents|married|retired|expecting|allergic)|live|moved|have "
    r"(?:\w+ ){0,2}(?:kids?|children|sons?|daughters?|dogs?|cats?|pets?|baby)|don'?t eat|"
    r"only eat|eat|follow)",
    re.I,
)
# Subject-verb pairs that talk about the task or the conversation, not the user.
_META = re.compile(
    r"^(?:am |)(?:not sure|wondering|confused|curious|getting (?:an? |the )?(?:error|issue)|"
    r"have (?:a|an|this|these|the|some)\s+(?:question|problem|issue|error|doubt|bug|query|"
    r"request|task|assignment|idea|file|code|list|following)|"
    r"(?:want|need|would like|would want)\s+(?:you|u|help|a|an|the|some|this|it|to know|"
    r"to ask)\b|(?:don'?t|dont|didn'?t|do not|did not) (?:\w+ly )?(?:understand|know|get|see|"
    r"think)|think\b|guess\b|mean\b|meant\b|said\b|asked\b|see\b|hope (?:you|this|that|it)|"
    r"just\b|also need|am (?:using|trying to (?:run|fix|get|make|write|use|install|compile|"
    r"understand))|will need|must add|can (?:change|create|do|see|try)|"
    # An intention whose object is the chat's material or the assistant: "I'm going to paste
    # the code now", "I'll send you the rest".
    r"(?:am going to|am about to|am gonna|will|gonna)\s+\w+\s+(?:(?:you|u|it|this|that|these|"
    rf"those)\b|(?:the|my|a|an|another|some)\s+(?:[\w-]+\s+)?(?:{MATERIAL})s?\b)|"
    # A reaction with no lasting content: "I can't wait", "I love it!", "I'm so excited".
    r"(?:can'?t|cannot) (?:wait|believe)\b|(?:(?:really|just|so|absolutely|totally)\s+)?(?:love|"
    r"like|hate|enjoy|appreciate|get|see|agree with|understand)\s+(?:it|this|that|them|these|"
    r"those)\W*$|am\s+(?:(?:so|really|very|just|super|all|totally|now)\s+)*(?:excited|happy|"
    r"glad|thrilled|sorry|back|done|ready|here|stuck|confused|curious|impressed|grateful|"
    r"thankful)(?:\s+(?:about|with|for|to see|to hear)\s+(?:it|this|that))?\W*$)",
    re.I,
)

_SELF_NOUNS = (
    r"name|goals?|budget|job|work|career|profession|field|background|experience|expertise|"
    r"degree|major|diet|allerg\w*|health|condition|doctor|age|birthday|favou?rite\w*|"
    r"preference\w*|taste|style|hobb\w+|home|house|apartment|city|hometown|country|schedule|"
    r"wife|husband|partner|kids?|children|sons?|daughters?|family|baby|mom|dad|parents|dogs?|"
    r"cats?|pets?|boss|plans?|dream|weakness|strength\w*|native language|first language|"
    r"(?:go-to|usual|preferred|regular) \w+"
)
_PREDICATE = re.compile(
    rf"\b(?:{_PREFERENCE}|{_STATE}|have (?:\w+ ){{0,3}}(?:{_SELF_NOUNS})\b)", re.I
)
_SELF_NOUN_SUBJECT = re.compile(
    rf"^(?:\W|and|but|also|so|well|ok|okay|honestly|actually|these days|lately|nowadays|now)*"
    rf"(?:my|our)\s+(?:\w+\s+)?"
    rf"(?:{_SELF_NOUNS})\b(?:\s+\w+){{0,4}}?\s+(?:is|are|was|has|have|'s|includes?|lives?)\b",
    re.I,
)
# The people of the user's life by their relation to the user: a name given to the relation
# ("My manager is Sarah"), or one who shares the user's home ("My mother lives with us").
_RELATION = re.compile(
    r"^\W*(?:my|our)\s+(?:[\w-]+\s+){0,2}?[\w-]+\s+(?:(?:is|'s)\s+(?-i:[A-Z][a-z]+)\W*$|"
    r"(?:lives?|stays?|has moved in|moved in)\s+with\s+(?:me|us)\b)",
    re.I,
)
# Possession, the verb right after its subject: "I have a monthly bus pass", "we have two
# cars". What the speaker has at hand for the task ("I have a question", "I have a CSV
# file") is not about them.
_POSSESSION = re.compile(
    r"^(?:have|have got|'ve got|own)\s+(?:an?|two|three|four|five|\d+|my own|our own)\s+"
    r"(?!(?:\w+\s+)?(?:question|problem|issue|error|doubt|bug|query|request|task|assignment|"
    r"idea|file|code|list|dataset|data|table|function|script|string|array|program|project|"
    r"text|document|sentence|paragraph|essay|image|csv|spreadsheet|column|variable|class|"
    r"method|query|prompt|example|sample|scenario|situation|suggestion|favou?r|meeting|"
    r"deadline|few|lot|bit|look|chance|go|try)s?\b)\w"
    # A bare noun: "I have asthma", "I have car insurance with Allianz". Not a perfect ("I
    # have tried", "I have been"), a quantity or negation ("I have no idea", "I have to"), a
    # pronoun, or the chat's material ("I have questions", "I have code that fails").
    r"|^(?:have|have got|own)\s+(?!(?:no|not|to|been|got|had|done|seen|never|just|already|only|"
    r"always|also|still|ever|some|any|enough|more|less|much|many|all|both|the|this|that|these|"
    r"those|it|them|you|your|his|her|their|one|nothing|something|anything|lots?|plenty|"
    r"several|each|every|such|so|quite|made|taken|given|written|gone|come|heard|found|left|"
    r"lost|put|read|run|said|told|kept|become|begun|known)\b)(?![a-z]+ed\b)"
    rf"(?!(?:[\w-]+\s+)?(?:{MATERIAL})s?\b)[a-z]",
    re.I,
)
# "We use Slack at work", "We keep chickens at home": a "we" set in the user's own workplace or
# home is the user's team or household, whatever the verb; a "we" of a task has no such place.
_WE_SETTING = re.compile(
    r"\b(?:at|in|on)\s+(?:work|home|the office|(?:my|our)\s+(?:[\w-]+\s+)?(?:team|company|"
    r"office|job|workplace|house|home|flat|apartment|household|family|department|lab|firm))"
    # ... the place closes the clause: "in my lab report" is a document, not a workplace.
    r"(?=\s*(?:$|[.,;!?]|(?:now|too|nowadays|these days|every|each|daily)\b))",
    re.I,
)
_WE_MAX_WORDS = 10  # a "we" that owns something in a short sentence: a household's, not a paper's
# "Aisle seats are my preference now": the user's choice as a predicate noun.
_MY_CHOICE = re.compile(
    r"^[^.;!?]{2,60}?\b(?:is|are|has been|have been)\s+(?:now\s+|still\s+)?my\s+(?:new\s+)?"
    r"(?:(?:absolute|all-time)\s+)?(?:favou?rite\w*|preference|thing|go-to|jam|choice|pick|"
    r"passion|weakness)\b",
    re.I,
)
# "As a nurse, I ..." states an identity; "As a result, ..." does not.
_AS_IDENTITY = re.compile(r"^\W*as an? [\w -]{2,40}, (?:i|we|my)\b", re.I)

# Requests about how to answer are communication-style facts about the user.
# One-off task shapes ("step by step", "in 100 words") are deliberately absent.
_STYLE = re.compile(
    r"\b(?:keep (?:it|this|your \w+|the \w+|answers?|responses?|replies?)\s+(?:short|brief|"
    r"concise|simple|casual|formal)|(?:be|more|less) (?:concise|brief|verbose|formal|casual|"
    r"detailed|direct)|explain (?:it |this |things )?(?:to me )?like|eli5|in (?:simple|plain|"
    r"layman'?s?) (?:terms|english|language)|no (?:jargon|emojis?|fluff)|(?:use|with) bullet "
    r"points|(?:short|shorter|brief|concise|detailed|longer) (?:answers|responses|replies|"
    r"explanations)|don'?t (?:use|add) (?:emojis?|jargon)|like i'?m (?:\d+|five|ten|an? )|"
    r"always (?:answer|respond|reply|write)|from now on|going forward|(?:answer|respond|reply|"
    r"talk|write) (?:to me )?(?:only )?in (?-i:[A-Z][a-z]+)\b(?<!Full))",
    re.I,
)
# Counterfactuals and role-play put words in the speaker's mouth; "___" marks an
# exercise to fill in.
_HYPOTHETICAL = re.compile(
    r"^\W*(?:if|what if|suppose|imagine|pretend|let'?s say)\b|\bif (?:i|we) (?:were|was|had|"
    r"could|would)\b|\bwere i\b|\bhypothetical|\bact as\b|\byou are an?\b|__",
    re.I,
)
# "I see Dr. Patel at the Riverside surgery": a practitioner the user sees, by title; not "I
# see" of the conversation.
_SEES_PRACTITIONER = re.compile(r"^see\s+(?:dr|prof|mr|mrs|ms)\b\.?\s+(?-i:[A-Z])", re.I)
_CONTRACTIONS = {"'m": "am", "'ve": "have", "'d": "would", "'ll": "will", "'re": "are"}
_WINDOW = 9  # words after the subject in which a predicate counts


# "... now" closing a clause of the speaker's circumstances, after a consequence ("so ...
# now"): not "now" opening a request ("Now write the tests").
_CURRENT_STATE = re.compile(r"\bso\b[^.;!?]*\bnow\b", re.I)


@dataclass(frozen=True)
class GateDecision:
    keep: bool
    reason: str


def _split_subject(token: str) -> tuple[str, str]:
    """("I'm" -> ("i", "am")): a contraction on the subject is itself the verb."""
    low = token.lower()
    if low in ("im", "ive"):
        return "i", "am" if low == "im" else "have"
    for suffix, verb in _CONTRACTIONS.items():
        if low.endswith(suffix):
            return low[: -len(suffix)], verb
    return low, ""


def self_cue(sentence: str) -> str | None:
    """The cue that makes this sentence a statement about the speaker, if any."""
    if _HYPOTHETICAL.search(sentence):
        return None
    style = _STYLE.search(sentence)
    if style:
        return f"style:{style.group(0).lower()}"
    if (
        _SELF_NOUN_SUBJECT.search(sentence)
        or _AS_IDENTITY.search(sentence)
        or _MY_CHOICE.search(sentence)
        or _RELATION.search(sentence)
    ):
        return "self-noun"
    if is_attribute(sentence):
        return "attribute"
    if is_possessed_habit(sentence) or is_named_possession(sentence):
        return "arrangement"
    if is_experiencer(sentence):
        return "experiencer"
    if faded_topic(sentence):
        # "Dairy doesn't agree with me", "Jazz leaves me cold": a thing as the subject of a
        # predicate of the user's feeling about it.
        return "feeling"
    for subject in _SUBJECT.finditer(sentence):
        if _INVERTED.search(sentence[: subject.start()]):
            continue
        pronoun, verb = _split_subject(subject.group(0))
        words = sentence[subject.end() :].split()[:_WINDOW]
        window = " ".join(([verb] if verb else []) + words)
        window = window[: m.start()] if (m := OTHER_CLAUSE.search(window)) else window
        # Talking to the assistant ("I want you to", "I was hoping you could") is a
        # request, whatever verb follows.
        # A verb of perceiving or thinking with a habit adverbial is a habit ("I see a
        # physiotherapist every Monday"), not talk about the conversation ("I see").
        habit = HABIT.search(window) and not ADDRESSEE.match(window)
        if _SEES_PRACTITIONER.match(window):
            return f"{pronoun} sees"
        if (_META.match(window) and not habit) or ADDRESSEE.match(window):
            continue
        owns = _POSSESSION.match(window)
        if pronoun == "we":
            short = len(sentence.split()) <= _WE_MAX_WORDS
            # "We attend Mass every Sunday", "We spend every summer in our caravan": a habit
            # of days and seasons is a household's; a paper's "we" keeps none, and a team's
            # is about its work ("We meet on Mondays to review the code").
            # So is a provider it names in a short sentence in the present ("We bank with
            # Standard Bank"), where a past act is a story or a method ("We trained it with
            # Adam").
            rest = sentence[subject.end() :]
            present = bool(words) and not re.fullmatch(VERB_PAST, words[0], re.I)
            provider = PROVIDER.search(window) if short and present else None
            household = not verb and not IS_MATERIAL.search(sentence)
            found = (
                _WE_PREDICATE.search(window)
                or (owns if short else None)
                or ((HABIT.search(rest) or provider) if household else None)
            )
            if not found and short and not verb and _WE_SETTING.search(sentence):
                head = words[0].lower() if words else ""
                if re.fullmatch(r"[a-z]{3,}", head) and head not in NOT_PLAIN:
                    return f"we {head}"
        elif owns:
            return f"{pronoun} has"
        elif words and _HEAD_ADVERB.match(words[0]):
            return f"{pronoun} {words[0].lower()}"
        else:
            found = _PREDICATE.search(window) or HABIT.search(window)
            # The verb's object is the chat's material: "I read your answer", "I like the
            # second option", "I use this function".
            if found and not (found.start() or verb or HABIT.search(window)):
                found = None if TASK_OBJECT.match(window[found.end() :].lstrip()) else found
            plain = None
            if not (
                found or pronoun != "i" or verb or CIRCUMSTANCE.search(sentence[: subject.start()])
            ):
                plain = plain_verb(sentence, words)
            if plain:
                return f"i {plain}"
        if found:
            return f"{pronoun} {found.group(0).lower()}"
    return None


def gate(user_texts: Sequence[str]) -> GateDecision:
    """Decide whether a turn's user message(s) may say something about the user."""
    saw_text = False
    for text in user_texts:
        if not text or not text.strip():
            continue
        saw_text = True
        for sentence in sentences_of(prose_of(text)):
            sentence = in_user_voice(sentence)
            cue = self_cue(sentence)
            if cue:
                return GateDecision(True, f"self-statement ({cue})")
            change = parse_change(sentence)
            if change is not None and change.cue != "now":
                return GateDecision(True, f"change of mind ({change.cue})")
            if change is not None and _CURRENT_STATE.search(sentence):
                # "New job starts at 7 so bedtime's 10 now": a present set against the past,
                # learned only as the revision of a belief it is clearly about.
                return GateDecision(True, "change of state (now)")
            if (signal := change_signal(sentence)) is not None:
                # Learned only as the revision of a belief it is clearly about.
                return GateDecision(True, f"change of state ({signal.mark})")
            if (mark := ending_mark(sentence)) is not None and is_report(sentence):
                # "cancelled netflix": learned only as the revision of a belief whose name it
                # says (memory/learn/named.py).
                return GateDecision(True, f"named change? ({mark})")
    if not saw_text:
        return GateDecision(False, "empty")
    return GateDecision(False, "no first-person self-statement")
