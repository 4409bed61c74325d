"""What a regular expression needs in a text before it can match, checked before it runs.

A pattern whose every match holds a literal ("password", "-----BEGIN", "xox") or digits
cannot match a text without them, and a substring test costs far less than the scan: on a
reply of ordinary prose most of `memory.secrets`'s ~60 patterns are skipped so (its scan of
a 1,300-character reply: 2.4 ms, most of a request's bookkeeping). Digits are counted, not
only noticed: most replies hold one ("3 eggs", "in 2019"), few hold a run of three or more,
and an SSN needs a run of 4 and 9 in all, a card number 13 in all. The conditions are read
from the pattern's own parse tree (the `re` module's parser), never written beside it, and
each is only ever a necessary one: a gated pattern finds exactly what the pattern finds.

A condition is a list of clauses that must all hold; a clause holds when the text contains
any of its atoms: a literal string (compared as the pattern compares it, case-folded under
IGNORECASE), or `Digits(run, total)` (the text holds `run` consecutive characters `\\d`
matches, and `total` in all).
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

__all__ = ["Digits", "Gated", "requirements"]


@dataclass(frozen=True)
class Digits:
    """The atom "the text holds `run` consecutive digits and `total` digits in all"."""

    run: int
    total: int

    def implies(self, other: Digits) -> bool:
        return self.run >= other.run and self.total >= other.total


# Shorter literals are in nearly every text: as conditions they would cost more than they save.
MIN_LITERAL = 2
Atom = str | Digits
Clause = frozenset[Atom]
_REPEATS = (C.MAX_REPEAT, C.MIN_REPEAT, C.POSSESSIVE_REPEAT)


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
    return _simplified(_clauses(tree)), folds


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
        elif op in _REPEATS:
            if _sets_ignorecase(av[2]):
                return True
        elif op is C.BRANCH:
            if any(_sets_ignorecase(alt) for alt in av[1]):
                return True
        elif op in (C.ATOMIC_GROUP,) and _sets_ignorecase(av):
            return True
    return False


def _clauses(items: Any) -> list[Clause]:
    """Clauses for a sequence: the digits it holds, each item's own clauses, and each run of
    adjacent literals."""
    digits = _sequence(items)
    found = [frozenset({Digits(digits.run, digits.total)})] if digits.total else []
    return found + _item_clauses(items)


def _item_clauses(items: Any) -> list[Clause]:
    """The literals' clauses of a sequence (its digits are counted whole, by `_sequence`)."""
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
            found += _item_clauses(av[3])
        elif op is C.ATOMIC_GROUP:
            found += _item_clauses(av)
        elif op in _REPEATS:
            if av[0] >= 1:  # at least once: whatever the body needs, the match needs
                found += _item_clauses(av[2])
        elif op is C.BRANCH:
            best = [_best(_clauses([*prefix, *alt])) for alt in av[1]]
            if all(best):
                found.append(frozenset().union(*best))  # type: ignore[arg-type]
        # Anything else (a class, `.`, an anchor, a lookaround, a backreference) needs
        # nothing that can be named here.
    end_run()
    return found


def _simplified(clauses: list[Clause]) -> list[Clause]:
    """Each clause once, and the clauses of digits alone as one, first: two comparisons
    cost less than any substring test, and most texts fail them. An atom of digits that
    implies another of its clause is dropped: the weaker one holds whenever it does."""
    alone = [a for c in clauses if len(c) == 1 for a in c if isinstance(a, Digits)]
    found: list[Clause] = []
    if alone:
        found.append(frozenset({Digits(max(a.run for a in alone), max(a.total for a in alone))}))
    for clause in dict.fromkeys(clauses):
        if len(clause) == 1 and isinstance(next(iter(clause)), Digits):
            continue
        found.append(frozenset(a for a in clause if not _needlessly_strong(a, clause)))
    return found


def _needlessly_strong(atom: Atom, clause: Clause) -> bool:
    return isinstance(atom, Digits) and any(
        isinstance(b, Digits) and b != atom and atom.implies(b) for b in clause
    )


@dataclass(frozen=True)
class _Span:
    """What every match of a piece of a pattern holds of digits: the run it starts with and
    the run it ends with, its longest run, its digits in all, and whether it is digits only
    (then a run goes on through it, `\\d{3}\\d*\\d{2}` holds a run of 5, and its lead, trail and
    run are its total)."""

    lead: int
    trail: int
    run: int
    total: int
    solid: bool


_NOTHING = _Span(0, 0, 0, 0, True)  # consumes nothing: the digits either side are adjacent
_OTHER = _Span(0, 0, 0, 0, False)  # may consume something else: no run goes through it
_ONE_DIGIT = _Span(1, 1, 1, 1, True)


def _sequence(items: Any) -> _Span:
    span = _NOTHING
    for op, av in items:
        span = _then(span, _item(op, av))
    return span


def _then(a: _Span, b: _Span) -> _Span:
    """`a` followed by `b`: a run may go on from one into the other."""
    return _Span(
        a.total + b.lead if a.solid else a.lead,
        a.trail + b.total if b.solid else b.trail,
        max(a.run, b.run, a.trail + b.lead),
        a.total + b.total,
        a.solid and b.solid,
    )


def _item(op: Any, av: Any) -> _Span:
    if op is C.LITERAL:
        return _ONE_DIGIT if _is_digit(av) else _OTHER
    if op is C.IN:
        return _ONE_DIGIT if _digits_only(av) else _OTHER
    if op in (C.AT, C.ASSERT, C.ASSERT_NOT):
        # Consumes nothing; what a lookaround sees may be the match's own digits: not counted.
        return _NOTHING
    if op is C.SUBPATTERN:
        return _sequence(av[3])
    if op is C.ATOMIC_GROUP:
        return _sequence(av)
    if op in _REPEATS:
        return _repeated(_sequence(av[2]), av[0])
    if op is C.BRANCH:
        return _either([_sequence(alt) for alt in av[1]])
    return _OTHER  # `.`, a negated class, a backreference: nothing to count on


def _repeated(body: _Span, least: int) -> _Span:
    """`least` copies of `body` (more only add digits): `(?:\\d\\d){2,}` holds a run of 4,
    `(?:\\d-){3}` only runs of 1 but 3 digits in all."""
    if least == 0:
        return _NOTHING if body.solid else _OTHER
    if body.solid:
        n = body.total * least
        return _Span(n, n, n, n, True)
    across = body.trail + body.lead if least > 1 else 0
    return _Span(body.lead, body.trail, max(body.run, across), body.total * least, False)


def _either(alternatives: list[_Span]) -> _Span:
    """A branch holds what its poorest alternative holds."""
    return _Span(
        min(a.lead for a in alternatives),
        min(a.trail for a in alternatives),
        min(a.run for a in alternatives),
        min(a.total for a in alternatives),
        all(a.solid for a in alternatives),
    )


def _best(clauses: list[Clause]) -> Clause | None:
    """The most selective clause: longest shortest atom, then fewest atoms."""
    if not clauses:
        return None
    return max(clauses, key=lambda c: (min(_weight(a) for a in c), -len(c)))


def _weight(atom: Atom) -> float:
    return atom.run + 0.5 if isinstance(atom, Digits) else float(len(atom))


def _is_digit(code: int) -> bool:
    return "0" <= chr(code) <= "9"  # no other character folds onto an ASCII digit


def _digits_only(items: Sequence[tuple[Any, Any]]) -> bool:
    for op, av in items:
        if op is C.LITERAL and _is_digit(av):
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
    run: int  # its longest run of digits
    total: int  # its digits in all

    def holds(self, digits: tuple[Digits, ...]) -> bool:
        return any(self.run >= d.run and self.total >= d.total for d in digits)


# A non-ASCII character that IGNORECASE matches to an ASCII letter ("ſ" to "s", the Kelvin
# sign to "k"): in a text with one, lower-cased literals are no exact test.
_ASCII_LETTER_FOLDED = re.compile("[a-z]", re.IGNORECASE)


# Digits as a pattern's `\d` takes them (any character `str.isdecimal` takes, not only ASCII's;
# an ASCII pattern's are among them). Scanning with it costs ~25 us for a 1,300-character
# reply, more than the patterns it spares: the ASCII digits are counted with bytes methods
# (~1-4 us), and `re` is asked only when the text holds some other digit.
_DIGIT_RUN = re.compile(r"\d+")
_ASCII_DIGITS_ONLY = bytes(c if c in b"0123456789" else ord(" ") for c in range(256))


@functools.lru_cache(maxsize=2)  # the ~60 patterns of one scan ask about the same text
def _view(text: str) -> _View:
    beyond = () if text.isascii() else [c for c in set(text) if not c.isascii()]
    folds_exactly = not any(_ASCII_LETTER_FOLDED.match(c) for c in beyond)
    runs = _digit_runs(text, any(c.isdecimal() for c in beyond))
    return _View(text.lower() if folds_exactly else None, max(runs, default=0), sum(runs))


def _digit_runs(text: str, beyond_ascii: bool) -> list[int]:
    """The length of each run of digits in `text`."""
    if beyond_ascii:
        return [len(r) for r in _DIGIT_RUN.findall(text)]
    # One "?" for each other character: a separator still, as in the text.
    kept = text.encode("ascii", "replace").translate(_ASCII_DIGITS_ONLY)
    return [len(r) for r in kept.split()]


class Gated:
    """A compiled pattern that runs only on texts meeting its requirements."""

    def __init__(self, pattern: re.Pattern[str]) -> None:
        self.pattern = pattern
        clauses, folds = requirements(pattern)
        self.clauses: list[Clause] = list(dict.fromkeys(clauses))
        self.folds = folds
        self._literals = [
            frozenset(a.lower() if folds else a for a in c if isinstance(a, str))
            for c in self.clauses
        ]
        self._digits = [tuple(a for a in c if isinstance(a, Digits)) for c in self.clauses]
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
        for digits, literals, search in zip(
            self._digits, self._literals, self._searches, strict=True
        ):
            if digits and view.holds(digits):
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
