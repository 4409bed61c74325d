"""A compact block: what the injected beliefs say, in fewer lines than one belief per line.

Two foldings, both lossless for the model and both named in the audit (every belief a line
stands for stays among the plan's beliefs):

1. Near-identical beliefs are rendered once. Two statements whose vectors are at least
   `memory.models.NEAR_DUPLICATE` close say the same thing ("I strongly prefer manual
   transmission vehicles over automatic ones" / "I strongly prefer cars with manual
   transmissions over automatic ones"): the better-ranked one's line stands for both.
   `near_identical` finds them among the cut's candidates.
2. Beliefs of one context that open with the same three words share one line, the shared
   words once, then each belief's rest: "I strongly dislike: spicy food; crowded tourist
   spots." A crowded topic's preferences mostly open alike ("I have a strong aversion to",
   "I strongly dislike", "I avoid any"): about 3.5% of a block's tokens at the same beliefs
   (benchmarks/retrieval_lab_compact.py; two words saved 5%, but folded "I strongly: prefer
   X; dislike Y", a line of mixed polarity). Only one-sentence statements without a semicolon
   are folded, so that each part still reads as the opening's object.

Pure string work on the few beliefs a request injects (tens of microseconds; a statement's
opening and a folded line are kept by `Folder`).
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from memory.models import NEAR_DUPLICATE

__all__ = ["NEAR_DUPLICATE", "STEM_WORDS", "UNSURE", "Folder", "Line", "lines", "near_identical"]

# Lines folded together share at least this many leading words (whole words, case-sensitive).
STEM_WORDS = 3
# Beliefs on either side of this confidence are never folded into one line: the shipped
# template marks a belief under it "(unsure)", and a folded line has one marker.
UNSURE = 0.6
# A sentence ending inside a statement ("... a purchase. I prefer free materials."): such a
# statement keeps its own line, since a part after it would read as the later sentence's.
_INNER_SENTENCE = re.compile(r"[.!?]\s+\S")


@dataclass(frozen=True, slots=True)
class Line:
    """One line of the block: the beliefs it stands for (positions in the injected list,
    in rank order), its text, and the members whose words it shows (the others repeat one of
    those)."""

    members: tuple[int, ...]
    text: str
    worded: tuple[int, ...]


def near_identical(sims: np.ndarray, first: int = 0) -> tuple[list[int], dict[int, int]]:
    """Which candidates say something new, and which repeat an earlier one.

    `sims`: the cosines among the candidates, best first. Candidates before `first` are all
    kept (they are injected whatever, e.g. the user's core beliefs); a later one may repeat
    them. Returns the kept
    positions and, for each repeating position, the kept position it repeats (the first one
    close enough), in rank order.
    """
    n = len(sims)
    first = min(first, n)
    close = np.triu(sims >= NEAR_DUPLICATE, k=1)
    close[:first, :first] = False  # those kept whatever never repeat one another
    if not close.any():  # the usual case: one array pass
        return list(range(n)), {}
    kept = list(range(first))
    repeats: dict[int, int] = {}
    for position in range(first, n):
        earlier = [k for k in kept if close[k, position]]
        if earlier:
            repeats[position] = earlier[0]
        else:
            kept.append(position)
    return kept, repeats


def _parts(text: str) -> tuple[str | None, list[str]]:
    """A statement's opening (None if it keeps a line of its own) and its words."""
    words = text.split()
    foldable = len(words) > STEM_WORDS and ";" not in text and _INNER_SENTENCE.search(text) is None
    return (" ".join(words[:STEM_WORDS]) if foldable else None), words


def _fold(words: Sequence[list[str]]) -> str:
    """One line for statements that open with the same words: the words once, then each
    statement's rest, separated by semicolons."""
    # Every statement keeps a word of its own.
    stem = min(len(os.path.commonprefix(list(words))), min(len(w) for w in words) - 1)
    rests = [" ".join(w[stem:]) for w in words]
    rests = [r.rstrip(".") for r in rests[:-1]] + [rests[-1]]
    return " ".join(words[0][:stem]) + ": " + "; ".join(rests)


class Folder:
    """`lines`, with each statement's opening worked out once (the same beliefs come back
    request after request). Thread-safe (a dict's reads and writes are); bounded (cleared
    when full)."""

    def __init__(self, max_texts: int = 65536) -> None:
        self.max_texts = max_texts
        self._parts: dict[str, tuple[str | None, list[str]]] = {}
        self._folded: dict[tuple[str, ...], str] = {}

    def _of(self, text: str) -> tuple[str | None, list[str]]:
        found = self._parts.get(text)
        if found is None:
            if len(self._parts) >= self.max_texts:
                self._parts.clear()
            found = self._parts[text] = _parts(text)
        return found

    def _fold(self, texts: tuple[str, ...]) -> str:
        found = self._folded.get(texts)
        if found is None:
            if len(self._folded) >= self.max_texts:
                self._folded.clear()
            found = self._folded[texts] = _fold([self._of(t)[1] for t in texts])
        return found

    def lines(
        self,
        texts: Sequence[str],
        contexts: Sequence[str],
        confidences: Sequence[float],
        repeats: dict[int, int] | None = None,
    ) -> list[Line]:
        """The block's lines for beliefs in rank order (each belief's shown statement,
        context and confidence; `repeats`: position -> the earlier position it is
        near-identical to).

        A line stands at its best belief's place; a belief joins an earlier line of its
        context that opens with the same STEM_WORDS words.
        """
        repeats = repeats or {}
        groups: list[list[int]] = []
        own: dict[int, int] = {}  # position -> its group
        echoes: set[int] = set()  # positions rendered by an earlier near-identical belief
        open_stems: dict[tuple[str, bool, str], int] = {}
        parts = [self._of(text) for text in texts]
        for position, (stem, _) in enumerate(parts):
            same = repeats.get(position)
            if same is not None and same in own:
                groups[own[same]].append(position)
                own[position] = own[same]
                echoes.add(position)
                continue
            key = (
                None if stem is None else (contexts[position], confidences[position] < UNSURE, stem)
            )
            joined = open_stems.get(key) if key is not None else None
            if joined is None:
                joined = len(groups)
                groups.append([position])
                if key is not None:
                    open_stems[key] = joined
            else:
                groups[joined].append(position)
            own[position] = joined
        out = []
        for members in groups:
            worded = tuple(p for p in members if p not in echoes)
            text = (
                texts[worded[0]]
                if len(worded) == 1
                else self._fold(tuple(texts[p] for p in worded))
            )
            out.append(Line(tuple(members), text, worded))
        return out


def lines(
    texts: Sequence[str],
    contexts: Sequence[str],
    confidences: Sequence[float],
    repeats: dict[int, int] | None = None,
) -> list[Line]:
    """`Folder.lines` without a kept cache."""
    return Folder().lines(texts, contexts, confidences, repeats)
