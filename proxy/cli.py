"""The `selfmodel` command.

`serve`, `reindex`, `doctor` and `eval` work on the store directly; the other
commands talk to a running proxy over HTTP (Chroma's embedded store belongs
to one process, so they never open it behind the server's back).
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import click

DEFAULT_URL = "http://127.0.0.1:4141"


def _fail(message: str) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(2)


def _load(path: str | None) -> Any:
    from proxy.config import ConfigError, load_config

    try:
        return load_config(path)
    except ConfigError as exc:
        _fail(str(exc))


class Api:
    def __init__(self, url: str, key: str | None) -> None:
        import httpx

        headers = {"Authorization": f"Bearer {key}"} if key else {}
        self.client = httpx.Client(base_url=url.rstrip("/"), headers=headers, timeout=60)

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        import httpx

        try:
            response = self.client.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            _fail(
                f"cannot reach the proxy at {self.client.base_url}: {exc} "
                "(start it with `selfmodel serve`, or pass --url)"
            )
        if response.status_code >= 400:
            try:
                message = response.json()["error"]["message"]
            except (ValueError, KeyError, TypeError):
                message = response.text
            _fail(f"{response.status_code}: {message}")
        return response.json()


def _print(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=False))


@click.group()
@click.option(
    "--url",
    envvar="SELFMODEL_URL",
    default=DEFAULT_URL,
    show_default=True,
    help="Base URL of a running proxy (for the commands that talk to it).",
)
@click.option(
    "--key", envvar="SELFMODEL_KEY", default=None, help="API key for the proxy (env SELFMODEL_KEY)."
)
@click.pass_context
def main(ctx: click.Context, url: str, key: str | None) -> None:
    """selfmodel: an OpenAI-compatible proxy with a persistent self-model of each user."""
    ctx.obj = {"url": url, "key": key}


def _api(ctx: click.Context) -> Api:
    return Api(ctx.obj["url"], ctx.obj["key"])


@main.command()
@click.option(
    "--config",
    "config_path",
    envvar="SELFMODEL_CONFIG",
    default=None,
    help="Path to config.yaml (env SELFMODEL_CONFIG).",
)
@click.option("--host", default=None, help="Bind address (default from config).")
@click.option("--port", type=int, default=None, help="Port (default from config).")
@click.option(
    "--allow-unauthenticated",
    is_flag=True,
    default=False,
    help="Serve on a non-loopback address without auth.keys (anyone reaching the port can "
    "read and change every user's self-model). Also `auth.allow_unauthenticated: true`.",
)
def serve(
    config_path: str | None, host: str | None, port: int | None, allow_unauthenticated: bool
) -> None:
    """Run the proxy."""
    import logging

    import uvicorn

    from proxy.app import create_app
    from proxy.maintenance import preflight

    _limit_malloc_arenas()
    config = _load(config_path)
    problem = preflight(config)
    if problem:
        _fail(problem)
    bind_host = host or config.server.host
    bind_port = port if port is not None else config.server.port
    logging.basicConfig(
        level=config.server.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if not config.auth.keys and not is_loopback(bind_host):
        if not (allow_unauthenticated or config.auth.allow_unauthenticated):
            _fail(
                f"refusing to listen on {bind_host} without auth.keys: anyone who can reach "
                "the port could read and change every user's self-model. Configure "
                "auth.keys, bind 127.0.0.1, or opt in with --allow-unauthenticated "
                "(auth.allow_unauthenticated: true)."
            )
        banner = "!" * 78
        for line in (
            banner,
            f"NO AUTH: unauthenticated access on {bind_host} was explicitly allowed.",
            "Anyone who can reach this port can read, change and delete every user's",
            "self-model and use the configured providers at your cost.",
            banner,
        ):
            logging.getLogger("selfmodel").warning(line)
            click.echo(line, err=True)
    uvicorn.run(
        create_app(config),
        host=bind_host,
        port=bind_port,
        log_level=config.server.log_level,
        access_log=False,
    )


def is_loopback(host: str) -> bool:
    """Whether `host` names only this machine (127.0.0.0/8, ::1, localhost)."""
    import ipaddress

    if host.lower() in ("localhost", "localhost."):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a hostname: it may resolve to a public address


@main.command()
@click.option(
    "--config",
    "config_path",
    envvar="SELFMODEL_CONFIG",
    default=None,
    help="Path to config.yaml (env SELFMODEL_CONFIG); the proxies' own.",
)
@click.option(
    "--concurrency",
    type=click.IntRange(1, 32),
    default=2,
    show_default=True,
    help="Extraction jobs this worker runs at once.",
)
def worker(config_path: str | None, concurrency: int) -> None:
    """Learn from the proxies' turns in a process of its own (no HTTP server).

    Run any number of them; proxies with `extraction.workers: 0` then only enqueue."""
    import asyncio
    import logging

    from proxy.worker import run

    _limit_malloc_arenas()
    config = _load(config_path)
    logging.basicConfig(
        level=config.server.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if not config.extraction.enabled:
        _fail("extraction.enabled is false in the config: a worker would have nothing to do")
    asyncio.run(run(config, concurrency))


def _limit_malloc_arenas(arenas: int = 2) -> None:
    """Cap glibc's per-thread malloc arenas before any thread starts.

    Blocking work runs in a pool of threads; glibc gives each its own arena, and the
    fragmentation left across them inflated the proxy's RSS by hundreds of MB under load.
    """
    import ctypes
    import ctypes.util

    name = ctypes.util.find_library("c")
    if not name or "MALLOC_ARENA_MAX" in os.environ:
        return
    with contextlib.suppress(OSError, AttributeError):  # not glibc: nothing to tune
        ctypes.CDLL(name).mallopt(-8, arenas)  # -8 is M_ARENA_MAX


@main.command()
@click.argument("user")
@click.option("--context", default=None)
@click.option("--status", default=None)
@click.option("--conflicts", is_flag=True, help="Show open contradictions instead.")
@click.option("--json", "as_json", is_flag=True, help="Print raw JSON.")
@click.pass_context
def beliefs(
    ctx: click.Context,
    user: str,
    context: str | None,
    status: str | None,
    conflicts: bool,
    as_json: bool,
) -> None:
    """List a user's beliefs (or, with --conflicts, the pairs that contradict each other)."""
    params = {k: v for k, v in {"context": context, "status": status}.items() if v}
    if conflicts:
        params = {"conflicts": "true"}
    data = _api(ctx).call("GET", f"/v1/users/{user}/beliefs", params=params)["data"]
    if as_json:
        _print(data)
        return
    if conflicts:
        if not data:
            click.echo(f"no open contradictions for {user}")
        for c in data:
            a, b = c["beliefs"]
            click.echo(f"{a['statement']}  [{a['id']}]")
            click.echo(f"  contradicts {b['statement']}  [{b['id']}]")
            click.echo(f"  kept: {c['winner']} ({c['rule']})")
        return
    if not data:
        click.echo(f"no beliefs for {user}")
    for b in data:
        click.echo(
            f"{b['confidence']:.2f}  {b['context']:<20} {b['status']:<10} "
            f"{b['statement']}  [{b['id']}]"
        )


@main.command()
@click.option("--user", default=None)
@click.option("--limit", default=20, show_default=True)
@click.option("--follow", is_flag=True, help="Keep printing new records.")
@click.option("--jsonl", is_flag=True, help="One JSON record per line (for export).")
@click.pass_context
def audit(ctx: click.Context, user: str | None, limit: int, follow: bool, jsonl: bool) -> None:
    """Show what was injected into recent requests."""
    api = _api(ctx)
    params: dict[str, Any] = {"limit": limit}
    if user:
        params["user"] = user
    records = list(reversed(api.call("GET", "/v1/audit", params=params)["data"]))
    seen = {r["request_id"] for r in records}
    for record in records:
        _show_audit(record, jsonl)
    last = records[-1]["at"] if records else None
    while follow:
        time.sleep(1)
        fresh = api.call(
            "GET", "/v1/audit", params={**params, "limit": 200, **({"since": last} if last else {})}
        )
        for record in reversed(fresh["data"]):
            if record["request_id"] not in seen:
                seen.add(record["request_id"])
                _show_audit(record, jsonl)
                last = record["at"]


def _show_audit(record: dict[str, Any], jsonl: bool) -> None:
    if jsonl:
        click.echo(json.dumps(record, ensure_ascii=False))
        return
    flag = " DEGRADED" if record["degraded"] else ""
    click.echo(
        f"{record['at']} {record['request_id']} user={record['user']} "
        f"model={record['model']} rule={record['rule']} status={record['status']} "
        f"injected={len(record['injected'])} tokens={record['tokens']}{flag}"
    )
    for b in record["injected"]:
        click.echo(f"    {b['score']:.3f} {b['confidence']:.2f} {b['statement']}")


@main.command()
@click.argument("user")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.pass_context
def forget(ctx: click.Context, user: str, yes: bool) -> None:
    """Forget a user entirely."""
    if not yes:
        click.confirm(f"Forget everything about {user}?", abort=True)
    _print(_api(ctx).call("DELETE", f"/v1/users/{user}"))


@main.command()
@click.argument("user")
@click.option("--output", "-o", type=click.Path(dir_okay=False), default=None)
@click.pass_context
def export(ctx: click.Context, user: str, output: str | None) -> None:
    """Export a user's self-model as one JSON document."""
    data = _api(ctx).call("GET", f"/v1/users/{user}/export")
    text = json.dumps(data, indent=2, ensure_ascii=False)
    if output:
        Path(output).write_text(text, encoding="utf-8")
    else:
        click.echo(text)


@main.command(name="import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--user", default=None, help="Import as this user (default: the file's user).")
@click.pass_context
def import_(ctx: click.Context, file: str, user: str | None) -> None:
    """Import a self-model exported by `selfmodel export`."""
    document = json.loads(Path(file).read_text(encoding="utf-8"))
    target = user or document.get("user")
    if not target:
        _fail("the file names no user; pass --user")
    _print(_api(ctx).call("POST", f"/v1/users/{target}/import", json=document))


@main.command()
@click.argument("user")
@click.argument("message")
@click.option("--model", default=None, help="Model name (default: the first configured).")
@click.pass_context
def preview(ctx: click.Context, user: str, message: str, model: str | None) -> None:
    """Show exactly what a request would get injected, without calling upstream."""
    api = _api(ctx)
    if model is None:
        models = api.call("GET", "/v1/models")["data"]
        if not models:
            _fail("the proxy has no models configured")
        model = models[0]["id"]
    data = api.call(
        "POST",
        f"/v1/users/{user}/preview",
        json={"model": model, "messages": [{"role": "user", "content": message}]},
    )
    click.echo(f"rule: {data['rule']}  tokens: {data['tokens']}  beliefs: {len(data['beliefs'])}")
    for b in data["beliefs"]:
        click.echo(f"  {b['score']:.3f} {b['confidence']:.2f} {b['statement']}")
    click.echo("\n" + (data["rendered"] or "(nothing injected)"))


@main.command()
@click.option("--state", "state_filter", default="dead", show_default=True)
@click.option("--retry", is_flag=True, help="Retry every dead job.")
@click.pass_context
def jobs(ctx: click.Context, state_filter: str, retry: bool) -> None:
    """List extraction jobs (dead letters by default), or retry the dead ones."""
    api = _api(ctx)
    if retry:
        _print(api.call("POST", "/v1/extraction/jobs/retry"))
        return
    _print(api.call("GET", "/v1/extraction/jobs", params={"state": state_filter}))


@main.command()
@click.option("--config", "config_path", envvar="SELFMODEL_CONFIG", default=None)
def reindex(config_path: str | None) -> None:
    """Rebuild the vector index from SQLite (stop the proxy first)."""
    from proxy.maintenance import reindex as run

    config = _load(config_path)
    click.echo(json.dumps(run(config), indent=2))


@main.command()
@click.option("--config", "config_path", envvar="SELFMODEL_CONFIG", default=None)
def doctor(config_path: str | None) -> None:
    """Check the config, the store, the embedding model and each upstream."""
    from proxy.maintenance import doctor as run

    ok = run(config_path, echo=click.echo)
    sys.exit(0 if ok else 1)


@main.command(name="eval")
@click.option("--eval-dir", default=None, help="Folder with prefeval_explicit_dev.jsonl.")
@click.option("--limit", type=int, default=None, help="Only the first N cases.")
@click.option(
    "--loto/--no-loto",
    default=True,
    help="Also report leave-one-topic-out figures beside the in-sample ones (default on).",
)
def eval_(eval_dir: str | None, limit: int | None, loto: bool) -> None:
    """Retrieval quality on the PrefEval protocol, through the real injection path."""
    from proxy.evaluation import run

    directory = eval_dir or os.environ.get("SELFMODEL_EVAL_DIR")
    run(directory, limit, echo=click.echo, loto=loto)


@main.command()
@click.option("--user", envvar="SELFMODEL_USER", default=None, help="Default end user.")
@click.option("--http", "port", type=int, default=None, help="Serve streamable HTTP on PORT.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Bind address for --http.")
@click.pass_context
def mcp(ctx: click.Context, user: str | None, port: int | None, host: str) -> None:
    """MCP server (stdio, or --http PORT) with tools over the proxy's self-model."""
    from proxy.mcp_server import run

    transport = "stdio" if port is None else "http"
    run(ctx.obj["url"], ctx.obj["key"], user, transport, host, port or 0)
