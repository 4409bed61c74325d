"""What a regular expression needs in a text before it can match, checked before it runs.

A pattern whose every match holds a literal ("password", "-----BEGIN", "xox") or a digit
cannot match a text without one, and a substring test costs far less than the scan: on a
reply of ordinary prose most of `memory.secrets`'s ~60 patterns are skipped so (its scan of
a 1,300-character reply: 2.4 ms, most of a request's bookkeeping). The conditions are read
from the pattern's own parse tree (the `re` module's parser), never written beside it, and
each is only ever a necessary one: a gated pattern finds exactly what the pattern finds.

A condition is a list of clauses that must all hold; a clause holds when the text contains
any of its atoms: a literal string (compared as the pattern compares it, case-folded under
IGNORECASE), or `DIGIT` (a character `\\d` matches).
"""

from __future__ import annotations

import functools
import importlib
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

# The parser `re` compiles with (Python 3.11+; the public `sre_parse` alias is deprecated).
C: Any = importlib.import_module("re._constants")
parser: Any = importlib.import_module("re._parser")

__all__ = ["DIGIT", "Gated", "requirements"]

DIGIT = "\\d"  # the atom "some digit"; never a literal here (literals are at least 2 chars)
# Shorter literals are in nearly every text: as conditions they would cost more than they save.
MIN_LITERAL = 2
_ANY_DIGIT = re.compile(r"\d")
Clause = frozenset[str]


def requirements(pattern: re.Pattern[str]) -> tuple[list[Clause], bool]:
    """The clauses every match of `pattern` satisfies, and whether literals compare
    case-insensitively. No clauses (nothing known, or a pattern the parser refuses): the
    pattern always runs."""
    try:
        tree = parser.parse(pattern.pattern, pattern.flags)
    except Exception:  # noqa: BLE001 - any parser trouble: no condition, the pattern runs
        return [], False
    folds = bool(pattern.flags & re.IGNORECASE) or _sets_ignorecase(tree)
    if not folds and _starts_with_literal(tree):
        return [], False  # `re` itself skips ahead to the prefix, faster than a test first
    return _clauses(tree), folds


def _starts_with_literal(items: Any) -> bool:
    for op, av in items:
        if op is C.AT:
            continue
        if op is C.LITERAL:
            return True
        if op is C.BRANCH:
            return all(_starts_with_literal(alt) for alt in av[1])
        if op is C.SUBPATTERN:
            return _starts_with_literal(av[3])
        return False
    return False


def _sets_ignorecase(items: Any) -> bool:
    for op, av in items:
        if op is C.SUBPATTERN:
            _, added, _, sub = av
            if added & C.SRE_FLAG_IGNORECASE or _sets_ignorecase(sub):
                return True
        elif op in (C.MAX_REPEAT, C.MIN_REPEAT, C.POSSESSIVE_REPEAT):
            if _sets_ignorecase(av[2]):
                return True
        elif op is C.BRANCH:
            if any(_sets_ignorecase(alt) for alt in av[1]):
                return True
        elif op in (C.ATOMIC_GROUP,) and _sets_ignorecase(av):
            return True
    return False


def _clauses(items: Any) -> list[Clause]:
    """Clauses for a sequence: each item's own, and each run of adjacent literals."""
    found: list[Clause] = []
    run: list[str] = []

    def end_run() -> None:
        if len(run) >= MIN_LITERAL:
            found.append(frozenset({"".join(run)}))
        run.clear()

    for op, av in items:
        if op is C.LITERAL:
            run.append(chr(av))
            continue
        # The parser moves a prefix the alternatives share out of them ("pw|pass" becomes
        # "p(?:w|ass)"): read each alternative with it again.
        prefix = [(C.LITERAL, ord(c)) for c in run]
        end_run()
        if op is C.SUBPATTERN:
            found += _clauses(av[3])
        elif op is C.ATOMIC_GROUP:
            found += _clauses(av)
        elif op in (C.MAX_REPEAT, C.MIN_REPEAT, C.POSSESSIVE_REPEAT):
            if av[0] >= 1:  # at least once: whatever the body needs, the match needs
                found += _clauses(av[2])
        elif op is C.BRANCH:
            best = [_best(_clauses([*prefix, *alt])) for alt in av[1]]
            if all(best):
                found.append(frozenset().union(*best))  # type: ignore[arg-type]
        elif op is C.IN and _digits_only(av):
            found.append(frozenset({DIGIT}))
        # Anything else (a class, `.`, an anchor, a lookaround, a backreference) needs
        # nothing that can be named here.
    end_run()
    return found


def _best(clauses: list[Clause]) -> Clause | None:
    """The most selective clause: longest shortest atom, then fewest atoms."""
    if not clauses:
        return None
    return max(clauses, key=lambda c: (min(_weight(a) for a in c), -len(c)))


def _weight(atom: str) -> float:
    return 1.5 if atom == DIGIT else float(len(atom))


def _digits_only(items: Sequence[tuple[Any, Any]]) -> bool:
    for op, av in items:
        if op is C.LITERAL and chr(av).isdigit() and chr(av).isascii():
            continue
        if op is C.RANGE and chr(av[0]) >= "0" and chr(av[1]) <= "9":
            continue
        if op is C.CATEGORY and av is C.CATEGORY_DIGIT:
            continue
        return False
    return bool(items)


@dataclass(frozen=True)
class _View:
    lowered: str | None  # the text lower-cased, when that compares as IGNORECASE does
    digit: bool


# A non-ASCII character that IGNORECASE matches to an ASCII letter ("ſ" to "s", the Kelvin
# sign to "k"): in a text with one, lower-cased literals are no exact test.
_ASCII_LETTER_FOLDED = re.compile("[a-z]", re.IGNORECASE)


@functools.lru_cache(maxsize=2)  # the ~60 patterns of one scan ask about the same text
def _view(text: str) -> _View:
    folds_exactly = text.isascii() or not any(
        _ASCII_LETTER_FOLDED.match(c) for c in set(text) if not c.isascii()
    )
    return _View(text.lower() if folds_exactly else None, _ANY_DIGIT.search(text) is not None)


class Gated:
    """A compiled pattern that runs only on texts meeting its requirements."""

    def __init__(self, pattern: re.Pattern[str]) -> None:
        self.pattern = pattern
        clauses, folds = requirements(pattern)
        self.clauses: list[Clause] = list(dict.fromkeys(clauses))
        self.folds = folds
        self._literals = [
            frozenset(a.lower() if folds else a for a in c if a != DIGIT) for c in self.clauses
        ]
        # Literals beyond ASCII fold by rules of their own: tested with `re` itself.
        self._searches = [
            re.compile("|".join(re.escape(a) for a in sorted(c)), re.IGNORECASE)
            if folds and not all(a.isascii() for a in c)
            else None
            for c in self._literals
        ]

    @property
    def groupindex(self) -> Any:
        return self.pattern.groupindex

    @property
    def groups(self) -> int:
        return self.pattern.groups

    def could_match(self, text: str) -> bool:
        if not self.clauses:
            return True
        view = _view(text)
        for clause, literals, search in zip(
            self.clauses, self._literals, self._searches, strict=True
        ):
            if view.digit and DIGIT in clause:
                continue
            if not literals:
                return False
            if not self.folds:
                found = any(a in text for a in literals)
            elif search is None and view.lowered is not None:
                found = any(a in view.lowered for a in literals)
            else:
                found = (search or self._search(literals)).search(text) is not None
            if not found:
                return False
        return True

    @staticmethod
    @functools.lru_cache(maxsize=256)
    def _search(literals: frozenset[str]) -> re.Pattern[str]:
        return re.compile("|".join(re.escape(a) for a in sorted(literals)), re.IGNORECASE)

    def finditer(self, text: str) -> Iterator[re.Match[str]]:
        if self.could_match(text):
            yield from self.pattern.finditer(text)
