"""`selfmodel mcp` driven by the official MCP client, over stdio and streamable HTTP, against a
real proxy: the tools reach the same self-model, keys and tenants as the HTTP API."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from typing import Any

import httpx
import pytest
from mcp import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client

from tests.fake_upstream import free_port

SELFMODEL = os.path.join(os.path.dirname(sys.executable), "selfmodel")

KEYS = {
    "auth": {
        "keys": [
            {"key": "sk-acme-key-1", "tenant": "acme", "name": "acme"},
            {"key": "sk-globex-key-2", "tenant": "globex", "name": "globex"},
        ]
    }
}


def _is_error(result: Any) -> bool:
    # mcp 2.x spells the fields in snake case, 1.x as the protocol does.
    return bool(getattr(result, "is_error", None) or getattr(result, "isError", None))


def _data(result: Any) -> Any:
    assert not _is_error(result), result.content
    structured = getattr(result, "structured_content", None) or getattr(
        result, "structuredContent", None
    )
    if structured is not None:
        return structured.get("result", structured)
    return json.loads(result.content[0].text)


async def _exercise(session: ClientSession, user_args: dict[str, str]) -> dict[str, Any]:
    await session.initialize()
    names = {tool.name for tool in (await session.list_tools()).tools}
    assert names >= {"recall", "remember", "correct", "retract", "list", "explain"}
    made = _data(
        await session.call_tool(
            "remember",
            {"statement": "Is allergic to peanuts.", "context": "constraints", **user_args},
        )
    )
    recalled = _data(
        await session.call_tool("recall", {"question": "What can I snack on?", **user_args})
    )
    listed = _data(await session.call_tool("list", {**user_args}))
    fixed = _data(
        await session.call_tool(
            "correct",
            {"belief_id": made["id"], "statement": "Is allergic to tree nuts.", **user_args},
        )
    )
    explained = _data(await session.call_tool("explain", {"belief_id": fixed["id"], **user_args}))
    retracted = _data(await session.call_tool("retract", {"belief_id": fixed["id"], **user_args}))
    missing = await session.call_tool("explain", {"belief_id": "nope", **user_args})
    return {
        "made": made,
        "recalled": recalled,
        "listed": listed,
        "fixed": fixed,
        "explained": explained,
        "retracted": retracted,
        "missing": missing,
    }


def _check(out: dict[str, Any]) -> None:
    assert out["made"]["statement"] == "Is allergic to peanuts."
    assert [b["statement"] for b in out["recalled"]["beliefs"]] == ["Is allergic to peanuts."]
    assert "peanuts" in out["recalled"]["rendered"]
    assert [b["id"] for b in out["listed"]["beliefs"]] == [out["made"]["id"]]
    assert out["fixed"]["statement"] == "Is allergic to tree nuts."
    assert out["explained"]["evidence"] and "history" in out["explained"]
    assert out["retracted"]["status"] == "retracted"
    assert _is_error(out["missing"])


def _env() -> dict[str, str]:
    return {**os.environ, "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost"}


def test_stdio_tools_work_on_the_keys_tenant(make_proxy):
    proxy = make_proxy(KEYS)
    params = StdioServerParameters(
        command=SELFMODEL,
        args=["--url", proxy.url, "--key", "sk-acme-key-1", "mcp", "--user", "ana"],
        env=_env(),
    )

    async def run() -> dict[str, Any]:
        async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
            return await _exercise(session, {})

    out = asyncio.run(run())
    _check(out)
    acme = httpx.get(
        proxy.url + "/v1/users/ana/beliefs", headers={"Authorization": "Bearer sk-acme-key-1"}
    ).json()
    statuses = {b["statement"]: b["status"] for b in acme["data"]}
    assert statuses == {
        "Is allergic to peanuts.": "superseded",
        "Is allergic to tree nuts.": "retracted",
    }
    globex = httpx.get(
        proxy.url + "/v1/users/ana/beliefs", headers={"Authorization": "Bearer sk-globex-key-2"}
    )
    assert globex.status_code == 404 or globex.json()["data"] == []  # never the other tenant's


@pytest.fixture
def mcp_http(make_proxy):
    proxy = make_proxy(KEYS)
    port = free_port()
    process = subprocess.Popen(
        [SELFMODEL, "--url", proxy.url, "mcp", "--http", str(port)],
        env=_env(),
    )
    url = f"http://127.0.0.1:{port}/mcp"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            httpx.get(url, timeout=1)
            break
        except httpx.HTTPError:
            time.sleep(0.1)
    yield proxy, url
    process.terminate()
    process.wait(timeout=10)


def test_streamable_http_passes_each_requests_key_and_user(mcp_http):
    proxy, url = mcp_http
    try:
        import httpx2 as client_http  # what mcp 2.x's transport is built on
    except ImportError:  # mcp 1.x
        client_http = httpx
    headers = {"Authorization": "Bearer sk-globex-key-2", "X-Selfmodel-User": "bo"}

    async def run() -> dict[str, Any]:
        async with (
            client_http.AsyncClient(headers=headers, timeout=30) as http,
            streamable_http_client(url, http_client=http) as streams,
            ClientSession(streams[0], streams[1]) as session,
        ):
            return await _exercise(session, {})

    out = asyncio.run(run())
    _check(out)
    globex = httpx.get(
        proxy.url + "/v1/users/bo/beliefs", headers={"Authorization": "Bearer sk-globex-key-2"}
    ).json()
    assert len(globex["data"]) == 2  # the corrected belief and the one it superseded


def test_a_bad_key_is_a_tool_error_not_a_crash(make_proxy):
    proxy = make_proxy(KEYS)
    params = StdioServerParameters(
        command=SELFMODEL,
        args=["--url", proxy.url, "--key", "sk-wrong", "mcp", "--user", "ana"],
        env=_env(),
    )

    async def run() -> Any:
        async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
            await session.initialize()
            return await session.call_tool("list", {})

    result = asyncio.run(run())
    assert _is_error(result) and "401" in result.content[0].text
