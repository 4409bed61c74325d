"""The client commands of `selfmodel`: they talk to a running proxy over HTTP.

Each takes --url, --key and --config after its name too (see `proxy.cli_client` for how the
server is found). Lists print as tables; --json prints what the API returned, for scripts.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import click

from proxy.cli_client import api as _api
from proxy.cli_client import connection_options, table
from proxy.cli_client import fail as _fail
from proxy.cli_client import print_json as _print

STATUSES = ["active", "superseded", "retracted"]
JOB_STATES = ["pending", "running", "done", "skipped", "dead", "all"]
JSON_OPTION = click.option("--json", "as_json", is_flag=True, help="Print JSON (for scripts).")


@click.command()
@click.argument("user")
@click.option("--context", default=None, help="Only this observation context.")
@click.option("--status", type=click.Choice(STATUSES), default=None)
@click.option("--limit", type=click.IntRange(1, 1000), default=None, help="At most N beliefs.")
@click.option("--offset", type=click.IntRange(0), default=0, help="Skip the first N.")
@click.option("--conflicts", is_flag=True, help="Show open contradictions instead.")
@JSON_OPTION
@connection_options
@click.pass_context
def beliefs(
    ctx: click.Context,
    user: str,
    context: str | None,
    status: str | None,
    limit: int | None,
    offset: int,
    conflicts: bool,
    as_json: bool,
) -> None:
    """List a user's beliefs (or, with --conflicts, the pairs that contradict each other)."""
    params: dict[str, Any] = {
        "context": context,
        "status": status,
        "limit": limit,
        "offset": offset or None,
    }
    if conflicts:
        params = {"conflicts": "true"}
    data = _api(ctx).call(
        "GET", f"/v1/users/{user}/beliefs", params={k: v for k, v in params.items() if v}
    )["data"]
    if as_json:
        _print(data)
        return
    if conflicts:
        _show_conflicts(user, data)
        return
    if not data:
        click.echo(f"no beliefs for {user}")
        return
    rows = [
        (f"{b['confidence']:.2f}", b["context"], b["status"], b["source"], b["id"], b["statement"])
        for b in data
    ]
    click.echo(table(rows, ["CONF", "CONTEXT", "STATUS", "SOURCE", "ID", "STATEMENT"]))


@click.command()
@click.option("--user", default=None)
@click.option("--limit", type=click.IntRange(1, 1000), default=20, show_default=True)
@click.option("--follow", is_flag=True, help="Keep printing new records.")
@click.option(
    "--beliefs", "show_beliefs", is_flag=True, help="List each record's injected beliefs."
)
@click.option("--jsonl", is_flag=True, help="One JSON record per line (for export).")
@JSON_OPTION
@connection_options
@click.pass_context
def audit(
    ctx: click.Context,
    user: str | None,
    limit: int,
    follow: bool,
    show_beliefs: bool,
    jsonl: bool,
    as_json: bool,
) -> None:
    """Show what was injected into recent requests (oldest first)."""
    api = _api(ctx)
    params: dict[str, Any] = {"limit": limit}
    if user:
        params["user"] = user
    records = list(reversed(api.call("GET", "/v1/audit", params=params)["data"]))
    if as_json:
        _print(records)
        return
    seen = {r["request_id"] for r in records}
    _show_audit(records, jsonl, show_beliefs, header=True)
    last = records[-1]["at"] if records else None
    while follow:
        time.sleep(1)
        fresh = api.call(
            "GET", "/v1/audit", params={**params, "limit": 200, **({"since": last} if last else {})}
        )
        new = [r for r in reversed(fresh["data"]) if r["request_id"] not in seen]
        seen.update(r["request_id"] for r in new)
        _show_audit(new, jsonl, show_beliefs, header=False)
        last = new[-1]["at"] if new else last


def _show_audit(
    records: list[dict[str, Any]], jsonl: bool, show_beliefs: bool, header: bool
) -> None:
    if jsonl:
        for record in records:
            click.echo(json.dumps(record, ensure_ascii=False))
        return
    if not records:
        if header:
            click.echo("no audit records")
        return
    headers = [
        "AT",
        "REQUEST",
        "USER",
        "MODEL",
        "RULE",
        "STATUS",
        "INJ",
        "TOKENS",
        "MEM MS",
        "UP MS",
    ]
    rows = []
    for record in records:
        lat = record["latency_ms"]
        forgotten = record["user"] == "[forgotten]"
        rows.append(
            (
                record["at"][:19].replace("T", " "),
                record["request_id"],
                record["user"] or "-",
                record["model"],
                record["rule"] or "-",
                f"{record['status']}{' degraded' if record['degraded'] else ''}",
                len(record["injected"]),
                0 if forgotten else record["tokens"],
                f"{lat['retrieve'] + lat['render']:.1f}",
                f"{lat['upstream']:.1f}",
            )
        )
    lines = table(rows, headers, [19, 36, 24, 24, 16]).splitlines()
    if header:
        click.echo(lines[0])
    for record, line in zip(records, lines[1:], strict=True):
        click.echo(line)
        if show_beliefs:
            for b in record["injected"]:
                click.echo(f"    {b['score']:.3f} {b['confidence']:.2f} {b['statement']}")


@click.command()
@click.argument("user")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@connection_options
@click.pass_context
def forget(ctx: click.Context, user: str, yes: bool) -> None:
    """Forget a user entirely."""
    if not yes:
        click.confirm(f"Forget everything about {user}?", abort=True)
    _print(_api(ctx).call("DELETE", f"/v1/users/{user}"))


@click.command()
@click.argument("user")
@click.option("--output", "-o", type=click.Path(dir_okay=False), default=None)
@connection_options
@click.pass_context
def export(ctx: click.Context, user: str, output: str | None) -> None:
    """Export a user's self-model as one JSON document."""
    data = _api(ctx).call("GET", f"/v1/users/{user}/export")
    text = json.dumps(data, indent=2, ensure_ascii=False)
    if output:
        Path(output).write_text(text, encoding="utf-8")
    else:
        click.echo(text)


@click.command(name="import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--user", default=None, help="Import as this user (default: the file's user).")
@connection_options
@click.pass_context
def import_(ctx: click.Context, file: str, user: str | None) -> None:
    """Import a self-model exported by `selfmodel export`."""
    document = json.loads(Path(file).read_text(encoding="utf-8"))
    target = user or document.get("user")
    if not target:
        _fail("the file names no user; pass --user")
    _print(_api(ctx).call("POST", f"/v1/users/{target}/import", json=document))


@click.command()
@click.argument("user")
@click.argument("message")
@click.option("--model", default=None, help="Model name (default: the first configured).")
@JSON_OPTION
@connection_options
@click.pass_context
def preview(ctx: click.Context, user: str, message: str, model: str | None, as_json: bool) -> None:
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
    if as_json:
        _print(data)
        return
    click.echo(f"rule: {data['rule']}  tokens: {data['tokens']}  beliefs: {len(data['beliefs'])}")
    for b in data["beliefs"]:
        click.echo(f"  {b['score']:.3f} {b['confidence']:.2f} {b['statement']}")
    click.echo("\n" + (data["rendered"] or "(nothing injected)"))


@click.command()
@click.option(
    "--state",
    "state_filter",
    type=click.Choice(JOB_STATES),
    default="dead",
    show_default=True,
    help="Which jobs to list.",
)
@click.option("--limit", type=click.IntRange(1, 1000), default=100, show_default=True)
@click.option("--retry", is_flag=True, help="Retry the dead jobs (all, or the one --job names).")
@click.option("--job", "job_id", type=int, default=None, help="With --retry: only this job.")
@JSON_OPTION
@connection_options
@click.pass_context
def jobs(
    ctx: click.Context,
    state_filter: str,
    limit: int,
    retry: bool,
    job_id: int | None,
    as_json: bool,
) -> None:
    """List extraction jobs (dead letters by default), or retry the dead ones."""
    api = _api(ctx)
    if retry:
        result = api.call(
            "POST", "/v1/extraction/jobs/retry", params={"job_id": job_id} if job_id else None
        )
        _print(result) if as_json else click.echo(f"retried {result['retried']} dead job(s)")
        return
    params: dict[str, Any] = {"limit": limit}
    if state_filter != "all":
        params["state"] = state_filter
    data = api.call("GET", "/v1/extraction/jobs", params=params)
    if as_json:
        _print(data)
        return
    counts = ", ".join(f"{k} {v}" for k, v in sorted(data["counts"].items())) or "none"
    if data["data"]:
        rows = [
            (
                j["id"],
                j["state"],
                j["attempts"],
                j["user"],
                j["request_id"],
                j["updated_at"][:19].replace("T", " "),
                j["last_error"] or "",
            )
            for j in data["data"]
        ]
        click.echo(
            table(
                rows,
                ["ID", "STATE", "TRIES", "USER", "REQUEST", "UPDATED", "ERROR"],
                [None, None, None, 24, 36, None, 80],
            )
        )
    else:
        click.echo(f"no {'' if state_filter == 'all' else state_filter + ' '}jobs")
    click.echo(f"all jobs: {counts}")


def _show_conflicts(user: str, found: list[dict[str, Any]]) -> None:
    if not found:
        click.echo(f"no open contradictions for {user}")
    for c in found:
        a, b = c["beliefs"]
        click.echo(f"{a['statement']}  [{a['id']}]")
        click.echo(f"  contradicts {b['statement']}  [{b['id']}]")
        click.echo(f"  kept: {c['winner']} ({c['rule']})")


@click.command()
@click.option("--rule", default=None, help="Only requests under this injection rule.")
@click.option("--since", default=None, help="Only requests from this ISO date or time on.")
@JSON_OPTION
@connection_options
@click.pass_context
def report(ctx: click.Context, rule: str | None, since: str | None, as_json: bool) -> None:
    """The holdout experiment: both arms and the lift of injecting the self-model."""
    from memory.insights.report import format_report

    params = {k: v for k, v in (("rule", rule), ("since", since)) if v}
    body = _api(ctx).call("GET", "/v1/insights/experiment", params=params)
    _print(body) if as_json else click.echo(format_report(body))


COMMANDS = [beliefs, audit, forget, export, import_, preview, jobs, report]
