"""One error tree, answered in OpenAI's error shape.

    SelfmodelError (status, type, code)
    ├── BadRequest            400 invalid_request_error
    │   └── InvalidField      422 invalid_request_error
    ├── Unauthorized          401 authentication_error
    ├── Forbidden             403 permission_error
    ├── NotFound              404 not_found_error / model_not_found
    ├── Conflict              409 conflict_error
    ├── PayloadTooLarge       413 invalid_request_error
    ├── MemoryUnavailable     503 service_unavailable (fail-closed injection; the store
    │                         unavailable now: a transient database error, retry)
    ├── UpstreamError         status from the provider (4xx, 429, 5xx), 502, 504
    └── ConfigError           config.yaml is missing, malformed or off the schema (raised at
                              start-up and by the CLI, never in answer to a request)

The self-model's own errors (`memory.errors`) are mapped onto this tree by their type in
`from_memory`, in one handler. Every response body is
`{"error": {"message", "type", "param", "code"}}` and never carries a stack trace or a secret.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from memory.errors import (
    ConflictError,
    IndexMismatch,
    InvalidError,
    MemoryDegraded,
    MemoryFailure,
    MemoryFault,
    NotFoundError,
)
from memory.ledger.connections import INTEGRITY_ERRORS, TRANSIENT_ERRORS
from memory.ledger.pool import PoolExhausted

log = logging.getLogger("selfmodel.errors")


class SelfmodelError(Exception):
    status = 500
    type = "api_error"
    code: str | None = None

    def __init__(
        self,
        message: str,
        *,
        param: str | None = None,
        code: str | None = None,
        status: int | None = None,
        type: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.param = param
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status
        if type is not None:
            self.type = type

    def body(self) -> dict[str, object]:
        return {
            "error": {
                "message": self.message,
                "type": self.type,
                "param": self.param,
                "code": self.code,
            }
        }


class BadRequest(SelfmodelError):
    status = 400
    type = "invalid_request_error"


class InvalidField(BadRequest):
    status = 422


class Unauthorized(SelfmodelError):
    status = 401
    type = "authentication_error"
    code = "invalid_api_key"


class Forbidden(SelfmodelError):
    status = 403
    type = "permission_error"


class NotFound(SelfmodelError):
    status = 404
    type = "not_found_error"


class Conflict(SelfmodelError):
    status = 409
    type = "conflict_error"


class PayloadTooLarge(SelfmodelError):
    status = 413
    type = "invalid_request_error"
    code = "request_too_large"


class MemoryUnavailable(SelfmodelError):
    status = 503
    type = "service_unavailable"
    code = "memory_unavailable"


class UpstreamError(SelfmodelError):
    status = 502
    type = "upstream_error"


class ConfigError(SelfmodelError):
    """The config file is missing, malformed, or does not match the schema."""

    code = "invalid_config"


# The same failure reads the same whichever path (litellm or direct) met it.
_TYPE_OF_STATUS = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    422: "invalid_request_error",
    429: "rate_limit_error",
}


# URLs, IPv4/IPv6 addresses and host:port pairs: where the proxy's providers live is not the
# client's business (and in a private network it maps the network for an attacker).
_ADDRESS = re.compile(
    r"\b[a-z][a-z0-9+.-]*://[^\s'\"<>]+"
    r"|\b(?:\d{1,3}\.){3}\d{1,3}(?::\d+)?\b"
    r"|\[?[0-9a-f]*:[0-9a-f]*:[0-9a-f:]+\]?(?::\d+)?"
    r"|\b[a-z0-9-]+(?:\.[a-z0-9-]+)*:\d{2,5}\b",
    re.IGNORECASE,
)


def scrub_addresses(text: str) -> str:
    return _ADDRESS.sub("[address]", text)


def upstream_status_error(message: str, status: int) -> UpstreamError:
    """The provider's own error status, passed on to the client."""
    return UpstreamError(
        scrub_addresses(message),
        status=status,
        type=_TYPE_OF_STATUS.get(status, "api_error"),
        code=f"upstream_{status}",
    )


def upstream_failed(detail: str) -> UpstreamError:
    log.warning("upstream failed: %s", detail)
    return UpstreamError(
        f"upstream failed: {scrub_addresses(detail)}", status=502, code="upstream_error"
    )


def upstream_timeout(detail: str) -> UpstreamError:
    log.warning("upstream timed out: %s", detail)
    return UpstreamError(
        "upstream timed out: the provider did not answer in time",
        status=504,
        type="timeout_error",
        code="upstream_timeout",
    )


def upstream_unreachable(detail: str) -> UpstreamError:
    # The detail ("Cannot connect to host 10.0.0.7:8000 ...") goes to the log, not the client.
    log.warning("upstream unreachable: %s", detail)
    return UpstreamError(
        "upstream unreachable: could not connect to the provider",
        status=502,
        code="upstream_unreachable",
    )


def provider_key_missing() -> UpstreamError:
    return UpstreamError(
        "the provider needs an API key for this model: set the variable its "
        "`api_key` names in config.yaml (e.g. OPENAI_API_KEY), or use "
        "`forward_client_key: true`",
        status=401,
        type="authentication_error",
        code="provider_key_missing",
    )


def unsupported_endpoint(path: str) -> NotFound:
    """An API path no route serves (e.g. /v1/images/generations)."""
    return NotFound(f"{path} is not supported by selfmodel", code="unsupported_endpoint")


def error_response(error: SelfmodelError, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(error.body(), status_code=error.status, headers=headers)


def _validation_message(exc: RequestValidationError) -> tuple[str, str | None]:
    first = exc.errors()[0] if exc.errors() else {}
    loc = [str(part) for part in first.get("loc", ()) if part not in ("body", "query", "path")]
    param = ".".join(loc) or None
    return f"{param or 'request'}: {first.get('msg', 'invalid value')}", param


def _invalid(exc: MemoryFailure) -> SelfmodelError:
    return InvalidField(str(exc), param=getattr(exc, "param", None), code="invalid_field")


def _internal(exc: MemoryFailure) -> SelfmodelError:
    log.error("self-model failure: %s", exc, exc_info=exc)
    return SelfmodelError("internal error", code="internal_error")


# By type, the most specific first along the exception's MRO; never by name or message.
_FROM_MEMORY: dict[type[MemoryFailure], Callable[[MemoryFailure], SelfmodelError]] = {
    NotFoundError: lambda exc: NotFound(str(exc), code="not_found"),
    ConflictError: lambda exc: Conflict(str(exc), code="conflict"),
    InvalidError: _invalid,
    MemoryFault: lambda exc: SelfmodelError(str(exc)),
    IndexMismatch: lambda exc: SelfmodelError(str(exc), code="index_mismatch", status=500),
    MemoryDegraded: lambda exc: MemoryUnavailable(f"memory is unavailable: {exc}"),
    MemoryFailure: _internal,
}


def from_memory(exc: MemoryFailure) -> SelfmodelError:
    for kind in type(exc).__mro__:
        make = _FROM_MEMORY.get(kind)
        if make is not None:
            return make(exc)
    return _internal(exc)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(SelfmodelError)
    async def _ours(_: Request, exc: SelfmodelError) -> JSONResponse:
        return error_response(exc)

    async def _integrity(_: Request, exc: Exception) -> JSONResponse:
        # A concurrent change (a user forgotten while a write was in flight): nothing was
        # written by this request, which can be retried.
        log.info("write refused by a constraint: %s", exc)
        return error_response(
            Conflict("the user's self-model changed during this request; retry", code="conflict")
        )

    for integrity_error in INTEGRITY_ERRORS:  # SQLite's and PostgreSQL's
        app.add_exception_handler(integrity_error, _integrity)

    async def _transient(_: Request, exc: Exception) -> JSONResponse:
        # The store cannot answer now (unreachable, locked, every pooled connection busy):
        # nothing was written by this request, which can be retried.
        log.warning("store unavailable: %s", exc)
        why = f": {exc}" if isinstance(exc, PoolExhausted) else ""  # server errors name hosts
        return error_response(
            MemoryUnavailable(
                f"the self-model's store is unavailable right now; retry{why}",
                code="store_unavailable",
            ),
            headers={"Retry-After": "1"},
        )

    for transient_error in TRANSIENT_ERRORS:  # SQLite's and PostgreSQL's (a pool timeout too)
        app.add_exception_handler(transient_error, _transient)

    @app.exception_handler(MemoryFailure)
    async def _memory(_: Request, exc: MemoryFailure) -> JSONResponse:
        return error_response(from_memory(exc))

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        message, param = _validation_message(exc)
        if any(e.get("type") == "json_invalid" for e in exc.errors()):
            return error_response(BadRequest("request body is not valid JSON", code="invalid_json"))
        return error_response(InvalidField(message, param=param, code="invalid_field"))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 404 and request.url.path.startswith("/v1/"):
            return error_response(unsupported_endpoint(request.url.path))
        kinds: dict[int, type[SelfmodelError]] = {
            404: NotFound,
            401: Unauthorized,
            413: PayloadTooLarge,
        }
        kind = kinds.get(exc.status_code, SelfmodelError)
        return error_response(kind(str(exc.detail), status=exc.status_code))

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error")
        return error_response(SelfmodelError("internal error", code="internal_error"))
