"""The only caller of litellm: resolves a model name and calls the provider.

litellm is imported lazily (it costs seconds) and only after
`proxy.offline.configure_offline()` has pointed it at its bundled data.
Provider failures are mapped onto our error tree with the provider's status
and message, so a client sees a 429 as a 429.
"""

from __future__ import annotations

import contextlib
import fnmatch
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from proxy.direct import DirectOpenAI, eligible
from proxy.errors import (
    NotFound,
    SelfmodelError,
    UpstreamError,
    provider_key_missing,
    upstream_status_error,
    upstream_timeout,
    upstream_unreachable,
)

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


def map_exception(exc: Exception) -> SelfmodelError:
    names = {type(e).__name__ for e in _chain(exc)}
    message = getattr(exc, "message", None) or str(exc) or type(exc).__name__
    if names & {
        "Timeout",
        "APITimeoutError",
        "ReadTimeout",
        "ConnectTimeout",
        "TimeoutError",
        "PoolTimeout",
        "WriteTimeout",
    }:
        return upstream_timeout(message)
    if names & {"APIConnectionError", "ConnectError", "RemoteProtocolError"}:
        return upstream_unreachable(message)
    if "Missing credentials" in message or "api_key client option must be set" in message:
        return provider_key_missing()
    status = getattr(exc, "status_code", None)
    if isinstance(status, int) and 400 <= status < 600:
        return upstream_status_error(message, status)
    return UpstreamError(f"upstream failed: {message}", status=502, code="upstream_error")


class Upstream:
    def __init__(self, models: list[ModelEntry], timeout: float, direct: bool = True) -> None:
        self._models = models
        self._timeout = timeout
        self._litellm: Any = None
        # OpenAI-compatible providers skip litellm (see `proxy.direct`).
        self._direct = DirectOpenAI(timeout) if direct else None

    async def aclose(self) -> None:
        if self._direct is not None:
            await self._direct.aclose()

    def _direct_params(self, entry: ModelEntry, body: dict[str, Any]) -> dict[str, Any] | None:
        if self._direct is None:
            return None
        params = self._params(entry, body)
        return params if eligible(params) else None

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
        self, entry: ModelEntry, body: dict[str, Any], client_key: str | None
    ) -> dict[str, Any]:
        params = self._params(entry, body)
        params.setdefault("max_retries", 0)
        params.setdefault("timeout", self._timeout)
        if entry.forward_client_key and client_key:
            params["api_key"] = client_key
        args = {key: value for key, value in body.items() if key != "model"}
        extra_body = dict(args.pop("extra_body", None) or {})
        for key in _SEND_IN_BODY & args.keys():
            extra_body[key] = args.pop(key)
        if extra_body:
            args["extra_body"] = extra_body
        return {**args, **params}

    async def complete(
        self, entry: ModelEntry, body: dict[str, Any], client_key: str | None = None
    ) -> dict[str, Any]:
        direct = self._direct_params(entry, body)
        if direct is not None and self._direct is not None:
            return await self._direct.complete(entry, direct, body, client_key)
        litellm = self._lib()
        try:
            response = await litellm.acompletion(**self._call_args(entry, body, client_key))
        except SelfmodelError:
            raise
        except Exception as exc:
            raise map_exception(exc) from None
        return to_openai_dict(response)

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
                return _text(
                    await self.complete(entry, {**body, "response_format": response_format})
                )
            except UpstreamError as exc:
                if exc.status not in (400, 422):
                    raise
        return _text(await self.complete(entry, body))

    async def open_stream(
        self, entry: ModelEntry, body: dict[str, Any], client_key: str | None = None
    ) -> AsyncIterator[dict[str, Any]]:
        """Start a streaming call; errors before the first chunk raise here."""
        direct = self._direct_params(entry, body)
        if direct is not None and self._direct is not None:
            return await self._direct.open_stream(entry, direct, body, client_key)
        litellm = self._lib()
        try:
            stream = await litellm.acompletion(**self._call_args(entry, body, client_key))
        except Exception as exc:
            raise map_exception(exc) from None
        return _relay(stream)


def _text(response: dict[str, Any]) -> str:
    choices = response.get("choices") or []
    content = (choices[0].get("message") or {}).get("content") if choices else None
    return content if isinstance(content, str) else ""


async def _relay(stream: Any) -> AsyncIterator[dict[str, Any]]:
    try:
        async for chunk in stream:
            yield to_openai_dict(chunk)
    except Exception as exc:
        raise map_exception(exc) from None
    finally:
        close = getattr(stream, "aclose", None)
        if close is not None:
            # Closing a dead stream must not mask the cause.
            with contextlib.suppress(Exception):
                await close()
