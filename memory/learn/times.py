"""Relative times in a user's words ("last month", "two weeks ago"), resolved against the
turn's timestamp."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

_NUMBERS = {
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
    "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "a couple of": 2,
    "a few": 3, "several": 3,
}  # fmt: skip
_UNIT_DAYS = {"day": 1, "week": 7, "month": 30, "year": 365, "decade": 3650}
_AGO = re.compile(
    r"\b(?P<n>\d+|a couple of|a few|several|an?|one|two|three|four|five|six|seven|eight|nine|"
    r"ten|eleven|twelve)\s+(?P<unit>day|week|month|year|decade)s?\s+ago\b",
    re.I,
)
_LAST = re.compile(r"\b(?:last|past|previous)\s+(?P<unit>week|month|year|decade)\b", re.I)
_YESTERDAY = re.compile(r"\byesterday\b", re.I)


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
    return None
