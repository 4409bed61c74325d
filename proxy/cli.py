"""The `selfmodel` command.

`serve`, `worker`, `migrate`, `reindex`, `doctor` and `eval` work on the store directly; the other
commands talk to a running proxy over HTTP (Chroma's embedded store belongs
to one process, so they never open it behind the server's back).
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from typing import Any

import click

from proxy import cli_commands as client_commands
from proxy.cli_client import connection_options, target
from proxy.cli_client import fail as _fail


def _load(path: str | None) -> Any:
    from proxy.config import ConfigError, load_config

    try:
        return load_config(path)
    except ConfigError as exc:
        _fail(str(exc))


@click.group()
@connection_options
@click.pass_context
def main(ctx: click.Context) -> None:
    """selfmodel: an OpenAI-compatible proxy with a persistent self-model of each user.

    Client commands (beliefs, audit, jobs, preview, forget, export, import) find the server
    from --url / $SELFMODEL_URL, else from the config's server.host/port (--config,
    $SELFMODEL_CONFIG or ./config.yaml), else http://127.0.0.1:4141; --url, --key and
    --config may come before or after the command.
    """
    ctx.ensure_object(dict)


def _config_path(ctx: click.Context, given: str | None) -> str | None:
    """The command's own --config, else one given before the command, else $SELFMODEL_CONFIG."""
    return given or ctx.ensure_object(dict).get("config") or os.environ.get("SELFMODEL_CONFIG")


@main.command()
@click.option(
    "--config", "config_path", default=None, help="Path to config.yaml (env SELFMODEL_CONFIG)."
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
@click.pass_context
def serve(
    ctx: click.Context,
    config_path: str | None,
    host: str | None,
    port: int | None,
    allow_unauthenticated: bool,
) -> None:
    """Run the proxy."""
    import logging

    import uvicorn

    from proxy import logsetup
    from proxy.app import create_app
    from proxy.maintenance import preflight

    _limit_malloc_arenas()
    _short_gil_turns()
    config = _load(_config_path(ctx, config_path))
    problem = preflight(config)
    if problem:
        _fail(problem)
    # The banner and the client commands read where the server really listens.
    config.server.host = host or config.server.host
    config.server.port = port if port is not None else config.server.port
    logsetup.configure(config.server.log_level, config.server.log_format)
    bind_host = config.server.host
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
        create_app(config, settle_heap=True, learner=_learner(config)),
        host=bind_host,
        port=config.server.port,
        log_level=config.server.log_level,
        log_config=None,  # our handler (text or JSON lines) formats uvicorn's records too
        access_log=False,  # ours (proxy.accesslog) has the request id, tenant and latency split
    )


def _learner(config: Any) -> Any:
    """The learning process to run beside this proxy (`extraction.learner: process`), which
    then only enqueues; None when this process learns itself, or `selfmodel worker`s do."""
    from proxy.learner import Learner

    extraction = config.extraction
    if not (extraction.enabled and extraction.workers and extraction.learner == "process"):
        return None
    learner = Learner(config.source, extraction.workers)
    extraction.workers = 0
    return learner


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
@click.option(
    "--parent",
    type=int,
    default=None,
    hidden=True,  # set by `selfmodel serve` for the learning process it starts
    help="Stop when the process with this id is gone.",
)
def worker(config_path: str | None, concurrency: int, parent: int | None) -> None:
    """Learn from the proxies' turns in a process of its own (no HTTP server).

    Run any number of them; proxies with `extraction.workers: 0` then only enqueue."""
    import asyncio

    from proxy import logsetup
    from proxy.worker import run

    _limit_malloc_arenas()
    config = _load(config_path)
    logsetup.configure(config.server.log_level, config.server.log_format)
    if not config.extraction.enabled:
        _fail("extraction.enabled is false in the config: a worker would have nothing to do")
    asyncio.run(run(config, concurrency, settle_heap=True, parent=parent))


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


# A thread that wants the GIL waits this long before it asks the holder to let go (Python's
# default is 5 ms). A request's steps hand the GIL to each other many times (the event loop,
# the plan's thread coming back from the embedding model, the bookkeeping's regexes, a
# learning job): at 5 ms one such wait costs more than the whole plan.
GIL_SWITCH_SECONDS = 0.0005


def _short_gil_turns() -> None:
    sys.setswitchinterval(GIL_SWITCH_SECONDS)


for _command in client_commands.COMMANDS:
    main.add_command(_command)


@main.command()
@click.option(
    "--config", "config_path", default=None, help="Path to config.yaml (env SELFMODEL_CONFIG)."
)
@click.option("--force", is_flag=True, help="Rebuild even though a server holds the store.")
@click.pass_context
def reindex(ctx: click.Context, config_path: str | None, force: bool) -> None:
    """Rebuild the vector index from SQLite (stop the proxy first)."""
    from proxy import serverlock
    from proxy.maintenance import reindex as run

    config = _load(_config_path(ctx, config_path))
    holder = serverlock.holder(config.store.path)
    if holder and not force:
        _fail(
            f"a selfmodel server (pid {holder['pid']}) is using the store {config.store.path}: "
            "stop it first (the embedded index belongs to one process), or pass --force"
        )
    click.echo(json.dumps(run(config), indent=2))


@main.command()
@click.option(
    "--config", "config_path", default=None, help="Path to config.yaml (env SELFMODEL_CONFIG)."
)
@click.option(
    "--call",
    "real_call",
    is_flag=True,
    help="Make one real 1-token call per model (costs a call) to check its key.",
)
@click.pass_context
def doctor(ctx: click.Context, config_path: str | None, real_call: bool) -> None:
    """Check the config, the store, the embedding model and each upstream; say what to fix."""
    from proxy.doctor import run

    ok = run(_config_path(ctx, config_path), echo=click.echo, real_call=real_call)
    sys.exit(0 if ok else 1)


@main.command()
@click.option(
    "--config", "config_path", default=None, help="Path to config.yaml (env SELFMODEL_CONFIG)."
)
@click.option("--from", "source", default=None, help="Copy from this store (path or URL).")
@click.option("--to", "destination", default=None, help="... into this one (path or URL).")
@click.pass_context
def migrate(
    ctx: click.Context, config_path: str | None, source: str | None, destination: str | None
) -> None:
    """Bring the store's schema to the newest revision, or copy a whole store.

    Without --from/--to: the config's store (store.database, else SQLite in store.path) is
    migrated; `serve` and `worker` do the same on start, under a lock. With both: every table
    of --from is copied into --to (an empty database), e.g.
    `selfmodel migrate --from sqlite:///.selfmodel/selfmodel.db --to postgresql://...`.
    """
    from memory.errors import InvalidError
    from memory.ledger.urls import redact, scrub

    if (source is None) != (destination is None):
        _fail("--from and --to go together")
    if source is not None and destination is not None:
        from memory.ledger.copy import copy_store

        try:
            copied = copy_store(
                source,
                destination,
                progress=lambda table, n: click.echo(f"{table}: {n} rows", err=True),
            )
        except InvalidError as exc:
            _fail(str(exc))
        except Exception as exc:  # noqa: BLE001 - an unreachable or refusing database
            _fail(f"copy failed, nothing written: {scrub(scrub(str(exc), source), destination)}")
        click.echo(json.dumps({"from": redact(source), "to": redact(destination), "rows": copied}))
        return
    from memory.core import ledger_target
    from memory.ledger.db import Database

    config = _load(_config_path(ctx, config_path))
    target = ledger_target(config.store)
    try:
        db = Database(target, migrate=False)
        try:
            applied = db.migrate()
            revision = db.revision()
        finally:
            db.close()
    except Exception as exc:  # noqa: BLE001
        _fail(f"migrating {redact(target)} failed: {scrub(str(exc), config.store.database)}")
    click.echo(json.dumps({"store": redact(target), "applied": applied, "revision": revision}))


@main.command(name="eval")
@click.option(
    "--eval-dir",
    default=None,
    help="Folder with prefeval_explicit_dev.jsonl (default: ./eval, else the repo's eval/).",
)
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
@connection_options
@click.option("--http", "port", type=int, default=None, help="Serve streamable HTTP on PORT.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Bind address for --http.")
@click.pass_context
def mcp(ctx: click.Context, user: str | None, port: int | None, host: str) -> None:
    """MCP server (stdio, or --http PORT) with tools over the proxy's self-model."""
    from proxy.mcp_server import run

    where = target(ctx)
    transport = "stdio" if port is None else "http"
    run(where.url, where.key, user, transport, host, port or 0)
