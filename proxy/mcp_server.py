"""`selfmodel mcp`: the self-model as MCP tools for an agent (stdio or streamable HTTP).

The tools work through a running proxy's self-model API, like every other client command
(Chroma's embedded store belongs to the server's process): so `recall` is the proxy's own
preview, the very plan injection would make; `remember` goes through the belief API's checks;
keys and tenants are the proxy's. Over stdio the key is `--key` / `SELFMODEL_KEY`; over HTTP
each request's own `Authorization` (or `X-Selfmodel-Key`) header is passed on, so one MCP
server serves every tenant. The user is a tool argument, else `--user` / `SELFMODEL_USER`,
else (over HTTP) the request's `X-Selfmodel-User` header.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import httpx

try:  # mcp 2.x
    from mcp.server.mcpserver import Context, MCPServer
    from mcp.server.mcpserver.exceptions import ToolError
except ImportError:  # mcp 1.x names it FastMCP; the API used here is the same
    from mcp.server.fastmcp import Context  # type: ignore[no-redef,attr-defined]
    from mcp.server.fastmcp import FastMCP as MCPServer  # type: ignore[no-redef,attr-defined]
    from mcp.server.fastmcp.exceptions import (  # type: ignore[no-redef,import-not-found]
        ToolError,
    )

INSTRUCTIONS = (
    "A persistent self-model of the user you serve: beliefs about them, each with a computed "
    "confidence and the evidence behind it. Call `recall` with the user's question before "
    "answering; `remember` what the user states about themself; `correct` or `retract` a "
    "belief the user says is wrong; `explain` why a belief is held."
)
PASSED = ("authorization", "x-selfmodel-key", "x-selfmodel-tenant")


class ToolFailure(ToolError):
    """A proxy error, worded for the agent: the SDK answers it as the tool's error result."""


class SelfModelTools:
    """The proxy calls behind the tools; one per server, one HTTP pool."""

    def __init__(self, url: str, key: str | None, user: str | None) -> None:
        self.url = url.rstrip("/")
        self.key = key
        self.user = user
        self._client: httpx.AsyncClient | None = None
        self._default_model: str | None = None

    def client(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(base_url=self.url, timeout=60)
        return self._client

    def _headers(self, request_headers: Mapping[str, str] | None) -> dict[str, str]:
        headers = {k: v for k, v in (request_headers or {}).items() if k.lower() in PASSED}
        if self.key and not headers:
            headers["authorization"] = f"Bearer {self.key}"
        return headers

    def who(self, user: str | None, request_headers: Mapping[str, str] | None) -> str:
        found = user or self.user or (request_headers or {}).get("x-selfmodel-user")
        if not found:
            raise ToolFailure(
                "no user: pass `user`, or start the server with --user / SELFMODEL_USER"
            )
        return found

    async def call(
        self, method: str, path: str, request_headers: Mapping[str, str] | None, **kw: Any
    ) -> Any:
        try:
            response = await self.client().request(
                method, path, headers=self._headers(request_headers), **kw
            )
        except httpx.HTTPError as exc:
            raise ToolFailure(f"cannot reach the selfmodel proxy at {self.url}: {exc}") from None
        if response.status_code >= 400:
            try:
                message = response.json()["error"]["message"]
            except (ValueError, KeyError, TypeError):
                message = response.text
            raise ToolFailure(f"{response.status_code}: {message}")
        return response.json()

    async def model(self, request_headers: Mapping[str, str] | None) -> str:
        if self._default_model is None:
            listed = await self.call("GET", "/v1/models", request_headers)
            models = [m["id"] for m in listed.get("data") or []]
            if not models:
                raise ToolFailure("the proxy has no models configured")
            self._default_model = models[0]
        return self._default_model


def _headers_of(ctx: Any) -> Mapping[str, str] | None:
    """The HTTP request's headers (None over stdio), in either major version of the SDK."""
    if hasattr(ctx, "headers"):
        return ctx.headers
    request = getattr(ctx.request_context, "request", None)
    return getattr(request, "headers", None)


def _belief(data: Mapping[str, Any], full: bool = False) -> dict[str, Any]:
    keys: tuple[str, ...] = (
        "id",
        "statement",
        "context",
        "confidence",
        "status",
        "source",
        "version",
    )
    if full:
        keys += ("evidence", "history", "created", "updated", "supersedes", "superseded_by")
    return {k: data.get(k) for k in keys if k in data}


def build_server(tools: SelfModelTools) -> MCPServer:
    server: MCPServer = MCPServer(name="selfmodel", instructions=INSTRUCTIONS)

    def path(user: str, rest: str = "") -> str:
        return f"/v1/users/{quote(user, safe='')}/beliefs{rest}"

    @server.tool()
    async def recall(
        question: str, ctx: Context, user: str | None = None, model: str | None = None
    ) -> dict[str, Any]:
        """What the self-model holds about the user that bears on `question`: the beliefs
        the proxy would inject for it (same rules, ranking and budget), and the rendered
        block."""
        headers = _headers_of(ctx)
        who = tools.who(user, headers)
        body = {
            "model": model or await tools.model(headers),
            "messages": [{"role": "user", "content": question}],
        }
        plan = await tools.call(
            "POST", f"/v1/users/{quote(who, safe='')}/preview", headers, json=body
        )
        return {
            "user": who,
            "beliefs": [
                {k: b.get(k) for k in ("id", "statement", "context", "confidence", "score")}
                for b in plan.get("beliefs") or []
            ],
            "rendered": plan.get("rendered") or "",
        }

    @server.tool()
    async def remember(
        statement: str,
        context: str,
        ctx: Context,
        user: str | None = None,
        confidence: float | None = None,
    ) -> dict[str, Any]:
        """Record something the user said about themself, as a belief in `context` (e.g.
        constraints, preferences, communication_style); checked like the belief API."""
        headers = _headers_of(ctx)
        body: dict[str, Any] = {"statement": statement, "context": context}
        if confidence is not None:
            body["confidence"] = confidence
        created = await tools.call("POST", path(tools.who(user, headers)), headers, json=body)
        return _belief(created)

    @server.tool()
    async def correct(
        belief_id: str,
        ctx: Context,
        user: str | None = None,
        statement: str | None = None,
        confidence: float | None = None,
        context: str | None = None,
    ) -> dict[str, Any]:
        """Correct a belief the user says is wrong: its statement, confidence or context."""
        headers = _headers_of(ctx)
        fix = {
            k: v
            for k, v in (
                ("statement", statement),
                ("confidence", confidence),
                ("context", context),
            )
            if v is not None
        }
        if not fix:
            raise ToolFailure("nothing to correct: give statement, confidence or context")
        who = tools.who(user, headers)
        fixed = await tools.call("PATCH", path(who, f"/{quote(belief_id)}"), headers, json=fix)
        return _belief(fixed)

    @server.tool()
    async def retract(belief_id: str, ctx: Context, user: str | None = None) -> dict[str, Any]:
        """Retract a belief (kept in its history, never injected again)."""
        headers = _headers_of(ctx)
        who = tools.who(user, headers)
        return _belief(await tools.call("DELETE", path(who, f"/{quote(belief_id)}"), headers))

    @server.tool(name="list")
    async def list_beliefs(
        ctx: Context,
        user: str | None = None,
        context: str | None = None,
        query: str | None = None,
        limit: int = 20,
    ) -> dict[str, Any]:
        """The user's active beliefs, optionally in one context or nearest to `query`."""
        headers = _headers_of(ctx)
        params: dict[str, Any] = {"status": "active"}
        if context:
            params["context"] = context
        if query:
            params = {"q": query, "limit": limit}
        found = await tools.call("GET", path(tools.who(user, headers)), headers, params=params)
        return {"beliefs": [_belief(b) for b in (found.get("data") or [])[:limit]]}

    @server.tool()
    async def explain(belief_id: str, ctx: Context, user: str | None = None) -> dict[str, Any]:
        """Why the self-model believes this: the belief with its evidence (each piece's
        effect on the confidence) and its history."""
        headers = _headers_of(ctx)
        who = tools.who(user, headers)
        return _belief(await tools.call("GET", path(who, f"/{quote(belief_id)}"), headers), True)

    return server


def run(url: str, key: str | None, user: str | None, transport: str, host: str, port: int) -> None:
    import logging

    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per proxy call otherwise
    server = build_server(SelfModelTools(url, key, user))
    if transport == "stdio":
        server.run("stdio")
        return
    import uvicorn

    try:
        app = server.streamable_http_app(host=host)
    except TypeError:  # mcp 1.x takes its host from the server's settings
        app = server.streamable_http_app()
    uvicorn.run(app, host=host, port=port, log_level="warning")
