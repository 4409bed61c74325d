"""Relative times in a user's words ("last month", "two weeks ago", "in June"), resolved against
the turn's timestamp, and cut from the statement they date: "I moved to Berlin last month" says
where the user lives now, and since when; "I live in Berlin last month" is no statement at all.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

_NUMBERS = {
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
    "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "a couple of": 2,
    "a few": 3, "several": 3,
}  # fmt: skip
_UNIT_DAYS = {"day": 1, "week": 7, "month": 30, "year": 365, "decade": 3650}
_COUNT = (
    r"\d+|a couple of|a few|several|an?|one|two|three|four|five|six|seven|eight|nine|ten|"
    r"eleven|twelve"
)
_AGO = re.compile(
    rf"\b(?P<n>{_COUNT})\s+(?P<unit>day|week|month|year|decade)s?\s+(?:ago|back)\b",
    re.I,
)
_LAST = re.compile(r"\b(?:last|past|previous)\s+(?P<unit>week|month|year|decade)\b", re.I)
_YESTERDAY = re.compile(r"\byesterday\b", re.I)
_MONTHS = [
    "january", "february", "march", "april", "may", "june", "july", "august", "september",
    "october", "november", "december",
]  # fmt: skip
# "in June" (capitalised: "may" is also a verb): the latest June up to the turn.
_IN_MONTH = re.compile(r"\b(?:in|since|back in)\s+(?-i:(?P<month>[A-Z][a-z]+))\b", re.I)
_FUTURE = re.compile(r"\b(?:will|'ll|going to|gonna|plan(?:ning)? to|next|hope to|want to)\b", re.I)

# A time adjunct that dates a clause without being part of its state: a relative time, a
# named month or season, a year. Cut from the end (or the start) of the clause it dates.
_WHEN = (
    rf"(?:(?:{_COUNT})\s+(?:day|week|month|year|decade)s?\s+(?:ago|back)|"
    r"(?:last|this|past|previous)\s+(?:week|weekend|month|year|decade|spring|summer|autumn|"
    r"fall|winter|(?-i:[A-Z][a-z]+day))|yesterday|recently|a while (?:ago|back)|"
    r"(?:back\s+)?in\s+(?:(?-i:(?:January|February|March|April|May|June|July|August|September|"
    r"October|November|December))|(?:the\s+)?(?:spring|summer|autumn|fall|winter)|(?:19|20)\d\d))"
)
_TRAILING_TIME = re.compile(rf"(?:,?\s+{_WHEN})+\s*(?=[.!?]*$)", re.I)
LEADING_TIME = re.compile(rf"^\W*{_WHEN}\s*,?\s+", re.I)


# A time in the past the clause happened at: "last month", "3 weeks ago", "in March", "last nite".
_PAST_TIME = re.compile(rf"\b(?:{_WHEN}|last (?:night|nite))\b", re.I)


def dates_past(clause: str) -> bool:
    """The clause is dated in the past: what it tells happened then."""
    return _PAST_TIME.search(clause) is not None


def without_time(clause: str) -> str:
    """The clause with the time adjuncts that date it cut from its ends."""
    text = LEADING_TIME.sub("", clause)
    return _TRAILING_TIME.sub("", text).strip()


def resolve_time(text: str, at: datetime) -> datetime | None:
    """When a state began, from a relative time in the sentence, against the turn's time."""
    if m := _AGO.search(text):
        raw = m["n"].lower()
        count = int(raw) if raw.isdigit() else _NUMBERS.get(raw, 1)
        return at - timedelta(days=count * _UNIT_DAYS[m["unit"].lower()])
    if m := _LAST.search(text):
        return at - timedelta(days=_UNIT_DAYS[m["unit"].lower()])
    if _YESTERDAY.search(text):
        return at - timedelta(days=1)
    if _FUTURE.search(text):
        return None  # "I'm going to Paris in May": a plan, not when a state began
    for m in _IN_MONTH.finditer(text):
        if m["month"].lower() in _MONTHS:
            month = _MONTHS.index(m["month"].lower()) + 1
            year = at.year if month <= at.month else at.year - 1
            return at.replace(year=year, month=month, day=1, hour=0, minute=0, second=0)
    return None
