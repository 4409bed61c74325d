"""One access-log line per request, written when the response has been sent.

The middleware opens a per-request record in a context variable; the chat pipeline adds what
only it knows (tenant, user, model, injected count, latency split) through `note_record`. The
line never holds message text, belief text or keys; users appear as a short hash unless
`server.log_user_ids` is on (debugging).
"""

from __future__ import annotations

import hashlib
import logging
import time
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

from starlette.types import ASGIApp, Receive, Scope, Send

from proxy.logsetup import FIELDS
from proxy.middleware import ResponseStatus

if TYPE_CHECKING:
    from memory.ledger.audit import AuditRecord

log = logging.getLogger("selfmodel.access")

_current: ContextVar[dict[str, Any] | None] = ContextVar("selfmodel_access", default=None)
# Probes and scrapes are logged at debug level only: they would drown the requests.
QUIET_ROUTES = frozenset({"/healthz", "/readyz", "/metrics"})


def user_hash(tenant: str, user: str) -> str:
    """A stable pseudonym for correlating lines, not a secret (ids can be guessed)."""
    return "u_" + hashlib.sha256(f"{tenant}\x00{user}".encode()).hexdigest()[:12]


def note(**fields: Any) -> None:
    """Add fields to the current request's line (a no-op outside a request)."""
    current = _current.get()
    if current is not None:
        current.update(fields)


def note_record(record: AuditRecord) -> None:
    current = _current.get()
    if current is None:
        return
    user = None
    if record.user is not None:
        user = record.user if current.get("_raw_users") else user_hash(record.tenant, record.user)
    current.update(
        tenant=record.tenant,
        user=user,
        model=record.model,
        injected=len(record.injected),
        tokens=record.tokens,
        retrieve_ms=round(record.retrieve_ms, 2),
        render_ms=round(record.render_ms, 2),
        upstream_ms=round(record.upstream_ms, 2),
        degraded=record.degraded_reason is not None,
    )
    if record.status >= 400:
        current["upstream_status"] = record.status


def _text_line(fields: dict[str, Any]) -> str:
    head = (
        f"{fields['request_id']} {fields['method']} {fields['route']} {fields['status']} "
        f"{fields['ms']:.1f}ms"
    )
    rest = [
        f"{name}={fields[name]}"
        for name in (
            "tenant",
            "user",
            "model",
            "injected",
            "tokens",
            "retrieve_ms",
            "render_ms",
            "upstream_ms",
            "upstream_status",
        )
        if fields.get(name) is not None
    ]
    if fields.get("degraded"):
        rest.append("degraded=1")
    return " ".join([head, *rest])


class AccessLog:
    """Pure ASGI (streams pass through); sits inside `RequestContext`, which sets the id."""

    def __init__(self, app: ASGIApp, log_user_ids: bool = False) -> None:
        self.app = app
        self.log_user_ids = log_user_ids

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        fields: dict[str, Any] = {"_raw_users": self.log_user_ids}
        token = _current.set(fields)
        status = ResponseStatus(send)
        try:
            await self.app(scope, receive, status)
        finally:
            _current.reset(token)
            self._write(scope, status.code, (time.perf_counter() - started) * 1000, fields)

    @staticmethod
    def _write(scope: Scope, status: int, ms: float, fields: dict[str, Any]) -> None:
        # The route's template, never the raw path: paths carry user ids.
        route = getattr(scope.get("route"), "path", None) or "unmatched"
        level = logging.DEBUG if route in QUIET_ROUTES else logging.INFO
        if not log.isEnabledFor(level):
            return
        fields.pop("_raw_users", None)
        line = {
            "request_id": scope.get("state", {}).get("request_id"),
            "method": scope.get("method"),
            "route": route,
            "status": status,
            "ms": round(ms, 2),
            **fields,
        }
        if line.get("upstream_ms") is not None:
            line["overhead_ms"] = round(ms - line["upstream_ms"], 2)
        log.log(level, _text_line(line), extra={FIELDS: {"event": "access", **line}})
