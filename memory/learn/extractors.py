"""Extractors: a turn (plus related beliefs) in, belief operations out.

`LocalExtractor` needs no model: it captures explicit first-person statements.
`LLMExtractor` makes exactly one LLM call per turn through a completion
function the proxy hands in (so litellm stays behind the proxy's upstream module).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from memory.errors import ExtractionFailed, ParseError
from memory.inject.render import strip_injected
from memory.learn.local import extract_statements
from memory.learn.ops import OPS_SCHEMA, Op, Rejected, parse_output, validate_ops
from memory.prompts import PromptLibrary

# (model, messages, response_format or None) -> the reply's text
Complete = Callable[[str, list[dict[str, Any]], dict[str, Any] | None], Awaitable[str]]


@dataclass
class Extraction:
    ops: list[Op]
    rejected: list[Rejected] = field(default_factory=list)
    raw: str | None = None
    llm_calls: int = 0


@dataclass(frozen=True)
class Related:
    id: str
    statement: str
    context: str


class Extractor(Protocol):
    uses_related: bool  # whether it reads the related beliefs (worth a query embedding)

    async def extract(
        self,
        user_texts: Sequence[str],
        reply: str,
        related: Sequence[Related],
        contexts: Mapping[str, str],
        model: str,
    ) -> Extraction: ...


class LocalExtractor:
    uses_related = False

    async def extract(
        self,
        user_texts: Sequence[str],
        reply: str,
        related: Sequence[Related],
        contexts: Mapping[str, str],
        model: str,
    ) -> Extraction:
        ops = []
        for text in user_texts:
            for found in extract_statements(strip_injected(text), contexts):
                ops.append(
                    Op(
                        op="add",
                        context=found.context,
                        quote=found.quote,
                        source="stated",
                        statement=found.statement,
                    )
                )
        return Extraction(ops=ops)


class LLMExtractor:
    uses_related = True

    def __init__(
        self, complete: Complete, prompts: PromptLibrary, model: str | None = None
    ) -> None:
        self._complete = complete
        self._prompts = prompts
        self._model = model

    def messages(
        self,
        user_texts: Sequence[str],
        reply: str,
        related: Sequence[Related],
        contexts: Mapping[str, str],
    ) -> list[dict[str, Any]]:
        system = self._prompts.load("extract_system.j2").render(contexts=contexts)
        user = self._prompts.load("extract_user.j2").render(
            beliefs=related,
            user_texts=[strip_injected(t) for t in user_texts],
            reply=strip_injected(reply)[:4000],
        )
        return [{"role": "system", "content": system}, {"role": "user", "content": user}]

    async def extract(
        self,
        user_texts: Sequence[str],
        reply: str,
        related: Sequence[Related],
        contexts: Mapping[str, str],
        model: str,
    ) -> Extraction:
        messages = self.messages(user_texts, reply, related, contexts)
        response_format = {
            "type": "json_schema",
            "json_schema": {"name": "belief_ops", "strict": True, "schema": OPS_SCHEMA},
        }
        raw = await self._complete(self._model or model, messages, response_format)
        try:
            ops, rejected = validate_ops(parse_output(raw), set(contexts))
        except ParseError as exc:
            raise ExtractionFailed(str(exc), raw) from None
        return Extraction(ops=ops, rejected=rejected, raw=raw, llm_calls=1)
