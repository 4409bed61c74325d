"""The user's own prose in a message: what the learning stages read.

Code, URLs, quoted or pasted passages and the payload after a task label are text the user
did not write about themselves; a very long remainder is a pasted document, of which only
the framing (start and end) is read.
"""

from __future__ import annotations

import re

# Typographic apostrophes are common in pasted and mobile text.
_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'"})

_FENCED = re.compile(r"```.*?(?:```|\Z)|~~~.*?(?:~~~|\Z)", re.S)
_TRIPLE_QUOTED = re.compile(r'""".*?(?:"""|\Z)|\'\'\'.*?(?:\'\'\'|\Z)', re.S)
_INLINE_CODE = re.compile(r"`[^`\n]*`")
_URL = re.compile(r"\b(?:https?://|www\.)\S+", re.I)
_QUOTED = re.compile(r'"[^"\n]{1,600}"|\u201c[^\u201d]{1,600}\u201d|\u00ab[^\u00bb]{1,600}\u00bb')
_BLOCKQUOTE_LINE = re.compile(r"^\s*>.*$", re.M)
_CODE_START = re.compile(
    r"^\s*(?:def |class |import |from \S+ import|#include|#!|function\b|return\b|const |let |"
    r"var |public |private |static |package |using |SELECT |INSERT |CREATE |<\/?\w+[ >]|"
    r"@\w+|[}\])];?$|\w+\s*\(.*\)\s*[{:;]?$|\w+(?:\.\w+)+\s*=|\$ )",
    re.I,
)
# A task verb or label followed by a colon introduces material to work on, not
# words about the speaker: "Make this grammatically correct: I like your watch."
_TASK_VERBS = (
    r"translate|rewrite|re-write|rephrase|paraphrase|summari[sz]e|correct|proofread|fix|edit|"
    r"convert|classify|analy[sz]e|explain|improve|complete|continue|check|make|format|review|"
    r"polish|shorten|expand|reply to|respond to|answer|grade|evaluate|critique|simplify|"
    r"extract|detect|identify|label|tag|categori[sz]e|in [a-z]+|write|create|generate|"
    r"compose|draft|describe|solve|read|consider|given|based on"
)
_PAYLOAD_LABEL = re.compile(
    rf"(?im)^[ \t]*(?:(?:please[ \t]+)?(?:{_TASK_VERBS})\b[^:\n]{{0,120}}|"
    r"(?:text|input|sentence|passage|article|document|context|email|message|transcript|"
    r"paragraph|essay|story|review|poem|lyrics|data|output|prompt|question|query)\s*\d*|"
    r".*\b(?:this|these|the following|below|follows)\b[^:\n.]{0,40})"
    r"\s*:"
)

_LONG_PROSE = 2500  # chars; past this the middle is a pasted document
_FRAME = 700  # chars of framing read at each end of a long paste

_SENTENCE_SPLIT = re.compile(r"(?<=[.!?])\s+|\n+")
# A period that closes an abbreviation, not a sentence: a title ("Dr. Patel", "St. Brigid's"),
# "e.g.", "i.e.", "vs.", a number's "No. 5"; a time of day unless a new sentence follows ("up
# at 1 a.m. and ..." / "... at 1 a.m. Then ...").
_ABBREVIATION = re.compile(
    r"(?:^|\s)(?:dr|mr|mrs|ms|mx|prof|st|mt|ft|jr|sr|rev|fr|sgt|capt|lt|col|gen|e\.g|i\.e|vs|"
    r"approx)\.$",
    re.I,
)
_NUMBER_SIGN = re.compile(r"(?:^|\s)no\.$", re.I)
_TIME_OF_DAY = re.compile(r"\d\s*[ap]\.m\.$", re.I)


def _drop_quotes(text: str) -> str:
    # A message that is one quoted string is the user's own words in quotes;
    # a quote inside other prose is someone else's text being discussed.
    stripped = text.strip()
    whole = _QUOTED.fullmatch(stripped)
    if whole:
        return stripped[1:-1]
    return _QUOTED.sub(" ", text)


def _is_code_line(line: str) -> bool:
    s = line.strip()
    if not s:
        return False
    letters = sum(c.isalpha() or c.isspace() for c in s)
    if letters / len(s) < 0.7:
        return True
    return bool(_CODE_START.match(s)) and not re.search(r"\b[Ii]\b|\b(?:my|we)\b", s[:3])


def normalize_apostrophes(text: str) -> str:
    """Same length as the input, so offsets found in the result hold in the original."""
    return text.translate(_APOSTROPHES)


def prose_of(text: str) -> str:
    """The parts of a user message that the user wrote as their own prose."""
    text = normalize_apostrophes(text)
    for pattern in (_FENCED, _TRIPLE_QUOTED, _INLINE_CODE, _URL, _BLOCKQUOTE_LINE):
        text = pattern.sub(" ", text)
    text = _drop_quotes(text)
    label = _PAYLOAD_LABEL.search(text)
    if label:
        text = text[: label.end()]
    text = "\n".join(line for line in text.splitlines() if not _is_code_line(line))
    if len(text) > _LONG_PROSE:
        text = text[:_FRAME] + "\n" + text[-_FRAME:]
    return text


def _closes_sentence(before: str, after: str) -> bool:
    if _ABBREVIATION.search(before):
        return False
    if _NUMBER_SIGN.search(before):
        return not after[:1].isdigit()
    if _TIME_OF_DAY.search(before):
        return after[:1].isupper()
    return True


def sentences_of(prose: str) -> list[str]:
    out: list[str] = []
    start = 0
    for m in _SENTENCE_SPLIT.finditer(prose):
        closes = _closes_sentence(prose[start : m.start()], prose[m.end() :])
        if "\n" not in m.group(0) and not closes:
            continue
        out.append(prose[start : m.start()])
        start = m.end()
    out.append(prose[start:])
    return [s.strip() for s in out if s and s.strip()]
