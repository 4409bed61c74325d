"""Extractors: a turn (plus related beliefs) in, belief operations out.

`LocalExtractor` needs no model: it captures explicit first-person statements.
`LLMExtractor` makes exactly one LLM call per turn through a completion
function the proxy hands in (so litellm stays behind the proxy's upstream module).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from memory.errors import ExtractionFailed, ParseError
from memory.inject.render import strip_injected
from memory.learn.change import CONSEQUENCE, change_signal, continues, is_report
from memory.learn.contexts import ContextClassifier
from memory.learn.cues import parse_change
from memory.learn.gate import prose_of, sentences_of
from memory.learn.local import (
    Classify,
    Extracted,
    choose_context,
    extract_statements,
    is_about_third_party,
    normalize_statement,
    of_my_people,
)
from memory.learn.named import NAMED, ending_mark
from memory.learn.ops import OPS_SCHEMA, Op, Rejected, parse_output, validate_ops
from memory.learn.voice import in_user_voice
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
    """`classifier` picks each statement's context from the configured descriptions; without
    one, shared words with the descriptions decide."""

    uses_related = False

    def __init__(self, classifier: ContextClassifier | None = None) -> None:
        self._classify: Classify = classifier.choose if classifier else choose_context

    async def extract(
        self,
        user_texts: Sequence[str],
        reply: str,
        related: Sequence[Related],
        contexts: Mapping[str, str],
        model: str,
    ) -> Extraction:
        ops: list[Op] = []
        for text in user_texts:
            ops += _merge_replacements(
                [
                    op
                    for s in sentences_of(prose_of(strip_injected(text)))
                    for op in _local(s, contexts, self._classify)
                ]
            )
        return Extraction(ops=ops)


def _local(sentence: str, contexts: Mapping[str, str], classify: Classify) -> list[Op]:
    """One sentence's ops, read with the user as its subject ("They've moved me to nights" ->
    "I've been moved to nights"); the quote keeps the user's own words."""
    voiced = in_user_voice(sentence)
    ops = _local_voiced(voiced, contexts, classify)
    return ops if voiced == sentence else [replace(op, quote=sentence) for op in ops]


def _local_voiced(sentence: str, contexts: Mapping[str, str], classify: Classify) -> list[Op]:
    """One sentence's ops: a change of mind (revise/retract, linked later), else statements."""
    found = extract_statements(sentence, contexts, classify)
    if continues(sentence):
        # "I still take the ferry, same as always": a restatement, whatever else it says.
        return [
            Op(op="add", context=f.context, quote=f.quote, source="stated", statement=f.statement)
            for f in found
        ]
    change = parse_change(sentence)
    if change is not None and change.statement and not found:
        # "These days my favourite X is Y": the new state, its time marker cut, may be a
        # statement about the user where the whole sentence did not read as one.
        found = extract_statements(change.statement, contexts, classify)
    named = change is not None and change.target is not None
    if change is None or (change.cue == "now" and not found and not named):
        signal = change_signal(sentence) if len(found) <= 1 else None
        told = is_about_third_party(sentence)
        if signal is not None and told and len(found) == 1 and _CONSEQUENCE.search(sentence):
            # "They shut the pool, so I swim in the lake now": someone else's act, and what it
            # made of the user in their own clause. The clause is the new state; the act names
            # the old one, so the whole sentence finds the belief it changed.
            return [
                Op(
                    op="revise",
                    context=found[0].context,
                    quote=sentence,
                    statement=found[0].statement,
                    cue=f"{CONSEQUENCE} ({signal.mark})",
                )
            ]
        if signal is None and change is not None and change.statement and not found:
            # "New job starts at 7 so bedtime's 10 now": a present set against the past with a
            # subject of its own, no "I" in it: the new state of a belief it stands out against,
            # never a statement about the user alone.
            return [
                Op(
                    op="revise",
                    context=classify(change.statement, contexts, None),
                    quote=sentence,
                    statement=change.statement,
                    cue=change.cue,
                    anchored=True,
                )
            ]
        if signal is not None and (not told or of_my_people(sentence)):
            # A change in no frame the cues know ("Our address changed in June: we're renting
            # in Glasgow now"): a revision of the belief it is about, if one stands out; a
            # statement about the user is stored as new when none does, anything else is not.
            anchored = not found or is_about_third_party(sentence)
            return _told(sentence, found, f"change ({signal.mark})", anchored, contexts, classify)
        mark = ending_mark(sentence)
        if mark is not None and len(found) <= 1 and not told and is_report(sentence):
            # "cancelled netflix, nothing on it worth a tenner": no grammar of a change read,
            # but a word that ends a state; the revision of the belief whose name it says,
            # if one does (memory/learn/named.py), else what it tells of the user.
            return _told(sentence, found, f"{NAMED} ({mark})", not found, contexts, classify)
        return [
            Op(op="add", context=f.context, quote=f.quote, source="stated", statement=f.statement)
            for f in found
        ]
    if change.kind == "retract":
        target = change.target or sentence
        return [
            Op(
                op="retract",
                context=classify(target, contexts, None),
                quote=sentence,
                # "I quit smoking two years ago" with nothing to retract is still a fact
                # about the user: the applier stores it when no belief matches the target.
                statement=(
                    found[0].statement if found and change.cue != "forget" else change.statement
                ),
                target=target,
                cue=change.cue,
            )
        ]
    statement = change.statement or (found[0].statement if found else None)
    anchored = False
    if statement and is_about_third_party(statement) and found:
        # "My flatmates moved out, so I live alone now": the user's own clause is the new
        # state. One that leans on the clause before ("so that's what I write now") is not
        # whole alone: the sentence is, and only as the revision of a belief that stands out.
        if _LEANS_BACK.match(found[0].statement):
            anchored = True
        else:
            statement = found[0].statement
    told = statement is not None and is_about_third_party(statement)
    if change.target and not found and (change.cue == "instead of" or told):
        # "Since May he's at the nursery instead of the childminder", "He's given up rugby
        # for climbing": a change told of someone revises the state it names, and is never a
        # statement about the user alone.
        anchored = True
    if not statement or (is_about_third_party(statement) and not anchored):
        return []
    return [
        Op(
            op="revise",
            context=classify(statement, contexts, None),
            quote=sentence,
            statement=statement,
            target=change.target,
            cue=change.cue,
            anchored=anchored,
        )
    ]


def _told(
    sentence: str,
    found: list[Extracted],
    cue: str,
    anchored: bool,
    contexts: Mapping[str, str],
    classify: Classify,
) -> list[Op]:
    """A change read by no frame, as the revision of the belief the applier links it to: its
    new state the one statement about the user found in it, else the sentence."""
    new = found[0].statement if len(found) == 1 else normalize_statement(sentence)
    context = classify(new, contexts, None)
    return [
        Op(op="revise", context=context, quote=sentence, statement=new, cue=cue, anchored=anchored)
    ]


# A clause of the user's that says what follows from the one before it.
_CONSEQUENCE = re.compile(
    r"(?:,\s*|\s+)(?:and\s+)?(?:so|which means|meaning|now)\s+(?:now\s+)?(?:i|we)"
    r"(?:'m|'re|'ve|'ll| am| are| have| will)?\s",
    re.I,
)

# A clause whose subject points back at the one before it.
_LEANS_BACK = re.compile(r"^\W*(?:that|this|it|those|these|they|there)(?:'s|'re| is| are)?\b", re.I)


def _merge_replacements(ops: list[Op]) -> list[Op]:
    """ "I don't X anymore. I Y now.": the second sentence replaces what the first dropped."""
    out: list[Op] = []
    for op in ops:
        last = out[-1] if out else None
        if (
            last is not None
            and last.op == "retract"
            and last.id is None
            and op.op in ("add", "revise")
            and op.id is None
            and op.target is None
        ):
            out[-1] = Op(
                op="revise",
                context=op.context,
                quote=f"{last.quote} {op.quote}",
                statement=op.statement,
                target=last.target,
                cue=last.cue,
            )
            continue
        out.append(op)
    return out


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
