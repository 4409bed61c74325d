"""The text a request is retrieved by: the latest user turn, capped in length."""

from __future__ import annotations

from typing import Any

__all__ = ["FOLLOW_UP_WORDS", "QUERY_WORDS", "query_texts"]

# The request text: at most this many words (~1.3 tokens each); a latest turn shorter than
# FOLLOW_UP_WORDS is read with the user turn before it. Speed caps, not fitted to any data
# (every PrefEval question is under 32 words).
QUERY_WORDS = 48
FOLLOW_UP_WORDS = 8


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = [
            p.get("text", "")
            for p in content
            if isinstance(p, dict)
            and p.get("type", "text") == "text"
            and isinstance(p.get("text"), str)
        ]
        return " ".join(parts)
    return ""


def _capped(words: list[str], limit: int) -> list[str]:
    # A long message keeps its opening (what it is about) and its end (what it asks).
    if len(words) <= limit:
        return words
    head = limit // 3
    return words[:head] + words[len(words) - (limit - head) :]


def query_texts(messages: list[dict[str, Any]], max_turns: int = 2) -> list[str]:
    """The one text to embed for a request: the latest user message, capped in length.

    Only user turns: the assistant's words describe its answers, not the user. Earlier user
    turns join the text only while it is short (a follow-up such as "and for kids?" means
    little alone); a full question stands alone, so an unrelated earlier exchange neither
    pulls in beliefs nor costs a second embedding. The cap keeps the embedding's cost flat
    for pasted documents (the model's cost grows with the text's length).
    """
    joined: list[str] = []
    seen: set[str] = set()
    turns = 0
    for message in reversed(messages):
        if not isinstance(message, dict) or message.get("role") != "user":
            continue
        words = _text_of(message.get("content")).split()
        text = " ".join(words)
        if not text or text in seen:
            continue
        seen.add(text)
        turns += 1
        joined = _capped(words, QUERY_WORDS - len(joined)) + joined
        if turns >= max_turns or len(joined) >= FOLLOW_UP_WORDS:
            break
    return [" ".join(joined)] if joined else []
