"""Counting tokens for the request's model, offline (tiktoken with bundled encodings)."""

from __future__ import annotations

import re
import threading
from functools import lru_cache
from typing import Any

import tiktoken

from memory.models import content_text

FALLBACK_ENCODING = "cl100k_base"
_lock = threading.Lock()


@lru_cache(maxsize=64)
def encoding_for(model: str) -> tiktoken.Encoding:
    name = model.split("/")[-1]
    with _lock:
        try:
            return tiktoken.encoding_for_model(name)
        except KeyError:
            return tiktoken.get_encoding(FALLBACK_ENCODING)


def count(text: str, model: str) -> int:
    return len(encoding_for(model).encode(text, disallowed_special=()))


# A line break followed by a non-space character always ends one of the tokenizer's pre-tokens
# (no pattern of cl100k's or o200k's crosses it), and BPE never merges across pre-tokens: the
# tokens of a text are the sum of those of its pieces cut there. So does a semicolon followed
# by a space (punctuation runs end at whitespace and no pattern starts with punctuation and
# goes on to a space), where a folded line (`memory.inject.compact`) joins its parts.
# A cut is the end of such a line break or semicolon, captured so that `re.split` keeps it
# (a zero-width split behind a lookbehind tried at every position took ~90 us a block).
_CUTS = re.compile(r"(\n(?=\S)|;(?= ))")
# A statement or folded line this short is also kept whole, so counting it again is one lookup.
_WHOLE_CHARS = 512


def pieces(text: str) -> list[str]:
    """`text` cut where no token crosses, each cut ending the piece before it."""
    parts = _CUTS.split(text)
    return [*(a + b for a, b in zip(parts[::2], parts[1::2], strict=False)), parts[-1]]


class BlockCounter:
    """Exact token counts of rendered blocks, from cached counts of their lines.

    A block is a header and one line per belief (or a folded line of parts per few beliefs),
    and the same beliefs come back request after request: counting only the pieces not seen
    before took the tokenizer's ~0.3-1 ms a request (a 400-token block) to a few
    microseconds. Thread-safe; bounded (cleared when full).
    """

    def __init__(self, max_pieces: int = 65536) -> None:
        self.max_pieces = max_pieces
        self._counts: dict[tuple[str, str], int] = {}

    def count(self, text: str, model: str) -> int:
        encoding = encoding_for(model)
        name = encoding.name
        counts = self._counts
        found = counts.get((name, text))
        if found is not None:
            return found
        total = 0
        for piece in pieces(text):
            key = (name, piece)
            found = counts.get(key)
            if found is None:
                found = self._put(key, len(encoding.encode(piece, disallowed_special=())))
            total += found
        if len(text) <= _WHOLE_CHARS:
            self._put((name, text), total)
        return total

    def _put(self, key: tuple[str, str], tokens: int) -> int:
        if len(self._counts) >= self.max_pieces:
            self._counts.clear()
        self._counts[key] = tokens
        return tokens


def message_text(message: dict[str, Any]) -> str:
    return content_text(message.get("content"))


# Above this many characters a request is not tokenized at all (a 4 MB body took seconds):
# every token holds at least one character, so the character count is a safe upper bound.
MAX_EXACT_CHARS = 100_000


def estimate_request_tokens(messages: list[dict[str, Any]], model: str, exact_above: int) -> int:
    """Cheap estimate; counted exactly only when it could matter and the text is not huge."""
    chars = sum(len(message_text(m)) + 8 for m in messages)
    rough = chars // 3 + 4 * len(messages)
    if rough < exact_above:
        return rough
    if chars > MAX_EXACT_CHARS:
        return chars + 4 * len(messages)
    return sum(count(message_text(m), model) + 4 for m in messages)
