"""Which configured observation context a statement belongs to, from the contexts' own words.

No context name is known here: each configured context's name and description are embedded
once (on first use, or when `warm` is called at start-up) with the store's embedder, and a
statement goes to the context whose description is closest to it. A few grammatical frames of
English say what kind of statement it is ("I want to ...", "I work as ...", "I can't ...",
"... answer me ..."); a frame adds a short gloss of that kind ("a goal or plan I am working
toward"), which is matched against the same descriptions, so a user's own contexts in
config.yaml ("health: medical conditions, allergies", "ambitions: what they aim for") are
chosen as readily as the defaults. Without an embedder (or when it fails), the words a
statement shares with a description decide (`memory.learn.local.choose_context`).
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Mapping

import numpy as np

from memory.index.embed import Embedder
from memory.learn.local import choose_context

log = logging.getLogger("selfmodel.contexts")

# How much a frame's gloss counts against the statement's own similarity to a description.
GLOSS_WEIGHT = 0.5

# Frames in order: the first that matches gives the gloss. Answers come first, since
# "I prefer that you answer in bullet points" is about answers, not about a liking.
_FRAMES: tuple[tuple[re.Pattern[str], str], ...] = (
    (
        re.compile(
            r"\b(?:answers?|responses?|repl(?:y|ies)|explanations?|explain\w*|bullet points?|"
            r"emojis?|jargon|tone|concise|verbose|call me|address me|talk to me)\b",
            re.I,
        ),
        "how I want you to answer me",
    ),
    (
        re.compile(
            r"\b(?:want(?:s)? to|plan(?:s|ning)? to|hop(?:e|ing) to|aim(?:ing)? to|trying to|"
            r"training for|preparing for|saving (?:up )?for|learning|working (?:on|toward)|"
            r"going to|would like to|'d like to|dream of|intend(?:ing)? to)\b",
            re.I,
        ),
        "a goal or plan I am working toward",
    ),
    (
        re.compile(
            r"\b(?:work(?:ing)? as|years? of experience|studied|degree in|fluent in|proficient|"
            r"expert|beginner|novice|by profession|for a living|for (?:\d+|many|several|a few) "
            r"(?:years|decades))\b"
            r"|\bI(?:'m| am) an? (?:\w+ )?\w+(?:er|ist|ian|or|ant|ent)\b",
            re.I,
        ),
        "my profession, skills and experience",
    ),
    (
        re.compile(
            r"\b(?:can'?t|cannot|unable|allergic|allerg(?:y|ies)|intoleran\w*|afford|only|"
            r"must|have to|need to|afraid of)\b",
            re.I,
        ),
        "a hard limit or restriction I have",
    ),
    (
        re.compile(
            r"\b(?:like[sd]?|love[sd]?|enjoy\w*|prefer\w*|hate[sd]?|dislike[sd]?|fan of|"
            r"favou?rite|into|rather|adore)\b",
            re.I,
        ),
        "what I like and dislike",
    ),
)


def gloss_of(sentence: str, cue: str | None = None) -> str | None:
    """The kind of statement a grammatical frame marks, in plain words, if any."""
    if cue and cue.startswith("style:"):
        return _FRAMES[0][1]
    for pattern, gloss in _FRAMES:
        if pattern.search(sentence):
            return gloss
    return None


def _prototype(name: str, description: str) -> str:
    return f"{name.replace('_', ' ')}: {description}"


class ContextClassifier:
    """Chooses among the configured contexts by similarity to their descriptions."""

    def __init__(self, embedder: Embedder | None) -> None:
        self._embedder = embedder
        self._lock = threading.Lock()
        self._contexts: dict[tuple[tuple[str, str], ...], np.ndarray] = {}
        self._glosses: dict[str, np.ndarray] = {}

    def warm(self, contexts: Mapping[str, str]) -> None:
        """Embed the contexts' descriptions and the glosses now, not on the first statement."""
        if self._embedder is None or not contexts:
            return
        try:
            self._vectors(contexts)
            self._gloss_vectors()
        except Exception as exc:  # noqa: BLE001 - a cold embedder is retried on first use
            log.warning("could not embed the context descriptions yet: %s", exc)

    def _vectors(self, contexts: Mapping[str, str]) -> np.ndarray:
        key = tuple(contexts.items())
        with self._lock:
            found = self._contexts.get(key)
        if found is None:
            assert self._embedder is not None
            found = self._embedder.embed([_prototype(n, d) for n, d in key])
            with self._lock:
                self._contexts[key] = found
        return found

    def _gloss_vectors(self) -> dict[str, np.ndarray]:
        with self._lock:
            if self._glosses:
                return self._glosses
        assert self._embedder is not None
        glosses = [gloss for _, gloss in _FRAMES]
        vectors = self._embedder.embed(glosses)
        with self._lock:
            self._glosses = {g: vectors[i] for i, g in enumerate(glosses)}
            return self._glosses

    def choose(self, sentence: str, contexts: Mapping[str, str], cue: str | None = None) -> str:
        """The context for a self-statement among the configured ones."""
        if not contexts:
            raise ValueError("at least one observation context is required")
        if len(contexts) == 1:
            return next(iter(contexts))
        if self._embedder is None:
            return choose_context(sentence, contexts)
        try:
            vectors = self._vectors(contexts)
            scores = vectors @ self._embedder.embed([sentence])[0]
            gloss = gloss_of(sentence, cue)
            if gloss is not None:
                scores = scores + GLOSS_WEIGHT * (vectors @ self._gloss_vectors()[gloss])
        except Exception as exc:  # noqa: BLE001 - an embedder failure falls back to words
            log.warning("context classification fell back to shared words: %s", exc)
            return choose_context(sentence, contexts)
        return list(contexts)[int(np.argmax(scores))]
