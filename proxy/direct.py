"""Forwarding to providers that already speak OpenAI's chat API, without litellm.

litellm is our adapter to every provider, and it costs about 4 ms of CPU per call here (logging
objects, cost lookups, re-validating the response into its own types), most of what the proxy
adds to a request. A model configured as `openai/...` needs no translation: the client's body
goes to the provider as it came (with the provider's model name), and the provider's answer
comes back as it was sent, which is also more faithful (litellm rewrites `created` in stream
chunks and adds fields of its own). An entry with parameters only litellm understands, or with
retries, still goes through litellm; `server.direct_openai: false` sends every call through it.
"""

from __future__ import annotations

import json
import os
import urllib.request
from collections.abc import AsyncIterator
from importlib import metadata
from typing import TYPE_CHECKING, Any

import aiohttp

from proxy.errors import (
    SelfmodelError,
    UpstreamError,
    provider_key_missing,
    upstream_status_error,
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
DEFAULT_BASE = "https://api.openai.com/v1"
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


def eligible(params: dict[str, Any]) -> bool:
    """Whether a model entry's (resolved) litellm parameters can be served directly."""
    return (
        str(params.get("model", "")).startswith(PREFIX)
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


def _payload(params: dict[str, Any], body: dict[str, Any]) -> bytes:
    payload = {**body, "model": params["model"][len(PREFIX) :]}
    # A literal `extra_body` is merged into the body, as litellm and the openai SDK do.
    extra = payload.pop("extra_body", None)
    if isinstance(extra, dict):
        payload.update(extra)
    return json.dumps(payload, separators=(",", ":")).encode()


def _error_of(status: int, reason: str | None, text: bytes) -> UpstreamError:
    message = text.decode("utf-8", "replace").strip() or reason or f"HTTP {status}"
    try:
        error = json.loads(text).get("error")
    except (ValueError, AttributeError):
        error = None
    if isinstance(error, dict) and isinstance(error.get("message"), str):
        message = error["message"]
    elif isinstance(error, str):
        message = error
    return upstream_status_error(message, status)


def _failure(exc: BaseException) -> SelfmodelError:
    # aiohttp's read and connect timeouts subclass TimeoutError.
    if isinstance(exc, TimeoutError):
        return upstream_timeout(str(exc) or type(exc).__name__)
    return upstream_unreachable(str(exc) or type(exc).__name__)


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

    def _headers(
        self, entry: ModelEntry, params: dict[str, Any], client_key: str | None
    ) -> dict[str, str]:
        key = (
            client_key
            if entry.forward_client_key and client_key
            else params.get("api_key") or os.environ.get("OPENAI_API_KEY")
        )
        if not key:
            raise provider_key_missing()
        headers = {
            "Authorization": f"Bearer {key}",
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            **{str(k): str(v) for k, v in (params.get("extra_headers") or {}).items()},
        }
        if params.get("organization"):
            headers["OpenAI-Organization"] = str(params["organization"])
        return headers

    async def _send(
        self,
        entry: ModelEntry,
        params: dict[str, Any],
        body: dict[str, Any],
        client_key: str | None,
    ) -> aiohttp.ClientResponse:
        headers = self._headers(entry, params, client_key)
        base = _base_url(params)
        try:
            response = await self._client().post(
                f"{base}/chat/completions",
                data=_payload(params, body),
                headers=headers,
                timeout=self._timeouts(params),
                proxy=self._proxy_for(base),
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
            raise _error_of(response.status, response.reason, text)
        return response

    async def complete(
        self,
        entry: ModelEntry,
        params: dict[str, Any],
        body: dict[str, Any],
        client_key: str | None,
    ) -> dict[str, Any]:
        response = await self._send(entry, params, body, client_key)
        try:
            text = await response.read()
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise _failure(exc) from None
        finally:
            response.release()
        try:
            data = json.loads(text)
        except ValueError:
            data = None
        if not isinstance(data, dict):
            raise UpstreamError(
                "upstream answered with something that is not a JSON object",
                code="upstream_bad_response",
            )
        return data

    async def open_stream(
        self,
        entry: ModelEntry,
        params: dict[str, Any],
        body: dict[str, Any],
        client_key: str | None,
    ) -> AsyncIterator[dict[str, Any]]:
        """Start a streaming call; errors before the first chunk raise here."""
        return _events(await self._send(entry, params, body, client_key))


async def _lines(response: aiohttp.ClientResponse) -> AsyncIterator[str]:
    # Split by hand: aiohttp's own line reader refuses lines over 512 KiB, and one SSE event
    # (a large tool-call argument, a whole answer from a provider that does not really stream)
    # can be longer than that.
    parts: list[bytes] = []  # of a line not finished yet; joined once, when it is
    async for data in response.content.iter_any():
        *complete, rest = data.split(b"\n")
        for piece in complete:
            line = b"".join([*parts, piece])
            parts.clear()
            yield line.rstrip(b"\r").decode("utf-8", "replace")
        parts.append(rest)
    if any(parts):
        yield b"".join(parts).rstrip(b"\r").decode("utf-8", "replace")


async def _events(response: aiohttp.ClientResponse) -> AsyncIterator[dict[str, Any]]:
    """The `data:` events of an OpenAI stream, parsed, up to `[DONE]`."""
    try:
        async for line in _lines(response):
            if not line.startswith("data:"):
                continue  # blank separators, `:` keep-alive comments, event names
            data = line[5:].strip()
            if data == "[DONE]":
                return
            try:
                chunk = json.loads(data)
            except ValueError:
                raise UpstreamError(
                    "upstream sent a stream event that is not JSON", code="upstream_bad_response"
                ) from None
            if isinstance(chunk, dict) and isinstance(chunk.get("error"), dict):
                error = chunk["error"]
                raise UpstreamError(
                    f"upstream failed mid-stream: {error.get('message')}", code="upstream_error"
                )
            yield chunk
    except SelfmodelError:
        raise
    except (TimeoutError, aiohttp.ClientError) as exc:
        raise _failure(exc) from None
    finally:
        # Ended early (the client left): drop the connection rather than drain the stream.
        if response.content.at_eof():
            response.release()
        else:
            response.close()
