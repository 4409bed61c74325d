"""Rendering chosen beliefs with a template, inside a token budget, into the messages."""

from __future__ import annotations

import copy
import re
from bisect import bisect_right
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import accumulate
from typing import Any

from memory import guard
from memory.inject import budget, compact
from memory.models import ScoredBelief
from memory.prompts import BLOCK_TAG, Template

_SYSTEM_ROLES = ("system", "developer")
# Our own block, should a client echo it back in a later request.
INJECTED_BLOCK = re.compile(rf"<{BLOCK_TAG}\b.*?</{BLOCK_TAG}>\s*", re.DOTALL)


@dataclass(frozen=True)
class Rendered:
    text: str
    beliefs: list[ScoredBelief]  # every belief the block stands for, best first
    tokens: int
    lines: int = 0  # the block's belief lines (fewer than beliefs where some were folded)


class _Shown:
    """A line of the block as a template sees it: the statement as cleaned for the prompt
    (folded, `memory.inject.compact`, when the line stands for several beliefs), `members` the
    beliefs it stands for, `confidence` the lowest of those whose words it shows, and every
    other stored field of its best belief (a proxy object rather than a pydantic copy: ~15
    copies a request cost ~0.3 ms)."""

    __slots__ = ("_belief", "confidence", "members", "statement")

    def __init__(self, members: list[ScoredBelief], statement: str, confidence: float) -> None:
        self._belief = members[0]
        self.members = members
        self.statement = statement
        self.confidence = confidence

    def __getattr__(self, name: str) -> Any:
        return getattr(self._belief, name)


def fit(
    template: Template,
    beliefs: Sequence[ScoredBelief],
    max_tokens: int,
    model: str,
    shown: Sequence[str] | None = None,
    count: Callable[[str, str], int] = budget.count,
    repeats: dict[int, int] | None = None,
    folder: compact.Folder | None = None,
) -> Rendered:
    """The longest prefix of `beliefs` (best first) whose compact rendering fits
    `max_tokens` (`memory.inject.compact`: near-identical beliefs once, shared openings once).

    `shown`: each belief's statement as `guard.for_prompt` cleans it, when the caller has it
    already (the snapshot cleans each belief once, not on every request: ~1.5 ms a request).
    `count`: the token counter (`budget.BlockCounter.count` on the request path).
    `repeats`: position -> the earlier position whose statement it repeats (near-identical,
    `compact.near_identical`); such a belief is rendered by that one's line.
    `folder`: the line folder (the request path keeps one, with its cache).
    """
    if not beliefs or max_tokens <= 0:
        return Rendered("", [], 0)
    # Whatever a statement holds, the model sees plain text: no look-alike tag, no hidden or
    # line-breaking character (stored rows may predate the write-time checks, or be imported).
    texts = shown if shown is not None else [guard.for_prompt(b.statement) for b in beliefs]
    if len(texts) != len(beliefs):
        raise ValueError("`shown` must hold one statement per belief")
    contexts = [b.context for b in beliefs]
    confidences = [b.confidence for b in beliefs]
    folder = folder or compact.Folder()

    def rendered(size: int) -> Rendered:
        folded = folder.lines(texts[:size], contexts[:size], confidences[:size], repeats)
        shown_lines = [
            _Shown(
                [beliefs[p] for p in line.members],
                line.text,
                min(confidences[p] for p in line.worded),
            )
            for line in folded
        ]
        text = template.render(beliefs=shown_lines)
        # The audit keeps the beliefs as stored; only the model's copy is cleaned.
        return Rendered(text, list(beliefs[:size]), count(text, model), len(folded))

    # The statements' own tokens, summed (a line break each), guide every try; each try is
    # then rendered and counted exactly.
    cumulative = list(accumulate(count(t, model) + 1 for t in texts))
    framing = _framing(template, model, count)
    # The first try takes each line at its statement's tokens: where the cut's token target
    # binds, rendering every candidate first to learn the block's overhead cost a second
    # render on most requests (2.06 renders a request; 1.4 so).
    size = max(1, _prefix(cumulative, 1.0, framing, max_tokens, len(beliefs)))
    fitted: Rendered | None = None
    too_long = len(beliefs) + 1  # the shortest prefix known not to fit
    measured: tuple[int, int] | None = None  # the previous try: (prefix, tokens)
    while size:
        attempt = rendered(size)
        if attempt.tokens > max_tokens:
            if fitted is not None:
                return fitted
            too_long = size
            measured = (size, attempt.tokens)
            size = _shorter(cumulative, size, attempt.tokens, framing, max_tokens)
            continue
        fitted = attempt
        # Lines cheaper than their statements (folded, short headings): more may fit. Two
        # tries apart tell what one more line costs better than the block's average does.
        grown = _grown(cumulative, size, attempt.tokens, framing, max_tokens, measured)
        larger = min(too_long - 1, grown)
        if larger <= size:
            return fitted
        measured = (size, attempt.tokens)
        size = larger
    return fitted or Rendered("", [], 0)


def _grown(
    cumulative: list[int],
    size: int,
    tokens: int,
    framing: int,
    limit: int,
    measured: tuple[int, int] | None,
) -> int:
    """The longest prefix expected to fit, from a prefix of `size` that took `tokens`: at
    the marginal cost per statement token between it and the `measured` try before, or at
    the block's average."""
    if measured is not None and measured[0] != size:
        other, spent = measured
        added = abs(cumulative[size - 1] - cumulative[other - 1])
        per_token = max(1, abs(tokens - spent)) / max(1, added)
        room = cumulative[size - 1] + (limit - tokens) / per_token
        return bisect_right(cumulative, room)
    return _prefix(cumulative, _per_token(cumulative, size, tokens, framing), framing, limit)


_FRAMING: dict[tuple[str, str], int] = {}


def _framing(template: Template, model: str, count: Callable[[str, str], int]) -> int:
    """The tokens of the template's own words (the block with no belief), once per template."""
    key = (template.sha256, model)
    found = _FRAMING.get(key)
    if found is None:
        if len(_FRAMING) > 256:
            _FRAMING.clear()
        found = _FRAMING[key] = count(template.render(beliefs=[]), model)
    return found


def _per_token(cumulative: list[int], size: int, tokens: int, framing: int) -> float:
    """Block tokens per statement token in a rendered prefix of `size` beliefs: the block's
    tokens beyond its framing spread over its beliefs in proportion to their statements' own
    (headings and folding included)."""
    return max(1, tokens - framing) / max(1, cumulative[size - 1])


def _prefix(
    cumulative: list[int], per_token: float, framing: int, limit: int, hi: int | None = None
) -> int:
    """The longest prefix (at most `hi`) expected to fit at `per_token`."""
    room = (limit - framing) / per_token
    return bisect_right(cumulative, room, hi=len(cumulative) if hi is None else hi)


def _shorter(cumulative: list[int], size: int, tokens: int, framing: int, limit: int) -> int:
    """The next prefix to try after `size` beliefs took `tokens`, over the limit: one more
    render usually lands on a prefix that fits, where a step proportional to the overflow
    took three (~0.1 ms each)."""
    per_token = _per_token(cumulative, size, tokens, framing)
    fits = _prefix(cumulative, per_token, framing, limit, hi=size - 1)
    # A single belief is always tried before giving up on the block.
    return max(min(1, size - 1), min(size - 1, fits))


def _prepend_text(content: Any, text: str, at_end: bool) -> Any:
    if isinstance(content, str) or content is None:
        existing = content or ""
        if not existing:
            return text
        return f"{existing}\n\n{text}" if at_end else f"{text}\n\n{existing}"
    if isinstance(content, list):
        part = {"type": "text", "text": text}
        return [*content, part] if at_end else [part, *content]
    return content


def insert(messages: list[dict[str, Any]], text: str, position: str) -> list[dict[str, Any]]:
    """A new message list with `text` placed as the rule says; the input is not changed."""
    if not text:
        return messages
    result = copy.copy(messages)
    if position == "before_last_user":
        last_user = max(
            (i for i, m in enumerate(result) if m.get("role") == "user"), default=len(result)
        )
        result.insert(last_user, {"role": "system", "content": text})
        return result
    system = next((i for i, m in enumerate(result) if m.get("role") in _SYSTEM_ROLES), None)
    if system is None:
        result.insert(0, {"role": "system", "content": text})
        return result
    message = dict(result[system])
    message["content"] = _prepend_text(
        message.get("content"), text, at_end=position == "system_append"
    )
    result[system] = message
    return result


def strip_injected(text: str) -> str:
    return INJECTED_BLOCK.sub("", text)
