"""The only caller of litellm: resolves a model name and calls the provider.

litellm is imported lazily (it costs seconds) and only after
`proxy.offline.configure_offline()` has pointed it at its bundled data.
Provider failures reach the client as the provider's own error: on the direct path
exactly as sent, through litellm with the provider's status, type and code (`map_exception`).
"""

from __future__ import annotations

import contextlib
import fnmatch
import json
from collections.abc import AsyncIterator, Mapping
from typing import TYPE_CHECKING, Any

from proxy.direct import (
    ANTHROPIC_PREFIX,
    PREFIX,
    Answer,
    DirectOpenAI,
    ProviderError,
    RawStream,
    eligible,
    provider_headers,
)
from proxy.errors import (
    NotFound,
    SelfmodelError,
    UpstreamError,
    provider_key_missing,
    upstream_failed,
    upstream_timeout,
    upstream_unreachable,
)
from proxy.streaming import DONE, sse

if TYPE_CHECKING:
    from proxy.config import ModelEntry

# Keys litellm adds to OpenAI's shapes when the provider did not send them.
_LITELLM_ADDED = {"provider_specific_fields"}
_LITELLM_ADDED_WHEN_NULL = {
    "function_call",
    "tool_calls",
    "audio",
    "reasoning_content",
    "thinking_blocks",
    "completion_tokens_details",
    "prompt_tokens_details",
    "images",
    "annotations",
    "service_tier",
    "system_fingerprint",
    "citations",
}
# OpenAI parameters litellm consumes itself instead of sending on.
_SEND_IN_BODY = {"user"}


def _clean(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            key: _clean(item)
            for key, item in value.items()
            if key not in _LITELLM_ADDED
            and not (item is None and key in _LITELLM_ADDED_WHEN_NULL)
            and not key.startswith("_")
        }
    if isinstance(value, list):
        return [_clean(item) for item in value]
    return value


def to_openai_dict(response: Any) -> dict[str, Any]:
    """A litellm response object as the plain OpenAI-shaped dict a client expects."""
    return _clean(response.model_dump())


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in seen:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


def _litellm_headers(source: Any) -> dict[str, str]:
    """The allow-listed provider headers litellm kept (as `llm_provider-<name>` or raw)."""
    raw = source if isinstance(source, Mapping) else {}
    plain = {str(k).removeprefix("llm_provider-"): str(v) for k, v in raw.items()}
    return provider_headers(plain)


def _provider_fields(exc: BaseException) -> dict[str, Any]:
    """The provider's own error object, when the exception carries the provider's body."""
    body = getattr(exc, "body", None)
    if isinstance(body, Mapping):
        error = body.get("error", body)
        if isinstance(error, Mapping) and ("type" in error or "code" in error):
            return dict(error)
    response = getattr(exc, "response", None)
    content = getattr(response, "content", None)
    if isinstance(content, bytes | bytearray) and content:
        try:
            parsed = json.loads(content)
        except ValueError:
            return {}
        error = parsed.get("error") if isinstance(parsed, dict) else None
        if isinstance(error, dict):
            return error
    return {}


def map_exception(exc: BaseException) -> SelfmodelError:
    """A litellm failure as the provider's own error, decided by the exception's type.

    litellm's exceptions subclass the openai SDK's, whatever the provider: the status and the
    kind come from the class; `type`, `code` and `param` from the provider's error body when
    litellm kept it, else the provider convention for that class (`_DEFAULTS`).
    """
    import httpx
    import openai

    chain = _chain(exc)
    message = str(getattr(exc, "message", None) or exc or type(exc).__name__)
    if any(
        isinstance(e, openai.APITimeoutError | httpx.TimeoutException | TimeoutError) for e in chain
    ):
        return upstream_timeout(message)
    if any(isinstance(e, openai.APIConnectionError | httpx.TransportError) for e in chain):
        return upstream_unreachable(message)
    status_error = next((e for e in chain if isinstance(e, openai.APIStatusError)), None)
    if status_error is None:
        if any(type(e) is openai.OpenAIError for e in chain):
            # The SDK refused to build a client: its only such failure is a missing API key.
            return provider_key_missing()
        return upstream_failed(message)
    status = status_error.status_code if 400 <= status_error.status_code < 600 else 502
    kind = next((d for cls, d in _defaults() if isinstance(status_error, cls)), ("api_error", None))
    fields = _provider_fields(status_error)
    body = {
        "error": {
            "message": str(fields.get("message") or message),
            "type": str(fields.get("type") or kind[0]),
            "param": fields["param"] if isinstance(fields.get("param"), str) else None,
            "code": fields["code"] if isinstance(fields.get("code"), str) else kind[1],
        }
    }
    headers = _litellm_headers(getattr(status_error, "litellm_response_headers", None))
    return ProviderError(Answer(status, json.dumps(body).encode(), headers))


def _defaults() -> list[tuple[type[BaseException], tuple[str, str | None]]]:
    """OpenAI's `type` and `code` per exception class, most specific first."""
    import litellm
    import openai

    return [
        (litellm.ContextWindowExceededError, ("invalid_request_error", "context_length_exceeded")),
        (
            litellm.ContentPolicyViolationError,
            ("invalid_request_error", "content_policy_violation"),
        ),
        (openai.BadRequestError, ("invalid_request_error", None)),
        (openai.AuthenticationError, ("invalid_request_error", "invalid_api_key")),
        (openai.PermissionDeniedError, ("invalid_request_error", None)),
        (openai.NotFoundError, ("invalid_request_error", None)),
        (openai.UnprocessableEntityError, ("invalid_request_error", None)),
        (openai.RateLimitError, ("requests", "rate_limit_exceeded")),
        (openai.InternalServerError, ("server_error", None)),
    ]


class Upstream:
    """Calls the provider of a configured model for one of the APIs in `APIS`.

    `complete` answers a whole call (`Answer`, the body as the provider sent it on the direct
    path); `open_stream` starts a streamed one (`RawStream`). A provider's error raises
    `ProviderError` carrying its answer; a failure to reach it, `UpstreamError`.
    """

    def __init__(self, models: list[ModelEntry], timeout: float, direct: bool = True) -> None:
        self._models = models
        self._timeout = timeout
        self._litellm: Any = None
        # Providers that speak the client's API skip litellm (see `proxy.direct`).
        self._direct = DirectOpenAI(timeout) if direct else None

    async def aclose(self) -> None:
        if self._direct is not None:
            await self._direct.aclose()

    def _direct_params(
        self, entry: ModelEntry, body: dict[str, Any], api: str = "chat"
    ) -> dict[str, Any] | None:
        if self._direct is None:
            return None
        params = self._params(entry, body)
        return (
            params if eligible(params, ANTHROPIC_PREFIX if api == "messages" else PREFIX) else None
        )

    @property
    def names(self) -> list[str]:
        return [entry.model_name for entry in self._models]

    def resolve(self, name: str) -> ModelEntry:
        for entry in self._models:
            if entry.model_name == name:
                return entry
        for entry in self._models:
            if any(ch in entry.model_name for ch in "*?[") and fnmatch.fnmatchcase(
                name, entry.model_name
            ):
                return entry
        raise NotFound(
            f"The model `{name}` does not exist or is not configured.",
            param="model",
            code="model_not_found",
        )

    def provider_model(self, entry: ModelEntry, name: str) -> str:
        """The litellm model an entry calls for the requested name (`openai/gpt-4o`)."""
        return str(self._params(entry, {"model": name})["model"])

    def _lib(self) -> Any:
        if self._litellm is None:
            import logging

            import litellm

            litellm.suppress_debug_info = True
            # litellm logs every call at INFO; our own access metrics cover that.
            for name in ("LiteLLM", "LiteLLM Router", "LiteLLM Proxy"):
                logging.getLogger(name).setLevel(logging.WARNING)
            self._litellm = litellm
        return self._litellm

    def needs_litellm(self) -> bool:
        """Whether some configured model goes through litellm rather than the direct path."""
        return any(
            self._direct_params(entry, {"model": entry.model_name}) is None
            for entry in self._models
        )

    def warm_up(self) -> None:
        # Import litellm at start, not on the first request, but only if a model needs it:
        # it costs ~3 s and ~160 MB of RSS, which a proxy whose models all speak OpenAI's
        # API never pays (an extraction model outside model_list still loads it on first use).
        if self.needs_litellm():
            self._lib()

    @staticmethod
    def _params(entry: ModelEntry, body: dict[str, Any]) -> dict[str, Any]:
        params = entry.litellm_params.model_dump(exclude_none=True)
        if "*" in params["model"]:
            params["model"] = params["model"].replace("*", body["model"])
        return params

    def _call_args(
        self, api: str, entry: ModelEntry, body: dict[str, Any], client_key: str | None
    ) -> dict[str, Any]:
        params = self._params(entry, body)
        params.setdefault("max_retries", 0)
        params.setdefault("timeout", self._timeout)
        if entry.forward_client_key and client_key:
            params["api_key"] = client_key
        args = {key: value for key, value in body.items() if key != "model"}
        if api == "chat":
            extra_body = dict(args.pop("extra_body", None) or {})
            for key in _SEND_IN_BODY & args.keys():
                extra_body[key] = args.pop(key)
            if extra_body:
                args["extra_body"] = extra_body
        return {**args, **params}

    async def _call(self, api: str, args: dict[str, Any]) -> Any:
        litellm = self._lib()
        call = {
            "chat": litellm.acompletion,
            "responses": litellm.aresponses,
            "embeddings": litellm.aembedding,
            "messages": litellm.anthropic.messages.acreate,
        }[api]
        try:
            return await call(**args)
        except SelfmodelError:
            raise
        except Exception as exc:
            raise map_exception(exc) from None

    async def complete(
        self,
        entry: ModelEntry,
        body: dict[str, Any],
        client_key: str | None = None,
        api: str = "chat",
        client_headers: Mapping[str, str] | None = None,
    ) -> Answer:
        direct = self._direct_params(entry, body, api)
        if direct is not None and self._direct is not None:
            return await self._direct.complete(api, entry, direct, body, client_key, client_headers)
        response = await self._call(api, self._call_args(api, entry, body, client_key))
        data = response if isinstance(response, dict) else to_openai_dict(response)
        hidden = getattr(response, "_hidden_params", None) or {}
        return Answer(
            200,
            json.dumps(data, separators=(",", ":")).encode(),
            _litellm_headers(hidden.get("additional_headers")),
            data,
        )

    async def complete_text(
        self, model: str, messages: list[dict[str, Any]], response_format: dict[str, Any] | None
    ) -> str:
        """One call for the extraction LLM: `model` is a configured name or a litellm model.

        Structured output is asked for first; a provider that rejects `response_format`
        gets the same call once more without it (the reply is validated either way).
        """
        try:
            entry = self.resolve(model)
        except NotFound:
            from proxy.config import LiteLLMParams, ModelEntry

            entry = ModelEntry(model_name=model, litellm_params=LiteLLMParams(model=model))
        body: dict[str, Any] = {"model": model, "messages": messages, "temperature": 0}
        if response_format is not None:
            try:
                answer = await self.complete(entry, {**body, "response_format": response_format})
                return _text(answer.json())
            except UpstreamError as exc:
                if exc.status not in (400, 422):
                    raise
        return _text((await self.complete(entry, body)).json())

    async def open_stream(
        self,
        entry: ModelEntry,
        body: dict[str, Any],
        client_key: str | None = None,
        api: str = "chat",
        client_headers: Mapping[str, str] | None = None,
    ) -> RawStream:
        """Start a streaming call; errors before the first chunk raise here."""
        direct = self._direct_params(entry, body, api)
        if direct is not None and self._direct is not None:
            return await self._direct.open_stream(
                api, entry, direct, body, client_key, client_headers
            )
        stream = await self._call(api, self._call_args(api, entry, body, client_key))
        relay = {"chat": _chat_frames, "responses": _response_frames, "messages": _byte_frames}
        return RawStream({}, relay[api](stream))


def _text(response: dict[str, Any]) -> str:
    choices = response.get("choices") or []
    content = (choices[0].get("message") or {}).get("content") if choices else None
    return content if isinstance(content, str) else ""


async def _frames(stream: Any, encode: Any) -> AsyncIterator[Any]:
    """litellm's stream as SSE bytes; its failures mapped like a whole call's."""
    try:
        async for item in stream:
            yield encode(item)
    except SelfmodelError:
        raise
    except Exception as exc:
        raise map_exception(exc) from None
    finally:
        close = getattr(stream, "aclose", None)
        if close is not None:
            # Closing a dead stream must not mask the cause.
            with contextlib.suppress(Exception):
                await close()


async def _chat_frames(stream: Any) -> AsyncIterator[bytes]:
    finished = False
    async for frame in _frames(stream, lambda chunk: to_openai_dict(chunk)):
        finished = finished or any(c.get("finish_reason") for c in frame.get("choices") or [])
        yield sse(frame)
    if finished:  # litellm saw the answer end: end the wire as OpenAI does
        yield DONE


async def _response_frames(stream: Any) -> AsyncIterator[bytes]:
    async for event in _frames(stream, lambda e: e.model_dump(exclude_none=True)):
        yield sse(event, event=event.get("type"))


async def _byte_frames(stream: Any) -> AsyncIterator[bytes]:
    async for data in _frames(stream, lambda b: b if isinstance(b, bytes) else str(b).encode()):
        yield data
