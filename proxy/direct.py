"""Forwarding to providers that already speak the client's API, without litellm.

litellm is our adapter to every provider, and it costs about 4 ms of CPU per call here (logging
objects, cost lookups, re-validating the response into its own types), most of what the proxy
adds to a request. A model configured as `openai/...` needs no translation for Chat Completions,
the Responses API or embeddings, nor an `anthropic/...` model for Anthropic's Messages API: the
client's body goes to the provider as it came (with the provider's model name), and the
provider's answer comes back byte for byte as it was sent: body, status, error and the
allow-listed headers (`PASSED_HEADERS`). An entry with parameters only litellm understands, or
with retries, still goes through litellm; `server.direct_openai: false` sends every call
through it.
"""

from __future__ import annotations

import json
import os
import urllib.request
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from importlib import metadata
from typing import TYPE_CHECKING, Any

import aiohttp

from proxy.errors import (
    SelfmodelError,
    UpstreamError,
    provider_key_missing,
    upstream_timeout,
    upstream_unreachable,
)

if TYPE_CHECKING:
    from proxy.config import ModelEntry


def _version() -> str:
    try:
        return metadata.version("selfmodel")
    except metadata.PackageNotFoundError:
        return "dev"


USER_AGENT = f"selfmodel/{_version()}"
PREFIX = "openai/"
ANTHROPIC_PREFIX = "anthropic/"
DEFAULT_BASE = "https://api.openai.com/v1"
ANTHROPIC_BASE = "https://api.anthropic.com"
ANTHROPIC_VERSION = "2023-06-01"
# The provider's path per API, below its base URL.
OPENAI_PATHS = {"chat": "/chat/completions", "responses": "/responses", "embeddings": "/embeddings"}
# What a direct call knows how to honour; any other litellm parameter means litellm's path.
UNDERSTOOD = {
    "model",
    "api_base",
    "api_key",
    "timeout",
    "max_retries",
    "organization",
    "extra_headers",
}
# Provider response headers a client may act on (retry timing, rate limits, support ids);
# hop-by-hop and transport headers are never among them.
PASSED_HEADERS = frozenset(
    {"retry-after", "retry-after-ms", "x-request-id", "openai-processing-ms", "request-id"}
)
PASSED_PREFIXES = ("x-ratelimit-", "anthropic-ratelimit-")


def provider_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """The allow-listed headers of a provider's answer, lower-cased."""
    kept: dict[str, str] = {}
    for name, value in headers.items():
        low = name.lower()
        if low in PASSED_HEADERS or low.startswith(PASSED_PREFIXES):
            kept[low] = value
    return kept


@dataclass
class Answer:
    """A provider's whole answer: the body as sent, its status and the passed headers."""

    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)
    _data: Any = None

    def json(self) -> dict[str, Any]:
        """The body parsed (once); an answer that is not a JSON object is a bad response."""
        if self._data is None:
            try:
                self._data = json.loads(self.body)
            except ValueError:
                self._data = False
        if not isinstance(self._data, dict):
            raise UpstreamError(
                "upstream answered with something that is not a JSON object",
                code="upstream_bad_response",
            )
        return self._data


class ProviderError(UpstreamError):
    """The provider answered with an error: the client gets that answer exactly as sent."""

    def __init__(self, answer: Answer) -> None:
        error = _error_fields(answer.body)
        message = error.get("message")
        text = answer.body.decode("utf-8", "replace").strip()
        super().__init__(
            message if isinstance(message, str) else text or f"HTTP {answer.status}",
            status=answer.status,
            type=error["type"] if isinstance(error.get("type"), str) else "upstream_error",
            code=error["code"] if isinstance(error.get("code"), str) else None,
            param=error["param"] if isinstance(error.get("param"), str) else None,
        )
        self.answer = answer


def _error_fields(body: bytes) -> dict[str, Any]:
    try:
        error = json.loads(body).get("error")
    except (ValueError, AttributeError):
        return {}
    if isinstance(error, str):
        return {"message": error}
    return error if isinstance(error, dict) else {}


def eligible(params: dict[str, Any], prefix: str = PREFIX) -> bool:
    """Whether a model entry's (resolved) litellm parameters can be served directly."""
    return (
        str(params.get("model", "")).startswith(prefix)
        and not (params.keys() - UNDERSTOOD)
        and not params.get("max_retries")
        and isinstance(params.get("extra_headers", {}), dict)
    )


def _base_url(params: dict[str, Any]) -> str:
    # The order litellm's OpenAI provider follows, so either path calls the same place.
    base = (
        params.get("api_base")
        or os.environ.get("OPENAI_BASE_URL")
        or os.environ.get("OPENAI_API_BASE")
        or DEFAULT_BASE
    )
    return str(base).rstrip("/")


def _anthropic_url(params: dict[str, Any]) -> str:
    # As litellm reads an Anthropic api_base: the host, or the full messages URL.
    base = str(
        params.get("api_base") or os.environ.get("ANTHROPIC_API_BASE") or ANTHROPIC_BASE
    ).rstrip("/")
    if base.endswith("/messages"):
        return base
    return base + ("/messages" if base.endswith("/v1") else "/v1/messages")


def _payload(model: str, body: dict[str, Any]) -> bytes:
    payload = {**body, "model": model}
    # A literal `extra_body` is merged into the body, as litellm and the openai SDK do.
    extra = payload.pop("extra_body", None)
    if isinstance(extra, dict):
        payload.update(extra)
    return json.dumps(payload, separators=(",", ":")).encode()


def _failure(exc: BaseException) -> SelfmodelError:
    # aiohttp's read and connect timeouts subclass TimeoutError.
    if isinstance(exc, TimeoutError):
        return upstream_timeout(str(exc) or type(exc).__name__)
    return upstream_unreachable(str(exc) or type(exc).__name__)


@dataclass
class RawStream:
    """A provider's streamed answer: its passed headers and its body, chunk by chunk."""

    headers: dict[str, str]
    chunks: AsyncIterator[bytes]


class DirectOpenAI:
    """One pooled HTTP client for all direct calls; `aclose()` at shutdown.

    aiohttp rather than httpx: measured against the same local upstream, a call cost 0.17 ms of
    CPU and 0.3 ms of latency with aiohttp, 0.7 ms and 0.77 ms with httpx's pool.
    """

    def __init__(self, timeout: float) -> None:
        self._timeout = timeout
        self._session: aiohttp.ClientSession | None = None
        self._proxies: dict[str, str | None] = {}

    def _client(self) -> aiohttp.ClientSession:
        # A session belongs to the event loop it was made in: make it on first use, in the loop.
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=0, limit_per_host=0),
                # Proxies come from `_proxy_for`: aiohttp's trust_env re-reads the environment
                # and ~/.netrc on every request (measured +0.5 ms of CPU per call).
                trust_env=False,
                auto_decompress=True,
            )
        return self._session

    def _proxy_for(self, url: str) -> str | None:
        """The HTTP(S)_PROXY that applies to `url` unless NO_PROXY exempts it, as httpx and
        requests decide; looked up once per provider address."""
        if url not in self._proxies:
            scheme, _, rest = url.partition("://")
            host = rest.split("/", 1)[0]
            proxies = urllib.request.getproxies_environment()
            bypass = urllib.request.proxy_bypass_environment(host, proxies)  # type: ignore[attr-defined]
            self._proxies[url] = None if bypass else proxies.get(scheme.lower())
        return self._proxies[url]

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _timeouts(self, params: dict[str, Any]) -> aiohttp.ClientTimeout:
        seconds = float(params.get("timeout") or self._timeout)
        # Per step, not per call: a long stream is fine as long as the provider keeps sending.
        return aiohttp.ClientTimeout(total=None, connect=seconds, sock_read=seconds)

    @staticmethod
    def _key(entry: ModelEntry, params: dict[str, Any], client_key: str | None, env: str) -> str:
        key = (
            client_key
            if entry.forward_client_key and client_key
            else params.get("api_key") or os.environ.get(env)
        )
        if not key:
            raise provider_key_missing()
        return str(key)

    def _request(
        self,
        api: str,
        entry: ModelEntry,
        params: dict[str, Any],
        client_key: str | None,
        client_headers: Mapping[str, str] | None,
    ) -> tuple[str, dict[str, str], str]:
        """URL, headers and the provider's model name of a call to `api`."""
        model = str(params["model"])
        if api == "messages":
            auth = {
                "x-api-key": self._key(entry, params, client_key, "ANTHROPIC_API_KEY"),
                "anthropic-version": ANTHROPIC_VERSION,
            }
            url, model = _anthropic_url(params), model[len(ANTHROPIC_PREFIX) :]
        else:
            key = self._key(entry, params, client_key, "OPENAI_API_KEY")
            auth = {"Authorization": f"Bearer {key}"}
            url, model = _base_url(params) + OPENAI_PATHS[api], model[len(PREFIX) :]
        headers = {
            **auth,
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            **(client_headers or {}),
            **{str(k): str(v) for k, v in (params.get("extra_headers") or {}).items()},
        }
        if api != "messages" and params.get("organization"):
            headers["OpenAI-Organization"] = str(params["organization"])
        return url, headers, model

    async def _send(
        self,
        api: str,
        entry: ModelEntry,
        params: dict[str, Any],
        body: dict[str, Any],
        client_key: str | None,
        client_headers: Mapping[str, str] | None,
    ) -> aiohttp.ClientResponse:
        url, headers, model = self._request(api, entry, params, client_key, client_headers)
        try:
            response = await self._client().post(
                url,
                data=_payload(model, body),
                headers=headers,
                timeout=self._timeouts(params),
                proxy=self._proxy_for(url),
            )
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise _failure(exc) from None
        if response.status >= 400:
            try:
                text = await response.read()
            except (TimeoutError, aiohttp.ClientError):
                text = b""
            finally:
                response.release()
            raise ProviderError(Answer(response.status, text, provider_headers(response.headers)))
        return response

    async def complete(
        self,
        api: str,
        entry: ModelEntry,
        params: dict[str, Any],
        body: dict[str, Any],
        client_key: str | None,
        client_headers: Mapping[str, str] | None = None,
    ) -> Answer:
        response = await self._send(api, entry, params, body, client_key, client_headers)
        try:
            text = await response.read()
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise _failure(exc) from None
        finally:
            response.release()
        return Answer(response.status, text, provider_headers(response.headers))

    async def open_stream(
        self,
        api: str,
        entry: ModelEntry,
        params: dict[str, Any],
        body: dict[str, Any],
        client_key: str | None,
        client_headers: Mapping[str, str] | None = None,
    ) -> RawStream:
        """Start a streaming call; errors before the first byte raise here."""
        response = await self._send(api, entry, params, body, client_key, client_headers)
        return RawStream(provider_headers(response.headers), _chunks(response))


async def _chunks(response: aiohttp.ClientResponse) -> AsyncIterator[bytes]:
    """The body as it arrives; a connection the provider drops raises `UpstreamError`."""
    try:
        async for data in response.content.iter_any():
            yield data
    except (TimeoutError, aiohttp.ClientError) as exc:
        raise _failure(exc) from None
    finally:
        # Ended early (the client left): drop the connection rather than drain the stream.
        if response.content.at_eof():
            response.release()
        else:
            response.close()
